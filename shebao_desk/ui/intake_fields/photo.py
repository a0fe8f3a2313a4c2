"""The applicant's photo: the picture shown, where it comes from, its check, and whether one is on file."""

from __future__ import annotations

import base64

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QPixmap
from PySide6.QtWidgets import QLabel, QPushButton, QVBoxLayout, QWidget

from shebao_desk.ui.intake_fields.draft import Draft
from shebao_desk.ui.widgets import Hint, named


class PhotoField(QWidget):
    """The photo beside the applicant's fields. The page fills it from a source (today the import
    button's file; another source adds its button with :meth:`add_source`); the JPEG is already
    normalised (services/photo.py) when it arrives here."""

    changed = Signal()

    def __init__(self) -> None:
        super().__init__()
        self.jpeg: bytes | None = None
        self._on_file = ""  # the ID number whose stored photo the store holds (looked up)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.view = named(QLabel(self.tr("无照片"), alignment=Qt.AlignmentFlag.AlignCenter), "photo_view")
        self.view.setFixedSize(110, 135)
        self.view.setStyleSheet("border:1px solid #999")
        self.sources = QVBoxLayout()
        self.photo_button = named(QPushButton(self.tr("导入照片…")), "photo_button")
        self.sources.addWidget(self.photo_button)
        self.photo_hint = Hint("photo_hint")
        layout.addWidget(self.view)
        layout.addLayout(self.sources)
        layout.addWidget(self.photo_hint)
        layout.addStretch(1)

    def add_source(self, button: QPushButton) -> None:
        """Another way to take the photo (a watched folder, a camera): its button under the import one."""
        self.sources.addWidget(button)

    def set_photo(self, jpeg: bytes | None, warnings: list[str] | None = None) -> None:
        self.jpeg = jpeg
        if jpeg:
            pixmap = QPixmap()
            pixmap.loadFromData(jpeg, "JPEG")
            self.view.setPixmap(pixmap.scaled(self.view.size(), Qt.AspectRatioMode.KeepAspectRatio,
                                              Qt.TransformationMode.SmoothTransformation))
        else:
            self.view.setPixmap(QPixmap())
            self.view.setText(self.tr("无照片"))
        if warnings:
            self.photo_hint.problem("；".join(warnings))
        else:
            self.photo_hint.fine(self.tr("照片符合标准") if jpeg else "")
        self.changed.emit()

    def note_on_file(self, id_number: str, has_photo: bool) -> None:
        """What the look-up found: this person's photo is (or is not) on file already."""
        self._on_file = id_number if has_photo else ""

    def covers(self, id_number: str) -> bool:
        """A photo for this applicant: imported now, or on file from an earlier business."""
        return self.jpeg is not None or (bool(id_number) and self._on_file == id_number)

    # -- the draft -------------------------------------------------------------------

    def save_draft(self, draft: Draft) -> None:
        draft["photo"] = base64.b64encode(self.jpeg).decode() if self.jpeg else None

    def restore_draft(self, draft: Draft) -> None:
        if draft.get("photo"):
            try:
                self.set_photo(base64.b64decode(draft["photo"]))
            except (ValueError, TypeError):  # not base64 (binascii.Error is a ValueError): no photo
                pass

    def clear(self) -> None:
        self._on_file = ""
        self.set_photo(None)
