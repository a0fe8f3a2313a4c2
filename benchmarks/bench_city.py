"""A city in the central database: scoped initial sync against a full pull, on-demand lookup,
40 workstations pushing at once against a bare COPY.

The generator writes a city of W windows × 2 PCs and M people straight into a fresh central
database (rows and their change log, by COPY, as pushes would have left them), then scopes the
log with the same code a push runs (:func:`shebao_desk.sync.scope.backfill`). Each person has a
card and an application case at their home window; one in twenty also did business at another
window (cross-county service), as the city's data would look.

Sizes: SHEBAO_BENCH_CITY_M (people, default 500,000: issue 29's size), SHEBAO_BENCH_CITY_WINDOWS (20),
SHEBAO_BENCH_PUSH_PER_WS (people per workstation in the push test, 1,000); SHEBAO_BENCH_CITY_PARTS
("city,push") picks the parts (and so the figures this module promises). ``--quick``: 2,000 people,
4 workstations of 5 people each (the figure keeps its name).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import os
import random
import statistics
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import psycopg
from sqlalchemy import create_engine, text

from benchmarks.bench_sync import _drop, _fresh_db, pg_admin_url
from benchmarks.common import PUSH_RUNS, Figure, median_run, runs_note
from shebao_desk.rules.idnumber import make_id_number
from shebao_desk.models import Base, SyncChange
from shebao_desk.models.base import stable_uuid
from shebao_desk.store.site_identity import ensure_site
from shebao_desk.store.database import open_store
from shebao_desk.sync import scope
from shebao_desk.sync.central import (
    lookup_person,
    prepare_central,
    pull,
    pull_all,
    push,
)

M = int(os.environ.get("SHEBAO_BENCH_CITY_M", "500000"))
WINDOWS = int(os.environ.get("SHEBAO_BENCH_CITY_WINDOWS", "20"))
PUSH_PER_WS = int(os.environ.get("SHEBAO_BENCH_PUSH_PER_WS", "1000"))
QUICK_M, QUICK_PUSH_PER_WS = 2000, 5
QUICK_STATIONS = 4  # --quick proves the push part runs; building 40 stores was most of the suite's quick run
PARTS = os.environ.get("SHEBAO_BENCH_CITY_PARTS", "city,push").split(",")
FIGURES = (("city_initial_sync_scoped", "city_lookup_latency") if "city" in PARTS else ()) + \
    (("city_concurrent_push_40",) if "push" in PARTS else ())
CROSS = 20  # one person in CROSS also did business at another window
T0 = dt.datetime(2026, 3, 9, 1, tzinfo=dt.UTC)


def window_code(w: int) -> str:
    return f"W{w:02d}"


def id_number(i: int) -> str:
    """Distinct, valid ID numbers: the day of birth and the sequence code spread i."""
    day, seq = divmod(i, 999)
    return make_id_number("611002", dt.date(1940, 1, 1) + dt.timedelta(days=day % 27000), seq + 1) \
        if i < 27000 * 999 else f"{i:018d}"


class City:
    """Rows in the sync JSON form, and their change log entries, in the order a push would log them."""

    def __init__(self, origin_tag: str = "") -> None:
        self.rows: dict[str, list[dict]] = {"clerk": [], "person": [], "card": [], "case": []}
        self.log: list[tuple] = []
        self.hlc = int(T0.timestamp() * 1000)
        self.case_seq: dict[str, int] = {}
        self.tag = origin_tag

    def _logged(self, table: str, values: dict, origin: str) -> None:
        self.rows[table].append(values)
        self.hlc += 1
        self.log.append((str(uuid.uuid4()), table, values["id"], f"{self.hlc:013d}-00000-{origin}", origin, values))

    def clerk(self, w: int, k: int) -> str:
        cid = stable_uuid("clerk", f"{self.tag}c{w}-{k}")
        now = T0.isoformat()
        self._logged("clerk", {"id": cid, "username": f"{self.tag}c{w:02d}{k}", "display_name": f"经办{w}-{k}",
                               "role": "clerk", "password_hash": "x" * 60, "active": True, "failed_logins": 0,
                               "locked_until": None, "last_login_at": None, "created_at": now, "updated_at": now},
                     window_code(w) + "A")
        return cid

    def person(self, i: int, w: int, ws: str, clerk: str, other: tuple[int, str, str] | None = None) -> str:
        when = (T0 + dt.timedelta(minutes=i % 50000)).isoformat()
        origin = window_code(w) + ws
        number = id_number(i)
        pid = stable_uuid("person", number)
        self._logged("person", {"id": pid, "id_number": number, "name": f"测试{i}", "sex": "1", "ethnicity": "01",
                                "birth_date": "1980-01-01", "birthplace": "611002", "phone": "13800000000",
                                "address": "商洛市商州区北新街 1 号", "photo": None, "status": "active",
                                "cancelled_at": None, "created_at": when, "updated_at": when}, origin)
        cid = stable_uuid("card", number)
        self._logged("card", {"id": cid, "person_id": pid, "card_number": f"{i % 10**9:09d}", "card_id": "",
                              "generation": 3, "status": "normal", "issue_date": "2026-03-09",
                              "expiry_date": "2036-03-09", "activated_at": None, "pin_reset_at": None,
                              "void_at": None, "void_reason": "", "created_at": when, "updated_at": when}, origin)
        self._case(pid, cid, "apply", w, ws, clerk, when)
        if other:
            self._case(pid, cid, "info_change", *other, when)
        return pid

    def _case(self, pid, cid, business, w, ws, clerk, when) -> None:
        prefix = f"{window_code(w)}{ws}-20260309-"
        n = self.case_seq[prefix] = self.case_seq.get(prefix, 0) + 1
        self._logged("case", {"id": str(uuid.uuid4()), "number": f"{prefix}{n:06d}", "business": business,
                              "mode": "self", "person_id": pid, "card_id": cid, "new_card_id": None,
                              "agent_name": "", "agent_id_number": "", "agent_relation": "", "agent_phone": "",
                              "materials": ["id_card"], "missing": [], "reason": "", "fee": 0, "status": "completed",
                              "accepted_by": clerk, "accepted_at": when, "workstation": ws,
                              "promised_date": "2026-03-19", "promise_provisional": False, "completed_at": when,
                              "completed_by": clerk, "created_at": when, "updated_at": when}, window_code(w) + ws)


def build_city(m: int, windows: int, rng: random.Random) -> City:
    city = City()
    clerks = {w: [city.clerk(w, k) for k in range(3)] for w in range(windows)}
    for i in range(m):
        w, ws = i % windows, "AB"[(i // windows) % 2]
        other = None
        if i % CROSS == 0:
            x = (w + 1 + rng.randrange(windows - 1)) % windows
            other = (x, "A", clerks[x][0])
        city.person(i, w, ws, clerks[w][i % 3], other)
    return city


def copy_rows(cur, table: str, rows: list[dict]) -> None:
    if not rows:
        return
    t = Base.metadata.tables[table]
    columns = list(rows[0])
    json_cols = {c.key for c in t.columns if c.type.__class__.__name__ == "JSON"}
    quoted = ", ".join(f'"{c}"' for c in columns)
    with cur.copy(f'COPY "{table}" ({quoted}) FROM STDIN') as cp:
        for r in rows:
            cp.write_row([json.dumps(r[c], ensure_ascii=False) if c in json_cols else r[c] for c in columns])


def copy_log(cur, log: list[tuple]) -> None:
    with cur.copy('COPY sync_change (change_id, table_name, row_id, hlc, origin, "values", pushed, created_at) '
                  "FROM STDIN") as cp:
        now = dt.datetime.now(dt.UTC)
        for change_id, table, row_id, hlc, origin, values in log:
            cp.write_row([change_id, table, row_id, hlc, origin, json.dumps(values, ensure_ascii=False), True, now])


def load_city(url: str, city: City, windows: int) -> dict:
    engine = create_engine(url)
    prepare_central(engine)
    t = time.perf_counter()
    with psycopg.connect(url.replace("postgresql+psycopg", "postgresql")) as conn, conn.cursor() as cur:
        for table in ("clerk", "person", "card", "case"):
            copy_rows(cur, table, city.rows[table])
        copy_log(cur, city.log)
        for w in range(windows):
            for ws in "AB":
                cur.execute("INSERT INTO scope_origin VALUES (%s, %s)", (window_code(w) + ws, window_code(w)))
    loaded = time.perf_counter() - t
    t = time.perf_counter()
    scoped = scope.backfill(engine)
    backfill = time.perf_counter() - t
    with engine.begin() as conn:
        conn.execute(text("ANALYZE"))
        sizes = {name: conn.scalar(text(f"SELECT pg_relation_size('{name}')")) for name in (
            "sync_change", "ix_sync_change_scope", "ix_sync_change_row", "uq_sync_change_change_id", "sync_scope",
            "ix_sync_scope_window_pos", "scope_member", "person", "card", "case")}
        sizes["database"] = conn.scalar(text("SELECT pg_database_size(current_database())"))
        stream = conn.scalar(text("SELECT count(*) FROM sync_scope"))
    engine.dispose()
    return {"load_s": loaded, "backfill_s": backfill, "scoped": scoped, "sizes": sizes, "stream_rows": stream,
            "log_rows": len(city.log)}


def new_workstation(tmp: Path, name: str, window: str, ws: str = "C"):
    from shebao_desk.config.policy import load_policy
    policy = load_policy()
    store = open_store(tmp / f"{name}.sqlite3")
    with store.unit(None, name, "bench") as s:
        ensure_site(s, dataclasses.replace(policy.site, window_code=window), ws)
    return store


def city_figures(admin_url: str, m: int = M) -> list[Figure]:
    rng = random.Random(18)
    t = time.perf_counter()
    city = build_city(m, WINDOWS, rng)
    built = time.perf_counter() - t
    url = _fresh_db(admin_url)
    try:
        info = load_city(url, city, WINDOWS)
        people = city.rows["person"]
        del city
        engine = create_engine(url)
        with tempfile.TemporaryDirectory() as tmp:
            tmp = Path(tmp)
            mine = window_code(5)
            scoped_store, full_store = new_workstation(tmp, "scoped", mine), new_workstation(tmp, "full", mine)
            t = time.perf_counter()
            scoped_rows, _ = pull(scoped_store, engine)
            scoped_s = time.perf_counter() - t
            t = time.perf_counter()
            full_rows, _ = pull_all(full_store, engine)
            full_s = time.perf_counter() - t
            scoped_bytes = (tmp / "scoped.sqlite3").stat().st_size
            full_bytes = (tmp / "full.sqlite3").stat().st_size
            # Lookups at the new workstation: people of other windows, each asked once.
            others = [p["id_number"] for i, p in enumerate(people) if i % WINDOWS != 5 and i % CROSS][:400]
            sample = rng.sample(others, 30)
            lookup_ms = []
            for number in sample:
                t = time.perf_counter()
                found = lookup_person(scoped_store, url, number)
                lookup_ms.append((time.perf_counter() - t) * 1000)
                assert found.person_id and found.received >= 3, found
            bare_ms = []
            for number in rng.sample(others, 30):
                t = time.perf_counter()
                with psycopg.connect(url.replace("postgresql+psycopg", "postgresql")) as conn:
                    pid = conn.execute("SELECT id FROM person WHERE id_number = %s", (number,)).fetchone()[0]
                    conn.execute("SELECT * FROM sync_change WHERE scope = %s ORDER BY seq", (pid,)).fetchall()
                bare_ms.append((time.perf_counter() - t) * 1000)
            scoped_store.close()
            full_store.close()
        engine.dispose()
    finally:
        _drop(admin_url, url)
    mb = {k: round(v / 2**20, 1) for k, v in info["sizes"].items()}
    size = f"M={m:,} people over {WINDOWS} windows, {info['log_rows']:,} logged changes"
    ratio_rows, ratio_time = scoped_rows / full_rows, scoped_s / full_s
    lookup, bare = statistics.median(lookup_ms), statistics.median(bare_ms)
    return [
        Figure("city_initial_sync_scoped", round(scoped_s, 3), "s",
               "full pull of the same central database by another new workstation", round(full_s, 3),
               "ratio <= 0.03 in time, rows <= 0.067 (1/15)", ratio_time <= 0.03 and ratio_rows <= 1 / 15,
               ratio=round(ratio_time, 4),
               note=f"{size}; rows pulled {scoped_rows:,} vs {full_rows:,} (ratio {ratio_rows:.4f}); "
                    f"store {scoped_bytes / 2**20:.1f} MiB vs {full_bytes / 2**20:.1f} MiB; generated in "
                    f"{built:.0f} s, COPY {info['load_s']:.0f} s, scope backfill {info['backfill_s']:.0f} s "
                    f"({info['stream_rows']:,} stream rows); sizes MiB {mb}"),
        Figure("city_lookup_latency", round(lookup, 1), "ms (median of 30)",
               "bare psycopg connect + person by ID number + their changes by scope", round(bare, 1),
               "ratio <= 2 and <= 300 ms", lookup <= 2 * bare and lookup <= 300,
               note=f"{size}; lookup = connect, adopt under the push lock, merge into SQLite; "
                    f"max {max(lookup_ms):.0f} ms; bare max {max(bare_ms):.0f} ms"),
    ]


def push_figures(admin_url: str, per_ws: int = PUSH_PER_WS, count: int = 40, runs: int = PUSH_RUNS) -> list[Figure]:
    """40 workstations (20 windows × 2) push their own changes into one central database at once."""
    stations = [(window_code(w), ws) for w in range(20) for ws in "AB"][:count]
    cities = []
    for k, (code, ws) in enumerate(stations):
        city = City(origin_tag=f"p{k}-")
        w = int(code[1:])
        clerk = city.clerk(w, k)
        for i in range(per_ws):
            city.person(k * per_ws + i, w, ws, clerk)
        cities.append(city)
    total = sum(len(c.log) for c in cities)
    timed = [_push_once(admin_url, stations, cities, total) for _ in range(runs)]
    ours, bare, pushed = median_run(timed)
    rate, bare_rate = pushed / ours, total / bare  # pushed: these changes and each store's set-up entries
    return [Figure("city_concurrent_push_40", round(rate), "rows/s",
                   "bare COPY of the same rows and change-log rows over one connection", round(bare_rate),
                   "ratio >= 0.3", rate >= 0.3 * bare_rate,
                   note=f"{len(stations)} workstations × {per_ws} people ({total:,} changes) in {ours:.1f} s "
                        f"vs COPY {bare:.1f} s, {runs_note(timed)}; pushes serialise on the central push lock, "
                        f"and each merges, scopes and fans out its batch")]


def _push_once(admin_url: str, stations: list[tuple[str, str]], cities: list[City],
               total: int) -> tuple[float, float, int]:
    """Fresh workstations of ``cities``' logs push at once into a fresh central; the same rows COPYed bare
    into another: (push seconds, bare seconds, changes pushed)."""
    with tempfile.TemporaryDirectory() as tmp:
        stores = []
        for (code, ws), city in zip(stations, cities, strict=True):
            store = new_workstation(Path(tmp), f"{code}{ws}", code, ws)
            with store.engine.begin() as conn:
                conn.execute(SyncChange.__table__.insert(), [
                    {"change_id": c[0], "table_name": c[1], "row_id": c[2], "hlc": c[3], "origin": c[4],
                     "values": c[5], "pushed": False, "created_at": T0} for c in city.log])
            stores.append(store)
        ours_url, copy_url = _fresh_db(admin_url), _fresh_db(admin_url)
        try:
            engine = create_engine(ours_url, pool_size=40, max_overflow=0)
            prepare_central(engine)
            copy_engine = create_engine(copy_url)
            prepare_central(copy_engine)
            copy_engine.dispose()
            t = time.perf_counter()
            with ThreadPoolExecutor(len(stores)) as pool:
                results = list(pool.map(lambda st: push(st, engine, batch=2000), stores))
            ours = time.perf_counter() - t
            engine.dispose()
            t = time.perf_counter()
            with psycopg.connect(copy_url.replace("postgresql+psycopg", "postgresql")) as conn, conn.cursor() as cur:
                for table in ("clerk", "person", "card", "case"):
                    copy_rows(cur, table, [r for c in cities for r in c.rows[table]])
                copy_log(cur, [e for c in cities for e in c.log])
            bare = time.perf_counter() - t
        finally:
            _drop(admin_url, ours_url)
            _drop(admin_url, copy_url)
        for store in stores:
            store.close()
    refused = [r for _, rs in results for r in rs]
    pushed = sum(n for n, _ in results)
    assert not refused, refused[:1]
    assert pushed >= total, (pushed, total)  # and each store's own setup entries
    return ours, bare, pushed


def run(quick: bool = False) -> list[Figure]:
    admin_url = pg_admin_url()
    rng_state = random.getstate()
    try:
        return (city_figures(admin_url, QUICK_M if quick else M) if "city" in PARTS else []) + \
            (push_figures(admin_url, *((QUICK_PUSH_PER_WS, QUICK_STATIONS, 1) if quick else (PUSH_PER_WS, 40)))
             if "push" in PARTS else [])
    finally:
        random.setstate(rng_state)
