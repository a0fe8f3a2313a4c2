"""咨询: record an inquiry in two clicks; the first clerk owns it until it is closed or handed over."""

from __future__ import annotations

from PySide6.QtWidgets import (
    QComboBox, QGridLayout, QHBoxLayout, QLabel, QLineEdit, QPushButton, QVBoxLayout, QWidget,
)

from shebao_desk.services import inquiries
from shebao_desk.config.service_guide import load_guide
from shebao_desk.ui.ops import run_op
from shebao_desk.ui.widgets import Hint, Table, named


class InquiriesPage(QWidget):
    def __init__(self, ctx) -> None:
        super().__init__()
        self.ctx = ctx
        layout = QVBoxLayout(self)
        row = QHBoxLayout()
        self.person = named(QLineEdit(placeholderText=self.tr("咨询人身份证号码（可不填）")), "inquiry_person")
        row.addWidget(QLabel(self.tr("咨询人")))
        row.addWidget(self.person, 1)
        layout.addLayout(row)
        layout.addWidget(QLabel(self.tr("点击咨询主题即登记（首问责任人为您本人）：")))
        grid = QGridLayout()
        self.topic_buttons = []
        for i, topic in enumerate(load_guide().topics):
            button = named(QPushButton(topic), f"topic_{i}")
            button.clicked.connect(lambda _=False, t=topic: self.record(t))
            grid.addWidget(button, i // 5, i % 5)
            self.topic_buttons.append(button)
        layout.addLayout(grid)
        self.hint = Hint("inquiry_hint")
        layout.addWidget(self.hint)
        layout.addWidget(QLabel(self.tr("我负责的未办结咨询")))
        self.table = Table([self.tr("登记时间"), self.tr("主题"), self.tr("说明"), self.tr("移交记录")], "my_inquiries")
        layout.addWidget(self.table, 1)
        actions = QHBoxLayout()
        self.note = named(QLineEdit(placeholderText=self.tr("办理情况 / 移交说明")), "inquiry_note")
        self.handover_to = named(QComboBox(), "handover_to")
        close = named(QPushButton(self.tr("办结")), "close_inquiry")
        give = named(QPushButton(self.tr("移交")), "hand_over")
        close.clicked.connect(self.close_selected)
        give.clicked.connect(self.hand_over_selected)
        for w in (self.note, QLabel(self.tr("移交给")), self.handover_to, give, close):
            actions.addWidget(w)
        layout.addLayout(actions)

    def showEvent(self, event) -> None:  # noqa: N802
        super().showEvent(event)
        self.refresh()

    def refresh(self) -> None:
        def done(result) -> None:
            rows, ids, others = result
            self.table.fill(rows, ids)
            self.handover_to.clear()
            for clerk_id, name in others:
                self.handover_to.addItem(name, clerk_id)

        run_op(self, self.ctx, lambda s: inquiries.my_inquiries_view(s, self.ctx.clerk.id), done, read=True,
               hint=self.hint)

    def _run(self, work, unit: str, message: str) -> None:
        def done(_) -> None:
            self.hint.fine(message)
            self.note.clear()
            self.refresh()
        run_op(self, self.ctx, work, done, unit=unit, hint=self.hint, changes={"inquiries"})

    def record(self, topic: str) -> None:
        clerk, id_text = self.ctx.clerk, self.person.text().strip()
        self.person.clear()
        self._run(lambda s: inquiries.record_inquiry(s, clerk, topic, id_text), "inquiry", f"已登记咨询：{topic}")

    def _selected(self) -> str | None:
        row = self.table.currentRow()
        if row < 0:
            self.hint.problem(self.tr("请先在列表中选择一条咨询"))
            return None
        return self.table.payloads[row]

    def close_selected(self) -> None:
        inquiry_id, clerk, note = self._selected(), self.ctx.clerk, self.note.text()
        if inquiry_id is None:
            return
        self._run(lambda s: inquiries.close_by_id(s, inquiry_id, clerk, note), "close inquiry", self.tr("已办结"))

    def hand_over_selected(self) -> None:
        inquiry_id, clerk, note, to = self._selected(), self.ctx.clerk, self.note.text(), self.handover_to.currentData()
        if inquiry_id is None:
            return
        if to is None:
            self.hint.problem(self.tr("没有可移交的其他经办人"))
            return
        self._run(lambda s: inquiries.hand_over_by_id(s, inquiry_id, clerk, to, note), "hand over inquiry",
                  self.tr("已移交"))
