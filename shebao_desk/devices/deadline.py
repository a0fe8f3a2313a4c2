"""Deadlines for whole card operations, so a reader that stops answering never hangs the caller.

Each operation runs on a thread of its own reader (not per APDU; not a shared pool) while the
caller waits at most ``seconds``. The thread is kept for the reader's next operation: handing an
operation to a waiting thread costs two thread wake-ups (25-40 us of a ~0.8 ms read on the 2-core
test VM, ~0.1 ms when it is loaded); starting a thread for each one cost more still. A busy reader
gets a second thread, so operations never queue behind each other's deadlines. An operation still stuck after its deadline
is abandoned to its thread, which is then never reused and costs no other reader anything: with a
shared pool, four stuck operations used to take every worker and every later operation on every
reader timed out. While one is stuck on a reader, further operations on *that* reader fail at once
(it has not answered the last one) instead of stacking more stuck threads; a cap bounds the
abandoned threads overall. A thread idle for ``IDLE_S`` ends.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable
from typing import Any, Generic, TypeVar, cast

from shebao_desk.devices.errors import DeviceTimeoutError

T = TypeVar("T")
OPERATION_TIMEOUT_S = 15.0
MAX_ABANDONED = 32
IDLE_S = 60.0

_lock = threading.Lock()
_stuck: dict[str, int] = {}  # reader -> operations abandoned on it and still running
_idle: dict[str, list[_Runner]] = {}  # reader -> its threads waiting for an operation


def stuck_operations(key: str | None = None) -> int:
    with _lock:
        return _stuck.get(key or "", 0) if key is not None else sum(_stuck.values())


class _Job(Generic[T]):
    __slots__ = ("fn", "signal", "finished", "abandoned", "value", "error")

    def __init__(self, fn: Callable[[], T]) -> None:
        self.fn = fn
        self.signal = threading.Lock()  # released when finished: lighter than an Event
        self.signal.acquire()
        self.finished = False  # under _lock, like abandoned
        self.abandoned = False
        self.value: T | None = None
        self.error: BaseException | None = None


class _Runner:
    """A reader's thread: runs one operation at a time, then waits for the next."""

    def __init__(self, slot: str, first: _Job[Any]) -> None:
        self.slot = slot
        self.jobs: queue.SimpleQueue[_Job[Any]] = queue.SimpleQueue()
        threading.Thread(target=self._loop, args=(first,), daemon=True,
                         name=f"card-op {slot or 'first reader'}").start()

    def _loop(self, job: _Job[Any]) -> None:
        while True:
            try:
                job.value = job.fn()
            except BaseException as exc:  # noqa: BLE001 - handed to the caller
                job.error = exc
            with _lock:
                job.finished = True
                if job.abandoned:  # the caller gave up on it: this thread is not trusted again
                    _stuck[self.slot] -= 1
                    if not _stuck[self.slot]:
                        del _stuck[self.slot]
                    return
                _idle.setdefault(self.slot, []).append(self)  # before the signal: the caller's next call finds it
            job.signal.release()
            try:
                job = self.jobs.get(timeout=IDLE_S)
            except queue.Empty:
                with _lock:
                    waiting = _idle.get(self.slot, [])
                    if self in waiting:  # nobody took it: end
                        waiting.remove(self)
                        if not waiting:
                            del _idle[self.slot]
                        return
                job = self.jobs.get()  # taken just now: its operation is on the way


def with_deadline(fn: Callable[[], T], what: str, seconds: float = OPERATION_TIMEOUT_S,
                  key: str | None = None) -> T:
    """``fn()`` within ``seconds``, on a thread of its own; ``key`` names the reader it uses."""
    slot = key or ""
    job: _Job[T] = _Job(fn)
    with _lock:
        if _stuck.get(slot) or sum(_stuck.values()) >= MAX_ABANDONED:
            raise DeviceTimeoutError(f"{what} (not started: an earlier operation is still stuck)", 0.0)
        waiting = _idle.get(slot)
        runner = waiting.pop() if waiting else None
    if runner is None:
        _Runner(slot, job)
    else:
        runner.jobs.put(job)
    if not job.signal.acquire(timeout=seconds):
        with _lock:
            if not job.finished:
                job.abandoned = True
                _stuck[slot] = _stuck.get(slot, 0) + 1
                raise DeviceTimeoutError(what, seconds)
    if job.error is not None:
        raise job.error
    return cast(T, job.value)  # set by fn(): it raised nothing
