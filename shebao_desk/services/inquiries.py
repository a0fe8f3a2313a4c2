"""Inquiries under first-inquiry responsibility (首问负责制): the first clerk owns it until closed or handed over."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from shebao_desk.clock import local_text, now_utc
from shebao_desk.errors import RuleViolation, ValidationError
from shebao_desk.models import Clerk, Inquiry
from shebao_desk.services.intake import find_person


def open_inquiry(session: Session, clerk: Clerk, topic: str, person_id: str | None = None, note: str = "",
                 now: dt.datetime | None = None) -> Inquiry:
    if not topic.strip():
        raise ValidationError("请选择或填写咨询主题")
    inquiry = Inquiry(topic=topic.strip(), note=note.strip(), person_id=person_id, owner_id=clerk.id,
                      opened_at=now or now_utc())
    session.add(inquiry)
    session.flush()
    return inquiry


def _require_owner(inquiry: Inquiry, clerk: Clerk) -> None:
    if inquiry.closed_at is not None:
        raise RuleViolation("该咨询已办结", "inquiry closed")
    if inquiry.owner_id != clerk.id:
        raise RuleViolation("只有首问责任人可以办结或移交该咨询", "not the owner")


def close_inquiry(session: Session, inquiry: Inquiry, clerk: Clerk, note: str = "",
                  now: dt.datetime | None = None) -> None:
    _require_owner(inquiry, clerk)
    inquiry.closed_at = now or now_utc()
    if note.strip():
        inquiry.note = (inquiry.note + "\n" if inquiry.note else "") + note.strip()


def hand_over(session: Session, inquiry: Inquiry, clerk: Clerk, to: Clerk, note: str,
              now: dt.datetime | None = None) -> None:
    """Ownership passes only with a note saying what was done and what is left."""
    _require_owner(inquiry, clerk)
    if to.id == clerk.id:
        raise ValidationError("不能移交给自己")
    if not note.strip():
        raise ValidationError("移交时请写明已办情况和待办事项")
    stamp = local_text(now or now_utc())
    inquiry.handover_note = (inquiry.handover_note + "\n" if inquiry.handover_note else "") + \
        f"{stamp} {clerk.display_name} → {to.display_name}：{note.strip()}"
    inquiry.owner_id = to.id


def open_inquiries(session: Session, owner_id: str | None = None) -> list[Inquiry]:
    query = select(Inquiry).where(Inquiry.closed_at.is_(None)).order_by(Inquiry.opened_at)
    if owner_id:
        query = query.where(Inquiry.owner_id == owner_id)
    return list(session.scalars(query))


def my_inquiries_view(session: Session, clerk_id: str) -> tuple[list[list[str]], list[str], list[tuple[str, str]]]:
    """The inquiries page: my open inquiries (rows, ids) and the other active clerks to hand one over to."""
    mine = open_inquiries(session, clerk_id)
    others = [(c.id, c.display_name) for c in session.scalars(
        select(Clerk).where(Clerk.active.is_(True), Clerk.id != clerk_id).order_by(Clerk.display_name))]
    return [[local_text(i.opened_at), i.topic, i.note, i.handover_note] for i in mine], [i.id for i in mine], others


def record_inquiry(session: Session, clerk: Clerk, topic: str, id_number: str = "") -> Inquiry:
    """Two clicks at the window: the topic, and the person if the clerk typed an ID number."""
    person = find_person(session, id_number.upper()) if id_number else None
    return open_inquiry(session, session.merge(clerk), topic, person.id if person else None)


def _inquiry(session: Session, inquiry_id: str) -> Inquiry:
    inquiry = session.get(Inquiry, inquiry_id)
    if inquiry is None:
        raise ValidationError("这条咨询已不存在，请刷新列表", f"inquiry {inquiry_id} not found")
    return inquiry


def close_by_id(session: Session, inquiry_id: str, clerk: Clerk, note: str = "") -> None:
    close_inquiry(session, _inquiry(session, inquiry_id), session.merge(clerk), note)


def hand_over_by_id(session: Session, inquiry_id: str, clerk: Clerk, to_clerk_id: str, note: str) -> None:
    to = session.get(Clerk, to_clerk_id)
    if to is None:
        raise ValidationError("要移交的经办人已不存在，请刷新列表", f"clerk {to_clerk_id} not found")
    hand_over(session, _inquiry(session, inquiry_id), session.merge(clerk), to, note)
