"""Choosing a file: Qt's dialog in Chinese, opening where the clerk's files are.

On Linux (UOS, Kylin, Debian) Qt's own dialog is used, so it is the same everywhere and fully
Chinese: its labels come from Qt's translation and ours (resources/i18n/shebao_zh_CN.ts fills what
Qt's lacks), and the date column is written the Chinese way (the PC's locale may be ``C``). Windows
keeps its native dialog, which speaks the system's language. The dialog opens in the folder the
caller names (the photo station's folder, the last one used, 图片 or 文档), never the program's own.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from PySide6.QtCore import QIdentityProxyModel, QLocale, QModelIndex, QPersistentModelIndex, QStandardPaths, Qt
from PySide6.QtWidgets import QFileDialog, QFileSystemModel, QWidget

DATE_COLUMN = 3  # QFileSystemModel: name, size, type, date modified


class ChineseDates(QIdentityProxyModel):
    """The date column as 2026-12-05 19:06 (QFileSystemModel writes it in the system locale)."""

    def data(self, index: QModelIndex | QPersistentModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        model = self.sourceModel()
        if role == Qt.ItemDataRole.DisplayRole and index.column() == DATE_COLUMN and isinstance(model, QFileSystemModel):
            when = model.lastModified(self.mapToSource(index))
            return QLocale().toString(when, "yyyy-MM-dd HH:mm")
        return super().data(index, role)


def standard_folder(kind: QStandardPaths.StandardLocation) -> Path:
    """图片 / 文档 of this user, else the home folder."""
    found = QStandardPaths.writableLocation(kind)
    return Path(found) if found and Path(found).is_dir() else Path.home()


def first_folder(candidates: Iterable[Path | str | None]) -> Path:
    """The first of ``candidates`` that is an existing folder, else the home folder."""
    for candidate in candidates:
        if candidate and Path(candidate).expanduser().is_dir():
            return Path(candidate).expanduser()
    return Path.home()


def make_dialog(parent: QWidget | None, title: str, folder: Path, name_filter: str, *,
                save: bool = False, suggested: str = "") -> QFileDialog:
    dialog = QFileDialog(parent, title, str(folder), name_filter)
    dialog.setAcceptMode(QFileDialog.AcceptMode.AcceptSave if save else QFileDialog.AcceptMode.AcceptOpen)
    dialog.setFileMode(QFileDialog.FileMode.AnyFile if save else QFileDialog.FileMode.ExistingFile)
    if sys.platform != "win32":
        dialog.setOption(QFileDialog.Option.DontUseNativeDialog, True)
        dialog.setProxyModel(ChineseDates(dialog))
    if suggested:
        dialog.selectFile(suggested)
    return dialog


def open_file(parent: QWidget | None, title: str, folder: Path, name_filter: str) -> Path | None:
    dialog = make_dialog(parent, title, folder, name_filter)
    if not dialog.exec() or not dialog.selectedFiles():
        return None
    return Path(dialog.selectedFiles()[0])


def save_file(parent: QWidget | None, title: str, folder: Path, name_filter: str, suggested: str) -> Path | None:
    dialog = make_dialog(parent, title, folder, name_filter, save=True, suggested=suggested)
    if not dialog.exec() or not dialog.selectedFiles():
        return None
    return Path(dialog.selectedFiles()[0])
