"""Official calendars kept in the store, so an import at one window reaches every window by sync.

The row holds the same text as ``resources/calendar/YYYY.toml``; :meth:`WorkCalendar.refresh`
reads it wherever working days are counted. From 1 November the admin is told when next year's
schedule is still missing, because promises made in December reach into it.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.orm import Session

from shebao_desk.config.calendar_import import render_schedule
from shebao_desk.config.workdays import WorkCalendar, parse_year_text
from shebao_desk.models.calendar import CalendarYear, calendar_row_id
from shebao_desk.rules.calendar_notice import read_notice

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


CLI_HOW = "请用 `shebao-desk calendar import-notice 通知.txt --store` 导入"
WINDOW_HOW = "请在“设置”页点“导入节假日安排通知…”导入通知的文字"


def next_year_warning(calendar: WorkCalendar, today: dt.date, how: str = CLI_HOW) -> str | None:
    """The admin's reminder, from 1 November on, that next year is still provisional; ``how`` says
    how to import the notice where the reminder is read (the command line, or the window's 设置 page)."""
    if (today.month, today.day) < WARN_FROM:
        return None
    year = today.year + 1
    if not calendar.is_provisional(year):
        return None
    return (f"{year} 年的法定节假日安排尚未导入：跨年的承诺办结日期按暂定日历计算，回执上标注“预计”。"
            f"国务院办公厅通知公布后，{how}，各窗口同步后即生效。")


@dataclass(frozen=True)
class ImportedNotice:
    year: int
    summary: list[str]


def import_notice(session: Session, path: Path) -> ImportedNotice:
    """The State Council's holiday notice (its plain text) into the store, as ``calendar import-notice
    --store`` does: every window gets it by sync."""
    notice = read_notice(path)
    text = render_schedule(notice.year, notice.holidays, notice.workdays)
    store_year(session, notice.year, text, f"国务院办公厅关于{notice.year}年部分节假日安排的通知")
    return ImportedNotice(notice.year, notice.summary())
