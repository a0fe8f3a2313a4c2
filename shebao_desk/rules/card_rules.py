"""The card's state machine (DOMAIN.md §3), as pure checks over a person's cards.

Stored state is the card's status; whether a temporary loss is *in force* is
derived from its effective minute and the clock, so a loss lapses exactly 7 days
after its effective minute without any job having to run. Each ``check_*``
returns quietly when the business may go ahead, or raises :class:`RuleViolation`
with the reason a clerk can read to the applicant.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from typing import Protocol, TypeVar

from shebao_desk.clock import local_text
from shebao_desk.errors import RuleViolation
from shebao_desk.rules.card_states import CardStatus, LossKind


class LossLike(Protocol):  # read-only: the rules never write
    @property
    def kind(self) -> LossKind: ...
    @property
    def effective_at(self) -> dt.datetime: ...
    @property
    def expires_at(self) -> dt.datetime | None: ...
    @property
    def lifted_at(self) -> dt.datetime | None: ...


class CardLike(Protocol):
    @property
    def status(self) -> CardStatus: ...
    @property
    def card_number(self) -> str: ...
    @property
    def losses(self) -> Sequence[LossLike]: ...


# The checks hand back the caller's own card type (the ORM ``Card`` in intake), not the Protocol,
# so the caller can set the fields the rules do not read (activated_at, pin_reset_at).
C = TypeVar("C", bound=CardLike)


def effective_minute(at: dt.datetime) -> dt.datetime:
    """Losses take effect to the minute (the regulation counts from the reported minute)."""
    return at.replace(second=0, microsecond=0)


def temp_loss_expiry(effective_at: dt.datetime, days: int) -> dt.datetime:
    return effective_minute(effective_at) + dt.timedelta(days=days)


def loss_in_force(loss: LossLike, now: dt.datetime) -> bool:
    if loss.kind is not LossKind.TEMPORARY or loss.lifted_at is not None:
        return False
    return loss.effective_at <= now and (loss.expires_at is None or now < loss.expires_at)


def temp_loss_in_force(card: CardLike, now: dt.datetime) -> LossLike | None:
    """The temporary loss holding the card now, the latest if several."""
    active = [loss for loss in card.losses if loss_in_force(loss, now)]
    return max(active, key=lambda loss: loss.effective_at) if active else None


def state_label(card: CardLike, now: dt.datetime) -> str:
    if card.status is CardStatus.NORMAL and temp_loss_in_force(card, now):
        return "临时挂失中"
    return card.status.label


def valid_cards(cards: Sequence[C]) -> list[C]:
    return [c for c in cards if c.status.valid]


def current_card(cards: Sequence[C]) -> C | None:
    """The person's one valid card, if any (the newest if the store is inconsistent)."""
    valid = valid_cards(cards)
    return valid[-1] if valid else None


def _number(card: CardLike) -> str:
    return f"（卡号 {card.card_number}）" if card.card_number else ""


def check_not_cancelled(person_cancelled: bool) -> None:
    """After a cancellation (death, household cancelled) no business but the record remains."""
    if person_cancelled:
        raise RuleViolation("该人员的社会保障卡已注销，不能办理业务。", "person cancelled")


def check_apply(cards: Sequence[CardLike]) -> None:
    card = current_card(cards)
    if card is not None:
        raise RuleViolation(
            f"该人员已有有效的社会保障卡{_number(card)}，不能重复申领；卡片遗失请办理挂失和补卡，损坏请办理换卡。",
            f"apply refused: valid card exists ({card.status.value})")
    if any(c.status is CardStatus.FORMALLY_LOST for c in cards):
        raise RuleViolation("该人员的卡已正式挂失，请办理补卡，而不是重新申领。", "apply refused: formal loss exists, use reissue")
    if any(c.status is CardStatus.CANCELLED for c in cards):
        raise RuleViolation("该人员的社会保障卡已注销，不能再申领。", "apply refused: cancelled")


def _require_normal(cards: Sequence[C], what: str) -> C:
    card = current_card(cards)
    if card is None:
        raise RuleViolation(f"该人员没有有效的社会保障卡，不能{what}。", f"{what}: no valid card")
    if card.status is CardStatus.PENDING:
        raise RuleViolation(f"该人员的卡还在制卡中，尚未领取，不能{what}。", f"{what}: card pending")
    return card


def _require_not_lost(card: CardLike, now: dt.datetime, what: str) -> None:
    loss = temp_loss_in_force(card, now)
    if loss is not None:
        raise RuleViolation(
            f"该卡处于临时挂失中（至 {local_text(loss.expires_at)} 失效），请先解挂后再{what}。",
            f"{what}: temporary loss in force")


def check_activate(cards: Sequence[C], now: dt.datetime) -> C:
    card = _require_normal(cards, "启用")
    _require_not_lost(card, now, "启用")
    return card


def check_pin_service(cards: Sequence[C], now: dt.datetime, what: str) -> C:
    card = _require_normal(cards, what)
    _require_not_lost(card, now, what)
    return card


def check_temp_loss(cards: Sequence[C], now: dt.datetime) -> tuple[C, bool]:
    """The card to report lost and whether this renews a temporary loss still in force."""
    card = _require_normal(cards, "挂失")
    return card, temp_loss_in_force(card, now) is not None


def check_formal_loss(cards: Sequence[C]) -> C:
    return _require_normal(cards, "正式挂失")


def check_lift(cards: Sequence[C], now: dt.datetime) -> tuple[C, LossLike]:
    if any(c.status is CardStatus.FORMALLY_LOST for c in cards) and current_card(cards) is None:
        raise RuleViolation("该卡已正式挂失，正式挂失不可撤销，不能解挂；请办理补卡。", "lift refused: formal loss")
    card = _require_normal(cards, "解挂")
    loss = temp_loss_in_force(card, now)
    if loss is None:
        lapsed = [x for x in card.losses if x.kind is LossKind.TEMPORARY and x.lifted_at is None
                  and x.expires_at is not None and x.expires_at <= now]
        if lapsed:
            last = max(lapsed, key=lambda x: x.effective_at)
            raise RuleViolation(
                f"该卡的临时挂失已于 {local_text(last.expires_at)} 自动失效，无需解挂。",
                "lift refused: temporary loss lapsed")
        raise RuleViolation("该卡没有生效中的临时挂失，不能解挂。", "lift refused: no temporary loss in force")
    return card, loss


def check_reissue(cards: Sequence[C]) -> C:
    """The formally lost card the new one replaces."""
    card = current_card(cards)
    if card is not None:
        raise RuleViolation(
            f"补卡只能在正式挂失之后办理；该人员的卡{_number(card)}仍有效，请先办理正式挂失。",
            "reissue refused: valid card exists")
    lost = [c for c in cards if c.status is CardStatus.FORMALLY_LOST]
    if not lost:
        raise RuleViolation("该人员没有已正式挂失的卡，不能补卡。", "reissue refused: no formal loss")
    return lost[-1]


def check_replace(cards: Sequence[C], now: dt.datetime) -> C:
    card = _require_normal(cards, "换卡")
    _require_not_lost(card, now, "换卡")
    return card


def check_cancel(cards: Sequence[C], person_cancelled: bool) -> C | None:
    if person_cancelled:
        raise RuleViolation("该人员的社会保障卡已经注销。", "cancel refused: already cancelled")
    return current_card(cards)


# -- the card handed over now (即时制卡) and the temporary card (临时卡) --------------------------

CARD_NUMBER = re.compile(r"[A-Z][0-9]{8}")  # DOMAIN.md §2: EF05 tag 07, a letter and 8 digits
TEMP_CARD_NUMBER = re.compile(r"[A-Za-z0-9]{1,20}")  # printed on the temporary card; no national form known


def check_new_card_number(number: str, taken_by_other: bool) -> str:
    """The number of a card made on the spot, as printed on it (upper-cased)."""
    number = number.strip().upper()
    if not number:
        raise RuleViolation("即时制卡须登记新卡卡号（读卡或照卡面填写）", "instant card without a number")
    if not CARD_NUMBER.fullmatch(number):
        raise RuleViolation(f"新卡卡号“{number}”有误：应为 1 个字母加 8 位数字", "instant card number of wrong form")
    if taken_by_other:
        raise RuleViolation(f"卡号 {number} 已登记在另一张卡上，请核对", "instant card number taken")
    return number


class TempCardLike(Protocol):
    @property
    def number(self) -> str: ...
    @property
    def valid_until(self) -> dt.date: ...
    @property
    def returned_at(self) -> dt.datetime | None: ...


T = TypeVar("T", bound=TempCardLike)


def outstanding_temp_cards(temp_cards: Sequence[T]) -> list[T]:
    return [t for t in temp_cards if t.returned_at is None]


def check_temp_card(number: str, temp_cards: Sequence[TempCardLike]) -> str:
    """A temporary card may be handed over when none is still out; returns its number as recorded."""
    out = outstanding_temp_cards(temp_cards)
    if out:
        raise RuleViolation(
            f"该人员已领临时卡（卡号 {out[-1].number}，有效期至 {out[-1].valid_until:%Y-%m-%d}）尚未交回，"
            "请先交回再领", "temp card refused: one still out")
    number = number.strip()
    if not TEMP_CARD_NUMBER.fullmatch(number):
        raise RuleViolation("请填写临时卡卡号（照卡面填写，字母或数字）", "temp card number missing or of wrong form")
    return number


def check_expiry_renewal(expiry: dt.date | None, today: dt.date, within_days: int) -> None:
    """有效期届满 as a reason: the card's expiry (when known) must have come, or be within ``within_days``."""
    if expiry is not None and expiry > today + dt.timedelta(days=within_days):
        raise RuleViolation(
            f"该卡有效期至 {expiry:%Y-%m-%d}，尚未届满（到期前 {within_days} 天内才可按“有效期届满”换卡）；"
            "卡片损坏等请选择相应的办理原因", "expiry renewal refused: expiry too far")
