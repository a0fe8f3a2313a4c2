"""Translations: Qt's own Chinese for standard dialogs, and the one way our strings are marked.

Qt's standard widgets (QMessageBox buttons, QFileDialog, QPrintDialog, context menus)
carry English source strings; ``qtbase_zh_CN.qm`` from PySide6's translations folder
turns them into Chinese. It is loaded once at start, before any window exists.

Our own strings are written in Chinese (the working language of every county) and are
marked for Qt Linguist in one way throughout: ``self.tr("…")`` inside a QObject subclass,
``QCoreApplication.translate("Context", "…")`` elsewhere. ``pyside6-lupdate`` extracts
both; a county needing another language (e.g. a Tibetan-script or English build) adds
``resources/i18n/shebao_<locale>.qm`` and it is loaded after Qt's own.
"""

from __future__ import annotations

import logging
from pathlib import Path

from PySide6.QtCore import QCoreApplication, QLibraryInfo, QLocale, QTranslator

from shebao_desk.config.resources import resource_path

log = logging.getLogger(__name__)

LOCALE = "zh_CN"


def qt_translations_dir() -> Path:
    return Path(QLibraryInfo.path(QLibraryInfo.LibraryPath.TranslationsPath))


def own_translations_dir() -> Path:
    return resource_path("i18n")


def install_translators(app: QCoreApplication, locale: str = LOCALE) -> list[QTranslator]:
    """Load Qt's and our translations for ``locale``; returns the installed translators.

    The translators are parented to the application so they live as long as it does.
    A missing file is logged, never fatal: the program then shows Qt's English.
    """
    held = getattr(app, "_shebao_translators", None)
    if held is not None:
        return held
    QLocale.setDefault(QLocale(locale))
    installed = []
    for name, folder in (("qtbase", qt_translations_dir()), ("shebao", own_translations_dir())):
        translator = QTranslator(app)
        if translator.load(f"{name}_{locale}", str(folder)):
            app.installTranslator(translator)
            installed.append(translator)
        elif name == "qtbase":
            log.warning("Qt translation %s_%s not found in %s", name, locale, folder)
    app._shebao_translators = installed  # type: ignore[attr-defined]  # ours, kept on the app it belongs to
    return installed


def translate(context: str, text: str) -> str:
    """For code outside a QObject (module-level tables, plain functions)."""
    return QCoreApplication.translate(context, text)
