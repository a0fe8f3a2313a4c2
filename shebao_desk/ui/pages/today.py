"""今日: today's cases, open and overdue cases, temporary losses lapsing within 24 hours."""

from __future__ import annotations

from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from shebao_desk.clock import local_text
from shebao_desk.rules.idnumber import mask_id_number
from shebao_desk.services.queries import LIST_LIMIT, losses_lapsing, open_case_counts, open_cases, todays_cases
from shebao_desk.ui.case_detail import CaseDetailDialog
from shebao_desk.ui.ops import run_op
from shebao_desk.ui.widgets import CASE_COLUMNS, Table, case_row, named


class TodayPage(QWidget):
    def __init__(self, ctx) -> None:
        super().__init__()
        self.ctx = ctx
        layout = QVBoxLayout(self)
        head = QHBoxLayout()
        self.summary = named(QLabel(), "today_summary")
        refresh = named(QPushButton(self.tr("刷新")), "refresh")
        refresh.clicked.connect(self.refresh)
        head.addWidget(self.summary, 1)
        head.addWidget(refresh)
        layout.addLayout(head)
        self.today = Table(CASE_COLUMNS, "today_cases")
        self.open = Table(CASE_COLUMNS, "open_cases")
        self.overdue = Table(CASE_COLUMNS, "overdue_cases")
        self.lapsing = Table([self.tr("持卡人"), self.tr("身份证号码"), self.tr("卡号"), self.tr("挂失时间"),
                              self.tr("失效时间"), self.tr("渠道")], "lapsing")
        for title, table in ((self.tr("今日受理（双击查看）"), self.today), (self.tr("在办"), self.open), (self.tr("已超期"), self.overdue),
                             (self.tr("24 小时内失效的临时挂失"), self.lapsing)):
            layout.addWidget(QLabel(title))
            layout.addWidget(table, 1)
        for table in (self.today, self.open, self.overdue):
            table.cellDoubleClicked.connect(lambda row, _c, t=table: self.open_case(t, row))

    def showEvent(self, event) -> None:  # noqa: N802
        super().showEvent(event)
        self.refresh()

    def refresh(self) -> None:
        catalogue = self.ctx.policy.catalogue

        def row(c):
            return case_row(c, catalogue)

        def work(s):
            today = todays_cases(s)
            pending, overdue = open_cases(s)  # one page each (LIST_LIMIT), counted in SQL below
            lapsing = losses_lapsing(s)
            return ([row(c) for c in today], [c.id for c in today], [row(c) for c in pending],
                    [c.id for c in pending], [row(c) for c in overdue], [c.id for c in overdue],
                    [[x.card.person.name, mask_id_number(x.card.person.id_number), x.card.card_number,
                      local_text(x.effective_at), local_text(x.expires_at), x.channel.label] for x in lapsing],
                    open_case_counts(s))

        def done(r) -> None:
            self.today.fill(r[0], r[1])
            self.open.fill(r[2], r[3])
            self.overdue.fill(r[4], r[5])
            self.lapsing.fill(r[6])
            n_open, n_overdue = r[7]
            shown = "" if (n_open, n_overdue) == (len(r[2]), len(r[4])) else f"（列表各显示前 {LIST_LIMIT} 笔）"
            self.summary.setText(f"今日受理 {len(r[0])} 笔；在办 {n_open} 笔；超期 {n_overdue} 笔{shown}；"
                                 f"即将失效的临时挂失 {len(r[6])} 笔")

        run_op(self, self.ctx, work, done, read=True)

    def open_case(self, table, row: int) -> None:
        self.detail = CaseDetailDialog(self.ctx, table.payloads[row], self)
        self.detail.show()
