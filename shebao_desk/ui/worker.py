"""Running database, reader and printer work off the GUI thread.

One worker thread per kind of resource (as Anki's single-worker executor): work
on the same store runs in order, and the GUI thread only ever receives results
through a queued signal. ``run(fn, on_done, on_error)`` never blocks the caller.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from PySide6.QtCore import QObject, Signal

from shebao_desk.ui import collector as gui_collector

log = logging.getLogger(__name__)


class _Bridge(QObject):
    finished = Signal(object, object, object)  # callback, result, error


class Worker:
    def __init__(self, name: str) -> None:
        gui_collector.install()  # this worker's thread must never be the one that frees a Qt object
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix=name)
        self._bridge = _Bridge()
        self._bridge.finished.connect(self._deliver)
        self.pending = 0
        self.closed = False

    def run(self, fn: Callable[[], Any], on_done: Callable[[Any], None] | None = None,
            on_error: Callable[[BaseException], None] | None = None) -> Future | None:
        if self.closed:  # the program is closing: late events (a card read) start nothing new
            log.debug("worker closed; job dropped")
            return None
        self.pending += 1

        def job() -> Any:
            try:
                result = fn()
            except BaseException as exc:  # handed to the GUI thread, never lost
                self._bridge.finished.emit(on_error, None, exc)
                raise
            self._bridge.finished.emit(on_done, result, None)
            return result

        return self._executor.submit(job)

    def _deliver(self, callback: Callable | None, result: Any, error: BaseException | None) -> None:
        self.pending -= 1
        if error is not None:
            # The start dialog's worker is built before the first paint, which this chain need not delay.
            from shebao_desk.ui.errors import log_failure, report_error  # noqa: PLC0415 - start-up
            if callback is None:
                report_error(None, error)
                return
            if not getattr(callback, "presents", False):  # ui.ops' presenter logs it itself
                log_failure(error, "worker job")
            callback(error)
        elif callback is not None:
            callback(result)

    def shutdown(self) -> None:
        self.closed = True
        self._executor.shutdown(wait=True, cancel_futures=False)
