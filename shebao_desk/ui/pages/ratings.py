"""好差评: the month's 满意率 per clerk and for the window, and the open 差评 with their
deadlines for the supervisor to follow up (国办发〔2019〕51号; resources/applicant.toml)."""

from __future__ import annotations

from PySide6.QtCore import QDate
from PySide6.QtWidgets import QDateEdit, QHBoxLayout, QLabel, QLineEdit, QPushButton, QVBoxLayout, QWidget

from shebao_desk.clock import local_day, now_utc
from shebao_desk.config.applicant_settings import load_applicant_settings
from shebao_desk.services.ratings import RatingsReport, follow_up, ratings_report
from shebao_desk.services.statistics import month
from shebao_desk.ui.ops import run_op
from shebao_desk.ui.widgets import Hint, Table, named


class RatingsPage(QWidget):
    def __init__(self, ctx) -> None:
        super().__init__()
        self.ctx = ctx
        self.settings = load_applicant_settings()
        layout = QVBoxLayout(self)
        row = QHBoxLayout()
        self.month = named(QDateEdit(QDate.currentDate()), "ratings_month")
        self.month.setDisplayFormat("yyyy-MM")
        self.month.dateChanged.connect(lambda _: self.refresh())
        row.addWidget(QLabel(self.tr("月份")))
        row.addWidget(self.month)
        row.addStretch(1)
        layout.addLayout(row)
        self.title = named(QLabel(), "ratings_title")
        layout.addWidget(self.title)
        self.by_clerk = Table([self.tr("经办人"), self.tr("评价数"), self.tr("满意率"), self.tr("差评")], "ratings_by_clerk")
        layout.addWidget(self.by_clerk, 1)
        self.open_title = named(QLabel(), "open_complaints_title")
        layout.addWidget(self.open_title)
        self.complaints = Table([self.tr("受理编号"), self.tr("身份证号码"), self.tr("经办人"), self.tr("评价"),
                                 self.tr("原因"), self.tr("评价日期"), self.tr("反馈期限")], "open_complaints")
        layout.addWidget(self.complaints, 1)
        actions = QHBoxLayout()
        self.note = named(QLineEdit(placeholderText=self.tr("回访核实、整改和反馈情况")), "follow_up_note")
        done = named(QPushButton(self.tr("记录回访整改")), "record_follow_up")
        done.clicked.connect(self.record_follow_up)
        actions.addWidget(self.note, 1)
        actions.addWidget(done)
        layout.addLayout(actions)
        self.hint = Hint("ratings_hint")
        layout.addWidget(self.hint)

    def showEvent(self, event) -> None:  # noqa: N802
        super().showEvent(event)
        self.refresh()

    def refresh(self) -> None:
        period = month(self.month.date().toString("yyyy-MM"))
        settings, today = self.settings, local_day(now_utc())
        run_op(self, self.ctx, lambda s: ratings_report(s, settings, period, today), self.show_report, read=True,
               hint=self.hint)

    def show_report(self, report: RatingsReport) -> None:
        settings = self.settings

        def pct(rate: float | None) -> str:
            return "—" if rate is None else f"{rate * 100:.1f}%"
        self.title.setText(f"{report.period.label} 好差评（依据 {settings.rating.source}，满意率 = 非常满意、满意、基本满意之和 / 评价数）")
        rows = [[c.clerk, str(c.total), pct(c.rate(settings)), str(c.total - c.satisfied(settings))]
                for c in [*report.by_clerk, report.window]]
        self.by_clerk.fill(rows)
        self.open_title.setText(f"未整改的差评 {len(report.open_complaints)} 件（自评价之日起 "
                                f"{settings.rating.follow_up_workdays} 个工作日内反馈）")
        self.complaints.fill([[o.case_number, o.id_masked, o.clerk, o.level, "、".join(o.reasons),
                               f"{o.rated_on:%Y-%m-%d}", f"{o.due:%Y-%m-%d}" + ("（已超期）" if o.overdue else "")
                               if o.due else ""] for o in report.open_complaints],
                             [o.rating_id for o in report.open_complaints])

    def record_follow_up(self) -> None:
        row = self.complaints.currentRow()
        if row < 0:
            self.hint.problem(self.tr("请先在列表中选择一条差评"))
            return
        rating_id, note, ctx = self.complaints.payloads[row], self.note.text(), self.ctx
        run_op(self, ctx, lambda: follow_up(ctx.store, ctx.actor, rating_id, note), lambda _: self._followed(),
               hint=self.hint)

    def _followed(self) -> None:
        self.note.clear()
        self.hint.fine(self.tr("已记录回访整改"))
        self.refresh()
