"""A digest of a copy's synced content: per table, the row count and a SHA-256 of every row.

Two copies (two PCs, a PC and the central database) hold the same data exactly when
their digests are equal, so support staff can compare them without opening either.
Rows are hashed in a canonical form: ordered by id (in Python, not by the database's
collation), every column in the model's order, values in the sync's JSON form (UTC
times, dates, enum values, binary as base64), JSON objects with sorted keys.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from sqlalchemy import Connection, Table, select
from sqlalchemy.exc import DBAPIError

from shebao_desk.changes.capture import LOCAL_TABLES
from shebao_desk.changes.codec import encode
from shebao_desk.models import Base
from shebao_desk.store.database import Store
from shebao_desk.sync.central import SyncError, central_engine

SYNCED_TABLES = [t for t in Base.metadata.sorted_tables if t.name not in LOCAL_TABLES]


def canonical_rows(conn: Connection, table: Table) -> list[str]:
    """Each row as one canonical JSON line, in id order."""
    rows = conn.execute(select(*table.columns)).all()
    lines = [(str(r.id), json.dumps([encode(v) for v in r], ensure_ascii=False, sort_keys=True,
                                    separators=(",", ":"))) for r in rows]
    lines.sort()
    return [line for _, line in lines]


def digest(conn: Connection) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for table in SYNCED_TABLES:
        h = hashlib.sha256()
        lines = canonical_rows(conn, table)
        for line in lines:
            h.update(line.encode())
            h.update(b"\n")
        out[table.name] = {"rows": len(lines), "sha256": h.hexdigest()}
    return out


def digest_store(store: Store) -> dict[str, dict[str, Any]]:
    with store.engine.connect() as conn:
        return digest(conn)


def digest_central(url: str) -> dict[str, dict[str, Any]]:

    engine = central_engine(url)
    try:
        with engine.connect() as conn:
            return digest(conn)
    except DBAPIError as exc:
        raise SyncError("无法读取中心数据库", f"digest {engine.url.host}: {exc.__class__.__name__}: {exc}") from exc
    finally:
        engine.dispose()


def render(result: dict[str, dict[str, Any]], *, as_json: bool) -> str:
    if as_json:
        return json.dumps({"tables": result}, ensure_ascii=False, indent=1, sort_keys=True)
    width = max(len(name) for name in result)
    return "\n".join(f"{name:<{width}}  {v['rows']:>8} 行  {v['sha256'][:16]}" for name, v in result.items())
