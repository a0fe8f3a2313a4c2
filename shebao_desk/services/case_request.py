"""What the clerk asks for at the window: the request a case is taken from (no Qt, no store)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from shebao_desk.config.catalogue import Mode
from shebao_desk.models import LossChannel

# Where an applicant field's value came from (CaseRequest.origins, Case.field_origins).
ORIGIN_LABELS = {"id_card": "身份证", "ss_card": "社会保障卡", "typed": "手工录入"}
ORIGIN_FIELDS = {"id_number": "身份证号码", "name": "姓名", "ethnicity": "民族", "address": "住址"}


@dataclass
class ApplicantInput:
    id_number: str
    name: str
    ethnicity: str = "01"
    phone: str = ""
    address: str = ""
    birthplace: str = ""
    photo: bytes | None = None


@dataclass
class AgentInput:
    name: str
    id_number: str
    relation: str = ""
    phone: str = ""


@dataclass(frozen=True)
class ChipCard:
    """What the chip of the card in the reader says about the card itself (EF05)."""

    card_number: str
    card_id: str
    generation: int
    issue_date: dt.date | None = None
    expiry_date: dt.date | None = None


@dataclass(frozen=True)
class ApprovalRequest:
    """A supervisor, at the clerk's desk, allows what a rule refuses (an expired ID card for 申领):
    their credentials, checked before the case is taken, and the reason recorded with it."""

    username: str
    password: str = field(repr=False)  # checked, never stored or logged
    reason: str = ""


@dataclass
class CaseRequest:
    business: str
    mode: Mode
    applicant: ApplicantInput
    materials: set[str] = field(default_factory=set)
    agent: AgentInput | None = None
    reason: str = ""
    loss_channel: LossChannel = LossChannel.WINDOW
    loss_functions: tuple[str, ...] = ("social", "financial")
    loss_effective_at: dt.datetime | None = None
    changes: dict[str, str] = field(default_factory=dict)  # info change: new name/phone/address
    card_read: tuple[str, str] | None = None  # (card number, chip id) when the card was in the reader
    chip: ChipCard | None = None  # the card in the reader, as its chip says
    register_card: bool = False  # the clerk checked the holder's ID: register the chip's card if unknown
    origins: dict[str, str] = field(default_factory=dict)  # applicant field -> id_card / ss_card / typed
    outlet: str = ""  # the bank outlet chosen for pick-up (申领/补卡/换卡), by name from site.toml
    large_print: bool = False  # the applicant reads large type: PIN dialog, receipt, notice
    card_number: str = ""  # the card handed over now (businesses.toml hands_card): 即时制卡's new card, 临时卡
    id_card_valid_to: dt.date | None = None  # the applicant's resident ID card as read (None: 长期 or not read)
    approval: ApprovalRequest | None = None  # a supervisor allows an expired ID card (needs_valid_id)
