"""A conservative provisional calendar for a year whose official schedule is not yet published.

The State Council publishes next year's schedule between late October and early December, but a
7-working-day promise made on 23 December already reaches into January. Until the notice arrives
we compute the year from the law (《全国年节及纪念日放假办法》, in the version in force that year) and
from how the official schedules have always bridged it, and we never add make-up working weekends.

Conservative means: every day an official schedule has made a rest day is a rest day here, so a
promise computed on this calendar is never earlier than the official one would give. The price is
a few extra rest days a year (every make-up weekend, plus a bridging day the official schedule may
not take). tests/test_calendar_provisional.py proves the subset property against ``chinesecalendar``
for 2010–2026 apart from the one-off decisions listed in ``ONE_OFF_DECISIONS``.

The law is national, not county data, so the versions live here with their sources:
- 2008 version (国务院令第513号, in force 2008–2013): 春节 3 days (除夕、初一、初二), 劳动节 1.
  The schedules of that time built 3-day breaks anywhere around a one-day festival (2010 端午
  Mon–Wed, 2010 中秋 Wed–Fri, 2013 元旦 Tue–Thu), so a one-day festival rests two days either side.
- 2014 version (国务院令第644号, in force 2014–2024): 春节 3 days (初一至初三), 劳动节 1.
- 2024 version (国务院令第795号, in force from 2025): 春节 4 days (除夕至初三), 劳动节 2 (5/1–5/2).
Always: 元旦 1 (1/1), 清明 1 (the solar term), 端午 1 (五月初五), 中秋 1 (八月十五), 国庆 3 (10/1–3).

The bridging follows the principles the 2025 notice (国办发明电〔2024〕12号) states: 春节 8 days from
除夕, 国庆 7 from 10/1 (8 when 中秋 falls in it), 劳动节 5, the others 3 days "放假调休或连休"
and "如逢周三则只在当日放假". The 2026 schedule started 春节 a day early, on a Sunday; weekends
next to a break are rest days here anyway, but a break starting on a weekday before 除夕 would not
be foreseen — the official notice, once imported, replaces this.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from lunar_python import Lunar

DAY = dt.timedelta(days=1)

# Rest days decided once, outside any rule; a provisional calendar cannot foresee them.
ONE_OFF_DECISIONS: dict[dt.date, str] = {
    dt.date(2015, 9, 3): "中国人民抗日战争暨世界反法西斯战争胜利70周年纪念日",
    dt.date(2015, 9, 4): "抗战胜利70周年纪念日调休",
    dt.date(2020, 1, 31): "2020年春节假期延长（国办发明电〔2020〕1号）",
    dt.date(2020, 2, 1): "2020年春节假期延长（国办发明电〔2020〕1号）",
    dt.date(2020, 2, 2): "2020年春节假期延长（国办发明电〔2020〕1号）",
}


@dataclass(frozen=True)
class Law:
    name: str
    first_year: int
    spring_festival_from_eve: bool  # statutory days start at 除夕 (else at 初一)
    spring_festival_days: int
    labour_day_days: int
    one_day_reach: int  # 2: a one-day festival may be bridged to any 3-day block containing it


LAWS = (
    Law("2008年《全国年节及纪念日放假办法》", 2008, True, 3, 1, 2),
    Law("2014年《全国年节及纪念日放假办法》", 2014, False, 3, 1, 0),
    Law("2024年《全国年节及纪念日放假办法》", 2025, True, 4, 2, 0),
)


def law_for(year: int) -> Law:
    return [law for law in LAWS if law.first_year <= year][-1] if year >= LAWS[0].first_year else LAWS[0]


def _solar(lunar: Lunar) -> dt.date:
    s = lunar.getSolar()
    return dt.date(s.getYear(), s.getMonth(), s.getDay())


def lunar_new_years_eve(year: int) -> dt.date:
    """农历除夕 before the 正月初一 that falls in Gregorian ``year``."""
    return _solar(Lunar.fromYmd(year, 1, 1)) - DAY


def dragon_boat(year: int) -> dt.date:
    return _solar(Lunar.fromYmd(year, 5, 5))


def mid_autumn(year: int) -> dt.date:
    return _solar(Lunar.fromYmd(year, 8, 15))


def qingming(year: int) -> dt.date:
    term = Lunar.fromYmd(year, 3, 1).getJieQiTable()["清明"]
    return dt.date(term.getYear(), term.getMonth(), term.getDay())


def _span(start: dt.date, end: dt.date) -> list[dt.date]:
    return [start + DAY * i for i in range((end - start).days + 1)]


def _one_day(day: dt.date, law: Law) -> list[dt.date]:
    """A one-day festival and the days the schedules bridge it with (weekends are added later)."""
    if law.one_day_reach:
        return _span(day - DAY * law.one_day_reach, day + DAY * law.one_day_reach)
    weekday = day.weekday()
    if weekday == 1:  # Tuesday takes the Monday
        return [day - DAY, day]
    if weekday == 3:  # Thursday takes the Friday
        return [day, day + DAY]
    if weekday == 5:  # Saturday: made up on the Monday (2015/2025 端午, 2020 清明, 2022 中秋 and 元旦)
        return [day, day + DAY * 2]
    if weekday == 6:  # Sunday: made up on the Monday
        return [day, day + DAY]
    # Monday, Friday: the weekend bridges it. Wednesday: since 2014 never bridged
    # (元旦 2014/2020/2025, 清明 2023), so it stays one day.
    return [day]


def festivals(year: int) -> dict[dt.date, str]:
    """Rest days of ``year`` by rule, before weekends are added: each with its festival's name."""
    law = law_for(year)
    rest: dict[dt.date, str] = {}

    def put(days: list[dt.date], name: str) -> None:
        for d in days:
            if d.year == year:
                rest.setdefault(d, name)

    put(_one_day(dt.date(year, 1, 1), law), "元旦")
    # Next year's 元旦 on a Tuesday (or, under the 2008 practice, early in the week) takes 31 December.
    put(_one_day(dt.date(year + 1, 1, 1), law_for(year + 1)), "元旦")
    eve = lunar_new_years_eve(year)
    first = eve if law.spring_festival_from_eve else eve + DAY
    put(_span(first, first + DAY * (law.spring_festival_days - 1)), "春节")  # the statutory days
    # The schedules make 7–9 day breaks starting at 除夕 or 初一: rest 除夕 to 初七 (8 days).
    put(_span(eve, eve + DAY * 7), "春节")
    put(_one_day(qingming(year), law), "清明节")
    labour = dt.date(year, 5, 1)
    put(_span(labour, labour + DAY * (law.labour_day_days - 1)), "劳动节")  # the statutory days
    # A 5-day break (5/1–5/5) since 2020, 3–4 days before; a Tuesday 5/1 takes the Monday.
    put(_span(labour, labour + DAY * 4) + _one_day(labour, law), "劳动节")
    put(_one_day(dragon_boat(year), law), "端午节")
    autumn = mid_autumn(year)
    national = _span(dt.date(year, 10, 1), dt.date(year, 10, 7))
    if autumn in national:  # 中秋 inside the National Day week lengthens it by a day (2017, 2020, 2025)
        put(national + [dt.date(year, 10, 8)], "国庆节、中秋节")
    else:
        put(_one_day(autumn, law), "中秋节")
        put(national, "国庆节")
    return rest


def provisional_holidays(year: int) -> dict[dt.date, str]:
    """Rest days of ``year`` that are not plain weekends, widened over adjacent weekends.

    Weekend days that touch a festival block are listed with its name (as the official files do)
    so that no make-up working weekend can ever appear next to a break.
    """
    rest = festivals(year)
    for day in sorted(rest):
        name = rest[day]
        for step in (DAY, -DAY):
            d = day + step
            while d.year == year and d.weekday() >= 5:
                rest.setdefault(d, name)
                d += step
    return dict(sorted(rest.items()))


def provisional_workdays(year: int) -> list[dt.date]:
    rest = provisional_holidays(year)
    return [d for d in _span(dt.date(year, 1, 1), dt.date(year, 12, 31)) if d.weekday() < 5 and d not in rest]
