"""What each business does to the store, one small function per business, in one table.

Each effect first asks ``card_rules`` whether the business may go ahead (raising the clerk's
reason if not), then changes the person, their cards and loss reports in the caller's unit
of work. Adding a business = a ``BusinessCode``, its [[business]] in businesses.toml, an
effect here, and its tests; ``test_every_business_has_one_effect`` keeps the three in step.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy.orm import Session

from sqlalchemy import select

from shebao_desk.clock import local_day
from shebao_desk.rules import card_rules
from shebao_desk.rules.card_states import LOSS_FUNCTIONS as LOSS_FUNCTIONS  # re-exported: the intake form's name
from shebao_desk.config.catalogue import BusinessCode
from shebao_desk.config.policy import Policy
from shebao_desk.errors import ValidationError
from shebao_desk.models import Card, CardStatus, Case, LossKind, LossReport, Person, PersonStatus, TempCard
from shebao_desk.services.case_request import CaseRequest

CHANGEABLE_FIELDS = ("name", "phone", "address", "ethnicity")  # what an info-change business may change


@dataclass(frozen=True)
class Act:
    """One business being taken: everything an effect may read or change."""

    session: Session
    req: CaseRequest
    case: Case
    person: Person
    policy: Policy
    now: dt.datetime


def _new_card(person: Person, generation: int = 3) -> Card:
    return Card(person=person, status=CardStatus.PENDING, generation=generation, losses=[])


def _void(card: Card, status: CardStatus, reason: str, now: dt.datetime) -> None:
    card.status = status
    card.void_at = now
    card.void_reason = reason


def apply(a: Act) -> None:
    card_rules.check_apply(a.person.cards)
    a.case.new_card = _new_card(a.person)


def activate(a: Act) -> None:
    card = card_rules.check_activate(a.person.cards, a.now)
    card.activated_at = a.now
    a.case.card = card


def temp_loss(a: Act) -> None:
    card, renewal = card_rules.check_temp_loss(a.person.cards, a.now)
    effective = card_rules.effective_minute(a.req.loss_effective_at or a.now)
    if effective > a.now:
        raise ValidationError("挂失生效时间不能晚于现在")
    loss = LossReport(card=card, kind=LossKind.TEMPORARY, channel=a.req.loss_channel,
                      functions=list(a.req.loss_functions), effective_at=effective,
                      expires_at=card_rules.temp_loss_expiry(effective, a.policy.site.temp_loss_days))
    a.case.card = card
    a.session.add(loss)
    a.case.reason = a.case.reason or ("续挂" if renewal else "")
    a.session.flush()
    loss.case_id = a.case.id


def formal_loss(a: Act) -> None:
    card = card_rules.check_formal_loss(a.person.cards)
    loss = LossReport(card=card, kind=LossKind.FORMAL, channel=a.req.loss_channel,
                      functions=list(LOSS_FUNCTIONS), effective_at=card_rules.effective_minute(a.now),
                      expires_at=None)
    a.session.add(loss)
    _void(card, CardStatus.FORMALLY_LOST, "正式挂失", a.now)
    a.case.card = card
    a.session.flush()
    loss.case_id = a.case.id


def lift_loss(a: Act) -> None:
    card, loss = card_rules.check_lift(a.person.cards, a.now)
    assert isinstance(loss, LossReport)  # one of card.losses: the ORM's own rows
    loss.lifted_at = a.now
    a.session.flush()
    loss.lifted_case_id = a.case.id
    a.case.card = card


def reissue(a: Act) -> None:
    a.case.card = card_rules.check_reissue(a.person.cards)
    a.case.new_card = _new_card(a.person)


def replace(a: Act) -> None:
    old = card_rules.check_replace(a.person.cards, a.now)
    reason = a.policy.catalogue[a.req.business].reason(a.req.reason)
    if reason is not None and reason.within_days_of_expiry is not None:  # 有效期届满
        expiry = old.expiry_date or (a.req.chip.expiry_date if a.req.chip and not _instant(a) else None)
        card_rules.check_expiry_renewal(expiry, local_day(a.now), reason.within_days_of_expiry)
    _void(old, CardStatus.REPLACED, a.req.reason or "换卡", a.now)
    a.case.card = old
    a.case.new_card = _new_card(a.person)


def pin_reset(a: Act) -> None:
    card = card_rules.check_pin_service(a.person.cards, a.now, a.policy.catalogue[BusinessCode.PIN_RESET].name)
    card.pin_reset_at = a.now
    card.activated_at = None  # the holder must activate again with the initial PIN
    a.case.card = card


def pin_unlock(a: Act) -> None:
    """A card locked by wrong PINs: the holder keeps the own PIN and the activation (unlike a reset)."""
    a.case.card = card_rules.check_pin_service(a.person.cards, a.now,
                                               a.policy.catalogue[BusinessCode.PIN_UNLOCK].name)


def pin_change(a: Act) -> None:
    a.case.card = card_rules.check_pin_service(a.person.cards, a.now,
                                               a.policy.catalogue[BusinessCode.PIN_CHANGE].name)


def info_change(a: Act) -> None:
    if not a.req.changes:
        raise ValidationError("请填写要变更的信息")
    for key, value in a.req.changes.items():
        if key not in CHANGEABLE_FIELDS:
            raise ValidationError(f"不能变更的字段：{key}")
        if not value.strip():
            raise ValidationError("变更后的信息不能为空")
        setattr(a.person, key, value.strip())
    a.case.card = card_rules.current_card(a.person.cards)


def cancel(a: Act) -> None:
    card = card_rules.check_cancel(a.person.cards, a.person.status is PersonStatus.CANCELLED)
    if card is not None:
        _void(card, CardStatus.CANCELLED, a.req.reason or "注销", a.now)
        a.case.card = card
    a.person.status = PersonStatus.CANCELLED
    a.person.cancelled_at = a.now


def temp_card(a: Act) -> None:
    """A temporary card handed over now, valid for [temp_card] valid_days, tracked until returned."""
    number = card_rules.check_temp_card(a.req.card_number, a.person.temp_cards)
    days = a.policy.catalogue.temp_card.valid_days
    issued = TempCard(person=a.person, number=number, issued_at=a.now,
                      valid_until=local_day(a.now) + dt.timedelta(days=days))
    a.session.add(issued)
    a.session.flush()
    issued.case_id = a.case.id


def return_temp_cards(person: Person, clerk_id: str, now: dt.datetime) -> list[TempCard]:
    """The person's temporary cards still out come back (the new card may be used only then)."""
    returned = card_rules.outstanding_temp_cards(person.temp_cards)
    for t in returned:
        t.returned_at, t.returned_by = now, clerk_id
    return returned


def _instant(a: Act) -> bool:
    return a.policy.catalogue[a.req.business].instant


def _hand_over(a: Act) -> None:
    """即时制卡: the new card was made on the spot; it is the holder's now, with the number printed on it."""
    card = a.case.new_card
    assert card is not None  # the wrapped apply/reissue/replace made it
    chip = a.req.chip
    number = a.req.card_number or (chip.card_number if chip else "")
    taken = a.session.scalar(select(Card.id).where(Card.card_number == number.strip().upper(),
                                                   Card.id != card.id).limit(1)) is not None
    card.card_number = card_rules.check_new_card_number(number, taken)
    if chip is not None and chip.card_number == card.card_number:  # the new card was read: its chip data too
        card.card_id, card.generation = chip.card_id, chip.generation
        card.expiry_date = chip.expiry_date
    card.status = CardStatus.NORMAL
    card.issue_date = local_day(a.now)
    return_temp_cards(a.person, a.case.accepted_by, a.now)  # handed over against the temporary card, as at collection


def instant(effect: Callable[[Act], None]) -> Callable[[Act], None]:
    """The same-day variant of 申领/补卡/换卡: the same rules, then the card handed over at once."""
    def made_now(a: Act) -> None:
        effect(a)
        _hand_over(a)
    made_now.__name__ = f"instant_{effect.__name__}"
    return made_now


EFFECTS: dict[BusinessCode, Callable[[Act], None]] = {
    BusinessCode.APPLY: apply,
    BusinessCode.ACTIVATE: activate,
    BusinessCode.TEMP_LOSS: temp_loss,
    BusinessCode.FORMAL_LOSS: formal_loss,
    BusinessCode.LIFT_LOSS: lift_loss,
    BusinessCode.REISSUE: reissue,
    BusinessCode.REPLACE: replace,
    BusinessCode.PIN_RESET: pin_reset,
    BusinessCode.PIN_CHANGE: pin_change,
    BusinessCode.INFO_CHANGE: info_change,
    BusinessCode.CANCEL: cancel,
    BusinessCode.PIN_UNLOCK: pin_unlock,
    BusinessCode.TEMP_CARD: temp_card,
    BusinessCode.INSTANT_APPLY: instant(apply),
    BusinessCode.INSTANT_REISSUE: instant(reissue),
    BusinessCode.INSTANT_REPLACE: instant(replace),
}
