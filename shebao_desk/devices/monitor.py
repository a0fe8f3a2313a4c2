"""Watching readers: readers plugged and unplugged, cards inserted and removed.

A background thread waits on PC/SC for changes (several readers at once) and
calls ``on_event`` with each change; it survives pcscd restarts by asking for a
fresh context. The GUI turns these calls into queued signals.
"""

from __future__ import annotations

import enum
import logging
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from shebao_desk.devices.errors import DeviceError

if TYPE_CHECKING:
    from shebao_desk.devices.pcsc import ReaderState

log = logging.getLogger(__name__)


class EventKind(enum.Enum):
    READER_ADDED = "reader_added"
    READER_REMOVED = "reader_removed"
    CARD_INSERTED = "card_inserted"
    CARD_REMOVED = "card_removed"
    SERVICE_DOWN = "service_down"
    SERVICE_UP = "service_up"


@dataclass(frozen=True)
class ReaderEvent:
    kind: EventKind
    reader: str = ""
    atr: bytes = b""


class StateSource(Protocol):
    """What the monitor needs of a PC/SC context: PcscContext, or a test's stand-in."""

    def states(self, known: dict[str, int] | None,
               timeout_ms: int) -> tuple[bool, list[ReaderState], dict[str, int]]: ...


class ReaderMonitor:
    def __init__(self, on_event: Callable[[ReaderEvent], None], *,
                 context_factory: Callable[[], StateSource] | None = None, poll_ms: int = 500) -> None:
        if context_factory is None:
            from shebao_desk.devices.pcsc import PcscContext  # noqa: PLC0415 - pyscard only if none is injected
            context_factory = PcscContext
        self._context_factory = context_factory
        self.on_event = on_event
        self.poll_ms = poll_ms
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.readers: dict[str, bool] = {}  # reader -> card present

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, daemon=True, name="reader-monitor")
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def _emit(self, event: ReaderEvent) -> None:
        try:
            self.on_event(event)
        except Exception:  # noqa: BLE001 - a broken listener must not stop monitoring
            log.exception("reader event listener failed")

    def _apply(self, states: Iterable[ReaderState]) -> None:
        now = {s.name: s for s in states}
        for name in list(self.readers):
            if name not in now:
                if self.readers.pop(name):
                    self._emit(ReaderEvent(EventKind.CARD_REMOVED, name))
                self._emit(ReaderEvent(EventKind.READER_REMOVED, name))
        for name, state in now.items():
            if name not in self.readers:
                self.readers[name] = False
                self._emit(ReaderEvent(EventKind.READER_ADDED, name))
            if state.present and not self.readers[name]:
                self.readers[name] = True
                self._emit(ReaderEvent(EventKind.CARD_INSERTED, name, state.atr))
            elif not state.present and self.readers[name]:
                self.readers[name] = False
                self._emit(ReaderEvent(EventKind.CARD_REMOVED, name))

    def _run(self) -> None:
        context = self._context_factory()
        known: dict[str, int] | None = None
        service_up: bool | None = None
        while not self._stop.is_set():
            try:
                changed, states, known = context.states(known, self.poll_ms)
                if service_up is not True:
                    service_up = True
                    self._emit(ReaderEvent(EventKind.SERVICE_UP))
                if changed:
                    self._apply(states)
            except DeviceError as exc:
                log.info("reader monitor: %s", exc.detail)
                if service_up is not False:
                    service_up = False
                    self._apply([])
                    self._emit(ReaderEvent(EventKind.SERVICE_DOWN))
                _release(context)
                context = self._context_factory()
                known = None
                self._stop.wait(1.0)
            except Exception:  # noqa: BLE001 - keep watching whatever happens
                log.exception("reader monitor failed; restarting")
                _release(context)
                context, known = self._context_factory(), None
                time.sleep(1.0)
        _release(context)


def _release(context: object) -> None:
    release = getattr(context, "release", None)
    if release is not None:
        release()
