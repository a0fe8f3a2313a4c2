"""Windows that fit the clerk's screen (1366×768, 1280×720 laptops) and remember where they were.

Every top-level window asks for its preferred size *capped at the screen's available
area*; what does not fit scrolls. Geometry and the maximised state are kept per
workstation in an INI file beside the workstation's database (QSettings), so two
workstations sharing one Windows account still keep their own layout.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QByteArray, QSettings, QSize
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QGridLayout, QSizePolicy, QSpacerItem, QWidget

SETTINGS_NAME = "desk-settings.ini"
MARGIN = 16  # room for the frame the window manager adds


def available_size(widget: QWidget | None = None) -> QSize:
    screen = (widget.screen() if widget is not None else None) or QGuiApplication.primaryScreen()
    return screen.availableGeometry().size() if screen is not None else QSize(1280, 720)


def fit_size(preferred: QSize, widget: QWidget | None = None) -> QSize:
    room = available_size(widget)
    return QSize(min(preferred.width(), room.width() - MARGIN), min(preferred.height(), room.height() - 2 * MARGIN))


def fit_to_screen(widget: QWidget, width: int, height: int) -> None:
    """Resize to (width, height) or the screen's available area, whichever is smaller."""
    widget.resize(fit_size(QSize(width, height), widget))


TITLE_BAR_EXTRA = 150  # the window manager's icon and buttons beside the title


def title_width(widget: QWidget) -> int:
    """What the window's whole title needs: Qt adds " — " and the program's name after it."""
    name = QGuiApplication.applicationDisplayName()
    title = widget.windowTitle() + (f" — {name}" if name and name not in widget.windowTitle() else "")
    return widget.fontMetrics().horizontalAdvance(title) + TITLE_BAR_EXTRA


def fit_title(widget: QWidget) -> None:
    """A message box is as narrow as its text; widen it so the title bar shows the whole title
    (it was cut to “未能受理…口工作台”), within the screen."""
    layout = widget.layout()
    if not isinstance(layout, QGridLayout):
        return
    width = min(title_width(widget), available_size(widget).width() - 2 * MARGIN)
    spacer = QSpacerItem(width, 0, QSizePolicy.Policy.Minimum, QSizePolicy.Policy.Minimum)
    layout.addItem(spacer, layout.rowCount(), 0, 1, layout.columnCount())


def desk_settings(folder: Path | None) -> QSettings:
    if folder is None:
        return QSettings(QSettings.Format.IniFormat, QSettings.Scope.UserScope, "shebao-desk", "desk")
    return QSettings(str(folder / SETTINGS_NAME), QSettings.Format.IniFormat)


def restore_geometry(widget: QWidget, settings: QSettings, key: str) -> bool:
    """Put ``widget`` back where it was; False when nothing (usable) was stored."""
    value = settings.value(f"geometry/{key}")
    if not isinstance(value, (QByteArray, bytes)) or not widget.restoreGeometry(QByteArray(value)):
        return False
    # A geometry saved on a larger monitor must not push the buttons off this one.
    if not widget.isMaximized():
        room = available_size(widget)
        if widget.width() > room.width() or widget.height() > room.height():
            fit_to_screen(widget, widget.width(), widget.height())
    return True


def remember_geometry(widget: QWidget, settings: QSettings, key: str) -> None:
    settings.setValue(f"geometry/{key}", widget.saveGeometry())
    settings.setValue(f"maximized/{key}", widget.isMaximized())
    settings.sync()


def was_maximized(settings: QSettings, key: str) -> bool:
    value = settings.value(f"maximized/{key}", False)
    return value in (True, "true", "1", 1)
