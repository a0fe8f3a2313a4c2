"""The audit trail: who changed what, where, when, with the values before and after."""

from __future__ import annotations

from typing import Any

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from shebao_desk.models.base import Row, utc


class AuditEntry(Row):
    __tablename__ = "audit_entry"

    at: Mapped[utc] = mapped_column(index=True)
    clerk_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    workstation: Mapped[str] = mapped_column(String(8), default="")
    action: Mapped[str] = mapped_column(String(60))
    table_name: Mapped[str] = mapped_column(String(40))
    row_id: Mapped[str] = mapped_column(String(36), index=True)
    before: Mapped[dict[str, Any] | None]
    after: Mapped[dict[str, Any] | None]
