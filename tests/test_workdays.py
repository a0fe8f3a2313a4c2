import datetime as dt

import chinese_calendar
import pytest

from shebao_desk.errors import CalendarUnknownYear, ResourceError
from shebao_desk.config.workdays import Promise, default_calendar, load_calendar, parse_year_file

D = dt.date


@pytest.fixture(scope="module")
def cal():
    return default_calendar()


@pytest.mark.parametrize("year", [2025, 2026])
def test_shipped_files_agree_with_the_official_calendar(cal, year):
    day = D(year, 1, 1)
    while day.year == year:
        assert cal.is_workday(day) == chinese_calendar.is_workday(day), day
        day += dt.timedelta(days=1)


def test_2026_has_248_working_days(cal):
    # 365 days − 104 weekend days − 19 holiday weekdays + 6 make-up Saturdays/Sundays = 248
    assert len(cal.workdays_of(2026)) == 248


def test_national_day_is_skipped(cal):
    # 09-29, 09-30, then 10-01..10-07 off, 10-08, 10-09, 10-10 (make-up Saturday), 10-12, 10-13
    assert cal.add_workdays(D(2026, 9, 28), 7) == D(2026, 10, 13)


def test_spring_festival_make_up_days_count(cal):
    assert cal.is_workday(D(2026, 2, 14))  # Saturday, worked
    assert cal.is_workday(D(2026, 2, 28))
    assert not cal.is_workday(D(2026, 2, 16))  # Monday in the holiday
    assert cal.add_workdays(D(2026, 2, 13), 1) == D(2026, 2, 14)
    assert cal.add_workdays(D(2026, 2, 14), 1) == D(2026, 2, 24)


def test_year_boundary(cal):
    assert cal.add_workdays(D(2025, 12, 31), 1) == D(2026, 1, 4)  # 1–3 January off, 4th a make-up Sunday
    assert cal.workdays_between(D(2025, 12, 31), D(2026, 1, 5)) == 2


def test_zero_days_is_today_or_next_working_day(cal):
    assert cal.add_workdays(D(2026, 3, 9), 0) == D(2026, 3, 9)
    assert cal.add_workdays(D(2026, 3, 7), 0) == D(2026, 3, 9)


def test_a_year_without_a_file_is_provisional_and_says_so(cal):
    promise = cal.promise(D(2026, 12, 23), 7)
    # 12-24, 25, 28, 29, 30, 31, then 2027-01-01 (元旦, a Friday) and the weekend: 01-04
    assert promise == Promise(D(2027, 1, 4), provisional=True)
    assert cal.promise(D(2026, 3, 9), 7) == Promise(D(2026, 3, 18), provisional=False)
    assert cal.is_provisional(2027) and not cal.is_provisional(2026)


def test_without_fallback_an_unknown_year_is_refused_with_the_year(tmp_path):
    cal = load_calendar(tmp_path, provisional_fallback=False)
    with pytest.raises(CalendarUnknownYear) as exc:
        cal.add_workdays(D(2026, 12, 28), 7)
    assert exc.value.year == 2026
    assert "2026" in exc.value.message
    with pytest.raises(CalendarUnknownYear):
        default_calendar().is_workday(D(2007, 5, 1))  # before the laws we model


def test_official_file_replaces_the_provisional_year(tmp_path):
    (tmp_path / "2027.toml").write_text(
        'year = 2027\nholidays = [ { name = "元旦", from = 2027-01-01, to = 2027-01-03 } ]\n'
        "workdays = []\n", encoding="utf-8")
    assert load_calendar(tmp_path).promise(D(2027, 1, 4), 1) == Promise(D(2027, 1, 5), provisional=False)


def test_next_year_loads_from_a_data_file(tmp_path):
    (tmp_path / "2027.toml").write_text(
        'year = 2027\nholidays = [ { name = "元旦", from = 2027-01-01, to = 2027-01-03 } ]\n'
        "workdays = [2027-01-09]\n", encoding="utf-8")
    cal = load_calendar(tmp_path)
    assert not cal.is_workday(D(2027, 1, 1))
    assert cal.is_workday(D(2027, 1, 9))
    assert cal.add_workdays(D(2027, 1, 1), 1) == D(2027, 1, 4)


@pytest.mark.parametrize("body, fragment", [
    ('year = 2027\nholidays = []\n', "workdays"),
    ('year = 2026\nholidays = []\nworkdays = []\n', "2026"),
    ('year = 2027\nholidays = [ { name = "x", from = 2027-01-05, to = 2027-01-01 } ]\nworkdays = []\n', "范围"),
    ('year = 2027\nholidays = [ { name = "x", from = 2027-01-01, to = 2027-01-01 } ]\nworkdays = [2027-01-01]\n', "同时"),
    ('year = 2027\nholidays = [\n', "格式错误"),
])
def test_broken_year_file_names_file_and_problem(tmp_path, body, fragment):
    path = tmp_path / "2027.toml"
    path.write_text(body, encoding="utf-8")
    with pytest.raises(ResourceError) as exc:
        parse_year_file(path)
    assert "2027.toml" in exc.value.message and fragment in exc.value.message
