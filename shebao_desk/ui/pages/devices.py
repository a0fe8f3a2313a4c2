"""设备: readers and printers, live, against Article 9; the training card in training mode."""

from __future__ import annotations

import tomllib
from pathlib import Path

from PySide6.QtPrintSupport import QPrinterInfo
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from shebao_desk.config.resources import resource_path
from shebao_desk.devices.simulators.virtual_card import VirtualCard, load_holder
from shebao_desk.ui.widgets import Hint, Table, named


class DevicesPage(QWidget):
    def __init__(self, ctx) -> None:
        super().__init__()
        self.ctx = ctx
        layout = QVBoxLayout(self)
        layout.addWidget(QLabel("读卡器（实时）"))
        self.readers = Table(["读卡器", "状态"], "readers")
        layout.addWidget(self.readers, 1)
        self.service = Hint("pcsc_service")
        layout.addWidget(self.service)
        layout.addWidget(QLabel("打印机"))
        self.printers = Table(["打印机", "默认"], "printers")
        layout.addWidget(self.printers, 1)
        self.article9 = Hint("article9")
        layout.addWidget(self.article9)
        if ctx.training:
            row = QHBoxLayout()
            self.holder = named(QComboBox(), "training_holder")
            for path in sorted(resource_path("holders").glob("*.toml")):
                self.holder.addItem(holder_label(path), str(path))
            insert = named(QPushButton("插入培训卡"), "insert_training_card")
            remove = named(QPushButton("取出培训卡"), "remove_training_card")
            insert.clicked.connect(self.insert_training_card)
            remove.clicked.connect(ctx.cards.remove_training_card)
            for w in (QLabel("培训虚拟卡"), self.holder, insert, remove):
                row.addWidget(w)
            layout.addLayout(row)
        ctx.cards.readers_changed.connect(self.show_readers)
        ctx.cards.service_state.connect(lambda up: self.service.fine("读卡服务运行中") if up
                                        else self.service.problem("读卡服务（PC/SC）未运行，请检查读卡器驱动"))
        self.show_readers(sorted(ctx.cards.readers.items()))

    def insert_training_card(self) -> None:
        holder = load_holder(Path(self.holder.currentData()))
        holder.psam_required = False  # the training reader stands for a reader with a PSAM
        self.ctx.cards.insert_training_card(VirtualCard(holder))

    def showEvent(self, event) -> None:  # noqa: N802
        super().showEvent(event)
        self.show_printers()

    def show_readers(self, readers: list) -> None:
        self.readers.fill([[name, "有卡" if present else "无卡"] for name, present in readers])
        self.check()

    def show_printers(self) -> None:
        default = QPrinterInfo.defaultPrinterName()
        self.printers.fill([[p.printerName(), "是" if p.printerName() == default else ""]
                            for p in QPrinterInfo.availablePrinters()])
        self.check()

    def check(self) -> None:
        readers = self.readers.rowCount()
        printers = self.printers.rowCount()
        least = self.ctx.policy.site.minimums  # Article 9, from site.toml [minimums]
        ok = readers >= least.readers and printers >= least.printers
        text = (f"规范第九条：读卡器 {readers} 台（至少 {least.readers}），打印机 {printers} 台（至少 {least.printers}）"
                f" — {'符合' if ok else '不符合'}")
        (self.article9.fine if ok else self.article9.problem)(text)


def holder_label(path) -> str:
    """“李秀英（第 1 代卡）　A10000101” instead of a file name, from the sample's own description line."""
    try:
        text = path.read_text(encoding="utf-8")
        data = tomllib.loads(text)
    except (OSError, ValueError):
        return path.stem
    first = text.splitlines()[0] if text else ""
    title = first.lstrip("# ").split("：", 1)[-1].split("。", 1)[0].strip() if first.startswith("#") else ""
    title = title or (data.get("holder") or {}).get("name") or path.stem
    number = (data.get("card") or {}).get("card_number", "")
    return f"{title}　{number}".strip()
