"""The business catalogue (DOMAIN.md §3), loaded from ``resources/businesses.toml``.

The rules of *what* to bring live in that data file; this module only knows the
shape of it and answers "what is still missing for this applicant?".
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from shebao_desk.errors import ResourceError
from shebao_desk.resources import load_toml, require, resource_path


class Mode(enum.StrEnum):
    SELF = "self"
    AGENT = "agent"
    GUARDIAN = "guardian"

    @property
    def label(self) -> str:
        return {"self": "本人办理", "agent": "他人代办", "guardian": "监护人代办"}[self.value]


class BusinessCode(enum.StrEnum):
    """The businesses the program's rules know (each has its effect in ``card_effects.EFFECTS``).

    The data file must define each and may not invent others: a business needs rules, not only
    a list of papers. Adding one = an entry here, its [[business]] in businesses.toml, its effect.
    """

    APPLY = "apply"
    ACTIVATE = "activate"
    TEMP_LOSS = "temp_loss"
    FORMAL_LOSS = "formal_loss"
    LIFT_LOSS = "lift_loss"
    REISSUE = "reissue"
    REPLACE = "replace"
    PIN_RESET = "pin_reset"
    PIN_CHANGE = "pin_change"
    INFO_CHANGE = "info_change"
    CANCEL = "cancel"


BUSINESS_CODES = tuple(code.value for code in BusinessCode)

# What the intake form shows for a business, declared in businesses.toml (all default to false).
FORM_FLAGS = ("asks_reason", "pin_pad", "loss_time", "changes_info")


FEE_COLLECTORS = {"bank": "由发卡银行收取", "window": "由本窗口收取"}


@dataclass(frozen=True)
class Reason:
    text: str
    fee: int


@dataclass(frozen=True)
class Minors:
    """Children apply through a guardian; many have no ID card yet (DOMAIN.md §3)."""

    guardian_age: int = 16
    child_id_documents: tuple[str, ...] = ("household_register",)
    photo_exempt_age: int = 0


@dataclass(frozen=True)
class Business:
    code: str
    name: str
    days: int
    fee: int
    modes: tuple[Mode, ...]
    materials: dict[Mode, tuple[str, ...]]
    optional: frozenset[str]
    next_step: str
    fee_collector: str = "window"
    reasons: tuple[Reason, ...] = ()
    pickup: bool = False
    asks_reason: bool = False  # the form asks why (办理原因)
    pin_pad: bool = False  # the holder types a PIN on the pad; the business writes to the chip
    loss_time: bool = False  # the form asks when the loss took effect
    changes_info: bool = False  # the form shows the fields to change

    def fee_for(self, reason: str) -> int:
        """The fee for this reason (the reason's own, else the business's)."""
        for r in self.reasons:
            if r.text == reason.strip():
                return r.fee
        return self.fee

    def fee_text(self, fee: int) -> str:
        """“20 元（工本费，由发卡银行收取）” — who collects, so the window never seems to."""
        if fee == 0:
            return "免费"
        return f"{fee} 元（工本费，{FEE_COLLECTORS[self.fee_collector]}）"

    def required(self, mode: Mode) -> tuple[str, ...]:
        if mode not in self.materials:
            raise KeyError(mode)
        return self.materials[mode]

    def missing(self, mode: Mode, presented: set[str] | frozenset[str],
                waived: set[str] | frozenset[str] = frozenset()) -> list[str]:
        """Required materials not presented, in the catalogue's order (``waived``: not needed for this person)."""
        return [m for m in self.required(mode) if m not in presented and m not in self.optional and m not in waived]


@dataclass(frozen=True)
class Catalogue:
    materials: dict[str, str]
    businesses: dict[str, Business]
    minors: Minors = Minors()

    def __getitem__(self, code: str) -> Business:
        return self.businesses[code]

    def __iter__(self):
        return iter(self.businesses.values())

    def material_name(self, code: str) -> str:
        return self.materials[code]

    def waived(self, age: int | None, presented: set[str] | frozenset[str]) -> frozenset[str]:
        """Materials a child need not bring: the ID card when the 户口簿 stands in, a young child's photo."""
        if age is None:
            return frozenset()
        out = set()
        m = self.minors
        if age < m.guardian_age and all(d in presented for d in m.child_id_documents):
            out |= {"id_original", "id_copy"}
        if age <= m.photo_exempt_age:
            out.add("photo")
        return frozenset(out)


def parse_catalogue(path: Path) -> Catalogue:
    data = load_toml(path)
    materials = require(path, data, "materials", dict)
    for code, name in materials.items():
        if not isinstance(name, str) or not name.strip():
            raise ResourceError(path, f"材料 “{code}” 没有名称")
    businesses: dict[str, Business] = {}
    for i, entry in enumerate(require(path, data, "business", list)):
        where = f"business[{i}]"
        code = require(path, entry, "code", str, where)
        where = f"业务 {code}"
        if code not in BUSINESS_CODES:
            raise ResourceError(path, f"未知的业务代码 “{code}”（可用：{', '.join(BUSINESS_CODES)}）")
        if code in businesses:
            raise ResourceError(path, f"业务 “{code}” 重复定义")
        days = require(path, entry, "days", int, where)
        fee = require(path, entry, "fee", (int, float), where)
        if days < 0 or fee < 0:
            raise ResourceError(path, f"{where} 的时限或收费不能为负数")
        try:
            modes = tuple(Mode(m) for m in require(path, entry, "modes", list, where))
        except ValueError as exc:
            raise ResourceError(path, f"{where} 的办理方式有误：{exc}") from None
        if not modes:
            raise ResourceError(path, f"{where} 至少要有一种办理方式")
        lists = require(path, entry, "materials", dict, where)
        by_mode: dict[Mode, tuple[str, ...]] = {}
        for mode in modes:
            items = require(path, lists, mode.value, list, f"{where}.materials")
            unknown = [m for m in items if m not in materials]
            if unknown:
                raise ResourceError(path, f"{where} 引用了未定义的材料：{', '.join(map(str, unknown))}")
            if not items:
                raise ResourceError(path, f"{where} 的 {mode.value} 材料清单为空")
            by_mode[mode] = tuple(items)
        optional = entry.get("optional", [])
        if any(m not in materials for m in optional):
            raise ResourceError(path, f"{where} 的 optional 引用了未定义的材料")
        collector = entry.get("fee_collector", "window")
        if collector not in FEE_COLLECTORS:
            raise ResourceError(path, f"{where} 的 fee_collector 只能是 bank（发卡银行）或 window（本窗口）")
        reasons = []
        for j, r in enumerate(entry.get("reasons", [])):
            text = r.get("text") if isinstance(r, dict) else None
            if not isinstance(text, str) or not text.strip():
                raise ResourceError(path, f"{where} 的 reasons[{j}] 缺少 text")
            r_fee = r.get("fee", fee)
            if not isinstance(r_fee, int) or isinstance(r_fee, bool) or r_fee < 0:
                raise ResourceError(path, f"{where} 的原因“{text}”收费应为非负整数")
            reasons.append(Reason(text.strip(), r_fee))
        flags = {}
        for flag in FORM_FLAGS:
            value = entry.get(flag, False)
            if not isinstance(value, bool):
                raise ResourceError(path, f"{where} 的 {flag} 只能是 true 或 false")
            flags[flag] = value
        businesses[code] = Business(
            code=code,
            name=require(path, entry, "name", str, where),
            days=days,
            fee=int(fee),
            modes=modes,
            materials=by_mode,
            optional=frozenset(optional),
            next_step=str(entry.get("next_step", "")),
            fee_collector=collector,
            reasons=tuple(reasons),
            pickup=bool(entry.get("pickup", False)),
            **flags,
        )
    absent = [c for c in BUSINESS_CODES if c not in businesses]
    if absent:
        raise ResourceError(path, f"缺少业务：{', '.join(absent)}")
    return Catalogue(dict(materials), businesses, _minors(path, data.get("minors", {}), materials))


def _minors(path: Path, table: dict, materials: dict) -> Minors:
    ages = {}
    for key, default in (("guardian_age", 16), ("photo_exempt_age", 0)):
        value = table.get(key, default)
        if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= 18:
            raise ResourceError(path, f"minors.{key} 应为 0—18 的整数（周岁）")
        ages[key] = value
    documents = table.get("child_id_documents", ["household_register"])
    if not isinstance(documents, list) or any(d not in materials for d in documents):
        raise ResourceError(path, "minors.child_id_documents 应为 [materials] 中定义的材料代码列表")
    return Minors(ages["guardian_age"], tuple(documents), ages["photo_exempt_age"])


@lru_cache(maxsize=1)
def load_catalogue() -> Catalogue:
    return parse_catalogue(resource_path("businesses.toml"))
