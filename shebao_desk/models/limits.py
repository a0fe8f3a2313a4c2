"""Field limits: one table of lengths and characters for everything that reaches the central database.

The lengths are those of the schema itself (``String(n)`` in the models, which the
migrations give PostgreSQL), so the intake, the form's ``maxLength``, the CLI and the
checks before a merge can never drift apart from what the central database accepts.
SQLite does not enforce lengths; PostgreSQL does, and refuses NUL in any text.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache
from typing import Any

from sqlalchemy import String, Text

from shebao_desk.errors import ValidationError
from shebao_desk.models import Base

TEXT_MAX = 2000  # free text (reasons, notes): long enough for a paragraph, short enough for one printed page
# Invisible characters that reorder or hide text (the "RTL override" trick in names and addresses).
BIDI_CONTROLS = frozenset("\u200e\u200f\u061c\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
MULTILINE_WHITESPACE = frozenset("\n\r\t")

# Labels for the messages a clerk reads (fields the clerk types).
LABELS = {
    ("person", "name"): "姓名", ("person", "phone"): "联系电话", ("person", "address"): "联系地址",
    ("case", "agent_name"): "代办人姓名", ("case", "agent_relation"): "与申请人关系",
    ("case", "agent_phone"): "代办人电话", ("case", "reason"): "原因或说明",
    ("clerk", "username"): "用户名", ("clerk", "display_name"): "显示的姓名",
}


@lru_cache(maxsize=None)
def column_limit(table: str, column: str) -> tuple[int | None, bool]:
    """(maximum length or None, whether line breaks are allowed) for a text column."""
    col = Base.metadata.tables[table].columns[column]
    if isinstance(col.type, Text):
        return TEXT_MAX, True
    if isinstance(col.type, String):
        return col.type.length, False
    return None, False


def max_length(table: str, column: str) -> int:
    """For a form field's ``setMaxLength``."""
    length, _ = column_limit(table, column)
    return length or TEXT_MAX


# Cc (C0, DEL, C1), surrogates and the bidi controls, in one pattern: the common case is one C-speed search.
_ANY_BAD = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff" + "".join(sorted(BIDI_CONTROLS)) + "]")


def text_problem(value: str, max_len: int | None, *, multiline: bool = False) -> str | None:
    """What is wrong with ``value`` (in Chinese), or None."""
    if max_len is not None and len(value) > max_len:
        return f"不能超过 {max_len} 个字（现为 {len(value)} 个）"
    if _ANY_BAD.search(value) is None:
        return None
    for ch in value:
        if ch == "\x00":
            return "含有空字符（NUL），请重新输入"
        if ch in BIDI_CONTROLS:
            return f"含有看不见的控制字符（U+{ord(ch):04X}），请重新输入"
        category = unicodedata.category(ch)
        if category in ("Cc", "Cs") and not (multiline and ch in MULTILINE_WHITESPACE):
            return f"含有控制字符（U+{ord(ch):04X}），请重新输入"
    return None


def check_field(table: str, column: str, value: str, label: str | None = None) -> None:
    """Raise a clear ValidationError when ``value`` does not fit ``table.column``."""
    max_len, multiline = column_limit(table, column)
    problem = text_problem(value, max_len, multiline=multiline)
    if problem:
        name = label or LABELS.get((table, column), column)
        raise ValidationError(f"{name}{problem}", f"{table}.{column}: {problem}")


@lru_cache(maxsize=None)
def _table_limits(table: str) -> dict[str, tuple[int | None, bool]]:
    return {c.key: column_limit(table, c.key) for c in Base.metadata.tables[table].columns}


def value_problems(table: str, values: dict[str, Any]) -> list[str]:
    """Problems of one synced change's values against the central schema (checked before a push or merge)."""
    limits = _table_limits(table)
    out = []
    for name, value in values.items():
        limit = limits.get(name)
        if limit is None:
            out.append(f"{table}.{name}: 没有这个字段")
        elif value.__class__ is str and ((limit[0] is not None and len(value) > limit[0]) or _ANY_BAD.search(value)):
            problem = text_problem(value, limit[0], multiline=limit[1])
            if problem:
                out.append(f"{LABELS.get((table, name), f'{table}.{name}')}{problem}")
    return out
