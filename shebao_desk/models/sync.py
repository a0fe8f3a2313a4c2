"""Tables of the sync machinery, the same in every local store and in the central database."""

from __future__ import annotations

from typing import Any

from sqlalchemy import BigInteger, Boolean, Index, Integer, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from shebao_desk.models.base import Base, utc, utc_opt

SEQ = BigInteger().with_variant(Integer, "sqlite")  # SQLite autoincrements only INTEGER PRIMARY KEY


class SyncChange(Base):
    """One change to one row: what the row's fields became, when (hybrid logical clock), where.

    ``seq`` orders the log of this database; ``change_id`` identifies the change everywhere.
    """

    __tablename__ = "sync_change"
    __table_args__ = (Index("ix_sync_change_row", "table_name", "row_id"),)

    seq: Mapped[int] = mapped_column(SEQ, primary_key=True, autoincrement=True)
    change_id: Mapped[str] = mapped_column(String(36), unique=True)
    table_name: Mapped[str] = mapped_column(String(40))
    row_id: Mapped[str] = mapped_column(String(36))
    hlc: Mapped[str] = mapped_column(String(40))
    origin: Mapped[str] = mapped_column(String(16))
    values: Mapped[dict[str, Any]]
    pushed: Mapped[bool] = mapped_column(Boolean, default=False)  # local only: already in the central log
    created_at: Mapped[utc]


class SyncClock(Base):
    """For each row, the clock of the change that last set each field (for last-writer-wins).

    One row per synced row: ``clocks`` maps field → clock, with ``"*"`` standing for every
    field not named (set by the insert), which keeps it small.
    """

    __tablename__ = "sync_clock"

    table_name: Mapped[str] = mapped_column(String(40), primary_key=True)
    row_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    clocks: Mapped[dict[str, Any]]


class SyncState(Base):
    """Small named values: cursors, the last sync, this site's key."""

    __tablename__ = "sync_state"

    key: Mapped[str] = mapped_column(String(40), primary_key=True)
    value: Mapped[str] = mapped_column(String(400))


class SyncPeer(Base):
    """A site whose bundles this store accepts: its public key and the last bundle number imported."""

    __tablename__ = "sync_peer"

    origin: Mapped[str] = mapped_column(String(16), primary_key=True)
    public_key: Mapped[bytes] = mapped_column(LargeBinary)  # empty until the first bundle of a site pinned by fingerprint
    last_bundle: Mapped[int] = mapped_column(Integer, default=0)
    updated_at: Mapped[utc]
    fingerprint: Mapped[str] = mapped_column(String(64), default="", server_default="")  # pinned before its key was seen
    incarnation: Mapped[int] = mapped_column(Integer, default=0, server_default="0")  # bumped by a restore at the site


class SyncQuarantine(Base):
    """A local change the central database refused: kept out of the way with its reason, retried each sync."""

    __tablename__ = "sync_quarantine"

    change_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    table_name: Mapped[str] = mapped_column(String(40))
    row_id: Mapped[str] = mapped_column(String(36))
    reason: Mapped[str] = mapped_column(String(400))
    detail: Mapped[str] = mapped_column(String(2000), default="")
    attempts: Mapped[int] = mapped_column(Integer, default=1)
    quarantined_at: Mapped[utc]


class SyncWorkstation(Base):
    """Central register of identities: which store (and PC) holds each window + workstation code."""

    __tablename__ = "sync_workstation"

    origin: Mapped[str] = mapped_column(String(16), primary_key=True)
    store_id: Mapped[str] = mapped_column(String(36))
    host: Mapped[str] = mapped_column(String(100), default="")
    incarnation: Mapped[int] = mapped_column(Integer, default=0)
    last_hlc: Mapped[str] = mapped_column(String(40), default="")  # the newest own change this store has pushed
    registered_at: Mapped[utc]
    last_seen_at: Mapped[utc]
    # Where this store lives: host and file path. A store seen elsewhere with the same store id is a
    # copy of it: refused as a clone, unless a restore (a higher incarnation) moved it there.
    place: Mapped[str] = mapped_column(String(400), default="", server_default="")


class SyncConflict(Base):
    """A merge the rules could not settle alone (e.g. two valid cards): kept and flagged for a supervisor."""

    __tablename__ = "sync_conflict"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    kind: Mapped[str] = mapped_column(String(40))
    person_id: Mapped[str] = mapped_column(String(36))
    detail: Mapped[dict[str, Any]]
    detected_at: Mapped[utc]
    resolved_at: Mapped[utc_opt]


class SyncParked(Base):
    """A change received from elsewhere that waits for a row it depends on (the person a card names,
    the clerk of a case, the row an update is for), logged in ``sync_change`` but not yet merged.
    Every later merge takes in the changes whose rows have arrived since."""

    __tablename__ = "sync_parked"

    change_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    waits_for: Mapped[str] = mapped_column(String(80))  # "table/row id" of the first missing row
    parked_at: Mapped[utc]
