"""好差评: one rating per case from the applicant's screen, and the month's figures (no Qt).

Levels, which of them are 差评, their reasons and the follow-up deadline are county data
(``resources/applicant.toml`` [rating], citing 国办发〔2019〕51号). A 差评 gets a follow-up
due date counted in working days of the window's calendar; it stays on the supervisor's list
until followed up. 满意率 = (非常满意 + 满意 + 基本满意) / all ratings, per clerk and window.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from shebao_desk.clock import CHINA
from shebao_desk.config.applicant_settings import ApplicantSettings
from shebao_desk.config.workdays import WorkCalendar
from shebao_desk.errors import ValidationError
from shebao_desk.models import Case, CaseRating, Clerk, Person, utcnow
from shebao_desk.rules.idnumber import mask_id_number
from shebao_desk.services.actor import Actor
from shebao_desk.services.statistics import Period
from shebao_desk.store.database import Store

RATE_ACTION = "申请人评价"


def check_rating(settings: ApplicantSettings, level: str, reasons: list[str]) -> list[str]:
    rating = settings.rating
    if level not in rating.levels:
        raise ValidationError("请选择一个评价等级", f"unknown level {level!r}")
    if settings.is_bad(level):
        if not reasons:
            raise ValidationError(f"“{level}”请至少勾选一个原因", "bad rating without a reason")
        unknown = [r for r in reasons if r not in rating.reasons]
        if unknown:
            raise ValidationError("评价原因不在本县的原因清单中", f"unknown reasons {unknown}")
        return list(reasons)
    return []


def record_rating(store: Store, actor: Actor, settings: ApplicantSettings, calendar: WorkCalendar, case_id: str,
                  level: str, reasons: list[str], now: dt.datetime | None = None) -> CaseRating:
    """The applicant's rating of the case, linked to the case and the clerk who accepted it."""
    reasons = check_rating(settings, level, reasons)
    now = now or utcnow()
    with actor.unit(store, RATE_ACTION) as session:
        case = session.get(Case, case_id)
        if case is None:
            raise ValidationError("找不到该业务记录", f"case {case_id} not found")
        if session.scalar(select(CaseRating.id).where(CaseRating.case_id == case_id)) is not None:
            raise ValidationError("该笔业务已经评价过（一次一评）", f"case {case_id} already rated")
        due = None
        if settings.is_bad(level):
            due = calendar.add_workdays(now.astimezone(CHINA).date(), settings.rating.follow_up_workdays)
        rating = CaseRating(case_id=case_id, clerk_id=case.accepted_by, level=level, reasons=reasons,
                            rated_at=now, follow_up_due=due, follow_up_note="")
        session.add(rating)
        session.flush()
        session.expunge(rating)
        return rating


@dataclass(frozen=True)
class ClerkRatings:
    clerk: str
    counts: dict[str, int]

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    def satisfied(self, settings: ApplicantSettings) -> int:
        return sum(n for level, n in self.counts.items() if not settings.is_bad(level))

    def rate(self, settings: ApplicantSettings) -> float | None:
        return self.satisfied(settings) / self.total if self.total else None


@dataclass(frozen=True)
class OpenComplaint:
    rating_id: str
    case_number: str
    id_masked: str
    clerk: str
    level: str
    reasons: tuple[str, ...]
    rated_on: dt.date
    due: dt.date | None
    overdue: bool


@dataclass(frozen=True)
class RatingsReport:
    period: Period
    by_clerk: list[ClerkRatings]
    window: ClerkRatings
    open_complaints: list[OpenComplaint]


def ratings_report(session: Session, settings: ApplicantSettings, period: Period, today: dt.date) -> RatingsReport:
    start, end = period.utc_bounds()
    rows = session.execute(
        select(CaseRating, Clerk.display_name)
        .join(Clerk, Clerk.id == CaseRating.clerk_id)
        .where(CaseRating.rated_at >= start, CaseRating.rated_at < end)
        .order_by(Clerk.display_name, CaseRating.rated_at)).all()
    per: dict[str, dict[str, int]] = {}
    window = {level: 0 for level in settings.rating.levels}
    complaints = []
    for rating, clerk in rows:
        counts = per.setdefault(clerk, {level: 0 for level in settings.rating.levels})
        counts[rating.level] = counts.get(rating.level, 0) + 1
        window[rating.level] = window.get(rating.level, 0) + 1
    for rating, clerk, number, id_number in _open(session, settings):
        complaints.append(OpenComplaint(rating.id, number, mask_id_number(id_number), clerk, rating.level, tuple(rating.reasons),
                                        rating.rated_at.astimezone(CHINA).date(), rating.follow_up_due,
                                        rating.follow_up_due is not None and rating.follow_up_due < today))
    return RatingsReport(period, [ClerkRatings(c, n) for c, n in per.items()], ClerkRatings("全窗口", window),
                         complaints)


def _open(session: Session, settings: ApplicantSettings) -> list[tuple[CaseRating, str, str, str]]:
    """Every 差评 not yet followed up, whenever it was given: the supervisor's list."""
    rows = session.execute(
        select(CaseRating, Clerk.display_name, Case.number, Person.id_number)
        .join(Clerk, Clerk.id == CaseRating.clerk_id).join(Case, Case.id == CaseRating.case_id)
        .join(Person, Person.id == Case.person_id)
        .where(CaseRating.level.in_(settings.rating.bad_levels), CaseRating.followed_up_at.is_(None))
        .order_by(CaseRating.follow_up_due)).all()
    return [(r, c, n, i) for r, c, n, i in rows]


def report_dict(report: RatingsReport, settings: ApplicantSettings) -> dict[str, object]:
    def clerk(c: ClerkRatings) -> dict[str, object]:
        rate = c.rate(settings)
        return {"clerk": c.clerk, "total": c.total, "counts": c.counts,
                "satisfaction_rate": None if rate is None else round(rate, 4)}
    return {
        "month": f"{report.period.start:%Y-%m}", "source": settings.rating.source,
        "clerks": [clerk(c) for c in report.by_clerk], "window": clerk(report.window),
        "open_complaints": [{"case": o.case_number, "id_number": o.id_masked, "clerk": o.clerk, "level": o.level,
                             "reasons": list(o.reasons), "rated_on": o.rated_on.isoformat(),
                             "due": o.due.isoformat() if o.due else None, "overdue": o.overdue}
                            for o in report.open_complaints],
    }


def report_text(report: RatingsReport, settings: ApplicantSettings) -> str:
    def pct(c: ClerkRatings) -> str:
        rate = c.rate(settings)
        return "—" if rate is None else f"{rate * 100:.1f}%"
    lines = [f"{report.period.label} 好差评（依据 {settings.rating.source}）", "经办人\t评价数\t满意率\t差评"]
    for c in [*report.by_clerk, report.window]:
        lines.append(f"{c.clerk}\t{c.total}\t{pct(c)}\t{c.total - c.satisfied(settings)}")
    lines.append(f"未整改的差评：{len(report.open_complaints)} 件"
                 f"（整改反馈时限 {settings.rating.follow_up_workdays} 个工作日）")
    for o in report.open_complaints:
        late = "（已超期）" if o.overdue else ""
        lines.append(f"{o.case_number}\t{o.id_masked}\t{o.clerk}\t{o.level}\t{'、'.join(o.reasons)}\t"
                     f"{o.rated_on:%Y-%m-%d} 评价\t{o.due:%Y-%m-%d} 前反馈{late}" if o.due else "")
    return "\n".join(lines)


FOLLOW_UP_ACTION = "差评回访整改"


def follow_up(store: Store, actor: Actor, rating_id: str, note: str, now: dt.datetime | None = None) -> None:
    """The supervisor records the follow-up of a 差评 (回访核实、整改、反馈): it leaves the open list."""
    if not note.strip():
        raise ValidationError("请填写回访整改情况", "follow-up without a note")
    with actor.unit(store, FOLLOW_UP_ACTION) as session:
        rating = session.get(CaseRating, rating_id)
        if rating is None:
            raise ValidationError("找不到该评价", f"rating {rating_id} not found")
        if rating.followed_up_at is not None:
            raise ValidationError("该差评已记录过回访整改", f"rating {rating_id} already followed up")
        rating.followed_up_at = now or utcnow()
        rating.follow_up_note = note.strip()
