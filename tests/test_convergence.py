"""Copies converge: seeded random schedules over three stores and a real PostgreSQL.

Two PCs of one window (SZ01 1, SZ01 2) and a PC of another window (SZ02 1) take
businesses on a small pool of shared people through the real intake code, sync with
the central database, carry signed bundles to each other, each with its own clock
skew; then full sync rounds. Every synced column of every row must then be equal on
every copy and centrally (and so ``db digest``), and the invariants must hold: a
finding is allowed only as an open conflict the merge flagged, and once a supervisor
has settled those at one PC and the change has travelled, ``db check`` passes
everywhere.

``pytest --soak N`` (``make soak``) runs N schedules instead of the few of the normal
suite and prints the figures.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import random
import shutil
import time
from collections import Counter

import pytest
from sqlalchemy import create_engine, select

from shebao_desk.services.attendance import sign_in, sign_out
from shebao_desk.services.auth import attempt_login, create_clerk
from shebao_desk.config.catalogue import Mode
from shebao_desk.services.conflicts import list_conflicts, resolve_conflict
from shebao_desk.errors import ShebaoError
from shebao_desk.services.intake import accept_case, complete_case
from shebao_desk.services.case_request import AgentInput, CaseRequest
from shebao_desk.services.invariants import check_store
from shebao_desk.models import Base, Case, CaseStatus, Clerk, Role, Site
from shebao_desk.store.site_identity import ensure_site
from shebao_desk.store.keystore import DB_KEY, Keystore
from shebao_desk.store.database import file_key, open_store
from shebao_desk.sync.bundle import BundleError, export_bundle, import_bundle, own_key, trust
from shebao_desk.sync.central import prepare_central, pull, push
from shebao_desk.sync.digest import SYNCED_TABLES, canonical_rows, digest

from conftest import MONDAY, applicant, needs_pg, scratch_database

STATIONS = (("SZ01", "1"), ("SZ01", "2"), ("SZ02", "1"))  # two PCs of one window, one of another
SUITE_SCHEDULES = 20
# Rows with derived ids (person, the shared clerk, its attendance day) are first written at several
# stores and then updated there: the case where a row's clock matters most.
BUSINESSES = ["apply"] * 4 + ["collect"] * 4 + ["info_change"] * 4 + [
    "temp_loss", "lift_loss", "formal_loss", "reissue", "replace", "pin_reset", "activate", "cancel",
    "sign_in", "sign_out", "login"]
# A PC may run slow by hours; a fast one only within [sync] clock_skew_minutes (10), beyond which its
# bundles are refused as the clock poisoning they would be (#13, tested in test_bundle_attacks).
SKEWS_MS = (0, -7 * 60_000, 8 * 60_000, -2 * 3600_000, 45_000)


@pytest.fixture(scope="module")
def central_db():
    with scratch_database() as url:
        # Commits need not wait for the disk here: the test is about the merge, not durability.
        engine = create_engine(url, connect_args={"options": "-c synchronous_commit=off"})
        prepare_central(engine)
        yield url, engine
        engine.dispose()


@pytest.fixture(scope="module")
def templates(tmp_path_factory, policy):
    """A migrated store per station with its site, its own supervisor and a clerk of one shared
    username (the same derived id made at three places, like ``demo seed``), copied per schedule."""
    root = tmp_path_factory.mktemp("templates")
    out = []
    for window, number in STATIONS:
        path = root / f"{window}{number}.sqlite3"
        store = open_store(path)
        with store.unit(None, number, "setup") as s:
            ensure_site(s, dataclasses.replace(policy.site, window_code=window), number)
            create_clerk(s, f"sup{window}{number}".lower(), "主管", "passw0rd!", Role.SUPERVISOR)
            create_clerk(s, "shared", "共用账号", "passw0rd!", Role.CLERK)
        store.close()
        out.append(path)
    return out


class Station:
    def __init__(self, path, skew_ms: int) -> None:
        self.store = open_store(path)
        self.skew = dt.timedelta(milliseconds=skew_ms)
        with self.store.read() as s:
            site = s.scalar(select(Site))
            self.number, self.origin = site.workstation_id, f"{site.window_code}{site.workstation_id}"
            self.supervisor = s.scalar(select(Clerk.id).where(Clerk.username == f"sup{self.origin}".lower()))
            self.shared = s.scalar(select(Clerk.id).where(Clerk.username == "shared"))
        capture = self.store.sessions.kw["info"]["capture"]
        with self.store.unit(None, self.number, "clock") as s:
            capture.ready(s)
        capture.clock._wall = lambda: int(time.time() * 1000) + skew_ms  # this PC's clock is off
        self.bundles: list = []  # exported, in number order
        self.imported: dict[str, int] = {}  # origin -> how many of its bundles taken


def _request(rng: random.Random, business: str, who, policy) -> CaseRequest:
    mode = Mode.AGENT if business == "cancel" else Mode.SELF
    kw = {}
    if mode is Mode.AGENT:
        from shebao_desk.rules.idnumber import make_id_number
        kw["agent"] = AgentInput("张代办", make_id_number("611021", dt.date(1975, 1, 2), 33), "子女")
    if business == "info_change":
        field, value = rng.choice([("phone", f"139{rng.randrange(10**8):08d}"), ("address", f"商州区{rng.randrange(99)}号"),
                                   ("name", rng.choice(["李秀兰", "李秀英", "李秀云"])), ("name", "李秀芳"),
                                   ("ethnicity", rng.choice(["01", "02", "03"]))])
        kw["changes"] = {field: value}
    materials = set(policy.catalogue[business].required(mode))
    return CaseRequest(business, mode, who, materials, reason="死亡" if business == "cancel" else "", **kw)


def business(station: Station, rng: random.Random, policy, people, now: dt.datetime) -> str:
    kind = rng.choice(BUSINESSES)
    now = now + station.skew
    try:
        with station.store.unit(station.shared, station.number, f"soak {kind}") as s:
            clerk, site = s.get(Clerk, station.shared), s.scalar(select(Site))
            if kind == "sign_in":
                sign_in(s, clerk.id, station.number, now)
            elif kind == "sign_out":
                sign_in(s, clerk.id, station.number, now - dt.timedelta(hours=1))
                sign_out(s, clerk.id, now)
            elif kind == "login":  # updates the shared clerk's row (last login, failure count)
                attempt_login(s, "shared", rng.choice(["passw0rd!", "wrong"]), max_failures=5, lockout_minutes=1,
                              now=now)
            elif kind == "collect":
                cases = s.scalars(select(Case).where(Case.status == CaseStatus.ACCEPTED).order_by(Case.number)).all()
                if not cases:
                    return "idle"
                complete_case(s, rng.choice(cases), clerk, now)
            else:
                who = rng.choice(people)
                accept_case(s, _request(rng, kind, who, policy), clerk, site, policy, now)
        return kind
    except ShebaoError:  # the state machine refused (e.g. lift without a loss): nothing written
        return "refused"


def empty(engine) -> None:
    """A fresh central database for the next schedule (DELETE: cheaper than TRUNCATE for a few rows)."""
    with engine.begin() as conn:
        for table in reversed(Base.metadata.sorted_tables):
            conn.execute(table.delete())


def sync_one(station: Station, engine) -> None:
    push(station.store, engine)
    pull(station.store, engine)


def carry(src: Station, dst: Station, folder, stations) -> bool:
    """``src`` exports what is new; ``dst`` imports every bundle of ``src`` it has not yet had.

    A bundle carries only its signer's own changes (#13). One whose rows refer to a row that
    ``dst`` has not received yet from a third site (a person first registered there) is refused
    whole, store unchanged, and taken again at the next carry; returns False then."""
    result = export_bundle(src.store, folder / f"{src.origin}-{len(src.bundles) + 1}.bundle")
    if result is not None:
        src.bundles.append(result.path)
    for path in src.bundles[dst.imported.get(src.origin, 0):]:
        try:
            import_bundle(dst.store, path)
        except BundleError as exc:
            assert "IntegrityError" in exc.detail, exc.detail  # nothing else may refuse a genuine bundle
            return False
        dst.imported[src.origin] = dst.imported.get(src.origin, 0) + 1
    return True


def copies(stations, engine) -> list[tuple[str, dict, dict]]:
    out = []
    for name, e in [(s.origin, s.store.engine) for s in stations] + [("central", engine)]:
        with e.connect() as conn:
            out.append((name, {t.name: canonical_rows(conn, t) for t in SYNCED_TABLES}, digest(conn)))
    return out


def divergences(stations, engine) -> list[str]:
    """Scoped replication (#18): a window holds its own rows and those of the people who did business
    there, not the whole city. So every row a copy holds must equal central's to the last column, and
    the PCs of one window must be identical to each other, digests included."""
    found = []
    *locals_, (_, want, _) = copies(stations, engine)
    windows = {s.origin: s.origin[:-1] for s in stations}
    for name, rows, _ in locals_:
        for table in SYNCED_TABLES:
            for line in sorted(set(rows[table.name]) - set(want[table.name]))[:3]:
                found.append(f"{name} {table.name}: differs from central {line[:300]}")
    for (name, rows, dig), (other, rows2, dig2) in zip(locals_, locals_[1:], strict=False):
        if windows[name] == windows[other]:
            for table in SYNCED_TABLES:
                for line in sorted(set(rows[table.name]) ^ set(rows2[table.name]))[:3]:
                    found.append(f"{name}/{other} {table.name}: one PC of the window lacks {line[:300]}")
            if dig != dig2:
                found.append(f"{name}/{other}: db digest differs between the two PCs of one window")
    return found


def findings(stations, engine, *, allow_open: bool) -> list[str]:
    from sqlalchemy.orm import Session
    out = []
    for name, bind in [(s.origin, s.store.engine) for s in stations] + [("central", engine)]:
        with Session(bind) as s:
            for f in check_store(s):
                if not (allow_open and f.open_conflict):
                    out.append(f"{name}: {f}")
    return out


def run_schedule(seed: int, tmp_path, templates, central_engine, policy, steps: int = 40) -> dict:
    rng = random.Random(seed)
    folder = tmp_path / f"s{seed}"
    folder.mkdir()
    empty(central_engine)
    skews = [rng.choice(SKEWS_MS) for _ in STATIONS]
    stations = []
    for path, skew in zip(templates, skews, strict=True):
        copy = folder / path.name
        shutil.copyfile(path, copy)
        Keystore(copy).put(DB_KEY, file_key(path).hex())  # the copy opens with the template's store key
        stations.append(Station(copy, skew))
    for src in stations:  # the admins pinned each other's keys over the phone, once
        for dst in stations:
            if dst is not src:
                trust(dst.store, *own_key(src.store))
    people = [dataclasses.replace(applicant(10 + i), phone=rng.choice(["", "13800000000", "13700000000"]),
                                  address=rng.choice(["", "商洛市商州区北新街 1 号"]))
              for i in range(rng.choice((1, 2, 3)))]
    now = MONDAY
    kinds: Counter = Counter()
    try:
        for _ in range(steps):
            now += dt.timedelta(minutes=rng.randint(1, 600))
            roll = rng.random()
            if roll < 0.62:
                kinds[business(rng.choice(stations), rng, policy, people, now)] += 1
            elif roll < 0.82:
                sync_one(rng.choice(stations), central_engine)
                kinds["sync"] += 1
            else:
                src, dst = rng.sample(stations, 2)
                kinds["bundle" if carry(src, dst, folder, stations) else "bundle_waits"] += 1
        for _ in range(2):  # full rounds: everything reaches everyone
            for station in stations:
                sync_one(station, central_engine)
        diverged = divergences(stations, central_engine)
        broken = findings(stations, central_engine, allow_open=True)  # a finding only as a flagged conflict
        conflicts = 0
        # A supervisor settles the flagged conflicts at one PC; the change travels; db check passes everywhere.
        desk = rng.choice(stations)
        with desk.store.unit(desk.supervisor, desk.number, "resolve") as s:
            while open_ := list_conflicts(s):  # settling one may settle others of the same person
                conflict = open_[0]
                keep = conflict.valid_cards[-1].id if conflict.needs_choice else None
                resolve_conflict(s, conflict.id, s.get(Clerk, desk.supervisor), keep_card_id=keep, now=now)
                conflicts += 1
        if conflicts:
            for _ in range(2):
                for station in stations:
                    sync_one(station, central_engine)
            diverged += divergences(stations, central_engine)
            broken += findings(stations, central_engine, allow_open=False)
        # (none settled: then none may be open anywhere, see open_left, and the check above was complete)
        open_left = 0
        for station in stations:
            with station.store.read() as s:
                open_left += len(list_conflicts(s))
        return {"seed": seed, "diverged": diverged, "broken": broken, "conflicts": conflicts,
                "open_left": open_left, "steps": sum(kinds.values()), "kinds": kinds}
    finally:
        for station in stations:
            station.store.close()
        shutil.rmtree(folder, ignore_errors=True)


def _report(results, elapsed) -> str:
    steps = sum(r["steps"] for r in results)
    bad = [r for r in results if r["diverged"] or r["broken"] or r["open_left"]]
    kinds = sum((r["kinds"] for r in results), Counter())
    return (f"{len(results)} schedules, {steps} steps, {sum(r['conflicts'] for r in results)} conflicts settled, "
            f"{len(bad)} schedules with divergences or violations, {elapsed:.0f} s; steps: {dict(kinds)}")


@pytest.mark.slow
@needs_pg
def test_random_schedules_converge(request, tmp_path, templates, central_db, policy):
    soak = request.config.getoption("--soak")
    count = soak or SUITE_SCHEDULES
    first = request.config.getoption("--soak-seed")
    started = time.monotonic()
    results = []
    for seed in range(first, first + count):
        result = run_schedule(seed, tmp_path, templates, central_db[1], policy)
        results.append(result)
        if soak and (result["diverged"] or result["broken"] or result["open_left"]):
            print(f"seed {seed}: {result['diverged'][:5]} {result['broken'][:5]} open {result['open_left']}")
        if soak and len(results) % 50 == 0:
            print(_report(results, time.monotonic() - started), flush=True)
    summary = _report(results, time.monotonic() - started)
    print("\n" + summary)
    bad = [(r["seed"], r["diverged"][:3], r["broken"][:3], r["open_left"]) for r in results
           if r["diverged"] or r["broken"] or r["open_left"]]
    assert not bad, f"{summary}\nfirst: {bad[:3]}"
    assert sum(r["kinds"]["sync"] + r["kinds"]["bundle"] for r in results) > count  # the schedules did travel
