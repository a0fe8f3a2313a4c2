"""指南: the card usage guide and service flows (Article 8), shown and printable."""

from __future__ import annotations

from html import escape

from PySide6.QtWidgets import QHBoxLayout, QPushButton, QTextBrowser, QVBoxLayout, QWidget

from shebao_desk.config.service_guide import load_guide
from shebao_desk.documents.sheets import guide_pdf
from shebao_desk.services.case_files import case_folder
from shebao_desk.ui.printing import generate_and_preview
from shebao_desk.ui.widgets import Hint, named


class GuidePage(QWidget):
    def __init__(self, ctx) -> None:
        super().__init__()
        self.ctx = ctx
        guide = load_guide()
        layout = QVBoxLayout(self)
        self.view = named(QTextBrowser(), "guide_view")
        html = [f"<h2>{escape(guide.title)}</h2>"]
        html += [f"<h3>{escape(h)}</h3><p>{escape(t)}</p>" for h, t in guide.sections]
        html.append(self.tr("<h2>服务流程</h2>"))
        for title, steps in guide.flows:
            html.append(f"<h3>{escape(title)}</h3><ol>" + "".join(f"<li>{escape(s)}</li>" for s in steps) + "</ol>")
        self.view.setHtml("".join(html))
        layout.addWidget(self.view, 1)
        row = QHBoxLayout()
        self.hint = Hint("guide_hint")
        printable = named(QPushButton(self.tr("打印（大字版）…")), "print_guide")
        printable.clicked.connect(self.print_guide)
        row.addWidget(self.hint, 1)
        row.addWidget(printable)
        layout.addLayout(row)

    def print_guide(self) -> None:
        path = case_folder(self.ctx.store.path, "guide") / "社会保障卡使用指南.pdf"

        def make():
            path.parent.mkdir(parents=True, exist_ok=True)
            guide_pdf(load_guide(), path)
            return path

        generate_and_preview(self.ctx, self, make, self.tr("使用指南"), self.hint)
