"""Declarative shapes for the data files a county edits, validated by pydantic v2.

Each file's shape is declared once as a model (``FileModel``); ``validate`` turns pydantic's
first error into the one Chinese message the clerk and the administrator read, naming the file
and the field (``数据文件 site.toml 有误：字段 “card.temp_loss_days” 应为整数``), and
``json_schema`` exports the same shape for editors and the settings page.
"""

from __future__ import annotations

import string
from pathlib import Path
from collections.abc import Iterable, Mapping
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError

from shebao_desk.errors import ResourceError

M = TypeVar("M", bound=BaseModel)


class FileModel(BaseModel):
    """A table in a data file: no unknown keys (a misspelt key is an error, not a silent default),
    no coercion (``"7"`` is not 7, ``true`` is not 1)."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


_KINDS = {
    "missing": "缺少",
    "int_type": "应为整数", "int_parsing": "应为整数", "float_type": "应为数字", "float_parsing": "应为数字",
    "string_type": "应为文字", "bool_type": "应为 true 或 false", "list_type": "应为列表", "tuple_type": "应为列表",
    "dict_type": "应为表", "model_type": "应为表", "model_attributes_type": "应为表",
    "extra_forbidden": "是未知的字段（请检查拼写）",
    "literal_error": "只能是 {expected}", "enum": "只能是 {expected}",
    "string_pattern_mismatch": "的格式不对", "string_too_short": "不能为空",
    "greater_than": "应大于 {gt}", "greater_than_equal": "应不小于 {ge}",
    "less_than_equal": "应不大于 {le}", "too_short": "至少要有 {min_length} 项",
}


def field_label(loc: tuple[Any, ...]) -> str:
    """("business", 0, "days") → "business[0].days"."""
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def message(error: Mapping[str, Any]) -> str:
    label = field_label(tuple(error["loc"]))
    if error["type"] == "value_error":  # our own validators raise the whole Chinese sentence
        text = str(error.get("ctx", {}).get("error", error["msg"]))
        return f"{label}：{text}" if label else text
    template = _KINDS.get(error["type"])
    if template is None:
        return f"字段 “{label}” 有误（{error['msg']}）"
    if error["type"] == "missing":
        return f"缺少字段 “{label}”"
    return f"字段 “{label}” " + template.format(**error.get("ctx", {}))


def validate(path: Path, model: type[M], data: Any) -> M:
    """The file's data as ``model``, or a ResourceError with the first problem in Chinese."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise ResourceError(path, message(exc.errors()[0])) from None


def json_schema(model: type[BaseModel]) -> dict[str, Any]:
    return model.model_json_schema()


def check_placeholders(text: str, allowed: Iterable[str]) -> str:
    """``text`` with only the ``{name}`` placeholders the program fills in; else the sentence that says so."""
    allowed = tuple(allowed)
    try:
        names = {name for _, name, _, _ in string.Formatter().parse(text) if name is not None}
    except ValueError:
        names = {"?"}
    unknown = sorted(n for n in names if n not in allowed)
    if unknown:
        usable = "、".join("{" + a + "}" for a in allowed) or "无"
        raise ValueError(f"文字中的 {{{unknown[0]}}} 不能使用（可用：{usable}；要写花括号本身请写两遍）")
    return text
