"""Every page opens, works in training mode, and is photographed for review (artifacts/screenshots/)."""

import datetime as dt
import os
from pathlib import Path

from PySide6.QtGui import QFontMetrics
from PySide6.QtWidgets import QApplication

from shebao_desk.errors import CalendarUnknownYear
from shebao_desk.config.resources import resource_path
from shebao_desk.ui.card_service import TRAINING_READER
from shebao_desk.ui.login import FirstAdminDialog, LoginDialog

from conftest import applicant, take

SHOTS = Path(os.environ.get("SHEBAO_SCREENSHOTS") or Path(__file__).resolve().parent.parent / "artifacts" / "screenshots")


def shoot(widget, name):
    SHOTS.mkdir(parents=True, exist_ok=True)
    QApplication.processEvents()
    assert widget.grab().save(str(SHOTS / f"{name}.png"))


def test_chinese_renders_with_a_real_font(make_window):
    window, _ = make_window(monitor=False)
    metrics = QFontMetrics(window.font())
    for ch in "社会保障卡受理查询今日设备设置":
        assert metrics.inFontUcs4(ord(ch)), ch


def test_training_mode_is_marked_and_its_card_fills_the_form(make_window, qtbot, tmp_path):
    window, ctx = make_window(training=True, monitor=False, db=tmp_path / "training.sqlite3")
    assert window.findChild(type(window.header), "training_banner").isVisible()
    assert "培训模式" in window.windowTitle()
    devices = window.show_page("devices")
    devices.holder.setCurrentIndex(devices.holder.findData(str(resource_path("holders", "gen1-li-xiuying.toml"))))
    devices.insert_training_card()
    intake = window.show_page("intake")
    qtbot.waitUntil(lambda: intake.form.applicant.name.text() == "李秀英", timeout=10000)
    assert intake.card_readers.selected_reader() == TRAINING_READER
    shoot(window, "training-intake-card-read")


def test_screenshots_of_every_page(make_window, qtbot, policy):
    window, ctx = make_window(monitor=False)
    window.resize(1280, 860)
    # Today's cases when the calendar can promise a date from today; else a known day.
    now = dt.datetime.now(dt.UTC)
    try:
        policy.calendar.add_workdays(now.date(), 7)
    except CalendarUnknownYear:
        now = dt.datetime(2026, 3, 9, 2, tzinfo=dt.UTC)
    for i in range(3):
        take(ctx.store, policy, (ctx.clerk, ctx.site), "apply", applicant(20 + i), now=now)
    intake = window.show_page("intake")
    who = applicant(30)
    intake.form.applicant.id_number.setText(who.id_number)
    intake.form.applicant.name.setText(who.name)
    intake.form.materials.boxes["id_original"].setChecked(True)
    shoot(window, "1-intake")
    search = window.show_page("search")
    search.query.setText(applicant(20).name[:1])
    search.run()
    qtbot.waitUntil(lambda: search.cases.rowCount() >= 1, timeout=10000)
    shoot(window, "2-search")
    today = window.show_page("today")
    today.refresh()
    # The three accepted cases are open (in time or overdue, depending on the day the suite runs).
    qtbot.waitUntil(lambda: today.open.rowCount() + today.overdue.rowCount() == 3, timeout=10000)
    numbers = {today.open.text(r, 0) for r in range(today.open.rowCount())} | \
        {today.overdue.text(r, 0) for r in range(today.overdue.rowCount())}
    assert len(numbers) == 3
    assert f"在办 {today.open.rowCount()} 笔；超期 {today.overdue.rowCount()} 笔" in today.summary.text()
    shoot(window, "3-today")
    shoot(window.show_page("devices"), "4-devices")
    shoot(window.show_page("settings"), "5-settings")
    search.open_case(0, 0)
    qtbot.waitUntil(lambda: search.detail.history.rowCount() > 0, timeout=10000)
    shoot(search.detail, "6-case-detail")
    login = LoginDialog(ctx)
    qtbot.addWidget(login)
    login.show()
    shoot(login, "7-login")
    first = FirstAdminDialog(ctx)
    qtbot.addWidget(first)
    first.show()
    shoot(first, "8-first-admin")
    for name in ("1-intake", "2-search", "3-today", "4-devices", "5-settings", "6-case-detail", "7-login"):
        assert (SHOTS / f"{name}.png").stat().st_size > 5000


def test_status_bar_shows_sync_state_and_warns(make_window, qtbot, policy, monkeypatch):
    window, ctx = make_window(monitor=False)
    take(ctx.store, policy, (ctx.clerk, ctx.site), "apply", applicant(40))
    window.refresh_sync_status()
    qtbot.waitUntil(lambda: "待同步" in window.sync_label.text(), timeout=10000)
    assert "从未同步" in window.sync_label.text()
    import shebao_desk.ui.main_window as main_window_module
    real = main_window_module.sync_status
    monkeypatch.setattr(main_window_module, "sync_status",
                        lambda store, days: real(store, days, now=dt.datetime.now(dt.UTC) + dt.timedelta(days=days + 1)))
    window.refresh_sync_status()
    qtbot.waitUntil(lambda: "未同步" in window.sync_label.text() and "⚠" in window.sync_label.text(), timeout=10000)


def test_first_start_creates_the_admin_then_logs_in(qtbot, tmp_path, shown_errors):
    from shebao_desk.ui.app import make_app, start_dialog
    from shebao_desk.ui.worker import Worker
    make_app()
    dialog, state = start_dialog(tmp_path / "fresh.sqlite3", False, "A", Worker("startup"))
    qtbot.addWidget(dialog)
    assert "正在打开数据库" in dialog.intro.text()  # shown before the store is open
    qtbot.waitUntil(lambda: "ctx" in state and dialog.first_admin, timeout=20000)
    dialog.new_username.setText("admin")
    dialog.display_name.setText("管理员")
    dialog.new_password.setText("Lao-Wang-2026")
    dialog.new_password2.setText("Lao-Wang-2026")
    dialog.submit()
    qtbot.waitUntil(lambda: not dialog.first_admin, timeout=10000)
    assert dialog.username.text() == "admin"
    dialog.password.setText("wrong-pass1")
    dialog.submit()
    qtbot.waitUntil(lambda: "用户名或密码错误" in dialog.error.text(), timeout=10000)
    dialog.password.setText("Lao-Wang-2026")
    dialog.submit()
    qtbot.waitUntil(lambda: dialog.result_clerk is not None, timeout=10000)
    assert dialog.result_clerk.role.value == "admin"
    state["ctx"].shutdown()
    state["ctx"].store.close()


def test_a_broken_data_file_stops_the_gui_start_with_its_name(qtbot, tmp_path, monkeypatch, shown_errors):
    import shutil

    from shebao_desk.config.resources import resources_dir
    from shebao_desk.ui.app import make_app, start_dialog
    from shebao_desk.ui.worker import Worker
    copy = tmp_path / "resources"
    shutil.copytree(resources_dir(), copy)
    (copy / "site.toml").write_text("[site\n", encoding="utf-8")
    monkeypatch.setenv("SHEBAO_RESOURCES", str(copy))
    from shebao_desk.config.site_config import load_site_config
    load_site_config.cache_clear()
    try:
        make_app()
        dialog, state = start_dialog(tmp_path / "x.sqlite3", False, "A", Worker("startup"))
        qtbot.addWidget(dialog)
        qtbot.waitUntil(lambda: "site.toml" in dialog.error.text(), timeout=20000)
        assert "无法启动" in dialog.intro.text() and "ctx" not in state
    finally:
        load_site_config.cache_clear()
