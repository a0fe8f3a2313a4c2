"""Encrypted at rest: after seeding 200 people no ID number or name is readable in the store, its WAL or a backup."""

from __future__ import annotations

import stat

import pytest

from shebao_desk.store.backup import backup, restore
from shebao_desk.services.demo import seed
from shebao_desk.store.keystore import Keystore, recovery_text
from shebao_desk.store.database import connect_file, open_store, store_files


@pytest.mark.slow
def test_no_id_number_or_name_in_store_wal_or_backup(tmp_path, policy):
    store = open_store(tmp_path / "s.sqlite3")
    seed(store, policy, 200, workstation="A")
    with connect_file(store.path) as conn:
        people = conn.execute("select id_number, name, phone from person").fetchall()
    assert len(people) >= 200
    out = backup(store.path, tmp_path / "b.sqlite3")
    wal = store_files(store.path)[1]
    assert wal.exists() and wal.stat().st_size > 0  # the WAL is looked at while it holds pages
    files = {f: f.read_bytes() for f in (store.path, wal, out)}
    store.close()
    for path, data in files.items():
        leaks = [n for n, name, _ in people if n.encode() in data or name.encode() in data]
        assert leaks == [], f"{path.name}: {len(leaks)} people readable"
        assert b"SQLite format 3" not in data[:16]


def test_backup_restores_on_another_pc_only_with_the_recovery_key(tmp_path, policy, monkeypatch):
    store = open_store(tmp_path / "s.sqlite3")
    seed(store, policy, 3, workstation="A")
    out = backup(store.path, tmp_path / "b.sqlite3")
    recovery = recovery_text(Keystore(store.path).db_key(create=False))
    store.close()
    monkeypatch.setenv("SHEBAO_KEYS", str(tmp_path / "other-pc-keys"))  # a PC that never saw this store
    other = tmp_path / "other.sqlite3"
    from shebao_desk.errors import StoreError
    from shebao_desk.store.keystore import parse_recovery
    try:
        restore(other, out)
        raise AssertionError("restored without a key")
    except StoreError as exc:
        assert "--recovery-key" in exc.message
    restore(other, out, parse_recovery(recovery))
    reopened = open_store(other)
    with connect_file(other) as conn:
        assert conn.execute("select count(*) from person").fetchone()[0] == 3
    reopened.close()
    assert stat.S_IMODE(other.stat().st_mode) == 0o600


def test_a_plain_store_from_before_is_encrypted_in_place(tmp_path, policy):
    path = tmp_path / "old.sqlite3"
    plain = open_store(path, encrypt=False)
    seed(plain, policy, 3, workstation="A")
    plain.close()
    with connect_file(path) as conn:
        number = conn.execute("select id_number from person").fetchone()[0]
    assert number.encode() in path.read_bytes()
    store = open_store(path)
    store.close()
    assert number.encode() not in path.read_bytes()
    with connect_file(path) as conn:
        assert conn.execute("select count(*) from person").fetchone()[0] == 3
