"""Property test: any sequence of businesses the rules allow keeps the invariants."""

import datetime as dt
from dataclasses import dataclass, field

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from shebao_desk import card_rules
from shebao_desk.errors import RuleViolation
from shebao_desk.models.people import CardStatus, LossKind

T0 = dt.datetime(2026, 3, 9, 1, 0, tzinfo=dt.UTC)


@dataclass
class Loss:
    kind: LossKind
    effective_at: dt.datetime
    expires_at: dt.datetime | None
    lifted_at: dt.datetime | None = None


@dataclass
class FakeCard:
    status: CardStatus
    card_number: str = ""
    losses: list = field(default_factory=list)


class CardLife(RuleBasedStateMachine):
    def __init__(self):
        super().__init__()
        self.cards: list[FakeCard] = []
        self.now = T0
        self.cancelled = False
        self.ever_void: set[int] = set()

    def attempt(self, fn, business=""):
        """As the intake service does: a cancelled person can do nothing but be cancelled (refused)."""
        try:
            if business != "cancel":
                card_rules.check_not_cancelled(self.cancelled)
            fn()
        except RuleViolation:
            pass

    @rule(minutes=st.integers(1, 60 * 24 * 9))
    def time_passes(self, minutes):
        self.now += dt.timedelta(minutes=minutes)

    @rule()
    def apply(self):
        def go():
            card_rules.check_apply(self.cards)
            self.cards.append(FakeCard(CardStatus.PENDING))
        self.attempt(go)

    @rule()
    def collect(self):
        for card in self.cards:
            if card.status is CardStatus.PENDING:
                card.status = CardStatus.NORMAL

    @rule()
    def temp_loss(self):
        def go():
            card, _ = card_rules.check_temp_loss(self.cards, self.now)
            eff = card_rules.effective_minute(self.now)
            card.losses.append(Loss(LossKind.TEMPORARY, eff, card_rules.temp_loss_expiry(eff, 7)))
        self.attempt(go)

    @rule()
    def lift(self):
        def go():
            _, loss = card_rules.check_lift(self.cards, self.now)
            assert card_rules.loss_in_force(loss, self.now)
            loss.lifted_at = self.now
        self.attempt(go)

    @rule()
    def formal_loss(self):
        def go():
            card = card_rules.check_formal_loss(self.cards)
            card.losses.append(Loss(LossKind.FORMAL, self.now, None))
            card.status = CardStatus.FORMALLY_LOST
        self.attempt(go)

    @rule()
    def reissue(self):
        def go():
            lost = card_rules.check_reissue(self.cards)
            assert lost.status is CardStatus.FORMALLY_LOST
            self.cards.append(FakeCard(CardStatus.PENDING))
        self.attempt(go)

    @rule()
    def replace(self):
        def go():
            old = card_rules.check_replace(self.cards, self.now)
            assert card_rules.temp_loss_in_force(old, self.now) is None
            old.status = CardStatus.REPLACED
            self.cards.append(FakeCard(CardStatus.PENDING))
        self.attempt(go)

    @rule()
    def cancel(self):
        def go():
            card = card_rules.check_cancel(self.cards, self.cancelled)
            if card is not None:
                card.status = CardStatus.CANCELLED
            self.cancelled = True
        self.attempt(go, "cancel")

    @invariant()
    def at_most_one_valid_card(self):
        assert len(card_rules.valid_cards(self.cards)) <= 1

    @invariant()
    def void_never_comes_back(self):
        for i, card in enumerate(self.cards):
            if not card.status.valid:
                self.ever_void.add(i)
            assert not (i in self.ever_void and card.status.valid)

    @invariant()
    def formal_loss_only_on_void_cards_and_never_lifted(self):
        for card in self.cards:
            for loss in card.losses:
                if loss.kind is LossKind.FORMAL:
                    assert card.status is CardStatus.FORMALLY_LOST and loss.lifted_at is None

    @invariant()
    def lifts_happen_only_while_in_force(self):
        for card in self.cards:
            for loss in card.losses:
                if loss.lifted_at is not None:
                    assert loss.effective_at <= loss.lifted_at < loss.expires_at

    @invariant()
    def nothing_valid_after_cancel(self):
        if self.cancelled:
            assert not card_rules.valid_cards(self.cards)


CardLife.TestCase.settings = settings(max_examples=400, stateful_step_count=40, deadline=None)
TestCardLife = CardLife.TestCase
