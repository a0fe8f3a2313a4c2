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
import re
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from shebao_desk.clock import local_day, now_utc
from shebao_desk.changes.audit import record_event
from shebao_desk.config.catalogue import REQUIRED_FIELDS, Business, BusinessCode, Mode
from shebao_desk.config.policy import Policy
from shebao_desk.errors import RuleViolation, ValidationError
from shebao_desk.models import Card, CardStatus, Case, CaseStatus, Clerk, Person, PersonStatus, Site
from shebao_desk.models.base import stable_uuid
from shebao_desk.models.limits import LABELS, check_field
from shebao_desk.rules import card_rules
from shebao_desk.rules.idnumber import IdNumber, Regions, mask_id_number, parse_id_number
from shebao_desk.rules.card_states import LOSS_FUNCTIONS
from shebao_desk.services.card_effects import EFFECTS, Act, return_temp_cards
from shebao_desk.services.case_request import AgentInput, CaseRequest
from shebao_desk.services.id_documents import number_refusal
from shebao_desk.store.site_identity import case_sequence_floor

log = logging.getLogger(__name__)

# A mobile number, or a landline with its area code (0914-2312333, 09142312333, 029-88886666-123).
PHONE = re.compile(r"1[3-9]\d{9}|0\d{2,3}-?\d{7,8}(-\d{1,6})?")


def phone_problem(text: str) -> str | None:
    """None when ``text`` is empty or a plausible Chinese phone number, else what is wrong."""
    number = text.strip().replace(" ", "")
    if not number or PHONE.fullmatch(number):
        return None
    return "电话号码应为 11 位手机号（1 开头），或带区号的固定电话（如 0914-2312333）"


class UnknownCardError(RuleViolation):
    """A genuine card the store does not know: the clerk may register it from its chip data."""

    def __init__(self, card_number: str) -> None:
        super().__init__(f"读卡器中的卡（卡号 {card_number}）在本系统中没有登记。请核对持卡人身份证件与卡片信息一致后，"
                         "勾选“核对身份证件后按卡片信息登记此卡”，再受理", f"card {card_number} unknown to the store")
        self.card_number = card_number


@dataclass(frozen=True)
class Approval:
    """A supervisor's checked approval of an expired ID card, recorded with the case (audit entry)."""

    supervisor_id: str
    supervisor: str  # display name (username), as the case window shows it
    reason: str


APPROVAL_TABLE = "approval"  # the audit entries of approvals (no row of their own: see record_event)


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


class InputProblems(ValidationError):
    """Every problem of the clerk's input at once, one line each (the clerk fixes them in one go)."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems), "; ".join(problems))
        self.problems = problems


def _validate(req: CaseRequest, policy: Policy, today: dt.date, *, approved: bool = False) -> None:
    """Refuse the request with every problem found (``approved``: a supervisor allowed an expired ID card)."""
    problems = input_problems(req, policy, today, approved=approved)
    if problems:
        raise InputProblems(problems)


def input_problems(req: CaseRequest, policy: Policy, today: dt.date, *, approved: bool = False) -> list[str]:
    """What keeps this request from being accepted, in the order of the form; [] when nothing does."""
    business = policy.catalogue[req.business]
    if req.mode not in business.modes:
        return [f"{business.name}业务只能{'、'.join(m.label for m in business.modes)}"]
    problems: list[str] = []
    parsed: IdNumber | None = None
    refused = number_refusal(policy.catalogue, req.business, req.applicant.id_number)
    if refused:  # a residence permit's or a foreigner's number where only the resident ID card will do
        problems.append(refused)
    else:
        try:
            parsed = parse_id_number(req.applicant.id_number, today=today, regions=policy.regions)
        except ValidationError as exc:
            problems.append(exc.message)
    if not req.applicant.name.strip():
        problems.append("请填写申请人姓名")
    problems += _length_problems(req)
    problems += _required_field_problems(req, business)
    if parsed is not None:
        problems += _age_problems(req, policy, _age(parsed.birth_date, today))
    for who, phone in (("申请人", req.applicant.phone), ("代办人/监护人", req.agent.phone if req.agent else ""),
                       ("变更后的", req.changes.get("phone", ""))):
        problem = phone_problem(phone)
        if problem:
            problems.append(f"{who}联系电话有误：{problem}")
    problems += _agent_problems(req, policy, today, parsed)
    problems += _reason_problems(req, business)
    if business.loss_time and (not req.loss_functions or any(f not in LOSS_FUNCTIONS for f in req.loss_functions)):
        problems.append("请选择挂失的功能（社会保障功能、金融功能）")
    expired = id_card_expired(req, today)
    if business.needs_valid_id and expired and not approved:
        problems.append(f"身份证已于 {expired:%Y-%m-%d} 过期：{business.name}须出示本人有效的居民身份证（第十三条）。"
                        "请申请人持有效证件办理；确需受理的，须由主管授权并登记原因")
    return problems


def id_card_expired(req: CaseRequest, today: dt.date) -> dt.date | None:
    """The day the resident ID card read for this applicant expired, if it has (None: valid, 长期, or not read)."""
    until = req.id_card_valid_to
    return until if until is not None and until < today else None


def _required_field_problems(req: CaseRequest, business: Business) -> list[str]:
    """The fields the business requires (businesses.toml required_fields). A child or an applicant who
    sends an agent is reached through the guardian's or agent's phone as well."""
    agent_phone = req.agent.phone if req.agent is not None and req.mode is not Mode.SELF else ""
    values = {"phone": req.applicant.phone.strip() or agent_phone.strip(), "address": req.applicant.address}
    return [f"请填写申请人{REQUIRED_FIELDS[f]}（{business.name}必填，以便联系申请人）"
            for f in business.required_fields if not values[f].strip()]


def _age_problems(req: CaseRequest, policy: Policy, age: int) -> list[str]:
    minors = policy.catalogue.minors
    guardian_age, guardian_until = minors.guardian_age, minors.guardian_until
    business = policy.catalogue[req.business]
    if req.mode is Mode.GUARDIAN and age >= guardian_until:  # 16–17 only where the county allows (businesses.toml)
        return [guardian_too_old(guardian_until)]
    if req.mode is Mode.SELF and age < guardian_age and Mode.GUARDIAN in business.modes:
        return [minor_needs_guardian(guardian_age)]
    return []


def minor_needs_guardian(guardian_age: int) -> str:
    return f"申请人未满 {guardian_age} 周岁，须由监护人代办（请选择“监护人代办”并填写监护人）"


def guardian_too_old(guardian_until: int) -> str:
    return f"申请人已满 {guardian_until} 周岁，不能由监护人代办；请选择本人办理或他人代办"


def _agent_problems(req: CaseRequest, policy: Policy, today: dt.date, parsed: IdNumber | None) -> list[str]:
    if req.mode not in (Mode.AGENT, Mode.GUARDIAN):
        return []
    who = "监护人" if req.mode is Mode.GUARDIAN else "代办人"
    problems = []
    if req.agent is None or not req.agent.name.strip():
        problems.append(f"请填写{who}姓名")
    try:
        agent_id = parse_id_number(req.agent.id_number if req.agent else "", today=today, regions=policy.regions)
    except ValidationError as exc:
        return [*problems, f"{who}身份证号码有误：{exc.message}"]
    if parsed is not None and agent_id.number == parsed.number:
        problems.append(f"{who}不能是申请人本人")
    return problems


def _reason_problems(req: CaseRequest, business: Business) -> list[str]:
    reason = req.reason.strip()
    listed = [r.text for r in business.reasons]
    if business.reasons_only and reason not in listed:
        return [f"请选择{business.name}原因（{'、'.join(listed)}）"]
    if business.reason_required and not reason:
        return [f"请填写{business.name}原因"]
    return []


def _length_problems(req: CaseRequest) -> list[str]:
    """What the central database could not take is refused here, with the field named (see limits)."""
    a = req.applicant
    fields: list[tuple[str, str, str, str | None]] = [
              ("person", "name", a.name.strip(), None), ("person", "phone", a.phone.strip(), None),
              ("person", "address", a.address.strip(), None), ("case", "reason", req.reason, None)]
    if req.agent is not None:
        fields += [("case", "agent_name", req.agent.name.strip(), None),
                   ("case", "agent_relation", req.agent.relation.strip(), None),
                   ("case", "agent_phone", req.agent.phone.strip(), None)]
    fields += [("person", k, v.strip(), "变更后的" + LABELS[("person", k)])
               for k, v in req.changes.items() if k in ("name", "phone", "address") and isinstance(v, str)]
    problems = []
    for table, column, value, label in fields:
        try:
            check_field(table, column, value, label)
        except ValidationError as exc:
            problems.append(exc.message)
    return problems


def _upsert_person(session: Session, req: CaseRequest, regions: Regions) -> Person:
    parsed = parse_id_number(req.applicant.id_number, regions=regions)
    person = find_person(session, parsed.number)
    a = req.applicant
    if person is None:
        person = Person(id=stable_uuid("person", parsed.number), id_number=parsed.number, name=a.name.strip(), sex=parsed.sex,
                        ethnicity=a.ethnicity or "01", birth_date=parsed.birth_date,
                        birthplace=a.birthplace or parsed.region_code, phone=a.phone.strip(),
                        address=a.address.strip(), photo=a.photo, cards=[])
        session.add(person)
        return person
    if req.business != BusinessCode.CANCEL:
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
    prefix = f"{site.window_code}{site.workstation_id}-{day:%Y%m%d}-"
    # A range on the unique index, not LIKE: SQLite's LIKE is case-insensitive, so it cannot use the
    # (binary) index and read every case number in the store (~1M at a county window) for each new case.
    # "." sorts right after "-": the range is exactly the numbers that start with the prefix.
    numbers = session.scalars(select(Case.number).where(Case.number >= prefix, Case.number < prefix[:-1] + "."))
    last = max((int(n.rsplit("-", 1)[1]) for n in numbers if n.rsplit("-", 1)[1].isdigit()), default=0)
    # After a restore from backup the day's numbering resumes above what the lost copy may have issued.
    seq = max(last, case_sequence_floor(session, day)) + 1
    return f"{prefix}{seq:04d}"


def _register_chip_card(session: Session, req: CaseRequest, person: Person, policy: Policy) -> None:
    """A genuine card issued before this program (or at another window), unknown here: when the
    person has no valid card in the store, the clerk may register it from its chip data."""
    chip = req.chip
    if chip is None or req.business in (BusinessCode.APPLY, BusinessCode.CANCEL) or card_rules.current_card(person.cards) is not None:
        return
    if policy.catalogue[req.business].instant:  # the card in the reader is the one just made: _hand_over records it
        return
    owner = session.scalar(select(Card).where(Card.card_number == chip.card_number))
    if owner is not None:
        if owner.person_id != person.id:
            raise ValidationError(f"卡号 {chip.card_number} 已登记在另一人名下，请核对",
                                  "chip card belongs to another person")
        return  # known, but not valid: the state machine says why
    if not req.register_card:
        raise UnknownCardError(chip.card_number)
    card = Card(person=person, card_number=chip.card_number, card_id=chip.card_id, generation=chip.generation,
                status=CardStatus.NORMAL, issue_date=chip.issue_date, expiry_date=chip.expiry_date, losses=[])
    session.add(card)
    session.flush()
    log.info("card %s of %s registered from its chip", chip.card_number, mask_id_number(person.id_number))


def _apply_effects(session: Session, req: CaseRequest, case: Case, person: Person,
                   policy: Policy, now: dt.datetime) -> None:
    _register_chip_card(session, req, person, policy)
    EFFECTS[BusinessCode(req.business)](Act(session, req, case, person, policy, now))
    instant = policy.catalogue[req.business].instant  # the card read is the new one, not the person's old card
    if req.card_read and case.card is not None and req.business != BusinessCode.APPLY and not instant:
        _match_card(case.card, *req.card_read)


def _match_card(card: Card, number: str, chip_id: str) -> None:
    """The card in the reader must be the person's card; a card never read before learns its number."""
    if not card.card_number:
        card.card_number, card.card_id = number, chip_id
    elif card.card_number != number:
        raise ValidationError(f"读卡器中的卡（卡号 {number}）不是该人员的这张卡（卡号 {card.card_number}），请核对",
                              "card in reader does not match the person's card")


def returned_case(session: Session, person: Person, business: str) -> Case | None:
    """The person's latest case of this business still waiting for materials, if any."""
    if person.id is None:
        return None
    return session.scalar(select(Case).where(Case.person_id == person.id, Case.business == business,
                                             Case.status == CaseStatus.RETURNED)
                          .order_by(Case.accepted_at.desc()).limit(1))


def accept_case(session: Session, req: CaseRequest, clerk: Clerk, site: Site, policy: Policy,
                now: dt.datetime | None = None, *, approval: Approval | None = None) -> Outcome:
    now = now or now_utc()
    today = local_day(now)
    _validate(req, policy, today, approved=approval is not None)
    business = policy.catalogue[req.business]
    person = _upsert_person(session, req, policy.regions)
    waived = policy.catalogue.waived(_age(person.birth_date, today), req.materials)
    missing = business.missing(req.mode, req.materials, waived, changes=req.changes)
    agent = req.agent or AgentInput("", "")
    outlet = req.outlet.strip() if business.pickup else ""
    if outlet and outlet not in {o.name for o in policy.site.bank_outlets}:
        raise ValidationError(f"领卡网点“{outlet}”不在本窗口的发卡银行网点名单中", f"outlet {outlet!r}")
    person.large_print = req.large_print
    fields = dict(
        business=req.business, mode=req.mode.value, person=person, agent_name=agent.name.strip(),
        agent_id_number=agent.id_number and parse_id_number(agent.id_number, regions=policy.regions).number,
        agent_relation=agent.relation.strip(), agent_phone=agent.phone.strip(),
        materials=sorted(req.materials), missing=missing, reason=req.reason.strip(),
        fee=0, accepted_by=clerk.id, accepted_at=now, workstation=site.workstation_id,
        status=CaseStatus.RETURNED, field_origins=dict(req.origins) or None, outlet=outlet,
    )
    # The applicant came back with what was missing: the same case goes on (same number,
    # its earlier state kept in the audit history), not a second unlinked one.
    case = returned_case(session, person, req.business)
    if case is None:
        case = Case(number=next_case_number(session, site, today), **fields)
        session.add(case)
    else:
        for key, value in fields.items():
            setattr(case, key, value)
    expired = id_card_expired(req, today)
    if approval is not None and expired is not None:
        session.flush()  # the case's id, for the entry
        record_event(session, APPROVAL_TABLE, case.id, {
            "rule": "needs_valid_id", "id_card_valid_to": expired.isoformat(),
            "supervisor_id": approval.supervisor_id, "supervisor": approval.supervisor, "reason": approval.reason})
        log.info("case %s: expired ID card approved by %s", case.number, approval.supervisor)
    if missing:
        log.info("case %s %s for %s returned: missing %s", case.number, req.business,
                 mask_id_number(person.id_number), ",".join(missing))
        session.flush()
        return Outcome(case, missing)
    _apply_effects(session, req, case, person, policy, now)
    case.fee = business.fee_for(req.reason)
    if business.days:
        case.status = CaseStatus.ACCEPTED
        policy.calendar.refresh(session)  # an official year that arrived by sync
        promise = policy.calendar.promise(today, business.days)
        case.promised_date, case.promise_provisional = promise.day, promise.provisional
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
    if case.business in (BusinessCode.REISSUE, BusinessCode.REPLACE):
        # The new card is handed over only against the temporary card (it may be used only once that is back).
        for back in return_temp_cards(case.person, clerk.id, now):
            log.info("temporary card %s of %s returned with case %s", back.number,
                     mask_id_number(case.person.id_number), case.number)
    case.status = CaseStatus.COMPLETED
    case.completed_at = now
    case.completed_by = clerk.id
    session.flush()
