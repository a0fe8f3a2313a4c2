"""The supervisor's pages driven through their widgets."""

import datetime as dt

from openpyxl import load_workbook
from PySide6.QtCore import QDate
from sqlalchemy import select

from shebao_desk.services.demo import seed
from shebao_desk.models import Inquiry, Outlet, SupervisionVisit
from shebao_desk.services.statistics import month, overall

from test_ui_pages import shoot


def test_inquiry_in_two_clicks_then_closed(make_window, qtbot):
    window, ctx = make_window(monitor=False)
    page = window.show_page("inquiries")
    page.topic_buttons[3].click()  # click one: the page is open; click two: the topic
    qtbot.waitUntil(lambda: page.table.rowCount() == 1, timeout=10000)
    with ctx.store.read() as s:
        inquiry = s.scalar(select(Inquiry))
        assert inquiry.owner_id == ctx.clerk.id and inquiry.topic == page.topic_buttons[3].text()
    shoot(window, "9-inquiries")
    page.table.selectRow(0)
    page.note.setText("已解答")
    page.close_selected()
    qtbot.waitUntil(lambda: page.table.rowCount() == 0, timeout=10000)


def test_statistics_page_matches_the_store_and_exports(make_window, qtbot, tmp_path, policy):
    window, ctx = make_window(monitor=False)
    seed(ctx.store, policy, 40, now=dt.datetime(2026, 11, 20, 2, tzinfo=dt.UTC))
    page = window.show_page("statistics")
    page.day.setDate(QDate(2026, 10, 15))
    page.refresh()
    qtbot.waitUntil(lambda: "2026年10月" in page.title.text(), timeout=10000)
    with ctx.store.read() as s:
        total = overall(s, month("2026-10"))
    last = page.by_business.rowCount() - 1
    assert page.by_business.text(last, 0) == "合计"
    assert int(page.by_business.text(last, 1)) == total.accepted
    assert int(page.by_business.text(last, 3)) == total.completed
    assert page.chart.chart().series()[0].count() == 3  # 受理, 办结, 超期办结
    shoot(window, "10-statistics")
    out = tmp_path / "m.xlsx"
    page.export_to(".xlsx", out)
    qtbot.waitUntil(out.exists, timeout=10000)
    sheet = load_workbook(out)["按业务"]
    assert [r for r in sheet.iter_rows(min_row=3, values_only=True) if r[0] == "合计"][0][1] == total.accepted


def test_attendance_page_shows_a_sign_in_late_and_an_absence(make_window, qtbot, monkeypatch):
    """On fixed working days (whatever day the suite runs): Monday 2026-03-09 signed in late at 08:41,
    Tuesday absent; nothing after "today" (Wednesday) and no weekend day."""
    import shebao_desk.ui.pages.attendance as attendance_page
    from shebao_desk.services.attendance import sign_in
    from shebao_desk.clock import CHINA
    from shebao_desk.models import Clerk
    window, ctx = make_window(monitor=False)
    monkeypatch.setattr(attendance_page, "today_in_china", lambda: dt.date(2026, 3, 11))
    with ctx.store.unit(ctx.clerk.id, "A", "test sign in") as s:
        s.get(Clerk, ctx.clerk.id).created_at = dt.datetime(2026, 1, 5, tzinfo=dt.UTC)  # the account existed then
        sign_in(s, ctx.clerk.id, "A", dt.datetime(2026, 3, 9, 8, 41, tzinfo=CHINA).astimezone(dt.UTC))
    page = window.show_page("attendance")
    page.month.setDate(QDate(2026, 3, 9))
    page.refresh()
    qtbot.waitUntil(lambda: "2026年03月" in page.summary.text() and "出勤" in page.summary.text(), timeout=10000)
    mine = {page.table.text(r, 1): [page.table.text(r, c) for c in range(8)]
            for r in range(page.table.rowCount()) if page.table.text(r, 0) == ctx.clerk.display_name}
    assert mine["2026-03-09"][2] == "08:41" and mine["2026-03-09"][5] == "是"  # late (opens 08:30)
    assert mine["2026-03-10"][7] == "是"  # absent
    assert "2026-03-12" not in mine and "2026-03-07" not in mine  # no days after today; Saturday not a workday
    shoot(window, "11-attendance")


def test_self_check_page_lists_every_article(make_window, qtbot):
    window, ctx = make_window(monitor=False)
    page = window.show_page("self_check")
    qtbot.waitUntil(lambda: page.table.rowCount() == 10, timeout=10000)
    articles = {page.table.text(r, 0) for r in range(10)}
    assert articles == {"第七条", "第八条", "第九条", "第十条"}
    rows = {page.table.text(r, 1): [page.table.text(r, c) for c in range(5)] for r in range(10)}
    # Against facts the test sets, not the page's own inputs: no reader monitor runs here, so no
    # reader is seen; the store has exactly one active account (the supervisor make_window signs in).
    assert ctx.cards.readers == {}
    assert rows["读卡器（实时检测）"][2:] == ["至少 2 台", "0 台", "不符合"]
    assert rows["工作人员（在用账号）"][2:] == ["县级至少 3 人", "1 人", "不符合"]
    assert rows["服务场所面积"][2:] == ["不少于 10 平方米", "16 平方米", "符合"]  # site.toml [profile] area_m2 = 16
    shoot(window, "12-self-check")
    page.print_sheet()
    qtbot.waitUntil(lambda: hasattr(page, "preview") and page.preview.isVisible(), timeout=15000)


def test_outlets_page_checks_article_11_and_records_a_visit(make_window, qtbot):
    window, ctx = make_window(monitor=False)
    page = window.show_page("outlets")
    page.name.setText("建设银行丹凤支行")
    page.town.setText("龙驹寨镇")
    page.population.setValue(12000)
    page.windows.setValue(1)
    page.terminals.setValue(2)
    page.save_outlet()
    qtbot.waitUntil(lambda: page.table.rowCount() == 1, timeout=10000)
    assert "ATM" in page.table.text(0, 7)
    page.table.selectRow(0)
    page.items["signage"].setChecked(True)
    page.findings.setText("服务承诺未上墙")
    page.record_visit()
    qtbot.waitUntil(lambda: page.visits.rowCount() == 1, timeout=10000)
    with ctx.store.read() as s:
        visit = s.scalar(select(SupervisionVisit))
        assert visit.checklist["signage"] is True and visit.checklist["siting"] is False
        assert s.scalar(select(Outlet)).town_population == 12000
    shoot(window, "13-outlets")


def test_guide_page_shows_and_prints(make_window, qtbot):
    window, ctx = make_window(monitor=False)
    page = window.show_page("guide")
    assert "临时挂失" in page.view.toPlainText()
    page.print_guide()
    qtbot.waitUntil(lambda: hasattr(page, "preview") and page.preview.document.pageCount() >= 1, timeout=15000)
    shoot(window, "14-guide")
