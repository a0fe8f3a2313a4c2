"""Statistics for staff assessment (Article 3): cases per period, by business and by clerk.

Definitions (the numbers a supervisor sees, and the tests check against SQL):
- 受理 accepted: cases accepted in the period and not returned for materials;
- 退回 returned: cases returned for materials in the period;
- 办结 completed: cases completed in the period;
- 按期 / 超期: completed cases with a promised date, on or before it / after it
  (cases completed on the spot count as on time);
- 平均办理天数: mean of (completed − accepted) in days over completed cases with a promised date.
Periods are China calendar days; weeks start on Monday.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Date, SQLColumnExpression, case, cast, func, literal, select
from sqlalchemy.orm import Session

from shebao_desk.clock import CHINA
from shebao_desk.config.policy import Policy
from shebao_desk.models import Case, CaseStatus, Clerk

PERIODS = ("day", "week", "month")


@dataclass(frozen=True)
class Period:
    kind: str
    start: dt.date
    end: dt.date  # exclusive

    @property
    def label(self) -> str:
        if self.kind == "day":
            return f"{self.start:%Y-%m-%d}"
        if self.kind == "week":
            return f"{self.start:%Y-%m-%d} 至 {self.end - dt.timedelta(days=1):%Y-%m-%d}"
        return f"{self.start:%Y年%m月}"

    def utc_bounds(self) -> tuple[dt.datetime, dt.datetime]:
        start, end = (dt.datetime.combine(d, dt.time(), CHINA).astimezone(dt.UTC) for d in (self.start, self.end))
        return start, end


def period_of(kind: str, day: dt.date) -> Period:
    if kind == "day":
        return Period(kind, day, day + dt.timedelta(days=1))
    if kind == "week":
        start = day - dt.timedelta(days=day.weekday())
        return Period(kind, start, start + dt.timedelta(days=7))
    if kind == "month":
        start = day.replace(day=1)
        end = (start + dt.timedelta(days=32)).replace(day=1)
        return Period(kind, start, end)
    raise ValueError(kind)


def month(text: str) -> Period:
    """``YYYY-MM`` → that month."""
    try:
        year, mon = (int(x) for x in text.split("-"))
        return period_of("month", dt.date(year, mon, 1))
    except ValueError:
        raise ValueError(f"月份应写成 YYYY-MM，如 2026-03（现为 {text}）") from None


@dataclass(frozen=True)
class StatRow:
    key: str
    label: str
    accepted: int
    returned: int
    completed: int
    on_time: int
    late: int
    avg_days: float | None


def _local_date(session: Session, column: SQLColumnExpression[Any]) -> ColumnElement[Any]:
    """The China calendar date of a UTC timestamp column, in SQL."""
    if session.get_bind().dialect.name == "sqlite":
        return func.date(column, "+8 hours")
    return cast(column + literal(dt.timedelta(hours=8)), Date)


def _days_between(session: Session, later: SQLColumnExpression[Any],
                  earlier: SQLColumnExpression[Any]) -> ColumnElement[Any]:
    if session.get_bind().dialect.name == "sqlite":
        return func.julianday(later) - func.julianday(earlier)
    return func.extract("epoch", later - earlier) / 86400.0


def of_window(window: str) -> ColumnElement[bool]:
    """Cases accepted at this window: the case number starts ``<window><workstation>-``. A store
    also holds cases of people looked up from other windows; those are the other window's."""
    return Case.number.like(literal(window) + Case.workstation + literal("-%"))


def window_of_case() -> ColumnElement[Any]:
    """The window code in a case's number (PostgreSQL: the central city report)."""
    head = func.split_part(Case.number, "-", 1)
    return func.left(head, func.length(head) - func.length(Case.workstation))


Counts = list[Any]  # [accepted, returned, completed, on time, late, sum of days, cases with days]


def _counts(session: Session, period: Period, groups: tuple[SQLColumnExpression[Any], ...],
            window: str | None = None) -> dict[tuple[Any, ...], Counts]:
    """The period's counts per value of ``groups``: two range scans, one by acceptance and one by
    completion, each served from its covering index (ix_case_accepted_report, ix_case_completed_report)."""
    start, end = period.utc_bounds()
    mine = of_window(window) if window else literal(True)
    intake = session.execute(
        select(*groups,
               func.sum(case((Case.status != CaseStatus.RETURNED, 1), else_=0)),
               func.sum(case((Case.status == CaseStatus.RETURNED, 1), else_=0)))
        .where(Case.accepted_at >= start, Case.accepted_at < end, mine).group_by(*groups)).all()
    done_day = _local_date(session, Case.completed_at)
    on_time = case((Case.promised_date.is_(None), 1), (done_day <= Case.promised_date, 1), else_=0)
    late = case((Case.promised_date.is_not(None) & (done_day > Case.promised_date), 1), else_=0)
    span = case((Case.promised_date.is_not(None), _days_between(session, Case.completed_at, Case.accepted_at)))
    done = session.execute(
        select(*groups, func.count(), func.sum(on_time), func.sum(late), func.sum(span), func.count(span))
        .where(Case.completed_at >= start, Case.completed_at < end, mine).group_by(*groups)).all()
    n = len(groups)
    out: dict[tuple[Any, ...], Counts] = {}
    for row in intake:
        out[tuple(row[:n])] = [int(row[n] or 0), int(row[n + 1] or 0), 0, 0, 0, 0.0, 0]
    for row in done:
        counts = out.setdefault(tuple(row[:n]), [0, 0, 0, 0, 0, 0.0, 0])
        counts[2:] = [int(row[n]), int(row[n + 1] or 0), int(row[n + 2] or 0), float(row[n + 3] or 0),
                      int(row[n + 4] or 0)]
    return out


def _rolled_up(counts: dict[tuple[Any, ...], Counts], part: int | None) -> dict[str, list[Any]]:
    """Counts summed by the ``part``-th group value (None: all together, as "total"), with the mean days."""
    sums: dict[str, Counts] = {}
    for key, row in counts.items():
        into = sums.setdefault("total" if part is None else key[part], [0, 0, 0, 0, 0, 0.0, 0])
        for i, value in enumerate(row):
            into[i] += value
    return {key: [*row[:5], round(row[5] / row[6], 1) if row[6] else None] for key, row in sums.items()}


def _stats(session: Session, period: Period, group_column: SQLColumnExpression[Any],
           window: str | None = None) -> dict[str, list[Any]]:
    return _rolled_up(_counts(session, period, (group_column,), window), 0)


def _business_rows(stats: dict[str, list[Any]], names: dict[str, str]) -> list[StatRow]:
    return [StatRow(code, names.get(code, code), *stats[code]) for code in names if code in stats]


def _clerk_rows(session: Session, stats: dict[str, list[Any]]) -> list[StatRow]:
    clerks = {c.id: c.display_name for c in session.scalars(select(Clerk))}
    return sorted((StatRow(k, clerks.get(k, k), *v) for k, v in stats.items()), key=lambda r: r.label)


def _total_row(stats: dict[str, list[Any]]) -> StatRow:
    return StatRow("total", "合计", *stats.get("total", [0, 0, 0, 0, 0, None]))


def by_business(session: Session, period: Period, names: dict[str, str], window: str | None = None) -> list[StatRow]:
    return _business_rows(_stats(session, period, Case.business, window), names)


def by_clerk(session: Session, period: Period, window: str | None = None) -> list[StatRow]:
    """By the clerk who accepted the case (first-inquiry ownership of the case)."""
    return _clerk_rows(session, _stats(session, period, Case.accepted_by, window))


def overall(session: Session, period: Period, window: str | None = None) -> StatRow:
    return _total_row(_rolled_up(_counts(session, period, (), window), None))


HEADERS = ["", "受理", "退回补材料", "办结", "按期办结", "超期办结", "平均办理天数"]


def as_table(rows: list[StatRow]) -> list[list[Any]]:
    return [[r.label, r.accepted, r.returned, r.completed, r.on_time, r.late,
             "" if r.avg_days is None else r.avg_days] for r in rows]


def report_sections(session: Session, period: Period, policy: Policy,
                    window: str | None = None) -> list[tuple[str, list[StatRow]]]:
    """The two tables of every statistics view and export: by business (with the total), by clerk.
    With ``window``, only the cases accepted at that window."""
    names = {b.code: b.name for b in policy.catalogue}
    counts = _counts(session, period, (Case.business, Case.accepted_by), window)  # one pass for all three
    return [("按业务", [*_business_rows(_rolled_up(counts, 0), names), _total_row(_rolled_up(counts, None))]),
            ("按经办人", _clerk_rows(session, _rolled_up(counts, 1)))]


def city_sections(session: Session, period: Period, policy: Policy) -> list[tuple[str, list[StatRow]]]:
    """From the central database: every window of the city (each row the same numbers as that
    window's own report), then the city by business."""
    names = {b.code: b.name for b in policy.catalogue}
    counts = _counts(session, period, (window_of_case(), Case.business))
    stats = _rolled_up(counts, 0)
    windows = [StatRow(k, k, *stats[k]) for k in sorted(stats)]
    return [("按窗口", [*windows, _total_row(_rolled_up(counts, None))]),
            ("按业务", _business_rows(_rolled_up(counts, 1), names))]
