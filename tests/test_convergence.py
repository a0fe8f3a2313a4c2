"""Copies converge: seeded random schedules over four stores and a real PostgreSQL.

Two windows of two PCs each (SZ01 1/2, SZ02 1/2) take businesses on a small pool of shared
people through the real intake code, sync with the central database (check-in, audit head,
push, pull: what ``shebao-desk sync`` does), carry signed bundles to each other, each with its
own clock skew. The admins pinned each other's keys, some pairs by the 64 hex digits and some by
the key code read over the phone (``bundle trust ORIGIN 密钥码``); every bundle must open. A PC's bundles reach
the other window before it ever syncs, so the receiver relays them. A PC backs up its store
and is later restored from that backup, then works on; a disk image of a PC is started
elsewhere and must be refused at its first sync, the genuine PC left alone. Then two full
sync rounds. Every synced column of every row (audit entries included) must be equal on
every copy and centrally (and so ``db digest``), no change may be left in quarantine or
waiting parked, no genuine bundle refused, and the invariants must hold: a finding is allowed
only as an open conflict the merge flagged, and once a supervisor has settled those at one PC
and the change has travelled, ``db check`` passes everywhere.

``pytest --soak N`` (``make soak``) runs N schedules instead of the few of the normal suite
and prints the figures.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import random
import shutil
import time
from collections import Counter
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, create_engine, func, select, text
from sqlalchemy.orm import Session

from shebao_desk.config.catalogue import Mode
from shebao_desk.config.policy import Policy
from shebao_desk.errors import ShebaoError
from shebao_desk.models import Base, Case, CaseStatus, Clerk, Role, Site, SyncParked, SyncQuarantine
from shebao_desk.services.attendance import sign_in, sign_out
from shebao_desk.services.auth import attempt_login, create_clerk
from shebao_desk.services.case_request import AgentInput, CaseRequest
from shebao_desk.services.conflicts import list_conflicts, resolve_conflict
from shebao_desk.services.intake import accept_case, complete_case
from shebao_desk.services.invariants import check_store
from shebao_desk.services.restore import record_restore
from shebao_desk.store.anchor import ANCHOR_KEY
from shebao_desk.store.backup import backup, restore
from shebao_desk.store.database import connect_file, file_key, open_store
from shebao_desk.store.keystore import DB_KEY, Keystore
from shebao_desk.store.site_identity import ensure_site, store_id
from shebao_desk.sync.bundle import export_bundle, import_bundle, key_code, own_key, trust
from shebao_desk.sync.central import CloneRefused, place_of, prepare_central, register, sync_with
from shebao_desk.sync.digest import SYNCED_TABLES, canonical_rows, digest

from conftest import MONDAY, applicant, needs_pg, scratch_database

STATIONS = (("SZ01", "1"), ("SZ01", "2"), ("SZ02", "1"), ("SZ02", "2"))  # two windows of two PCs
SUITE_SCHEDULES = 8
# Rows with derived ids (person, the shared clerk, its attendance day) are first written at several
# stores and then updated there: the case where a row's clock matters most.
BUSINESSES = ["apply"] * 4 + ["collect"] * 4 + ["info_change"] * 4 + [
    "temp_loss", "lift_loss", "formal_loss", "reissue", "replace", "pin_reset", "activate", "cancel",
    "sign_in", "sign_out", "login"]
# A PC may run slow by hours; a fast one only within [sync] clock_skew_minutes (10), beyond which its
# bundles are refused as the clock poisoning they would be (#13, tested in test_bundle_attacks).
SKEWS_MS = (0, -7 * 60_000, 8 * 60_000, -2 * 3600_000, 45_000)
SEALED_ELSEWHERE = ("此数据包已加密", "不是发给本站")  # a bundle this receiver cannot open (#24: R2)
SUPERSEDED = "已被之后的数据包取代"  # a bundle of the incarnation before a restore, after the restore's
TAKEN_BEFORE = "已经导入过"  # a receiver restored from a backup is offered its earlier bundles again


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
    username (the same derived id made at four places, like ``demo seed``), copied per schedule."""
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


def pin(receiver, sender, *, full: bool) -> None:
    """What the receiving site's admin does once, after reading the sender's ``bundle key`` over the phone."""
    origin, public = own_key(sender)
    trust(receiver, origin, public if full else key_code(bytes.fromhex(public)))


class Station:
    def __init__(self, path: Path, skew_ms: int) -> None:
        self.path = path
        self.skew_ms = skew_ms
        self.skew = dt.timedelta(milliseconds=skew_ms)
        self.bundles: list[Path] = []  # exported, in order (a restore starts a new numbering)
        self.imported: dict[str, int] = {}  # origin -> how many of its bundles taken (or passed over)
        self.blocked: set[str] = set()  # origins whose bundles this station cannot open (#24: R2)
        self.backup: Path | None = None
        self.synced = False
        self.open()

    def open(self) -> None:
        self.store = open_store(self.path)
        with self.store.read() as s:
            site = s.scalar(select(Site))
            self.number, self.origin = site.workstation_id, f"{site.window_code}{site.workstation_id}"
            self.supervisor = s.scalar(select(Clerk.id).where(Clerk.username == f"sup{self.origin}".lower()))
            self.shared = s.scalar(select(Clerk.id).where(Clerk.username == "shared"))
        skew = self.skew_ms
        capture = self.store.sessions.kw["info"]["capture"]
        with self.store.unit(None, self.number, "clock") as s:
            capture.ready(s)
        capture.clock._wall = lambda: int(time.time() * 1000) + skew  # this PC's clock is off

    def count(self, model: Any) -> int:
        with self.store.read() as s:
            return s.scalar(select(func.count()).select_from(model))

    def open_conflicts(self) -> bool:
        with self.store.read() as s:
            return bool(list_conflicts(s))


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


def business(store, number: str, shared: str, skew: dt.timedelta, rng: random.Random, policy, people,
             now: dt.datetime) -> str:
    kind = rng.choice(BUSINESSES)
    now = now + skew
    try:
        with store.unit(shared, number, f"soak {kind}") as s:
            clerk, site = s.get(Clerk, shared), s.scalar(select(Site))
            if kind == "sign_in":
                sign_in(s, clerk.id, number, now)
            elif kind == "sign_out":
                sign_in(s, clerk.id, number, now - dt.timedelta(hours=1))
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
        for table in ("sync_scope", "scope_member", "scope_origin"):
            conn.execute(text(f"DELETE FROM {table}"))


def sync_one(station: Station, engine) -> None:
    report = sync_with(station.store, engine)
    assert not report.new_incarnation, f"{station.origin} was taken for a restored copy"
    station.synced = True


def carry(src: Station, dst: Station, folder: Path, kinds: Counter) -> None:
    """``src`` exports what is new; ``dst`` imports every bundle of ``src`` it has not yet had. Nothing
    may refuse a genuine bundle: a change whose rows are not at ``dst`` yet (a person first registered
    at a third site) waits parked and is taken in when they arrive. Passed over: a bundle of the
    incarnation before a restore once the restore's are in (what a receiver does with a stale file)."""
    result = export_bundle(src.store, folder / f"{src.origin}-{len(src.bundles) + 1}.bundle")
    if result is not None:
        src.bundles.append(result.path)
    if src.origin in dst.blocked:
        return
    for path in src.bundles[dst.imported.get(src.origin, 0):]:
        try:
            taken = import_bundle(dst.store, path)
            kinds["bundle"] += 1
            kinds["parked"] += taken.parked
        except ShebaoError as exc:
            if any(word in exc.message for word in SEALED_ELSEWHERE):
                dst.blocked.add(src.origin)  # in number order: no later bundle of src can be taken either
                kinds["unopened"] += 1
                return
            assert SUPERSEDED in exc.message or TAKEN_BEFORE in exc.message, \
                f"{src.origin} -> {dst.origin}: {exc.message} ({exc.detail})"
            kinds["superseded" if SUPERSEDED in exc.message else "taken_before"] += 1
        dst.imported[src.origin] = dst.imported.get(src.origin, 0) + 1


def back_up_or_restore(station: Station, folder: Path) -> str:
    """The PC's admin backs the store up; later the disk fails and the store comes back from that backup
    (``db restore``): the work since is lost here, and the PC works on."""
    if station.backup is None:
        station.backup = backup(station.path, folder / f"{station.origin}-backup-{time.monotonic_ns()}.sqlite3")
        return "backup"
    station.store.close()
    kept = restore(station.path, station.backup)
    record_restore(station.path, station.backup, kept, None, station.number)
    station.backup = None
    station.imported = {}  # what it had taken since the backup is gone: it is offered every bundle again
    # Until central sees the restore, a byte copy of this store is indistinguishable from it (the same store,
    # the same new incarnation): whichever syncs first is the restored store and the other is named a clone.
    # The clone step copies only a PC whose restore central has seen.
    station.synced = False
    station.open()
    return "restore"


def start_clone(station: Station, folder: Path, engine, rng: random.Random, policy, people, now) -> str:
    """A disk image of a PC started on another PC, working on, then syncing: refused by name; the
    genuine PC is left alone (the schedule goes on with it and must converge)."""
    copy = folder / "clone" / station.path.name
    with closing(connect_file(station.path)) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    copy.parent.mkdir(exist_ok=True)
    shutil.copyfile(station.path, copy)
    keys = Keystore(copy)
    # The anchor is bound to the store's path (its MAC names it): the copy here, at another path, starts
    # unanchored, as the image would at its own path with its own anchor file (#24).
    for name, value in Keystore(station.path).load().items():
        if name not in ("store", ANCHOR_KEY):
            keys.put(name, value)
    clone = open_store(copy)
    try:
        for _ in range(2):
            business(clone, station.number, station.shared, station.skew, rng, policy, people, now)
        try:
            sync_with(clone, engine)
        except CloneRefused:
            return "clone_refused"
        return "clone_absorbed"
    finally:
        clone.close()
        shutil.rmtree(copy.parent, ignore_errors=True)


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
    out = []
    for name, bind in [(s.origin, s.store.engine) for s in stations] + [("central", engine)]:
        with Session(bind) as s:
            for f in check_store(s):
                if not (allow_open and f.open_conflict):
                    out.append(f"{name}: {f}")
    return out


def claim_codes(stations, engine: Engine) -> None:
    """What ``setup --central`` did at each PC: its code claimed for its store, at its place."""
    for st in stations:
        with st.store.engine.begin() as conn:
            register(engine, st.origin, store_id(conn), 0, place=place_of(conn))


def run_schedule(seed: int, tmp_path, templates, central_engine, policy, steps: int = 44) -> dict:
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
    claim_codes(stations, central_engine)
    for src in stations:  # the admins pinned each other's keys over the phone, once: in hex or by key code
        for dst in stations:
            if dst is not src:
                pin(dst.store, src.store, full=rng.random() < 0.5)
    people = [dataclasses.replace(applicant(10 + i), phone=rng.choice(["", "13800000000", "13700000000"]),
                                  address=rng.choice(["", "商洛市商州区北新街 1 号"]))
              for i in range(rng.choice((1, 2, 3)))]
    now = MONDAY
    kinds: Counter = Counter()
    cloned = False
    try:
        for _ in range(steps):
            now += dt.timedelta(minutes=rng.randint(1, 600))
            roll = rng.random()
            station = rng.choice(stations)
            if roll < 0.58:
                kinds[business(station.store, station.number, station.shared, station.skew, rng, policy, people,
                               now)] += 1
            elif roll < 0.76:
                sync_one(station, central_engine)
                kinds["sync"] += 1
            elif roll < 0.95:
                carry(station, rng.choice([s for s in stations if s is not station]), folder, kinds)
            elif roll < 0.985 or cloned or not station.synced:
                kinds[back_up_or_restore(station, folder)] += 1
            else:
                cloned = True
                kinds[start_clone(station, folder, central_engine, rng, policy, people, now)] += 1
        for _ in range(2):  # full rounds: everything reaches everyone
            for station in stations:
                sync_one(station, central_engine)
        diverged = divergences(stations, central_engine)
        broken = findings(stations, central_engine, allow_open=True)  # a finding only as a flagged conflict
        left = {"quarantined": sum(st.count(SyncQuarantine) for st in stations),
                "parked_left": sum(st.count(SyncParked) for st in stations)}
        conflicts = 0
        # A supervisor settles the flagged conflicts at one PC that holds them (a window holds only its own
        # people, #18), the change travels; then any a window still shows; db check passes everywhere.
        for _ in stations:
            desks = [st for st in rng.sample(stations, len(stations)) if st.open_conflicts()]
            if not desks:
                break
            desk = desks[0]
            with desk.store.unit(desk.supervisor, desk.number, "resolve") as s:
                while open_ := list_conflicts(s):  # settling one may settle others of the same person
                    conflict = open_[0]
                    keep = conflict.valid_cards[-1].id if conflict.needs_choice else None
                    resolve_conflict(s, conflict.id, s.get(Clerk, desk.supervisor), keep_card_id=keep, now=now)
                    conflicts += 1
            for _ in range(2):
                for station in stations:
                    sync_one(station, central_engine)
        if conflicts:
            diverged += divergences(stations, central_engine)
            broken += findings(stations, central_engine, allow_open=False)
        # (none settled: then none may be open anywhere, see open_left, and the check above was complete)
        open_left = 0
        for station in stations:
            with station.store.read() as s:
                open_left += len(list_conflicts(s))
        return {"seed": seed, "diverged": diverged, "broken": broken, "conflicts": conflicts,
                "open_left": open_left, "steps": steps, "kinds": kinds, **left}
    finally:
        for station in stations:
            station.store.close()
        shutil.rmtree(folder, ignore_errors=True)


def failed(r: dict) -> bool:
    return bool(r["diverged"] or r["broken"] or r["open_left"] or r["quarantined"] or r["parked_left"]
                or r["kinds"]["clone_absorbed"] or r["kinds"]["unopened"])


def _report(results, elapsed) -> str:
    steps = sum(r["steps"] for r in results)
    kinds = sum((r["kinds"] for r in results), Counter())
    return (f"{len(results)} schedules, {steps} steps, {sum(r['conflicts'] for r in results)} conflicts settled, "
            f"{sum(bool(r['diverged']) for r in results)} with divergences, "
            f"{sum(bool(r['broken']) for r in results)} with db check findings, "
            f"{sum(r['quarantined'] for r in results)} changes left in quarantine, "
            f"{sum(r['parked_left'] for r in results)} left parked, {elapsed:.0f} s; steps: {dict(kinds)}")


@pytest.mark.slow
@needs_pg
def test_random_schedules_converge(request, tmp_path, templates, central_db, policy: Policy):
    soak = request.config.getoption("--soak")
    count = soak or SUITE_SCHEDULES
    first = request.config.getoption("--soak-seed")
    minutes = request.config.getoption("--soak-minutes")
    started = time.monotonic()
    results = []
    for seed in range(first, first + count):
        if minutes and results and time.monotonic() - started > minutes * 60:
            break  # a time-boxed soak: the totals below cover the schedules run
        result = run_schedule(seed, tmp_path, templates, central_db[1], policy)
        results.append(result)
        if soak and failed(result):
            print(f"seed {seed}: {result['diverged'][:5]} {result['broken'][:5]} open {result['open_left']} "
                  f"quarantined {result['quarantined']} parked {result['parked_left']} {dict(result['kinds'])}")
        if soak and len(results) % 50 == 0:
            print(_report(results, time.monotonic() - started), flush=True)
    summary = _report(results, time.monotonic() - started)
    print("\n" + summary)
    bad = [(r["seed"], r["diverged"][:3], r["broken"][:3], r["open_left"], r["quarantined"], r["parked_left"],
            r["kinds"]["clone_absorbed"], r["kinds"]["unopened"]) for r in results if failed(r)]
    assert not bad, f"{summary}\nfirst: {bad[:3]}"
    kinds = sum((r["kinds"] for r in results), Counter())
    assert kinds["sync"] + kinds["bundle"] > len(results)  # the schedules did travel
    if len(results) >= SUITE_SCHEDULES:  # and met what they are about
        assert all(kinds[k] for k in ("restore", "clone_refused", "parked", "bundle")), kinds
        assert sum(r["conflicts"] for r in results), "no conflict was settled"
