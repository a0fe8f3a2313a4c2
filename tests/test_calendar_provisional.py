"""The provisional calendar against history: never a working day that the State Council made a rest day."""

import datetime as dt

import chinese_calendar
import pytest

from shebao_desk.rules.calendar_provisional import (
    ONE_OFF_DECISIONS, dragon_boat, law_for, lunar_new_years_eve, mid_autumn, provisional_workdays, qingming,
)
from shebao_desk.commands.cli import main

D = dt.date
HISTORY = range(2010, 2027)  # every year chinesecalendar knows from the official notices


def official_workdays(year):
    day, out = D(year, 1, 1), set()
    while day.year == year:
        if chinese_calendar.is_workday(day):
            out.add(day)
        day += dt.timedelta(days=1)
    return out


def cli_provisional_workdays(capsys, year):
    assert main(["calendar", "workdays", str(year), "--provisional"]) == 0
    return [D.fromisoformat(line) for line in capsys.readouterr().out.split()]


@pytest.mark.parametrize("year", HISTORY)
def test_lunar_festivals_fall_on_the_official_holidays(year):
    # chinesecalendar names the festival day itself from the notices, independently of our lunar library.
    def named(day):
        return chinese_calendar.get_holiday_detail(day)[1]
    assert named(lunar_new_years_eve(year) + dt.timedelta(days=1)) == "Spring Festival"  # 初一
    assert chinese_calendar.is_holiday(qingming(year)) and named(qingming(year)) == "Tomb-sweeping Day"
    assert chinese_calendar.is_holiday(dragon_boat(year))
    assert named(dragon_boat(year)) in ("Dragon Boat Festival", None)  # 2012: a Saturday, unnamed
    assert named(mid_autumn(year)) in ("Mid-autumn Festival", "National Day")  # 2020: on 10-01


@pytest.mark.parametrize("year", HISTORY)
def test_provisional_working_days_are_official_working_days(capsys, year):
    provisional = cli_provisional_workdays(capsys, year)
    assert provisional == provisional_workdays(year)
    not_official = sorted(set(provisional) - official_workdays(year) - set(ONE_OFF_DECISIONS))
    assert not_official == [], f"{year}: provisional working days the State Council made rest days"


def test_only_the_one_off_decisions_break_the_rule():
    broken = {d for y in HISTORY for d in set(provisional_workdays(y)) - official_workdays(y)}
    # The 2020 extension (01-31..02-02) happens to fall inside 除夕–初七 and its weekend.
    assert broken == {D(2015, 9, 3), D(2015, 9, 4)}


@pytest.mark.parametrize("year, extra", [(2025, 5), (2026, 6)])
def test_under_the_current_law_only_the_make_up_weekends_are_lost(year, extra):
    official = official_workdays(year)
    lost = official - set(provisional_workdays(year))
    assert len(lost) == extra
    assert all(day.weekday() >= 5 for day in lost)  # exactly the make-up Saturdays and Sundays


def test_the_law_in_force_each_year():
    assert law_for(2013).spring_festival_days == 3 and law_for(2013).spring_festival_from_eve
    assert not law_for(2014).spring_festival_from_eve and law_for(2024).labour_day_days == 1
    assert law_for(2025).spring_festival_days == 4 and law_for(2027).labour_day_days == 2


def test_2027_rests_on_its_festivals_and_never_works_a_weekend(capsys):
    days = set(cli_provisional_workdays(capsys, 2027))
    assert all(d.weekday() < 5 for d in days)
    eve = lunar_new_years_eve(2027)
    assert eve == D(2027, 2, 5)  # 农历丙午年除夕
    assert not {eve + dt.timedelta(days=i) for i in range(8)} & days  # 除夕 to 初七
    assert not {D(2027, 5, i) for i in range(1, 6)} & days
    assert not {D(2027, 10, i) for i in range(1, 8)} & days
    assert D(2027, 1, 4) in days  # 元旦 on a Friday: the weekend bridges it, Monday works
