"""Admin actions need an admin: create-user, unlock, restore; audited under that admin; exit 2 without."""

from __future__ import annotations

import json
import os

import pytest

from shebao_desk.store.database import connect_file
import subprocess
import sys


def cli(*args, db=None, stdin=None):
    env = dict(os.environ)
    env.pop("SHEBAO_DB", None)
    cmd = [sys.executable, "-m", "shebao_desk"] + (["--db", str(db)] if db else []) + list(args)
    return subprocess.run(cmd, input=stdin, capture_output=True, text=True, timeout=120, env=env, check=False)


def _first_admin(db):
    if not db.exists():
        assert cli("setup", "--window", "SZ01", "--workstation", "A", db=db).returncode == 0
    done = cli("admin", "create-user", "--username", "boss", "--name", "管理员", "--role", "admin",
               "--password-stdin", db=db, stdin="adm1nPass\n")
    assert done.returncode == 0, done.stderr


@pytest.mark.slow
def test_create_user_without_admin_credentials_exits_2(tmp_path):
    db = tmp_path / "s.sqlite3"
    _first_admin(db)
    for role in ("admin", "clerk"):
        done = cli("admin", "create-user", "--username", "evil", "--name", "x", "--role", role,
                   "--password-stdin", db=db, stdin="abc12345\n")
        assert done.returncode == 2 and "管理员" in done.stderr and "Traceback" not in done.stderr
    wrong = cli("admin", "create-user", "--username", "evil", "--name", "x", "--role", "admin", "--password-stdin",
                "--admin", "boss", "--admin-password-stdin", db=db, stdin="guess1234\nabc12345\n")
    assert wrong.returncode == 2 and "身份验证失败" in wrong.stderr
    with connect_file(db) as conn:
        assert conn.execute("select count(*) from clerk where username='evil'").fetchone()[0] == 0


@pytest.mark.slow
def test_a_clerk_is_not_an_admin(tmp_path):
    db = tmp_path / "s.sqlite3"
    _first_admin(db)
    assert cli("admin", "create-user", "--username", "wang", "--name", "王", "--password-stdin", "--admin", "boss",
               "--admin-password-stdin", db=db, stdin="adm1nPass\nclerk1234\n").returncode == 0
    done = cli("admin", "create-user", "--username", "evil", "--name", "x", "--role", "admin", "--password-stdin",
               "--admin", "wang", "--admin-password-stdin", db=db, stdin="clerk1234\nabc12345\n")
    assert done.returncode == 2 and "需要管理员" in done.stderr


@pytest.mark.slow
def test_unlock_needs_an_admin_and_is_audited_with_them(tmp_path):
    db = tmp_path / "s.sqlite3"
    _first_admin(db)
    cli("admin", "create-user", "--username", "wang", "--name", "王", "--password-stdin", "--admin", "boss",
        "--admin-password-stdin", db=db, stdin="adm1nPass\nclerk1234\n")
    with connect_file(db) as conn:
        conn.execute("update clerk set failed_logins=2 where username='wang'")
    assert cli("admin", "unlock", "wang", db=db).returncode == 2
    done = cli("admin", "unlock", "wang", "--admin", "boss", "--admin-password-stdin", db=db, stdin="adm1nPass\n")
    assert done.returncode == 0, done.stderr
    with connect_file(db) as conn:
        who = conn.execute("select c.username from audit_entry a join clerk c on c.id = a.clerk_id "
                           "where a.action like 'admin unlock%'").fetchall()
        made = conn.execute("select c.username from audit_entry a join clerk c on c.id = a.clerk_id "
                            "where a.action like 'admin create-user%' and a.table_name='clerk'").fetchall()
    assert who == [("boss",)] and ("boss",) in made


@pytest.mark.slow
def test_restore_needs_an_admin_of_the_store(tmp_path):
    db = tmp_path / "s.sqlite3"
    _first_admin(db)
    out = tmp_path / "b.sqlite3"
    assert cli("db", "backup", str(out), db=db).returncode == 0
    assert cli("db", "restore", str(out), db=db).returncode == 2
    done = cli("db", "restore", str(out), "--admin", "boss", "--admin-password-stdin", db=db, stdin="adm1nPass\n")
    assert done.returncode == 0, done.stderr
    with connect_file(db) as conn:
        rows = conn.execute("select c.username, a.after from audit_entry a join clerk c on c.id = a.clerk_id "
                            "where a.action = 'db restore'").fetchall()
    assert rows and rows[0][0] == "boss" and json.loads(rows[0][1])["from"] == str(out)


@pytest.mark.slow  # runs the program in a subprocess
def test_db_stats_json_counts_rows_per_table(tmp_path):
    db = tmp_path / "s.sqlite3"
    assert cli("demo", "seed", "4", db=db).returncode == 0
    done = cli("db", "stats", "--json", db=db)
    assert done.returncode == 0, done.stderr
    counts = json.loads(done.stdout)
    with connect_file(db) as conn:
        assert counts["person"] == conn.execute("select count(*) from person").fetchone()[0] >= 4
        assert counts["audit_entry"] == conn.execute("select count(*) from audit_entry").fetchone()[0]
    assert "alembic_version" not in counts


def _byte_identical(db):
    import hashlib
    with connect_file(db) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return hashlib.sha256(db.read_bytes()).hexdigest()


def _refused(db, *args, stdin=None, words=()):
    before = _byte_identical(db)
    done = cli(*args, db=db, stdin=stdin)
    assert done.returncode == 2, done.stdout + done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in done.stderr, done.stderr
    for word in words:
        assert word in lines[0], lines[0]
    assert _byte_identical(db) == before
    return lines[0]


def _key_code(db):
    return cli("bundle", "key", db=db).stdout.splitlines()[1].split("：", 1)[1]


@pytest.mark.slow
def test_bundle_trust_needs_an_admin_once_there_is_one_and_a_repin_needs_replace(tmp_path):
    """The probe re-pinned a known site to an attacker's key with no password and no audit entry."""
    db, peer, evil = tmp_path / "s.sqlite3", tmp_path / "p.sqlite3", tmp_path / "e.sqlite3"
    for path, w in ((peer, "B"), (evil, "C")):
        assert cli("setup", "--window", "SZ02", "--workstation", w, db=path).returncode == 0
    _first_admin(db)
    _refused(db, "bundle", "trust", "SZ02B", _key_code(peer), words=("管理员",))
    assert cli("bundle", "trust", "SZ02B", _key_code(peer), "--admin", "boss", "--admin-password-stdin",
               db=db, stdin="adm1nPass\n").returncode == 0
    _refused(db, "bundle", "trust", "SZ02B", _key_code(evil), "--admin", "boss", "--admin-password-stdin",
             stdin="adm1nPass\n", words=("--replace",))
    _refused(db, "bundle", "trust", "SZ02B", _key_code(evil), "--replace", words=("管理员",))
    done = cli("bundle", "trust", "SZ02B", _key_code(evil), "--replace", "--admin", "boss", "--admin-password-stdin",
               db=db, stdin="adm1nPass\n")
    assert done.returncode == 0 and "审计" in done.stdout, done.stderr
    with connect_file(db) as conn:
        pins = conn.execute("select c.username, json_extract(a.after, '$.pin') from audit_entry a "
                            "join clerk c on c.id = a.clerk_id where a.action = 'bundle trust' order by a.at").fetchall()
        travels = conn.execute("select count(*) from sync_change s join audit_entry a on a.id = s.row_id "
                               "where a.action = 'bundle trust'").fetchone()[0]
    assert pins == [("boss", "new"), ("boss", "replace")] and travels == 2  # audited, and in the change log


@pytest.mark.slow
def test_a_typo_in_a_key_code_is_refused_before_any_password(tmp_path):
    db, peer = tmp_path / "s.sqlite3", tmp_path / "p.sqlite3"
    assert cli("setup", "--window", "SZ02", "--workstation", "B", db=peer).returncode == 0
    _first_admin(db)
    code = _key_code(peer).split()
    code[3] = f"{(int(code[3]) + 1) % 100000:05d}"
    _refused(db, "bundle", "trust", "SZ02B", *code, words=("校验不符",))


@pytest.mark.slow
def test_calendar_import_notice_into_the_store_needs_an_admin(tmp_path):
    from pathlib import Path
    notice = Path(__file__).parent / "fixtures" / "notices" / "2026.txt"
    db = tmp_path / "s.sqlite3"
    _first_admin(db)
    _refused(db, "calendar", "import-notice", str(notice), "--store", words=("管理员",))
    done = cli("calendar", "import-notice", str(notice), "--store", "--admin", "boss", "--admin-password-stdin",
               db=db, stdin="adm1nPass\n")
    assert done.returncode == 0, done.stderr


@pytest.mark.slow
def test_a_locked_admin_gets_in_with_the_recovery_key_and_nobody_learns_who_exists(tmp_path):
    """Anyone at the PC could lock the only admin out for 15 minutes; the fifth try told them the account existed."""
    db = tmp_path / "s.sqlite3"
    _first_admin(db)
    answers = {who: [cli("admin", "unlock", "x", "--admin", who, "--admin-password-stdin", db=db,
                         stdin="wrong-pass-1\n").stderr.strip() for _ in range(6)] for who in ("boss", "ghost")}
    assert set(answers["boss"]) == set(answers["ghost"]) and len(set(answers["boss"])) == 1
    locked = cli("admin", "unlock", "boss", "--admin", "boss", "--admin-password-stdin", db=db, stdin="adm1nPass\n")
    assert locked.returncode == 2  # the lock holds against the right password too
    recovery = cli("db", "recovery-key", "--admin-recovery", "--admin-password-stdin", db=db, stdin="nope\n")
    assert recovery.returncode == 2 and "恢复密钥不对" in recovery.stderr
    from shebao_desk.store.keystore import Keystore, recovery_text
    key = recovery_text(Keystore(db).db_key(create=False))  # the printout in the safe
    done = cli("admin", "unlock", "boss", "--admin-recovery", "--admin-password-stdin", db=db, stdin=key + "\n")
    assert done.returncode == 0, done.stderr
    assert cli("db", "recovery-key", "--admin", "boss", "--admin-password-stdin", db=db,
               stdin="adm1nPass\n").returncode == 0
    with connect_file(db) as conn:
        actions = {r[0] for r in conn.execute("select action from audit_entry")}
    assert "admin unlock (recovery key):update" in actions
