"""What goes on the papers, as plain data built from a case (no reportlab, no Qt)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from shebao_desk.config.applicant_settings import load_applicant_settings
from shebao_desk.config.catalogue import Mode
from shebao_desk.clock import local_text
from shebao_desk.config.document_layout import ethnicity_names
from shebao_desk.models import Case, Clerk, Person, Site
from shebao_desk.config.policy import Policy
from shebao_desk.config.site_config import BankOutlet
from shebao_desk.rules.card_states import LOSS_FUNCTIONS

SEX = {"1": "男", "2": "女"}


@dataclass(frozen=True)
class Material:
    code: str
    name: str
    presented: bool
    optional: bool = False


@dataclass(frozen=True)
class Party:
    name: str
    id_number: str
    sex: str = ""
    ethnicity: str = ""
    birth_date: str = ""
    card_number: str = ""
    phone: str = ""
    address: str = ""
    relation: str = ""
    photo: bytes | None = None


@dataclass(frozen=True)
class SiteInfo:
    institution: str
    window_name: str
    window_code: str
    workstation: str
    address: str
    phone: str
    hours: str


@dataclass(frozen=True)
class CaseDocument:
    number: str
    business_code: str
    business_name: str
    all_businesses: list[tuple[str, str]]
    mode: str
    applicant: Party
    agent: Party | None
    reason: str
    materials: list[Material]
    accepted_at: str
    promised_date: dt.date | None
    promised_days: int
    promise_provisional: bool
    clerk_name: str
    fee: int
    next_step: str
    site: SiteInfo
    outlet: BankOutlet
    notices: list[str] = field(default_factory=list)
    scans: list[str] = field(default_factory=list)  # "身份证复印件（…扫描件）：file, 300 dpi"
    fee_text: str = ""              # “20 元（工本费，由发卡银行收取）”
    pickup: bool = False            # a new card is collected at ``outlet``
    loss_effective: str = ""        # a loss: when it took effect
    loss_expires: str = ""          # a temporary loss: when it lapses by itself
    where: str = ""                 # where the next step is done, when not at this window
    signature_png: bytes | None = None  # signed on the applicant's screen (issue 28), beside 申请人签字
    signed_at: str = ""                 # when, beside the signature
    rating_url: str = ""                # the county's online 好差评 channel (applicant.toml), a QR on the receipt
    mode_code: str = ""             # self / agent / guardian: the form's signature line follows it
    loss_functions: tuple[str, ...] = ()  # a loss: the functions suspended (social, financial)
    new_card_number: str = ""       # 即时制卡: the card handed over now
    temp_card_number: str = ""      # 临时卡: the temporary card handed over, and its last valid day
    temp_card_until: str = ""
    temp_loss_days: int = 7         # site.toml temp_loss_days, for {days} in the notices
    outlet_known: bool = True       # ``outlet`` is the applicant's own bank (chosen now, or when the card was applied for)

    @property
    def is_loss(self) -> bool:
        return bool(self.loss_effective)

    @property
    def loss_function_names(self) -> str:
        return "、".join(LOSS_FUNCTIONS.get(f, f) for f in self.loss_functions)

    @property
    def missing(self) -> list[Material]:
        return [m for m in self.materials if not m.presented and not m.optional]

    @property
    def fee_line(self) -> str:
        return self.fee_text or ("免费" if self.fee == 0 else f"{self.fee} 元")

    @property
    def all_text(self) -> list[str]:
        """Every value printed, for checking fonts before rendering."""
        parts = [self.number, self.business_name, self.mode, self.reason, self.clerk_name, self.next_step,
                 *(m.name for m in self.materials), *self.notices, *self.scans, self.fee_line, self.where, self.outlet.name,
                 self.outlet.address, self.new_card_number, self.temp_card_number]
        for party in (self.applicant, self.agent):
            if party is not None:
                parts += [party.name, party.address, party.relation, party.ethnicity]
        return parts


def site_info(policy: Policy, site: Site) -> SiteInfo:
    cfg = policy.site
    return SiteInfo(cfg.institution, cfg.window_name, cfg.window_code, site.workstation_id, cfg.address,
                    cfg.phone, cfg.hours)


def rating_url(number: str) -> str:
    """The county's online rating address for this case ("{number}" filled in), or "" without one."""
    url = load_applicant_settings().rating.online_url
    return url.replace("{number}", number) if url else ""


def case_document(case: Case, person: Person, clerk: Clerk, policy: Policy, site: Site,
                  notices: dict[str, str] | None = None, scans: list[str] | None = None,
                  card_outlet: str = "") -> CaseDocument:
    """``card_outlet``: the bank outlet chosen when the case's card was applied for, where the
    next step of a loss is done when site.toml [where] sends it to the bank."""
    business = policy.catalogue[case.business]
    mode = Mode(case.mode)
    presented = set(case.materials)
    # Only what the case recorded as missing is 尚缺: optional materials and those waived for
    # this person (a child's ID card when the 户口簿 stands in, a young child's photo) never are.
    missing = set(case.missing)
    materials = [Material(code, policy.catalogue.material_name(code), code in presented,
                          code in business.optional or (code not in presented and code not in missing))
                 for code in business.listed(mode, presented | missing)]  # a change's papers only if asked
    card = case.card or (person.cards[-1] if person.cards else None)
    applicant = Party(
        name=person.name, id_number=person.id_number, sex=SEX.get(person.sex, person.sex),
        ethnicity=ethnicity_names().get(person.ethnicity, person.ethnicity),
        birth_date=person.birth_date.isoformat(), card_number=card.card_number if card else "",
        phone=person.phone, address=person.address, photo=person.photo)
    agent = None
    if case.agent_name:
        agent = Party(name=case.agent_name, id_number=case.agent_id_number, relation=case.agent_relation,
                      phone=case.agent_phone)
    days = policy.site.temp_loss_days
    note = (notices or {}).get(case.business)
    outlets = {o.name: o for o in policy.site.bank_outlets}
    own_outlet = case.outlet or card_outlet
    loss = next((x for x in (case.card.losses if case.card else []) if x.case_id == case.id), None)
    temp = next((t for t in person.temp_cards if t.case_id == case.id), None)
    new_card = case.new_card.card_number if business.instant and case.new_card is not None else ""
    return CaseDocument(
        rating_url=rating_url(case.number),
        number=case.number, business_code=case.business, business_name=business.name,
        all_businesses=[(b.code, b.name) for b in policy.catalogue if b.offered or b.code == case.business],
        mode=mode.label, applicant=applicant,
        agent=agent, reason=case.reason, materials=materials, accepted_at=local_text(case.accepted_at),
        promised_date=case.promised_date, promised_days=business.days,
        promise_provisional=bool(case.promise_provisional), clerk_name=clerk.display_name,
        fee=case.fee, next_step=business.next_step_text(days), site=site_info(policy, site),
        outlet=outlets.get(own_outlet, policy.site.bank_outlets[0]), outlet_known=own_outlet in outlets,
        notices=[note.format(days=days)] if note else [], scans=list(scans or []),
        fee_text=business.fee_text(case.fee), pickup=business.pickup,
        loss_effective=local_text(loss.effective_at) if loss else "",
        loss_expires=local_text(loss.expires_at) if loss and loss.expires_at else "",
        where=where_next(case.business, policy), mode_code=mode.value,
        loss_functions=tuple(loss.functions) if loss else (), new_card_number=new_card,
        temp_card_number=temp.number if temp else "", temp_card_until=f"{temp.valid_until:%Y-%m-%d}" if temp else "",
        temp_loss_days=days,
    )


# The step that follows a business, and so where the applicant goes next.
FOLLOWS = {"temp_loss": "formal_loss", "formal_loss": "reissue"}


def where_next(business: str, policy: Policy) -> str:
    """“正式挂失请到发卡银行网点办理” when the site's data says that step is done at the bank."""
    step = FOLLOWS.get(business)
    if step is None or not policy.site.done_at_bank(step):
        return ""
    name = policy.catalogue[step].name
    return f"{name}请到社会保障卡的发卡银行网点办理，不在本窗口办理。"
