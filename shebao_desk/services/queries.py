"""Read-only questions the pages ask: search, today's work, lapsing losses, a case's history."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, and_, func, or_, select
from sqlalchemy.orm import Session, selectinload

from shebao_desk.clock import CHINA, local_day, now_utc
from shebao_desk.rules import card_rules
from shebao_desk.rules.idnumber import normalise
from shebao_desk.models import AuditEntry, Card, Case, CaseStatus, LossKind, LossReport, Person, TempCard

SEARCH_LIMIT = 200
LIST_LIMIT = 200  # rows a list on the Today page shows; its heading gives the full count
NO_CARD = "无卡"


@dataclass(frozen=True)
class SearchResult:
    people: list[Person]
    cases: list[Case]


def search(session: Session, text: str) -> SearchResult:
    """By ID number (whole or leading part), card number, case number or name prefix."""
    q = normalise(text)
    if not q:
        return SearchResult([], [])
    # The cards' losses with them: the page names a card 临时挂失中 from them, one lazy query per card
    # otherwise (two thirds of a surname search's page at 100k cases).
    people_query = (select(Person).options(selectinload(Person.cards).selectinload(Card.losses))
                    .order_by(Person.name).limit(SEARCH_LIMIT))
    if q[:1].isdigit():
        condition = Person.id_number == q if len(q) == 18 else _prefix(Person.id_number, q)
        people = list(session.scalars(people_query.where(condition)))
    else:
        # Two queries, not one with OR: on its own the name range is read in index order and stops at
        # the limit; OR'd with the card number, SQLite collected every match (a surname: ~10,000 of
        # 300,000 people) and sorted them all.
        # The card's holders by their ids, not by a subquery: with statistics SQLite walked the whole name
        # index for the ORDER BY and tested every person against the subquery.
        people = list(session.scalars(people_query.where(_prefix(Person.name, text.strip()))))
        found = {p.id for p in people}
        holder_ids = set(session.scalars(select(Card.person_id).where(Card.card_number == q))) - found
        holders = list(session.scalars(people_query.where(Person.id.in_(holder_ids)))) if holder_ids else []
        if holders:
            people = sorted(people + holders, key=lambda p: p.name)[:SEARCH_LIMIT]
    cases = list(session.scalars(
        select(Case).options(selectinload(Case.person))
        .where(or_(Case.number == q, Case.person_id.in_([p.id for p in people])))
        .order_by(Case.accepted_at.desc()).limit(SEARCH_LIMIT)))
    return SearchResult(people, cases)


def card_shown(cards: Sequence[Card], now: dt.datetime) -> tuple[str, str]:
    """The card to name for a person (the valid one, else the newest): its number ("" when not yet
    numbered) and its state as the clerk reads it (正常, 临时挂失中, …); ("", 无卡) when none."""
    card = card_rules.current_card(cards) or (cards[-1] if cards else None)
    if card is None:
        return "", NO_CARD
    return card.card_number, card_rules.state_label(card, now)


def _prefix(column: Any, prefix: str) -> Any:
    """``column LIKE 'prefix%'`` as a range, which SQLite answers from the column's index
    (its LIKE is case-insensitive and so cannot use an ordinary index)."""
    return (column >= prefix) & (column < prefix + "\U0010ffff")


def _day_bounds(day: dt.date) -> tuple[dt.datetime, dt.datetime]:
    start = dt.datetime.combine(day, dt.time(), CHINA).astimezone(dt.UTC)
    return start, start + dt.timedelta(days=1)


@dataclass(frozen=True)
class CaseLine:
    """One line of a case list: only the columns a list shows, read in one joined query (no ORM rows)."""

    id: str
    number: str
    business: str
    person_name: str
    person_id_number: str
    status: CaseStatus
    accepted_at: dt.datetime
    promised_date: dt.date | None
    promise_provisional: bool


_LINE = (Case.id, Case.number, Case.business, Person.name, Person.id_number, Case.status, Case.accepted_at,
         Case.promised_date, Case.promise_provisional)


def _lines(session: Session, condition: ColumnElement[bool], order: tuple[Any, ...], limit: int,
           offset: int = 0) -> list[CaseLine]:
    query = select(*_LINE).join(Person, Person.id == Case.person_id).where(condition)
    return [CaseLine(*row) for row in session.execute(query.order_by(*order).limit(limit).offset(offset))]


def todays_cases(session: Session, now: dt.datetime | None = None, limit: int = LIST_LIMIT) -> list[CaseLine]:
    start, end = _day_bounds(local_day(now or now_utc()))
    return _lines(session, and_(Case.accepted_at >= start, Case.accepted_at < end), (Case.accepted_at.desc(),), limit)


def _open_conditions(today: dt.date) -> tuple[ColumnElement[bool], ColumnElement[bool], ColumnElement[bool]]:
    """(in time with a promise, no promise, overdue) among accepted cases: each a range of
    ix_case_open (status, promised_date, accepted_at), so SQLite reads the rows in page order."""
    accepted = Case.status == CaseStatus.ACCEPTED
    return (and_(accepted, Case.promised_date >= today), and_(accepted, Case.promised_date.is_(None)),
            and_(accepted, Case.promised_date < today))


def open_cases(session: Session, now: dt.datetime | None = None, limit: int = LIST_LIMIT,
               offset: int = 0) -> tuple[list[CaseLine], list[CaseLine]]:
    """(open, overdue): accepted and not completed, earliest promise first (cases without a promise
    after them); overdue when past the promised date. Each list is one page (``limit`` rows from
    ``offset``); ``open_case_counts`` gives the totals."""
    promised, unpromised, overdue = _open_conditions(local_day(now or now_utc()))

    def page(condition: ColumnElement[bool], limit: int, offset: int) -> list[CaseLine]:
        return _lines(session, condition, (Case.promised_date, Case.accepted_at), limit, offset)
    in_time = page(promised, limit, offset)
    if len(in_time) < limit:  # the page runs past the promised ones into those without a promise
        skipped = 0 if in_time or offset == 0 else max(offset - _count(session, promised), 0)
        in_time += page(unpromised, limit - len(in_time), skipped)
    return in_time, page(overdue, limit, offset)


def _count(session: Session, condition: ColumnElement[bool]) -> int:
    return session.scalar(select(func.count()).select_from(Case).where(condition)) or 0


def open_case_counts(session: Session, now: dt.datetime | None = None) -> tuple[int, int]:
    """How many cases are open in time and overdue, counted by the database (not by loading them)."""
    promised, unpromised, overdue = _open_conditions(local_day(now or now_utc()))
    return _count(session, promised) + _count(session, unpromised), _count(session, overdue)


def losses_lapsing(session: Session, within: dt.timedelta = dt.timedelta(hours=24),
                   now: dt.datetime | None = None) -> list[LossReport]:
    now = now or now_utc()
    return list(session.scalars(
        select(LossReport).options(selectinload(LossReport.card).selectinload(Card.person))
        .where(LossReport.kind == LossKind.TEMPORARY, LossReport.lifted_at.is_(None),
               LossReport.effective_at <= now, LossReport.expires_at > now, LossReport.expires_at <= now + within)
        .order_by(LossReport.expires_at)))


def case_history(session: Session, case: Case) -> list[AuditEntry]:
    """Audit entries of the case and of the rows it touched (its person, cards, losses, temporary card)."""
    ids = {case.id, case.person_id} | {i for i in (case.card_id, case.new_card_id) if i}
    ids |= set(session.scalars(select(LossReport.id).where(LossReport.case_id == case.id)))
    ids |= set(session.scalars(select(TempCard.id).where(TempCard.case_id == case.id)))
    return list(session.scalars(select(AuditEntry).where(AuditEntry.row_id.in_(ids)).order_by(AuditEntry.at)))
