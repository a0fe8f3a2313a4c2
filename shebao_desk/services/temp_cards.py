"""Temporary cards (临时卡) still out: the Today page's list, and their return.

A temporary card is handed over by the 临时卡 business (services/card_effects.py) and comes back
when the new card is collected (``intake.complete_case`` of a 补卡/换卡) or on its own, recorded
here. Until then it is listed, the overdue ones (past ``valid_until``) first.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from shebao_desk.clock import local_day, now_utc
from shebao_desk.errors import RuleViolation, ValidationError
from shebao_desk.models import Clerk, Person, TempCard
from shebao_desk.services.actor import Actor
from shebao_desk.store.database import Store

LIST_LIMIT = 200


@dataclass(frozen=True)
class OutstandingTempCard:
    id: str
    number: str
    person_name: str
    person_id_number: str
    issued_at: dt.datetime
    valid_until: dt.date
    overdue: bool  # past its last valid day and still not returned


def outstanding(session: Session, now: dt.datetime | None = None, limit: int = LIST_LIMIT) -> list[OutstandingTempCard]:
    """Temporary cards not returned, earliest validity first (the overdue ones lead), from ix_temp_card_outstanding."""
    today = local_day(now or now_utc())
    rows = session.execute(
        select(TempCard.id, TempCard.number, Person.name, Person.id_number, TempCard.issued_at, TempCard.valid_until)
        .join(Person, Person.id == TempCard.person_id).where(TempCard.returned_at.is_(None))
        .order_by(TempCard.valid_until, TempCard.issued_at).limit(limit))
    return [OutstandingTempCard(*row, overdue=row[5] < today) for row in rows]


def return_temp_card(session: Session, temp_card_id: str, clerk: Clerk, now: dt.datetime | None = None) -> TempCard:
    """The holder brought the temporary card back."""
    card = session.get(TempCard, temp_card_id)
    if card is None:
        raise ValidationError("找不到这张临时卡，可能已被同步删除", f"temp card {temp_card_id} not found")
    if card.returned_at is not None:
        raise RuleViolation(f"临时卡 {card.number} 已于 {card.returned_at:%Y-%m-%d} 交回", "temp card already returned")
    card.returned_at, card.returned_by = now or now_utc(), clerk.id
    session.flush()
    return card


def record_return(store: Store, actor: Actor, temp_card_id: str, *, now: dt.datetime | None = None) -> str:
    """``return_temp_card`` as one action in the clerk's name; the card's number."""
    with actor.unit(store, "return temp card") as session:
        return return_temp_card(session, temp_card_id, session.merge(actor.clerk), now).number
