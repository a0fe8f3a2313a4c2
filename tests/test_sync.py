"""Sync against a real PostgreSQL: convergence, conflict rules, cuts at random points, bundles."""

from __future__ import annotations

import datetime as dt
import json
import os
import random
import socket
import threading

import pytest
from sqlalchemy import create_engine, select, text

from shebao_desk.services.auth import create_clerk
from shebao_desk.config.catalogue import Mode
from shebao_desk.errors import ShebaoError
from shebao_desk.services.case_request import AgentInput
from shebao_desk.services.intake import complete_case, find_person
from shebao_desk.rules.idnumber import make_id_number
from shebao_desk.models import Base, CardStatus, Clerk, Role, SyncConflict
from shebao_desk.store.site_identity import ensure_site
from shebao_desk.store.database import open_store
from shebao_desk.sync.bundle import BundleError, export_bundle, import_bundle, own_key, trust
from shebao_desk.changes.capture import LOCAL_TABLES
from shebao_desk.sync.central import SyncError, sync
from shebao_desk.sync.status import sync_status

from conftest import MONDAY, applicant, needs_pg, take

SYNCED = [t.name for t in Base.metadata.sorted_tables if t.name not in LOCAL_TABLES]


def workstation(tmp_path, policy, name):
    store = open_store(tmp_path / f"{name}.sqlite3")
    with store.unit(None, name, "setup") as s:
        site = ensure_site(s, policy.site, name)
        clerk = s.scalar(select(Clerk)) or create_clerk(s, "wang", "王经办", "passw0rd!", Role.CLERK)
    return store, (clerk, site)


def store_engine(path):
    """An engine on a store file that the CLI made (encrypted: its key from the keystore)."""
    from pathlib import Path

    from shebao_desk.store.database import file_key, sqlite_engine
    return sqlite_engine(Path(path), file_key(Path(path)))


def snapshot(engine, *, credentials=True) -> dict[str, dict[str, tuple]]:
    """Every synced table's rows by id, without the audit timestamps that differ by machine
    (and, with ``credentials=False``, without clerks' credentials, which bundles never carry)."""
    from shebao_desk.sync.bundle import CREDENTIALS
    out = {}
    with engine.connect() as conn:
        for name in SYNCED:
            table = Base.metadata.tables[name]
            cols = [c for c in table.columns if c.key not in ("updated_at",)
                    and (credentials or name != "clerk" or c.key not in CREDENTIALS | {"created_at"})]
            rows = conn.execute(select(*cols)).all()
            out[name] = {r[0] if cols[0].key == "id" else r.id: tuple(_norm(v) for v in r) for r in rows}
    return out


def _norm(value):
    import enum
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, dt.datetime):
        return value.replace(tzinfo=None).isoformat()
    return value


def issued(store, policy, cs, who, when=MONDAY):
    outcome = take(store, policy, cs, "apply", who, now=when)
    with store.unit(cs[0].id, cs[1].workstation_id, "collect") as s:
        complete_case(s, s.merge(outcome.case), s.merge(cs[0]), when + dt.timedelta(days=10))
    return outcome


@needs_pg
def test_two_workstations_converge_through_the_central_database(tmp_path, policy, central):
    a, csa = workstation(tmp_path, policy, "A")
    b, csb = workstation(tmp_path, policy, "B")
    for i in range(3):
        issued(a, policy, csa, applicant(100 + i))
        issued(b, policy, csb, applicant(200 + i))
    sync(a, central)
    sync(b, central)
    sync(a, central)
    # Interleaved edits on both, some to the same person.
    shared = applicant(100)
    take(a, policy, csa, "info_change", shared, changes={"phone": "13911110000"}, now=MONDAY + dt.timedelta(days=12))
    take(b, policy, csb, "info_change", shared, changes={"address": "丹凤县龙驹寨街道 9 号"},
         now=MONDAY + dt.timedelta(days=12, hours=1))
    take(b, policy, csb, "temp_loss", applicant(101), now=MONDAY + dt.timedelta(days=13))
    take(a, policy, csa, "formal_loss", applicant(202), now=MONDAY + dt.timedelta(days=13))
    for _ in range(2):
        sync(a, central)
        sync(b, central)
    central_engine = create_engine(central)
    try:
        want = snapshot(central_engine)
        assert snapshot(a.engine) == want
        assert snapshot(b.engine) == want
        with central_engine.connect() as conn:
            for name in ("person", "card", "case"):
                total, distinct = conn.execute(text(f'SELECT count(*), count(DISTINCT id) FROM "{name}"')).one()
                assert total == distinct > 0
    finally:
        central_engine.dispose()
    with a.read() as s:
        person = find_person(s, shared.id_number)
        assert person.phone == "13911110000" and person.address == "丹凤县龙驹寨街道 9 号"  # both edits kept
        assert find_person(s, applicant(202).id_number).cards[0].status is CardStatus.FORMALLY_LOST


@needs_pg
def test_formal_loss_wins_over_a_later_edit_elsewhere(tmp_path, policy, central):
    a, csa = workstation(tmp_path, policy, "A")
    b, csb = workstation(tmp_path, policy, "B")
    who = applicant(300)
    issued(a, policy, csa, who)
    sync(a, central)
    sync(b, central)
    take(a, policy, csa, "formal_loss", who, now=MONDAY + dt.timedelta(days=12))
    # B, not yet knowing, replaces the card later (its clock is later): the old card is void either way,
    # and B's new card is the one valid card.
    take(b, policy, csb, "replace", who, now=MONDAY + dt.timedelta(days=12, hours=2))
    for _ in range(2):
        sync(a, central)
        sync(b, central)
    with a.read() as s:
        statuses = sorted(c.status.value for c in find_person(s, who.id_number).cards)
    assert statuses == ["formally_lost", "pending"]


@needs_pg
def test_two_valid_cards_after_a_merge_are_kept_and_flagged(tmp_path, policy, central):
    a, csa = workstation(tmp_path, policy, "A")
    b, csb = workstation(tmp_path, policy, "B")
    who = applicant(400)
    take(a, policy, csa, "apply", who)  # the same person applies at both PCs before either syncs
    take(b, policy, csb, "apply", who, now=MONDAY + dt.timedelta(minutes=5))
    sync(a, central)
    report = sync(b, central)
    sync(a, central)
    assert report.conflicts == 1
    for store in (a, b):
        with store.read() as s:
            assert len([c for c in find_person(s, who.id_number).cards if c.status.valid]) == 2  # nothing dropped
            conflict = s.scalars(select(SyncConflict)).one()
            assert conflict.kind == "two_valid_cards" and conflict.resolved_at is None
    status = sync_status(a, warn_after_days=3)
    assert status.conflicts == 1 and status.warn and "冲突" in status.text()


@needs_pg
def test_a_new_pc_receiving_a_person_with_two_valid_cards_at_once_flags_them(tmp_path, policy, central):
    """A PC syncing for the first time gets the person and both valid cards in one batch: a person new to it,
    yet not with one card alone, so the merge looks at them and flags the conflict there too."""
    a, csa = workstation(tmp_path, policy, "A")
    b, csb = workstation(tmp_path, policy, "B")
    who = applicant(410)
    take(a, policy, csa, "apply", who)
    take(b, policy, csb, "apply", who, now=MONDAY + dt.timedelta(minutes=5))
    sync(a, central)
    sync(b, central)
    c, _ = workstation(tmp_path, policy, "C")
    sync(c, central)
    with c.read() as s:
        assert len([card for card in find_person(s, who.id_number).cards if card.status.valid]) == 2
        assert [(k.kind, k.resolved_at) for k in s.scalars(select(SyncConflict))] == [("two_valid_cards", None)]


def test_a_cancelled_person_arriving_with_a_valid_card_is_flagged(tmp_path, policy):
    """A person new to a store who arrives cancelled, with a valid card, in the same merge: flagged, as a
    cancelled person holding a valid card is anywhere (the merge skips only a new, not cancelled person's
    one new card)."""
    from shebao_desk.changes.merge import apply_changes
    from shebao_desk.models import SyncChange
    a, csa = workstation(tmp_path, policy, "A")
    take(a, policy, csa, "apply", applicant(420))
    with a.read() as s:
        logged = [dict(r._mapping) for r in s.execute(select(
            SyncChange.change_id, SyncChange.table_name, SyncChange.row_id, SyncChange.hlc, SyncChange.origin,
            SyncChange.values).where(SyncChange.table_name.in_(["clerk", "person", "card"])).order_by(SyncChange.seq))]
    person = next(c for c in logged if c["table_name"] == "person" and "id" in c["values"])
    person["values"] = {**person["values"], "status": "cancelled"}
    assert any(c["table_name"] == "card" and c["values"].get("status") in {"pending", "active"} for c in logged)
    b, _ = workstation(tmp_path, policy, "B")
    with b.engine.begin() as conn:
        result = apply_changes(conn, logged, pushed=True, park=True)
    assert result.parked == 0
    with b.read() as s:
        assert [k.kind for k in s.scalars(select(SyncConflict))] == ["cancelled_person_valid_card"]


@needs_pg
def test_a_resent_batch_changes_nothing(tmp_path, policy, central):
    from sqlalchemy import update

    from shebao_desk.models import SyncChange
    a, csa = workstation(tmp_path, policy, "A")
    issued(a, policy, csa, applicant(500))
    sync(a, central)
    engine = create_engine(central)
    before = snapshot(engine)
    with a.engine.begin() as conn:  # as if the confirmation of every batch had been lost
        conn.execute(update(SyncChange).values(pushed=False))
    report = sync(a, central)
    assert report.pushed > 0
    assert snapshot(engine) == before
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM sync_change")).scalar() == report.pushed
    engine.dispose()


class CuttingProxy:
    """A TCP proxy to PostgreSQL that cuts each connection after a random number of bytes."""

    def __init__(self, target: tuple[str, int], rng: random.Random) -> None:
        self.target, self.rng = target, rng
        self.server = socket.create_server(("127.0.0.1", 0))
        self.port = self.server.getsockname()[1]
        self.cut_after: int | None = None
        self.cuts = 0
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.server.accept()
            except OSError:
                return
            upstream = socket.create_connection(self.target)
            budget = [self.cut_after]
            for src, dst in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(src, dst, budget, client, upstream), daemon=True).start()

    def _pipe(self, src, dst, budget, *both) -> None:
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                if budget[0] is not None:
                    budget[0] -= len(data)
                    if budget[0] <= 0:
                        self.cuts += 1
                        break
                dst.sendall(data)
        except OSError:
            pass
        for s in both:
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            s.close()

    def close(self) -> None:
        self.server.close()


@pytest.mark.slow
@needs_pg
def test_connection_cut_at_random_points_loses_and_doubles_nothing(tmp_path, policy, central):
    from sqlalchemy.engine import make_url
    rng = random.Random(20261130)
    url = make_url(central)
    proxy = CuttingProxy((url.host, url.port or 5432), rng)
    through_proxy = url.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)
    a, csa = workstation(tmp_path, policy, "A")
    b, csb = workstation(tmp_path, policy, "B")
    sync(a, central)  # the schema exists before the cutting starts
    failures = successes = 0
    for round_ in range(12):
        store, cs = (a, csa) if round_ % 2 == 0 else (b, csb)
        issued(store, policy, cs, applicant(600 + round_))
        for _ in range(20):
            proxy.cut_after = rng.randint(200, 60_000) if rng.random() < 0.8 else None
            try:
                sync(store, through_proxy, batch=7)
                successes += 1
                break
            except SyncError:
                failures += 1
        else:
            pytest.fail("sync never got through")
    proxy.cut_after = None
    for store in (a, b, a):
        sync(store, central)
    proxy.close()
    assert failures >= 5 and proxy.cuts >= 5  # the cuts really happened
    engine = create_engine(central)
    try:
        want = snapshot(engine)
        assert snapshot(a.engine) == want == snapshot(b.engine)
        with engine.connect() as conn:
            changes, distinct = conn.execute(text("SELECT count(*), count(DISTINCT change_id) FROM sync_change")).one()
            assert changes == distinct
            logged = a.engine.connect().execute(text("SELECT count(*) FROM sync_change")).scalar()
            assert changes == logged  # the union of all changes, each once
        assert len(want["person"]) == 12
    finally:
        engine.dispose()


# --- bundles ------------------------------------------------------------------------

def pin(receiver, sender):
    """What the admins do once, over the phone: each pins the other's key (the receiver checks the
    sender's signature with it; the sender seals for the receiver with it)."""
    trust(receiver, *own_key(sender))
    trust(sender, *own_key(receiver))


def exchange(a, b, tmp_path, tag):
    """Carry bundles both ways (whichever side has something new)."""
    for src, dst, name in ((a, b, "ab"), (b, a, "ba")):
        pin(dst, src)  # the admins compared key codes once (pinning again changes nothing)
        result = export_bundle(src, tmp_path / f"{tag}-{name}.bundle")
        if result is not None:
            import_bundle(dst, result.path)


def test_bundle_round_trip_once_only(tmp_path, policy):
    a, csa = workstation(tmp_path, policy, "A")
    b, csb = workstation(tmp_path, policy, "B")
    pin(a, b), pin(b, a)
    issued(a, policy, csa, applicant(700))
    first = export_bundle(a, tmp_path / "a1.bundle")
    assert first.number == 1 and first.changes > 0
    result = import_bundle(b, first.path)
    assert result.applied + result.skipped == first.changes and result.applied >= first.changes - 1
    with b.read() as s:
        assert find_person(s, applicant(700).id_number).cards[0].status is CardStatus.NORMAL
    with pytest.raises(BundleError) as exc:
        import_bundle(b, first.path)
    assert "已经导入过" in exc.value.message
    import_bundle(a, export_bundle(b, tmp_path / "b1.bundle").path)  # B's own set-up travels back
    assert snapshot(a.engine, credentials=False) == snapshot(b.engine, credentials=False)
    take(a, policy, csa, "temp_loss", applicant(700), now=MONDAY + dt.timedelta(days=12))
    second = export_bundle(a, tmp_path / "a2.bundle")
    take(a, policy, csa, "lift_loss", applicant(700), now=MONDAY + dt.timedelta(days=12, hours=1))
    third = export_bundle(a, tmp_path / "a3.bundle")
    with pytest.raises(BundleError) as exc:
        import_bundle(b, third.path)  # number 3 before number 2
    assert "缺少" in exc.value.message
    import_bundle(b, second.path)
    import_bundle(b, third.path)
    take(b, policy, csb, "info_change", applicant(700), changes={"phone": "13700000000"},
         now=MONDAY + dt.timedelta(days=14))
    exchange(a, b, tmp_path, "final")
    assert snapshot(a.engine, credentials=False) == snapshot(b.engine, credentials=False)
    with a.read() as s:
        person = find_person(s, applicant(700).id_number)
        assert person.phone == "13700000000" and person.cards[0].losses[0].lifted_at is not None


def test_a_bundle_with_one_flipped_byte_is_rejected_and_nothing_changes(tmp_path, policy):
    a, csa = workstation(tmp_path, policy, "A")
    b, _ = workstation(tmp_path, policy, "B")
    pin(b, a)
    issued(a, policy, csa, applicant(800))
    good = export_bundle(a, tmp_path / "a1.bundle").path
    raw = bytearray(good.read_bytes())
    before = snapshot(b.engine)
    rng = random.Random(7)
    payload_start = raw.index(b"\n", len(b"shebao-bundle/3\n")) + 1  # after the header line
    for position in [payload_start + 40, raw.index(b'"number"') + 10, raw.index(b'"sealed_key"') + 20, len(raw) - 20] + \
            [rng.randrange(len(raw)) for _ in range(20)]:
        bad = bytearray(raw)
        bad[position] ^= 0x01
        path = tmp_path / "bad.bundle"
        path.write_bytes(bytes(bad))
        with pytest.raises(BundleError):
            import_bundle(b, path)
        assert snapshot(b.engine) == before, position
    assert import_bundle(b, good).applied > 0  # the genuine one still imports


def test_a_bundle_signed_by_another_key_is_refused(tmp_path, policy):
    a, csa = workstation(tmp_path, policy, "A")
    b, _ = workstation(tmp_path, policy, "B")
    pin(b, a)
    issued(a, policy, csa, applicant(900))
    import_bundle(b, export_bundle(a, tmp_path / "a1.bundle").path)
    impostor, csi = workstation(tmp_path / "x", policy, "A")  # claims to be A with its own key
    trust(impostor, *own_key(b))
    issued(impostor, policy, csi, applicant(901))
    export_bundle(impostor, tmp_path / "i1.bundle")
    issued(impostor, policy, csi, applicant(902))
    fake = export_bundle(impostor, tmp_path / "i2.bundle")  # number 2: the one B expects from "A"
    with pytest.raises(BundleError) as exc:
        import_bundle(b, fake.path)
    assert "密钥" in exc.value.message


def test_own_and_malformed_bundles_are_refused(tmp_path, policy):
    a, csa = workstation(tmp_path, policy, "A")
    b, _ = workstation(tmp_path, policy, "B")
    pin(b, a)
    issued(a, policy, csa, applicant(950))
    own = export_bundle(a, tmp_path / "a1.bundle").path
    with pytest.raises(BundleError):
        import_bundle(a, own)
    junk = tmp_path / "junk.bundle"
    junk.write_text(json.dumps({"format": "something else"}))
    with pytest.raises(BundleError):
        import_bundle(a, junk)
    with pytest.raises(ShebaoError):
        import_bundle(a, tmp_path / "missing.bundle")


def test_status_warns_after_days_unsynced(tmp_path, policy):
    a, csa = workstation(tmp_path, policy, "A")
    issued(a, policy, csa, applicant(960))
    now = dt.datetime.now(dt.UTC)
    assert not sync_status(a, 3, now=now).warn
    late = sync_status(a, 3, now=now + dt.timedelta(days=4))
    assert late.warn and late.pending > 0 and "从未同步" in late.text()


def test_nothing_new_means_no_bundle(tmp_path, policy):
    a, csa = workstation(tmp_path, policy, "A")
    b, _ = workstation(tmp_path, policy, "B")
    pin(b, a)
    issued(a, policy, csa, applicant(970))
    assert export_bundle(a, tmp_path / "1.bundle") is not None
    assert export_bundle(a, tmp_path / "2.bundle") is None
    assert not (tmp_path / "2.bundle").exists()


@pytest.mark.slow
@needs_pg
def test_done_when_two_seeded_stores_synced_twice_are_identical(tmp_path, central):
    import subprocess
    import sys

    def cli(db, *args):
        env = {**os.environ, "SHEBAO_CENTRAL": central}
        result = subprocess.run([sys.executable, "-m", "shebao_desk", "--db", str(db), *args], env=env,
                                capture_output=True, text=True, timeout=300, check=False)
        assert result.returncode == 0, result.stderr
        return result.stdout

    a, b = tmp_path / "a.sqlite3", tmp_path / "b.sqlite3"
    cli(a, "--workstation", "A", "demo", "seed", "30")
    cli(b, "--workstation", "B", "demo", "seed", "30")
    for _ in range(2):
        cli(a, "sync")
        cli(b, "sync")
    engines = [store_engine(a), store_engine(b), create_engine(central)]
    snaps = [snapshot(e) for e in engines]
    assert snaps[0] == snaps[1] == snaps[2]
    assert len(snaps[2]["person"]) == 60
    with engines[2].connect() as conn:
        for name in ("person", "card", "case"):
            total, distinct = conn.execute(text(f'SELECT count(*), count(DISTINCT id) FROM "{name}"')).one()
            assert total == distinct
    for e in engines:
        e.dispose()


@pytest.mark.slow
def test_done_when_bundle_cli_once_and_tamper(tmp_path):
    import subprocess
    import sys

    def cli(db, *args, ok=True):
        result = subprocess.run([sys.executable, "-m", "shebao_desk", "--db", str(db), *args],
                                capture_output=True, text=True, timeout=300, check=False)
        assert (result.returncode == 0) == ok, result.stdout + result.stderr
        return result

    a, b = tmp_path / "a.sqlite3", tmp_path / "b.sqlite3"
    cli(a, "--workstation", "A", "demo", "seed", "5")
    cli(b, "--workstation", "B", "demo", "seed", "5")
    bundle = tmp_path / "a.bundle"
    assert "bundle trust" in cli(a, "bundle", "export", "--out", str(bundle), ok=False).stderr  # never unsealed
    assert not bundle.exists()

    def key_code(db):  # read to the other site's admin over the phone
        key = cli(db, "bundle", "key").stdout.splitlines()
        return key[0].split()[0], key[1].split("：", 1)[1]
    cli(a, "bundle", "trust", *key_code(b))
    assert "第 1 号" in cli(a, "bundle", "export", "--out", str(bundle)).stdout
    assert "未登记的站点" in cli(b, "bundle", "import", str(bundle), ok=False).stderr
    origin, code = key_code(a)
    cli(b, "bundle", "trust", origin, *code.split())
    tampered = tmp_path / "tampered.bundle"
    raw = bytearray(bundle.read_bytes())
    raw[-30] ^= 0x01
    tampered.write_bytes(bytes(raw))
    before = snapshot(store_engine(b))
    refused = cli(b, "bundle", "import", str(tampered), ok=False).stderr
    assert "文件被改动或损坏" in refused
    assert snapshot(store_engine(b)) == before
    assert "新增" in cli(b, "bundle", "import", str(bundle)).stdout
    assert "已经导入过" in cli(b, "bundle", "import", str(bundle), ok=False).stderr


# --- the same row first written at several places (issue #12) ------------------------

def window_store(tmp_path, policy, window, workstation, role=Role.CLERK):
    """A workstation of the given window (window code + workstation id = the sync origin)."""
    import dataclasses
    store = open_store(tmp_path / f"{window}{workstation}.sqlite3")
    with store.unit(None, workstation, "setup") as s:
        site = ensure_site(s, dataclasses.replace(policy.site, window_code=window), workstation)
        clerk = create_clerk(s, f"u{window}{workstation}".lower(), "经办", "passw0rd!", role)
    return store, (clerk, site)


def three_stores(tmp_path, policy):
    """Two PCs of one window and a PC of another window."""
    return [window_store(tmp_path, policy, w, n, Role.SUPERVISOR) for w, n in (("SZ01", "1"), ("SZ01", "2"),
                                                                               ("SZ02", "1"))]


def assert_identical(central_url, *stores):
    """Scoped replication (#18): every synced column of every row a copy holds equals central's, and the
    PCs of one window are identical to each other (through db digest too). With ``central_url`` None,
    the stores are compared with each other in full."""
    from shebao_desk.sync.digest import canonical_rows, digest, SYNCED_TABLES
    engine = create_engine(central_url) if central_url else None
    try:
        copies = []
        for s in stores:
            with s.engine.connect() as conn:
                window = conn.scalar(text("SELECT window_code FROM site"))
                copies.append((window, {t.name: canonical_rows(conn, t) for t in SYNCED_TABLES}, digest(conn)))
        if engine is not None:
            with engine.connect() as conn:
                want = {t.name: canonical_rows(conn, t) for t in SYNCED_TABLES}
            for _, rows, _ in copies:
                for t in SYNCED_TABLES:
                    assert set(rows[t.name]) <= set(want[t.name]), t.name
        for (w1, rows1, dig1), (w2, rows2, dig2) in zip(copies, copies[1:], strict=False):
            if engine is None or w1 == w2:
                for t in SYNCED_TABLES:
                    assert rows1[t.name] == rows2[t.name], t.name
                assert dig1 == dig2
    finally:
        if engine:
            engine.dispose()


def sync_rounds(central_url, stores, rounds=2):
    for _ in range(rounds):
        for store in stores:
            sync(store, central_url)


def blank_phone(seq):
    import dataclasses
    return dataclasses.replace(applicant(seq), phone="", address="")


@needs_pg
def test_phone_typed_at_one_window_survives_a_later_registration_elsewhere(tmp_path, policy, central):
    (a1, _), (a2, cs2), (c1, cs3) = three_stores(tmp_path, policy)
    who = blank_phone(120)
    # A2 does not know the person: inserted with a blank phone, then the phone set.
    take(a2, policy, cs2, "info_change", who, changes={"phone": "13912345678"})
    # Later, no applicant's phone: an agent applies, and 申领 is reached through the agent's phone (issue 26).
    agent = AgentInput("张代办", make_id_number("611021", dt.date(1975, 1, 2), 33), "子女", "13900000000")
    take(c1, policy, cs3, "apply", who, mode=Mode.AGENT, agent=agent, now=MONDAY + dt.timedelta(hours=1))
    sync_rounds(central, [a1, a2, c1])
    assert_identical(central, a1, a2, c1)
    with c1.read() as s:
        assert find_person(s, who.id_number).phone == "13912345678"


@needs_pg
def test_an_older_incoming_insert_does_not_take_over_a_newer_local_one(tmp_path, policy, central):
    """The clock of a row first inserted here is its own insert's, not an older one just received."""
    (a1, cs1), (a2, cs2), (c1, cs3) = three_stores(tmp_path, policy)
    who = applicant(121)
    take(a2, policy, cs2, "info_change", who, changes={"name": "李秀兰"})
    sync(a2, central)
    take(c1, policy, cs3, "apply", who, now=MONDAY + dt.timedelta(hours=1))  # C1's insert is the newer write
    sync_rounds(central, [c1, a1, a2])
    assert_identical(central, a1, a2, c1)
    with a1.read() as s:
        assert find_person(s, who.id_number).name == who.name  # C1's later insert set the name last


@needs_pg
def test_cancellation_time_travels_with_a_person_new_to_both_windows(tmp_path, policy, central):
    (a1, _), (a2, cs2), (c1, cs3) = three_stores(tmp_path, policy)
    who = applicant(122)
    take(a2, policy, cs2, "cancel", who, mode=Mode.AGENT, reason="死亡")
    take(c1, policy, cs3, "info_change", who, changes={"address": "商洛市商州区工农路 3 号"},
         now=MONDAY + dt.timedelta(hours=1))
    sync_rounds(central, [a1, a2, c1])
    assert_identical(central, a1, a2, c1)
    for store in (a1, a2, c1):
        with store.read() as s:
            person = find_person(s, who.id_number)
            assert person.status.value == "cancelled" and person.cancelled_at is not None


def test_an_insert_carries_every_column(tmp_path, policy):
    from shebao_desk.models import Person, SyncChange
    (a1, cs1), = [window_store(tmp_path, policy, "SZ01", "1")]
    who = applicant(123)
    take(a1, policy, cs1, "apply", who)
    with a1.read() as s:
        person_id = find_person(s, who.id_number).id
        inserts = [c.values for c in s.scalars(select(SyncChange).where(SyncChange.row_id == person_id))
                   if "id" in c.values]
    assert set(inserts[0]) == {c.key for c in Person.__table__.columns}
    assert inserts[0]["cancelled_at"] is None and inserts[0]["photo"] is None


@pytest.mark.slow
@needs_pg
def test_a_clerk_relayed_by_two_windows_before_its_pc_ever_synced_arrives_whole(tmp_path, policy, central):
    """A2's bundle reaches A1 and C1 before A2 ever syncs. The first to push its relayed changes (A1) had
    the unregistered origin counted to its own window; C1's push was then taken for its own window's
    and C1 never received A2's clerk account: it kept the inactive name card the bundle made."""
    (a1, _), (a2, _), (c1, _) = three_stores(tmp_path, policy)
    for store in (a1, c1):
        pin(store, a2)
    bundle = export_bundle(a2, tmp_path / "a2.bundle").path
    for store in (a1, c1):
        import_bundle(store, bundle)
    sync_rounds(central, [a1, c1, a2])
    assert_identical(central, a1, a2, c1)
    with c1.read() as s:
        clerk = s.scalar(select(Clerk).where(Clerk.username == "usz012"))
        assert clerk.role is Role.SUPERVISOR and clerk.active


@needs_pg
def test_a_pc_whose_bundle_another_window_pushed_first_shares_its_work_with_its_own_window(tmp_path, policy,
                                                                                            central):
    """C1 pushes A2's changes (from A2's bundle) before A2 ever syncs: they were counted to C1's window,
    and A2's later push of the same changes, taken as its own, never reached A1."""
    from shebao_desk.services.attendance import sign_in
    (a1, _), (a2, cs2), (c1, _) = three_stores(tmp_path, policy)
    take(a2, policy, cs2, "apply", applicant(127))
    with a2.unit(cs2[0].id, "2", "sign in") as s:
        sign_in(s, cs2[0].id, "2", MONDAY)
    pin(c1, a2)
    import_bundle(c1, export_bundle(a2, tmp_path / "a2.bundle").path)
    sync(c1, central)
    sync_rounds(central, [a2, a1, c1])
    assert_identical(central, a1, a2, c1)
    with a1.read() as s:
        assert find_person(s, applicant(127).id_number) is not None


def test_an_audit_entry_is_logged_with_the_clock_of_the_change_it_records(tmp_path, policy):
    """db check replays the trail in the merge's order only if each entry sorts where its change does."""
    from shebao_desk.models import AuditEntry, SyncChange
    (a1, cs1), = [window_store(tmp_path, policy, "SZ01", "1")]
    issued(a1, policy, cs1, applicant(125))
    with a1.read() as s:
        changes = s.scalars(select(SyncChange)).all()
        entries = s.execute(select(AuditEntry.id, AuditEntry.table_name, AuditEntry.row_id)
                            .where(AuditEntry.table_name.in_(["person", "card", "case"]))).all()
    clocks = {(c.table_name, c.row_id, c.hlc) for c in changes}
    logged = {c.row_id: c.hlc for c in changes if c.table_name == "audit_entry"}
    assert len(entries) >= 5  # apply: person, card, case; collect: card, case
    for entry in entries:
        assert (entry.table_name, entry.row_id, logged[entry.id]) in clocks, entry


def _clock(store):
    return store.sessions.kw["info"]["capture"].clock


def _freeze(store, ms: int, counter: int) -> None:
    """This store's clock stands at (ms, counter): its next change gets counter + 1."""
    clock = _clock(store)
    clock._wall = lambda: ms
    clock._ms, clock._counter = ms, counter


def one_card_at_two_windows(tmp_path, policy):
    """A card issued at SZ011 and known at SZ021, and a millisecond ahead of both stores' clocks."""
    (a1, cs1), (c1, cs3) = window_store(tmp_path, policy, "SZ01", "1"), window_store(tmp_path, policy, "SZ02", "1")
    who = applicant(126)
    issued(a1, policy, cs1, who)
    with a1.read() as s:
        card_id = find_person(s, who.id_number).cards[0].id
    exchange(a1, c1, tmp_path, "1")
    return a1, cs1, c1, cs3, card_id, max(_clock(store)._ms for store in (a1, c1)) + 1000


def test_a_card_edited_at_two_windows_in_one_millisecond_replays_as_it_merged(tmp_path, policy):
    """Flushes of different sizes: at C the card's audit entry was once logged two ticks before its
    change, at A one tick; the trail then sorted A after C while the merge kept C's value, and
    db check called the merged card edited directly (seeds 1143 and 1148 of the long run)."""
    from shebao_desk.services.invariants import check_store
    from shebao_desk.models import Attendance, Card
    from shebao_desk.models.base import stable_uuid
    a1, cs1, c1, cs3, card_id, ms = one_card_at_two_windows(tmp_path, policy)
    # Before the fix: C logged the attendance's entry at 5, the card's at 6, the rows at 7 and 8; A the
    # card's entry at 7, its change at 8. The merge kept C's date (8-SZ021 after 8-SZ011), the replay A's.
    _freeze(a1, ms, 6)
    _freeze(c1, ms, 4)
    with a1.unit(cs1[0].id, "1", "fix issue date") as s:
        s.get(Card, card_id).issue_date = dt.date(2026, 3, 13)
    day = dt.date(2026, 3, 12)
    with c1.unit(cs3[0].id, "1", "fix issue date") as s:
        s.get(Card, card_id).issue_date = day  # read before the attendance is added: one flush for both
        s.add(Attendance(id=stable_uuid("attendance", f"{cs3[0].id}:{day}"), clerk_id=cs3[0].id, day=day,
                         sign_in_at=MONDAY, workstation="1"))
    exchange(a1, c1, tmp_path, "2")
    dates = set()
    for store in (a1, c1):
        with store.read() as s:
            assert check_store(s) == []
            dates.add(s.get(Card, card_id).issue_date)
    assert len(dates) == 1, dates


@pytest.mark.slow
@needs_pg
def test_cancelled_person_with_a_card_made_elsewhere_is_flagged_and_resolved_everywhere(tmp_path, policy, central):
    from shebao_desk.services.conflicts import list_conflicts, resolve_conflict
    from shebao_desk.services.invariants import check_store
    (a1, cs1), (a2, cs2), (c1, cs3) = three_stores(tmp_path, policy)
    who = applicant(124)
    take(a2, policy, cs2, "cancel", who, mode=Mode.AGENT, reason="死亡")
    take(c1, policy, cs3, "apply", who, now=MONDAY + dt.timedelta(hours=1))
    sync_rounds(central, [a1, a2, c1])
    assert_identical(central, a1, a2, c1)
    for store in (a1, a2, c1):
        with store.read() as s:
            findings = check_store(s)
            assert findings and all(f.open_conflict for f in findings), findings
            assert [c.kind for c in list_conflicts(s)] == ["cancelled_person_valid_card"]
    with a1.unit(cs1[0].id, "1", "resolve") as s:
        conflict = list_conflicts(s)[0]
        assert len(resolve_conflict(s, conflict.id, s.merge(cs1[0]))) == 1
    sync_rounds(central, [a1, a2, c1])
    assert_identical(central, a1, a2, c1)
    for store in (a1, a2, c1):
        with store.read() as s:
            assert check_store(s) == [] and list_conflicts(s) == []
            assert all(not c.status.valid for c in find_person(s, who.id_number).cards)


# --- through the CLI: db digest, db check, conflicts ------------------------------------

def run_cli(db, *args, central=None, ok=True, stdin=None):
    import subprocess
    import sys
    env = {**os.environ, **({"SHEBAO_CENTRAL": central} if central else {})}
    result = subprocess.run([sys.executable, "-m", "shebao_desk", *(["--db", str(db)] if db else []), *args],
                            env=env, capture_output=True, text=True, timeout=300, input=stdin, check=False)
    assert (result.returncode == 0) == ok, result.stdout + result.stderr
    return result


def cli_digest(db=None, central=None):
    args = ["db", "digest", "--json"] + (["--central", central] if central else [])
    return json.loads(run_cli(db, *args).stdout)["tables"]


@pytest.mark.slow
@needs_pg
def test_demo_clerk_made_at_three_workstations_is_one_row_everywhere(tmp_path, central):
    dbs = [tmp_path / f"{w}.sqlite3" for w in "ABC"]
    for db, w in zip(dbs, "ABC", strict=True):
        run_cli(db, "--workstation", w, "demo", "seed", "0")
    for db in dbs + dbs[:2]:  # the last to sync has everything; the first two then pull the rest
        run_cli(db, "sync", central=central)
    digests = [cli_digest(db) for db in dbs] + [cli_digest(central=central)]
    assert digests[0] == digests[1] == digests[2] == digests[3]
    assert digests[3]["clerk"]["rows"] == 1 and digests[3]["person"]["rows"] == 0


@pytest.mark.slow
@needs_pg
@pytest.mark.parametrize("first", ["A", "B"])
def test_same_person_registered_at_two_stores_ends_identical_whichever_syncs_first(tmp_path, policy, central,
                                                                                   first):
    import dataclasses
    stores = {name: window_store(tmp_path, policy, window, "1", Role.SUPERVISOR)
              for name, window in (("A", "SZ01"), ("B", "SZ02"))}
    who = applicant(130)
    (a, csa), (b, csb) = stores["A"], stores["B"]
    take(a, policy, csa, "apply", dataclasses.replace(who, phone="13900000001"))
    agent = AgentInput("张代办", make_id_number("611021", dt.date(1975, 1, 2), 33), "子女", "13900000000")
    take(b, policy, csb, "apply", dataclasses.replace(who, phone="", address="丹凤县 2 号"), mode=Mode.AGENT,
         agent=agent, now=MONDAY + dt.timedelta(minutes=20))  # no applicant's phone: the agent's (issue 26)
    paths = {name: store.path for name, (store, _) in stores.items()}
    for store, _ in stores.values():
        store.close()
    for name in (first, "B" if first == "A" else "A", first):
        run_cli(paths[name], "sync", central=central)
    # Two windows: each holds the person's rows (scoped replication keeps clerks, attendance and
    # their audit entries with their own window), and those must be identical everywhere.
    shared = ("person", "card", "case", "loss_report")
    digests = [{t: d[t] for t in shared} for d in (cli_digest(paths["A"]), cli_digest(paths["B"]),
                                                     cli_digest(central=central))]
    assert digests[0] == digests[1] == digests[2]
    assert digests[2]["person"]["rows"] == 1 and digests[2]["card"]["rows"] == 2
    engines = [store_engine(paths[n]) for n in "AB"] + [create_engine(central)]
    try:
        from shebao_desk.sync.digest import SYNCED_TABLES, canonical_rows
        rows = []
        for e in engines:
            with e.connect() as conn:
                rows.append({t.name: canonical_rows(conn, t) for t in SYNCED_TABLES if t.name in shared})
        assert rows[0] == rows[1] == rows[2]
        with engines[0].connect() as conn:
            phone, address = conn.execute(text("SELECT phone, address FROM person")).one()
        assert (phone, address) == ("13900000001", "丹凤县 2 号")  # nothing typed at either PC was lost
    finally:
        for e in engines:
            e.dispose()


@pytest.mark.slow
@needs_pg
def test_two_valid_cards_conflict_is_open_in_db_check_and_resolved_from_the_cli(tmp_path, policy, central):
    stores = {name: window_store(tmp_path, policy, window, "1", Role.SUPERVISOR)
              for name, window in (("A", "SZ01"), ("B", "SZ02"))}
    who = applicant(140)
    for i, (store, cs) in enumerate(stores.values()):
        take(store, policy, cs, "apply", who, now=MONDAY + dt.timedelta(minutes=i))
    paths = {name: store.path for name, (store, _) in stores.items()}
    for store, _ in stores.values():
        store.close()
    for name in "ABA":
        run_cli(paths[name], "sync", central=central)
    for name in "AB":
        out = run_cli(paths[name], "db", "check").stdout  # exit 0: an open conflict is not a broken rule
        assert "待处理冲突" in out and "1 处同步冲突待主管处理" in out
    listing = run_cli(paths["A"], "conflicts", "list").stdout
    assert "一人有两张有效卡" in listing
    conflict_id = listing.split()[0]
    keep = [line.split()[1] for line in listing.splitlines() if line.strip().startswith("卡 ")][0]
    refused = run_cli(paths["A"], "conflicts", "resolve", conflict_id, "--keep", keep, "--user", "usz011",
                      "--password-stdin", stdin="wrong\n", ok=False)
    assert "密码" in refused.stderr
    done = run_cli(paths["A"], "conflicts", "resolve", conflict_id, "--keep", keep, "--user", "usz011",
                   "--password-stdin", stdin="passw0rd!\n")
    assert "作废 1 张卡" in done.stdout
    for name in "AB":
        run_cli(paths[name], "sync", central=central)
    for name in "AB":
        assert "检查通过" in run_cli(paths[name], "db", "check").stdout
        assert "没有待处理的同步冲突" in run_cli(paths[name], "conflicts", "list").stdout
    shared = ("person", "card", "case", "loss_report", "sync_conflict")  # the windows' common rows (scoped)
    digests = [cli_digest(paths["A"]), cli_digest(paths["B"]), cli_digest(central=central)]
    assert [{t: d[t] for t in shared if t in d} for d in digests[:2]] == \
        [{t: digests[2][t] for t in shared if t in digests[2]}] * 2


def test_a_local_cancel_of_a_person_with_two_valid_cards_is_flagged_not_hidden(tmp_path, policy):
    from shebao_desk.services.conflicts import list_conflicts
    from shebao_desk.services.invariants import check_store
    (a, csa), (b, csb) = [window_store(tmp_path, policy, w, "1") for w in ("SZ01", "SZ02")]
    who = applicant(160)
    take(a, policy, csa, "apply", who)
    take(b, policy, csb, "apply", who, now=MONDAY + dt.timedelta(minutes=3))
    pin(a, b)
    import_bundle(a, export_bundle(b, tmp_path / "b1.bundle").path)
    with a.read() as s:
        assert [c.kind for c in list_conflicts(s)] == ["two_valid_cards"]
    take(a, policy, csa, "cancel", who, mode=Mode.AGENT, reason="死亡", now=MONDAY + dt.timedelta(days=1))
    with a.read() as s:  # one card voided by the cancel, one still valid: the open conflict says so
        assert [c.kind for c in list_conflicts(s)] == ["cancelled_person_valid_card"]
        findings = check_store(s)
        assert findings and all(f.open_conflict for f in findings)


@pytest.mark.slow  # runs the program in a subprocess
def test_db_digest_of_an_unreachable_central_is_one_plain_line(tmp_path):
    result = run_cli(tmp_path / "a.sqlite3", "db", "digest", "--central",
                     "postgresql+psycopg://nobody:x@127.0.0.1:1/none", ok=False)
    assert result.returncode == 2 and result.stderr.strip().splitlines() == ["错误：无法读取中心数据库"]


def test_db_digest_names_every_synced_table_and_changes_with_the_content(tmp_path, policy):
    (a, csa), = [window_store(tmp_path, policy, "SZ01", "1")]
    before = cli_digest(a.path)
    take(a, policy, csa, "info_change", applicant(170), changes={"phone": "13911112222"})
    after = cli_digest(a.path)
    assert set(after) == {t.name for t in Base.metadata.sorted_tables if t.name not in LOCAL_TABLES}
    assert after["person"]["rows"] == before["person"]["rows"] + 1 and after["clerk"] == before["clerk"]
    assert after["person"]["sha256"] != before["person"]["sha256"]
