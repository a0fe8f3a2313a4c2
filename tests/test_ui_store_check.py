"""The store's quick_check never holds the clerk's start (#29): the login form is ready while it runs,
and damage it finds later is shown in the same plain words the start used to show, and stops every write."""

from __future__ import annotations

import logging
import threading

import pytest
from PySide6.QtWidgets import QDialogButtonBox
from sqlalchemy import func, select, text

from shebao_desk.errors import StoreError
from shebao_desk.models import Attendance, Clerk, Role
from shebao_desk.services.auth import create_clerk
from shebao_desk.store import database
from shebao_desk.store.backup import default_backup_dir
from shebao_desk.store.database import connect_file, open_store
from shebao_desk.store.site_identity import ensure_site

from conftest import settle

pytestmark = pytest.mark.ui


def corrupt_table(path, table):
    """Overwrite the middle of ``table``'s root page, as a failing disk would (the start never reads it)."""
    with connect_file(path) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        page = conn.execute("select rootpage from sqlite_master where name=?", (table,)).fetchone()[0]
        size = int(conn.execute("PRAGMA page_size").fetchone()[0])
    data = bytearray(path.read_bytes())
    start = (page - 1) * size + 8
    data[start:start + 200] = b"\xff" * 200
    path.write_bytes(bytes(data))


@pytest.fixture
def damaged(tmp_path, policy):
    """A store with its admin, a clerk and this PC's site whose ``card`` table has a damaged page."""
    store = open_store(tmp_path / "desk.sqlite3")
    with store.unit(None, "A", "test setup") as s:
        create_clerk(s, "admin", "管理员", "Lao-Wang-2026", Role.ADMIN)
        create_clerk(s, "wang", "王经办", "passw0rd!", Role.CLERK)
        ensure_site(s, policy.site, "A")
    store.close()
    corrupt_table(store.path, "card")
    return store.path


class HeldCheck:
    """quick_check held until the test lets it go, so the test can look while the check is still running."""

    def __init__(self, monkeypatch):
        self.entered, self.released = threading.Event(), threading.Event()
        real = database.quick_check

        def held(*args, **kwargs):
            self.entered.set()
            self.released.wait(60)
            return real(*args, **kwargs)

        monkeypatch.setattr(database, "quick_check", held)


def start(qtbot, path):
    from shebao_desk.ui.app import make_app, start_dialog
    from shebao_desk.ui.worker import Worker
    make_app()
    dialog, state = start_dialog(path, False, "A", Worker("startup"))
    qtbot.addWidget(dialog)
    return dialog, state


def login_ready(dialog, state) -> bool:
    ok = dialog.buttons.button(QDialogButtonBox.StandardButton.Ok)
    return "ctx" in state and dialog.login_fields.isVisible() and ok.isEnabled()


def refused_writes(ctx, clerk_id):
    """Every way in writes nothing: a unit of work and a bare connection (as sync uses) both refuse in plain words."""
    from shebao_desk.ui.app import sign_in_clerk
    with ctx.store.read() as s:
        clerk = s.get(Clerk, clerk_id)
    with pytest.raises(StoreError, match="已损坏") as refused:
        sign_in_clerk(ctx, clerk)
    assert str(default_backup_dir()) in refused.value.message
    with pytest.raises(StoreError, match="已损坏"):
        with ctx.store.engine.begin() as conn:
            conn.execute(text("UPDATE clerk SET display_name = '改过'"))
    with ctx.store.read() as s:  # reading goes on, and nothing was written
        assert s.scalar(select(func.count()).select_from(Attendance)) == 0
        assert s.get(Clerk, clerk_id).display_name == "王经办"


def test_login_is_ready_before_the_check_and_damage_found_after_login_stops_writes(
        qtbot, damaged, monkeypatch, shown_errors, caplog):
    held = HeldCheck(monkeypatch)
    try:
        dialog, state = start(qtbot, damaged)
        qtbot.waitUntil(lambda: login_ready(dialog, state), timeout=20000)
        ctx = state["ctx"]
        qtbot.waitUntil(held.entered.is_set, timeout=10000)  # the check runs, behind the ready form
        assert ctx.store.damage is None and ctx.store_check.pending == 1
        dialog.username.setText("wang")
        dialog.password.setText("passw0rd!")
        dialog.submit()  # the clerk logs in while the check is still reading
        qtbot.waitUntil(lambda: dialog.result_clerk is not None, timeout=20000)
        assert not held.released.is_set()
    finally:
        held.released.set()
    with caplog.at_level(logging.ERROR, logger="shebao_desk.store.database"):
        settle(qtbot, ctx)
    assert len(shown_errors) == 1 and "已损坏" in shown_errors[0] and "db restore" in shown_errors[0]
    assert any("quick_check of" in r.getMessage() and "malformed" in r.getMessage() for r in caplog.records)
    try:
        refused_writes(ctx, dialog.result_clerk.id)
    finally:
        ctx.shutdown()
        ctx.store.close()


def test_damage_found_while_the_login_form_shows_closes_it_with_the_starts_message(
        qtbot, damaged, monkeypatch, shown_errors):
    held = HeldCheck(monkeypatch)
    try:
        dialog, state = start(qtbot, damaged)
        qtbot.waitUntil(lambda: login_ready(dialog, state), timeout=20000)
        qtbot.waitUntil(held.entered.is_set, timeout=10000)
    finally:
        held.released.set()
    ctx = state["ctx"]
    settle(qtbot, ctx)
    assert "无法启动" in dialog.intro.text() and "已损坏" in dialog.error.text()
    assert str(default_backup_dir()) in dialog.error.text()
    assert not dialog.buttons.button(QDialogButtonBox.StandardButton.Ok).isEnabled()
    dialog.username.setText("wang")
    dialog.password.setText("passw0rd!")
    dialog.submit()  # Enter in the password field: nothing happens
    settle(qtbot, ctx)
    assert dialog.result_clerk is None and "已损坏" in dialog.error.text()
    with ctx.store.read() as s:
        clerk_id = s.scalar(select(Clerk.id).where(Clerk.username == "wang"))
    try:
        refused_writes(ctx, clerk_id)
    finally:
        ctx.shutdown()
        ctx.store.close()


def test_a_healthy_store_checked_in_the_background_keeps_taking_writes(qtbot, tmp_path, policy, shown_errors):
    store = open_store(tmp_path / "desk.sqlite3")
    with store.unit(None, "A", "test setup") as s:
        ensure_site(s, policy.site, "A")
    store.close()
    dialog, state = start(qtbot, store.path)
    qtbot.waitUntil(lambda: "ctx" in state, timeout=20000)
    ctx = state["ctx"]
    settle(qtbot, ctx)
    assert ctx.store.damage is None and shown_errors == [] and dialog.error.text() == ""
    with ctx.store.unit(None, "A", "first admin") as s:
        create_clerk(s, "admin", "管理员", "Lao-Wang-2026", Role.ADMIN)
    ctx.shutdown()
    ctx.store.close()
