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

import logging
import uuid
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, and_, func, or_, select, tuple_, update
from sqlalchemy.dialects import postgresql, sqlite

from shebao_desk.models import Base, SyncChange, SyncClock, SyncConflict
from shebao_desk.models.base import utcnow
from shebao_desk.models.people import CardStatus, PersonStatus
from shebao_desk.sync.codec import decode

log = logging.getLogger(__name__)

VOID_CARD = {s.value for s in CardStatus if not s.valid}
VALID_CARD = {s.value for s in CardStatus if s.valid}
CARD_RANK = {CardStatus.REPLACED.value: 1, CardStatus.FORMALLY_LOST.value: 2, CardStatus.CANCELLED.value: 3}
CONFLICT_NS = uuid.UUID("6f1c7c5e-3b8a-4c43-9f8e-2f6f4a1d9b21")
CHUNK = 500  # rows per IN (...) query: well under SQLite's variable limit
TABLE_ORDER = {t.name: i for i, t in enumerate(Base.metadata.sorted_tables)}


def _insert(conn: Connection, table):
    return (postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert)(table)


def _chunks(items: list, size: int = CHUNK) -> Iterable[list]:
    for i in range(0, len(items), size):
        yield items[i:i + size]


def upsert_clocks(conn: Connection, clocks: dict[tuple[str, str, str], str]) -> None:
    if not clocks:
        return
    rows = [{"table_name": t, "row_id": r, "field": f, "hlc": h} for (t, r, f), h in clocks.items()]
    stmt = _insert(conn, SyncClock.__table__)
    stmt = stmt.on_conflict_do_update(index_elements=["table_name", "row_id", "field"], set_={"hlc": stmt.excluded.hlc})
    for chunk in _chunks(rows, 2000):
        conn.execute(stmt, chunk)


def record_local(conn: Connection, changes: list[dict[str, Any]]) -> None:
    """Changes made here: the row is already written; log them and advance the field clocks."""
    conn.execute(SyncChange.__table__.insert(), changes)
    clocks = {}
    for change in changes:
        for name in change["values"]:
            clocks[(change["table_name"], change["row_id"], name)] = change["hlc"]
    upsert_clocks(conn, clocks)


# --- the rules --------------------------------------------------------------------

def _wins(table: str, name: str, current: Any, incoming: Any, newer: bool) -> bool:
    """Whether ``incoming`` replaces ``current`` for this field; ``newer`` is the clock's verdict."""
    if table == "card" and name == "status":
        # A void card never comes back; among void states cancellation beats formal loss beats
        # replacement, whatever the clocks; only equals are settled by the clock.
        mine, theirs = CARD_RANK.get(current, 0), CARD_RANK.get(incoming, 0)
        if mine != theirs:
            return theirs > mine
    if table == "person" and name == "status":
        if current == PersonStatus.CANCELLED.value and incoming != current:
            return False
        if incoming == PersonStatus.CANCELLED.value:
            return True
    if table == "loss_report" and name in ("lifted_at", "lifted_case_id"):
        if current is not None and incoming is None:
            return False  # a lift is never undone
        if current is None and incoming is not None:
            return True
    return newer


# Fields whose current stored value the rules need to see.
RULE_FIELDS = {"card": ("status",), "person": ("status",), "loss_report": ("lifted_at", "lifted_case_id")}


@dataclass
class ApplyResult:
    applied: int = 0
    skipped: int = 0
    conflicts: list[str] = field(default_factory=list)


def _existing_ids(conn: Connection, table, ids: list[str]) -> dict[str, dict[str, Any]]:
    cols = [table.c.id] + [table.c[n] for n in RULE_FIELDS.get(table.name, ())]
    out = {}
    for chunk in _chunks(ids):
        for row in conn.execute(select(*cols).where(table.c.id.in_(chunk))):
            out[row[0]] = {n: _plain(v) for n, v in zip(RULE_FIELDS.get(table.name, ()), row[1:], strict=True)}
    return out


def _plain(value: Any) -> Any:
    import enum
    return value.value if isinstance(value, enum.Enum) else value


def _clocks(conn: Connection, keys: list[tuple[str, str]]) -> dict[tuple[str, str, str], str]:
    out = {}
    clock = SyncClock.__table__
    for chunk in _chunks(keys):
        rows = conn.execute(select(clock.c.table_name, clock.c.row_id, clock.c.field, clock.c.hlc)
                            .where(tuple_(clock.c.table_name, clock.c.row_id).in_(chunk)))
        for t, r, f, h in rows:
            out[(t, r, f)] = h
    return out


def apply_changes(conn: Connection, changes: list[dict[str, Any]], *, pushed: bool) -> ApplyResult:
    """Merge changes that came from elsewhere; those already in this log are ignored (idempotent)."""
    result = ApplyResult()
    if not changes:
        return result
    log_table = SyncChange.__table__
    known = set()
    ids = [c["change_id"] for c in changes]
    for chunk in _chunks(ids):
        known |= set(conn.scalars(select(log_table.c.change_id).where(log_table.c.change_id.in_(chunk))))
    fresh, seen = [], set()
    for c in changes:
        if c["change_id"] in known or c["change_id"] in seen:
            result.skipped += 1
            continue
        seen.add(c["change_id"])
        fresh.append(c)
    if not fresh:
        return result
    now = utcnow()
    conn.execute(log_table.insert(), [{
        "change_id": c["change_id"], "table_name": c["table_name"], "row_id": c["row_id"], "hlc": c["hlc"],
        "origin": c["origin"], "values": c["values"], "pushed": pushed, "created_at": now} for c in fresh])
    result.applied = len(fresh)

    by_row: dict[tuple[str, str], list[dict]] = defaultdict(list)
    for c in fresh:
        if c["table_name"] in Base.metadata.tables:
            by_row[(c["table_name"], c["row_id"])].append(c)
    clocks = _clocks(conn, list(by_row))
    new_clocks: dict[tuple[str, str, str], str] = {}
    touched_cards: set[str] = set()
    by_table: dict[str, list[str]] = defaultdict(list)
    for table_name, row_id in by_row:
        by_table[table_name].append(row_id)
    for table_name in sorted(by_table, key=TABLE_ORDER.__getitem__):  # referenced rows first
        row_ids = by_table[table_name]
        table = Base.metadata.tables[table_name]
        existing = _existing_ids(conn, table, row_ids)
        inserts, updates = [], []
        for row_id in row_ids:
            current = dict(existing.get(row_id, {}))
            winners: dict[str, Any] = {}
            for change in sorted(by_row[(table_name, row_id)], key=lambda c: c["hlc"]):
                for name, value in change["values"].items():
                    key = (table_name, row_id, name)
                    clock = new_clocks.get(key) or clocks.get(key)
                    newer = clock is None or change["hlc"] > clock
                    if _wins(table_name, name, current.get(name), value, newer):
                        winners[name] = value
                        current[name] = value
                        new_clocks[key] = change["hlc"]  # the clock of the value now held
            if not winners:
                continue
            if table_name == "card":
                touched_cards.add(row_id)
            values = decode(table_name, winners)
            if row_id in existing:
                updates.append((row_id, values))
            else:
                values["id"] = row_id
                inserts.append(values)
        _write(conn, table, inserts, updates)
    upsert_clocks(conn, new_clocks)
    result.conflicts = flag_two_valid_cards(conn, touched_cards)
    return result


def _write(conn: Connection, table, inserts: list[dict], updates: list[tuple[str, dict]]) -> None:
    # Rows with the same set of columns go in one executemany.
    groups: dict[tuple[str, ...], list[dict]] = defaultdict(list)
    for values in inserts:
        groups[tuple(sorted(values))].append(values)
    for rows in groups.values():
        conn.execute(table.insert(), rows)
    from sqlalchemy import bindparam
    ugroups: dict[tuple[str, ...], list[dict]] = defaultdict(list)
    for row_id, values in updates:
        ugroups[tuple(sorted(values))].append({"_id": row_id, **{f"v_{k}": v for k, v in values.items()}})
    for names, rows in ugroups.items():
        stmt = update(table).where(table.c.id == bindparam("_id")).values({n: bindparam(f"v_{n}") for n in names})
        conn.execute(stmt, rows)


def flag_two_valid_cards(conn: Connection, card_ids: set[str]) -> list[str]:
    """Persons of these cards now holding more than one valid card: record each once."""
    if not card_ids:
        return []
    card = Base.metadata.tables["card"]
    persons = set()
    for chunk in _chunks(sorted(card_ids)):
        persons |= set(conn.scalars(select(card.c.person_id).where(card.c.id.in_(chunk))))
    flagged = []
    for chunk in _chunks(sorted(persons)):
        rows = conn.execute(select(card.c.person_id, func.count(), func.min(card.c.id), func.max(card.c.id))
                            .where(card.c.person_id.in_(chunk), card.c.status.in_(VALID_CARD))
                            .group_by(card.c.person_id).having(func.count() > 1))
        for person_id, count, low, high in rows:
            conflict_id = str(uuid.uuid5(CONFLICT_NS, f"two_valid_cards:{person_id}:{low}:{high}"))
            stmt = _insert(conn, SyncConflict.__table__).values(
                id=conflict_id, kind="two_valid_cards", person_id=person_id,
                detail={"valid_cards": count, "card_ids": [low, high]}, detected_at=utcnow(), resolved_at=None,
            ).on_conflict_do_nothing(index_elements=["id"])
            conn.execute(stmt)
            flagged.append(person_id)
            log.warning("sync conflict: person %s has %d valid cards; flagged for a supervisor", person_id, count)
    return flagged
