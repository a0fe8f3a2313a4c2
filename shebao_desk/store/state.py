"""Named values in ``sync_state``: cursors, the last successful sync, this site's key."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Connection, select

from shebao_desk.models import SyncState, table_of
from shebao_desk.changes.merge import _insert

PULLED_SEQ = "central_pulled_seq"
LAST_SYNC = "last_sync_at"
EXPORTED_SEQ = "bundle_exported_seq"
BUNDLE_NUMBER = "bundle_number"
SIGNING_KEY = "signing_key"
INCARNATION = "incarnation"  # bumped by each restore: numbers issued after it never repeat earlier ones
STORE_ID = "store_id"  # this store's own identity, registered centrally with its workstation code


def get(conn: Connection, key: str, default: str | None = None) -> str | None:
    value = conn.scalar(select(SyncState.value).where(SyncState.key == key))
    return default if value is None else value


def get_int(conn: Connection, key: str, default: int = 0) -> int:
    """A counter or number kept as text (a cursor, a bundle number, the incarnation); ``default`` when unset."""
    value = get(conn, key)
    return default if value is None else int(value)


def put(conn: Connection, key: str, value: str) -> None:
    stmt = _insert(conn, table_of(SyncState)).values(key=key, value=value)
    conn.execute(stmt.on_conflict_do_update(index_elements=["key"], set_={"value": stmt.excluded.value}))


def last_sync(conn: Connection) -> dt.datetime | None:
    text = get(conn, LAST_SYNC)
    return dt.datetime.fromisoformat(text) if text else None
