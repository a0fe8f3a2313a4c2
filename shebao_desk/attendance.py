"""Attendance (考勤): a clerk's sign-in and sign-out per working day."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from shebao_desk.clock import local_day, now_utc
from shebao_desk.models import Attendance
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
