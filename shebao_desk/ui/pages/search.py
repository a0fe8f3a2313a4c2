"""查询: find a person, card or case by ID number, name or card number; ID numbers masked in lists."""

from __future__ import annotations

from PySide6.QtWidgets import QHBoxLayout, QLabel, QLineEdit, QPushButton, QVBoxLayout, QWidget

from shebao_desk.clock import now_utc
from shebao_desk.rules.idnumber import mask_id_number
from shebao_desk.services.queries import card_shown, search
from shebao_desk.ui.case_detail import CaseDetailDialog
from shebao_desk.ui.ops import run_op
from shebao_desk.ui.widgets import CASE_COLUMNS, Table, case_row, named


class SearchPage(QWidget):
    def __init__(self, ctx) -> None:
        super().__init__()
        self.ctx = ctx
        layout = QVBoxLayout(self)
        row = QHBoxLayout()
        self.query = named(QLineEdit(placeholderText=self.tr("身份证号码（可只输前几位）、姓名（可只输姓）、卡号或受理编号")), "query")
        self.button = named(QPushButton(self.tr("查询")), "search_button")
        row.addWidget(self.query, 1)
        row.addWidget(self.button)
        layout.addLayout(row)
        layout.addWidget(QLabel(self.tr("人员")))
        self.people = Table([self.tr("姓名"), self.tr("身份证号码"), self.tr("社会保障卡"), self.tr("卡状态"), self.tr("电话")], "people")
        layout.addWidget(self.people, 1)
        layout.addWidget(QLabel(self.tr("业务（双击查看详情）")))
        self.cases = Table(CASE_COLUMNS, "cases")
        layout.addWidget(self.cases, 2)
        self.query.returnPressed.connect(self.run)
        self.button.clicked.connect(self.run)
        self.cases.cellDoubleClicked.connect(self.open_case)

    def run(self) -> None:
        text = self.query.text()
        catalogue = self.ctx.policy.catalogue

        def work(s):
            now = now_utc()
            result = search(s, text)
            people = []
            for p in result.people:
                people.append([p.name, mask_id_number(p.id_number), *card_shown(p.cards, now), p.phone])
            cases = [case_row(c, catalogue) for c in result.cases]
            return people, cases, [c.id for c in result.cases]

        def done(found) -> None:
            people, cases, ids = found
            self.people.fill(people)
            self.cases.fill(cases, ids)

        run_op(self, self.ctx, work, done, read=True)

    def open_case(self, row: int, _col: int) -> None:
        self.detail = CaseDetailDialog(self.ctx, self.cases.payloads[row], self)
        self.detail.show()
