"""Pushing 100,000 changes to a local PostgreSQL, against a bare COPY of the same rows: all inserts, and
a mix where a third of the changes update rows central already holds (the field-clock merge path)."""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

from sqlalchemy import Engine, create_engine, text

from benchmarks.common import PUSH_RUNS, Figure, median_run, runs_note
from shebao_desk.rules.idnumber import make_id_number
from shebao_desk.models import SyncChange
from shebao_desk.models.base import stable_uuid
from shebao_desk.store.site_identity import ensure_site
from shebao_desk.store.database import Store, open_store
from shebao_desk.sync.central import prepare_central, push

FIGURES = ("sync_push_100k", "sync_push_100k_third_updates")
N = int(os.environ.get("SHEBAO_BENCH_SYNC_N", "100000"))
QUICK_N = 3000


def pg_admin_url() -> str:
    """The PostgreSQL the benchmarks make their scratch databases in (``./shebao bench`` starts one)."""
    url = os.environ.get("SHEBAO_TEST_PG")
    if not url:
        raise RuntimeError("needs PostgreSQL: SHEBAO_TEST_PG is not set (./shebao bench starts one)")
    return url


def _people(n: int) -> list[dict]:
    base = dt.date(1950, 1, 1)
    now = dt.datetime(2026, 3, 9, 1, tzinfo=dt.UTC).isoformat()
    out = []
    for i in range(n):
        number = make_id_number("611002", base + dt.timedelta(days=i % 20000), i % 1000)
        number = number if i < 20000 * 1000 else number
        out.append({"id": stable_uuid("person", f"{number}-{i}"), "id_number": f"{i:018d}", "name": f"测试{i}",
                    "sex": "1", "ethnicity": "01", "birth_date": "1980-01-01", "birthplace": "611002",
                    "phone": "13800000000", "address": "商洛市商州区北新街 1 号", "photo": None, "status": "active",
                    "cancelled_at": None, "created_at": now, "updated_at": now})
    return out


def _fresh_db(admin_url: str) -> str:
    name = f"shebao_bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return admin_url.rsplit("/", 1)[0] + "/" + name


def _drop(admin_url: str, url: str) -> None:
    name = url.rsplit("/", 1)[1]
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}'"))
        conn.execute(text(f'DROP DATABASE "{name}"'))
    admin.dispose()


@contextlib.contextmanager
def _store_and_centrals(admin_url: str) -> Iterator[tuple[Store, Engine, Engine]]:
    """A workstation's store with its site set up, and two fresh central databases: ours, and the bare
    COPY's. All removed after."""
    from shebao_desk.config.policy import load_policy
    with tempfile.TemporaryDirectory() as tmp:
        store = open_store(Path(tmp) / "bench.sqlite3")
        with store.unit(None, "A", "bench") as s:
            ensure_site(s, load_policy().site, "A")
        ours_url, copy_url = _fresh_db(admin_url), _fresh_db(admin_url)
        ours_engine, copy_engine = create_engine(ours_url), create_engine(copy_url)
        try:
            prepare_central(ours_engine)
            prepare_central(copy_engine)
            yield store, ours_engine, copy_engine
        finally:
            ours_engine.dispose()
            copy_engine.dispose()
            _drop(admin_url, ours_url)
            _drop(admin_url, copy_url)
            store.close()


def run(quick: bool = False) -> list[Figure]:
    n = QUICK_N if quick else N
    runs = 1 if quick else PUSH_RUNS
    admin = pg_admin_url()
    inserts = [_inserts(admin, n) for _ in range(runs)]
    ours, bare, pushed = median_run(inserts)
    rate, bare_rate = pushed / ours, n / bare
    figures = [Figure("sync_push_100k", round(rate), "rows/s", "bare COPY of the same person rows and change-log rows",
                      round(bare_rate), "ratio >= 0.5", rate >= 0.5 * bare_rate, ratio=round(rate / bare_rate, 3),
                      note=f"push {ours:.2f} s vs COPY {bare:.2f} s for {n} changes, "
                           f"{runs_note(inserts)}; push also merges field clocks")]
    mixed = [_mixed(admin, n) for _ in range(runs)]
    ours, bare = median_run(mixed)
    rate, bare_rate = n / ours, n / bare
    figures.append(Figure("sync_push_100k_third_updates", round(rate), "rows/s",
                          "bare COPY of the new rows + COPY/UPDATE FROM of the updates + COPY of the change log",
                          round(bare_rate), "ratio >= 0.30", rate >= 0.3 * bare_rate, ratio=round(rate / bare_rate, 3),
                          note=f"push {ours:.2f} s vs bare {bare:.2f} s for {n} changes, {n // 3} of them updates "
                               f"merged field by field against their clocks, {runs_note(mixed)}"))
    return figures


def _inserts(admin: str, n: int) -> tuple[float, float, int]:
    """n new people pushed, and COPYed bare: (push seconds, bare seconds, changes pushed)."""
    people = _people(n)
    hlc0 = int(time.time() * 1000)
    changes = [{"change_id": str(uuid.uuid4()), "table_name": "person", "row_id": p["id"],
                "hlc": f"{hlc0 + i:013d}-00000-BENCH", "origin": "BENCH", "values": p, "pushed": False,
                "created_at": dt.datetime.now(dt.UTC)} for i, p in enumerate(people)]
    with _store_and_centrals(admin) as (store, ours_engine, copy_engine):
        with store.engine.begin() as conn:
            conn.execute(SyncChange.__table__.insert(), changes)
        t = time.perf_counter()
        pushed, refused = push(store, ours_engine)
        ours = time.perf_counter() - t
        assert not refused, refused[:1]
        t = time.perf_counter()
        _bare_copy(copy_engine, people, changes)
        bare = time.perf_counter() - t
    assert pushed >= n, (pushed, n)  # the n changes and the site set-up entries
    return ours, bare, pushed


def _mixed(admin_url: str, n: int) -> tuple[float, float]:
    """n changes of which a third update rows central already has (phone and address, newer clocks):
    (push seconds, bare seconds)."""
    n_update = n // 3
    n_insert = n - n_update
    existing = _people(n_update)
    fresh = [{**p, "id": stable_uuid("person", f"fresh-{i}"), "id_number": f"9{i:017d}"}
             for i, p in enumerate(_people(n_insert))]
    hlc0 = int(time.time() * 1000) - 3_600_000
    now = dt.datetime.now(dt.UTC)

    def change(i, p, values):
        return {"change_id": str(uuid.uuid4()), "table_name": "person", "row_id": p["id"],
                "hlc": f"{hlc0 + i:013d}-00000-BENCH", "origin": "BENCH", "values": values, "pushed": False,
                "created_at": now}
    first = [change(i, p, p) for i, p in enumerate(existing)]  # already central before the timed push
    updated = [{"id": p["id"], "phone": f"139{i:08d}", "address": f"商洛市商州区新街 {i} 号",
                "updated_at": now.isoformat()} for i, p in enumerate(existing)]
    mixed = [change(n_update + i, p, p) for i, p in enumerate(fresh)]
    mixed += [change(n + i, {"id": u["id"]}, {k: v for k, v in u.items() if k != "id"}) for i, u in enumerate(updated)]
    with _store_and_centrals(admin_url) as (store, ours_engine, copy_engine):
        with store.engine.begin() as conn:
            conn.execute(SyncChange.__table__.insert(), first)
        push(store, ours_engine)  # untimed: the rows to be updated
        _bare_copy(copy_engine, existing, first)
        with store.engine.begin() as conn:
            conn.execute(SyncChange.__table__.insert(), mixed)
        for engine in (ours_engine, copy_engine):
            with engine.begin() as conn:
                conn.execute(text("ANALYZE"))
        t = time.perf_counter()
        pushed, refused = push(store, ours_engine)
        ours = time.perf_counter() - t
        assert not refused and pushed == n, (pushed, refused[:1])
        t = time.perf_counter()
        _bare_copy(copy_engine, fresh, mixed, updates=updated)
        bare = time.perf_counter() - t
        with ours_engine.connect() as conn:  # the updates took: newer clocks win
            assert conn.scalar(text("SELECT count(*) FROM person WHERE phone LIKE '139%'")) == n_update
    return ours, bare


def _bare_copy(engine, people: list[dict], changes: list[dict], updates: list[dict] | None = None) -> None:
    columns = list(people[0])
    raw = engine.raw_connection()
    try:
        cur = raw.cursor()
        with cur.copy(f"COPY person ({', '.join(columns)}) FROM STDIN") as copy:
            for p in people:
                copy.write_row([p[c] for c in columns])
        if updates:
            cur.execute("CREATE TEMP TABLE person_update (id varchar(36), phone varchar(20), address varchar(200), "
                        "updated_at timestamp) ON COMMIT DROP")
            with cur.copy("COPY person_update (id, phone, address, updated_at) FROM STDIN") as copy:
                for u in updates:
                    copy.write_row([u["id"], u["phone"], u["address"], u["updated_at"]])
            cur.execute("UPDATE person SET phone = u.phone, address = u.address, updated_at = u.updated_at "
                        "FROM person_update u WHERE person.id = u.id")
        with cur.copy("COPY sync_change (change_id, table_name, row_id, hlc, origin, values, pushed, created_at) "
                      "FROM STDIN") as copy:
            for c in changes:
                copy.write_row([c["change_id"], c["table_name"], c["row_id"], c["hlc"], c["origin"],
                                json.dumps(c["values"], ensure_ascii=False), True, c["created_at"]])
        raw.commit()
    finally:
        raw.close()
