"""What one workstation remembers for its clerks: the folders last used, the printer for the papers.

Kept in the workstation's own settings file beside its store (``geometry.desk_settings``), like the
window geometry, so two workstations sharing one Windows account keep their own.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QSettings

from shebao_desk.ui.geometry import desk_settings

PRINTER_KEY = "printer/papers"


def settings_for(store_path: Path | None) -> QSettings:
    return desk_settings(store_path.parent if store_path is not None else None)


def remembered_folder(settings: QSettings, purpose: str) -> Path | None:
    value = settings.value(f"folders/{purpose}")
    return Path(value) if isinstance(value, str) and value and Path(value).is_dir() else None


def remember_folder(settings: QSettings, purpose: str, folder: Path) -> None:
    settings.setValue(f"folders/{purpose}", str(folder))
    settings.sync()


def papers_printer(settings: QSettings) -> str:
    """The printer the clerk chose last in the print dialog (Ctrl+Shift+P); "" = the system's default."""
    value = settings.value(PRINTER_KEY, "")
    return value if isinstance(value, str) else ""


def remember_papers_printer(settings: QSettings, name: str) -> None:
    settings.setValue(PRINTER_KEY, name)
    settings.sync()
