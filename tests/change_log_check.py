"""What a store holds against what its change log says it holds (the capture's completeness).

Every row of a synced table must be the merge of its logged changes, field by field, by the
merge's own rule (the highest (rank, clock) wins), and every logged row must exist: a write
that bypassed the capture (plain SQL, a session without the hooks, an audit entry written
outside a flush) leaves a row or a field the log does not explain.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from typing import Any

from sqlalchemy import Connection, select

from shebao_desk.changes.codec import encode
from shebao_desk.changes.merge import _rank
from shebao_desk.models import SyncChange, SyncParked
from shebao_desk.sync.digest import SYNCED_TABLES


def _same(a: Any, b: Any) -> bool:
    if a == b:
        return True
    if isinstance(a, str) and isinstance(b, str):
        try:
            return dt.datetime.fromisoformat(a) == dt.datetime.fromisoformat(b)
        except ValueError:
            return False
    return False


def unexplained(conn: Connection) -> list[str]:
    """One line per row or field the change log does not explain (empty: everything was captured)."""
    parked = set(conn.scalars(select(SyncParked.change_id)))
    out: list[str] = []
    for table in SYNCED_TABLES:
        expected: dict[str, dict[str, tuple[int, str, Any]]] = defaultdict(dict)
        for change_id, row_id, hlc, values in conn.execute(
                select(SyncChange.change_id, SyncChange.row_id, SyncChange.hlc, SyncChange.values)
                .where(SyncChange.table_name == table.name)):
            if change_id in parked:
                continue
            fields = expected[row_id]
            for name, value in values.items():
                key = (_rank(table.name, name, value), hlc)
                if name not in fields or key > fields[name][:2]:
                    fields[name] = (*key, value)
        seen = set()
        for row in conn.execute(select(table)):
            values = {k: encode(v) for k, v in row._mapping.items()}
            seen.add(values["id"])
            fields = expected.get(values["id"])
            if fields is None:
                out.append(f"{table.name} {values['id']}: not in the change log")
                continue
            for name, (_, _, want) in fields.items():
                if name in values and not _same(want, values[name]):
                    out.append(f"{table.name} {values['id']}.{name} = {values[name]!r}, the log says {want!r}")
        for row_id in set(expected) - seen:
            out.append(f"{table.name} {row_id}: in the change log, not in the table")
    return out
