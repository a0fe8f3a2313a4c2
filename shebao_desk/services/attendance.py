"""Attendance (考勤): a clerk's working day, from the first sign-in to the last sign-out.

Article 3 makes attendance an assessment item, so a false 早退 matters. The rules:

- the first login of a working day signs the clerk in; later logins keep that time;
- signing out is a deliberate act (我要签退), and the last one of the day counts; logging out,
  locking the screen, switching users at a shared PC or closing the program is not leaving;
- lateness and early leave are judged at the minute the clerk reads, boundaries inclusive:
  signing in at 08:30 for an 08:30 opening is on time, signing out at 18:00 for an 18:00 close too;
- early leave is judged only once the day's working hours are over, from the last sign-out; a day
  without any sign-out is shown as such, not as early leave.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session

from shebao_desk.clock import CHINA, local, local_day, now_utc
from shebao_desk.models import Attendance, Clerk
from shebao_desk.models.base import stable_uuid


class WorkingDays(Protocol):
    def refresh(self, session: Session) -> None: ...

    def is_workday(self, day: dt.date) -> bool: ...


def _day_row(session: Session, clerk_id: str, day: dt.date) -> Attendance | None:
    return session.scalar(select(Attendance).where(Attendance.clerk_id == clerk_id, Attendance.day == day))


def sign_in(session: Session, clerk_id: str, workstation: str, now: dt.datetime | None = None) -> Attendance:
    """The first login of the day signs in; later logins that day keep the first time."""
    now = now or now_utc()
    day = local_day(now)
    row = _day_row(session, clerk_id, day)
    if row is None:
        row = Attendance(id=stable_uuid("attendance", f"{clerk_id}:{day}"), clerk_id=clerk_id, day=day,
                         sign_in_at=now, workstation=workstation)
        session.add(row)
        session.flush()
    elif row.sign_in_at is None or now < row.sign_in_at:
        row.sign_in_at = now
    return row


def sign_out(session: Session, clerk_id: str, now: dt.datetime | None = None) -> Attendance | None:
    """The clerk leaves for the day (我要签退): the last sign-out of the day is the one that counts."""
    now = now or now_utc()
    row = _day_row(session, clerk_id, local_day(now))
    if row is not None:
        row.sign_out_at = now
    return row


def on_the_minute(at: dt.datetime) -> dt.time:
    """The China time the clerk reads (HH:MM): the minute judges, seconds never make anyone late."""
    return local(at).time().replace(second=0, microsecond=0)


def late(sign_in_at: dt.datetime, opens: dt.time) -> bool:
    return on_the_minute(sign_in_at) > opens


def left_early(sign_out_at: dt.datetime | None, closes: dt.time) -> bool:
    return sign_out_at is not None and on_the_minute(sign_out_at) < closes


def day_over(day: dt.date, closes: dt.time, now: dt.datetime) -> bool:
    """The day's working hours are over: only then can its last sign-out be judged."""
    return now >= dt.datetime.combine(day, closes, CHINA)


@dataclass(frozen=True)
class AttendanceDay:
    clerk: str
    day: dt.date
    sign_in: str
    sign_out: str  # HH:MM; "未签退" for a finished day without one; "" while the day goes on
    hours: float | None
    late: bool
    left_early: bool
    absent: bool


NOT_SIGNED_OUT = "未签退"


def attendance_report(session: Session, start: dt.date, end: dt.date, calendar: WorkingDays, opens: dt.time,
                      closes: dt.time, now: dt.datetime | None = None) -> list[AttendanceDay]:
    """Every active clerk on every working day in [start, end): present, late, early, absent."""
    now = now or now_utc()
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
                out.append(_present(clerk.display_name, a, a.sign_in_at, opens, closes, day_over(day, closes, now)))
        day += dt.timedelta(days=1)
    return out


def _present(name: str, a: Attendance, came: dt.datetime, opens: dt.time, closes: dt.time,
             over: bool) -> AttendanceDay:
    went = a.sign_out_at
    hours = round((went - came).total_seconds() / 3600, 1) if went else None
    shown_out = f"{local(went):%H:%M}" if went else (NOT_SIGNED_OUT if over else "")
    return AttendanceDay(name, a.day, f"{local(came):%H:%M}", shown_out, hours, late(came, opens),
                         over and left_early(went, closes), False)
