"""自查: the window against Articles 7–10, with live readers and printers; printable."""

from __future__ import annotations

from PySide6.QtGui import QColor
from PySide6.QtPrintSupport import QPrinterInfo
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget
from sqlalchemy import func, select

from shebao_desk.case_files import case_folder
from shebao_desk.clock import local_text, now_utc
from shebao_desk.documents.sheets import self_check_pdf
from shebao_desk.models import Clerk
from shebao_desk.ui.errors import clerk_message
from shebao_desk.ui.widgets import Hint, Table
from shebao_desk.window_check import self_check


class SelfCheckPage(QWidget):
    def __init__(self, ctx) -> None:
        super().__init__()
        self.ctx = ctx
        layout = QVBoxLayout(self)
        row = QHBoxLayout()
        run = QPushButton(self.tr("重新检测"), objectName="run_check")
        printable = QPushButton(self.tr("打印自查表…"), objectName="print_check")
        row.addWidget(QLabel(self.tr("规范第七至十条自查（读卡器、打印机为实时检测）")))
        row.addStretch(1)
        row.addWidget(run)
        row.addWidget(printable)
        layout.addLayout(row)
        self.table = Table([self.tr("条款"), self.tr("检查项目"), self.tr("要求"), self.tr("实际"), self.tr("结果")], "checks")
        layout.addWidget(self.table, 1)
        self.hint = Hint("check_hint")
        layout.addWidget(self.hint)
        run.clicked.connect(self.refresh)
        printable.clicked.connect(self.print_sheet)
        ctx.cards.readers_changed.connect(lambda _: self.isVisible() and self.refresh())
        self.checks = []

    def showEvent(self, event) -> None:  # noqa: N802
        super().showEvent(event)
        self.refresh()

    def refresh(self) -> None:
        ctx = self.ctx
        readers = len(ctx.cards.readers)
        printers = len(QPrinterInfo.availablePrinters())

        def count_devices():  # scanners and queues on the devices worker: probing USB can take seconds
            from shebao_desk.devices.printers import cups_available, live_queues
            from shebao_desk.devices.scanner import count_scanners
            return count_scanners(), len(live_queues()) if cups_available() else printers

        def work(counts):
            scanners, queues = counts
            with ctx.store.read() as s:
                staff = s.scalar(select(func.count()).select_from(Clerk).where(Clerk.active.is_(True)))
            return self_check(ctx.policy.site, readers=readers, printers=queues, active_clerks=staff,
                              scanners=scanners)

        def done(checks) -> None:
            self.checks = checks
            verdict = {True: self.tr("符合"), False: self.tr("不符合")}
            self.table.fill([[c.article, c.rule, c.required, c.actual, verdict[bool(c.passed)]] for c in checks])
            for i, c in enumerate(checks):
                self.table.item(i, 4).setBackground(QColor("#d7f5dd" if c.passed else "#ffd6d6"))
            failed = sum(not c.passed for c in checks)
            (self.hint.fine if not failed else self.hint.problem)(
                f"共 {len(checks)} 项，符合 {len(checks) - failed} 项，不符合 {failed} 项")

        ctx.devices.run(count_devices, lambda counts: ctx.db.run(lambda: work(counts), done,
                                                                 lambda e: self.hint.problem(clerk_message(e))),
                        lambda e: self.hint.problem(clerk_message(e)))

    def print_sheet(self) -> None:
        from shebao_desk.ui.printing import generate_and_preview
        ctx, checks = self.ctx, list(self.checks)
        path = case_folder(ctx.store.path, "self-check") / f"自查表-{now_utc():%Y%m%d%H%M}.pdf"
        site = f"{ctx.policy.site.institution} {ctx.policy.site.window_name}"

        def make():
            path.parent.mkdir(parents=True, exist_ok=True)
            self_check_pdf(checks, site, local_text(now_utc()), path)
            return path

        generate_and_preview(ctx, self, make, self.tr("自查表"), self.hint)
