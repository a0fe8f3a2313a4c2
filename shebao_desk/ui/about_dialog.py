"""关于: version, schema version, data folder, store and log folder, selectable for support calls."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QLabel, QVBoxLayout

from shebao_desk.services.about import about
from shebao_desk.ui.widgets import named


class AboutDialog(QDialog):
    def __init__(self, store_path: str | None = None, parent=None) -> None:
        super().__init__(parent)
        self.setObjectName("about_dialog")
        self.setWindowTitle("关于")
        layout = QVBoxLayout(self)
        self.info = about(store_path)
        title, *rest = self.info.lines()
        heading = named(QLabel(title), "about_title")
        heading.setStyleSheet("font-size:16px;font-weight:bold")
        layout.addWidget(heading)
        self.details = named(QLabel("\n".join(rest)), "about_details")
        self.details.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)  # IT staff copy the folder path
        layout.addWidget(self.details)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.button(QDialogButtonBox.StandardButton.Close).setText("关闭")
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
