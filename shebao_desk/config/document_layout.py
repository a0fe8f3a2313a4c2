"""The documents' layout and wording, from ``resources/documents/layout.toml``."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from typing import Annotated

from pydantic import AfterValidator, ConfigDict, Field, StringConstraints, create_model

from shebao_desk.config.data_models import FileModel, check_placeholders, validate
from shebao_desk.config.resources import load_toml, require, resource_path

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


Text = Annotated[str, StringConstraints(strip_whitespace=False, pattern=r"\S")]  # not blank
Size = Annotated[float, Field(ge=4, le=60)]


def _texts(name: str, required: tuple[str, ...], defaults: dict[str, str] | None = None,
           **tables: Any) -> type[FileModel]:
    """A table of wording: every key a non-blank text; ``defaults`` may be left out of the file."""
    fields: dict[str, Any] = {k: (Text, ...) for k in required}
    fields.update({k: (Text, v) for k, v in (defaults or {}).items()})
    fields.update(tables)
    return create_model(name, __base__=FileModel, **fields)


class FontsTable(FileModel):
    path: str
    candidates: list[str]
    fallbacks: list[str]
    install_hint: str = ""


class PageTable(FileModel):
    model_config = ConfigDict(extra="forbid", strict=False, frozen=True)  # 10 or 10.5 pt
    margin_mm: Size
    font_size: Size
    large_font_size: Size
    title_size: Size
    small_size: Size
    receipt_header_size: Size | None = None  # the font size when left out
    signature_blank_pt: Annotated[float, Field(ge=80, le=300, description="签字要有地方写")] = 130
    seal_mm: Size = 42


# A business's notice may name the days of a temporary loss: {days} (site.toml temp_loss_days).
NoticeText = Annotated[str, AfterValidator(lambda text: check_placeholders(text, ("days",)))]

FormLabels = _texts("FormLabels", FORM_LABELS, {"outlet": "领卡银行"})
BusinessFormTable = _texts(
    "BusinessFormTable", ("title", "business_row", "section_applicant", "section_agent", "section_reason",
                          "section_materials", "photo", "no_photo", "declaration", "applicant_signature",
                          "clerk_signature", "date"),
    {"reviewer_signature": "审核人签字：", "seal": "受理机构（业务专用章）", "clerk_line": "经办人",
     "guardian_signature": "监护人签字："},
    subtitle=(str, ""), labels=(FormLabels, ...))
NoticeTable = _texts(
    "NoticeTable", ("title", "intro", "business", "applicant", "mode", "materials", "presented", "missing",
                    "next", "missing_next", "window", "phone", "hours", "owner", "outlet"), {"optional": "有则提交"})
ReceiptTable = _texts(
    "ReceiptTable", ("title", "case_number", "business", "applicant", "accepted_at", "promised", "promised_days",
                     "done_now", "provisional", "provisional_note", "pickup", "clerk", "fee", "notices_title", "keep"),
    {"window_phone": "窗口电话", "loss_effective": "挂失生效时间", "loss_expires": "临时挂失有效期至",
     "where": "办理地点", "keep_no_card": "请妥善保管本回执，以备查询。", "loss_functions": "已挂失的功能",
     "loss_liability": "挂失生效前（或挂失失效后）造成的经济损失由持卡人承担。",
     "financial_elsewhere": "金融功能请拨打发卡银行客服电话另行挂失。",
     "social_elsewhere": "社会保障功能请拨打 12333 另行挂失。", "new_card_number": "新卡卡号",
     "temp_card_number": "临时卡卡号", "temp_card_until": "临时卡有效期至"},
    notices=(dict[str, NoticeText], ...))


class LayoutFile(FileModel):
    """resources/documents/layout.toml"""

    fonts: FontsTable
    page: PageTable
    business_form: BusinessFormTable  # type: ignore[valid-type]  # built by create_model
    notice: NoticeTable  # type: ignore[valid-type]  # built by create_model
    receipt: ReceiptTable  # type: ignore[valid-type]  # built by create_model


def parse_layout(path: Path) -> Layout:
    f = validate(path, LayoutFile, load_toml(path))
    page = f.page.model_dump()
    if page["receipt_header_size"] is None:
        page["receipt_header_size"] = page["font_size"]
    return Layout(path, f.fonts.model_dump(), {k: float(v) for k, v in page.items()}, _dump(f.business_form),
                  _dump(f.notice), _dump(f.receipt))


def _dump(table: Any) -> dict[str, Any]:  # the wording tables are built by create_model: Any to mypy
    return dict(table.model_dump())


@lru_cache(maxsize=1)
def load_layout() -> Layout:
    return parse_layout(resource_path("documents", "layout.toml"))


@lru_cache(maxsize=1)
def ethnicity_names() -> dict[str, str]:
    path = resource_path("ethnicities.toml")
    return dict(require(path, load_toml(path), "ethnicities", dict))
