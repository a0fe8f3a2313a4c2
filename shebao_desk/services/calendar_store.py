"""Official calendars kept in the store, so an import at one window reaches every window by sync.

The row holds the same text as ``resources/calendar/YYYY.toml``; :meth:`WorkCalendar.refresh`
reads it wherever working days are counted. From 1 November the admin is told when next year's
schedule is still missing, because promises made in December reach into it.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from sqlalchemy.orm import Session

from shebao_desk.models.calendar import CalendarYear, calendar_row_id
from shebao_desk.config.workdays import WorkCalendar, parse_year_text

WARN_FROM = (11, 1)  # month, day


def store_year(session: Session, year: int, text: str, source: str) -> CalendarYear:
    parse_year_text(text, Path(f"calendar_year/{year}"))  # never store what cannot be loaded
    row = session.get(CalendarYear, calendar_row_id(year))
    if row is None:
        row = CalendarYear(id=calendar_row_id(year), year=year, schedule=text, source=source[:200])
        session.add(row)
    else:
        row.schedule, row.source = text, source[:200]
    session.flush()
    return row


def next_year_warning(calendar: WorkCalendar, today: dt.date) -> str | None:
    """The admin's reminder, from 1 November on, that next year is still provisional."""
    if (today.month, today.day) < WARN_FROM:
        return None
    year = today.year + 1
    if not calendar.is_provisional(year):
        return None
    return (f"{year} 年的法定节假日安排尚未导入：跨年的承诺办结日期按暂定日历计算，回执上标注“预计”。"
            f"国务院办公厅通知公布后，请用 `shebao-desk calendar import-notice 通知.txt --store` 导入，"
            f"各窗口同步后即生效。")
