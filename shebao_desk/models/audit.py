"""The audit trail: who changed what, where, when, with the values before and after."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from shebao_desk.models.base import Base, Row, utc


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


class AuditSeal(Base):
    """Local only: the hash chain over the audit trail, in the order this store wrote or received it.

    ``hash`` = SHA-256(previous hash, the entry's canonical JSON), so an edited, deleted,
    inserted or reordered audit entry breaks the chain (see :mod:`shebao_desk.changes.audit_chain`).
    """

    __tablename__ = "audit_seal"

    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    audit_id: Mapped[str] = mapped_column(String(36), unique=True)
    hash: Mapped[str] = mapped_column(String(64))


class AuditHead(Base):
    """Central only: the last audit-chain head each store sent, so a store whose trail was cut off
    or rewritten afterwards is caught at its next sync (a chain alone cannot show a cut end)."""

    __tablename__ = "audit_head"

    origin: Mapped[str] = mapped_column(String(16), primary_key=True)
    seq: Mapped[int] = mapped_column(Integer)
    hash: Mapped[str] = mapped_column(String(64))
    updated_at: Mapped[utc]
