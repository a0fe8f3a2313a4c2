"""The one place where an exception becomes a message the clerk reads."""

from __future__ import annotations

import logging

from PySide6.QtWidgets import QMessageBox, QWidget

from shebao_desk.errors import ShebaoError

log = logging.getLogger(__name__)

# Tests replace this to read what would have been shown without a modal dialog.
_sink = None


def clerk_message(error: BaseException) -> str:
    if isinstance(error, ShebaoError):
        return error.message
    return "发生了意外错误，操作未完成，数据未改变。请重试；如反复出现，请联系管理员并提供日志。"


def report_error(parent: QWidget | None, error: BaseException, title: str = "无法完成") -> str:
    text = clerk_message(error)
    if isinstance(error, ShebaoError):
        log.warning("%s: %s", type(error).__name__, error.detail)
    else:
        log.error("unexpected error", exc_info=(type(error), error, error.__traceback__))
    if _sink is not None:
        _sink(title, text)
    else:
        QMessageBox.warning(parent, title, text)
    return text
