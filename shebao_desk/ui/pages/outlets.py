"""网点 (supervisor): bank outlets with their terminals checked against Article 11; Article 12 visits."""

from __future__ import annotations

from PySide6.QtWidgets import (
    QCheckBox, QFormLayout, QGroupBox, QHBoxLayout, QLineEdit, QPushButton, QSpinBox, QVBoxLayout, QWidget,
)

from shebao_desk.services import outlets
from shebao_desk.config.supervision import load_supervision
from shebao_desk.ui.ops import run_op
from shebao_desk.ui.widgets import Hint, Table, named


class OutletsPage(QWidget):
    def __init__(self, ctx) -> None:
        super().__init__()
        self.ctx = ctx
        self.rules = load_supervision()
        layout = QVBoxLayout(self)
        self.table = Table([self.tr("网点"), self.tr("银行"), self.tr("所在镇"), self.tr("镇人口"), self.tr("服务窗口"),
                            "ATM", self.tr("自助终端"), self.tr("第十一条")], "outlets_table")
        layout.addWidget(self.table, 2)
        form_box = QGroupBox(self.tr("登记网点"))
        form = QFormLayout(form_box)
        self.name = named(QLineEdit(), "outlet_name")
        self.bank = named(QLineEdit(), "outlet_bank")
        self.town = named(QLineEdit(), "outlet_town")
        self.population = named(QSpinBox(maximum=10_000_000), "outlet_population")
        self.windows = named(QSpinBox(maximum=100), "outlet_windows")
        self.atms = named(QSpinBox(maximum=100), "outlet_atms")
        self.terminals = named(QSpinBox(maximum=100), "outlet_terminals")
        add = named(QPushButton(self.tr("保存网点")), "save_outlet")
        for label, w in ((self.tr("网点名称"), self.name), (self.tr("银行"), self.bank), (self.tr("所在镇"), self.town),
                         (self.tr("镇人口"), self.population),
                         (self.tr("社会保障卡服务窗口"), self.windows), ("ATM", self.atms), (self.tr("自助查询终端"), self.terminals)):
            form.addRow(label, w)
        form.addRow("", add)
        visit_box = QGroupBox(self.tr("监管检查（第十二条）：先在上表选中网点"))
        visit = QVBoxLayout(visit_box)
        self.items = {code: named(QCheckBox(text), f"check_{code}") for code, text in self.rules.checklist}
        for box in self.items.values():
            visit.addWidget(box)
        self.findings = named(QLineEdit(placeholderText=self.tr("检查发现的问题与整改要求")), "findings")
        record = named(QPushButton(self.tr("记录检查")), "record_visit")
        visit.addWidget(self.findings)
        visit.addWidget(record)
        row = QHBoxLayout()
        row.addWidget(form_box)
        row.addWidget(visit_box)
        layout.addLayout(row)
        self.visits = Table([self.tr("检查时间"), self.tr("网点"), self.tr("检查人"), self.tr("不合格项"), self.tr("发现")], "visits")
        layout.addWidget(self.visits, 1)
        self.hint = Hint("outlet_hint")
        layout.addWidget(self.hint)
        add.clicked.connect(self.save_outlet)
        record.clicked.connect(self.record_visit)

    def showEvent(self, event) -> None:  # noqa: N802
        super().showEvent(event)
        self.refresh()

    def refresh(self) -> None:
        def done(result) -> None:
            rows, ids, visit_rows = result
            self.table.fill(rows, ids)
            self.visits.fill(visit_rows)

        run_op(self, self.ctx, lambda s: outlets.outlet_rows(s, self.rules), done, read=True, hint=self.hint)

    def save_outlet(self) -> None:
        values = dict(name=self.name.text().strip(), bank=self.bank.text().strip(), town=self.town.text().strip(),
                      town_population=self.population.value(), card_windows=self.windows.value(),
                      atms=self.atms.value(), terminals=self.terminals.value())

        def done(problems) -> None:
            (self.hint.problem if problems else self.hint.fine)(
                f"已保存：{values['name']}" + (f"（第十一条：{'；'.join(problems)}）" if problems else "，符合第十一条"))
            self.refresh()

        run_op(self, self.ctx, lambda s: outlets.save_outlet(s, values, self.rules), done, unit="save outlet",
               hint=self.hint, changes={"outlets"})

    def record_visit(self) -> None:
        row = self.table.currentRow()
        if row < 0:
            self.hint.problem(self.tr("请先在网点列表中选中要检查的网点"))
            return
        ctx, outlet_id = self.ctx, self.table.payloads[row]
        checklist = {code: box.isChecked() for code, box in self.items.items()}
        findings = self.findings.text().strip()

        def done(_) -> None:
            self.hint.fine(self.tr("检查记录已保存"))
            self.findings.clear()
            for box in self.items.values():
                box.setChecked(False)
            self.refresh()

        run_op(self, ctx, lambda s: outlets.record_visit(s, outlet_id, ctx.clerk.id, checklist, findings), done,
               unit="supervision visit", hint=self.hint, changes={"outlets"})
