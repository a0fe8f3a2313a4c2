"""The journal of chip writes: every business that changes a card's chip writes an entry *before*
the APDU and completes it after, so a chip change is never left unrecorded (issue #10)."""

from __future__ import annotations

import enum

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from shebao_desk.models.base import Base, enum_column, utc, utc_opt, uuid_pk


class ChipWriteState(enum.StrEnum):
    PENDING = "pending"            # checked on the record side; the chip command may be under way
    CHIP_CHANGED = "chip_changed"  # the card accepted the change; the case is being saved
    RECORDED = "recorded"          # the case is saved (case_id)
    REFUSED = "refused"            # the card refused (wrong PIN, blocked, …): the chip is unchanged
    CANCELLED = "cancelled"        # the clerk stopped before the chip was changed


class ChipWrite(Base):
    """Local to this workstation (not synced): the chip it changed is in this window's reader."""

    __tablename__ = "chip_write"

    id: Mapped[uuid_pk]
    business: Mapped[str] = mapped_column(String(24))
    id_number: Mapped[str] = mapped_column(String(18))
    card_number: Mapped[str] = mapped_column(String(9), default="")
    reader: Mapped[str] = mapped_column(String(100), default="")
    clerk_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    workstation: Mapped[str] = mapped_column(String(8), default="")
    state: Mapped[ChipWriteState] = mapped_column(enum_column(ChipWriteState), default=ChipWriteState.PENDING)
    detail: Mapped[str] = mapped_column(String(200), default="")
    case_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    started_at: Mapped[utc]
    finished_at: Mapped[utc_opt]
