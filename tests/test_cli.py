"""The admin command line, run as a clerk's admin would: a real process, a real store."""

import os
import subprocess
import sys

import pytest
from sqlalchemy import func, select

from shebao_desk.config.catalogue import BUSINESS_CODES
from shebao_desk.models import Case
from shebao_desk.store.database import connect_file, open_store

pytestmark = pytest.mark.slow  # every test runs the program as a subprocess


def cli(*args, db=None, stdin=None, env_extra=None):
    env = dict(os.environ)
    env.pop("SHEBAO_DB", None)
    env.update(env_extra or {})
    cmd = [sys.executable, "-m", "shebao_desk"] + (["--db", str(db)] if db else []) + list(args)
    return subprocess.run(cmd, input=stdin, capture_output=True, text=True, timeout=120, env=env, check=False)


@pytest.mark.slow  # runs the program in a subprocess
def test_calendar_workdays_2026_lists_every_working_day():
    result = cli("calendar", "workdays", "2026")
    days = result.stdout.split()
    assert result.returncode == 0 and len(days) == 248
    assert "2026-10-10" in days and "2026-10-01" not in days and days[0] == "2026-01-04"


@pytest.mark.slow  # runs the program in a subprocess
def test_calendar_due_skips_national_day():
    result = cli("calendar", "due", "2026-09-28", "7")
    assert result.returncode == 0 and result.stdout.strip() == "2026-10-13"


@pytest.mark.slow  # runs the program in a subprocess
def test_calendar_due_into_an_unpublished_year_is_provisional():
    result = cli("calendar", "due", "2026-12-23", "7")
    words = result.stdout.split()
    assert result.returncode == 0 and words[0] == "2027-01-04" and words[1].startswith("预计")
    before = cli("calendar", "due", "2007-12-20", "7")  # before the laws the provisional calendar knows
    assert before.returncode == 2 and "2007" in before.stderr


@pytest.mark.slow  # runs the program in a subprocess
def test_admin_create_user_from_stdin(tmp_path):
    db = tmp_path / "s.sqlite3"
    assert cli("setup", "--window", "SZ01", "--workstation", "A", db=db).returncode == 0
    first = cli("admin", "create-user", "--username", "boss", "--name", "管理员", "--role", "admin",
                "--password-stdin", db=db, stdin="adm1nPass\n")
    assert first.returncode == 0, first.stderr  # the first admin of an empty store needs nobody's word
    result = cli("admin", "create-user", "--username", "li", "--name", "李主管", "--role", "supervisor",
                 "--password-stdin", "--admin", "boss", "--admin-password-stdin", db=db, stdin="adm1nPass\nzhu-guan-88\n")
    assert result.returncode == 0, result.stderr
    assert "李主管" in result.stdout
    dup = cli("admin", "create-user", "--username", "li", "--name", "x", "--password-stdin", "--admin", "boss",
              "--admin-password-stdin", db=db, stdin="adm1nPass\nzhu-guan-88\n")
    assert dup.returncode != 0 and "已存在" in dup.stderr


@pytest.mark.slow  # runs the program in a subprocess
def test_seed_then_check_is_clean_and_covers_every_business(tmp_path):
    db = tmp_path / "s.sqlite3"
    assert cli("demo", "seed", "30", db=db).returncode == 0
    store = open_store(db)
    with store.read() as s:
        kinds = set(s.scalars(select(Case.business).distinct()))
        assert s.scalar(select(func.count()).select_from(Case)) >= 30
    assert kinds == set(BUSINESS_CODES)  # the new ones of issue 27 too
    result = cli("db", "check", db=db)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.slow  # runs the program in a subprocess
def test_check_names_a_person_with_two_valid_cards(tmp_path):
    db = tmp_path / "s.sqlite3"
    cli("demo", "seed", "10", db=db)
    with connect_file(db) as conn:  # break the invariant behind the program's back
        person_id, = conn.execute("select person_id from card where status='normal' limit 1").fetchone()
        conn.execute("update card set status='normal' where person_id=? and status!='normal'", (person_id,))
        if conn.execute("select count(*) from card where person_id=? and status='normal'", (person_id,)).fetchone()[0] < 2:
            conn.execute("insert into card (id, person_id, card_number, card_id, generation, status, void_reason, created_at, updated_at)"
                         " values ('00000000-0000-0000-0000-000000000001', ?, 'A00000001', '', 3, 'normal', '', '2026-03-09 00:00:00', '2026-03-09 00:00:00')",
                         (person_id,))
    result = cli("db", "check", db=db)
    assert result.returncode == 1
    assert "one_valid_card" in result.stdout and "2 张有效卡" in result.stdout


def test_backup_and_restore_commands(tmp_path):
    db = tmp_path / "s.sqlite3"
    cli("demo", "seed", "3", db=db)
    out = tmp_path / "backup.sqlite3"
    assert cli("db", "backup", str(out), db=db).returncode == 0
    assert out.exists()
    cli("demo", "seed", "3", db=db)
    result = cli("db", "restore", str(out), db=db)
    assert result.returncode == 0 and "原数据库另存为" in result.stdout
    with connect_file(db) as conn:
        assert conn.execute("select count(*) from person").fetchone()[0] == 3


@pytest.mark.slow  # runs the program in a subprocess
def test_db_option_and_env_var_choose_the_store(tmp_path):
    env_db = tmp_path / "env.sqlite3"
    result = cli("setup", "--window", "SZ01", "--workstation", "A", env_extra={"SHEBAO_DB": str(env_db)})
    assert result.returncode == 0 and env_db.exists()
