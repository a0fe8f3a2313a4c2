"""Every write the program makes reaches the change log (issue 25, item 1).

Each test makes the store write through one path and then checks the store against its change
log (tests/change_log_check.py): a row or field the log does not explain never leaves the PC.
"""

from __future__ import annotations

import io
import sys
from pathlib import Path

import pytest
from sqlalchemy import select

from shebao_desk.commands.cli import main
from shebao_desk.models import AuditEntry, SyncChange
from shebao_desk.store.database import open_store

from change_log_check import unexplained

PASSWORD = "passw0rd!x"


def run(db: Path, *args: str, stdin: str = "", monkeypatch: pytest.MonkeyPatch) -> int:
    monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
    return main(["--db", str(db), *args])


def audit_not_logged(db: Path) -> list[tuple[str, str]]:
    store = open_store(db)
    try:
        with store.read() as s:
            logged = select(SyncChange.row_id).where(SyncChange.table_name == "audit_entry")
            return [(a.action, a.table_name) for a in s.scalars(select(AuditEntry).where(AuditEntry.id.not_in(logged)))]
    finally:
        store.close()


def explained(db: Path) -> list[str]:
    store = open_store(db)
    try:
        with store.engine.connect() as conn:
            return unexplained(conn)
    finally:
        store.close()


@pytest.fixture
def site_db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    db = tmp_path / "a.sqlite3"
    assert run(db, "setup", "--window", "SZ01", "--workstation", "1", monkeypatch=monkeypatch) == 0
    assert run(db, "admin", "create-user", "--username", "adm", "--name", "管理员", "--role", "admin",
               "--password-stdin", stdin=PASSWORD + "\n", monkeypatch=monkeypatch) == 0
    return db


def test_the_audit_entry_of_a_restore_is_in_the_change_log(site_db: Path, tmp_path: Path,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    backup = tmp_path / "backup.sqlite3"
    assert run(site_db, "db", "backup", str(backup), monkeypatch=monkeypatch) == 0
    assert run(site_db, "db", "restore", str(backup), "--admin", "adm", "--admin-password-stdin",
               stdin=PASSWORD + "\n", monkeypatch=monkeypatch) == 0
    assert audit_not_logged(site_db) == []
    assert explained(site_db) == []


def test_the_audit_entry_of_a_shown_recovery_key_is_in_the_change_log(site_db: Path,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    assert run(site_db, "db", "recovery-key", "--admin", "adm", "--admin-password-stdin", stdin=PASSWORD + "\n",
               monkeypatch=monkeypatch) == 0
    assert audit_not_logged(site_db) == []
    assert explained(site_db) == []


def test_an_admin_command_audits_in_the_sites_own_workstation(site_db: Path) -> None:
    store = open_store(site_db)
    try:
        with store.read() as s:
            assert {a.workstation for a in s.scalars(select(AuditEntry))} == {"1"}
    finally:
        store.close()


def test_what_was_written_before_the_site_existed_joins_the_log_with_it(tmp_path: Path,
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    db = tmp_path / "first.sqlite3"  # the first admin made before the window and workstation codes
    assert run(db, "admin", "create-user", "--username", "adm", "--name", "管理员", "--role", "admin",
               "--password-stdin", stdin=PASSWORD + "\n", monkeypatch=monkeypatch) == 0
    assert run(db, "setup", "--window", "SZ01", "--workstation", "1", monkeypatch=monkeypatch) == 0
    assert audit_not_logged(db) == []
    assert explained(db) == []
