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
import heapq
import json
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (Boolean, Column, Connection, Date, Enum, Integer, LargeBinary, String, Table, text)

from shebao_desk.changes.audit import SECRET_COLUMNS, _json_value
from shebao_desk.changes.merge import field_clock, wins
from shebao_desk.models import Base
from shebao_desk.models.base import SQLITE_STORED_TIME, UTCDateTime
from shebao_desk.rules.idnumber import mask_id_number

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


def _columns(table: Table) -> list[Column[Any]]:
    return [c for c in table.columns if not isinstance(c.type, LargeBinary)]


def _converter(conn: Connection, column: Column[Any]) -> Callable[[Any], Any] | None:
    """How a raw stored value becomes what the audit trail writes (None: as it is). Text, numbers,
    dates and enums are stored as the trail writes them (an enum by its value), so only times,
    flags and JSON need work; a value the column type refuses is kept raw (a mismatch, not a crash)."""
    kind = column.type
    if isinstance(kind, (String, Date, Enum)) or (isinstance(kind, Integer) and not isinstance(kind, Boolean)):
        return None
    proc = kind._cached_result_processor(conn.dialect, None)
    if proc is None:
        return None

    def convert(value: Any) -> Any:
        try:
            return _json_value(column.name, proc(value))
        except (LookupError, ValueError, TypeError):
            return value
    if not isinstance(kind, UTCDateTime) or column.name in SECRET_COLUMNS:
        return _remembering(convert)

    def utc_time(value: Any) -> Any:
        # A UTC time in SQLite's layout, rewritten as text to what convert() gives (the aware time's
        # isoformat): a million cases hold several million of them. Any other value: convert().
        if isinstance(value, str) and SQLITE_STORED_TIME.fullmatch(value):
            micro = value[20:]
            return f"{value[:10]}T{value[11:19]}{'' if micro == '000000' else '.' + micro}+00:00"
        return convert(value)
    return utc_time


MEMO_SIZE, MEMO_LENGTH = 4096, 64  # per column: how many raw values, up to how long


def _remembering(convert: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """``convert`` remembering its result for short raw values: flags and small JSON (``[]``, ``null``)
    repeat in nearly every row. The results are only compared, never changed, so one can be shared."""
    memo: dict[Any, Any] = {}

    def remembered(value: Any) -> Any:
        try:
            return memo[(type(value), value)]
        except (KeyError, TypeError):
            pass
        out = convert(value)
        if len(memo) < MEMO_SIZE and (not isinstance(value, (str, bytes)) or len(value) <= MEMO_LENGTH):
            try:
                memo[(type(value), value)] = out
            except TypeError:  # an unhashable raw value: not remembered
                pass
        return out
    return remembered


def _reader(conn: Connection, table: Table) -> Callable[[Sequence[Any]], dict[str, Any]]:
    """A row as the audit trail writes values."""
    columns = _columns(table)
    names = [c.name for c in columns]
    converted = [(i, c.name, convert) for i, c in enumerate(columns) if (convert := _converter(conn, c)) is not None]

    def read(row: Sequence[Any]) -> dict[str, Any]:
        values = dict(zip(names, row, strict=False))
        for i, name, convert in converted:  # only times, flags and JSON: the rest is stored as written
            value = row[i]
            if value is not None:
                values[name] = convert(value)
        return values
    return read


@dataclass
class Entry:
    verb: str
    after: dict[str, Any] | None
    clock: str  # the hybrid clock of the entry's change: the merge's order
    seq: int  # its place in this store's chain: ties and entries never logged
    audit_id: str = ""
    at: Any = None
    resolved: bool = True  # clock and seq read (only a row with more than one entry, or a mismatch, needs them)


_ENTRIES = text(
    # In the row-id index's order, so SQLite sorts nothing: SQLCipher keeps a sort's temporary storage in
    # memory (TEMP_STORE=2: its temporary files would not be encrypted), which grew with the trail (about
    # 1.8 kB a case). Row ids are unique across tables; the rare shared one is split by table in Python.
    # No clock and no seal here: a row with one entry replays to that entry whatever its clock, so the
    # change log and the chain are asked (in batches, by key) only for the rows that need them.
    "SELECT a.row_id, a.table_name, a.action, a.after, a.at, a.id "
    "FROM audit_entry a INDEXED BY ix_audit_entry_row_id "
    f"WHERE a.table_name IN ({', '.join(repr(t) for t in TABLES)}) ORDER BY a.row_id")
_CLOCKS = "SELECT c.row_id, c.hlc FROM sync_change c WHERE c.table_name = 'audit_entry' AND c.row_id IN ({})"
_SEALS = "SELECT s.audit_id, s.seq FROM audit_seal s WHERE s.audit_id IN ({})"
RESOLVE_BATCH = 400  # keys a lookup asks for at once (SQLite's bound-parameter limit is far above)
GROUP_BATCH = 1000  # row ids read ahead, so the clocks of their entries are asked for together


def _wall_clock(at: Any) -> str:
    """An entry never logged: its wall time stands in for a clock."""
    when = at if isinstance(at, dt.datetime) else dt.datetime.fromisoformat(str(at))
    return f"{int(when.replace(tzinfo=when.tzinfo or dt.UTC).timestamp() * 1000):013d}"


def _entry(action: str, after: Any, at: Any, audit_id: str) -> Entry:
    return Entry(action.rsplit(":", 1)[-1], json.loads(after) if isinstance(after, str) else after, "", 0,
                 audit_id, at, resolved=False)


def resolve(conn: Connection, entries: list[Entry]) -> None:
    """Fill in each entry's clock (the earliest change that logged it, else its wall time) and its
    place in the chain (else last), by key lookups."""
    todo = [e for e in entries if not e.resolved]
    for i in range(0, len(todo), RESOLVE_BATCH):
        part = todo[i:i + RESOLVE_BATCH]
        ids = [e.audit_id for e in part]
        marks = ", ".join("?" * len(ids))
        clocks: dict[str, str] = {}
        for audit_id, hlc in conn.exec_driver_sql(_CLOCKS.format(marks), tuple(ids)):
            if audit_id not in clocks or hlc < clocks[audit_id]:
                clocks[audit_id] = hlc
        seqs: dict[str, int] = {audit_id: seq for audit_id, seq in conn.exec_driver_sql(_SEALS.format(marks), tuple(ids))}
        for e in part:
            hlc = clocks.get(e.audit_id)
            e.clock = hlc if hlc is not None else _wall_clock(e.at)
            seq = seqs.get(e.audit_id)
            e.seq = seq if seq is not None else 1 << 62
            e.resolved = True


def _grouped(conn: Connection) -> Iterator[tuple[str, str, list[Entry]]]:
    current = ""
    by_table: dict[str, list[Entry]] = {}
    for row_id, table_name, action, after, at, audit_id in conn.execute(_ENTRIES):
        if row_id != current:
            yield from ((current, name, by_table[name]) for name in sorted(by_table))
            current, by_table = row_id, {}
        by_table.setdefault(table_name, []).append(_entry(action, after, at, audit_id))
    yield from ((current, name, by_table[name]) for name in sorted(by_table))


def _entries(conn: Connection) -> Iterator[tuple[str, str, list[Entry]]]:
    """(row id, table, its audit entries), in (row id, table) order over the replayed tables: a batch of
    row ids' entries in memory at a time, the trail read once in the index's order (no sort). The entries
    of a row with more than one come with their clocks and seals; a lone entry's are read if needed."""
    batch: list[tuple[str, str, list[Entry]]] = []
    for group in _grouped(conn):
        batch.append(group)
        if len(batch) >= GROUP_BATCH:
            resolve(conn, [e for _, _, entries in batch if len(entries) > 1 for e in entries])
            yield from batch
            batch = []
    resolve(conn, [e for _, _, entries in batch if len(entries) > 1 for e in entries])
    yield from batch


def replay_row(table_name: str, entries: list[Entry]) -> Any:
    """What the trail says one row holds now (or GONE), settled as the merge settles it: each field goes
    to the highest (rank, clock) of the entries that set it, an insert setting every field."""
    state: Any = None
    for e in sorted(entries, key=lambda e: (e.clock, e.seq)):
        if e.verb == "delete":
            state = GONE
        elif state is None or state is GONE:
            # A column the insert did not set is NULL (no column has a server default).
            state = {**dict.fromkeys(_nullable[table_name]), **(e.after or {})}
        else:
            # An update, or the same derived-id row inserted at another workstation: fields settle
            # by the merge's own rules (a cancellation stays, a void card never comes back), so a
            # store that merged copies replays to what it holds.
            for name, value in (e.after or {}).items():
                if wins(table_name, name, state.get(name), value, newer=True):
                    state[name] = value
    return state


def _node(clock: str) -> tuple[str, str]:
    """(millisecond, origin) of a clock: the flush it was taken in."""
    ms, _, rest = clock.partition("-")
    return ms, rest.partition("-")[2]


def _merge_says(entries: list[Entry], clocks: dict[str, str] | None, name: str, actual: Any) -> bool:
    """Whether the merge's own record (sync_clock) explains ``actual``: the change that set the field won
    at clock C, and the entry of that change (at C, or taken in the same flush: an entry logged before
    entries carried their change's clock) set the field to this value."""
    clock = field_clock(clocks, name)
    if clock is None:
        return False
    flush = _node(clock)
    return any(e.after is not None and name in e.after and _same(e.after[name], actual)
               and (e.clock == clock or _node(e.clock) == flush) for e in entries)


def _rows(conn: Connection, table: Table) -> Iterator[tuple[str, str, dict[str, Any], dict[str, str] | None]]:
    """Every row as written (raw values, see :func:`_reader`), in id order (the primary key's index:
    no sort, see :data:`_ENTRIES`), with the merge's field clocks of it."""
    columns = ", ".join(f't."{c.name}"' for c in _columns(table))
    read = _reader(conn, table)
    raw = conn.execute(text(f'SELECT {columns}, k.clocks FROM "{table.name}" t LEFT JOIN sync_clock k '
                            "ON k.table_name = :t AND k.row_id = t.id ORDER BY t.id"), {"t": table.name})
    for row in raw:
        clocks = row[-1]
        values = read(row[:-1])
        yield values["id"], table.name, values, json.loads(clocks) if isinstance(clocks, str) else clocks


def _label(table: str, row: dict[str, Any]) -> str:
    if table == "person":
        return f"人员 {mask_id_number(row.get('id_number'))}（{row.get('id')}）"
    if table == "case":
        return f"业务 {row.get('number') or row.get('id')}"
    if table == "card":  # the number a clerk knows, and the id, which a card not yet issued has alone
        number = row.get("card_number")
        return f"卡 {number}（{row.get('id')}）" if number else f"卡 {row.get('id')}"
    return f"{TABLES[table]} {row.get('id')}"


def compare(conn: Connection) -> list[tuple[str, str]]:
    """(rule, detail) for each row whose table value differs from its audit replay. Streams: the rows
    of the replayed tables and the trail are read side by side in id order, once, one row's entries
    in memory at a time."""
    out: list[tuple[str, str]] = []
    rows = heapq.merge(*(_rows(conn, Base.metadata.tables[t]) for t in TABLES), key=lambda r: (r[0], r[1]))
    entries = _entries(conn)
    pending = next(entries, None)
    for row_id, table_name, actual, clocks in rows:
        while pending is not None and (pending[0], pending[1]) < (row_id, table_name):
            _missing_row(out, pending[1], replay_row(pending[1], pending[2]))
            pending = next(entries, None)
        mine: list[Entry] = []
        if pending is not None and (pending[0], pending[1]) == (row_id, table_name):
            mine = pending[2]
            pending = next(entries, None)
        _compare_row(conn, out, table_name, actual, clocks, mine)
    while pending is not None:
        _missing_row(out, pending[1], replay_row(pending[1], pending[2]))
        pending = next(entries, None)
    return out


def _missing_row(out: list[tuple[str, str]], table_name: str, values: Any) -> None:
    if values is not GONE and values is not None:
        out.append(("rederive", f"{_label(table_name, values)} 按审计记录应存在，却已不在表中（被直接删除）"))


def _compare_row(conn: Connection, out: list[tuple[str, str]], table_name: str, actual: dict[str, Any],
                 clocks: dict[str, str] | None, entries: list[Entry]) -> None:
    values = replay_row(table_name, entries) if entries else None
    if values is None:
        out.append(("rederive", f"{_label(table_name, actual)} 没有任何审计记录（绕过本程序直接写入）"))
        return
    if values is GONE:
        out.append(("rederive", f"{_label(table_name, actual)} 按审计记录已删除，却仍在表中"))
        return
    for name, value in values.items():
        if name in SKIPPED or name not in actual:
            continue
        held = actual[name]
        if value == held or _same(value, held):
            continue
        if clocks:  # the merge's record is asked: it names the entries by their clocks
            resolve(conn, entries)
        if not _merge_says(entries, clocks, name, actual[name]):
            shown = (mask_id_number(str(actual[name])), mask_id_number(str(value))) \
                if name == "id_number" else (actual[name], value)
            out.append(("rederive", f"{_label(table_name, actual)} 的 {name} 为 {shown[0]!r}，"
                                    f"按审计记录应为 {shown[1]!r}（被直接改动）"))
