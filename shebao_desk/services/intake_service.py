"""The intake desk's use cases, each one call with a typed result (no Qt).

The page collects the clerk's input and calls these on the database worker (``ui/ops.run_op``);
it only shows what they return. ``submit`` is the whole acceptance, in this order:

1. the applicant's cards as every window knows them: a business marked ``central_check`` in
   businesses.toml asks central first, so a card lost elsewhere is not lifted here;
2. a chip change already made (启用, 密码修改) is journalled as made *before* anything else can
   fail, then its case is saved with it (``card_business``);
3. otherwise the case is accepted in one unit of work in the clerk's name (``intake.accept_case``);
4. the papers are rendered beside the store; if only they fail, the case stays saved and the
   result says why.
"""

from __future__ import annotations

import datetime as dt
import enum
import logging
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select

from shebao_desk.clock import now_utc
from shebao_desk.config.policy import Policy
from shebao_desk.errors import ShebaoError, ValidationError
from shebao_desk.config.catalogue import BusinessCode
from shebao_desk.models import CardStatus, Case, CaseStatus, Person, Role
from shebao_desk.models.limits import check_field
from shebao_desk.services import card_business
from shebao_desk.services.actor import Actor
from shebao_desk.services.case_documents import render_papers
from shebao_desk.services.case_request import CaseRequest
from shebao_desk.services.auth import login
from shebao_desk.services.intake import Approval, Outcome, accept_case, find_person
from shebao_desk.rules.card_rules import temp_loss_in_force
from shebao_desk.services.queries import card_shown
from shebao_desk.store.database import Store
from shebao_desk.sync import central

log = logging.getLogger(__name__)


# -- looking the applicant up ------------------------------------------------------------------

@dataclass(frozen=True)
class CardOnFile:
    card_number: str  # "" while the card is being made
    status: CardStatus
    temp_lost: bool  # a temporary loss holds it now
    activated: bool


@dataclass(frozen=True)
class ReturnedCase:
    """A case of this person waiting for materials (退回补材料): it goes on when they come back."""

    number: str
    business: str
    mode: str
    materials: tuple[str, ...]  # what was handed in last time (the notice says it need not be brought again)
    missing: tuple[str, ...]


@dataclass(frozen=True)
class PersonOnFile:
    """What the store holds of an applicant, read while the session was open."""

    id_number: str
    name: str
    phone: str
    address: str
    ethnicity: str
    large_print: bool
    has_photo: bool  # a photo is on file: 电子照片 may be ticked without importing one again
    card_number: str  # of the current card (else the newest); "" when none or not yet numbered
    card_state: str  # what the clerk reads: 正常, 临时挂失中, …, or 无卡
    cards: tuple[CardOnFile, ...] = ()
    returned: tuple[ReturnedCase, ...] = ()  # newest first


@dataclass(frozen=True)
class Lookup:
    id_number: str
    person: PersonOnFile | None  # None: a new applicant (as far as this store and central know)
    central_problem: str = ""  # central could not be asked (one Chinese line); the clerk goes on
    from_central: bool = False  # the person arrived from central just now (another window's)


def look_up_person(store: Store, policy: Policy, id_number: str, *, central_url: str | None = None,
                   now: dt.datetime | None = None) -> Lookup:
    """The applicant (``id_number`` as parsed: 18 characters, X upper-case) as this store knows them;
    a person it does not hold is asked of central (``central_url``, else the configured one; ""
    asks no one) and, when found there, brought here with their cards and cases."""
    now = now or now_utc()
    found = _on_file(store, id_number, now)
    url = central.central_url(policy) if central_url is None else central_url
    if found is not None or not url:
        return Lookup(id_number, found)
    try:
        central.lookup_person(store, url, id_number)
    except central.CentralUnavailable as exc:
        log.warning("%s", exc.detail)
        return Lookup(id_number, None, central_problem=exc.message)
    found = _on_file(store, id_number, now)
    return Lookup(id_number, found, from_central=found is not None)


def _on_file(store: Store, id_number: str, now: dt.datetime) -> PersonOnFile | None:
    with store.read() as session:
        person = find_person(session, id_number)
        if person is None:
            return None
        returned = session.scalars(select(Case).where(Case.person_id == person.id, Case.status == CaseStatus.RETURNED)
                                   .order_by(Case.accepted_at.desc()))
        return _person_on_file(person, now, tuple(ReturnedCase(c.number, c.business, c.mode, tuple(c.materials),
                                                               tuple(c.missing)) for c in returned))


def _person_on_file(person: Person, now: dt.datetime, returned: tuple[ReturnedCase, ...] = ()) -> PersonOnFile:
    card_number, card_state = card_shown(person.cards, now)
    cards = tuple(CardOnFile(c.card_number, c.status, temp_loss_in_force(c, now) is not None, c.activated_at is not None)
                  for c in person.cards)
    return PersonOnFile(
        id_number=person.id_number, name=person.name, phone=person.phone, address=person.address,
        ethnicity=person.ethnicity, large_print=bool(person.large_print), has_photo=person.photo is not None,
        card_number=card_number, card_state=card_state, cards=cards, returned=returned)


def business_for_card(person: PersonOnFile | None, card_number: str) -> BusinessCode | None:
    """The business a card brought to the window most likely asks (the form suggests it; the clerk may
    change it): a temporarily lost card is lifted, a card not yet activated (or one this store never
    issued) is activated, an active one has its PIN changed; a void card suggests nothing."""
    card = next((c for c in person.cards if c.card_number == card_number), None) if person else None
    if card is None:
        return BusinessCode.ACTIVATE
    if not card.status.valid:
        return None
    if card.temp_lost:
        return BusinessCode.LIFT_LOSS
    return BusinessCode.PIN_CHANGE if card.activated else BusinessCode.ACTIVATE


# -- a chip business (启用, 密码修改): the record side before the chip --------------------------

@dataclass(frozen=True)
class ChipJournal:
    journal_id: str
    already_changed: bool  # the chip was changed last time and only the case is missing: save it now


def begin_chip_business(store: Store, request: CaseRequest, actor: Actor, policy: Policy,
                        reader: str) -> ChipJournal:
    """Check the whole business on the record side and journal it as pending; only then may the
    holder type a PIN for the chip. A change already made whose case was not saved is resumed
    instead (asking the chip for the initial PIN again would burn a try)."""
    done_before = card_business.resumable(store, request)
    if done_before is not None:
        return ChipJournal(done_before, already_changed=True)
    return ChipJournal(card_business.prepare(store, request, actor.clerk, actor.site, policy, reader),
                       already_changed=False)


def chip_left_unchanged(store: Store, journal_id: str, actor: Actor, *, refused: bool, detail: str) -> None:
    """The card refused the PIN or the clerk stopped: the journal entry is closed, the chip untouched."""
    card_business.chip_unchanged(store, journal_id, actor.clerk, actor.site, refused=refused, detail=detail)


# -- submitting ---------------------------------------------------------------------------------

class CentralCheck(enum.Enum):
    NOT_ASKED = "not_asked"  # no central configured, or the business needs no check
    DONE = "done"  # the person's cards are as central knows them
    UNREACHABLE = "unreachable"  # the business went on; the next sync's merge settles it


@dataclass(frozen=True)
class Submitted:
    case_id: str
    number: str
    id_number: str
    status: CaseStatus
    missing: tuple[str, ...]  # materials still missing: the case was returned, the notice printed
    promised: dt.date | None
    provisional: bool  # the promise counts on a holiday calendar not yet published
    papers: dict[str, Path]  # kind (business_form, receipt, notice) -> PDF
    paper_error: ShebaoError | None = None  # the case is saved; only its papers could not be made
    central_check: CentralCheck = CentralCheck.NOT_ASKED

    @property
    def accepted(self) -> bool:
        return not self.missing


def submit(store: Store, request: CaseRequest, actor: Actor, policy: Policy, *, journal_id: str | None = None,
           central_url: str | None = None, now: dt.datetime | None = None) -> Submitted:
    """Take the clerk's request as a case: central first, a chip change journalled, the case
    accepted (or returned for missing materials), the papers rendered (see the module docstring)."""
    checked = _check_with_central(store, request, policy, central_url)
    approval = approve(store, request, policy, actor)
    if journal_id is not None:  # the chip was changed: say so first, then save the case with it
        card_business.chip_changed(store, journal_id, actor.clerk, actor.site)
        outcome = card_business.record(store, journal_id, request, actor.clerk, actor.site, policy, now)
    else:
        with actor.unit(store, f"intake {request.business}") as session:
            outcome = accept_case(session, request, session.merge(actor.clerk), session.merge(actor.site),
                                  policy, now, approval=approval)
    papers, problem = _papers(store, outcome.case, policy)
    return _submitted(outcome, papers, problem, checked)


def approve(store: Store, request: CaseRequest, policy: Policy, actor: Actor) -> Approval | None:
    """A supervisor's approval the request carries, once their password is checked (a wrong one counts
    toward their lockout, as at login); None when the request carries none."""
    asked = request.approval
    if asked is None:
        return None
    if not asked.reason.strip():
        raise ValidationError("请填写主管授权的原因")
    check_field("case", "reason", asked.reason.strip(), "授权原因")
    site = policy.site
    supervisor = login(store, asked.username, asked.password, max_failures=site.login_max_failures,
                       lockout_minutes=site.lockout_minutes, workstation=actor.site.workstation_id)
    if supervisor.role not in (Role.SUPERVISOR, Role.ADMIN):
        raise ValidationError(f"{supervisor.display_name}不是主管，不能授权", f"{supervisor.username} is {supervisor.role}")
    return Approval(supervisor.id, f"{supervisor.display_name}（{supervisor.username}）", asked.reason.strip())


def _check_with_central(store: Store, request: CaseRequest, policy: Policy, central_url: str | None) -> CentralCheck:
    url = central.central_url(policy) if central_url is None else central_url
    if not url or not policy.catalogue[request.business].central_check:
        return CentralCheck.NOT_ASKED
    if central.check_person_with_central(store, url, request.applicant.id_number):
        return CentralCheck.DONE
    return CentralCheck.UNREACHABLE


def _papers(store: Store, case: Case, policy: Policy) -> tuple[dict[str, Path], ShebaoError | None]:
    try:
        return render_papers(store, case.id, case.number, policy), None
    except ShebaoError as exc:  # the case is saved; only the paper failed
        log.warning("papers for %s failed: %s", case.number, exc.detail)
        return {}, exc


def _submitted(outcome: Outcome, papers: dict[str, Path], problem: ShebaoError | None,
               checked: CentralCheck) -> Submitted:
    case = outcome.case  # read after its unit closed: the session keeps loaded values (expire_on_commit off)
    return Submitted(case_id=case.id, number=case.number, id_number=case.person.id_number, status=case.status,
                     missing=tuple(outcome.missing), promised=case.promised_date,
                     provisional=bool(case.promise_provisional), papers=papers, paper_error=problem,
                     central_check=checked)
