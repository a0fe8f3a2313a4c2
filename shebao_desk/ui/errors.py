"""The one place where an exception becomes a message the clerk reads."""

from __future__ import annotations

import logging

from PySide6.QtWidgets import QMessageBox, QWidget

from shebao_desk.errors import ShebaoError
from shebao_desk.failure import explain, masked, trace_text
from shebao_desk.ui.geometry import fit_title

log = logging.getLogger(__name__)

# Tests replace this to read what would have been shown without a modal dialog.
_sink = None


def clerk_message(error: BaseException) -> str:
    """The same line the command line prints for this error."""
    return explain(error)


def log_failure(error: BaseException, what: str = "operation") -> None:
    """The log's half of the contract: a clerk's error as a warning, anything else with its traceback (masked)."""
    if isinstance(error, ShebaoError):
        log.warning("%s failed: %s: %s", what, type(error).__name__, masked(str(error.detail)))
        return
    log.error("%s failed\n%s", what, trace_text(error))


def message_box(parent: QWidget | None, text: str, title: str = "无法完成") -> QMessageBox:
    """The warning box, wide enough for its whole title; one line per problem when there are several."""
    box = QMessageBox(QMessageBox.Icon.Warning, title, text, QMessageBox.StandardButton.Ok, parent)
    fit_title(box)
    return box


def show_message(parent: QWidget | None, text: str, title: str = "无法完成") -> None:
    """Show the clerk's line in a dialog (tests read it through ``_sink``); logging is the caller's."""
    if _sink is not None:
        _sink(title, text)
    else:
        message_box(parent, text, title).exec()


def report_error(parent: QWidget | None, error: BaseException, title: str = "无法完成") -> str:
    """For failures outside an operation: log (masked) and show, as ``ui.ops.present_failure`` does."""
    log_failure(error)
    text = clerk_message(error)
    show_message(parent, text, title)
    return text
