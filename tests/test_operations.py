"""Running the window: statistics equal to direct SQL, exports, attendance, inquiries, self-check, outlets."""

import datetime as dt
import io
import subprocess
import sys
from types import SimpleNamespace

import pytest
from openpyxl import load_workbook
from pypdf import PdfReader
from sqlalchemy import text

from shebao_desk.services.attendance import attendance_report, sign_in, sign_out
from shebao_desk.services.auth import create_clerk
from shebao_desk.clock import CHINA
from shebao_desk.services.demo import seed
from shebao_desk.errors import RuleViolation, ValidationError
from shebao_desk.services.inquiries import close_inquiry, hand_over, open_inquiries, open_inquiry
from shebao_desk.models import Role
from shebao_desk.config.supervision import load_supervision
from shebao_desk.services.outlets import article_11
from shebao_desk.services.report_export import write_pdf, write_xlsx
from shebao_desk.services.statistics import by_business, by_clerk, month, overall, period_of, report_sections
from shebao_desk.services.window_check import self_check

SEED_NOW = dt.datetime(2026, 11, 20, 2, tzinfo=dt.UTC)  # seeded cases fall in September–November 2026


@pytest.fixture(scope="module")
def seeded(tmp_path_factory):
    from shebao_desk.config.policy import load_policy
    from shebao_desk.store.database import open_store
    store = open_store(tmp_path_factory.mktemp("stats") / "s.sqlite3")
    seed(store, load_policy(), 120, now=SEED_NOW)
    yield store
    store.close()


def sql_counts(store, start, end):
    """The same figures straight from SQL, by business, independent of the statistics module."""
    q = text("""
        SELECT business,
          SUM(CASE WHEN accepted_at >= :s AND accepted_at < :e AND status != 'returned' THEN 1 ELSE 0 END),
          SUM(CASE WHEN accepted_at >= :s AND accepted_at < :e AND status = 'returned' THEN 1 ELSE 0 END),
          SUM(CASE WHEN completed_at >= :s AND completed_at < :e THEN 1 ELSE 0 END),
          SUM(CASE WHEN completed_at >= :s AND completed_at < :e AND promised_date IS NOT NULL
                    AND date(completed_at, '+8 hours') > promised_date THEN 1 ELSE 0 END)
        FROM "case" GROUP BY business""")
    with store.engine.connect() as conn:
        rows = conn.execute(q, {"s": start.replace(tzinfo=None), "e": end.replace(tzinfo=None)}).all()
    return {r[0]: tuple(int(x or 0) for x in r[1:]) for r in rows if any(r[1:])}


@pytest.mark.parametrize("kind, day", [("month", dt.date(2026, 10, 1)), ("month", dt.date(2026, 11, 1)),
                                       ("week", dt.date(2026, 10, 14)), ("day", dt.date(2026, 10, 20))])
def test_statistics_equal_direct_sql(seeded, policy, kind, day):
    period = period_of(kind, day)
    names = {b.code: b.name for b in policy.catalogue}
    with seeded.read() as s:
        rows = by_business(s, period, names)
        total = overall(s, period)
        clerks = by_clerk(s, period)
    expected = sql_counts(seeded, *period.utc_bounds())
    got = {r.key: (r.accepted, r.returned, r.completed, r.late) for r in rows}
    assert got == expected
    assert total.accepted == sum(v[0] for v in expected.values())
    assert total.completed == sum(v[2] for v in expected.values())
    assert sum(r.completed for r in clerks) == total.completed
    if kind == "month":
        assert total.accepted > 0 and total.completed > 0


def test_on_time_and_late_add_up_and_average_days(seeded, policy):
    period = month("2026-10")
    with seeded.read() as s:
        total = overall(s, period)
        start, end = period.utc_bounds()
        avg = s.execute(text("""SELECT AVG(julianday(completed_at) - julianday(accepted_at)) FROM "case"
                                WHERE completed_at >= :s AND completed_at < :e AND promised_date IS NOT NULL"""),
                        {"s": start.replace(tzinfo=None), "e": end.replace(tzinfo=None)}).scalar()
    assert total.on_time + total.late == total.completed
    assert total.late > 0  # the demo collects after 10 calendar days: some promises are missed
    assert total.avg_days == round(avg, 1)


def test_xlsx_export_has_the_same_numbers(seeded, policy, tmp_path):
    period = month("2026-10")
    with seeded.read() as s:
        sections = report_sections(s, period, policy)
    out = tmp_path / "m.xlsx"
    write_xlsx(out, "统计", period, sections)
    book = load_workbook(out)
    sheet = book["按业务"]
    rows = {r[0]: r[1:6] for r in sheet.iter_rows(min_row=3, values_only=True)}
    for row in sections[0][1]:
        assert rows[row.label] == (row.accepted, row.returned, row.completed, row.on_time, row.late)
    assert {r[0] for r in book["按经办人"].iter_rows(min_row=3, values_only=True)} == {r.label for r in sections[1][1]}


def test_pdf_export_has_the_same_numbers(seeded, policy):
    period = month("2026-10")
    with seeded.read() as s:
        sections = report_sections(s, period, policy)
    buf = io.BytesIO()
    write_pdf(buf, "统计", period, sections)
    buf.seek(0)
    text_ = "".join(p.extract_text() for p in PdfReader(buf).pages).replace(" ", "")
    total = sections[0][1][-1]
    assert f"合计\n{total.accepted}\n{total.returned}\n{total.completed}" in text_


@pytest.mark.slow  # runs the program in a subprocess
def test_report_command_line(seeded, tmp_path):
    out = tmp_path / "r.xlsx"
    result = subprocess.run([sys.executable, "-m", "shebao_desk", "--db", str(seeded.path), "report", "month", "2026-10",
                             "--out", str(out)], capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stderr
    assert load_workbook(out)["按业务"]["A1"].value.endswith("（2026年10月）")
    bad = subprocess.run([sys.executable, "-m", "shebao_desk", "--db", str(seeded.path), "report", "month", "2026/10",
                          "--out", str(out)], capture_output=True, text=True, timeout=120, check=False)
    assert bad.returncode != 0 and "YYYY-MM" in bad.stderr


def at(day, hh, mm):
    return dt.datetime.combine(day, dt.time(hh, mm), CHINA).astimezone(dt.UTC)


def test_attendance_late_early_absent(store, policy):
    with store.unit(None, "A", "setup") as s:
        li = create_clerk(s, "li", "李", "passw0rd!", Role.CLERK)
        wang = create_clerk(s, "wang", "王", "passw0rd!", Role.CLERK)
        for clerk in (li, wang):  # accounts that existed before the week in question
            clerk.created_at = dt.datetime(2026, 3, 1, tzinfo=dt.UTC)
    monday, tuesday = dt.date(2026, 3, 9), dt.date(2026, 3, 10)
    with store.unit(li.id, "A", "day") as s:
        sign_in(s, li.id, "A", at(monday, 8, 20))
        sign_in(s, li.id, "A", at(monday, 9, 0))  # a second login the same day keeps the first time
        sign_out(s, li.id, at(monday, 18, 5))
        sign_in(s, wang.id, "A", at(monday, 8, 45))
        sign_out(s, wang.id, at(monday, 17, 30))
        sign_in(s, li.id, "A", at(tuesday, 8, 25))
    with store.read() as s:
        rows = attendance_report(s, monday, tuesday + dt.timedelta(days=1), policy.calendar,
                                 policy.site.opens, policy.site.closes)
    by = {(r.clerk, r.day): r for r in rows}
    assert by[("李", monday)].sign_in == "08:20" and not by[("李", monday)].late and by[("李", monday)].hours == 9.8
    assert by[("王", monday)].late and by[("王", monday)].left_early
    assert by[("王", tuesday)].absent and not by[("李", tuesday)].absent


def test_first_inquiry_ownership(store):
    with store.unit(None, "A", "setup") as s:
        li = create_clerk(s, "li", "李", "passw0rd!", Role.CLERK)
        wang = create_clerk(s, "wang", "王", "passw0rd!", Role.CLERK)
        inquiry = open_inquiry(s, li, "密码重置")
        with pytest.raises(RuleViolation):
            close_inquiry(s, inquiry, wang)  # not the owner
        with pytest.raises(ValidationError):
            hand_over(s, inquiry, li, wang, "")  # a handover needs a note
        hand_over(s, inquiry, li, wang, "已告知所需材料，待其明日带卡来")
        assert inquiry.owner_id == wang.id and "李 → 王" in inquiry.handover_note
        with pytest.raises(RuleViolation):
            close_inquiry(s, inquiry, li)
        close_inquiry(s, inquiry, wang, "已办结")
        assert open_inquiries(s) == []


def test_article_11_rule():
    rules = load_supervision()
    outlet = lambda **kw: SimpleNamespace(**{"card_windows": 1, "atms": 0, "terminals": 0, "town_population": 0, **kw})  # noqa: E731
    assert article_11(outlet(town_population=5000, atms=1), rules) == []
    assert "ATM" in article_11(outlet(town_population=5000, terminals=3), rules)[0]
    assert article_11(outlet(town_population=2000, terminals=1), rules) == []
    assert "自助查询终端" in article_11(outlet(town_population=2000), rules)[0]
    assert "服务窗口" in article_11(outlet(card_windows=0, atms=1, town_population=9000), rules)[0]


def test_self_check_counts_live_devices_and_staff(policy):
    checks = self_check(policy.site, readers=2, printers=1, active_clerks=3)
    assert all(c.passed for c in checks) and {c.article for c in checks} == {"第七条", "第八条", "第九条", "第十条"}
    failing = {c.rule for c in self_check(policy.site, readers=1, printers=0, active_clerks=2) if not c.passed}
    assert failing == {"读卡器（实时检测）", "打印机（实时检测）", "工作人员（在用账号）"}
