"""The error contract of the command line: one Chinese line on stderr, exit 2, the traceback in the log."""

import os
import shutil
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
    assert cli(tmp_path, "--db", str(db), "setup", "--window", "SZ01", "--workstation", "A").returncode == 0
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


# --- messages that tell the truth (issue #24) -------------------------------------------

@pytest.mark.slow  # runs the program in a subprocess
@pytest.mark.parametrize("command", [("db", "check"), ("db", "stats"), ("sync", "--status"), ("bundle", "key"),
                                     ("admin", "unlock", "x"), ("db", "backup")])
def test_a_db_that_does_not_exist_is_refused_and_nothing_is_made(tmp_path, command):
    missing = tmp_path / "nonexistent" / "dir" / "x.db"
    line = one_line_exit_2(cli(tmp_path, "--db", str(missing), *command))
    assert "找不到数据库" in line and "setup" in line
    assert not (tmp_path / "nonexistent").exists()


@pytest.mark.slow  # runs the program in a subprocess
def test_a_corrupt_page_gives_one_line_with_the_restore_command(tmp_path):
    db = tmp_path / "s.sqlite3"
    assert cli(tmp_path, "--db", str(db), "--workstation", "A", "demo", "seed", "20").returncode == 0
    with open(db, "r+b") as f:  # the probe's damage: 200 bytes of one page flipped
        f.seek(20480)
        page = bytearray(f.read(200))
        f.seek(20480)
        f.write(bytes(b ^ 0x5A for b in page))
    result = cli(tmp_path, "--db", str(db), "db", "check")
    line = one_line_exit_2(result)  # no native "ERROR CORE sqlcipher…" line on the console
    assert "损坏" in line and "db restore" in line
    assert "sqlcipher" not in result.stdout + result.stderr
    native = list((tmp_path / "state").rglob("sqlcipher.log"))
    assert native and "hmac check failed" in native[0].read_text(encoding="utf-8")  # kept for the admin


@pytest.mark.slow  # runs the program in a subprocess
def test_output_cut_short_by_head_is_not_an_error(tmp_path):
    db = tmp_path / "s.sqlite3"
    assert cli(tmp_path, "--db", str(db), "--workstation", "A", "demo", "seed", "3").returncode == 0
    env = {**os.environ, "XDG_STATE_HOME": str(tmp_path / "state")}
    done = subprocess.run(f"{sys.executable} -m shebao_desk --db {db} db stats | head -1", shell=True,
                          capture_output=True, text=True, timeout=120, env=env, check=False)
    assert done.stdout.count("\n") == 1 and done.stderr == "", done.stderr


def _in_full_disk(tmp_path, script: str) -> subprocess.CompletedProcess:
    """``script`` (bash) in a private mount namespace where $FULL is a 1 MB tmpfs already filled."""
    if os.geteuid() != 0 or shutil.which("unshare") is None:
        pytest.skip("full-disk tests mount a tmpfs: they need root and unshare")
    full = tmp_path / "full"
    full.mkdir()
    env = {**os.environ, "XDG_STATE_HOME": str(tmp_path / "state"), "FULL": str(full), "PY": sys.executable}
    env.pop("SHEBAO_DB", None)
    wrapped = (f"mount -t tmpfs -o size=1m tmpfs {full} && (dd if=/dev/zero of={full}/filler bs=64k 2>/dev/null; true) "
               f"&& {script}")
    return subprocess.run(["unshare", "-m", "--propagation", "private", "bash", "-c", wrapped], capture_output=True,
                          text=True, timeout=300, env=env, check=False)


@pytest.mark.slow  # runs the program in a subprocess
def test_a_backup_to_a_full_disk_says_so_in_chinese(tmp_path):
    db = tmp_path / "s.sqlite3"
    assert cli(tmp_path, "--db", str(db), "--workstation", "A", "demo", "seed", "10").returncode == 0
    done = _in_full_disk(tmp_path, f'"$PY" -m shebao_desk --db {db} db backup "$FULL/b.sqlite3"')
    line = one_line_exit_2(done)
    assert "磁盘已满" in line and "备份失败" in line and "disk is full" not in line


@pytest.mark.slow  # runs the program in a subprocess
def test_an_import_on_a_full_local_disk_blames_the_disk(tmp_path):
    """The store itself on a full disk: the message names this PC's disk, not the network or the bundle."""
    done = _in_full_disk(tmp_path, 'rm "$FULL/filler"; '
                         '"$PY" -m shebao_desk --db "$FULL/s.sqlite3" --workstation A demo seed 400')
    line = one_line_exit_2(done)
    assert "磁盘已满" in line, line


@pytest.mark.slow  # runs the program in a subprocess
@pytest.mark.postgres
def test_a_sync_on_a_full_local_disk_blames_the_disk_not_central(tmp_path, central):
    """The probe: sync on a full local disk said 与中心数据库的连接中断. A's 150 people wait at central;
    B's store sits on a 2 MB disk, so B's pull fills it."""
    a = tmp_path / "a.sqlite3"
    assert cli(tmp_path, "--db", str(a), "setup", "--window", "SZ01", "--workstation", "A").returncode == 0
    assert cli(tmp_path, "--db", str(a), "demo", "seed", "150").returncode == 0
    assert cli(tmp_path, "--db", str(a), "sync", "--central", central).returncode == 0
    done = _in_full_disk(tmp_path, 'rm "$FULL/filler"; umount "$FULL"; mount -t tmpfs -o size=2m tmpfs "$FULL"; '
                         '"$PY" -m shebao_desk --db "$FULL/b.sqlite3" setup --window SZ01 --workstation B >/dev/null && '
                         f'"$PY" -m shebao_desk --db "$FULL/b.sqlite3" sync --central {central}')
    line = one_line_exit_2(done)
    assert "本机磁盘已满" in line and "中心" not in line.split("；")[0], line
