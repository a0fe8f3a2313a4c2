"""Merging changes into a database: the same rules on every workstation and centrally.

Fields are last-writer-wins by hybrid logical clock, except where the card's
state machine decides: a void card (formal loss, replacement, cancellation)
never becomes valid again whatever the clocks say, a cancellation or a formal
loss wins over any other state, a cancelled person stays cancelled, and a
lifted loss stays lifted. A person left with two valid cards
by a merge is kept as it is and flagged in ``sync_conflict`` for a supervisor.

Plain SQL (SQLAlchemy Core) on the caller's connection and transaction: the
caller decides what is one unit.
"""

from __future__ import annotations

import base64
import contextlib
import enum
import functools
import itertools
import json
import logging
import uuid
import zlib
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import (JSON, ColumnElement, Connection, LargeBinary, Table, Text, any_, bindparam, cast, exists, func,
                        or_, select, union, update)
from sqlalchemy.dialects import postgresql, sqlite

from shebao_desk.changes.audit_chain import seal_received
from shebao_desk.changes.codec import decode
from shebao_desk.models import (Base, CardStatus, PersonStatus, Row, SyncChange, SyncClock, SyncConflict, SyncParked,
                                table_of)
from shebao_desk.models.base import utcnow

log = logging.getLogger(__name__)

VOID_CARD = {s.value for s in CardStatus if not s.valid}
VALID_CARD = {s.value for s in CardStatus if s.valid}
CARD_RANK = {CardStatus.REPLACED.value: 1, CardStatus.FORMALLY_LOST.value: 2, CardStatus.CANCELLED.value: 3}
CONFLICT_NS = uuid.UUID("6f1c7c5e-3b8a-4c43-9f8e-2f6f4a1d9b21")
CHUNK = 500  # rows per IN (...) query: well under SQLite's variable limit
COPY_MIN = 100  # fewer rows than this go in one executemany: a staging table costs more than it saves
# json.dumps(value, ensure_ascii=False) without building an encoder per call (once per staged row)
_JSON_TEXT = json.JSONEncoder(ensure_ascii=False).encode
# A list sent to PostgreSQL as one JSON text and unpacked there (:data:`PG_LIST`): psycopg dumps a
# Python list as an array element by element in Python (~25 ms per 10,000 ids), json in C (~1 ms).
pg_list = json.JSONEncoder().encode
PG_LIST = "ARRAY(SELECT json_array_elements_text(CAST({} AS json)))"  # the text[] of a pg_list parameter


class JsonText(str):
    """A change's values as the JSON text its store's log holds (beside the decoded ``values``, under
    :data:`RAW_VALUES`): the central log stages it as it is instead of encoding the values again."""


RAW_VALUES = "raw_values"
TABLE_ORDER = {t.name: i for i, t in enumerate(Base.metadata.sorted_tables)}
# What each table's foreign keys name: a change is written only once those rows are here.
FOREIGN_KEYS = {t.name: tuple((fk.parent.name, fk.column.table.name) for fk in t.foreign_keys)
                for t in Base.metadata.sorted_tables if t.foreign_keys}
# The rows an audit entry can describe that travel with it (not this site's own: site, chip journal).
REFERENCED_BY_AUDIT = frozenset(table_of(m.class_).name for m in Row.registry.mappers
                                if issubclass(m.class_, Row) and table_of(m.class_).name not in ("site", "audit_entry"))


def _insert(conn: Connection, table: Table) -> postgresql.Insert | sqlite.Insert:
    return (postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert)(table)


def _chunks(items: list[str], size: int = CHUNK) -> Iterator[list[str]]:
    for i in range(0, len(items), size):
        yield items[i:i + size]


def _batches(conn: Connection, items: list[str]) -> Iterator[list[str]]:
    """PostgreSQL takes a whole batch as one array parameter (:func:`_among`): one query, not one per
    chunk, and nothing for SQLAlchemy to expand into thousands of placeholders."""
    if conn.dialect.name == "postgresql":
        if items:
            yield items
        return
    yield from _chunks(items)


def _pg_among(column: Any, param: Any) -> ColumnElement[bool]:
    """``column = ANY(array)`` on PostgreSQL, the array unpacked there from ``param``, one JSON text (see
    pg_list); varchar's index is a text index, so it serves the comparison."""
    values = select(func.json_array_elements_text(cast(param, postgresql.JSON))).scalar_subquery()
    return column == any_(func.array(values))  # type: ignore[no-any-return]


def _among(conn: Connection, column: Any, items: list[str]) -> ColumnElement[bool]:
    """``column IN items``: on PostgreSQL ``= ANY(array)``, one bound parameter however many items."""
    if conn.dialect.name == "postgresql":
        return _pg_among(column, bindparam(None, pg_list(items), type_=Text))
    return column.in_(items)  # type: ignore[no-any-return]


def _among_param(dialect: str, column: Any, name: str) -> ColumnElement[bool]:
    """:func:`_among` with the items bound later as ``name`` (through :func:`_items`): for statements
    built once (:func:`_built`)."""
    if dialect == "postgresql":
        return _pg_among(column, bindparam(name, type_=Text))
    return column.in_(bindparam(name, expanding=True))  # type: ignore[no-any-return]


def _items(conn: Connection, items: list[str]) -> list[str] | str:
    """The value of an :func:`_among_param` parameter: on PostgreSQL one JSON text (see pg_list: psycopg
    dumped 100,000 ids as arrays in 0.17 s of a push's client time)."""
    return pg_list(items) if conn.dialect.name == "postgresql" else items


@functools.lru_cache(maxsize=None)
def _built(what: str, dialect: str, *args: Any) -> Any:
    """Statements run for every merge, built once (building one costs more than running it on a few rows)."""
    return _BUILDERS[what](dialect, *args)


Clocks = dict[tuple[str, str], dict[str, str]]  # (table, row) -> {field or "*": hlc}


def field_clock(clocks: dict[str, str] | None, name: str) -> str | None:
    if not clocks:
        return None
    return clocks.get(name) or clocks.get("*")


def insert_many(conn: Connection, table: Table, rows: list[dict[str, Any]], keys: tuple[str, ...] = (),
                update_cols: tuple[str, ...] = (), returning: str | None = None) -> list[Any] | None:
    """Insert many rows; with ``keys``, skip (or, with ``update_cols``, update) rows already there.

    On PostgreSQL the rows are COPYed into a temporary table and inserted from it in one
    statement (the speed of COPY, with ON CONFLICT); elsewhere an executemany.
    """
    if not rows:
        return [] if returning else None
    if conn.dialect.name == "postgresql" and len(rows) >= COPY_MIN:
        return _copy_insert(conn, table, rows, keys, update_cols, returning)
    stmt = _insert(conn, table)
    if keys and update_cols:
        stmt = stmt.on_conflict_do_update(index_elements=list(keys),
                                          set_={c: getattr(stmt.excluded, c) for c in update_cols})
    elif keys:
        stmt = stmt.on_conflict_do_nothing(index_elements=list(keys))
    if returning:
        return [r[0] for r in conn.execute(stmt.returning(table.c[returning]), rows)]
    conn.execute(stmt, rows)
    return None


@contextlib.contextmanager
def pg_cursor(conn: Connection) -> Iterator[Any]:
    """psycopg's own cursor, in ``conn``'s transaction: COPY, and rows back as plain tuples."""
    raw: Any = conn.connection.dbapi_connection
    with raw.cursor() as cursor:
        yield cursor


def copy_tuples(cursor: Any, target: str, rows: Iterable[Sequence[Any]]) -> None:
    """COPY ``rows``, as they are, into ``target`` (``'table (col, ...)'``)."""
    with cursor.copy(f"COPY {target} FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)


def copy_if_all_new(cursor: Any, target: str, rows: Iterable[Sequence[Any]]) -> bool:
    """COPY ``rows`` into ``target`` (``'table (col, ...)'``) if none of them is there yet: True when
    they went in; False, with nothing written, when one hit a unique key. For writers that hold the push
    lock and expect new rows (a first push): COPY writes them as they stream in, against a staging
    table and ``INSERT ... ON CONFLICT`` (half again the time) that a row already there needs."""
    cursor.execute("SAVEPOINT copy_if_all_new")
    try:
        copy_tuples(cursor, target, rows)
    except Exception as exc:
        if getattr(exc, "sqlstate", None) != UNIQUE_VIOLATION:
            raise
        cursor.execute("ROLLBACK TO SAVEPOINT copy_if_all_new")
        return False
    cursor.execute("RELEASE SAVEPOINT copy_if_all_new")
    return True


def _copy_rows(cursor: Any, conn: Connection, table: Table, target: str, rows: list[dict[str, Any]],
               columns: list[str], encoded: bool) -> None:
    """COPY ``rows``' ``columns`` into ``target`` (``table`` itself or a staging table shaped like it)."""
    json_cols = {c.key for c in table.columns if isinstance(c.type, JSON)}
    processors: dict[str, Callable[[Any], Any] | None]
    if encoded:
        binary = {c.key for c in table.columns if isinstance(c.type, LargeBinary)}
        processors = {k: (lambda v: base64.b64decode(v["b64"])) for k in binary if k in columns}
    else:
        processors = {c.key: c.type.bind_processor(conn.dialect) for c in table.columns if c.key in columns}
    quoted = ", ".join(f'"{c}"' for c in columns)
    # Only the columns that need it are converted, in place (a person's photo, a JSON column); the rest
    # go out as they are. Converting column by column for every value was 0.6 s of a 100,000-person push.
    convert: list[tuple[int, Callable[[Any], Any]]] = []
    for i, c in enumerate(columns):
        process = _JSON_TEXT if c in json_cols else processors.get(c)
        if process is not None:
            convert.append((i, process))
    with cursor.copy(f'COPY "{target}" ({quoted}) FROM STDIN') as copy:
        for row in rows:
            out = [row[c] for c in columns]
            for i, process in convert:
                if out[i] is not None:
                    out[i] = process(out[i])
            copy.write_row(out)


def _stage(cursor: Any, conn: Connection, table: Table, rows: list[dict[str, Any]], columns: list[str],
           encoded: bool) -> str:
    """COPY ``rows`` into a temporary table shaped like ``table``'s ``columns`` (one per column set,
    emptied first, dropped at commit); returns its name."""
    quoted = ", ".join(f'"{c}"' for c in columns)
    staging = f"_stage_{table.name}_{zlib.crc32(','.join(columns).encode()):08x}"  # one per column set
    # Same column types, none of the constraints (seq and defaults are the target's business).
    cursor.execute(f'CREATE TEMP TABLE IF NOT EXISTS "{staging}" ON COMMIT DROP AS '
                   f'SELECT {quoted} FROM "{table.name}" WITH NO DATA')
    cursor.execute(f'TRUNCATE "{staging}"')
    _copy_rows(cursor, conn, table, staging, rows, columns, encoded)
    return staging


def _copy_insert(conn: Connection, table: Table, rows: list[dict[str, Any]], keys: tuple[str, ...],
                 update_cols: tuple[str, ...], returning: str | None, encoded: bool = False) -> list[Any] | None:
    """``encoded``: values in the sync JSON form; timestamps are UTC ISO text, which a
    timestamp-without-time-zone column takes as the UTC wall time we store.

    Rows that need no ``ON CONFLICT`` and return nothing are COPYed straight into the table (the same
    constraints hold, and the server writes them as they stream in: 100,000 new persons in 0.57 s against
    0.96 s through a staging table, 2026-12-06); the others go through a staging table."""
    columns = list(rows[0])
    quoted = ", ".join(f'"{c}"' for c in columns)
    with pg_cursor(conn) as cursor:
        if not keys and not returning:
            _copy_rows(cursor, conn, table, table.name, rows, columns, encoded)
            return None
        staging = _stage(cursor, conn, table, rows, columns, encoded)
        clause = ""
        if keys:
            target = ", ".join(f'"{k}"' for k in keys)
            if update_cols:
                sets = ", ".join(f'"{c}" = EXCLUDED."{c}"' for c in update_cols)
                clause = f" ON CONFLICT ({target}) DO UPDATE SET {sets}"
            else:
                clause = f" ON CONFLICT ({target}) DO NOTHING"
        back = f' RETURNING "{returning}"' if returning else ""
        cursor.execute(f'INSERT INTO "{table.name}" ({quoted}) SELECT {quoted} FROM "{staging}"{clause}{back}')
        return [r[0] for r in cursor.fetchall()] if returning else None


def _copy_update(conn: Connection, table: Table, rows: list[dict[str, Any]]) -> None:
    """Rows of the same columns (``id`` and the decoded values), COPYed into a staging table and
    written with one ``UPDATE ... FROM``."""
    columns = list(rows[0])
    with pg_cursor(conn) as cursor:
        staging = _stage(cursor, conn, table, rows, columns, encoded=False)
        sets = ", ".join(f'"{c}" = s."{c}"' for c in columns if c != "id")
        cursor.execute(f'UPDATE "{table.name}" t SET {sets} FROM "{staging}" s WHERE t.id = s.id')


def upsert_clocks(conn: Connection, clocks: Clocks, stored: set[tuple[str, str]] | None = None) -> None:
    """Write these rows' field clocks. ``stored``: those of them sync_clock holds already (as
    :func:`_load_clocks` found them); the others, when many, are COPYed straight in (rows first updated
    after their insert: a third of a push of updates, 0.13 s of staging and ON CONFLICT), through ON
    CONFLICT should one be there after all."""
    unstored = [k for k in clocks if k not in stored] \
        if stored is not None and conn.dialect.name == "postgresql" else []  # a store's merge: executemany below
    if len(unstored) >= COPY_MIN:
        new = [(t, r, _JSON_TEXT(clocks[(t, r)])) for t, r in unstored]
        with pg_cursor(conn) as cursor:
            if copy_if_all_new(cursor, "sync_clock (table_name, row_id, clocks)", new):
                copied = set(unstored)
                clocks = {k: c for k, c in clocks.items() if k not in copied}
            else:
                log.info("sync_clock already holds clocks of %d rows thought new; all through ON CONFLICT", len(new))
    rows = [{"table_name": t, "row_id": r, "clocks": c} for (t, r), c in clocks.items()]
    insert_many(conn, table_of(SyncClock), rows, keys=("table_name", "row_id"), update_cols=("clocks",))


def _load_clocks(conn: Connection, keys: list[tuple[str, str]], upto_seq: int | None = None,
                 stored: set[tuple[str, str]] | None = None) -> Clocks:
    """The field clocks of existing rows. A row only ever inserted has no entry: every field
    then carries the clock of that insert, its earliest merged change in the log (a parked one is
    not merged yet). ``upto_seq``: read
    the log only up to there, i.e. before changes just logged but not yet weighed (an older
    change for a row first inserted here must not pass for this row's insert). ``stored``: filled with
    the rows whose clocks sync_clock holds."""
    out: Clocks = {}
    clock, log_table = table_of(SyncClock), table_of(SyncChange)
    by_table: dict[str, list[str]] = defaultdict(list)
    for t, r in keys:
        by_table[t].append(r)
    for table_name, row_ids in by_table.items():
        for chunk in _batches(conn, row_ids):
            rows = conn.execute(select(clock.c.row_id, clock.c.clocks)
                                .where(clock.c.table_name == table_name, _among(conn, clock.c.row_id, chunk)))
            for r, c in rows:
                out[(table_name, r)] = dict(c)
                if stored is not None:
                    stored.add((table_name, r))
            bare = [r for r in chunk if (table_name, r) not in out]
            if bare:
                query = (select(log_table.c.row_id, func.min(log_table.c.hlc))
                         .where(log_table.c.table_name == table_name, _among(conn, log_table.c.row_id, bare),
                                log_table.c.change_id.not_in(select(SyncParked.change_id)))
                         .group_by(log_table.c.row_id))
                if upto_seq is not None:
                    query = query.where(log_table.c.seq <= upto_seq)
                for r, h in conn.execute(query):
                    out[(table_name, r)] = {"*": h}
    return out


def _stamp(clocks: dict[str, str], names: Iterable[str], hlc: str, whole_row: bool) -> None:
    if whole_row:  # an insert sets every field: one entry stands for all
        clocks.clear()
        clocks["*"] = hlc
    else:
        for name in names:
            clocks[name] = hlc


def record_local(conn: Connection, changes: list[dict[str, Any]]) -> None:
    """Changes made here: the row is already written; log them and advance the field clocks."""
    updates = [c for c in changes if "id" not in c["values"]]  # an insert's clock is read from the log
    keys = list({(c["table_name"], c["row_id"]) for c in updates})
    clocks = _load_clocks(conn, keys)  # before these changes join the log
    insert_many(conn, table_of(SyncChange), changes)
    for change in updates:
        _stamp(clocks.setdefault((change["table_name"], change["row_id"]), {}), change["values"], change["hlc"],
               whole_row=False)
    upsert_clocks(conn, {k: clocks[k] for k in keys})
    # A local business can settle a flagged conflict (a card voided) or turn it into another
    # (cancelling a person who holds two valid cards leaves one): look again, as a merge does.
    cards = {c["row_id"] for c in changes if c["table_name"] == "card"}
    persons = {c["row_id"] for c in changes if c["table_name"] == "person"}
    if cards or persons:
        review_conflicts(conn, cards, persons)


# --- the rules --------------------------------------------------------------------

def _rank(table: str, name: str, value: Any) -> int:
    """Where a rule orders values whatever the clocks: a higher rank always wins, equal ranks go
    to the later clock. Each field's winner is then the maximum of (rank, clock) over all its
    changes, which does not depend on the order they arrive in."""
    if table == "card" and name == "status":
        # A void card never comes back; cancellation beats formal loss beats replacement.
        return CARD_RANK.get(value, 0)
    if table == "person" and name == "status":
        return int(value == PersonStatus.CANCELLED.value)  # a cancelled person stays cancelled
    if (table, name) in (("person", "cancelled_at"), ("loss_report", "lifted_at"),
                         ("loss_report", "lifted_case_id"), ("temp_card", "returned_at"),
                         ("temp_card", "returned_by")):
        return int(value is not None)  # a cancellation's time, a lift and a returned temporary card are never undone
    if table == "person" and name in ("phone", "address"):
        # Never cleared on purpose (an info change refuses blanks, a registration only fills them):
        # a blank from a registration elsewhere must not wipe a number typed here.
        return int(bool(value))
    return 0


def wins(table: str, name: str, current: Any, incoming: Any, newer: bool) -> bool:
    """Whether ``incoming`` replaces ``current`` for this field; ``newer`` is the clock's verdict."""
    mine, theirs = _rank(table, name, current), _rank(table, name, incoming)
    if mine != theirs:
        return theirs > mine
    return newer


# Fields whose current stored value the rules need to see.
RULE_FIELDS = {"card": ("status",), "person": ("status", "cancelled_at", "phone", "address"),
               "loss_report": ("lifted_at", "lifted_case_id"), "temp_card": ("returned_at", "returned_by")}


@dataclass
class ApplyResult:
    applied: int = 0
    skipped: int = 0
    conflicts: list[str] = field(default_factory=list)
    parked: int = 0  # logged, waiting for a row they depend on (see :func:`hold_back`)
    taken_in: int = 0  # parked earlier, merged now that their rows have arrived
    logged_after: int = 0  # the log's last seq before these changes: the new ones are after it
    # Rows new here, inserted by this merge: (table, id) -> the values they were written with
    inserted: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)


# Rows already looked up in one merge: table -> row id -> the rule fields it holds, or None for a row
# not there (hold_back asks for the rows a batch writes along with those it needs, so the merge that
# follows does not ask again; valid until the merge writes).
Known = dict[str, dict[str, dict[str, Any] | None]]


def _existing_ids(conn: Connection, table: Table, ids: list[str], known: Known | None = None) -> dict[str, dict[str, Any]]:
    """The rows of these ids that are here, with the fields the rules read; ``known``: rows looked up
    before (and recorded there as this looks them up)."""
    seen = known.setdefault(table.name, {}) if known is not None else {}
    ask = [i for i in ids if i not in seen]
    for chunk in _batches(conn, ask):
        for row in conn.execute(_built("existing", conn.dialect.name, table.name), {"ids": _items(conn, chunk)}):
            seen[row[0]] = {n: _plain(v) for n, v in zip(RULE_FIELDS.get(table.name, ()), row[1:], strict=True)}
    out = {}
    for i in ids:
        fields = seen.setdefault(i, None)
        if fields is not None:
            out[i] = fields
    return out


def _plain(value: Any) -> Any:
    return value.value if isinstance(value, enum.Enum) else value


def apply_changes(conn: Connection, changes: list[dict[str, Any]], *, pushed: bool,
                  park: bool = False, scopes: dict[str, str] | None = None) -> ApplyResult:
    """Merge changes that came from elsewhere; those already in this log are ignored (idempotent).

    ``park``: a change whose rows are not here yet (the person a card names, the clerk of a case,
    the row an update is for) is logged but parked instead of failing the whole batch, and merged
    by a later call once they have arrived (a store; central refuses instead, so the sender
    keeps the change in quarantine).

    ``scopes``: on the central log, the scopes known before the merge, written with the log rows
    (see :func:`shebao_desk.sync.scope.prescopes`)."""
    result = ApplyResult()
    if not changes:
        return result
    log_table = table_of(SyncChange)
    unique, seen = [], set()
    for c in changes:
        if c["change_id"] not in seen:
            seen.add(c["change_id"])
            unique.append(c)
    now = utcnow()
    # The log decides what is new: a change already there is skipped (idempotent resend).
    if conn.dialect.name == "sqlite":
        # The new changes' seqs come back with them: the log's end before them is the one below the first
        # (the log grows at its end), with no query of its own (a lookup at the counter is a few rows).
        stmt = sqlite.insert(log_table).on_conflict_do_nothing(index_elements=["change_id"])
        logged = conn.execute(stmt.returning(log_table.c.change_id, log_table.c.seq), _log_rows(unique, pushed, now)).all()
        inserted = {change_id for change_id, _ in logged}
        logged_before = min(seq for _, seq in logged) - 1 if logged else \
            conn.scalar(select(func.coalesce(func.max(log_table.c.seq), 0)))
    else:
        logged_before = conn.scalar(select(func.coalesce(func.max(log_table.c.seq), 0)))
        if scopes is not None:
            inserted = _log_central(conn, unique, scopes, pushed, now)
        else:
            inserted = set(insert_many(conn, log_table, _log_rows(unique, pushed, now), keys=("change_id",),
                                       returning="change_id") or [])
    result.logged_after = int(logged_before or 0)
    fresh = [c for c in unique if c["change_id"] in inserted]
    result.skipped = len(changes) - len(fresh)
    result.applied = len(fresh)
    known: Known = {}
    if park:
        fresh, waiting = hold_back(conn, fresh, known)
        insert_many(conn, table_of(SyncParked), [{"change_id": c["change_id"], "waits_for": why[:80], "parked_at": now}
                                                 for c, why in waiting], keys=("change_id",))
        result.parked = len(waiting)
        for c, why in waiting:
            log.info("change %s (%s) parked: waits for %s", c["change_id"], c["table_name"], why)
    result.conflicts = _merge(conn, fresh, logged_before, known, result.inserted)
    if park:
        taken, conflicts = take_in_parked(conn)
        result.taken_in = taken
        result.conflicts = sorted(set(result.conflicts) | set(conflicts))
    return result


def _log_rows(changes: list[dict[str, Any]], pushed: bool, now: Any) -> list[dict[str, Any]]:
    return [{"change_id": c["change_id"], "table_name": c["table_name"], "row_id": c["row_id"], "hlc": c["hlc"],
             "origin": c["origin"], "values": c["values"], "pushed": pushed, "created_at": now} for c in changes]


UNIQUE_VIOLATION = "23505"  # PostgreSQL's SQLSTATE
_LOGGED = ("change_id", "table_name", "row_id", "hlc", "origin", "values", "scope")  # as staged by _log_central
_LOGGED_SQL = ", ".join(f'"{c}"' for c in _LOGGED)


def _log_central(conn: Connection, changes: list[dict[str, Any]], scopes: dict[str, str], pushed: bool,
                 now: Any) -> set[str]:
    """The central log's rows of a push, with their scopes (a column of the central log only, not in the
    model), values as the store's JSON text when it came with them (see :class:`JsonText`); returns the
    change ids that were new.

    The caller holds the push lock (``sync.central._send``), so nothing else writes the central log
    meanwhile: a batch that is all new (every push that was not cut off) is COPYed straight into the log
    (:func:`copy_if_all_new`); a resend meets a change already logged and goes through a staging table
    and ``ON CONFLICT DO NOTHING``."""
    def rows() -> Iterator[tuple[Any, ...]]:
        for c in changes:
            yield (c["change_id"], c["table_name"], c["row_id"], c["hlc"], c["origin"],
                   c.get(RAW_VALUES) or _JSON_TEXT(c["values"]), scopes.get(c["change_id"]), pushed, now)

    with pg_cursor(conn) as cursor:
        if copy_if_all_new(cursor, f'sync_change ({_LOGGED_SQL}, "pushed", "created_at")', rows()):
            return {c["change_id"] for c in changes}
        log.info("a resent batch: %d changes logged through staging", len(changes))
        cursor.execute(f'CREATE TEMP TABLE IF NOT EXISTS "_stage_sync_change_log" ON COMMIT DROP AS '
                       f'SELECT {_LOGGED_SQL}, "pushed", "created_at" FROM sync_change WITH NO DATA')
        cursor.execute('TRUNCATE "_stage_sync_change_log"')
        copy_tuples(cursor, f'"_stage_sync_change_log" ({_LOGGED_SQL}, "pushed", "created_at")', rows())
        cursor.execute(f'INSERT INTO sync_change ({_LOGGED_SQL}, "pushed", "created_at") '
                       f'SELECT {_LOGGED_SQL}, "pushed", "created_at" FROM "_stage_sync_change_log" '
                       'ON CONFLICT ("change_id") DO NOTHING RETURNING "change_id"')
        return {r[0] for r in cursor.fetchall()}


def _merge(conn: Connection, fresh: list[dict[str, Any]], logged_before: int | None,
           known: Known | None = None, inserted: dict[tuple[str, str], dict[str, Any]] | None = None) -> list[str]:
    """Weigh logged changes against the rows and write the winners; returns the persons newly flagged.
    ``known``: rows looked up just before (by :func:`hold_back`), not asked for again. ``inserted``: filled
    with the rows new here that it inserts, and the values it writes (see ApplyResult)."""
    if not fresh:
        return []
    by_row: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    for c in fresh:
        if c["table_name"] in Base.metadata.tables:
            by_row[(c["table_name"], c["row_id"])].append(c)
    changed_clocks: Clocks = {}
    stored: set[tuple[str, str]] = set()  # the rows whose clocks sync_clock holds (the others have only their insert's)
    new_rows = inserted if inserted is not None else {}
    touched_cards: set[str] = set()
    touched_persons = {r for t, r in by_row if t == "person"}
    by_table: dict[str, list[str]] = defaultdict(list)
    for table_name, row_id in by_row:
        by_table[table_name].append(row_id)
    for table_name in sorted(by_table, key=TABLE_ORDER.__getitem__):  # referenced rows first
        row_ids = by_table[table_name]
        table = Base.metadata.tables[table_name]
        existing = _existing_ids(conn, table, row_ids, known)
        if table_name == "person":
            # A person new here holds no card yet but those of this batch (whose persons are reviewed
            # through them) and no conflict: nothing to review for them.
            touched_persons &= set(existing)
        # A new row has no clocks yet; an existing one has those of the changes it holds.
        clocks = _load_clocks(conn, [(table_name, r) for r in existing], upto_seq=logged_before, stored=stored)
        inserts, updates = [], []
        for row_id in row_ids:
            row_changes = by_row[(table_name, row_id)]
            if row_id not in existing and len(row_changes) == 1 and "id" in row_changes[0]["values"]:
                # A new row from its insert alone (the bulk of any first sync): nothing to weigh.
                change = row_changes[0]  # its clock is in the log, see _load_clocks
                if table_name == "card":
                    touched_cards.add(row_id)
                values = change["values"]  # an insert's values name its id: no copy needed
                inserts.append(values if values["id"] == row_id else {**values, "id": row_id})
                new_rows[(table_name, row_id)] = inserts[-1]
                continue
            current = dict(existing.get(row_id, {}))
            row_clocks = clocks.get((table_name, row_id), {})
            if row_id in existing:  # kept explicitly from now on: the log now holds changes that lost
                changed_clocks[(table_name, row_id)] = row_clocks
            winners: dict[str, Any] = {}
            for change in sorted(row_changes, key=lambda c: c["hlc"]):
                won = []
                for name, value in change["values"].items():
                    clock = field_clock(row_clocks, name)
                    newer = clock is None or change["hlc"] > clock
                    if wins(table_name, name, current.get(name), value, newer):
                        winners[name] = value
                        current[name] = value
                        won.append(name)
                if won:  # the clock of the value now held
                    whole = not row_clocks and len(won) == len(change["values"]) and "id" in change["values"]
                    _stamp(row_clocks, won, change["hlc"], whole_row=whole)
                    changed_clocks[(table_name, row_id)] = row_clocks
            if not winners:
                continue
            if table_name == "card":
                touched_cards.add(row_id)
            if row_id in existing:
                updates.append((row_id, decode(table_name, winners)))
            else:
                inserts.append({**winners, "id": row_id})
                new_rows[(table_name, row_id)] = inserts[-1]
        _write(conn, table, inserts, updates)
    # Audit entries from elsewhere join this store's hash chain as they arrive (#14).
    seal_received(conn, by_table.get("audit_entry", []))
    upsert_clocks(conn, changed_clocks, stored)
    return review_conflicts(conn, touched_cards - _lone_new_cards(new_rows), touched_persons)


def _lone_new_cards(new_rows: dict[tuple[str, str], dict[str, Any]]) -> set[str]:
    """Cards a merge inserts that can be in no conflict: the only card of a person the same merge inserts
    (a card can name a person only once the person is there, so no other card names them), that person not
    cancelled. Nothing to review for them (#29: at a first push every new card was looked at again). A card
    of someone else given to that person in the same merge is reviewed, and with it the person's cards."""
    cards_of: dict[Any, list[str]] = defaultdict(list)
    for (table, row_id), values in new_rows.items():
        if table == "card":
            cards_of[values.get("person_id")].append(row_id)
    return {cards[0] for person_id, cards in cards_of.items()
            if len(cards) == 1 and (person := new_rows.get(("person", person_id))) is not None
            and person.get("status") != CANCELLED_PERSON}


# --- changes that wait for a row they depend on ----------------------------------------------

def _references(change: dict[str, Any]) -> list[tuple[str, str]]:
    """The rows a change needs before it can be written: its own row (an update of a row not here),
    the rows its foreign keys name, and, for an audit entry, the row it describes (so db check never
    finds an entry whose row has not arrived)."""
    table, values = change["table_name"], change["values"]
    if table == "audit_entry":
        described, row_id = values.get("table_name"), values.get("row_id")
        action = str(values.get("action") or "")
        if described in REFERENCED_BY_AUDIT and isinstance(row_id, str) and not action.endswith("delete"):
            return [(described, row_id)]
        return []
    needs = [] if "id" in values else [(table, change["row_id"])]
    for column, target in FOREIGN_KEYS.get(table, ()):
        value = values.get(column)
        if isinstance(value, str) and value:
            needs.append((target, value))
    return needs


def hold_back(conn: Connection, changes: list[dict[str, Any]], known: Known | None = None,
              ) -> tuple[list[dict[str, Any]], list[tuple[dict[str, Any], str]]]:
    """Split changes into those whose rows are all here (or come with them) and those that must wait,
    each with the first row it waits for. ``known``: filled with the rows looked up, the changes' own
    rows among them, for the merge that follows."""
    needs = {c["change_id"]: _references(c) for c in changes}
    wanted: dict[str, set[str]] = defaultdict(set)
    for refs in needs.values():
        for table, row_id in refs:
            wanted[table].add(row_id)
    if known is not None:  # one query a table: the merge then looks up none of them again
        for c in changes:
            if c["table_name"] in Base.metadata.tables:
                wanted[c["table_name"]].add(c["row_id"])
    present = {(t, r) for t, ids in wanted.items()
               for r in _existing_ids(conn, Base.metadata.tables[t], sorted(ids), known)}
    blocked: dict[str, str] = {}
    while True:  # a row this batch inserts is there only if its insert is not held back itself
        inserted = {(c["table_name"], c["row_id"]) for c in changes
                    if "id" in c["values"] and c["change_id"] not in blocked}
        more = False
        for c in changes:
            if c["change_id"] in blocked:
                continue
            missing = [ref for ref in needs[c["change_id"]] if ref not in present and ref not in inserted]
            if missing:
                blocked[c["change_id"]] = f"{missing[0][0]}/{missing[0][1]}"
                more = True
        if not more:
            break
    return ([c for c in changes if c["change_id"] not in blocked],
            [(c, blocked[c["change_id"]]) for c in changes if c["change_id"] in blocked])


def take_in_parked(conn: Connection) -> tuple[int, list[str]]:
    """Merge the parked changes whose rows have arrived (in rounds: one may bring another's row)."""
    parked_table, log_table = table_of(SyncParked), table_of(SyncChange)
    taken, conflicts = 0, []
    while conn.scalar(select(func.count()).select_from(parked_table)):
        rows = conn.execute(select(*(log_table.c[k] for k in ("change_id", "table_name", "row_id", "hlc", "origin",
                                                             "values")))
                            .join(parked_table, parked_table.c.change_id == log_table.c.change_id)
                            .order_by(log_table.c.seq)).all()
        ready, _ = hold_back(conn, [dict(r._mapping) for r in rows])
        if not ready:
            break
        # Still parked while weighed: a parked change never passes for the insert of its row (_load_clocks).
        conflicts += _merge(conn, ready, None)
        for chunk in _chunks([c["change_id"] for c in ready]):
            conn.execute(parked_table.delete().where(parked_table.c.change_id.in_(chunk)))
        taken += len(ready)
        log.info("%d parked changes taken in: their rows have arrived", len(ready))
    return taken, conflicts


def _write(conn: Connection, table: Table, inserts: list[dict[str, Any]],
           updates: list[tuple[str, dict[str, Any]]]) -> None:
    """``inserts`` still in their JSON form (PostgreSQL's COPY reads it as it is); ``updates`` decoded."""
    groups: dict[tuple[str, ...], list[dict[str, Any]]] = defaultdict(list)  # same columns, same statement
    columns_of: dict[tuple[str, ...], tuple[str, ...]] = {}  # keys as they come -> sorted, sorted once
    for values in inserts:
        keys = tuple(values)
        if (columns := columns_of.get(keys)) is None:
            columns = columns_of[keys] = tuple(sorted(keys))
        groups[columns].append(values)
    for rows in groups.values():
        if conn.dialect.name == "postgresql" and len(rows) >= COPY_MIN:
            _copy_insert(conn, table, rows, (), (), None, encoded=True)
        else:
            insert_many(conn, table, [decode(table.name, r) for r in rows])
    ugroups: dict[tuple[str, ...], list[tuple[str, dict[str, Any]]]] = defaultdict(list)
    for row_id, values in updates:
        ugroups[tuple(sorted(values))].append((row_id, values))
    for names, group in ugroups.items():
        if conn.dialect.name == "postgresql" and len(group) >= COPY_MIN:
            _copy_update(conn, table, [{"id": row_id, **values} for row_id, values in group])
            continue
        params: dict[str, Any] = {n: bindparam(f"v_{n}") for n in names}
        if "updated_at" in table.c and "updated_at" not in params:
            params["updated_at"] = table.c.updated_at  # as merged, not the time of this merge (onupdate)
        stmt = update(table).where(table.c.id == bindparam("_id")).values(params)
        conn.execute(stmt, [{"_id": row_id, **{f"v_{k}": v for k, v in values.items()}} for row_id, values in group])


CANCELLED_PERSON = PersonStatus.CANCELLED.value


def _flag(conn: Connection, kind: str, person_id: str, detail: dict[str, Any], key: str) -> bool:
    """Record a conflict once (its id derives from what it is about); whether it is new."""
    conflict_id = str(uuid.uuid5(CONFLICT_NS, f"{kind}:{person_id}:{key}"))
    stmt = _insert(conn, table_of(SyncConflict)).values(
        id=conflict_id, kind=kind, person_id=person_id, detail=detail, detected_at=utcnow(), resolved_at=None,
    ).on_conflict_do_nothing(index_elements=["id"])
    return conn.execute(stmt).rowcount == 1


def review_conflicts(conn: Connection, card_ids: set[str],
                     person_ids: set[str] | frozenset[str] = frozenset()) -> list[str]:
    """Flag what the rules cannot settle alone, for the persons of these cards and these persons:
    more than one valid card, or a valid card held by a cancelled person (a card made at one
    window while another cancelled the person). Nothing is dropped or changed: a supervisor
    decides. Conflicts whose cause is gone (mended here or elsewhere) are closed. Returns the
    persons newly flagged."""
    card, person = Base.metadata.tables["card"], Base.metadata.tables["person"]
    persons = _under_review(conn, card_ids, person_ids)
    if not persons:
        return []
    flagged = []
    for chunk in _batches(conn, sorted(persons)):
        rows = conn.execute(select(card.c.person_id, func.count(), func.min(card.c.id), func.max(card.c.id))
                            .where(_among(conn, card.c.person_id, chunk), card.c.status.in_(VALID_CARD))
                            .group_by(card.c.person_id).having(func.count() > 1))
        for person_id, count, low, high in rows:
            if _flag(conn, "two_valid_cards", person_id, {"valid_cards": count, "card_ids": [low, high]},
                     f"{low}:{high}"):
                flagged.append(person_id)
                log.warning("sync conflict: person %s has %d valid cards; flagged for a supervisor", person_id, count)
        rows = conn.execute(select(card.c.person_id, card.c.id).join(person, person.c.id == card.c.person_id)
                            .where(_among(conn, card.c.person_id, chunk), card.c.status.in_(VALID_CARD),
                                   person.c.status == CANCELLED_PERSON))
        for person_id, card_id in rows:
            if not _flag(conn, "cancelled_person_valid_card", person_id, {"card_ids": [card_id]}, card_id):
                continue
            flagged.append(person_id)
            log.warning("sync conflict: cancelled person %s holds valid card %s; flagged for a supervisor",
                        person_id, card_id)
    close_settled(conn, persons)
    return sorted(set(flagged))


def _under_review(conn: Connection, card_ids: set[str], person_ids: set[str] | frozenset[str]) -> set[str]:
    """Of the persons of these cards and these persons, those :func:`review_conflicts` has anything to
    do for: more than one valid card, a valid card while cancelled, or an open conflict. One query a
    chunk (a merge touches many persons, and nearly all of them have none of these)."""
    out: set[str] = set()
    none: list[str] = []
    cards: list[str]
    persons: list[str]
    for cards, persons in itertools.zip_longest(_batches(conn, sorted(card_ids)), _batches(conn, sorted(person_ids)),
                                                fillvalue=none):
        stmt = _built("under_review", conn.dialect.name, bool(cards), bool(persons))
        out |= set(conn.scalars(stmt, {"cards": _items(conn, cards), "persons": _items(conn, persons)}))
    return out


def _under_review_query(dialect: str, cards: bool, persons: bool) -> Any:
    card, person, conflict = Base.metadata.tables["card"], Base.metadata.tables["person"], table_of(SyncConflict)
    other = card.alias("other")
    parts = []
    if cards:
        parts.append(select(card.c.person_id.label("id")).where(_among_param(dialect, card.c.id, "cards")))
    if persons:  # the persons with a card or a conflict (nothing to review for the others)
        parts.append(select(card.c.person_id.label("id")).where(_among_param(dialect, card.c.person_id, "persons")))
        parts.append(select(conflict.c.person_id.label("id"))
                     .where(_among_param(dialect, conflict.c.person_id, "persons")))
    candidates = union(*parts).subquery("candidates")
    valid_cards = (select(func.count()).select_from(other)
                   .where(other.c.person_id == candidates.c.id, other.c.status.in_(VALID_CARD)).scalar_subquery())
    cancelled_with_card = exists(select(other.c.id).join(person, person.c.id == other.c.person_id)
                                 .where(other.c.person_id == candidates.c.id, other.c.status.in_(VALID_CARD),
                                        person.c.status == CANCELLED_PERSON))
    open_conflict = candidates.c.id.in_(select(conflict.c.person_id).where(conflict.c.resolved_at.is_(None)))
    return select(candidates.c.id).where(or_(valid_cards > 1, cancelled_with_card, open_conflict))


def _existing_query(dialect: str, table_name: str) -> Any:
    table = Base.metadata.tables[table_name]
    cols = [table.c.id] + [table.c[n] for n in RULE_FIELDS.get(table_name, ())]
    return select(*cols).where(_among_param(dialect, table.c.id, "ids"))


_BUILDERS: dict[str, Callable[..., Any]] = {"under_review": _under_review_query, "existing": _existing_query}


def close_settled(conn: Connection, person_ids: set[str] | frozenset[str]) -> int:
    """Mark resolved the open conflicts of these persons whose cause no longer holds."""
    card, person = Base.metadata.tables["card"], Base.metadata.tables["person"]
    conflict = table_of(SyncConflict)
    closed = 0
    for chunk in _batches(conn, sorted(person_ids)):
        open_ = conn.execute(select(conflict.c.id, conflict.c.kind, conflict.c.person_id)
                             .where(_among(conn, conflict.c.person_id, chunk), conflict.c.resolved_at.is_(None))).all()
        for conflict_id, kind, person_id in open_:
            valid = conn.execute(select(func.count()).select_from(card)
                                 .where(card.c.person_id == person_id, card.c.status.in_(VALID_CARD))).scalar_one()
            if kind == "cancelled_person_valid_card":
                status = conn.scalar(select(person.c.status).where(person.c.id == person_id))
                still = valid > 0 and _plain(status) == CANCELLED_PERSON
            else:
                still = valid > 1
            if not still:
                conn.execute(update(conflict).where(conflict.c.id == conflict_id).values(resolved_at=utcnow()))
                closed += 1
    return closed

