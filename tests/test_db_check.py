"""db check's replay of the audit trail follows the merge's own field clocks (issue 25, item 4)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from sqlalchemy import select, text

from shebao_desk.config.policy import Policy
from shebao_desk.models import Card
from shebao_desk.services.invariants import check_store
from shebao_desk.store.database import Store

from conftest import applicant
from test_sync import _freeze, exchange, issued, one_card_at_two_windows, window_store


def _entry_clocks(store: Store, card_id: str) -> dict[str, str]:
    """origin -> the logged clock of the audit entry of that origin's edit of the card's issue date."""
    with store.engine.connect() as conn:
        rows = conn.execute(text(
            "SELECT c.hlc, c.origin FROM audit_entry a JOIN sync_change c ON c.table_name = 'audit_entry' "
            "AND c.row_id = a.id WHERE a.row_id = :r AND a.action = 'fix issue date:update'"), {"r": card_id}).all()
    return {origin: hlc for hlc, origin in rows}


def test_entries_logged_with_their_own_clocks_replay_as_the_card_merged(tmp_path: Path, policy: Policy) -> None:
    """A trail written before entries carried their change's clock: at each store the entry sat a
    tick or two off its change, so ordering whole entries put A's edit last while the merge kept C's
    (seeds 1143, 1148). The replay follows the merge's field clocks (sync_clock) and passes."""
    a1, cs1, c1, cs3, card_id, ms = one_card_at_two_windows(tmp_path, policy)
    _freeze(a1, ms, 7)
    _freeze(c1, ms, 7)  # both edits at tick 8 of one millisecond: C's (SZ021 > SZ011) wins the field
    with a1.unit(cs1[0].id, "1", "fix issue date") as s:
        s.get(Card, card_id).issue_date = dt.date(2026, 3, 13)
    with c1.unit(cs3[0].id, "1", "fix issue date") as s:
        s.get(Card, card_id).issue_date = dt.date(2026, 3, 12)
    exchange(a1, c1, tmp_path, "2")
    legacy = {"SZ011": f"{ms:013d}-00009-SZ011", "SZ021": f"{ms:013d}-00007-SZ021"}
    for store in (a1, c1):
        assert set(_entry_clocks(store, card_id)) == set(legacy)
        with store.engine.begin() as conn:  # as an older version logged them: each entry's own tick
            for origin, hlc in legacy.items():
                conn.execute(text("UPDATE sync_change SET hlc = :h WHERE table_name = 'audit_entry' AND origin = :o "
                                  "AND row_id IN (SELECT id FROM audit_entry WHERE row_id = :r "
                                  "AND action = 'fix issue date:update')"), {"h": hlc, "o": origin, "r": card_id})
    for store in (a1, c1):
        with store.read() as s:
            assert s.scalar(select(Card.issue_date).where(Card.id == card_id)) == dt.date(2026, 3, 12)
            assert [str(f) for f in check_store(s)] == []


def test_a_direct_edit_of_a_merged_field_is_still_reported(tmp_path: Path, policy: Policy) -> None:
    (a1, cs1), (c1, _) = window_store(tmp_path, policy, "SZ01", "1"), window_store(tmp_path, policy, "SZ02", "1")
    who = applicant(127)
    issued(a1, policy, cs1, who)
    exchange(a1, c1, tmp_path, "1")
    with c1.engine.begin() as conn:
        conn.execute(text("UPDATE card SET issue_date = '2025-01-01'"))
    with c1.read() as s:
        found = [str(f) for f in check_store(s)]
    assert any("issue_date" in f and "被直接改动" in f for f in found), found


def test_a_bulk_store_with_its_whole_trail_passes_db_check(tmp_path: Path) -> None:
    """The store benchmarks/trail_store.py makes (the 1M-case figure's) holds a trail db check accepts."""
    import sys
    root = str(Path(__file__).resolve().parent.parent)
    if root not in sys.path:  # benchmarks/ is a top-level package of the checkout, not installed
        sys.path.insert(0, root)
    from benchmarks.trail_store import fill
    from shebao_desk.store.database import open_store
    path = tmp_path / "bulk.sqlite3"
    fill(path, 300)
    store = open_store(path)
    try:
        with store.read() as s:
            assert [str(f) for f in check_store(s)] == []
    finally:
        store.close()


def _bulk_store(tmp_path: Path, cases: int) -> Store:
    import sys
    root = str(Path(__file__).resolve().parent.parent)
    if root not in sys.path:
        sys.path.insert(0, root)
    from benchmarks.trail_store import fill
    from shebao_desk.store.database import open_store
    path = tmp_path / "bulk.sqlite3"
    fill(path, cases)
    return open_store(path)


def test_db_check_sorts_nothing_in_memory(tmp_path: Path) -> None:
    """SQLCipher keeps a sort's temporary b-tree in memory (TEMP_STORE=2), so a query over the whole
    trail or a whole table that SQLite sorts grows db check with the store (issue 25 item 4: 1.8 kB a
    case, ~1.9 GB at 1M cases). Every query db check runs reads in an index's order instead."""
    from sqlalchemy import event
    store = _bulk_store(tmp_path, 50)
    seen: list[tuple[str, object]] = []

    def grab(conn: object, cursor: object, statement: str, params: object, context: object, many: bool) -> None:
        if statement.lstrip().upper().startswith("SELECT"):
            seen.append((statement, params))
    event.listen(store.engine, "before_cursor_execute", grab)
    try:
        with store.read() as s:
            assert [str(f) for f in check_store(s)] == []
        event.remove(store.engine, "before_cursor_execute", grab)
        assert any("FROM audit_entry a" in q for q, _ in seen)  # the replay's own query was among them
        raw = store.engine.raw_connection()
        try:
            cursor = raw.cursor()
            sorted_in_memory = []
            for statement, params in seen:
                cursor.execute("EXPLAIN QUERY PLAN " + statement, params)
                plan = [row[3] for row in cursor.fetchall()]
                if any("TEMP B-TREE" in step for step in plan):
                    sorted_in_memory.append((" ".join(statement.split())[:160], plan))
        finally:
            raw.close()
        assert sorted_in_memory == []
    finally:
        store.close()


def test_a_row_id_two_tables_share_replays_each_table_apart(tmp_path: Path) -> None:
    """The trail is read in row-id order only (the index's), so the entries of one row id written for
    two tables come interleaved; each table's row still gets its own entries, in (row id, table) order."""
    from shebao_desk.services.rederive import _entries
    store = _bulk_store(tmp_path, 10)
    shared = "00000000-0000-4000-8000-000000000000"
    try:
        with store.engine.begin() as conn:
            for k, table in enumerate(["person", "card", "person", "card"]):
                conn.execute(text(
                    "INSERT INTO audit_entry (id, at, clerk_id, workstation, action, table_name, row_id, "
                    "\"before\", \"after\", created_at, updated_at) "
                    "VALUES (:id, :at, NULL, 'A', :action, :t, :r, NULL, :after, :at, :at)"),
                    {"id": f"e{k}", "at": f"2025-01-01 00:00:0{k}.000000", "action": f"x:{'insert' if k < 2 else 'update'}",
                     "t": table, "r": shared, "after": f'{{"k": {k}}}'})
        with store.engine.connect() as conn:
            mine = [(table, [e.after for e in batch]) for row_id, table, batch in _entries(conn) if row_id == shared]
            keys = [(row_id, table) for row_id, table, _ in _entries(conn)]
        assert mine == [("card", [{"k": 1}, {"k": 3}]), ("person", [{"k": 0}, {"k": 2}])]
        assert keys == sorted(keys) and len(keys) == len(set(keys))
    finally:
        store.close()


def test_times_read_as_text_agree_with_the_full_conversion() -> None:
    """db check reads a stored UTC time as text where it can (#29: millions of them at 1M cases); for every
    value, valid or not, inside the shortcut's pattern or outside it, the result is the full conversion's."""
    from sqlalchemy import create_engine

    from shebao_desk.changes.audit import _json_value
    from shebao_desk.changes.audit_chain import _at, _stored_values
    from shebao_desk.models import Base
    from shebao_desk.services.rederive import _converter
    column = Base.metadata.tables["case"].c.accepted_at
    values = ["2025-11-05 01:04:13.000000", "2025-11-05 01:04:13.123400", "2024-02-28 23:59:59.999999",
              "2024-02-29 00:00:00.000000", "2024-12-31 23:59:59.000001", "2025-11-05 01:04:13",
              "2025-11-05T01:04:13.000000", "1000-01-01 00:00:00.000000", "2025-02-30 00:00:00.000000",
              "2025-13-01 00:00:00.000000", "2025-11-05 24:00:00.000000", "not a time"]
    with create_engine("sqlite://").connect() as conn:
        fast = _converter(conn, column)
        proc = column.type._cached_result_processor(conn.dialect, None)
        chain = _stored_values(conn)
        assert fast is not None and proc is not None
        for value in values:
            try:
                full = _json_value(column.name, proc(value))
            except (LookupError, ValueError, TypeError):
                full = value
            assert fast(value) == full, value
            entry = [None] * 9
            entry[1] = value  # FIELDS: id, at, …
            try:
                expected = _at(proc(value))
            except (LookupError, ValueError, TypeError):
                continue  # the typed read refused it too (the check fails loudly either way)
            assert chain(entry)["at"] == expected, value


def test_a_damaged_page_found_by_the_integrity_check_is_the_damage_line(tmp_path: Path) -> None:
    """``db check`` opens the store without quick_check (#29: its integrity_check reads every page again):
    a page that fails its HMAC must still end in the damage the opening check would have raised, not in a
    driver error or a list of findings read from a broken file."""
    import pytest
    from shebao_desk.errors import StoreError
    from test_protection_store import _corrupt_table
    store = _bulk_store(tmp_path, 30)
    store.close()
    _corrupt_table(store.path, "card")
    from shebao_desk.store.database import open_store
    opened = open_store(store.path)  # what db check does now: no check on the way in
    try:
        with opened.read() as s, pytest.raises(StoreError, match="已损坏") as err:
            check_store(s)
        assert "db restore" in err.value.message
    finally:
        opened.close()


def test_an_index_that_disagrees_with_its_table_is_a_finding(tmp_path: Path) -> None:
    """What integrity_check finds beyond quick_check (an index entry that does not match its row) stays a
    finding of db check (exit 1), not the damage line: quick_check, asked only then, passes the file."""
    from shebao_desk.store.database import connect_file, quick_check
    store = _bulk_store(tmp_path, 30)
    store.close()
    with connect_file(store.path) as conn:  # the index now claims a column it was never built on
        conn.execute("PRAGMA writable_schema = ON")
        conn.execute("UPDATE sqlite_master SET sql = replace(sql, '(row_id)', '(workstation)') "
                     "WHERE name = 'ix_audit_entry_row_id'")
    assert quick_check(store.path) == []
    from shebao_desk.store.database import open_store
    opened = open_store(store.path)
    try:
        with opened.read() as s:
            found = [f for f in check_store(s) if f.rule == "integrity"]
        assert found and any("ix_audit_entry_row_id" in f.detail for f in found), found
    finally:
        opened.close()


def test_a_row_naming_a_missing_row_is_a_foreign_key_finding(tmp_path: Path) -> None:
    """The foreign key check runs beside the whole-file check now, not after it (#29): still a finding."""
    from shebao_desk.store.database import connect_file, open_store
    store = _bulk_store(tmp_path, 30)
    store.close()
    with connect_file(store.path) as conn:  # another tool, foreign keys off (SQLite's default)
        person = conn.execute("SELECT person_id FROM card LIMIT 1").fetchone()[0]
        conn.execute("DELETE FROM person WHERE id = ?", (person,))
    opened = open_store(store.path)
    try:
        with opened.read() as s:
            found = [str(f) for f in check_store(s) if f.rule == "foreign_key"]
        assert found and all("person" in f for f in found), found
    finally:
        opened.close()
