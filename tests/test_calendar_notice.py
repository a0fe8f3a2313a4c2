"""Importing the State Council's holiday notice from its published text."""

import datetime as dt
from pathlib import Path

import chinese_calendar
import pytest

from shebao_desk.rules.calendar_notice import NoticeError, parse_notice
from shebao_desk.commands.cli import main
from shebao_desk.config.resources import resource_path
from shebao_desk.config.workdays import load_calendar

NOTICES = Path(__file__).parent / "fixtures" / "notices"


def notice_text(year):
    return (NOTICES / f"{year}.txt").read_text(encoding="utf-8")


def test_2026_notice_reproduces_the_shipped_file_exactly(tmp_path, capsys):
    out = tmp_path / "2026.toml"
    assert main(["calendar", "import-notice", str(NOTICES / "2026.txt"), "--out", str(out)]) == 0
    assert out.read_bytes() == resource_path("calendar", "2026.toml").read_bytes()
    shown = capsys.readouterr().out
    assert "春节：2026-02-15 至 2026-02-23 放假，共 9 天" in shown
    assert "2026-09-20、2026-10-10" in shown  # the make-up working days it understood


@pytest.mark.parametrize("year", [2025, 2026])
def test_imported_notice_agrees_day_by_day_with_chinesecalendar(tmp_path, year, capsys):
    assert main(["calendar", "import-notice", str(NOTICES / f"{year}.txt"), "--out",
                 str(tmp_path / f"{year}.toml")]) == 0
    cal = load_calendar(tmp_path, provisional_fallback=False)
    assert not cal.is_provisional(year)
    day = dt.date(year, 1, 1)
    while day.year == year:
        assert cal.is_workday(day) == chinese_calendar.is_workday(day), day
        day += dt.timedelta(days=1)


def test_ascii_punctuation_from_a_web_copy_is_read():
    text = notice_text(2026).replace("（", "(").replace("）", ")").replace("：", ":").replace("，", ",")
    assert parse_notice(text).holidays == parse_notice(notice_text(2026)).holidays


def line_of(text, fragment):
    return next(i for i, line in enumerate(text.splitlines(), 1) if fragment in line)


@pytest.mark.parametrize("old, new, why", [
    ("5月1日（周五）", "5月1日（周四）", "通知写的是周四"),            # a misread weekday
    ("共9天", "共8天", "不是 8 天"),                                   # a count that does not add up
    ("5月9日（周六）上班", "5月9日（周六）上半天班", "读不懂"),          # a sentence we do not understand
    ("9月20日（周日）、", "9月21日（周一）、", "不是周末"),               # a make-up day on a weekday
    ("6月19日（周五）至21日", "6月19日至21日", "读不懂放假日期"),        # no weekday to check against
])
def test_malformed_items_are_refused_with_their_line(old, new, why):
    text = notice_text(2026).replace(old, new)
    with pytest.raises(NoticeError) as exc:
        parse_notice(text)
    assert why in exc.value.message
    assert f"第 {line_of(text, new)} 行" in exc.value.message


def test_partial_notice_is_refused():
    lines = [line for line in notice_text(2026).splitlines() if not line.strip().startswith("五、")]
    with pytest.raises(NoticeError) as exc:
        parse_notice("\n".join(lines))
    assert "应为“五、”" in exc.value.message  # 六 follows 四: an item is missing
    cut = notice_text(2026).split("　　六、")[0]
    with pytest.raises(NoticeError) as exc:
        parse_notice(cut)
    assert "缺少中秋节、国庆节" in exc.value.message


def test_cli_refuses_a_bad_notice_with_one_line_and_writes_nothing(tmp_path, capsys):
    bad = tmp_path / "notice.txt"
    bad.write_text(notice_text(2026).replace("（周四）至3日", "（周五）至3日"), encoding="utf-8")
    out = tmp_path / "2026.toml"
    assert main(["calendar", "import-notice", str(bad), "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "第" in err and "周五" in err
    assert not out.exists() and not list(tmp_path.glob(".*.tmp"))


def test_gb18030_text_is_read(tmp_path):
    path = tmp_path / "notice.txt"
    path.write_bytes(notice_text(2025).encode("gb18030"))
    from shebao_desk.rules.calendar_notice import read_notice
    assert read_notice(path).workdays[0] == dt.date(2025, 1, 26)
