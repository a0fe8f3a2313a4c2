"""Imported official calendars that travel with sync, so one import serves the whole city."""

from __future__ import annotations

from sqlalchemy import String, Text
from sqlalchemy.orm import Mapped, mapped_column

from shebao_desk.models.base import Row


def calendar_row_id(year: int) -> str:
    """One id per year everywhere: two windows importing the same notice converge on one row."""
    return f"calendar-{year}"


class CalendarYear(Row):
    """A year's official holiday schedule, as the text of a ``resources/calendar/YYYY.toml`` file."""

    __tablename__ = "calendar_year"

    year: Mapped[int]
    schedule: Mapped[str] = mapped_column(Text)
    source: Mapped[str] = mapped_column(String(200), default="")  # e.g. the notice's title
