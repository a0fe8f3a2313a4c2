"""Identities by construction, against a real PostgreSQL and real files: set-up claims a workstation code
centrally, a duplicate is refused with the PC that holds it, and a restored store never reissues numbers."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys

import pytest
from sqlalchemy import create_engine, select, text

from shebao_desk.clock import now_utc
from shebao_desk.models import Clerk
from shebao_desk.store.site_identity import get_site
from shebao_desk.store.database import open_store

from conftest import applicant, needs_pg, on_central, take
from test_sync import snapshot, store_engine

pytestmark = [needs_pg, pytest.mark.slow]  # several stores and CLI restores, 30 s each


def cli(tmp_path, db, *args, ok=True):
    env = {**os.environ, "XDG_STATE_HOME": str(tmp_path / "state")}
    env.pop("SHEBAO_DB", None)
    env.pop("SHEBAO_CENTRAL", None)
    result = subprocess.run([sys.executable, "-m", "shebao_desk", "--db", str(db), *args], capture_output=True,
                            text=True, timeout=300, env=env, check=False)
    if ok is not None:
        assert (result.returncode == 0) == ok, result.stdout + result.stderr
    if not ok and ok is not None:
        assert result.returncode == 2 and len(result.stderr.strip().splitlines()) == 1, result.stderr
        assert "Traceback" not in result.stderr
    return result


def central_counts(url) -> dict[str, int]:
    def read(conn):
        out = {t: conn.scalar(text(f'SELECT count(*) FROM "{t}"'))
               for t in ("sync_change", "sync_workstation", "person", "case")}
        out["registrations"] = conn.execute(text("SELECT origin, store_id, incarnation FROM sync_workstation "
                                                 "ORDER BY origin")).all()
        return out
    return on_central(url, read)


def test_two_stores_converge_and_a_third_with_the_same_code_is_refused(tmp_path, central):
    a, b, c, d = (tmp_path / f"{n}.sqlite3" for n in "abcd")
    cli(tmp_path, a, "setup", "--window", "SZ01", "--workstation", "A", "--central", central)
    cli(tmp_path, b, "setup", "--window", "SZ01", "--workstation", "B", "--central", central)
    cli(tmp_path, a, "demo", "seed", "8")
    cli(tmp_path, b, "demo", "seed", "8")
    for db in (a, b, a):
        cli(tmp_path, db, "sync", "--central", central)
    engines = [store_engine(a), store_engine(b), create_engine(central)]
    snaps = [snapshot(e) for e in engines]
    for name in ("person", "card", "case"):
        assert snaps[0][name] == snaps[1][name] == snaps[2][name] and snaps[2][name]
    for e in engines:
        e.dispose()

    before = central_counts(central)
    refused = cli(tmp_path, c, "setup", "--window", "SZ01", "--workstation", "a", "--central", central, ok=False)
    assert "SZ01A" in refused.stderr and socket.gethostname() in refused.stderr
    assert central_counts(central) == before
    store = open_store(c)
    with store.read() as s:
        assert get_site(s) is None  # the local set-up was rolled back too
    store.close()

    # Set up without the central database, the clash is found at the first sync, before anything is written.
    cli(tmp_path, d, "setup", "--window", "SZ01", "--workstation", "B")
    cli(tmp_path, d, "demo", "seed", "3")
    refused = cli(tmp_path, d, "sync", "--central", central, ok=False)
    assert "SZ01B" in refused.stderr and "setup" in refused.stderr
    assert central_counts(central) == before


def add_cases(db, first: int, n: int) -> list[str]:
    """Cases accepted now (today's numbers) by the store's demo clerk, as the intake would."""
    from shebao_desk.config.policy import load_policy
    store = open_store(db)
    try:
        with store.read() as s:
            cs = (s.scalar(select(Clerk).where(Clerk.username == "demo")), get_site(s))
        return [take(store, load_policy(), cs, "apply", applicant(first + i), now=now_utc()).case.number
                for i in range(n)]
    finally:
        store.close()


def case_numbers(url) -> list[str]:
    return on_central(url, lambda conn: list(conn.scalars(text('SELECT number FROM "case"'))))


@pytest.mark.parametrize("how", ["db restore", "file copied back"])
def test_a_restored_store_never_issues_a_number_twice(tmp_path, central, how):
    a, b = tmp_path / "a.sqlite3", tmp_path / "b.sqlite3"
    cli(tmp_path, a, "setup", "--window", "SZ01", "--workstation", "A", "--central", central)
    cli(tmp_path, b, "setup", "--window", "SZ01", "--workstation", "B")
    cli(tmp_path, a, "demo", "seed", "3")
    cli(tmp_path, b, "demo", "seed", "1")
    key = cli(tmp_path, a, "bundle", "key").stdout.split()
    cli(tmp_path, b, "bundle", "trust", key[0], key[1])
    key = cli(tmp_path, b, "bundle", "key").stdout.split()
    cli(tmp_path, a, "bundle", "trust", key[0], key[1])
    backup = tmp_path / "a-backup.sqlite3"
    cli(tmp_path, a, "db", "backup", str(backup))

    lost = add_cases(a, 500, 4)  # issued after the backup, sent on both ways, then lost with the disk
    cli(tmp_path, a, "sync", "--central", central)
    cli(tmp_path, a, "bundle", "export", "--out", str(tmp_path / "a1.bundle"))
    cli(tmp_path, b, "bundle", "import", str(tmp_path / "a1.bundle"))

    if how == "db restore":
        cli(tmp_path, a, "db", "restore", str(backup))
    else:
        for suffix in ("", "-wal", "-shm"):
            (tmp_path / f"a.sqlite3{suffix}").unlink(missing_ok=True)
        shutil.copyfile(backup, a)
        # The store is older than the state the program recorded outside it (#24): reported, nothing sent.
        refused = cli(tmp_path, a, "sync", "--central", central, ok=False)
        assert "旧的副本" in refused.stderr and "db check" in refused.stderr
        cli(tmp_path, a, "db", "restore", str(backup))  # the admin makes the copy an audited restore:
        cli(tmp_path, a, "sync", "--central", central)  # a new incarnation, explained by its record (#25)
    again = add_cases(a, 600, 4)
    assert not set(again) & set(lost), (lost, again)
    synced = cli(tmp_path, a, "sync", "--central", central)
    assert "拒收" not in synced.stdout and "受阻" not in synced.stdout, synced.stdout
    numbers = case_numbers(central)
    assert len(numbers) == len(set(numbers)) and set(lost + again) <= set(numbers)

    exported = cli(tmp_path, a, "bundle", "export", "--out", str(tmp_path / "a2.bundle"))
    assert "第 1 号" in exported.stdout  # numbered afresh in the new incarnation ...
    cli(tmp_path, b, "bundle", "import", str(tmp_path / "a2.bundle"))  # ... and the receiver accepts it
    store = open_store(b)
    with store.read() as s:
        b_numbers = list(s.scalars(text('SELECT number FROM "case"')))
        assert set(again) <= set(b_numbers) and len(b_numbers) == len(set(b_numbers))
        assert s.scalar(text("SELECT count(*) FROM person WHERE id_number = :n"), {"n": applicant(600).id_number}) == 1
    store.close()


def clone(db, target):
    """A disk image of a PC's store on another PC: the file and its keys, as they were."""
    from contextlib import closing

    from shebao_desk.store.database import connect_file
    from shebao_desk.store.keystore import Keystore
    with closing(connect_file(db)) as conn:  # the WAL folded in first: the copy is the whole store
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(db, target)
    copy = Keystore(target)
    for name, value in Keystore(db).load().items():
        if name != "store":
            copy.put(name, value)


@pytest.mark.parametrize("first", ["genuine", "clone"])
def test_a_cloned_store_is_refused_by_name_and_the_genuine_pc_is_left_alone(tmp_path, central, first):
    """Probe F6: a copy of a synced store (same store id) on another PC, both working on. Whichever syncs
    first, the copy is refused with one line naming both places, central keeps nothing of it, and the
    genuine store keeps its incarnation and syncs on."""
    a = tmp_path / "pc1" / "a.sqlite3"
    copy = tmp_path / "pc2" / "a.sqlite3"
    a.parent.mkdir()
    cli(tmp_path, a, "setup", "--window", "SZ03", "--workstation", "A", "--central", central)
    cli(tmp_path, a, "demo", "seed", "3")
    cli(tmp_path, a, "sync", "--central", central)
    clone(a, copy)
    add_cases(a, 800, 2)
    add_cases(copy, 900, 2)
    order = [a, copy] if first == "genuine" else [copy, a]
    results = {db: cli(tmp_path, db, "sync", "--central", central, ok=None) for db in order}
    assert results[a].returncode == 0, results[a].stderr
    assert "新的编号段" not in results[a].stdout
    refused = results[copy]
    assert refused.returncode == 2 and len(refused.stderr.strip().splitlines()) == 1, refused.stderr
    assert "拷贝" in refused.stderr and str(a) in refused.stderr and str(copy) in refused.stderr
    before = central_counts(central)
    assert [r[2] for r in before["registrations"]] == [0]  # the genuine PC was not moved to a new incarnation
    assert cli(tmp_path, copy, "sync", "--central", central, ok=False).returncode == 2
    assert central_counts(central) == before
    again = cli(tmp_path, a, "sync", "--central", central)
    assert "新的编号段" not in again.stdout and "拒收" not in again.stdout
