"""自查: the window against Articles 7–10, with live readers and printers; printable."""

from __future__ import annotations

from PySide6.QtGui import QColor, QGuiApplication
from PySide6.QtPrintSupport import QPrinterInfo
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from shebao_desk.clock import local_text, now_utc
from shebao_desk.devices.pinpad import support_of
from shebao_desk.devices.printers import cups_available, live_queues
from shebao_desk.devices.scanner import count_scanners
from shebao_desk.documents.sheets import self_check_pdf
from shebao_desk.services.case_files import case_folder
from shebao_desk.config.applicant_settings import load_applicant_settings
from shebao_desk.services.applicant_devices import applicant_side, side_text
from shebao_desk.services.window_check import Check, self_check_now
from shebao_desk.ui.ops import run_op
from shebao_desk.ui.printing import generate_and_preview
from shebao_desk.ui.widgets import Hint, Table, named


def pin_pads(readers: list[str]) -> dict[str, bool]:
    """Which readers have a PIN pad (part 10), asked directly; a reader that cannot be asked has none."""
    from shebao_desk.devices.pcsc import shared_context  # noqa: PLC0415 - pyscard only when checking
    out = {}
    for name in readers:
        try:
            out[name] = support_of(shared_context().reader_features(name)).usable
        except Exception:  # noqa: BLE001 - informative only; the training reader is no PC/SC reader
            out[name] = False
    return out


class SelfCheckPage(QWidget):
    def __init__(self, ctx) -> None:
        super().__init__()
        self.ctx = ctx
        layout = QVBoxLayout(self)
        row = QHBoxLayout()
        run = named(QPushButton(self.tr("重新检测")), "run_check")
        printable = named(QPushButton(self.tr("打印自查表…")), "print_check")
        row.addWidget(QLabel(self.tr("规范第七至十条自查（读卡器、打印机为实时检测）")))
        row.addStretch(1)
        row.addWidget(run)
        row.addWidget(printable)
        layout.addLayout(row)
        self.table = Table([self.tr("条款"), self.tr("检查项目"), self.tr("要求"), self.tr("实际"), self.tr("结果")], "checks")
        layout.addWidget(self.table, 1)
        self.hint = Hint("check_hint")
        layout.addWidget(self.hint)
        self.applicant_side = named(QLabel(), "applicant_side")  # issue 28: informative, not in the verdict
        self.applicant_side.setWordWrap(True)
        layout.addWidget(self.applicant_side)
        run.clicked.connect(self.refresh)
        printable.clicked.connect(self.print_sheet)
        ctx.cards.readers_changed.connect(lambda _: self.refresh() if self.isVisible() else None)
        self.checks: list[Check] = []

    def showEvent(self, event) -> None:  # noqa: N802
        super().showEvent(event)
        self.refresh()

    def refresh(self) -> None:
        ctx = self.ctx
        readers = len(ctx.cards.readers)
        printers = len(QPrinterInfo.availablePrinters())

        names = list(ctx.cards.readers)
        pads: dict[str, bool] = {}

        def count_devices():  # scanners and queues on the devices worker: probing USB can take seconds
            pads.update(pin_pads(names))
            return count_scanners(), len(live_queues()) if cups_available() else printers

        def counted(counts) -> None:
            scanners, queues = counts
            run_op(self, ctx, lambda s: self_check_now(s, ctx.policy.site, readers=readers, printers=queues,
                                                       scanners=scanners), done, read=True, hint=self.hint)

        def done(checks) -> None:
            self.checks = checks
            verdict = {True: self.tr("符合"), False: self.tr("不符合")}
            self.table.fill([[c.article, c.rule, c.required, c.actual, verdict[bool(c.passed)]] for c in checks])
            for i, c in enumerate(checks):
                self.table.item(i, 4).setBackground(  # type: ignore[union-attr]  # fill() made every cell
                    QColor("#d7f5dd" if c.passed else "#ffd6d6"))
            self.applicant_side.setText(side_text(applicant_side(
                load_applicant_settings(), monitors=len(QGuiApplication.screens()),
                pin_pad_readers=[r for r, pad in pads.items() if pad])))
            failed = sum(not c.passed for c in checks)
            (self.hint.fine if not failed else self.hint.problem)(
                f"共 {len(checks)} 项，符合 {len(checks) - failed} 项，不符合 {failed} 项")

        run_op(self, ctx, count_devices, counted, hint=self.hint, worker=ctx.devices)

    def print_sheet(self) -> None:
        ctx, checks = self.ctx, list(self.checks)
        path = case_folder(ctx.store.path, "self-check") / f"自查表-{now_utc():%Y%m%d%H%M}.pdf"
        site = f"{ctx.policy.site.institution} {ctx.policy.site.window_name}"

        def make():
            path.parent.mkdir(parents=True, exist_ok=True)
            self_check_pdf(checks, site, local_text(now_utc()), path)
            return path

        generate_and_preview(ctx, self, make, self.tr("自查表"), self.hint)
