"""Owner-only files: every file the program creates with personal data is 0600, its folders 0700."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

pytestmark = pytest.mark.skipif(os.name != "posix", reason="POSIX modes; Windows relies on per-user folders")


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def run(home: Path, *args: str, stdin: str = "") -> subprocess.CompletedProcess:
    """The real command, with a permissive umask as a desktop session may have."""
    env = {**os.environ, "HOME": str(home), "XDG_DATA_HOME": str(home / "data"),
           "XDG_STATE_HOME": str(home / "state"), "XDG_CACHE_HOME": str(home / "cache")}
    env.pop("SHEBAO_DB", None)
    return subprocess.run([sys.executable, "-c", "import os, sys; os.umask(0o022); "
                           "from shebao_desk.commands.cli import main; sys.exit(main(sys.argv[1:]))", *args],
                          input=stdin, capture_output=True, text=True, env=env, timeout=300, check=False)


@pytest.mark.slow  # runs the program in a subprocess
def test_store_wal_backup_log_bundle_all_owner_only(tmp_path):
    home = tmp_path / "home"
    done = run(home, "demo", "seed", "5")
    assert done.returncode == 0, done.stderr
    assert run(home, "db", "backup").returncode == 0
    out = tmp_path / "usb" / "b.json"
    peer = Ed25519PrivateKey.generate().public_key().public_bytes_raw().hex()
    assert run(home, "bundle", "trust", "SZ99Z", peer).returncode == 0  # a receiver to seal for
    done = run(home, "bundle", "export", "--out", str(out))
    assert done.returncode == 0, done.stderr
    created = [p for p in home.rglob("*")] + [out]
    files = [p for p in created if p.is_file()]
    names = {p.name for p in files}
    assert "shebao.sqlite3" in names and any(n.endswith(".log") for n in names)
    assert any(p.parent.name == "backups" for p in files)
    assert {p: oct(mode(p)) for p in files if mode(p) != 0o600} == {}
    dirs = [p for p in created if p.is_dir() and "shebao-desk" in str(p)]
    assert dirs and {p: oct(mode(p)) for p in dirs if mode(p) != 0o700} == {}


def test_an_old_world_readable_store_is_tightened_on_open(tmp_path):
    from shebao_desk.store.database import open_store, store_files
    path = tmp_path / "old.sqlite3"
    open_store(path).close()
    for f in store_files(path):
        if f.exists():
            os.chmod(f, 0o644)
    store = open_store(path)
    with store.read() as s:
        s.execute(__import__("sqlalchemy").text("SELECT 1"))
    assert all(mode(f) == 0o600 for f in store_files(path) if f.exists())
    store.close()


def test_backup_restore_files_are_owner_only_even_with_a_loose_umask(tmp_path, store, clerk_and_site):
    from shebao_desk.store.backup import backup, restore
    old = os.umask(0o022)
    try:
        out = backup(store.path, tmp_path / "copies" / "b.sqlite3")
        kept = restore(store.path, out)
    finally:
        os.umask(old)
    assert mode(out) == 0o600 and mode(kept) == 0o600 and mode(store.path) == 0o600
    assert mode(out.parent) == 0o700
