"""Attendance (考勤): a clerk's sign-in and sign-out per working day."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from shebao_desk.clock import local, local_day, now_utc
from shebao_desk.config.workdays import WorkCalendar
from shebao_desk.models import Attendance, Clerk
from shebao_desk.models.base import stable_uuid


def sign_in(session: Session, clerk_id: str, workstation: str, now: dt.datetime | None = None) -> Attendance:
    """The first login of the day signs in; later logins that day keep the first time."""
    now = now or now_utc()
    day = local_day(now)
    row = session.scalar(select(Attendance).where(Attendance.clerk_id == clerk_id, Attendance.day == day))
    if row is None:
        row = Attendance(id=stable_uuid("attendance", f"{clerk_id}:{day}"), clerk_id=clerk_id, day=day, sign_in_at=now, workstation=workstation)
        session.add(row)
        session.flush()
    return row


def sign_out(session: Session, clerk_id: str, now: dt.datetime | None = None) -> Attendance | None:
    now = now or now_utc()
    row = session.scalar(select(Attendance).where(Attendance.clerk_id == clerk_id, Attendance.day == local_day(now)))
    if row is not None:
        row.sign_out_at = now
    return row


@dataclass(frozen=True)
class AttendanceDay:
    clerk: str
    day: dt.date
    sign_in: str
    sign_out: str
    hours: float | None
    late: bool
    left_early: bool
    absent: bool


def attendance_report(session: Session, start: dt.date, end: dt.date, calendar: WorkCalendar, opens: dt.time,
                      closes: dt.time) -> list[AttendanceDay]:
    """Every active clerk on every working day in [start, end): present, late, early, absent."""
    clerks = list(session.scalars(select(Clerk).where(Clerk.active.is_(True)).order_by(Clerk.display_name)))
    calendar.refresh(session)  # an official year that arrived by sync
    rows = {(a.clerk_id, a.day): a for a in session.scalars(
        select(Attendance).where(Attendance.day >= start, Attendance.day < end))}
    # A day before the clerk's account existed is no absence: the clerk was not yet on the roll.
    first_day = {clerk.id: local(clerk.created_at).date() for clerk in clerks}
    out = []
    day = start
    while day < end:
        if calendar.is_workday(day):
            for clerk in clerks:
                a = rows.get((clerk.id, day))
                if a is None and day < first_day[clerk.id]:
                    continue
                if a is None or a.sign_in_at is None:
                    out.append(AttendanceDay(clerk.display_name, day, "", "", None, False, False, True))
                    continue
                came = local(a.sign_in_at)
                went = local(a.sign_out_at) if a.sign_out_at else None
                hours = (round((a.sign_out_at - a.sign_in_at).total_seconds() / 3600, 1)
                         if a.sign_out_at else None)
                out.append(AttendanceDay(clerk.display_name, day, f"{came:%H:%M}", f"{went:%H:%M}" if went else "",
                                         hours, came.time() > opens, bool(went and went.time() < closes), False))
        day += dt.timedelta(days=1)
    return out
