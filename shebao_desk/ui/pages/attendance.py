"""考勤 (supervisor): sign-in and sign-out per clerk per working day; late, early and absent."""

from __future__ import annotations

import datetime as dt

from PySide6.QtWidgets import QDateEdit, QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from shebao_desk.services.attendance import NOT_SIGNED_OUT, attendance_report, sign_out
from shebao_desk.services.statistics import period_of
from shebao_desk.ui.ops import run_op
from shebao_desk.clock import today as today_in_china
from shebao_desk.ui.widgets import Hint, Table, china_today, named


class AttendancePage(QWidget):
    def __init__(self, ctx) -> None:
        super().__init__()
        self.ctx = ctx
        layout = QVBoxLayout(self)
        row = QHBoxLayout()
        self.month = named(QDateEdit(china_today(), displayFormat="yyyy-MM"), "attendance_month")  # type: ignore[call-overload]  # inherited property keyword, not in PySide6's stubs
        show = named(QPushButton(self.tr("查看")), "run_attendance")
        out = named(QPushButton(self.tr("我要签退")), "sign_out")
        for w in (QLabel(self.tr("月份")), self.month, show, out):
            row.addWidget(w)
        row.addStretch(1)
        layout.addLayout(row)
        self.summary = Hint("attendance_summary")
        layout.addWidget(self.summary)
        self.table = Table([self.tr("经办人"), self.tr("日期"), self.tr("签到"), self.tr("签退"), self.tr("工时"),
                            self.tr("迟到"), self.tr("早退"), self.tr("缺勤")], "attendance")
        layout.addWidget(self.table, 1)
        show.clicked.connect(self.refresh)
        out.clicked.connect(self.sign_out)

    def showEvent(self, event) -> None:  # noqa: N802
        super().showEvent(event)
        self.refresh()

    def refresh(self) -> None:
        ctx, period = self.ctx, period_of("month", self.month.date().toPython())
        cfg = ctx.policy.site
        today = today_in_china()
        end = min(period.end, today + dt.timedelta(days=1))


        def done(rows) -> None:
            mark = lambda b: self.tr("是") if b else ""  # noqa: E731
            self.table.fill([[r.clerk, f"{r.day}", r.sign_in, r.sign_out, "" if r.hours is None else f"{r.hours}",
                              mark(r.late), mark(r.left_early), mark(r.absent)] for r in rows])
            self.summary.info(f"{period.label}：出勤 {sum(not r.absent for r in rows)} 人次，迟到 "
                              f"{sum(r.late for r in rows)}，早退 {sum(r.left_early for r in rows)}，"
                              f"缺勤 {sum(r.absent for r in rows)}，未签退 {sum(r.sign_out == NOT_SIGNED_OUT for r in rows)}"
                              f"（上班 {cfg.opens:%H:%M}，下班 {cfg.closes:%H:%M}；早退按当天最后一次签退、下班后判定）")

        run_op(self, ctx, lambda s: attendance_report(s, period.start, end, ctx.policy.calendar, cfg.opens, cfg.closes),
               done, read=True, hint=self.summary)

    def sign_out(self) -> None:
        ctx = self.ctx

        def done(_: object) -> None:
            self.summary.fine(self.tr("已签退"))
            self.refresh()

        run_op(self, ctx, lambda s: sign_out(s, ctx.clerk.id), done, unit="sign out", hint=self.summary,
               changes={"attendance"})
