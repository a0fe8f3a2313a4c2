"""Cyclic garbage is collected on the GUI thread only: a worker thread that freed a cycle holding a Qt
object would destroy it off its thread and crash the process (CI of stop 35, SIGSEGV in a search worker)."""

import gc
import threading

from PySide6.QtWidgets import QLabel

from shebao_desk import gc_pauses
from shebao_desk.ui import collector
from shebao_desk.ui.app import make_app
from shebao_desk.ui.worker import Worker


class Cycle:
    def __init__(self):
        self.me = self


def test_a_workers_garbage_is_collected_on_the_gui_thread_only(qtbot):
    make_app()
    threads = []

    def note(phase, info):
        if phase == "start":
            threads.append(threading.current_thread().name)

    worker = Worker("garbage")
    gc.callbacks.append(note)
    try:
        done = []
        # A widget in a cycle, dropped on the GUI thread: only a collection can destroy it.
        label = QLabel("在环中")
        label.me = label
        del label
        # 300,000 cycles made on the worker's thread: far past the young generation's threshold (700).
        worker.run(lambda: [Cycle() for _ in range(300_000)] and None, done.append)
        qtbot.waitUntil(lambda: bool(done), timeout=20_000)
        qtbot.waitUntil(lambda: bool(threads), timeout=5_000)  # the GUI thread's timer collected
    finally:
        gc.callbacks.remove(note)
        worker.shutdown()
    assert set(threads) == {"MainThread"}, threads
    assert not gc.isenabled()
    assert collector.installed() is not None


def test_the_collector_takes_the_oldest_generation_due_and_nothing_while_paused(qtbot):
    make_app()
    gui = collector.installed()
    gc.collect()
    assert gui.collect_due() is None  # nothing allocated since
    keep = [Cycle() for _ in range(gc.get_threshold()[0] + 50)]
    gui.paused = True
    try:
        assert gui.collect_due() is None
    finally:
        gui.paused = False
    with gc_pauses.paused():  # a push or pull in a worker thread
        assert gui.collect_due() is None
    assert not gc.isenabled()  # the pause's end leaves the automatic collector off in the workbench
    assert gui.collect_due() == 0
    assert gc.get_count()[0] < 50
    del keep


def test_the_oldest_generation_is_walked_only_once_it_grew_by_a_quarter(qtbot):
    make_app()
    gui = collector.installed()
    gc.collect()
    gui._long_lived = len(gc.get_objects(2))
    assert not gui._full_due()
    grown = [[] for _ in range(gui._long_lived // 3 + 10)]  # survive a middle collection into the oldest
    gc.collect(1)
    assert gui._full_due()
    del grown
