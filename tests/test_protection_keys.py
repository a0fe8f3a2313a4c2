"""The keystore: owner-only key files outside the store; the signing key never in the store, backups or bundles."""

from __future__ import annotations

import os
import stat

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from shebao_desk.store.backup import backup
from shebao_desk.store.keystore import Keystore, keys_dir, parse_recovery, recovery_text
from shebao_desk.store.database import open_store, connect_file
from shebao_desk.sync.bundle import export_bundle, own_key, trust


def test_signing_key_lives_in_an_owner_only_key_file_not_in_the_store(store, clerk_and_site, tmp_path):
    _, public = own_key(store)
    held = Keystore(store.path).get("signing_key")
    assert held and len(held) == 64
    with connect_file(store.path) as conn:
        assert conn.execute("select count(*) from sync_state where key='signing_key'").fetchone()[0] == 0
    files = list(keys_dir().iterdir())
    assert files and all(stat.S_IMODE(f.stat().st_mode) == 0o600 for f in files)
    assert stat.S_IMODE(keys_dir().stat().st_mode) == 0o700
    assert keys_dir() not in store.path.parents
    trust(store, "SZ99Z", Ed25519PrivateKey.generate().public_key().public_bytes_raw().hex())  # a receiver to seal for
    out = export_bundle(store, tmp_path / "b.json")
    copy = backup(store.path, tmp_path / "copy.sqlite3")
    for f in (out.path, copy, store.path):
        assert held.encode() not in f.read_bytes() and bytes.fromhex(held) not in f.read_bytes()
    assert own_key(store)[1] == public  # the same key next time


def test_a_key_left_in_an_old_store_moves_out_at_open(store, clerk_and_site):
    legacy = "11" * 32
    with connect_file(store.path) as conn:
        conn.execute("insert into sync_state (key, value) values ('signing_key', ?)", (legacy,))
    store.close()
    open_store(store.path).close()
    with connect_file(store.path) as conn:
        assert conn.execute("select count(*) from sync_state where key='signing_key'").fetchone()[0] == 0
    assert Keystore(store.path).get("signing_key") == legacy


def test_recovery_key_round_trip():
    key = os.urandom(32)
    text = recovery_text(key)
    assert len(text.split("-")) == 13
    assert parse_recovery(text.lower().replace("-", " ")) == key
