"""The intake page's papers row: the papers of the case just saved, one button each, until the next
applicant or 清空. The row names the case, so no one hands over the previous person's papers."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QWidget

from shebao_desk.services.intake_service import Submitted
from shebao_desk.ui.printing import PreviewDialog, case_print_recorder
from shebao_desk.ui.widgets import named

if TYPE_CHECKING:
    from shebao_desk.ui.context import AppContext

DOC_TITLES = {"business_form": "业务办理表", "receipt": "受理回执", "notice": "一次性告知单"}


class CasePapers(QWidget):
    def __init__(self, ctx: AppContext) -> None:
        super().__init__()
        self.ctx = ctx
        self.case: Submitted | None = None
        self.paths: dict[str, Path] = {}  # kind -> PDF of the case shown; {} once it is forgotten
        self.previews: list[PreviewDialog] = []
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        self.doc_case = named(QLabel(), "doc_case")
        self.doc_buttons = QHBoxLayout()
        row.addWidget(self.doc_case)
        row.addLayout(self.doc_buttons)

    def show_case(self, saved: Submitted) -> None:
        self.case, self.paths = saved, dict(saved.papers)
        while self.doc_buttons.count():
            item = self.doc_buttons.takeAt(0)
            item.widget().deleteLater()  # type: ignore[union-attr]  # count() > 0, and the row holds only buttons
        self.doc_case.setText(self.tr("受理编号 {0} 的文件：").format(saved.number) if self.paths else "")
        for kind in self.paths:
            button = named(QPushButton(f"预览/打印{DOC_TITLES[kind]}"), f"preview_{kind}")
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
