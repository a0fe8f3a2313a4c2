"""Readers for the GUI: live events as Qt signals, reads and PIN jobs on the devices worker.

The monitor thread's callbacks become signals (queued to the GUI thread). A card
inserted on any reader is read at once and ``card_read`` carries the result. In
training mode an extra in-process "training reader" holds a virtual card the
clerk inserts and removes from the UI, with no PC/SC needed.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Signal

from shebao_desk.devices.errors import DeviceError, NoCardError
from shebao_desk.devices.monitor import EventKind, ReaderEvent, ReaderMonitor
from shebao_desk.devices.operations import read_card
from shebao_desk.ui.worker import Worker

if TYPE_CHECKING:  # the training card's model loads only when a training card is used (not at every start)
    from shebao_desk.devices.simulators.virtual_card import VirtualCard

log = logging.getLogger(__name__)

TRAINING_READER = "培训虚拟读卡器"


class TrainingReader:
    """A reader inside the program, for training mode."""

    def __init__(self) -> None:
        self.card: VirtualCard | None = None

    def open(self):
        if self.card is None:
            raise NoCardError(TRAINING_READER)
        from shebao_desk.devices.simulators.inprocess import InProcessConnection  # noqa: PLC0415 - start-up: training only
        return InProcessConnection(self.card, TRAINING_READER)


class CardService(QObject):
    readers_changed = Signal(list)            # [(name, card present)]
    card_inserted = Signal(str)
    card_removed = Signal(str)
    card_read = Signal(str, object)           # reader, CardInfo
    card_failed = Signal(str, object)         # reader, DeviceError
    service_state = Signal(bool)
    _event = Signal(object)

    def __init__(self, worker: Worker, *, training: bool = False, monitor: bool = True) -> None:
        super().__init__()
        self.worker = worker
        self.readers: dict[str, bool] = {}
        self.training = TrainingReader() if training else None
        if self.training:
            self.readers[TRAINING_READER] = False
        self._event.connect(self._on_event)
        self._monitor = ReaderMonitor(self._event.emit) if monitor else None
        self._workers: dict[str, Worker] = {}  # one per reader: a hung reader delays no other
        self.auto_read = True

    def start(self) -> None:
        if self._monitor is not None:
            self._monitor.start()

    def stop(self) -> None:
        if self._monitor is not None:
            self._monitor.stop()
        for worker in self._workers.values():
            worker.shutdown()

    # -- opening cards ---------------------------------------------------------

    def open_card(self, reader: str | None):
        if reader == TRAINING_READER and self.training is not None:
            return self.training.open()
        from shebao_desk.devices.pcsc import shared_context  # noqa: PLC0415 - pyscard only for a real reader
        return shared_context().connect(reader)

    def worker_for(self, reader: str | None) -> Worker:
        """The reader's own worker (its operations run in order; other readers' never wait on it)."""
        if not reader:
            return self.worker
        if reader not in self._workers:
            self._workers[reader] = Worker(f"reader-{len(self._workers) + 1}")
        return self._workers[reader]

    def run(self, job: Callable[[Callable], object], on_done, on_error, reader: str | None = None) -> None:
        """Run ``job(open_card)`` on the worker of ``reader`` (the devices worker if none is named)."""
        self.worker_for(reader).run(lambda: job(self.open_card), on_done, on_error)

    def read(self, reader: str | None) -> None:
        name = reader or ""

        def failed(error: BaseException) -> None:
            if isinstance(error, DeviceError):
                self.card_failed.emit(name, error)
            else:
                self.card_failed.emit(name, DeviceError("读卡失败，请重试", repr(error)))

        self.run(lambda open_card: read_card(open_card, reader),
                 lambda info: self.card_read.emit(info.reader, info), failed, reader)

    # -- training reader -------------------------------------------------------

    def insert_training_card(self, card: VirtualCard) -> None:
        assert self.training is not None
        self.training.card = card
        self._on_event(ReaderEvent(EventKind.CARD_INSERTED, TRAINING_READER))

    def remove_training_card(self) -> None:
        assert self.training is not None
        self.training.card = None
        self._on_event(ReaderEvent(EventKind.CARD_REMOVED, TRAINING_READER))

    # -- events ----------------------------------------------------------------

    def _on_event(self, event: ReaderEvent) -> None:
        kind = event.kind
        if kind is EventKind.READER_ADDED:
            self.readers.setdefault(event.reader, False)
        elif kind is EventKind.READER_REMOVED:
            self.readers.pop(event.reader, None)
        elif kind is EventKind.CARD_INSERTED:
            self.readers[event.reader] = True
            self.card_inserted.emit(event.reader)
            if self.auto_read:
                self.read(event.reader)
        elif kind is EventKind.CARD_REMOVED:
            if event.reader in self.readers:
                self.readers[event.reader] = False
            self.card_removed.emit(event.reader)
        elif kind in (EventKind.SERVICE_DOWN, EventKind.SERVICE_UP):
            self.service_state.emit(kind is EventKind.SERVICE_UP)
        self.readers_changed.emit(sorted(self.readers.items()))
