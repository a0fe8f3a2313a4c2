"""Field limits: one table of lengths and characters for everything that reaches the central database.

The lengths are those of the schema itself (``String(n)`` in the models, which the
migrations give PostgreSQL), so the intake, the form's ``maxLength``, the CLI and the
checks before a merge can never drift apart from what the central database accepts.
SQLite does not enforce lengths; PostgreSQL does, and refuses NUL in any text.

Text is refused when it holds what a clerk cannot see or a printer cannot print: control
and format characters (zero-width spaces and joiners, byte-order marks, bidi controls,
tag characters, line and paragraph separators), private-use characters, variation
selectors, and combining marks put on a Latin letter or on nothing (``张\u200b三`` and
``张三`` would be two people who look the same). What names under GB 18030 need stays:
every CJK character of the standard, and the middle dot of minority names (``·`` U+00B7,
and its visible look-alikes, which are punctuation, not format characters).

Names that become file names (a case number, an attachment's file name) must also match
their pattern (:data:`PATTERNS`), checked wherever they arrive from elsewhere.
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


# Every character text_problem may refuse, in one pattern: the common case is one C-speed search.
# Cc and surrogates; Cf (format: soft hyphen, Arabic number signs, ZWSP/ZWNJ/ZWJ, LRM/RLM, bidi
# embeddings and isolates, word joiner and invisible operators, BOM, interlinear annotation, Kaithi,
# Egyptian and shorthand format controls, musical symbol controls, tags); Zl and Zp; Co (private use);
# variation selectors; combining marks (allowed only after a letter of a script that needs them).
# tests/test_limits.py checks against unicodedata that no Cf, Zl, Zp or Co character escapes it.
_SUSPECT_BMP = (
    "\x00-\x1f\x7f-\x9f\xad\u0300-\u036f\u0600-\u0605\u061c\u06dd\u070f\u0890\u0891\u08e2\u180b-\u180f"
    "\u1ab0-\u1aff\u1dc0-\u1dff\u200b-\u200f\u2028-\u202e\u2060-\u206f\u20d0-\u20ff\ud800-\udfff\ue000-\uf8ff"
    "\ufe00-\ufe0f\ufe20-\ufe2f\ufeff\ufff9-\ufffb"
)
_SUSPECT_ASTRAL = ("\U000110bd\U000110cd\U00013430-\U0001343f\U0001bca0-\U0001bca3\U0001d173-\U0001d17a"
                   "\U000e0000-\U000e0fff\U000f0000-\U0010ffff")
# Two searches, not one: a class within the BMP compiles to a table (one lookup a character), a class
# reaching beyond it is tried range by range, 5x slower (#29: a push checks every text it sends). Text
# beyond the BMP is rare: the second class is tried only where a first, one-range search finds some.
_BMP_BAD = re.compile(f"[{_SUSPECT_BMP}]")
_ASTRAL = re.compile("[\U00010000-\U0010ffff]")
_ASTRAL_BAD = re.compile(f"[{_SUSPECT_ASTRAL}]")


def _suspect(text: str) -> bool:
    """Whether ``text`` holds any character :func:`text_problem` may refuse."""
    return _BMP_BAD.search(text) is not None or (
        _ASTRAL.search(text) is not None and _ASTRAL_BAD.search(text) is not None)


_VARIATION_SELECTOR = re.compile("[\u180b-\u180d\u180f\ufe00-\ufe0f\U000e0100-\U000e01ef]")


def text_problem(value: str, max_len: int | None, *, multiline: bool = False) -> str | None:
    """What is wrong with ``value`` (in Chinese), or None."""
    if max_len is not None and len(value) > max_len:
        return f"不能超过 {max_len} 个字（现为 {len(value)} 个）"
    if not _suspect(value):
        return None
    previous = ""
    for ch in value:
        problem = _char_problem(ch, previous, multiline)
        if problem:
            return problem
        previous = ch
    return None


def _char_problem(ch: str, previous: str, multiline: bool) -> str | None:
    code = f"U+{ord(ch):04X}"
    if ch == "\x00":
        return "含有空字符（NUL），请重新输入"
    if ch in BIDI_CONTROLS:
        return f"含有看不见的控制字符（{code}），请重新输入"
    category = unicodedata.category(ch)
    if category in ("Cc", "Cs") and not (multiline and ch in MULTILINE_WHITESPACE):
        return f"含有控制字符（{code}），请重新输入"
    if category in ("Cf", "Zl", "Zp"):
        return f"含有看不见的格式字符（{code}），请删除后重新输入"
    if category == "Co":
        return f"含有私用区字符（{code}），无法打印或交换，请重新输入"
    if _VARIATION_SELECTOR.fullmatch(ch):
        return f"含有变体选择符（{code}），请删除后重新输入"
    if category in ("Mn", "Mc", "Me") and _bare_or_latin(previous):
        return f"含有组合符号（{code}），请直接输入带声调的字母或删除它"
    return None


def _bare_or_latin(base: str) -> bool:
    """A combining mark's base: none, a space or punctuation, or a Latin letter (where it only disguises text)."""
    if not base or not base.isalpha():
        return True
    return unicodedata.name(base, "").startswith("LATIN")


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


# Names that become paths (a case's folder and file names, an attachment's file): their only shapes.
CASE_NUMBER = re.compile(r"[A-Za-z0-9]{2,12}-[0-9]{8}-[0-9]{4,6}")
PATTERNS: dict[tuple[str, str], tuple[re.Pattern[str], str]] = {
    ("case", "number"): (CASE_NUMBER, "受理编号应为 站点-日期-序号，如 SZ01A-20260309-0001"),
}
PATH_NAME_MAX = 200


def path_name_problem(name: str) -> str | None:
    """Why ``name`` cannot be one plain component of a path (in Chinese), or None."""
    if not name or name in (".", ".."):
        return "不能为空，也不能是 . 或 .."
    if any(ch in name for ch in "/\\:"):
        return "含有路径分隔符"
    return text_problem(name, PATH_NAME_MAX)


def _pattern_problem(table: str, name: str, value: Any) -> str | None:
    if table == "case_attachment" and name == "file_name" and isinstance(value, str):
        problem = path_name_problem(value)
        return f"附件文件名{problem}" if problem else None
    rule = PATTERNS.get((table, name))
    if rule is None or value is None:
        return None
    pattern, message = rule
    return None if isinstance(value, str) and pattern.fullmatch(value) else f"{message}（现为 {str(value)[:40]!r}）"


# The columns _pattern_problem checks, by table: a pull checks every change it receives, only these.
_PATH_COLUMNS: dict[str, tuple[str, ...]] = {"case_attachment": ("file_name",)}
for _table, _column in PATTERNS:
    _PATH_COLUMNS[_table] = (*_PATH_COLUMNS.get(_table, ()), _column)


def path_problems(table: str, values: dict[str, Any]) -> list[str]:
    """Only the pattern checks of :func:`value_problems`: for changes from central, whose schema holds the rest."""
    names = _PATH_COLUMNS.get(table)
    if names is None:
        return []
    return [p for name in names if name in values and (p := _pattern_problem(table, name, values[name]))]


@lru_cache(maxsize=None)
def _known_columns(table: str) -> tuple[frozenset[str], tuple[tuple[str, int], ...], tuple[str, ...]]:
    """The columns of ``table``, the length limits among them, and those a pattern rule checks."""
    return frozenset(_table_limits(table)), tuple((name, limit[0]) for name, limit in _table_limits(table).items()
                                                  if limit[0] is not None), _PATH_COLUMNS.get(table, ())


def value_problems(table: str, values: dict[str, Any]) -> list[str]:
    """Problems of one synced change's values against the central schema (checked before a push or merge),
    and of the names that become paths against their patterns."""
    known, lengths, patterned = _known_columns(table)
    # The common case at a push's pace (tens of thousands of changes): known columns, no character that
    # could be wrong anywhere (one search over all the texts), lengths within their limits, and each
    # patterned column (a case's number, an attachment's file name) of its shape. Anything else takes the
    # full check below.
    if values.keys() <= known and \
            not _suspect(" ".join([v for v in values.values() if v.__class__ is str])) and \
            not any(len(v) > max_len for name, max_len in lengths if (v := values.get(name)).__class__ is str) and \
            not any(_pattern_problem(table, name, values[name]) for name in patterned if name in values):
        return []
    limits = _table_limits(table)
    out = []
    for name, value in values.items():
        limit = limits.get(name)
        if limit is None:
            out.append(f"{table}.{name}: 没有这个字段")
            continue
        pattern = _pattern_problem(table, name, value)
        if pattern:
            out.append(pattern)
        elif value.__class__ is str and ((limit[0] is not None and len(value) > limit[0]) or _suspect(value)):
            problem = text_problem(value, limit[0], multiline=limit[1])
            if problem:
                out.append(f"{LABELS.get((table, name), f'{table}.{name}')}{problem}")
    return out
