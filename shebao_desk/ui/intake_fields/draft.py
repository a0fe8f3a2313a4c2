"""The intake draft: one JSON object the field groups write into and read back from.

Its format is the one the form has always written, so a draft left by an earlier version restores::

    {"business": code, "mode": mode, "ethnicity": code, "text": {field: text, …},
     "materials": [code, …], "outlet": name, "large_print": bool,
     "photo": base64 JPEG or null, "origins": {field: "id_card" | "ss_card"}}

Each group writes only its own keys (and its own fields under "text") and reads back only what it
recognises, so an unknown or damaged value is skipped, never an error.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

from PySide6.QtWidgets import QComboBox, QLineEdit

Draft = dict[str, Any]


class FieldGroup(Protocol):
    """What the form asks of each of its groups."""

    def save_draft(self, draft: Draft) -> None: ...

    def restore_draft(self, draft: Draft) -> None: ...

    def clear(self) -> None: ...


def put_texts(draft: Draft, fields: Mapping[str, QLineEdit]) -> None:
    draft.setdefault("text", {}).update({name: field.text() for name, field in fields.items()})


def take_texts(draft: Mapping[str, Any], fields: Mapping[str, QLineEdit]) -> None:
    texts = draft.get("text")
    if not isinstance(texts, dict):
        return
    for name, field in fields.items():
        value = texts.get(name)
        if isinstance(value, str):
            field.setText(value)


def choose_data(combo: QComboBox, value: object) -> None:
    """Select the entry whose data is ``value``, if there is one."""
    index = combo.findData(value)
    if index >= 0:
        combo.setCurrentIndex(index)


def any_text(fields: Mapping[str, QLineEdit]) -> bool:
    return any(field.text().strip() for field in fields.values())
