"""The business catalogue (DOMAIN.md §3), loaded from ``resources/businesses.toml``.

The rules of *what* to bring live in that data file; this module only knows the
shape of it and answers "what is still missing for this applicant?".
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from typing import Annotated, Literal

from pydantic import Field, StringConstraints, field_validator, model_validator

from shebao_desk.config.data_models import FileModel, check_placeholders, validate
from shebao_desk.config.resources import load_toml, resource_path


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
    PIN_UNLOCK = "pin_unlock"  # a card locked by wrong PINs: unlocked, the holder's own PIN kept
    TEMP_CARD = "temp_card"  # a free temporary card during 补换, tracked until it is returned
    INSTANT_APPLY = "instant_apply"  # 即时制卡: the card made and handed over on the spot
    INSTANT_REISSUE = "instant_reissue"
    INSTANT_REPLACE = "instant_replace"


BUSINESS_CODES = tuple(code.value for code in BusinessCode)


FEE_COLLECTORS = {"bank": "由发卡银行收取", "window": "由本窗口收取"}

# Applicant fields a business may require to be filled (required_fields in businesses.toml).
REQUIRED_FIELDS = {"phone": "联系电话", "address": "联系地址"}
# What an information change may change; materials_by_change names the papers each one asks.
CHANGE_FIELDS = {"name": "姓名", "id_number": "公民身份号码", "sex": "性别", "birth_date": "出生日期",
                 "ethnicity": "民族", "phone": "联系电话", "address": "联系地址"}


@dataclass(frozen=True)
class Reason:
    text: str
    fee: int
    within_days_of_expiry: int | None = None  # 有效期届满: the card must expire within this many days


@dataclass(frozen=True)
class Minors:
    """Children apply through a guardian; many have no ID card yet (DOMAIN.md §3)."""

    guardian_age: int = 16
    child_id_documents: tuple[str, ...] = ("household_register",)
    photo_exempt_age: int = 0
    guardian_optional_until: int = 16  # from guardian_age up to this age a guardian *may* come instead
    guardianship_alternatives: tuple[str, ...] = ()  # accepted instead of the 户口簿 as proof of guardianship

    @property
    def guardian_until(self) -> int:
        """Below this age the guardian mode is allowed (required below ``guardian_age``)."""
        return max(self.guardian_age, self.guardian_optional_until)


@dataclass(frozen=True)
class TempCardRules:
    valid_days: int = 60  # from the day it is handed over


NEXT_STEP_VALUES = ("days",)  # {days}: site.toml [card] temp_loss_days
REFUSAL_VALUES = ("document", "business")


@dataclass(frozen=True)
class IdCardRules:
    # Told when a business that takes only the resident ID card meets another document:
    # {document} its name (港澳台居民居住证, 外国人永久居留身份证), {business} the business's.
    non_resident_refused: str = "读到的是{document}：{business}须持本人第二代居民身份证。"

    def refusal(self, document: str, business: str) -> str:
        return self.non_resident_refused.format(document=document, business=business)


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
    central_check: bool = False  # with a central database: the person's cards are checked there first
    offered: bool = True  # this window does it: the intake form lists it
    instant: bool = False  # 即时制卡: the new card is made and handed over now (days = 0)
    hands_card: bool = False  # a card is handed over now (instant card, temporary card): its number is asked
    resident_id_only: bool = False  # only the resident ID card proves identity (Art. 13 for 申领)
    # material -> materials accepted instead (the 户口簿 as proof of guardianship: [minors] guardianship_alternatives)
    alternatives: dict[str, tuple[str, ...]] = field(default_factory=dict)
    required_fields: tuple[str, ...] = ()  # applicant fields that must be filled (REQUIRED_FIELDS)
    reason_required: bool = False  # no acceptance without a reason
    reasons_only: bool = False  # the reason is one of ``reasons`` (picked, not typed)
    needs_valid_id: bool = False  # an expired resident ID card blocks it unless a supervisor overrides
    materials_by_change: dict[str, tuple[str, ...]] = field(default_factory=dict)  # changed field -> papers

    def reason(self, text: str) -> Reason | None:
        """The listed reason with this text, if it is one."""
        return next((r for r in self.reasons if r.text == text.strip()), None)

    def fee_for(self, reason: str) -> int:
        """The fee for this reason (the reason's own, else the business's)."""
        listed = self.reason(reason)
        return self.fee if listed is None else listed.fee

    def next_step_text(self, temp_loss_days: int) -> str:
        """What to do next, the days of a temporary loss filled in (``{days}``)."""
        return self.next_step.format(days=temp_loss_days)

    def fee_text(self, fee: int) -> str:
        """“20 元（工本费，由发卡银行收取）” — who collects, so the window never seems to."""
        if fee == 0:
            return "免费"
        return f"{fee} 元（工本费，{FEE_COLLECTORS[self.fee_collector]}）"

    def required(self, mode: Mode) -> tuple[str, ...]:
        """Every material this mode may ask: its own list, then what any change asks (materials_by_change)."""
        extras = [m for papers in self.materials_by_change.values() for m in papers]
        return _unique(self.base(mode) + tuple(extras))

    def base(self, mode: Mode) -> tuple[str, ...]:
        """What this mode always asks, whatever changes."""
        if mode not in self.materials:
            raise KeyError(mode)
        return self.materials[mode]

    def needed(self, mode: Mode, changes: Iterable[str] = ()) -> tuple[str, ...]:
        """What this applicant must bring: the mode's list and the papers of the fields that change."""
        extras = [m for f in changes for m in self.materials_by_change.get(f, ())]
        return _unique(self.base(mode) + tuple(extras))

    def listed(self, mode: Mode, recorded: Iterable[str]) -> tuple[str, ...]:
        """The materials a case's papers list: the mode's own, and the change papers it recorded."""
        seen = set(recorded)
        return tuple(m for m in self.required(mode) if m in self.base(mode) or m in seen)

    def missing(self, mode: Mode, presented: set[str] | frozenset[str],
                waived: set[str] | frozenset[str] = frozenset(), changes: Iterable[str] = ()) -> list[str]:
        """Needed materials not presented, in the catalogue's order (``waived``: not needed for this person;
        ``changes``: the fields an information change changes, whose papers are needed too).
        An alternative is never missing itself; presented, it stands for the material it replaces."""
        standing_in = {alt for alts in self.alternatives.values() for alt in alts}
        return [m for m in self.needed(mode, changes)
                if m not in presented and m not in self.optional and m not in waived and m not in standing_in
                and not any(alt in presented for alt in self.alternatives.get(m, ()))]


def _unique(codes: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(codes))


@dataclass(frozen=True)
class Catalogue:
    materials: dict[str, str]
    businesses: dict[str, Business]
    minors: Minors = Minors()
    temp_card: TempCardRules = TempCardRules()
    id_cards: IdCardRules = IdCardRules()

    def __getitem__(self, code: str) -> Business:
        return self.businesses[code]

    def __iter__(self) -> Iterator[Business]:
        """Every business, offered here or not (statistics and old cases name them all)."""
        return iter(self.businesses.values())

    def offered(self) -> list[Business]:
        """The businesses this window does, in the file's order: what the intake form lists."""
        return [b for b in self.businesses.values() if b.offered]

    def material_name(self, code: str) -> str:
        return self.materials[code]

    def waived(self, age: int | None, presented: set[str] | frozenset[str]) -> frozenset[str]:
        """Materials a child need not bring: the ID card when the 户口簿 stands in, a young child's photo."""
        if age is None:
            return frozenset()
        out: set[str] = set()
        m = self.minors
        if age < m.guardian_age and all(d in presented for d in m.child_id_documents):
            out |= {"id_original", "id_copy"}
        if age <= m.photo_exempt_age:
            out.add("photo")
        return frozenset(out)


NonNegative = Annotated[int, Field(ge=0)]


class ReasonEntry(FileModel):
    text: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]
    fee: NonNegative | None = None
    within_days_of_expiry: NonNegative | None = None


class BusinessEntry(FileModel):
    code: str
    name: str
    days: int
    fee: int
    modes: list[str] = Field(min_length=1)
    materials: dict[str, list[str]]
    optional: list[str] = []
    next_step: str = ""
    fee_collector: Literal["bank", "window"] = "window"
    reasons: list[ReasonEntry] = []
    pickup: bool = False
    asks_reason: bool = False
    pin_pad: bool = False
    loss_time: bool = False
    changes_info: bool = False
    central_check: bool = False
    offered: bool = True
    instant: bool = False
    hands_card: bool = False
    resident_id_only: bool = False
    required_fields: list[str] = []
    reason_required: bool = False
    reasons_only: bool = False
    needs_valid_id: bool = False
    materials_by_change: dict[str, list[str]] = {}

    @field_validator("required_fields")
    @classmethod
    def _known_fields(cls, fields: list[str]) -> list[str]:
        unknown = [f for f in fields if f not in REQUIRED_FIELDS]
        if unknown:
            raise ValueError(f"required_fields 有误：{', '.join(unknown)}（可用：{', '.join(REQUIRED_FIELDS)}）")
        return fields

    @field_validator("materials_by_change")
    @classmethod
    def _known_changes(cls, by_change: dict[str, list[str]]) -> dict[str, list[str]]:
        unknown = [f for f in by_change if f not in CHANGE_FIELDS]
        if unknown:
            raise ValueError(f"materials_by_change 的信息项有误：{', '.join(unknown)}（可用：{', '.join(CHANGE_FIELDS)}）")
        return by_change

    @field_validator("code")
    @classmethod
    def _known_code(cls, code: str) -> str:
        if code not in BUSINESS_CODES:
            raise ValueError(f"未知的业务代码 “{code}”（可用：{', '.join(BUSINESS_CODES)}）")
        return code

    @field_validator("next_step")
    @classmethod
    def _next_step_placeholders(cls, text: str) -> str:
        return check_placeholders(text, NEXT_STEP_VALUES)

    @field_validator("modes")
    @classmethod
    def _known_modes(cls, modes: list[str]) -> list[str]:
        unknown = [m for m in modes if m not in {x.value for x in Mode}]
        if unknown:
            raise ValueError(f"办理方式有误：{', '.join(unknown)}（可用：self、agent、guardian）")
        return modes

    @model_validator(mode="after")
    def _not_negative(self) -> BusinessEntry:
        if self.days < 0 or self.fee < 0:
            raise ValueError(f"业务 {self.code} 的时限或收费不能为负数")
        if self.instant and (self.days != 0 or not self.hands_card):
            raise ValueError(f"业务 {self.code} 是即时制卡（instant）：days 应为 0，hands_card 应为 true")
        if self.reasons_only and not self.reasons:
            raise ValueError(f"业务 {self.code} 设了 reasons_only，却没有列出 reasons")
        return self


class MinorsEntry(FileModel):
    guardian_age: Annotated[int, Field(ge=0, le=18)] = 16
    child_id_documents: list[str] = ["household_register"]
    photo_exempt_age: Annotated[int, Field(ge=0, le=18)] = 0
    guardian_optional_until: Annotated[int, Field(ge=0, le=18)] = 16
    guardianship_alternatives: list[str] = []


class TempCardEntry(FileModel):
    valid_days: Annotated[int, Field(gt=0, le=366)] = 60


class IdCardsEntry(FileModel):
    non_resident_refused: str = IdCardRules.non_resident_refused

    @field_validator("non_resident_refused")
    @classmethod
    def _placeholders(cls, text: str) -> str:
        return check_placeholders(text, REFUSAL_VALUES)


class CatalogueFile(FileModel):
    """resources/businesses.toml"""

    minors: MinorsEntry = MinorsEntry()
    materials: dict[str, Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]]
    temp_card: TempCardEntry = TempCardEntry()
    id_cards: IdCardsEntry = IdCardsEntry()
    business: list[BusinessEntry]

    @model_validator(mode="after")
    def _consistent(self) -> CatalogueFile:
        seen: set[str] = set()
        for b in self.business:
            where = f"业务 {b.code}"
            if b.code in seen:
                raise ValueError(f"业务 “{b.code}” 重复定义")
            seen.add(b.code)
            for mode in b.modes:
                items = b.materials.get(mode)
                if items is None:
                    raise ValueError(f"缺少字段 “{where}.materials.{mode}”")
                if not items:
                    raise ValueError(f"{where} 的 {mode} 材料清单为空")
                unknown = [m for m in items if m not in self.materials]
                if unknown:
                    raise ValueError(f"{where} 引用了未定义的材料：{', '.join(unknown)}")
            if any(m not in self.materials for m in b.optional):
                raise ValueError(f"{where} 的 optional 引用了未定义的材料")
            unknown = [m for papers in b.materials_by_change.values() for m in papers if m not in self.materials]
            if unknown:
                raise ValueError(f"{where} 的 materials_by_change 引用了未定义的材料：{', '.join(unknown)}")
        absent = [c for c in BUSINESS_CODES if c not in seen]
        if absent:
            raise ValueError(f"缺少业务：{', '.join(absent)}")
        if any(d not in self.materials for d in self.minors.child_id_documents):
            raise ValueError("minors.child_id_documents 应为 [materials] 中定义的材料代码列表")
        if any(d not in self.materials for d in self.minors.guardianship_alternatives):
            raise ValueError("minors.guardianship_alternatives 应为 [materials] 中定义的材料代码列表")
        return self


GUARDIANSHIP_PROOF = "household_register"  # the material the [minors] alternatives stand in for


def _with_alternatives(items: list[str], alternatives: tuple[str, ...]) -> tuple[str, ...]:
    """The mode's materials, each alternative listed right after the proof it may replace."""
    out: list[str] = []
    for item in items:
        out.append(item)
        if item == GUARDIANSHIP_PROOF:
            out += [a for a in alternatives if a not in items]
    return tuple(out)


def parse_catalogue(path: Path) -> Catalogue:
    f = validate(path, CatalogueFile, load_toml(path))
    alternatives = tuple(f.minors.guardianship_alternatives)
    businesses = {}
    for b in f.business:
        modes = tuple(Mode(m) for m in b.modes)
        materials = {m: _with_alternatives(b.materials[m.value], alternatives) for m in modes}
        uses_proof = any(GUARDIANSHIP_PROOF in items for items in materials.values())
        businesses[b.code] = Business(
            code=b.code, name=b.name, days=b.days, fee=b.fee, modes=modes,
            materials=materials, optional=frozenset(b.optional),
            next_step=b.next_step, fee_collector=b.fee_collector,
            reasons=tuple(Reason(r.text, b.fee if r.fee is None else r.fee, r.within_days_of_expiry)
                          for r in b.reasons),
            pickup=b.pickup, asks_reason=b.asks_reason, pin_pad=b.pin_pad, loss_time=b.loss_time,
            changes_info=b.changes_info, central_check=b.central_check, offered=b.offered, instant=b.instant,
            hands_card=b.hands_card, resident_id_only=b.resident_id_only,
            alternatives={GUARDIANSHIP_PROOF: alternatives} if alternatives and uses_proof else {},
            required_fields=tuple(b.required_fields), reason_required=b.reason_required or b.reasons_only,
            reasons_only=b.reasons_only, needs_valid_id=b.needs_valid_id,
            materials_by_change={k: tuple(v) for k, v in b.materials_by_change.items()})
    m = f.minors
    minors = Minors(m.guardian_age, tuple(m.child_id_documents), m.photo_exempt_age, m.guardian_optional_until,
                    alternatives)
    return Catalogue(dict(f.materials), businesses, minors, TempCardRules(f.temp_card.valid_days),
                     IdCardRules(f.id_cards.non_resident_refused))


@lru_cache(maxsize=1)
def load_catalogue() -> Catalogue:
    return parse_catalogue(resource_path("businesses.toml"))


def describe(catalogue: Catalogue, done_at: dict[str, str], temp_loss_days: int) -> list[dict[str, object]]:
    """Every business as plain data (``shebao-desk catalogue --json``): where it is done, its fee and who
    collects it, its days, reasons and materials per mode, and the flags the intake follows."""
    out: list[dict[str, object]] = []
    for b in catalogue:
        out.append({
            "code": b.code, "name": b.name, "offered": b.offered,
            "place": done_at.get(b.code, "window"),  # site.toml [where]; everything else at the window
            "days": b.days, "fee": b.fee, "fee_collector": b.fee_collector, "fee_text": b.fee_text(b.fee),
            "reasons": [{"text": r.text, "fee": r.fee, "within_days_of_expiry": r.within_days_of_expiry}
                        for r in b.reasons],
            "modes": [m.value for m in b.modes],
            "materials": {m.value: [{"code": c, "name": catalogue.material_name(c),
                                     "optional": c in b.optional,
                                     "instead_of": next((k for k, alts in b.alternatives.items() if c in alts), None)}
                                    for c in b.required(m)] for m in b.modes},
            "next_step": b.next_step_text(temp_loss_days),
            "pickup": b.pickup, "instant": b.instant, "hands_card": b.hands_card,
            "resident_id_only": b.resident_id_only,
        })
    return out
