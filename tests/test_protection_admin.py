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
