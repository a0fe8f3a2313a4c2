"""统计 (supervisor): cases per day, week or month, by business and by clerk, with a chart and exports."""

from __future__ import annotations

from typing import Any

from pathlib import Path

from PySide6.QtCharts import QBarCategoryAxis, QBarSeries, QBarSet, QChart, QChartView, QValueAxis
from PySide6.QtCore import QStandardPaths, Qt
from PySide6.QtGui import QPainter
from PySide6.QtWidgets import QComboBox, QDateEdit, QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from shebao_desk.services.report_export import export
from shebao_desk.services.statistics import HEADERS, as_table, period_of, report_sections
from shebao_desk.ui.desk_prefs import remember_folder, remembered_folder, settings_for
from shebao_desk.ui.file_dialog import first_folder, save_file, standard_folder
from shebao_desk.ui.ops import run_op
from shebao_desk.ui.widgets import Hint, Table, china_today, named


class StatisticsPage(QWidget):
    def __init__(self, ctx) -> None:
        super().__init__()
        self.ctx = ctx
        layout = QVBoxLayout(self)
        row = QHBoxLayout()
        self.kind = named(QComboBox(), "period_kind")
        for key, label in (("day", self.tr("日")), ("week", self.tr("周")), ("month", self.tr("月"))):
            self.kind.addItem(label, key)
        self.kind.setCurrentIndex(2)
        self.day = named(QDateEdit(china_today(), calendarPopup=True, displayFormat="yyyy-MM-dd"),  # type: ignore[call-overload]  # inherited property keyword, not in PySide6's stubs
                         "period_day")
        show = named(QPushButton(self.tr("统计")), "run_stats")
        xlsx = named(QPushButton(self.tr("导出 XLSX…")), "export_xlsx")
        pdf = named(QPushButton(self.tr("导出 PDF…")), "export_pdf")
        for w in (QLabel(self.tr("周期")), self.kind, self.day, show, xlsx, pdf):
            row.addWidget(w)
        row.addStretch(1)
        layout.addLayout(row)
        self.title = named(QLabel(), "stats_title")
        layout.addWidget(self.title)
        self.by_business = Table([self.tr("业务"), *HEADERS[1:]], "stats_business")
        self.by_clerk = Table([self.tr("经办人"), *HEADERS[1:]], "stats_clerk")
        layout.addWidget(self.by_business, 2)
        layout.addWidget(self.by_clerk, 1)
        self.chart = named(QChartView(), "stats_chart")
        self.chart.setRenderHint(QPainter.RenderHint.Antialiasing)
        self.chart.setMinimumHeight(220)
        layout.addWidget(self.chart, 2)
        self.hint = Hint("stats_hint")
        layout.addWidget(self.hint)
        show.clicked.connect(self.refresh)
        xlsx.clicked.connect(lambda: self.export_to(".xlsx"))
        pdf.clicked.connect(lambda: self.export_to(".pdf"))
        self.sections: list[Any] = []

    def period(self):
        return period_of(self.kind.currentData(), self.day.date().toPython())

    def showEvent(self, event) -> None:  # noqa: N802
        super().showEvent(event)
        self.refresh()

    def refresh(self) -> None:
        period, ctx = self.period(), self.ctx


        def done(sections) -> None:
            self.sections = sections
            self.title.setText(f"统计周期：{period.label}")
            (_, business), (_, clerks) = sections
            self.by_business.fill([[str(v) for v in row] for row in as_table(business)])
            self.by_clerk.fill([[str(v) for v in row] for row in as_table(clerks)])
            self.draw_chart([r for r in business if r.key != "total"])

        # this window's cases only
        run_op(self, ctx, lambda s: report_sections(s, period, ctx.policy, ctx.site.window_code), done, read=True,
               hint=self.hint)

    def draw_chart(self, rows) -> None:
        chart = QChart()
        chart.setTitle(self.tr("各业务受理与办结"))
        series = QBarSeries()
        for label, attr in ((self.tr("受理"), "accepted"), (self.tr("办结"), "completed"), (self.tr("超期办结"), "late")):
            bar = QBarSet(label)
            for r in rows:
                bar.append(getattr(r, attr))
            series.append(bar)
        chart.addSeries(series)
        axis_x = QBarCategoryAxis()
        axis_x.append([r.label for r in rows])
        chart.addAxis(axis_x, Qt.AlignmentFlag.AlignBottom)
        series.attachAxis(axis_x)
        axis_y = QValueAxis()
        axis_y.setLabelFormat("%d")
        top = max([max(r.accepted, r.completed) for r in rows], default=1) or 1
        step = integer_step(top)
        # Whole numbers only (cases are counted): ticks every ``step`` from 0, the top a multiple of it.
        axis_y.setTickType(QValueAxis.TickType.TicksDynamic)
        axis_y.setTickAnchor(0)
        axis_y.setTickInterval(step)
        axis_y.setRange(0, step * -(-top // step))
        chart.addAxis(axis_y, Qt.AlignmentFlag.AlignLeft)
        series.attachAxis(axis_y)
        chart.legend().setAlignment(Qt.AlignmentFlag.AlignBottom)
        self.chart.setChart(chart)

    def export_to(self, suffix: str, path: Path | None = None) -> None:
        if path is None:
            settings = settings_for(self.ctx.store.path)
            folder = first_folder([remembered_folder(settings, "export"),
                                   standard_folder(QStandardPaths.StandardLocation.DocumentsLocation)])
            path = save_file(self, self.tr("导出统计"), folder, f"*{suffix}",
                             f"统计{self.period().start:%Y%m%d}{suffix}")
            if path is None:
                return
            remember_folder(settings, "export", path.parent)
        period, sections, site = self.period(), self.sections, self.ctx.policy.site
        run_op(self, self.ctx, lambda: export(path, f"{site.institution} 社会保障卡业务统计", period, sections),
               lambda _: self.hint.fine(f"已导出：{path}"), hint=self.hint)


def integer_step(top: int, most_ticks: int = 6) -> int:
    """A whole-number tick step (1, 2, 5, 10, 20, 50 …) giving at most ``most_ticks`` intervals up to ``top``."""
    base = 1
    while True:
        for factor in (1, 2, 5):
            if top / (base * factor) <= most_ticks:
                return base * factor
        base *= 10
