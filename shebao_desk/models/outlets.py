"""Bank outlets under supervision (Articles 11–12) and the supervision visits."""

from __future__ import annotations

from typing import Any

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from shebao_desk.models.base import Row, utc


class Outlet(Row):
    """An issuing-bank outlet: its card windows, ATMs and self-service terminals, its town."""

    __tablename__ = "outlet"

    name: Mapped[str] = mapped_column(String(100))
    bank: Mapped[str] = mapped_column(String(60), default="")
    town: Mapped[str] = mapped_column(String(60), default="")
    town_population: Mapped[int] = mapped_column(default=0)
    address: Mapped[str] = mapped_column(String(200), default="")
    card_windows: Mapped[int] = mapped_column(default=0)
    atms: Mapped[int] = mapped_column(default=0)
    terminals: Mapped[int] = mapped_column(default=0)  # self-service query/business terminals


class SupervisionVisit(Row):
    """A visit by the designated supervisor (Article 12): the checklist answered and the findings."""

    __tablename__ = "supervision_visit"

    outlet_id: Mapped[str] = mapped_column(ForeignKey("outlet.id"), index=True)
    clerk_id: Mapped[str] = mapped_column(ForeignKey("clerk.id"))
    visited_at: Mapped[utc]
    checklist: Mapped[dict[str, Any]]  # item code -> true/false
    findings: Mapped[str] = mapped_column(Text, default="")
