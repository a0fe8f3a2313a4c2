"""Naming a widget, on its own so the start dialog can use it without the table widgets' imports."""

from __future__ import annotations

from typing import TypeVar

from PySide6.QtCore import QObject

Q = TypeVar("Q", bound=QObject)


def named(widget: Q, name: str) -> Q:
    """``widget`` with its objectName (what tests and style sheets find it by). Qt takes objectName=…
    as a constructor keyword too, but PySide6's stubs list only a class's own properties there."""
    widget.setObjectName(name)
    return widget
