"""The central push merges on PostgreSQL set by set (COPY, ``= ANY(array)`` lookups, one ``UPDATE ... FROM``,
scopes written with the log); a store merges on SQLite. Fed the same random changes, both must keep
the same rows and the same field clocks: the rules (cancelled person, phone/address never blanked,
last writer by HLC per field, an insert's clock from the log) decide alike on both."""

from __future__ import annotations

import base64
import random
import uuid

from sqlalchemy import create_engine, select

from shebao_desk.changes.merge import apply_changes
from shebao_desk.models import Person, SyncClock, table_of

from conftest import needs_pg

PEOPLE = 160  # above merge.COPY_MIN: the batches take the COPY paths on PostgreSQL
COLUMNS = ("id", "id_number", "name", "phone", "address", "status", "cancelled_at", "birth_date", "photo",
           "created_at", "updated_at")


def _person(i: int) -> dict:
    at = f"2026-03-09T01:{i % 60:02d}:00+00:00"
    return {"id": str(uuid.UUID(int=i + 1)), "id_number": f"{i:018d}", "name": f"测试{i}", "sex": "1",
            "ethnicity": "01", "birth_date": "1980-01-01", "birthplace": "611002", "phone": "13800000000",
            "address": f"商洛市商州区北新街 {i} 号",
            "photo": {"b64": base64.b64encode(bytes([i % 256, 0, 255]) * 3).decode()} if i % 7 == 0 else None,
            "status": "active", "cancelled_at": None,
            "created_at": at, "updated_at": at}


def _changes(seed: int) -> list[list[dict]]:
    """Batches: the people's inserts (some of them twice, from two places), then rounds of updates whose
    clocks fall before and after the inserts', several per row, blanks and cancellations among them."""
    rng = random.Random(seed)
    base = 1_760_000_000_000

    def change(row_id: str, hlc: int, values: dict, origin: str) -> dict:
        return {"change_id": str(uuid.UUID(int=rng.getrandbits(128))), "table_name": "person", "row_id": row_id,
                "hlc": f"{hlc:013d}-{rng.randrange(3):05d}-{origin}", "origin": origin, "values": values}

    inserts = []
    for i in range(PEOPLE):
        p = _person(i)
        inserts.append(change(p["id"], base + rng.randrange(10_000), p, "W1"))
        if rng.random() < 0.15:  # registered at another window as well, offline
            other = {**p, "name": f"测试{i}乙", "phone": rng.choice(["", "13900000000"]), "address": ""}
            inserts.append(change(p["id"], base + rng.randrange(10_000), other, "W2"))
    rounds = []
    for _ in range(3):
        batch = []
        for i in rng.sample(range(PEOPLE), PEOPLE * 3 // 4):
            row_id = str(uuid.UUID(int=i + 1))
            for _ in range(rng.randrange(1, 4)):
                values: dict = {}
                for name in rng.sample(["name", "phone", "address", "status"], rng.randrange(1, 4)):
                    if name == "name":
                        values[name] = f"改{rng.randrange(1000)}"
                    elif name == "phone":
                        values[name] = rng.choice(["", "13700000000", "13711112222"])
                    elif name == "address":
                        values[name] = rng.choice(["", "新地址 1 号", "新地址 2 号"])
                    else:
                        values["status"] = rng.choice(["active", "cancelled"])
                        values["cancelled_at"] = "2026-03-10T02:00:00+00:00" if values["status"] == "cancelled" else None
                values["updated_at"] = "2026-03-10T03:00:00+00:00"
                batch.append(change(row_id, base + rng.randrange(-5_000, 30_000), values, rng.choice(["W1", "W2"])))
        rounds.append(batch)
    # Every row's phone and address at once (the same columns: one COPY and UPDATE ... FROM centrally).
    uniform = [change(str(uuid.UUID(int=i + 1)), base + rng.randrange(50_000, 60_000),
                      {"phone": f"135{i:08d}", "address": f"东街 {i} 号"}, "W3") for i in range(PEOPLE)]
    return [inserts] + rounds + [uniform]


def _state(conn) -> tuple[list, list]:
    person, clock = table_of(Person), table_of(SyncClock)
    rows = [tuple(bytes(v) if isinstance(v, (bytes, memoryview)) else str(v) if v is not None else None for v in r)
            for r in conn.execute(select(*(person.c[c] for c in COLUMNS)).order_by(person.c.id))]
    clocks = [(r.table_name, r.row_id, dict(r.clocks))
              for r in conn.execute(select(clock).order_by(clock.c.table_name, clock.c.row_id))]
    return rows, clocks


@needs_pg
def test_central_set_based_merge_decides_as_the_store(central, store):
    engine = create_engine(central)
    from shebao_desk.sync.central import prepare_central
    prepare_central(engine)
    try:
        for seed in (1, 2):  # the second on top of the first: rows with explicit clocks meet new changes
            for batch in _changes(seed):
                rng = random.Random(len(batch))
                rng.shuffle(batch)  # arrival order must not matter
                with engine.begin() as conn:
                    apply_changes(conn, batch, pushed=True, scopes={})
                with store.engine.begin() as conn:
                    apply_changes(conn, batch, pushed=True)
            with engine.connect() as conn:
                central_rows, central_clocks = _state(conn)
            with store.engine.connect() as conn:
                local_rows, local_clocks = _state(conn)
            assert len(central_rows) == PEOPLE
            assert central_rows == local_rows
            assert central_clocks == local_clocks
            assert any(r[COLUMNS.index("status")] == "cancelled" for r in central_rows)
            assert sum(r[COLUMNS.index("photo")] is not None for r in central_rows) >= PEOPLE // 7
            assert len(central_clocks) > PEOPLE // 2  # updates were weighed, not just inserted
    finally:
        engine.dispose()


@needs_pg
def test_clocks_of_rows_first_updated_after_their_insert_go_straight_in(central, store, monkeypatch):
    """Rows inserted by a lone insert have no stored clocks; their first update writes them with a COPY
    straight into sync_clock. A clock that is there after all (a stray one, of a row this batch inserts and
    updates) sends the batch's clocks through ON CONFLICT instead. Either way they are the store's."""
    from shebao_desk.changes import merge
    from shebao_desk.sync.central import prepare_central
    straight: list[bool] = []
    real = merge.copy_if_all_new

    def spy(cursor, target, rows):
        went = real(cursor, target, rows)
        if target.startswith("sync_clock "):
            straight.append(went)
        return went
    monkeypatch.setattr(merge, "copy_if_all_new", spy)
    base = 1_760_000_000_000
    people = [_person(i) for i in range(3 * PEOPLE)]

    def change(i: int, hlc: int, values: dict) -> dict:
        return {"change_id": str(uuid.UUID(int=(hlc << 16) + i)), "table_name": "person", "row_id": people[i]["id"],
                "hlc": f"{hlc:013d}-00000-W1", "origin": "W1", "values": values}

    def phones(block: range, at: int = 10_000) -> list[dict]:
        return [change(i, base + at + i, {"phone": f"135{i:08d}"}) for i in block]

    def addresses(block: range) -> list[dict]:
        return [change(i, base + 20_000 + i, {"address": f"东街 {i} 号"}) for i in block]
    first, second, third = range(1, PEOPLE), range(PEOPLE, 2 * PEOPLE), range(2 * PEOPLE, 3 * PEOPLE)
    batches = [[change(i, base + i, people[i]) for i in (*first, *second, *third)],
               phones(first) + [change(0, base, people[0])] + phones(range(1)),  # person 0: insert and update at once
               phones(second),
               addresses(range(1, 11)) + addresses(third),  # ten rows with stored clocks among new ones
               phones(second, at=30_000)]  # every clock stored now
    engine = create_engine(central)
    prepare_central(engine)
    try:
        went = []
        for n, batch in enumerate(batches):
            with engine.begin() as conn:
                if n == 1:
                    conn.execute(table_of(SyncClock).insert().values(table_name="person", row_id=people[0]["id"],
                                                                     clocks={"*": "0000000000001-00000-W9"}))
                straight.clear()
                apply_changes(conn, batch, pushed=True, scopes={})
                went.append(list(straight))
            with store.engine.begin() as conn:
                apply_changes(conn, batch, pushed=True)
        assert went == [[], [False], [True], [True], []]
        with engine.connect() as conn:
            central_rows, central_clocks = _state(conn)
        with store.engine.connect() as conn:
            local_rows, local_clocks = _state(conn)
        assert central_rows == local_rows
        assert central_clocks == local_clocks
        assert len(central_clocks) == 3 * PEOPLE
        assert central_clocks[0][2] != {"*": "0000000000001-00000-W9"}  # the stray one was written over
        held = {row_id: c for _, row_id, c in central_clocks}
        assert held[people[PEOPLE]["id"]] == {"*": f"{base + PEOPLE:013d}-00000-W1",
                                              "phone": f"{base + 30_000 + PEOPLE:013d}-00000-W1"}
        assert held[people[1]["id"]] == {"*": f"{base + 1:013d}-00000-W1", "phone": f"{base + 10_001:013d}-00000-W1",
                                         "address": f"{base + 20_001:013d}-00000-W1"}
    finally:
        engine.dispose()
