"""Read-only questions the pages ask: search, today's work, lapsing losses, a case's history."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import or_, select
from sqlalchemy.orm import Session, selectinload

from shebao_desk.clock import CHINA, local_day, now_utc
from shebao_desk.idnumber import normalise
from shebao_desk.models import AuditEntry, Card, Case, CaseStatus, LossKind, LossReport, Person

SEARCH_LIMIT = 200


@dataclass(frozen=True)
class SearchResult:
    people: list[Person]
    cases: list[Case]


def search(session: Session, text: str) -> SearchResult:
    """By ID number (whole or leading part), card number, case number or name prefix."""
    q = normalise(text)
    if not q:
        return SearchResult([], [])
    people_query = select(Person).options(selectinload(Person.cards)).order_by(Person.name).limit(SEARCH_LIMIT)
    if q[:1].isdigit():
        condition = Person.id_number == q if len(q) == 18 else _prefix(Person.id_number, q)
        people = list(session.scalars(people_query.where(condition)))
    else:
        by_card = select(Card.person_id).where(Card.card_number == q)
        people = list(session.scalars(people_query.where(or_(_prefix(Person.name, text.strip()),
                                                              Person.id.in_(by_card)))))
    cases = list(session.scalars(
        select(Case).options(selectinload(Case.person))
        .where(or_(Case.number == q, Case.person_id.in_([p.id for p in people])))
        .order_by(Case.accepted_at.desc()).limit(SEARCH_LIMIT)))
    return SearchResult(people, cases)


def _prefix(column, prefix: str):
    """``column LIKE 'prefix%'`` as a range, which SQLite answers from the column's index
    (its LIKE is case-insensitive and so cannot use an ordinary index)."""
    return (column >= prefix) & (column < prefix + "\U0010ffff")


def _day_bounds(day: dt.date) -> tuple[dt.datetime, dt.datetime]:
    start = dt.datetime.combine(day, dt.time(), CHINA).astimezone(dt.UTC)
    return start, start + dt.timedelta(days=1)


def todays_cases(session: Session, now: dt.datetime | None = None) -> list[Case]:
    start, end = _day_bounds(local_day(now or now_utc()))
    return list(session.scalars(select(Case).options(selectinload(Case.person))
                                .where(Case.accepted_at >= start, Case.accepted_at < end)
                                .order_by(Case.accepted_at.desc())))


def open_cases(session: Session, now: dt.datetime | None = None) -> tuple[list[Case], list[Case]]:
    """(open, overdue): accepted and not completed; overdue when past the promised date."""
    today = local_day(now or now_utc())
    rows = list(session.scalars(select(Case).options(selectinload(Case.person))
                                .where(Case.status == CaseStatus.ACCEPTED).order_by(Case.promised_date)))
    overdue = [c for c in rows if c.promised_date is not None and c.promised_date < today]
    return [c for c in rows if c not in overdue], overdue


def losses_lapsing(session: Session, within: dt.timedelta = dt.timedelta(hours=24),
                   now: dt.datetime | None = None) -> list[LossReport]:
    now = now or now_utc()
    return list(session.scalars(
        select(LossReport).options(selectinload(LossReport.card).selectinload(Card.person))
        .where(LossReport.kind == LossKind.TEMPORARY, LossReport.lifted_at.is_(None),
               LossReport.effective_at <= now, LossReport.expires_at > now, LossReport.expires_at <= now + within)
        .order_by(LossReport.expires_at)))


def case_history(session: Session, case: Case) -> list[AuditEntry]:
    """Audit entries of the case and of the rows it touched (its person, cards, losses)."""
    ids = {case.id, case.person_id} | {i for i in (case.card_id, case.new_card_id) if i}
    ids |= set(session.scalars(select(LossReport.id).where(LossReport.case_id == case.id)))
    return list(session.scalars(select(AuditEntry).where(AuditEntry.row_id.in_(ids)).order_by(AuditEntry.at)))
