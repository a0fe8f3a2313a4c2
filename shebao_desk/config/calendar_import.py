"""Writing a year's calendar data file from the ``chinesecalendar`` package.

When a newer chinesecalendar release knows next year's State Council schedule,
``shebao-desk calendar import YEAR`` turns it into ``resources/calendar/YEAR.toml``;
the file stays the source of truth and can be corrected by hand.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import chinese_calendar

from shebao_desk.errors import CalendarUnknownYear

NAMES = {
    "New Year's Day": "元旦", "Spring Festival": "春节", "Tomb-sweeping Day": "清明节",
    "Labour Day": "劳动节", "Dragon Boat Festival": "端午节", "National Day": "国庆节",
    "Mid-autumn Festival": "中秋节", "Anti-Fascist 70th Day": "抗战胜利纪念日",
}


def year_from_library(year: int) -> tuple[list[tuple[str, dt.date, dt.date]], list[dt.date]]:
    days = sorted(d for d in chinese_calendar.holidays if d.year == year)
    if not days:
        raise CalendarUnknownYear(year)
    groups: list[list[Any]] = []  # [name, first day, last day], widened while consecutive
    for day in days:
        name = NAMES.get(chinese_calendar.get_holiday_detail(day)[1], chinese_calendar.get_holiday_detail(day)[1])
        if groups and groups[-1][0] == name and (day - groups[-1][2]).days == 1:
            groups[-1][2] = day
        else:
            groups.append([name, day, day])
    makeup = sorted(d for d in chinese_calendar.workdays if d.year == year and d.weekday() >= 5)
    return [tuple(g) for g in groups], makeup


def render_year_file(year: int) -> str:
    return render_schedule(year, *year_from_library(year))


def render_schedule(year: int, holidays: list[tuple[str, dt.date, dt.date]], makeup: list[dt.date]) -> str:
    lines = [f"# {year} 年全国年节放假与调休安排（国务院办公厅通知）。",
             "# holidays：放假期间（含相连的周末）；workdays：调休上班的周末。",
             "# 次年安排公布后，管理员复制本文件改年份与日期即可；用 `shebao-desk calendar workdays 年份` 逐日核对。",
             "", f"year = {year}", "holidays = ["]
    lines += [f'  {{ name = "{n}", from = {a}, to = {b} }},' for n, a, b in holidays]
    lines += ["]", "workdays = [" + ", ".join(str(d) for d in makeup) + "]"]
    return "\n".join(lines) + "\n"


def write_year_file(year: int, out: Path) -> None:
    out.write_text(render_year_file(year), encoding="utf-8")
