"""The GUI's first start asks which window and workstation this PC is: no silent default."""

from __future__ import annotations

from sqlalchemy import select

from shebao_desk.models import Site


def test_first_start_asks_for_the_codes_then_creates_the_admin(qtbot, tmp_path, shown_errors):
    from shebao_desk.ui.app import make_app, start_dialog
    from shebao_desk.ui.worker import Worker
    make_app()
    dialog, state = start_dialog(tmp_path / "fresh.sqlite3", False, None, Worker("startup"))
    qtbot.addWidget(dialog)
    qtbot.waitUntil(lambda: "ctx" in state and dialog.first_admin, timeout=20000)
    assert dialog.site_fields.isVisibleTo(dialog) and dialog.workstation_id.text() == ""
    assert "工作站编号" in dialog.intro.text()
    dialog.new_username.setText("admin")
    dialog.display_name.setText("管理员")
    dialog.new_password.setText("Lao-Wang-2026")
    dialog.new_password2.setText("Lao-Wang-2026")
    dialog.submit()  # no workstation code yet: refused with a message, nothing written
    qtbot.waitUntil(lambda: "工作站编号" in dialog.error.text(), timeout=10000)
    ctx = state["ctx"]
    with ctx.store.read() as s:
        assert s.scalar(select(Site)) is None
    dialog.window_code.setText("sz02")
    dialog.workstation_id.setText("c")
    dialog.submit()
    qtbot.waitUntil(lambda: not dialog.first_admin, timeout=10000)
    assert dialog.username.text() == "admin" and "工作站 C" in dialog.head.text()
    with ctx.store.read() as s:
        site = s.scalar(select(Site))
        assert (site.window_code, site.workstation_id) == ("SZ02", "C")
    ctx.shutdown()
    ctx.store.close()


def test_status_bar_says_sync_is_blocked_and_why(make_window, qtbot):
    from shebao_desk.models import SyncQuarantine
    from shebao_desk.models.base import utcnow
    window, ctx = make_window(monitor=False)
    with ctx.store.engine.begin() as conn:
        conn.execute(SyncQuarantine.__table__.insert(), [
            {"change_id": f"q{i}", "table_name": "person", "row_id": f"r{i}", "reason": "受理编号与中心已有的记录重复",
             "detail": "", "attempts": 1, "quarantined_at": utcnow()} for i in range(3)])
    window.refresh_sync_status()
    qtbot.waitUntil(lambda: "同步受阻：3 条，原因 受理编号与中心已有的记录重复" in window.sync_label.text(), timeout=10000)
    assert "bold" in window.sync_label.styleSheet()
