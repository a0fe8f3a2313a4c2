"""Re-deriving people, cards, cases and loss reports from the audit trail, for ``db check``.

Every write through the program leaves an audit entry with the row's values (an
insert's full snapshot, an update's new values, a delete), so replaying the trail
row by row gives what each table should hold. A row edited, inserted or deleted
with another tool differs from its replay, and the finding names the row and field.
Together with the hash chain (:mod:`audit_chain`), which shows the trail itself
untouched, this makes a direct edit visible.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import defaultdict
from typing import Any

from sqlalchemy import Connection, LargeBinary, Row, Select, Table, column, func, select, table as table_clause

from shebao_desk.changes.audit import SECRET_COLUMNS, _json_value
from shebao_desk.rules.idnumber import mask_id_number
from shebao_desk.changes.merge import wins
from shebao_desk.models import AuditEntry, AuditSeal, Base, SyncChange

TABLES = {"person": "人员", "card": "卡", "case": "业务", "loss_report": "挂失记录"}
SKIPPED = {"updated_at"} | SECRET_COLUMNS  # set by the flush itself, not in an update's history
_ISO_TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d")
GONE = object()


def _same(expected: Any, actual: Any) -> bool:
    if expected == actual:
        return True
    if isinstance(expected, str) and isinstance(actual, str) and _ISO_TIME.match(expected) and _ISO_TIME.match(actual):
        try:  # the same instant written in another offset
            return dt.datetime.fromisoformat(expected) == dt.datetime.fromisoformat(actual)
        except ValueError:
            return False
    return False


_nullable = {name: [c.name for c in Base.metadata.tables[name].columns
                    if c.nullable and not isinstance(c.type, LargeBinary)] for name in TABLES}


def _read(conn: Connection, table: Table) -> list[dict[str, Any]]:
    """Every row as the audit trail writes values; a value the column type refuses (an enum
    nobody defined, written by another tool) is kept raw, so it shows as a mismatch instead of a crash."""
    columns = [c for c in table.columns if not isinstance(c.type, LargeBinary)]
    processors = [c.type._cached_result_processor(conn.dialect, None) for c in columns]
    raw: Select[*tuple[Any, ...]] = select(*(column(c.name) for c in columns)).select_from(table_clause(table.name))
    out = []
    for row in conn.execute(raw):
        values = {}
        for c, proc, value in zip(columns, processors, row, strict=True):
            try:
                value = proc(value) if proc and value is not None else value
            except (LookupError, ValueError, TypeError):
                values[c.name] = value
                continue
            values[c.name] = _json_value(c.name, value)
        out.append(values)
    return out


def replay(conn: Connection) -> dict[tuple[str, str], Any]:
    """(table, row id) → the values the audit trail says the row has now, or GONE if deleted."""
    seal = select(AuditSeal.audit_id, AuditSeal.seq).subquery()
    # The order is the merge's: each entry is logged with the hybrid logical clock of the row change
    # it records (see sync.capture), and the merge settles every field by that clock; the PCs' wall
    # clocks may be skewed. (Entries logged before that rule carry a clock of their own, a few ticks
    # off: for rows changed at two stores within one millisecond their order can differ.)
    clock = (select(SyncChange.row_id, func.min(SyncChange.hlc).label("hlc"))
             .where(SyncChange.table_name == "audit_entry").group_by(SyncChange.row_id).subquery())
    rows = conn.execute(
        select(AuditEntry.table_name, AuditEntry.row_id, AuditEntry.action, AuditEntry.after, AuditEntry.at,
               seal.c.seq, clock.c.hlc)
        .outerjoin(seal, seal.c.audit_id == AuditEntry.id)
        .outerjoin(clock, clock.c.row_id == AuditEntry.id)
        .where(AuditEntry.table_name.in_(list(TABLES)))).all()

    def when(r: Row[*tuple[Any, ...]]) -> tuple[str, int]:
        at = r.at if isinstance(r.at, dt.datetime) else dt.datetime.fromisoformat(str(r.at))
        fallback = f"{int(at.replace(tzinfo=at.tzinfo or dt.UTC).timestamp() * 1000):013d}"  # an entry never logged
        return (r.hlc or fallback, r.seq if r.seq is not None else 1 << 62)

    state: dict[tuple[str, str], Any] = {}
    for r in sorted(rows, key=when):
        key = (r.table_name, r.row_id)
        verb = r.action.rsplit(":", 1)[-1]
        current = state.get(key)
        if verb == "delete":
            state[key] = GONE
        elif current is None or current is GONE:
            # A column the insert did not set is NULL (no column has a server default).
            state[key] = {**dict.fromkeys(_nullable[r.table_name]), **(r.after or {})}
        else:
            # An update, or the same derived-id row inserted at another workstation: fields settle
            # by the merge's own rules (a cancellation stays, a void card never comes back), so a
            # store that merged copies replays to what it holds.
            for name, value in (r.after or {}).items():
                if wins(r.table_name, name, current.get(name), value, newer=True):
                    current[name] = value
    return state


def _label(table: str, row: dict[str, Any]) -> str:
    if table == "person":
        return f"人员 {mask_id_number(row.get('id_number'))}（{row.get('id')}）"
    if table == "case":
        return f"业务 {row.get('number') or row.get('id')}"
    if table == "card":
        return f"卡 {row.get('card_number') or row.get('id')}"
    return f"{TABLES[table]} {row.get('id')}"


def compare(conn: Connection) -> list[tuple[str, str]]:
    """(rule, detail) for each row whose table value differs from its audit replay."""
    expected = replay(conn)
    by_table: dict[str, dict[str, Any]] = defaultdict(dict)
    for (name, row_id), values in expected.items():
        by_table[name][row_id] = values
    out: list[tuple[str, str]] = []
    for table_name in TABLES:
        table = Base.metadata.tables[table_name]
        wanted = by_table[table_name]
        seen = set()
        for actual in _read(conn, table):
            seen.add(actual["id"])
            values = wanted.get(actual["id"])
            if values is None:
                out.append(("rederive", f"{_label(table_name, actual)} 没有任何审计记录（绕过本程序直接写入）"))
                continue
            if values is GONE:
                out.append(("rederive", f"{_label(table_name, actual)} 按审计记录已删除，却仍在表中"))
                continue
            for name, value in values.items():
                if name in SKIPPED or name not in actual:
                    continue
                if not _same(value, actual[name]):
                    shown = (mask_id_number(str(actual[name])), mask_id_number(str(value))) \
                        if name == "id_number" else (actual[name], value)
                    out.append(("rederive", f"{_label(table_name, actual)} 的 {name} 为 {shown[0]!r}，"
                                            f"按审计记录应为 {shown[1]!r}（被直接改动）"))
        for row_id, values in wanted.items():
            if values is not GONE and row_id not in seen:
                out.append(("rederive", f"{_label(table_name, values)} 按审计记录应存在，却已不在表中（被直接删除）"))
    return out
