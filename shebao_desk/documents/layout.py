"""The documents' layout and wording, from ``resources/documents/layout.toml``."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from shebao_desk.errors import ResourceError
from shebao_desk.resources import load_toml, require, resource_path

FORM_LABELS = ("case_number", "site", "window", "name", "sex", "ethnicity", "birth_date", "id_number",
               "card_number", "phone", "address", "agent_name", "agent_id_number", "agent_relation",
               "agent_phone", "mode", "accepted_at", "clerk", "fee")


@dataclass(frozen=True)
class Layout:
    path: Path
    fonts: dict[str, Any]
    page: dict[str, float]
    form: dict[str, Any]
    notice: dict[str, str]
    receipt: dict[str, Any]


def _texts(path: Path, table: dict, keys: tuple[str, ...], where: str) -> None:
    for key in keys:
        value = require(path, table, key, str, where)
        if not value.strip():
            raise ResourceError(path, f"{where}.{key} 不能为空")


def parse_layout(path: Path) -> Layout:
    data = load_toml(path)
    fonts = require(path, data, "fonts", dict)
    require(path, fonts, "path", str, "fonts")
    for key in ("candidates", "fallbacks"):
        if not all(isinstance(p, str) for p in require(path, fonts, key, list, "fonts")):
            raise ResourceError(path, f"fonts.{key} 应为文件路径的列表")
    page = require(path, data, "page", dict)
    page.setdefault("receipt_header_size", page.get("font_size", 10.5))
    page.setdefault("signature_blank_pt", 130)
    page.setdefault("seal_mm", 42)
    if not 80 <= page["signature_blank_pt"] <= 300:
        raise ResourceError(path, "page.signature_blank_pt 应在 80—300 磅之间（签字要有地方写）")
    for key in ("margin_mm", "font_size", "large_font_size", "title_size", "small_size", "receipt_header_size",
                "seal_mm"):
        value = require(path, page, key, (int, float), "page")
        if not 4 <= value <= 60:
            raise ResourceError(path, f"page.{key} = {value} 超出合理范围")
    form = require(path, data, "business_form", dict)
    _texts(path, form, ("title", "business_row", "section_applicant", "section_agent", "section_reason",
                        "section_materials", "photo", "no_photo", "declaration", "applicant_signature",
                        "clerk_signature", "date"), "business_form")
    form.setdefault("reviewer_signature", "审核人签字：")
    form.setdefault("seal", "受理机构（业务专用章）")
    form.setdefault("clerk_line", "经办人")
    _texts(path, require(path, form, "labels", dict, "business_form"), FORM_LABELS, "business_form.labels")
    notice = require(path, data, "notice", dict)
    _texts(path, notice, ("title", "intro", "business", "applicant", "mode", "materials", "presented", "missing",
                          "next", "missing_next", "window", "phone", "hours", "owner", "outlet"), "notice")
    notice.setdefault("optional", "有则提交")
    receipt = require(path, data, "receipt", dict)
    _texts(path, receipt, ("title", "case_number", "business", "applicant", "accepted_at", "promised",
                           "promised_days", "done_now", "provisional", "provisional_note", "pickup", "clerk", "fee", "notices_title", "keep"), "receipt")
    for key, default in (("window_phone", "窗口电话"), ("loss_effective", "挂失生效时间"),
                         ("loss_expires", "临时挂失有效期至"), ("where", "办理地点")):
        receipt.setdefault(key, default)
    require(path, receipt, "notices", dict, "receipt")
    return Layout(path, fonts, {k: float(v) for k, v in page.items()}, form, notice, receipt)


@lru_cache(maxsize=1)
def load_layout() -> Layout:
    return parse_layout(resource_path("documents", "layout.toml"))


@lru_cache(maxsize=1)
def ethnicity_names() -> dict[str, str]:
    path = resource_path("ethnicities.toml")
    return dict(require(path, load_toml(path), "ethnicities", dict))
