"""Working days on China's official calendar, with make-up working weekends (调休).

The schedule of each year is a data file ``resources/calendar/YYYY.toml`` that an
admin can add when the State Council publishes the next year's notice. A date in
a year with no file is refused (:class:`CalendarUnknownYear`), never guessed.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from shebao_desk.errors import CalendarUnknownYear, ResourceError
from shebao_desk.resources import load_toml, require, resource_path


@dataclass(frozen=True)
class YearSchedule:
    year: int
    holidays: dict[dt.date, str]  # every day off that is a legal holiday, with its name
    makeup_workdays: frozenset[dt.date]


@dataclass
class WorkCalendar:
    years: dict[int, YearSchedule] = field(default_factory=dict)

    def schedule(self, day: dt.date) -> YearSchedule:
        try:
            return self.years[day.year]
        except KeyError:
            raise CalendarUnknownYear(day.year) from None

    def is_workday(self, day: dt.date) -> bool:
        year = self.schedule(day)
        if day in year.makeup_workdays:
            return True
        if day in year.holidays:
            return False
        return day.weekday() < 5

    def holiday_name(self, day: dt.date) -> str | None:
        return self.schedule(day).holidays.get(day)

    def workdays_of(self, year: int) -> list[dt.date]:
        self.schedule(dt.date(year, 1, 1))
        day, end, out = dt.date(year, 1, 1), dt.date(year, 12, 31), []
        while day <= end:
            if self.is_workday(day):
                out.append(day)
            day += dt.timedelta(days=1)
        return out

    def add_workdays(self, start: dt.date, count: int) -> dt.date:
        """The ``count``-th working day after ``start`` (``start`` itself not counted).

        With ``count`` 0, ``start`` itself if it is a working day, else the next one.
        """
        if count < 0:
            raise ValueError("count must not be negative")
        day = start
        if count == 0:
            while not self.is_workday(day):
                day += dt.timedelta(days=1)
            return day
        while count:
            day += dt.timedelta(days=1)
            if self.is_workday(day):
                count -= 1
        return day

    def workdays_between(self, start: dt.date, end: dt.date) -> int:
        """Working days in (start, end]: how many working days ``end`` is after ``start``."""
        sign, (a, b) = (1, (start, end)) if end >= start else (-1, (end, start))
        n, day = 0, a
        while day < b:
            day += dt.timedelta(days=1)
            n += self.is_workday(day)
        return sign * n


def parse_year_file(path: Path) -> YearSchedule:
    data = load_toml(path)
    year = require(path, data, "year", int)
    if path.stem.isdigit() and int(path.stem) != year:
        raise ResourceError(path, f"文件名是 {path.stem} 年，内容却是 {year} 年")
    holidays: dict[dt.date, str] = {}
    for i, entry in enumerate(require(path, data, "holidays", list)):
        where = f"holidays[{i}]"
        if not isinstance(entry, dict):
            raise ResourceError(path, f"{where} 应为 {{ name, from, to }}")
        name = require(path, entry, "name", str, where)
        start = require(path, entry, "from", dt.date, where)
        end = require(path, entry, "to", dt.date, where)
        if end < start or start.year != year or end.year != year:
            raise ResourceError(path, f"{where}（{name}）的日期范围不对：{start} 至 {end}")
        day = start
        while day <= end:
            holidays[day] = name
            day += dt.timedelta(days=1)
    makeup = require(path, data, "workdays", list)
    for day in makeup:
        if not isinstance(day, dt.date) or day.year != year:
            raise ResourceError(path, f"调休上班日 {day} 不是 {year} 年的日期")
        if day in holidays:
            raise ResourceError(path, f"{day} 同时被列为放假日和调休上班日")
    return YearSchedule(year, holidays, frozenset(makeup))


def load_calendar(folder: Path | None = None) -> WorkCalendar:
    folder = folder or resource_path("calendar")
    calendar = WorkCalendar()
    for path in sorted(folder.glob("*.toml")):
        schedule = parse_year_file(path)
        calendar.years[schedule.year] = schedule
    return calendar


@lru_cache(maxsize=1)
def default_calendar() -> WorkCalendar:
    return load_calendar()
