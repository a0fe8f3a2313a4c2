"""Every page's background job goes through one operation helper: a failure is logged at ERROR with its
traceback (ID numbers masked) and the clerk reads one Chinese line — never a silent hint, never an empty log."""

import logging

import pytest

from shebao_desk.ui.errors import clerk_message

UNEXPECTED = clerk_message(AttributeError("x"))  # the contract's one line for a bug (shebao_desk.failure)
ID_IN_ERROR = "610102198005170018"


def test_the_line_for_a_bug_is_one_plain_chinese_line():
    assert "\n" not in UNEXPECTED and "意外错误" in UNEXPECTED and "Traceback" not in UNEXPECTED


def boom(*_args, **_kwargs):
    raise AttributeError(f"'NoneType' object has no attribute 'name' (person {ID_IN_ERROR})")


# page key, what the page's job calls (patched to raise), where the clerk reads the line
PAGES = [
    ("outlets", "shebao_desk.services.outlets.outlet_rows", lambda page, shown: page.hint.text()),
    ("inquiries", "shebao_desk.services.inquiries.my_inquiries_view", lambda page, shown: page.hint.text()),
    ("statistics", "shebao_desk.ui.pages.statistics.report_sections", lambda page, shown: page.hint.text()),
    ("today", "shebao_desk.ui.pages.today.open_cases", lambda page, shown: shown[-1] if shown else ""),
    ("attendance", "shebao_desk.ui.pages.attendance.attendance_report", lambda page, shown: page.summary.text()),
]


@pytest.mark.parametrize("key,target,shown_line", PAGES, ids=[p[0] for p in PAGES])
def test_a_failing_page_job_is_logged_at_error_and_shown_in_one_chinese_line(
        make_window, qtbot, caplog, monkeypatch, shown_errors, key, target, shown_line):
    window, _ = make_window(monitor=False)
    monkeypatch.setattr(target, boom)
    caplog.set_level(logging.INFO)
    page = window.show_page(key)
    page.refresh()
    qtbot.waitUntil(lambda: shown_line(page, shown_errors) == UNEXPECTED, timeout=10000)
    errors = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert errors, "the failure never reached the log at ERROR"
    text = "\n".join(r.getMessage() for r in errors)
    assert "Traceback" in text and "AttributeError" in text and "boom" in text
    assert ID_IN_ERROR not in text and "6101**********0018" in text


def test_a_clerks_error_is_a_warning_with_its_own_message():
    from shebao_desk.errors import ValidationError
    assert clerk_message(ValidationError("请填写网点名称", "empty outlet name")) == "请填写网点名称"


def test_worker_logs_a_failed_job_at_error_even_with_its_own_handler(qtbot, caplog):
    from shebao_desk.ui.worker import Worker
    worker, seen = Worker("t"), []
    caplog.set_level(logging.INFO)
    try:
        worker.run(lambda: boom(), None, seen.append)
        qtbot.waitUntil(lambda: bool(seen), timeout=5000)
    finally:
        worker.shutdown()
    assert any(r.levelno == logging.ERROR and "AttributeError" in r.getMessage() for r in caplog.records)
