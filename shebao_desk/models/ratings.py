"""好差评: the applicant's rating of a case (国办发〔2019〕51号, "一次一评"), one per case."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Date, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from shebao_desk.models.base import Row, utc, utc_opt


class CaseRating(Row):
    __tablename__ = "case_rating"

    case_id: Mapped[str] = mapped_column(ForeignKey("case.id"), unique=True)
    clerk_id: Mapped[str] = mapped_column(ForeignKey("clerk.id"), index=True)  # the clerk who handled the case
    level: Mapped[str] = mapped_column(String(10))  # one of resources/applicant.toml [rating] levels
    reasons: Mapped[list[str]]
    rated_at: Mapped[utc] = mapped_column(index=True)
    follow_up_due: Mapped[dt.date | None] = mapped_column(Date, nullable=True)  # 差评 only
    followed_up_at: Mapped[utc_opt]
    follow_up_note: Mapped[str] = mapped_column(Text, default="")
