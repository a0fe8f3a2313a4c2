"""Change capture: every insert and update appends to ``sync_change`` in the same transaction.

An ``after_flush`` hook (after the audit hook, so audit entries travel too)
records what each row's fields became and writes the change log and the field
clocks with plain SQL on the same connection. Remote changes
are applied with plain SQL too (see :mod:`merge`), so they are never captured
again as if they were local.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import Any, Protocol

from sqlalchemy import event, func, inspect, select
from sqlalchemy.orm import Session, sessionmaker

from shebao_desk.changes.audit import WRITTEN
from shebao_desk.models import Base, Row, Site, SyncChange, table_of
from shebao_desk.models.base import utcnow
from shebao_desk.changes.codec import encode
from shebao_desk.changes.hlc import HybridClock
from shebao_desk.changes.merge import TABLE_ORDER, record_local

# Tables that are this workstation's own business and never travel.
LOCAL_TABLES = frozenset({"site", "audit_seal", "audit_head", "sync_change", "sync_clock", "sync_state", "sync_peer", "sync_conflict",
                          "sync_quarantine", "sync_workstation", "sync_parked",
                          "alembic_version", "chip_write"})
# chip_write: this PC's journal of commands sent to a chip in its own reader (db check reads it here).
ROW_TABLES = frozenset(table_of(m.class_).name for m in Row.registry.mappers if issubclass(m.class_, Row))


class Capture:
    """Per store: who we are (origin) and our clock, found on first use."""

    def __init__(self) -> None:
        self.origin: str | None = None
        self.clock: HybridClock | None = None

    def ready(self, session: Session) -> bool:
        if self.clock is not None:
            return True
        site = session.scalar(select(Site).limit(1))
        if site is None:
            return False  # before the site exists nothing is synced (only the site row is written then)
        self.origin = f"{site.window_code}{site.workstation_id}"
        self.clock = HybridClock(self.origin)
        self.clock.observe(session.scalar(select(func.max(SyncChange.hlc))))
        return True


class HasSessions(Protocol):
    """A store, as far as this floor sees one (the store package sits above it)."""

    sessions: sessionmaker[Session]


def observe_received(store: HasSessions, changes: list[dict[str, Any]]) -> None:
    """After merging changes from elsewhere, move this store's clock past them, so a later
    local edit sorts after what it has seen. (A clock not yet started reads them from the log.)"""
    capture: Capture = store.sessions.kw["info"]["capture"]
    if capture.clock is not None and changes:
        capture.clock.observe(max(c["hlc"] for c in changes))


def _full(row: Row) -> dict[str, Any]:
    """Every column of a new row: the merge takes an insert as setting every field, so one left
    out (not given, hence not loaded after the flush) must travel as the NULL it was written as."""
    state = inspect(row)
    out: dict[str, Any] = {}
    for attr in state.mapper.column_attrs:
        if attr.key in state.unloaded and all(c.server_default is None for c in attr.columns):
            out[attr.key] = None
        else:
            out[attr.key] = encode(getattr(row, attr.key))
    return out


def _changed(row: Row) -> dict[str, Any]:
    state = inspect(row)
    out = {}
    for attr in state.mapper.column_attrs:
        if state.attrs[attr.key].history.has_changes():
            out[attr.key] = encode(getattr(row, attr.key))
    if out and "updated_at" in state.dict:  # set by the flush itself, so not in the history
        out["updated_at"] = encode(state.dict["updated_at"])
    return out


def _synced(rows: Iterable[object]) -> list[Row]:
    return [r for r in rows if isinstance(r, Row) and r.__tablename__ not in LOCAL_TABLES]


def _after_flush(session: Session, flush_context: Any) -> None:
    """Runs after the audit hook: rows hold their flushed values, history still shows the changes."""
    records = [(row.__tablename__, row.id, _full(row)) for row in _synced(session.new)]
    for row in _synced(session.dirty):
        if session.is_modified(row):
            values = _changed(row)
            if values:
                records.append((row.__tablename__, row.id, values))
    site_made = any(isinstance(row, Site) for row in session.new)
    _log(session, records, session.info.pop(WRITTEN, []))
    if site_made:
        _log_unlogged(session)


def _log(session: Session, records: list[tuple[str, str, dict[str, Any]]],
         audit_rows: list[dict[str, Any]]) -> None:
    """Append these row changes and audit entries to the change log, each with its clock."""
    capture: Capture | None = session.info.get("capture")
    audits = [("audit_entry", a["id"], {k: encode(v) for k, v in a.items()}) for a in audit_rows]
    if not (records or audits) or capture is None or not capture.ready(session):
        return
    clock = capture.clock
    if clock is None:  # ready() has started it
        return
    # Referenced rows first (a card before the case that names it), so that a batch cut
    # anywhere in the log never carries a row whose parent comes later.
    records.sort(key=lambda r: TABLE_ORDER[r[0]])
    clocks = {(table, row_id): clock.now() for table, row_id, _ in records}
    # An audit entry carries the clock of the row change it records: the merge settles each field
    # by that clock, so db check's replay of the trail (rederive) then follows the merge's order.
    # A clock of its own would sort differently from the change's wherever two stores' flushes
    # interleave within one millisecond.
    for (_, _, values), entry in zip(audits, audit_rows, strict=True):
        clocks[("audit_entry", values["id"])] = clocks.get((entry["table_name"], entry["row_id"])) \
            or clock.now()
    now = utcnow()
    rows = [{"change_id": str(uuid.uuid4()), "table_name": table, "row_id": row_id, "hlc": clocks[(table, row_id)],
             "origin": capture.origin, "values": values, "pushed": False, "created_at": now}
            for table, row_id, values in records + audits]
    record_local(session.connection(), rows)


def _before_commit(session: Session) -> None:
    """Audit entries written outside a flush (``record_event``: a restore, a recovery key shown)
    would otherwise wait for a flush that may never come in their unit: log them now."""
    if session.info.get(WRITTEN):
        _log(session, [], session.info.pop(WRITTEN))


def _log_unlogged(session: Session) -> None:
    """The site row was just made: rows and audit entries written before it (when this store had no
    origin to log them under: a first admin made before the codes were chosen) join the log now, as
    inserts of what they hold, so nothing this store wrote stays behind when it syncs."""
    conn = session.connection()
    records: list[tuple[str, str, dict[str, Any]]] = []
    for table in Base.metadata.sorted_tables:
        if table.name in LOCAL_TABLES or table.name not in ROW_TABLES:
            continue
        logged = select(SyncChange.row_id).where(SyncChange.table_name == table.name)
        for row in conn.execute(select(table).where(table.c.id.not_in(logged))):
            records.append((table.name, row.id, {k: encode(v) for k, v in row._mapping.items()}))
    _log(session, records, [])


def _before_flush(session: Session, flush_context: Any, instances: Any) -> None:
    """Stamp ``updated_at`` on changed rows ourselves, so the value logged is the value written
    (left to the column's onupdate, the row can get a later time than the change carries)."""
    now = utcnow()
    for row in _synced(session.dirty):
        if session.is_modified(row, include_collections=False) and "updated_at" in row.__table__.c:
            row.updated_at = now


def install_capture(session_factory: Any) -> None:
    event.listen(session_factory, "before_flush", _before_flush)
    event.listen(session_factory, "after_flush", _after_flush)
    event.listen(session_factory, "before_commit", _before_commit)
