"""Writes the audit trail in the same transaction as every change.

An ``after_flush`` hook turns each inserted, updated or deleted row into an
audit entry with its values before and after, written with plain SQL on the
flush's own connection, so no service can forget to audit and an audit entry
never exists without its change (or vice versa). After the flush the rows carry
their final values (foreign keys included) while the history still shows what
changed. Who and why come from ``session.info``: see :func:`act_as`. Each entry
is sealed into the hash chain (:mod:`audit_chain`) in the same transaction.
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Iterable
from typing import Any

from sqlalchemy import event, inspect, select
from sqlalchemy.orm import Session

from shebao_desk.changes.audit_chain import seal
from shebao_desk.models import AuditEntry, Row, Site, table_of, utcnow
from shebao_desk.models.base import new_uuid

SECRET_COLUMNS = {"password_hash"}
WRITTEN = "audit_written"  # the audit rows of this flush, for change capture


def act_as(session: Session, clerk_id: str | None, workstation: str, action: str) -> None:
    """Name who is acting and what the action is, for the audit entries of this unit of work."""
    session.info["actor"] = (clerk_id, workstation)
    session.info["action"] = action


def _json_value(column: str, value: Any) -> Any:
    if column in SECRET_COLUMNS and value:
        return "***"
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    if isinstance(value, bytes):
        return {"bytes": len(value)}
    return value


def apply_defaults(row: Row) -> None:
    """Fill Python-side column defaults now (a row's id is needed before its flush)."""
    for column in row.__table__.columns:
        default = column.default
        if default is None or getattr(row, column.key, None) is not None:
            continue
        if default.is_callable:
            setattr(row, column.key, default.arg(None))
        elif default.is_scalar:
            setattr(row, column.key, default.arg)


def snapshot(row: Row) -> dict[str, Any]:
    state = inspect(row)
    out = {}
    for attr in state.mapper.column_attrs:
        if attr.key in state.unloaded:
            continue  # deferred (e.g. a photo) and untouched
        out[attr.key] = _json_value(attr.key, getattr(row, attr.key))
    return out


def _changes(row: Row) -> tuple[dict[str, Any], dict[str, Any]]:
    """(before, after) of the columns that changed."""
    state = inspect(row)
    before, after = {}, {}
    for attr in state.mapper.column_attrs:
        hist = state.attrs[attr.key].history
        if not hist.has_changes():
            continue
        before[attr.key] = _json_value(attr.key, hist.deleted[0] if hist.deleted else None)
        after[attr.key] = _json_value(attr.key, getattr(row, attr.key))
    return before, after


def _audited(rows: Iterable[object]) -> list[Row]:
    return [r for r in rows if isinstance(r, Row) and not isinstance(r, AuditEntry)]


def _actor(session: Session) -> tuple[str | None, str]:
    """Who acts, and at which workstation: a unit that names none (an admin command) is this
    store's own, so its entries are in this site's name wherever they travel."""
    clerk_id, workstation = session.info.get("actor", (None, ""))
    if not workstation:
        workstation = session.connection().execute(select(Site.workstation_id).limit(1)).scalar() or ""
    return clerk_id, workstation


def _after_flush(session: Session, flush_context: Any) -> None:
    if not any(isinstance(r, Row) for rows in (session.new, session.dirty, session.deleted) for r in rows):
        return
    clerk_id, workstation = _actor(session)
    action = session.info.get("action", "")
    now = utcnow()
    entries = []

    def entry(row: Row, verb: str, before: dict[str, Any] | None, after: dict[str, Any] | None) -> None:
        entries.append({"id": new_uuid(), "created_at": now, "updated_at": now, "at": now, "clerk_id": clerk_id,
                        "workstation": workstation, "action": f"{action}:{verb}" if action else verb,
                        "table_name": row.__tablename__, "row_id": row.id, "before": before, "after": after})

    for row in _audited(session.new):
        entry(row, "insert", None, snapshot(row))
    for row in _audited(session.dirty):
        if session.is_modified(row):
            before, after = _changes(row)
            if before:
                entry(row, "update", before, after)
    for row in _audited(session.deleted):
        entry(row, "delete", snapshot(row), None)
    if entries:
        session.connection().execute(table_of(AuditEntry).insert(), entries)
        seal(session.connection(), entries)
        session.info.setdefault(WRITTEN, []).extend(entries)


def record_event(session: Session, table_name: str, row_id: str, detail: dict[str, Any]) -> None:
    """An audit entry, sealed at once, for an act that changes no row (a restore): by whom, and what."""
    clerk_id, workstation = _actor(session)
    now = utcnow()
    entry = {"id": new_uuid(), "created_at": now, "updated_at": now, "at": now, "clerk_id": clerk_id,
             "workstation": workstation, "action": session.info.get("action", ""), "table_name": table_name,
             "row_id": row_id, "before": None, "after": detail}
    session.connection().execute(table_of(AuditEntry).insert(), [entry])
    seal(session.connection(), [entry])
    session.info.setdefault(WRITTEN, []).append(entry)  # logged by the capture with the next flush or at commit


def _before_flush(session: Session, flush_context: Any, instances: Any) -> None:
    for row in session.new:
        if isinstance(row, Row):
            apply_defaults(row)


def install_audit(session_factory: Any) -> None:
    event.listen(session_factory, "before_flush", _before_flush)
    event.listen(session_factory, "after_flush", _after_flush)
