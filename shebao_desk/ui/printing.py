"""Preview a document (QtPdf) and print it through Qt's print dialog.

Pages are rendered and sent to the printer by a child process
(:mod:`print_job`) that the printer worker waits for, so neither a slow printer
nor the rasterising holds the window. The PDF itself is already kept with the
case before anything is printed.
"""

from __future__ import annotations

import logging
from pathlib import Path

from PySide6.QtPdf import QPdfDocument
from PySide6.QtPdfWidgets import QPdfView
from PySide6.QtPrintSupport import QPrintDialog, QPrinter
from PySide6.QtWidgets import QDialog, QHBoxLayout, QLabel, QPushButton, QVBoxLayout

from shebao_desk.services.case_papers import record_print
from shebao_desk.ui.errors import clerk_message
from shebao_desk.ui.geometry import fit_to_screen
from shebao_desk.ui.ops import run_op
from shebao_desk.ui.print_job import PrintSettings, print_in_child
from shebao_desk.ui.worker import Worker
from shebao_desk.ui.widgets import named

log = logging.getLogger(__name__)

class PreviewDialog(QDialog):
    def __init__(self, path: Path, printer_worker: Worker, parent=None, title: str = "打印预览",
                 on_result=None) -> None:
        super().__init__(parent)
        self.on_result = on_result  # (printed: bool, problem: str) -> None, to record it with the case
        self.last_settings = None
        self.setWindowTitle(title)
        fit_to_screen(self, 820, 980)  # an A4 page's height is more than a 768-line screen has
        self.path = path
        self.worker = printer_worker
        self.document = QPdfDocument(self)
        self.document.load(str(path))
        view = QPdfView(self)
        view.setDocument(self.document)
        view.setPageMode(QPdfView.PageMode.MultiPage)
        view.setZoomMode(QPdfView.ZoomMode.FitToWidth)
        layout = QVBoxLayout(self)
        layout.addWidget(view, 1)
        row = QHBoxLayout()
        self.status = QLabel(f"文件已保存：{path}")
        row.addWidget(self.status, 1)
        self.print_button = QPushButton("打印… (Ctrl+P)")
        self.print_button.setShortcut("Ctrl+P")
        self.print_button.clicked.connect(self.print_)
        close = QPushButton("关闭")
        close.clicked.connect(self.accept)
        # After a failure: print again to the same printer, once the clerk has fixed it.
        self.retry_button = named(QPushButton("重新打印"), "retry_print")
        self.retry_button.clicked.connect(lambda: self.send(self.last_settings))
        self.retry_button.hide()
        row.addWidget(self.print_button)
        row.addWidget(self.retry_button)
        row.addWidget(close)
        layout.addLayout(row)

    def print_(self) -> None:
        printer = QPrinter(QPrinter.PrinterMode.HighResolution)
        dialog = QPrintDialog(printer, self)
        if dialog.exec() != QDialog.DialogCode.Accepted:
            return
        self.send(PrintSettings.from_printer(printer))

    def send(self, settings) -> None:
        """Print with the settings chosen in the print dialog (or those of the failed attempt)."""
        self.last_settings = settings
        self.print_button.setEnabled(False)
        self.retry_button.setEnabled(False)
        self.status.setText("正在打印…")

        def done(pages: int) -> None:
            self.print_button.setEnabled(True)
            self.retry_button.hide()
            self.status.setText(f"已打印（{pages} 页）" if settings.printer and not settings.output
                                else f"已送打印机（{pages} 页）")
            if self.on_result:
                self.on_result(True, "")

        def failed(error: BaseException) -> None:
            self.print_button.setEnabled(True)
            self.retry_button.setEnabled(True)
            self.retry_button.show()
            self.status.setText(f"打印失败：{clerk_message(error)}")
            if self.on_result:
                self.on_result(False, clerk_message(error))

        run_op(self, None, lambda: print_in_child(self.path, settings), done, failed=failed, worker=self.worker,
               title="未能打印")


def generate_and_preview(ctx, parent, make_pdf, title: str, hint) -> None:
    """Write a PDF on the database worker (``make_pdf() -> Path``), then open its preview."""

    def shown(path: Path) -> None:
        parent.preview = PreviewDialog(path, ctx.printer, parent, title)
        parent.preview.show()
        hint.fine(f"已生成：{path}")

    run_op(parent, ctx, make_pdf, shown, hint=hint)


def case_print_recorder(ctx, case_id: str, after=None):
    """An ``on_result`` for :class:`PreviewDialog` that records on the case whether its papers came out."""


    def record(printed: bool, problem: str) -> None:
        run_op(None, ctx, lambda s: record_print(s, case_id, printed, problem), lambda _: after() if after else None,
               unit="print papers", changes={"cases"})
    return record
