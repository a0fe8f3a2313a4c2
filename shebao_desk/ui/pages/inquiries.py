"""咨询: record an inquiry in two clicks; the first clerk owns it until it is closed or handed over."""

from __future__ import annotations

from PySide6.QtWidgets import (
    QComboBox, QGridLayout, QHBoxLayout, QLabel, QLineEdit, QPushButton, QVBoxLayout, QWidget,
)
from sqlalchemy import select

from shebao_desk.clock import local_text
from shebao_desk.inquiries import close_inquiry, hand_over, open_inquiries, open_inquiry
from shebao_desk.intake import find_person
from shebao_desk.models import Clerk, Inquiry
from shebao_desk.service_guide import load_guide
from shebao_desk.ui.errors import clerk_message
from shebao_desk.ui.widgets import Hint, Table


class InquiriesPage(QWidget):
    def __init__(self, ctx) -> None:
        super().__init__()
        self.ctx = ctx
        layout = QVBoxLayout(self)
        row = QHBoxLayout()
        self.person = QLineEdit(objectName="inquiry_person", placeholderText=self.tr("咨询人身份证号码（可不填）"))
        row.addWidget(QLabel(self.tr("咨询人")))
        row.addWidget(self.person, 1)
        layout.addLayout(row)
        layout.addWidget(QLabel(self.tr("点击咨询主题即登记（首问责任人为您本人）：")))
        grid = QGridLayout()
        self.topic_buttons = []
        for i, topic in enumerate(load_guide().topics):
            button = QPushButton(topic, objectName=f"topic_{i}")
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
        self.note = QLineEdit(objectName="inquiry_note", placeholderText=self.tr("办理情况 / 移交说明"))
        self.handover_to = QComboBox(objectName="handover_to")
        close = QPushButton(self.tr("办结"), objectName="close_inquiry")
        give = QPushButton(self.tr("移交"), objectName="hand_over")
        close.clicked.connect(self.close_selected)
        give.clicked.connect(self.hand_over_selected)
        for w in (self.note, QLabel(self.tr("移交给")), self.handover_to, give, close):
            actions.addWidget(w)
        layout.addLayout(actions)

    def showEvent(self, event) -> None:  # noqa: N802
        super().showEvent(event)
        self.refresh()

    def refresh(self) -> None:
        ctx = self.ctx

        def work():
            with ctx.store.read() as s:
                mine = open_inquiries(s, ctx.clerk.id)
                others = [(c.id, c.display_name) for c in s.scalars(select(Clerk).where(Clerk.active.is_(True)))
                          if c.id != ctx.clerk.id]
                return [[local_text(i.opened_at), i.topic, i.note, i.handover_note] for i in mine], \
                    [i.id for i in mine], others

        def done(result) -> None:
            rows, ids, others = result
            self.table.fill(rows, ids)
            self.handover_to.clear()
            for clerk_id, name in others:
                self.handover_to.addItem(name, clerk_id)

        ctx.db.run(work, done, lambda e: self.hint.problem(clerk_message(e)))

    def _run(self, work, message: str) -> None:
        def done(_) -> None:
            self.hint.fine(message)
            self.note.clear()
            self.refresh()
        self.ctx.db.run(work, done, lambda e: self.hint.problem(clerk_message(e)))

    def record(self, topic: str) -> None:
        ctx, id_text = self.ctx, self.person.text().strip()

        def work():
            with ctx.store.unit(ctx.clerk.id, ctx.workstation, "inquiry") as s:
                person = find_person(s, id_text.upper()) if id_text else None
                open_inquiry(s, s.merge(ctx.clerk), topic, person.id if person else None)

        self.person.clear()
        self._run(work, f"已登记咨询：{topic}")

    def _selected(self) -> str | None:
        row = self.table.currentRow()
        if row < 0:
            self.hint.problem(self.tr("请先在列表中选择一条咨询"))
            return None
        return self.table.payloads[row]

    def close_selected(self) -> None:
        inquiry_id, ctx, note = self._selected(), self.ctx, self.note.text()
        if inquiry_id is None:
            return

        def work():
            with ctx.store.unit(ctx.clerk.id, ctx.workstation, "close inquiry") as s:
                close_inquiry(s, s.get(Inquiry, inquiry_id), s.merge(ctx.clerk), note)

        self._run(work, self.tr("已办结"))

    def hand_over_selected(self) -> None:
        inquiry_id, ctx, note, to = self._selected(), self.ctx, self.note.text(), self.handover_to.currentData()
        if inquiry_id is None:
            return
        if to is None:
            self.hint.problem(self.tr("没有可移交的其他经办人"))
            return

        def work():
            with ctx.store.unit(ctx.clerk.id, ctx.workstation, "hand over inquiry") as s:
                hand_over(s, s.get(Inquiry, inquiry_id), s.merge(ctx.clerk), s.get(Clerk, to), note)

        self._run(work, self.tr("已移交"))
