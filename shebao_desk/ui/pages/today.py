"""今日: today's cases, open and overdue cases, temporary losses lapsing within 24 hours, and the
temporary cards (临时卡) still out, with their return."""

from __future__ import annotations

from PySide6.QtWidgets import QGridLayout, QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from shebao_desk.clock import local_text
from shebao_desk.rules.idnumber import mask_id_number
from shebao_desk.services.queries import LIST_LIMIT, losses_lapsing, open_case_counts, open_cases, todays_cases
from shebao_desk.services.temp_cards import OutstandingTempCard, outstanding, record_return
from shebao_desk.ui.case_detail import CaseDetailDialog
from shebao_desk.ui.confirm import confirm
from shebao_desk.ui.ops import run_op
from shebao_desk.ui.widgets import CASE_COLUMNS, Hint, Table, case_row, named


def temp_card_row(t: OutstandingTempCard) -> list[str]:
    state = "已过期，未交回" if t.overdue else "在用"
    return [t.person_name, mask_id_number(t.person_id_number), t.number, local_text(t.issued_at),
            f"{t.valid_until:%Y-%m-%d}", state]


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
        for title, table in ((self.tr("今日受理（双击查看）"), self.today), (self.tr("在办"), self.open), (self.tr("已超期"), self.overdue)):
            layout.addWidget(QLabel(title))
            layout.addWidget(table, 1)
        # The last two lists side by side: the page keeps the height it had (1280×720).
        self.temp_cards = Table([self.tr("持卡人"), self.tr("身份证号码"), self.tr("临时卡号"), self.tr("发放时间"),
                                 self.tr("有效期至"), self.tr("状态")], "temp_cards")
        self.return_button = QPushButton(self.tr("登记交回"))
        self.return_button.setObjectName("return_temp_card")
        self.return_button.clicked.connect(self.return_selected)
        self.temp_hint = Hint("temp_card_hint")
        bottom = QGridLayout()
        bottom.addWidget(QLabel(self.tr("24 小时内失效的临时挂失")), 0, 0)
        bottom.addWidget(self.lapsing, 1, 0, 2, 1)
        temp_head = QHBoxLayout()
        temp_head.addWidget(QLabel(self.tr("未交回的临时卡（选中后登记交回）")), 1)
        temp_head.addWidget(self.return_button)
        bottom.addLayout(temp_head, 0, 1)
        bottom.addWidget(self.temp_cards, 1, 1)
        bottom.addWidget(self.temp_hint, 2, 1)
        layout.addLayout(bottom, 1)
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
            temp = outstanding(s)
            return ([row(c) for c in today], [c.id for c in today], [row(c) for c in pending],
                    [c.id for c in pending], [row(c) for c in overdue], [c.id for c in overdue],
                    [[x.card.person.name, mask_id_number(x.card.person.id_number), x.card.card_number,
                      local_text(x.effective_at), local_text(x.expires_at), x.channel.label] for x in lapsing],
                    open_case_counts(s), [temp_card_row(t) for t in temp], [t.id for t in temp])

        def done(r) -> None:
            self.today.fill(r[0], r[1])
            self.open.fill(r[2], r[3])
            self.overdue.fill(r[4], r[5])
            self.lapsing.fill(r[6])
            self.temp_cards.fill(r[8], r[9])
            n_open, n_overdue = r[7]
            shown = "" if (n_open, n_overdue) == (len(r[2]), len(r[4])) else f"（列表各显示前 {LIST_LIMIT} 笔）"
            self.summary.setText(f"今日受理 {len(r[0])} 笔；在办 {n_open} 笔；超期 {n_overdue} 笔{shown}；"
                                 f"即将失效的临时挂失 {len(r[6])} 笔；未交回的临时卡 {len(r[8])} 张")

        run_op(self, self.ctx, work, done, read=True)

    def return_selected(self) -> None:
        """The holder brought the selected temporary card back (also done by collecting the new card)."""
        row = self.temp_cards.currentRow()
        if row < 0 or row >= len(self.temp_cards.payloads):
            self.temp_hint.problem(self.tr("请先在“未交回的临时卡”中选中一张"))
            return
        number, name = self.temp_cards.text(row, 2), self.temp_cards.text(row, 0)
        if not confirm(self, self.tr("登记交回"), self.tr("登记 {0} 的临时卡 {1} 已交回？").format(name, number),
                       self.tr("登记交回")):
            return
        ctx, actor, temp_id = self.ctx, self.ctx.actor, self.temp_cards.payloads[row]

        def done(returned: str) -> None:
            self.temp_hint.fine(self.tr("临时卡 {0} 已交回").format(returned))
            self.refresh()

        run_op(self, ctx, lambda: record_return(ctx.store, actor, temp_id), done, hint=self.temp_hint,
               changes={"cases"})

    def open_case(self, table, row: int) -> None:
        self.detail = CaseDetailDialog(self.ctx, table.payloads[row], self)
        self.detail.show()
