"""The intake page's papers row: the papers of the case just saved, until the next applicant or 清空.

One action prints them all (Ctrl+P: the business form and the receipt, or the one-time notice) to
the window's printer without a dialog: the printer the clerk last chose, else the system's default.
The print dialog stays one key away (Ctrl+Shift+P) and its choice is remembered for this
workstation. Each paper can still be previewed. The row names the case, so no one hands over the
previous person's papers.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtPrintSupport import QPrintDialog, QPrinter
from PySide6.QtWidgets import QDialog, QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from shebao_desk.devices import printers
from shebao_desk.services.intake_service import Submitted
from shebao_desk.ui.desk_prefs import papers_printer, remember_papers_printer, settings_for
from shebao_desk.ui.ops import run_op
from shebao_desk.ui.print_job import PrintSettings, print_papers
from shebao_desk.ui.printing import PreviewDialog, case_print_recorder
from shebao_desk.ui.widgets import Hint, named

if TYPE_CHECKING:
    from shebao_desk.ui.context import AppContext

DOC_TITLES = {"business_form": "业务办理表", "receipt": "受理回执", "notice": "一次性告知单"}


class CasePapers(QWidget):
    def __init__(self, ctx: AppContext) -> None:
        super().__init__()
        self.ctx = ctx
        self.settings = settings_for(ctx.store.path)
        self.case: Submitted | None = None
        self.paths: dict[str, Path] = {}  # kind -> PDF of the case shown; {} once it is forgotten
        self.previews: list[PreviewDialog] = []
        self.last_settings: PrintSettings | None = None  # the failed run's printer, for 重新打印
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        row = QHBoxLayout()
        self.doc_case = named(QLabel(), "doc_case")
        self.print_button = named(QPushButton(self.tr("打印 (Ctrl+P)")), "print_papers")
        self.print_button.setStyleSheet("font-weight:bold")
        self.dialog_button = named(QPushButton(self.tr("选择打印机… (Ctrl+Shift+P)")), "print_with_dialog")
        self.retry_button = named(QPushButton(self.tr("重新打印")), "retry_papers")
        self.doc_buttons = QHBoxLayout()
        row.addWidget(self.doc_case)
        row.addWidget(self.print_button)
        row.addWidget(self.dialog_button)
        row.addWidget(self.retry_button)
        row.addLayout(self.doc_buttons)
        row.addStretch(1)
        outer.addLayout(row)
        self.print_status = Hint("print_status", collapse=True)
        outer.addWidget(self.print_status)
        self.print_button.clicked.connect(self.print_all)
        self.dialog_button.clicked.connect(self.print_with_dialog)
        self.retry_button.clicked.connect(lambda: self.print_all(self.last_settings))
        self._show_print_buttons(False)
        self.hide()  # no room taken until there is a case's papers to show

    def _show_print_buttons(self, shown: bool) -> None:
        for button in (self.print_button, self.dialog_button):
            button.setVisible(shown)
            button.setEnabled(shown)
        self.retry_button.hide()

    def show_case(self, saved: Submitted) -> None:
        self.case, self.paths = saved, dict(saved.papers)
        while self.doc_buttons.count():
            item = self.doc_buttons.takeAt(0)
            item.widget().deleteLater()  # type: ignore[union-attr]  # count() > 0, and the row holds only buttons
        self.doc_case.setText(self.tr("受理编号 {0} 的文件：").format(saved.number) if self.paths else "")
        titles = "和".join(DOC_TITLES[kind] for kind in self.paths)
        self.print_button.setText(self.tr("打印{0} (Ctrl+P)").format(titles))
        self._show_print_buttons(bool(self.paths))
        self.print_status.info("")
        self.setVisible(bool(self.paths))
        for kind in self.paths:
            button = named(QPushButton(f"预览{DOC_TITLES[kind]}"), f"preview_{kind}")
            button.clicked.connect(lambda _=False, k=kind: self.preview(k))
            self.doc_buttons.addWidget(button)

    def doc_button_list(self) -> list[QPushButton]:
        return [self.doc_buttons.itemAt(i).widget()  # type: ignore[misc,union-attr]  # the row holds only its buttons
                for i in range(self.doc_buttons.count())]

    def other_applicant(self, id_number: str) -> None:
        if self.paths and self.case is not None and id_number != self.case.id_number:
            self.forget()

    def forget(self) -> None:
        """清空 or a new applicant: the previous case's papers leave the screen."""
        self.paths = {}
        for button in self.doc_button_list():
            button.setEnabled(False)
        self.doc_case.setText("")
        self._show_print_buttons(False)
        self.print_status.info("")
        self.hide()
        for dialog in self.previews:
            dialog.close()
        self.previews = []

    def preview(self, kind: str) -> None:
        if kind not in self.paths or self.case is None:
            return
        dialog = PreviewDialog(self.paths[kind], self.ctx.printer, self, DOC_TITLES[kind],
                               on_result=case_print_recorder(self.ctx, self.case.case_id))
        self.previews.append(dialog)
        dialog.show()

    # -- printing every paper in one action -----------------------------------------------

    def print_all(self, settings: PrintSettings | None = None) -> None:
        """Ctrl+P: every paper of the case to the window's printer, no dialog."""
        if not self.paths or self.case is None or not self.print_button.isEnabled():
            return
        papers = [(DOC_TITLES[kind], path) for kind, path in self.paths.items()]
        chosen = papers_printer(self.settings)
        record = case_print_recorder(self.ctx, self.case.case_id)
        used: list[PrintSettings] = []  # the printer the run went to, for 重新打印

        def work() -> tuple[str, list[str]]:
            use = settings or PrintSettings(printer=chosen or printers.default_printer())
            used.append(use)
            if not use.printer and not use.output:
                return "", []
            return use.printer, print_papers(papers, use)

        def done(result: tuple[str, list[str]]) -> None:
            printer, titles = result
            self.print_button.setEnabled(True)
            if not printer and not titles:  # no default printer: the clerk picks one, once
                self.print_status.info(self.tr("本机没有默认打印机，请选择打印机"))
                self.print_with_dialog()
                return
            self.print_status.fine(self.tr("已打印：{0}（打印机 {1}）").format("、".join(titles), printer))
            record(True, "")

        def failed(error: BaseException) -> None:
            self.print_button.setEnabled(True)
            self.last_settings = used[0] if used else settings
            self.retry_button.show()
            record(False, self.print_status.text())

        self.print_button.setEnabled(False)
        self.retry_button.hide()
        self.print_status.info(self.tr("正在打印{0}…").format("、".join(t for t, _ in papers)))
        run_op(self, self.ctx, work, done, failed=failed, worker=self.ctx.printer, hint=self.print_status,
               title=self.tr("未能打印"))

    def print_with_dialog(self) -> None:
        """Ctrl+Shift+P: Qt's print dialog; the printer chosen becomes this workstation's for the papers."""
        if not self.paths:
            return
        printer = QPrinter(QPrinter.PrinterMode.HighResolution)
        chosen = papers_printer(self.settings)
        if chosen:
            printer.setPrinterName(chosen)
        dialog = QPrintDialog(printer, self)
        if dialog.exec() != QDialog.DialogCode.Accepted:
            return
        settings = PrintSettings.from_printer(printer)
        if settings.printer and not settings.output:
            remember_papers_printer(self.settings, settings.printer)
        self.print_all(settings)
