"""Working days on China's official calendar, with make-up working weekends (调休).

The schedule of each year is a data file ``resources/calendar/YYYY.toml`` that an
admin adds (``calendar import-notice``) when the State Council publishes the next
year's notice. A year with no file gets the conservative provisional schedule of
:mod:`shebao_desk.rules.calendar_provisional` (never earlier than the official one will be);
anything computed from it says so (``provisional``), so a promise can be printed 预计.
Years before the first law we model are refused (:class:`CalendarUnknownYear`).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import tomllib
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

from pydantic import Field, StringConstraints, model_validator

from shebao_desk.config.data_models import FileModel, validate
from shebao_desk.config.resources import load_toml, resource_path
from shebao_desk.errors import CalendarUnknownYear, ResourceError

if TYPE_CHECKING:
    from sqlalchemy.orm import Session


@dataclass(frozen=True)
class YearSchedule:
    year: int
    holidays: dict[dt.date, str]  # every day off that is a legal holiday, with its name
    makeup_workdays: frozenset[dt.date]
    provisional: bool = False  # computed from the law, not from the State Council's notice
    stored: str | None = None  # the text it was read from, when it came from the store


def provisional_schedule(year: int) -> YearSchedule:
    # Start-up of every command: lunar_python loads only for a year without its official calendar.
    from shebao_desk.rules.calendar_provisional import LAWS, provisional_holidays  # noqa: PLC0415
    if year < LAWS[0].first_year:
        raise CalendarUnknownYear(year)
    return YearSchedule(year, provisional_holidays(year), frozenset(), provisional=True)


@dataclass(frozen=True)
class Promise:
    day: dt.date
    provisional: bool  # some day counted lies in a year without the official schedule


@dataclass
class WorkCalendar:
    years: dict[int, YearSchedule] = field(default_factory=dict)
    provisional_fallback: bool = True  # False: a year without a file is refused

    def schedule(self, day: dt.date) -> YearSchedule:
        try:
            return self.years[day.year]
        except KeyError:
            if not self.provisional_fallback:
                raise CalendarUnknownYear(day.year) from None
        schedule = self.years[day.year] = provisional_schedule(day.year)
        return schedule

    def refresh(self, session: Session) -> None:
        """Take the official years imported anywhere in the city (``calendar_year``, synced).

        Called where working days are counted with a session at hand, so a calendar that
        arrived by sync replaces the provisional year in this same object."""
        # Start-up of every command: the calendar loads without SQLAlchemy; this runs with a store at hand.
        from sqlalchemy import select  # noqa: PLC0415

        from shebao_desk.models import CalendarYear  # noqa: PLC0415
        with session.no_autoflush:  # reading must not write the caller's pending rows early
            rows = session.scalars(select(CalendarYear)).all()
        for row in rows:
            current = self.years.get(row.year)
            if current is None or current.stored != row.schedule:
                schedule = parse_year_text(row.schedule, Path(f"calendar_year/{row.year}"))  # checks the year
                self.years[row.year] = dataclasses.replace(schedule, stored=row.schedule)

    def is_provisional(self, year: int) -> bool:
        return self.schedule(dt.date(year, 1, 1)).provisional

    def promise(self, start: dt.date, count: int) -> Promise:
        """:meth:`add_workdays` and whether provisional data decided it."""
        end = self.add_workdays(start, count)
        return Promise(end, any(self.is_provisional(y) for y in range(start.year, end.year + 1)))

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
    return parse_year_data(path, load_toml(path))


def parse_year_text(text: str, where: Path) -> YearSchedule:
    """A year file's text kept elsewhere (the store); ``where`` names it in errors."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ResourceError(where, f"格式错误：{exc}") from None
    return parse_year_data(where, data)


class HolidayEntry(FileModel):
    name: Annotated[str, StringConstraints(min_length=1)]
    start: dt.date = Field(alias="from")
    end: dt.date = Field(alias="to")


class YearFile(FileModel):
    """resources/calendar/<year>.toml: the State Council's schedule for one year."""

    year: int
    holidays: list[HolidayEntry]
    workdays: list[dt.date]

    @model_validator(mode="after")
    def _inside_the_year(self) -> YearFile:
        for i, h in enumerate(self.holidays):
            if h.end < h.start or h.start.year != self.year or h.end.year != self.year:
                raise ValueError(f"holidays[{i}]（{h.name}）的日期范围不对：{h.start} 至 {h.end}")
        days = {h.start + dt.timedelta(days=n) for h in self.holidays for n in range((h.end - h.start).days + 1)}
        for day in self.workdays:
            if day.year != self.year:
                raise ValueError(f"调休上班日 {day} 不是 {self.year} 年的日期")
            if day in days:
                raise ValueError(f"{day} 同时被列为放假日和调休上班日")
        return self


def parse_year_data(path: Path, data: dict[str, Any]) -> YearSchedule:
    f = validate(path, YearFile, data)
    if path.stem.isdigit() and int(path.stem) != f.year:
        raise ResourceError(path, f"文件名是 {path.stem} 年，内容却是 {f.year} 年")
    holidays: dict[dt.date, str] = {}
    for h in f.holidays:
        day = h.start
        while day <= h.end:
            holidays[day] = h.name
            day += dt.timedelta(days=1)
    return YearSchedule(f.year, holidays, frozenset(f.workdays))


def load_calendar(folder: Path | None = None, provisional_fallback: bool = True) -> WorkCalendar:
    folder = folder or resource_path("calendar")
    calendar = WorkCalendar(provisional_fallback=provisional_fallback)
    for path in sorted(folder.glob("*.toml")):
        schedule = parse_year_file(path)
        calendar.years[schedule.year] = schedule
    return calendar


@lru_cache(maxsize=1)
def default_calendar() -> WorkCalendar:
    return load_calendar()
