"""Deadlines for whole card operations, so a reader that stops answering never hangs the caller.

One thread per operation (not per APDU; not a shared pool): the caller waits at
most ``seconds``. An operation still stuck after its deadline is abandoned to its
own thread, which costs no other reader anything: with a shared pool, four stuck
operations used to take every worker and every later operation on every reader
timed out. While one is stuck on a reader, further operations on *that* reader
fail at once (it has not answered the last one) instead of stacking more stuck
threads; a cap bounds the abandoned threads overall.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, TypeVar

from shebao_desk.devices.errors import DeviceTimeoutError

T = TypeVar("T")
OPERATION_TIMEOUT_S = 15.0
MAX_ABANDONED = 32

_lock = threading.Lock()
_stuck: dict[str, int] = {}  # reader -> operations abandoned on it and still running


def stuck_operations(key: str | None = None) -> int:
    with _lock:
        return _stuck.get(key or "", 0) if key is not None else sum(_stuck.values())


def with_deadline(fn: Callable[[], T], what: str, seconds: float = OPERATION_TIMEOUT_S,
                  key: str | None = None) -> T:
    """``fn()`` within ``seconds``, on its own thread; ``key`` names the reader it uses."""
    slot = key or ""
    with _lock:
        if _stuck.get(slot) or sum(_stuck.values()) >= MAX_ABANDONED:
            raise DeviceTimeoutError(f"{what} (not started: an earlier operation is still stuck)", 0.0)
    done = threading.Event()
    state: dict[str, Any] = {"abandoned": False}

    def run() -> None:
        try:
            state["value"] = fn()
        except BaseException as exc:  # noqa: BLE001 - handed to the caller below
            state["error"] = exc
        finally:
            with _lock:
                if state["abandoned"]:
                    _stuck[slot] -= 1
                    if not _stuck[slot]:
                        del _stuck[slot]
                done.set()

    threading.Thread(target=run, daemon=True, name=f"card-op {slot or 'first reader'}").start()
    if not done.wait(seconds):
        with _lock:
            if not done.is_set():
                state["abandoned"] = True
                _stuck[slot] = _stuck.get(slot, 0) + 1
                raise DeviceTimeoutError(what, seconds)
    if "error" in state:
        raise state["error"]
    value: T = state["value"]
    return value
