"""Reading the State Council's holiday notice (国务院办公厅关于YYYY年部分节假日安排的通知).

The admin pastes the plain text of the notice as published; every numbered item such as
"一、元旦：1月1日（周四）至3日（周六）放假调休，共3天。1月4日（周日）上班。" is read in full, its
weekdays and day count are checked against the dates, and anything it cannot read is refused with
the line, so a misread notice never becomes a calendar. Lines that are not numbered items (the
title, the salutation, the closing) are only searched for the year.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from pathlib import Path

from shebao_desk.errors import ShebaoError

FESTIVALS = ("元旦", "春节", "清明节", "劳动节", "端午节", "中秋节", "国庆节")
NUMERALS = "一二三四五六七八九十"
WEEKDAYS = "一二三四五六日"
# Copies from web pages often carry ASCII punctuation; the official text uses full-width.
HALF_TO_FULL = str.maketrans({"(": "（", ")": "）", ":": "：", ",": "，", ";": "；"})

ITEM = re.compile(rf"^(?P<no>[{NUMERALS}]+)、(?P<name>[^：]+)：(?P<body>.+)$")
DAY = r"(?:(?P<{p}y>\d{{4}})年)?(?:(?P<{p}m>\d{{1,2}})月)?(?P<{p}d>\d{{1,2}})日（(?P<{p}w>[^）]*)）"
REST = re.compile("^" + DAY.format(p="a") + "(?:至" + DAY.format(p="b") + ")?"
                  r"放假(?:调休)?(?:，共(?P<n>\d+)天|(?P<n1>\d+)天)(?:，不调休)?$")
WORKDAY = re.compile(DAY.format(p="a"))


class NoticeError(ShebaoError):
    def __init__(self, line_no: int | None, line: str, why: str) -> None:
        where = f"第 {line_no} 行" if line_no else "通知"
        super().__init__(f"无法读懂节假日通知{where}：{why}" + (f"：「{line.strip()}」" if line else ""),
                         f"notice line {line_no}: {why}: {line!r}")


@dataclass
class Notice:
    year: int
    holidays: list[tuple[str, dt.date, dt.date]] = field(default_factory=list)
    workdays: list[dt.date] = field(default_factory=list)

    def summary(self) -> list[str]:
        out = [f"{self.year} 年节假日安排："]
        for name, start, end in self.holidays:
            n = (end - start).days + 1
            out.append(f"  {name}：{start} 至 {end} 放假，共 {n} 天")
        out.append("  调休上班：" + ("、".join(str(d) for d in self.workdays) or "无"))
        return out


def _weekday_of(text: str) -> int | None:
    """'农历腊月二十八、周日' → 6; the weekday is the last 周X / 星期X in the parentheses."""
    found = re.findall(rf"(?:周|星期)([{WEEKDAYS}天])", text)
    if not found:
        return None
    return WEEKDAYS.index("日" if found[-1] == "天" else found[-1])


def _date(match: re.Match[str], p: str, year: int, month: int | None, line_no: int, line: str) -> dt.date:
    y = int(match[f"{p}y"]) if match[f"{p}y"] else year
    m = int(match[f"{p}m"]) if match[f"{p}m"] else month
    if m is None:
        raise NoticeError(line_no, line, "日期缺少月份")
    try:
        day = dt.date(y, m, int(match[f"{p}d"]))
    except ValueError:
        raise NoticeError(line_no, line, f"没有 {y} 年 {m} 月 {match[p + 'd']} 日这一天") from None
    weekday = _weekday_of(match[f"{p}w"])
    if weekday is None:
        raise NoticeError(line_no, line, f"{day} 后的括号里没有星期几")
    if weekday != day.weekday():
        raise NoticeError(line_no, line, f"{day} 是周{WEEKDAYS[day.weekday()]}，通知写的是周{WEEKDAYS[weekday]}")
    return day


def _year(text: str) -> int:
    for pattern in (r"关于(\d{4})年部分节假日安排", r"现将(\d{4})年"):
        found = re.search(pattern, text)
        if found:
            return int(found[1])
    raise NoticeError(None, "", "找不到年份（应有“关于YYYY年部分节假日安排的通知”）")


def _canonical_name(name: str, line_no: int, line: str) -> str:
    parts = [p.strip() for p in name.split("、")]
    unknown = [p for p in parts if p not in FESTIVALS]
    if unknown or not parts:
        raise NoticeError(line_no, line, f"不认识的节日“{'、'.join(unknown) or name}”")
    return "、".join(parts)


def parse_notice(text: str) -> Notice:
    text = text.translate(HALF_TO_FULL)
    notice = Notice(_year(text))
    seen: list[str] = []
    expected = 0
    for line_no, raw in enumerate(text.splitlines(), 1):
        line = re.sub(r"\s+", "", raw)
        item = ITEM.match(line)
        if not item:
            if re.match(rf"^[{NUMERALS}]+、", line):
                raise NoticeError(line_no, raw, "编号条目的格式不对（应为“一、节日：……”）")
            continue
        if NUMERALS.index(item["no"][-1]) != expected or len(item["no"]) != 1:
            raise NoticeError(line_no, raw, f"条目编号应为“{NUMERALS[expected]}、”，前面可能缺了条目")
        expected += 1
        name = _canonical_name(item["name"], line_no, raw)
        sentences = [s for s in item["body"].split("。") if s]
        if not sentences:
            raise NoticeError(line_no, raw, "没有放假日期")
        rest = REST.match(sentences[0])
        if not rest:
            raise NoticeError(line_no, raw, f"读不懂放假日期“{sentences[0]}”")
        start = _date(rest, "a", notice.year, None, line_no, raw)
        end = _date(rest, "b", start.year, start.month, line_no, raw) if rest["bd"] else start
        days = int(rest["n"] or rest["n1"])
        if end < start or (end - start).days + 1 != days:
            raise NoticeError(line_no, raw, f"{start} 至 {end} 不是 {days} 天")
        if start.year != notice.year or end.year != notice.year:
            raise NoticeError(line_no, raw, f"放假日期跨出了 {notice.year} 年，请把跨年的部分写进相邻年份的文件")
        notice.holidays.append((name, start, end))
        for sentence in sentences[1:]:
            if not sentence.endswith("上班"):
                raise NoticeError(line_no, raw, f"读不懂“{sentence}”")
            listed = sentence[: -len("上班")]
            matches = list(WORKDAY.finditer(listed))
            if not matches or "".join(m[0] for m in matches) != listed.replace("、", ""):
                raise NoticeError(line_no, raw, f"读不懂调休上班日“{sentence}”")
            for m in matches:
                day = _date(m, "a", notice.year, None, line_no, raw)
                if day.weekday() < 5:
                    raise NoticeError(line_no, raw, f"调休上班日 {day} 不是周末")
                if day.year != notice.year:
                    raise NoticeError(line_no, raw, f"调休上班日 {day} 不在 {notice.year} 年")
                notice.workdays.append(day)
        seen += name.split("、")
    missing = [f for f in FESTIVALS if f not in seen]
    if missing:
        raise NoticeError(None, "", f"通知不完整，缺少{'、'.join(missing)}的安排")
    _check_overlaps(notice)
    notice.workdays.sort()
    return notice


def _check_overlaps(notice: Notice) -> None:
    days: dict[dt.date, str] = {}
    for name, start, end in notice.holidays:
        day = start
        while day <= end:
            if day in days:
                raise NoticeError(None, "", f"{day} 同时属于{days[day]}和{name}")
            days[day] = name
            day += dt.timedelta(days=1)
    for day in notice.workdays:
        if day in days:
            raise NoticeError(None, "", f"{day} 既放假又上班")


def read_notice(path: Path) -> Notice:
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ShebaoError(f"无法读取通知文件 {path}：{exc.strerror}", f"read {path}: {exc}") from None
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return parse_notice(raw.decode(encoding))
        except UnicodeDecodeError:
            continue
    raise ShebaoError(f"通知文件 {path} 不是 UTF-8 或 GB18030 编码的文本", f"decode {path}")
