"""Property test: any sequence of businesses taken through the real ``intake.accept_case`` keeps the
card invariants. Each business runs in its own unit of work on a real (SQLite) store, as at the window;
a refused business (``RuleViolation``) is rolled back. The invariants are read back from the store."""

import datetime as dt
import itertools
import tempfile
from pathlib import Path

import pytest
from hypothesis import event, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from shebao_desk.rules import card_rules
from shebao_desk.services.auth import create_clerk
from shebao_desk.config.catalogue import BusinessCode, Mode
from shebao_desk.errors import RuleViolation
from shebao_desk.services.intake import accept_case, complete_case, find_person
from shebao_desk.services.case_request import CaseRequest
from shebao_desk.models import Card, Case, CaseStatus, Person, PersonStatus, Role
from shebao_desk.models.people import CardStatus, LossKind
from shebao_desk.config.policy import load_policy
from shebao_desk.store.site_identity import ensure_site
from shebao_desk.store.database import open_store

from conftest import MONDAY, applicant

_shared: dict = {}
_people = itertools.count(1)
_card_numbers = itertools.count(10_000_001)  # unique card numbers across every life


def shared():
    """One migrated store for all examples (migrating per example would dominate the run); one person each."""
    if not _shared:
        store = open_store(Path(tempfile.mkdtemp(prefix="card-life-")) / "store.sqlite3")
        policy = load_policy()
        with store.unit(None, "A", "test setup") as s:
            clerk = create_clerk(s, "wang", "王经办", "passw0rd!", Role.CLERK)
            site = ensure_site(s, policy.site, "A")
        _shared.update(store=store, policy=policy, clerk=clerk, site=site)
    return _shared


class CardLife(RuleBasedStateMachine):
    def __init__(self):
        super().__init__()
        env = shared()
        self.store, self.policy, self.clerk, self.site = env["store"], env["policy"], env["clerk"], env["site"]
        n = next(_people)
        self.who = applicant(n % 900 + 1, birth=dt.date(1960, 1, 1) + dt.timedelta(days=n // 900))
        self.now = MONDAY
        self.ever_void: set[str] = set()

    def take(self, business: BusinessCode, **kw) -> None:
        mode = Mode.AGENT if business is BusinessCode.CANCEL else Mode.SELF
        materials = set(self.policy.catalogue[business].required(mode))
        if mode is Mode.AGENT:
            from shebao_desk.services.case_request import AgentInput
            from shebao_desk.rules.idnumber import make_id_number
            kw["agent"] = AgentInput("张代办", make_id_number("611021", dt.date(1975, 1, 2), 33), "子女")
        if business is BusinessCode.INFO_CHANGE:
            kw["changes"] = {"phone": "13900000000"}
        spec = self.policy.catalogue[business]
        if spec.reason_required and spec.reasons:  # 注销 and the like: a reason picked from the list
            kw["reason"] = next((r.text for r in spec.reasons if r.within_days_of_expiry is None), spec.reasons[0].text)
        if self.policy.catalogue[business].hands_card:  # 即时制卡's new card, a 临时卡: numbered as handed over
            kw["card_number"] = f"C{next(_card_numbers):08d}"
        try:
            with self.store.unit(self.clerk.id, "A", f"test {business}") as s:
                accept_case(s, CaseRequest(business, mode, self.who, materials, **kw), s.merge(self.clerk),
                            s.merge(self.site), self.policy, self.now)
            event(f"{business} taken")
        except RuleViolation:
            event(f"{business} refused")  # the unit of work rolled back

    def cards(self):
        with self.store.read() as s:
            person = s.scalar(select(Person).where(Person.id_number == self.who.id_number)
                              .options(selectinload(Person.cards).selectinload(Card.losses)))
            if person is None:
                return [], False
            return list(person.cards), person.status is PersonStatus.CANCELLED

    @rule(minutes=st.integers(1, 60 * 24 * 3))
    def time_passes(self, minutes):
        self.now += dt.timedelta(minutes=minutes)

    @rule(business=st.sampled_from([b for b in BusinessCode if b is not BusinessCode.INFO_CHANGE]))
    def business(self, business):
        self.take(business)

    @rule()
    def info_change(self):
        self.take(BusinessCode.INFO_CHANGE)

    @rule()
    def collect(self):
        """The holder collects a new card: its case is completed (intake.complete_case)."""
        with self.store.unit(self.clerk.id, "A", "test collect") as s:
            person = find_person(s, self.who.id_number)
            if person is None:
                return
            for case in s.scalars(select(Case).where(Case.person_id == person.id,
                                                     Case.status == CaseStatus.ACCEPTED,
                                                     Case.new_card_id.is_not(None))):
                complete_case(s, case, s.merge(self.clerk), self.now)

    @invariant()
    def at_most_one_valid_card(self):
        cards, _ = self.cards()
        assert len(card_rules.valid_cards(cards)) <= 1

    @invariant()
    def void_never_comes_back(self):
        cards, _ = self.cards()
        for card in cards:
            if not card.status.valid:
                self.ever_void.add(card.id)
            assert not (card.id in self.ever_void and card.status.valid)

    @invariant()
    def formal_loss_only_on_void_cards_and_never_lifted(self):
        cards, _ = self.cards()
        for card in cards:
            for loss in card.losses:
                if loss.kind is LossKind.FORMAL:
                    assert card.status is CardStatus.FORMALLY_LOST and loss.lifted_at is None

    @invariant()
    def lifts_happen_only_while_in_force(self):
        cards, _ = self.cards()
        for card in cards:
            for loss in card.losses:
                if loss.lifted_at is not None:
                    assert loss.effective_at <= loss.lifted_at < loss.expires_at

    @invariant()
    def nothing_valid_after_cancel(self):
        cards, cancelled = self.cards()
        if cancelled:
            assert not card_rules.valid_cards(cards)


CardLife.TestCase.settings = settings(max_examples=60, stateful_step_count=40, deadline=None)
TestCardLife = pytest.mark.slow(CardLife.TestCase)  # 80 lives of 40 steps


def test_every_business_has_one_effect_and_one_catalogue_entry():
    from shebao_desk.services.card_effects import EFFECTS
    assert set(EFFECTS) == set(BusinessCode)
    assert set(load_policy().catalogue.businesses) == {b.value for b in BusinessCode}
