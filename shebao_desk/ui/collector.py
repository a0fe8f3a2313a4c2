"""Cyclic garbage collection on the GUI thread only.

The collector frees a reference cycle on whichever thread happens to allocate when a threshold
is crossed. A cycle that holds a Qt object's Python wrapper (a page closed, a slot that refers to
its widget) then destroys that object from a worker thread — a search, a card read — and the
process dies with SIGSEGV (CI of stop 35: "Garbage-collecting" in a search worker). So the
automatic collector is off in the workbench and a GUI-thread timer runs it instead, by CPython's
own generation thresholds, at most a timer tick later than it would have run.
"""

from __future__ import annotations

import gc
import threading

from PySide6.QtCore import QCoreApplication, QObject, QTimer

from shebao_desk import gc_pauses

TICK_MS = 250  # a worker's garbage waits at most this long; a young collection takes well under 1 ms


class GuiThreadCollector(QObject):
    def __init__(self, parent: QObject) -> None:
        super().__init__(parent)
        self.paused = False  # while the store loads behind the login window: see app.pause_collector
        self._long_lived = 0  # objects in the oldest generation after its last walk
        self._timer = QTimer(self)
        self._timer.timeout.connect(self.collect_due)
        self._timer.start(TICK_MS)

    def collect_due(self) -> int | None:
        """Collect the oldest generation whose threshold is crossed, as the interpreter would have."""
        if self.paused or gc_pauses.active():  # a push or pull in a worker: see gc_pauses
            return None
        limits, counts = gc.get_threshold(), gc.get_count()
        due = None
        for generation in range(3):
            if counts[generation] > limits[generation]:
                due = generation
            else:
                break
        if due == 2 and not self._full_due():
            due = 1
        if due is not None:
            gc.collect(due)
            if due == 2:
                self._long_lived = len(gc.get_objects(2))
        return due

    def _full_due(self) -> bool:
        # CPython's own rule for the oldest generation: walk it only once it has grown by a quarter
        # since the last full walk, so a big heap (a pull in progress) is not walked every 25 s.
        return len(gc.get_objects(2)) - self._long_lived > self._long_lived // 4


_installed: GuiThreadCollector | None = None


def install() -> GuiThreadCollector | None:
    """Turn the automatic collector off and let the GUI thread collect (once per process).

    Without an application there is no event loop to run the timer: nothing changes then.
    """
    global _installed
    app = QCoreApplication.instance()
    if _installed is not None or app is None or threading.current_thread() is not threading.main_thread():
        return _installed
    _installed = GuiThreadCollector(app)
    gc_pauses.take_over()
    return _installed


def installed() -> GuiThreadCollector | None:
    return _installed
