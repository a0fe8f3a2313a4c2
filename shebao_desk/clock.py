"""Time: stored in UTC, shown and reasoned about in China Standard Time.

China has one zone and no daylight saving, so a fixed +08:00 offset is exact and
needs no tz database (which Windows lacks).
"""

from __future__ import annotations

import datetime as dt

CHINA = dt.timezone(dt.timedelta(hours=8), "CST")


def now_utc() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def local(at: dt.datetime) -> dt.datetime:
    return at.astimezone(CHINA)


def local_text(at: dt.datetime | None) -> str:
    return "" if at is None else f"{local(at):%Y-%m-%d %H:%M}"


def today() -> dt.date:
    """Today in China, whatever time zone the PC is set to."""
    return local_day(now_utc())


def local_day(at: dt.datetime) -> dt.date:
    """The calendar day in China (a case accepted at 01:00 CST belongs to that day)."""
    return local(at).date()
