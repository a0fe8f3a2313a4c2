"""Writes the audit trail in the same flush as every change.

A ``before_flush`` hook turns each inserted, updated or deleted row into an
:class:`AuditEntry` with its values before and after, so no service can forget
to audit and an audit entry never exists without its change (or vice versa).
Who and why come from ``session.info``: see :func:`act_as`.
"""

from __future__ import annotations

import datetime as dt
import enum
from typing import Any

from sqlalchemy import event, inspect
from sqlalchemy.orm import Session

from shebao_desk.models import AuditEntry, Row, utcnow

SECRET_COLUMNS = {"password_hash"}


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
    """Fill Python-side column defaults now, so the audit shows what will be stored."""
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


def _before_values(row: Row) -> tuple[dict[str, Any], dict[str, Any]]:
    """(before, after) of the columns that changed."""
    state = inspect(row)
    before, after = {}, {}
    for attr in state.mapper.column_attrs:
        hist = state.attrs[attr.key].history
        if not hist.has_changes():
            continue
        old = hist.deleted[0] if hist.deleted else None
        new = hist.added[0] if hist.added else None
        before[attr.key] = _json_value(attr.key, old)
        after[attr.key] = _json_value(attr.key, new)
    return before, after


def _on_before_flush(session: Session, flush_context: Any, instances: Any) -> None:
    clerk_id, workstation = session.info.get("actor", (None, ""))
    action = session.info.get("action", "")
    now = utcnow()
    entries = []
    for row in session.new:
        if isinstance(row, Row) and not isinstance(row, AuditEntry):
            apply_defaults(row)
            entries.append((row, "insert", None, snapshot(row)))
    for row in session.dirty:
        if isinstance(row, Row) and not isinstance(row, AuditEntry) and session.is_modified(row):
            before, after = _before_values(row)
            if before:
                entries.append((row, "update", before, after))
    for row in session.deleted:
        if isinstance(row, Row) and not isinstance(row, AuditEntry):
            entries.append((row, "delete", snapshot(row), None))
    for row, verb, before, after in entries:
        session.add(AuditEntry(
            at=now, clerk_id=clerk_id, workstation=workstation,
            action=f"{action}:{verb}" if action else verb,
            table_name=row.__tablename__, row_id=row.id, before=before, after=after,
        ))


def install_audit(session_factory: Any) -> None:
    event.listen(session_factory, "before_flush", _on_before_flush)
