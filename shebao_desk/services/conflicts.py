"""Sync conflicts a supervisor settles: what the merge rules flagged instead of deciding alone.

A merge never drops a card: a person left with two valid cards, or a cancelled person
still holding a valid card (made at one window while another cancelled the person),
is kept as it is and flagged in ``sync_conflict`` (see :mod:`shebao_desk.changes.merge`).
A supervisor settles it here by voiding the card(s) that must not stay valid; that is an
ordinary change and travels to every copy, where the merge closes the same conflict.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from shebao_desk.changes.merge import close_settled
from shebao_desk.clock import now_utc
from shebao_desk.errors import RuleViolation, ValidationError
from shebao_desk.models import Card, CardStatus, Clerk, Person, PersonStatus, Role, SyncConflict
from shebao_desk.rules.idnumber import mask_id_number

log = logging.getLogger(__name__)

KIND_LABELS = {"two_valid_cards": "一人有两张有效卡", "cancelled_person_valid_card": "已注销人员仍有有效卡"}
REASONS = {"two_valid_cards": "同步冲突：重复的有效卡，主管作废",
           "cancelled_person_valid_card": "同步冲突：人员已注销，主管作废"}


@dataclass(frozen=True)
class CardView:
    id: str
    card_number: str
    status: str
    created_at: dt.datetime


@dataclass(frozen=True)
class ConflictView:
    id: str
    kind: str
    person_id: str
    person_name: str
    masked_id_number: str
    person_cancelled: bool
    valid_cards: list[CardView]
    detected_at: dt.datetime
    resolved_at: dt.datetime | None

    @property
    def label(self) -> str:
        return KIND_LABELS.get(self.kind, self.kind)

    @property
    def needs_choice(self) -> bool:
        """Whether the supervisor picks the card to keep (else every valid card is voided)."""
        return self.kind == "two_valid_cards" and not self.person_cancelled


def list_conflicts(session: Session, *, include_resolved: bool = False) -> list[ConflictView]:
    query = select(SyncConflict).order_by(SyncConflict.detected_at, SyncConflict.id)
    if not include_resolved:
        query = query.where(SyncConflict.resolved_at.is_(None))
    out = []
    for conflict in session.scalars(query):
        person = session.get(Person, conflict.person_id)
        cards = [] if person is None else session.scalars(
            select(Card).where(Card.person_id == person.id, Card.status.in_((CardStatus.PENDING, CardStatus.NORMAL)))
            .order_by(Card.created_at, Card.id)).all()
        out.append(ConflictView(
            id=conflict.id, kind=conflict.kind, person_id=conflict.person_id,
            person_name=person.name if person else "", masked_id_number=mask_id_number(person.id_number) if person else "",
            person_cancelled=person is not None and person.status is PersonStatus.CANCELLED,
            valid_cards=[CardView(c.id, c.card_number, c.status.label, c.created_at) for c in cards],
            detected_at=conflict.detected_at, resolved_at=conflict.resolved_at))
    return out


def resolve_conflict(session: Session, conflict_id: str, clerk: Clerk, keep_card_id: str | None = None,
                     now: dt.datetime | None = None) -> list[str]:
    """Void the cards that must not stay valid; returns their ids. Only a supervisor may."""
    now = now or now_utc()
    if clerk.role not in (Role.SUPERVISOR, Role.ADMIN):
        raise RuleViolation("只有主管可以处理同步冲突", f"clerk {clerk.username} is {clerk.role}")
    matches = session.scalars(select(SyncConflict).where(SyncConflict.id.startswith(conflict_id.strip()))).all()
    if len(matches) != 1:
        raise ValidationError(f"没有编号为 {conflict_id} 的冲突" if not matches else f"编号 {conflict_id} 不唯一，请写全",
                              f"conflict {conflict_id!r}: {len(matches)} matches")
    conflict = matches[0]
    if conflict.resolved_at is not None:
        raise ValidationError("该冲突已处理", f"conflict {conflict.id} resolved at {conflict.resolved_at}")
    person = session.get(Person, conflict.person_id)
    valid = [] if person is None else [c for c in person.cards if c.status.valid]
    if conflict.kind == "two_valid_cards" and person is not None and person.status is not PersonStatus.CANCELLED:
        if keep_card_id is None:
            raise ValidationError("请选择要保留的那张卡", "keep card missing")
        keep = [c for c in valid if c.id == keep_card_id or (c.card_number and c.card_number == keep_card_id)]
        if len(keep) != 1:
            raise ValidationError("要保留的卡不是该人员的有效卡", f"keep {keep_card_id!r} not among valid cards")
        void = [c for c in valid if c is not keep[0]]
    else:
        void = valid  # a cancelled person holds no valid card
    for card in void:
        card.status = CardStatus.CANCELLED
        card.void_at = now
        card.void_reason = REASONS.get(conflict.kind, "同步冲突，主管作废")
    session.flush()
    conn = session.connection()
    close_settled(conn, {conflict.person_id})
    conn.execute(update(SyncConflict).where(SyncConflict.id == conflict.id, SyncConflict.resolved_at.is_(None))
                 .values(resolved_at=now))
    session.expire(conflict)
    log.info("conflict %s (%s) resolved by %s: voided %s", conflict.id, conflict.kind, clerk.username,
             ",".join(c.id for c in void) or "nothing")
    return [c.id for c in void]
