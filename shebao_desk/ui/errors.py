"""The one place where an exception becomes a message the clerk reads."""

from __future__ import annotations

import logging

from PySide6.QtWidgets import QMessageBox, QWidget

from shebao_desk.errors import ShebaoError

log = logging.getLogger(__name__)

# Tests replace this to read what would have been shown without a modal dialog.
_sink = None


def clerk_message(error: BaseException) -> str:
    """The same line the command line prints for this error."""
    from shebao_desk.failure import explain
    return explain(error)


def report_error(parent: QWidget | None, error: BaseException, title: str = "无法完成") -> str:
    text = clerk_message(error)
    if isinstance(error, ShebaoError):
        log.warning("%s: %s", type(error).__name__, error.detail)
    else:
        from shebao_desk.failure import trace_text
        log.error("unexpected error:\n%s", trace_text(error))
    if _sink is not None:
        _sink(title, text)
    else:
        QMessageBox.warning(parent, title, text)
    return text
