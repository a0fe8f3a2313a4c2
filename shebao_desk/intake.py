"""Taking a business at the window: from the clerk's input to a stored case.

``accept_case`` checks the materials against the catalogue, the card's state
machine and the applicant's data, then writes the case and its effects (new
card, loss report, status changes) in the caller's unit of work. Missing
materials are not an error: the case is kept as *returned* with the list, so the
one-time notice can be printed from it.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from shebao_desk import card_rules
from shebao_desk.catalogue import Mode
from shebao_desk.clock import local_day, now_utc
from shebao_desk.errors import RuleViolation, ValidationError
from shebao_desk.idnumber import mask_id_number, parse_id_number
from shebao_desk.models import (
    Card, CardStatus, Case, CaseStatus, Clerk, LossChannel, LossKind, LossReport, Person,
    PersonStatus, Site,
)
from shebao_desk.models.base import stable_uuid
from shebao_desk.policy import Policy

log = logging.getLogger(__name__)

LOSS_FUNCTIONS = {"social": "社会保障功能", "financial": "金融功能"}
ADULT_AGE = 18


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


@dataclass
class Outcome:
    case: Case
    missing: list[str]

    @property
    def accepted(self) -> bool:
        return not self.missing


def find_person(session: Session, id_number: str) -> Person | None:
    return session.scalar(
        select(Person).where(Person.id_number == id_number)
        .options(selectinload(Person.cards).selectinload(Card.losses)))


def _age(birth: dt.date, today: dt.date) -> int:
    return today.year - birth.year - ((today.month, today.day) < (birth.month, birth.day))


def _validate(req: CaseRequest, policy: Policy, today: dt.date) -> None:
    business = policy.catalogue[req.business]
    if req.mode not in business.modes:
        allowed = "、".join(m.label for m in business.modes)
        raise ValidationError(f"{business.name}业务只能{allowed}", f"mode {req.mode} not allowed for {req.business}")
    if not req.applicant.name.strip():
        raise ValidationError("请填写申请人姓名")
    _check_lengths_and_characters(req)
    parsed = parse_id_number(req.applicant.id_number, today=today, regions=policy.regions)
    if req.mode is Mode.GUARDIAN and _age(parsed.birth_date, today) >= ADULT_AGE:
        raise ValidationError("申请人已成年，不能由监护人代办；请选择本人办理或他人代办")
    if req.mode in (Mode.AGENT, Mode.GUARDIAN):
        who = "监护人" if req.mode is Mode.GUARDIAN else "代办人"
        if req.agent is None or not req.agent.name.strip():
            raise ValidationError(f"请填写{who}姓名")
        try:
            agent_id = parse_id_number(req.agent.id_number, today=today, regions=policy.regions)
        except ValidationError as exc:
            raise ValidationError(f"{who}身份证号码有误：{exc.message}", exc.detail) from None
        if agent_id.number == parsed.number:
            raise ValidationError(f"{who}不能是申请人本人")
    if req.business in ("temp_loss",):
        if not req.loss_functions or any(f not in LOSS_FUNCTIONS for f in req.loss_functions):
            raise ValidationError("请选择挂失的功能（社会保障功能、金融功能）")


def _check_lengths_and_characters(req: CaseRequest) -> None:
    """What the central database could not take is refused here, with the field named (see limits)."""
    from shebao_desk.limits import LABELS, check_field
    a = req.applicant
    fields = [("person", "name", a.name.strip(), None), ("person", "phone", a.phone.strip(), None),
              ("person", "address", a.address.strip(), None), ("case", "reason", req.reason, None)]
    if req.agent is not None:
        fields += [("case", "agent_name", req.agent.name.strip(), None),
                   ("case", "agent_relation", req.agent.relation.strip(), None),
                   ("case", "agent_phone", req.agent.phone.strip(), None)]
    fields += [("person", k, v.strip(), "变更后的" + LABELS[("person", k)])
               for k, v in req.changes.items() if k in ("name", "phone", "address") and isinstance(v, str)]
    for table, column, value, label in fields:
        check_field(table, column, value, label)


def _upsert_person(session: Session, req: CaseRequest) -> Person:
    parsed = parse_id_number(req.applicant.id_number)
    person = find_person(session, parsed.number)
    a = req.applicant
    if person is None:
        person = Person(id=stable_uuid("person", parsed.number), id_number=parsed.number, name=a.name.strip(), sex=parsed.sex,
                        ethnicity=a.ethnicity or "01", birth_date=parsed.birth_date,
                        birthplace=a.birthplace or parsed.region_code, phone=a.phone.strip(),
                        address=a.address.strip(), photo=a.photo, cards=[])
        session.add(person)
        return person
    if req.business != "cancel":
        card_rules.check_not_cancelled(person.status is PersonStatus.CANCELLED)
    # Fill blanks with what was typed now; never silently overwrite a stored name
    # (a name change is an info-change business with proof).
    if a.phone.strip():
        person.phone = a.phone.strip()
    if a.address.strip():
        person.address = a.address.strip()
    if a.photo:
        person.photo = a.photo
    return person


def next_case_number(session: Session, site: Site, day: dt.date) -> str:
    """``<window><workstation>-<YYYYMMDD>-<seq>``: unique across workstations by construction."""
    from shebao_desk.site_identity import case_sequence_floor
    prefix = f"{site.window_code}{site.workstation_id}-{day:%Y%m%d}-"
    numbers = session.scalars(select(Case.number).where(Case.number.like(prefix + "%")))
    last = max((int(n.rsplit("-", 1)[1]) for n in numbers if n.rsplit("-", 1)[1].isdigit()), default=0)
    # After a restore from backup the day's numbering resumes above what the lost copy may have issued.
    seq = max(last, case_sequence_floor(session, day)) + 1
    return f"{prefix}{seq:04d}"


def _new_card(person: Person, generation: int = 3) -> Card:
    card = Card(person=person, status=CardStatus.PENDING, generation=generation, losses=[])
    return card


def _void(card: Card, status: CardStatus, reason: str, now: dt.datetime) -> None:
    card.status = status
    card.void_at = now
    card.void_reason = reason


def _apply_effects(session: Session, req: CaseRequest, case: Case, person: Person,
                   policy: Policy, now: dt.datetime) -> None:
    cards = person.cards
    business = req.business
    if business == "apply":
        card_rules.check_apply(cards)
        case.new_card = _new_card(person)
    elif business == "activate":
        card = card_rules.check_activate(cards, now)
        card.activated_at = now
        case.card = card
    elif business == "temp_loss":
        card, renewal = card_rules.check_temp_loss(cards, now)
        effective = card_rules.effective_minute(req.loss_effective_at or now)
        if effective > now:
            raise ValidationError("挂失生效时间不能晚于现在")
        loss = LossReport(card=card, kind=LossKind.TEMPORARY, channel=req.loss_channel,
                          functions=list(req.loss_functions), effective_at=effective,
                          expires_at=card_rules.temp_loss_expiry(effective, policy.site.temp_loss_days))
        case.card = card
        session.add(loss)
        case.reason = case.reason or ("续挂" if renewal else "")
        session.flush()
        loss.case_id = case.id
    elif business == "formal_loss":
        card = card_rules.check_formal_loss(cards)
        loss = LossReport(card=card, kind=LossKind.FORMAL, channel=req.loss_channel,
                          functions=list(LOSS_FUNCTIONS), effective_at=card_rules.effective_minute(now),
                          expires_at=None)
        session.add(loss)
        _void(card, CardStatus.FORMALLY_LOST, "正式挂失", now)
        case.card = card
        session.flush()
        loss.case_id = case.id
    elif business == "lift_loss":
        card, loss = card_rules.check_lift(cards, now)
        loss.lifted_at = now
        session.flush()
        loss.lifted_case_id = case.id
        case.card = card
    elif business == "reissue":
        lost = card_rules.check_reissue(cards)
        case.card = lost
        case.new_card = _new_card(person)
    elif business == "replace":
        old = card_rules.check_replace(cards, now)
        _void(old, CardStatus.REPLACED, req.reason or "换卡", now)
        case.card = old
        case.new_card = _new_card(person)
    elif business in ("pin_reset", "pin_change"):
        name = policy.catalogue[business].name
        card = card_rules.check_pin_service(cards, now, name)
        if business == "pin_reset":
            card.pin_reset_at = now
            card.activated_at = None  # the holder must activate again with the initial PIN
        case.card = card
    elif business == "info_change":
        if not req.changes:
            raise ValidationError("请填写要变更的信息")
        for key, value in req.changes.items():
            if key not in ("name", "phone", "address", "ethnicity"):
                raise ValidationError(f"不能变更的字段：{key}")
            if not value.strip():
                raise ValidationError("变更后的信息不能为空")
            setattr(person, key, value.strip())
        case.card = card_rules.current_card(cards)
    elif business == "cancel":
        card = card_rules.check_cancel(cards, person.status is PersonStatus.CANCELLED)
        if card is not None:
            _void(card, CardStatus.CANCELLED, req.reason or "注销", now)
            case.card = card
        person.status = PersonStatus.CANCELLED
        person.cancelled_at = now
    else:  # the catalogue only admits known codes; this guards a programming error
        raise ValueError(f"unknown business {business}")
    if req.card_read and case.card is not None and business != "apply":
        _match_card(case.card, *req.card_read)


def _match_card(card: Card, number: str, chip_id: str) -> None:
    """The card in the reader must be the person's card; a card never read before learns its number."""
    if not card.card_number:
        card.card_number, card.card_id = number, chip_id
    elif card.card_number != number:
        raise ValidationError(f"读卡器中的卡（卡号 {number}）不是该人员的这张卡（卡号 {card.card_number}），请核对",
                              "card in reader does not match the person's card")


def accept_case(session: Session, req: CaseRequest, clerk: Clerk, site: Site, policy: Policy,
                now: dt.datetime | None = None) -> Outcome:
    now = now or now_utc()
    today = local_day(now)
    _validate(req, policy, today)
    business = policy.catalogue[req.business]
    person = _upsert_person(session, req)
    missing = business.missing(req.mode, req.materials)
    agent = req.agent or AgentInput("", "")
    case = Case(
        number=next_case_number(session, site, today), business=req.business, mode=req.mode.value,
        person=person, agent_name=agent.name.strip(), agent_id_number=agent.id_number and parse_id_number(agent.id_number).number,
        agent_relation=agent.relation.strip(), agent_phone=agent.phone.strip(),
        materials=sorted(req.materials), missing=missing, reason=req.reason.strip(),
        fee=0, accepted_by=clerk.id, accepted_at=now, workstation=site.workstation_id,
        status=CaseStatus.RETURNED,
    )
    session.add(case)
    if missing:
        log.info("case %s %s for %s returned: missing %s", case.number, req.business,
                 mask_id_number(person.id_number), ",".join(missing))
        session.flush()
        return Outcome(case, missing)
    _apply_effects(session, req, case, person, policy, now)
    case.fee = business.fee
    if business.days:
        case.status = CaseStatus.ACCEPTED
        case.promised_date = policy.calendar.add_workdays(today, business.days)
    else:
        case.status = CaseStatus.COMPLETED
        case.completed_at = now
        case.completed_by = clerk.id
    session.flush()
    log.info("case %s %s for %s %s", case.number, req.business, mask_id_number(person.id_number), case.status.value)
    return Outcome(case, [])


def complete_case(session: Session, case: Case, clerk: Clerk, now: dt.datetime | None = None) -> None:
    """The applicant collected the new card: the case is done, the card in use."""
    now = now or now_utc()
    if case.status is not CaseStatus.ACCEPTED:
        raise RuleViolation(f"只有已受理的业务可以办结（当前：{case.status.label}）", f"complete {case.status}")
    if case.new_card is not None and case.new_card.status is CardStatus.PENDING:
        case.new_card.status = CardStatus.NORMAL
        case.new_card.issue_date = local_day(now)
    case.status = CaseStatus.COMPLETED
    case.completed_at = now
    case.completed_by = clerk.id
    session.flush()
