"""Cases (业务受理) and inquiries (首问负责制)."""

from __future__ import annotations

import datetime as dt
import enum
from typing import Any

from sqlalchemy import Boolean, Date, ForeignKey, Index, String, Text, false
from sqlalchemy.orm import Mapped, mapped_column, relationship

from shebao_desk.models.base import Row, enum_column, utc, utc_opt
from shebao_desk.models.people import Card, Person


class CaseStatus(enum.StrEnum):
    RETURNED = "returned"  # materials missing; the one-time notice was given
    ACCEPTED = "accepted"
    COMPLETED = "completed"

    @property
    def label(self) -> str:
        return {"returned": "退回补材料", "accepted": "已受理", "completed": "已办结"}[self.value]


class Case(Row):
    __tablename__ = "case"
    # The Today page's open and overdue lists: accepted cases by promised date. The statistics report:
    # a period's cases by acceptance and by completion, every column it reads in the index (0019).
    __table_args__ = (Index("ix_case_open", "status", "promised_date", "accepted_at"),
                      Index("ix_case_accepted_report", "accepted_at", "business", "accepted_by", "status",
                            "workstation", "number"),
                      Index("ix_case_completed_report", "completed_at", "business", "accepted_by", "promised_date",
                            "accepted_at", "workstation", "number"))

    number: Mapped[str] = mapped_column(String(40), unique=True)
    business: Mapped[str] = mapped_column(String(16), index=True)
    mode: Mapped[str] = mapped_column(String(16))
    person_id: Mapped[str] = mapped_column(ForeignKey("person.id"), index=True)
    card_id: Mapped[str | None] = mapped_column(ForeignKey("card.id"), nullable=True)
    new_card_id: Mapped[str | None] = mapped_column(ForeignKey("card.id"), nullable=True)
    agent_name: Mapped[str] = mapped_column(String(50), default="")
    agent_id_number: Mapped[str] = mapped_column(String(18), default="")
    agent_relation: Mapped[str] = mapped_column(String(20), default="")
    agent_phone: Mapped[str] = mapped_column(String(20), default="")
    materials: Mapped[list[str]]
    missing: Mapped[list[str]]
    reason: Mapped[str] = mapped_column(Text, default="")
    fee: Mapped[int] = mapped_column(default=0)
    status: Mapped[CaseStatus] = mapped_column(enum_column(CaseStatus), index=True)
    accepted_by: Mapped[str] = mapped_column(ForeignKey("clerk.id"))
    accepted_at: Mapped[utc]
    workstation: Mapped[str] = mapped_column(String(8))
    promised_date: Mapped[dt.date | None] = mapped_column(Date, nullable=True)
    # The promise was counted on the provisional calendar (printed 预计); it is kept as printed
    # when the official schedule arrives.
    promise_provisional: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    completed_at: Mapped[utc_opt]
    completed_by: Mapped[str | None] = mapped_column(ForeignKey("clerk.id"), nullable=True)
    # Where each applicant field came from: "id_card", "ss_card" (the chip) or "typed".
    field_origins: Mapped[dict[str, Any] | None] = mapped_column(nullable=True)
    papers_printed_at: Mapped[utc_opt]  # None: the papers have not (yet) come out of a printer
    print_problem: Mapped[str] = mapped_column(Text, default="")  # the last failed print, for 重新打印
    outlet: Mapped[str] = mapped_column(String(100), default="", server_default="")  # pick-up bank outlet
    # The applicant's side (issue 28): what the applicant confirmed on their screen, and their signature.
    applicant_confirmed_at: Mapped[utc_opt]
    applicant_confirmed: Mapped[str] = mapped_column(String(64), default="", server_default="")  # SHA-256 of what was shown
    signature_sha256: Mapped[str] = mapped_column(String(64), default="", server_default="")  # the signed form PDF

    person: Mapped[Person] = relationship(foreign_keys=[person_id])
    card: Mapped[Card | None] = relationship(foreign_keys=[card_id])
    new_card: Mapped[Card | None] = relationship(foreign_keys=[new_card_id])


class Inquiry(Row):
    """A question taken at the window; owned by the clerk who first took it."""

    __tablename__ = "inquiry"

    topic: Mapped[str] = mapped_column(String(100))
    note: Mapped[str] = mapped_column(Text, default="")
    person_id: Mapped[str | None] = mapped_column(ForeignKey("person.id"), nullable=True)
    owner_id: Mapped[str] = mapped_column(ForeignKey("clerk.id"))
    opened_at: Mapped[utc]
    closed_at: Mapped[utc_opt]
    handover_note: Mapped[str] = mapped_column(Text, default="")


class CaseAttachment(Row):
    """A scanned page kept with a case (the A4 ID copy, the signed form); the file lives in the case folder."""

    __tablename__ = "case_attachment"

    case_id: Mapped[str] = mapped_column(ForeignKey("case.id"), index=True)
    kind: Mapped[str] = mapped_column(String(24))  # a material code, e.g. id_copy, or signed_form
    file_name: Mapped[str] = mapped_column(String(200))
    media_type: Mapped[str] = mapped_column(String(40))
    sha256: Mapped[str] = mapped_column(String(64))
    dpi: Mapped[int] = mapped_column(default=0)
    device: Mapped[str] = mapped_column(String(200), default="")
    scanned_at: Mapped[utc]
