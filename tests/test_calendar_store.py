"""One import for the whole city: an official calendar in the store travels by bundle to other windows."""

import datetime as dt
from pathlib import Path

import chinese_calendar
from sqlalchemy import select

import shebao_desk.commands.cli
import shebao_desk.ui.main_window
from shebao_desk.services.calendar_store import next_year_warning, store_year
from shebao_desk.commands.cli import main
from shebao_desk.models import CalendarYear
from shebao_desk.sync.bundle import export_bundle, import_bundle
from shebao_desk.config.workdays import load_calendar

from test_sync import pin, workstation

NOTICES = Path(__file__).parent / "fixtures" / "notices"


def test_notice_imported_at_one_window_reaches_another_by_bundle(tmp_path, policy, capsys):
    a, _ = workstation(tmp_path, policy, "A")
    b, _ = workstation(tmp_path, policy, "B")
    assert main(["--db", str(a.path), "calendar", "import-notice", str(NOTICES / "2026.txt"), "--store"]) == 0
    pin(b, a)
    import_bundle(b, export_bundle(a, tmp_path / "a.bundle").path)
    empty = tmp_path / "no-files"
    empty.mkdir()
    calendar = load_calendar(empty)  # a window whose resources know nothing of 2026
    assert calendar.is_provisional(2026)
    with b.read() as s:
        calendar.refresh(s)
    assert not calendar.is_provisional(2026)
    day = dt.date(2026, 1, 1)
    while day.year == 2026:
        assert calendar.is_workday(day) == chinese_calendar.is_workday(day), day
        day += dt.timedelta(days=1)


def test_two_windows_importing_the_same_year_converge_on_one_row(tmp_path, policy):
    a, _ = workstation(tmp_path, policy, "A")
    b, _ = workstation(tmp_path, policy, "B")
    text = (Path(__file__).parents[1] / "resources" / "calendar" / "2026.toml").read_text(encoding="utf-8")
    for store in (a, b):
        with store.unit(None, "", "calendar") as s:
            store_year(s, 2026, text, "通知")
    pin(b, a)
    import_bundle(b, export_bundle(a, tmp_path / "a.bundle").path)
    with b.read() as s:
        assert len(s.scalars(select(CalendarYear)).all()) == 1


def test_admin_is_told_from_november_that_next_year_is_provisional(tmp_path):
    calendar = load_calendar(tmp_path)  # no official year at all
    assert next_year_warning(calendar, dt.date(2026, 10, 31)) is None
    warning = next_year_warning(calendar, dt.date(2026, 11, 1))
    assert "2027 年的法定节假日安排尚未导入" in warning
    (tmp_path / "2027.toml").write_text('year = 2027\nholidays = []\nworkdays = []\n', encoding="utf-8")
    assert next_year_warning(load_calendar(tmp_path), dt.date(2026, 12, 1)) is None


def test_supervisor_sees_the_warning_in_the_workbench(make_window, qtbot, monkeypatch):
    monkeypatch.setattr(shebao_desk.ui.main_window, "now_utc", lambda: dt.datetime(2026, 11, 2, 1, tzinfo=dt.UTC))
    window, ctx = make_window(monitor=False)  # signed in as a supervisor
    qtbot.waitUntil(lambda: window.calendar_label.isVisible(), timeout=10000)
    assert "2027" in window.calendar_label.text()


def test_calendar_status_names_the_source_of_each_year(tmp_path, policy, capsys, monkeypatch):
    monkeypatch.setattr(shebao_desk.commands.cli, "now_utc", lambda: dt.datetime(2026, 11, 2, 1, tzinfo=dt.UTC))
    a, _ = workstation(tmp_path, policy, "A")
    assert main(["--db", str(a.path), "calendar", "status"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[:2] == ["2026 年：数据文件", "2027 年：暂定（按法定假日推算）"]
    assert "2027 年的法定节假日安排尚未导入" in out[2]
