"""The error contract of the command line: one Chinese line on stderr, exit 2, the traceback in the log."""

import os
import sqlite3
import subprocess
import sys

import pytest

from shebao_desk.store.database import connect_file


def cli(tmp_path, *args):
    env = {**os.environ, "XDG_STATE_HOME": str(tmp_path / "state"), "XDG_DATA_HOME": str(tmp_path / "data")}
    env.pop("SHEBAO_DB", None)
    return subprocess.run([sys.executable, "-m", "shebao_desk", *args], capture_output=True, text=True,
                          timeout=120, env=env, check=False)


def one_line_exit_2(result):
    assert result.returncode == 2, result.stdout + result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("错误："), result.stderr
    assert "Traceback" not in result.stdout + result.stderr
    return lines[0]


def log_text(tmp_path) -> str:
    logs = list((tmp_path / "state").rglob("shebao-desk.log"))
    return logs[0].read_text(encoding="utf-8") if logs else ""


@pytest.mark.slow  # runs the program in a subprocess
def test_not_a_database(tmp_path):
    bad = tmp_path / "bad.sqlite3"
    bad.write_bytes(b"this is not a database at all " * 200)
    line = one_line_exit_2(cli(tmp_path, "--db", str(bad), "db", "check"))
    assert "损坏" in line and "db restore" in line
    assert str(bad) in log_text(tmp_path)  # the exact reason is kept for the admin


@pytest.mark.slow  # runs the program in a subprocess
def test_a_store_from_a_newer_program(tmp_path):
    db = tmp_path / "s.sqlite3"
    assert cli(tmp_path, "--db", str(db), "db", "upgrade").returncode == 0
    with connect_file(db) as conn:
        conn.execute("UPDATE alembic_version SET version_num = '9999'")
    line = one_line_exit_2(cli(tmp_path, "--db", str(db), "db", "check"))
    assert "更新版本" in line


@pytest.mark.slow  # runs the program in a subprocess
def test_a_truncated_store(tmp_path):
    db = tmp_path / "s.sqlite3"
    assert cli(tmp_path, "--db", str(db), "--workstation", "A", "demo", "seed", "3").returncode == 0
    with open(db, "r+b") as f:
        f.truncate(8192)
    one_line_exit_2(cli(tmp_path, "--db", str(db), "db", "check"))


@pytest.mark.slow  # runs the program in a subprocess
def test_unreachable_central_and_bad_arguments(tmp_path):
    db = tmp_path / "s.sqlite3"
    line = one_line_exit_2(cli(tmp_path, "--db", str(db), "sync", "--central",
                               "postgresql+psycopg://u:secret@127.0.0.1:1/nowhere"))
    assert "secret" not in line
    one_line_exit_2(cli(tmp_path, "--db", str(db), "no-such-command"))
    one_line_exit_2(cli(tmp_path, "--db", str(db), "--log-level", "LOUD", "db", "check"))
    assert "secret" not in log_text(tmp_path)


@pytest.mark.parametrize("error, expected", [
    (OSError(28, "No space left on device"), "磁盘已满"),
    (sqlite3.DatabaseError("database disk image is malformed"), "损坏"),
    (RuntimeError("boom"), "意外错误"),
])
def test_explain_gives_one_plain_line(error, expected):
    from shebao_desk.failure import explain
    text = explain(error)
    assert expected in text and "\n" not in text


def test_ids_and_passwords_are_masked_in_traces():
    from shebao_desk.failure import trace_text
    try:
        raise ValueError("611002198005170017 postgresql+psycopg://shebao:Hunter2@10.0.0.5/db")
    except ValueError as exc:
        text = trace_text(exc)
    assert "611002198005170017" not in text and "Hunter2" not in text
