"""Resident ID numbers (GB 11643-1999): validation with a reason, and masking.

``parse_id_number`` returns the facts an ID number carries (region, birth date,
sex) or raises :class:`InvalidIdNumber` whose ``reason`` says exactly which rule
failed, so the form can tell the clerk what to look at while typing.
"""

from __future__ import annotations

import datetime as dt
import enum
import operator
import re
import unicodedata
from dataclasses import dataclass

from shebao_desk.clock import local_day, now_utc
from shebao_desk.errors import ValidationError

_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CHECK_CHARS = "10X98765432"
_ZERO_WEIGHTED = ord("0") * sum(_WEIGHTS)
MAX_AGE_YEARS = 150


@dataclass(frozen=True)
class Regions:
    """GB/T 2260 region codes and their names (the table is the county's ``regions.toml``, see config.regions)."""

    provinces: dict[str, str]
    codes: dict[str, str]
    historic: dict[str, str]
    detailed_provinces: frozenset[str]

    def name(self, code: str) -> str | None:
        """The region's name, or None if the code is unknown."""
        if code in self.codes:
            return self.codes[code]
        if code in self.historic:
            return self.historic[code]
        if code[:2] in self.provinces and code[:2] not in self.detailed_provinces:
            return self.provinces[code[:2]]
        return None

    def is_known(self, code: str) -> bool:
        return self.name(code) is not None


class IdProblem(enum.Enum):
    EMPTY = "请输入身份证号码"
    LENGTH = "身份证号码应为 18 位（现为 {n} 位）"
    CHARACTERS = "身份证号码前 17 位应为数字，最后一位为数字或 X"
    REGION = "前 6 位地区代码 {code} 不存在"
    BIRTH_DATE = "出生日期 {text} 不是有效日期"
    BIRTH_FUTURE = "出生日期 {text} 晚于今天"
    BIRTH_TOO_OLD = "出生日期 {text} 早于 150 年前"
    CHECK_DIGIT = "校验位错误：最后一位应为 {expected}，请逐位核对号码"


class InvalidIdNumber(ValidationError):
    def __init__(self, problem: IdProblem, **facts: object) -> None:
        text = problem.value.format(**facts)
        super().__init__(text, f"invalid ID number: {problem.name} {facts}")
        self.problem = problem


@dataclass(frozen=True)
class IdNumber:
    number: str
    region_code: str
    region_name: str
    birth_date: dt.date
    sex: str  # "1" male, "2" female, as on the card

    @property
    def masked(self) -> str:
        return mask_id_number(self.number)


def normalise(text: str) -> str:
    """Full-width digits from a Chinese IME become ASCII; spaces go; x becomes X."""
    return unicodedata.normalize("NFKC", text).replace(" ", "").strip().upper()


def check_digit(first17: str) -> str:
    if len(first17) == 17 and first17.isascii() and first17.isdigit():
        # The digits' byte values weighted in C (every card read checks one): less 48 ("0") per weight.
        return _CHECK_CHARS[(sum(map(operator.mul, first17.encode(), _WEIGHTS)) - _ZERO_WEIGHTED) % 11]
    total = sum(int(d) * w for d, w in zip(first17, _WEIGHTS, strict=True))
    return _CHECK_CHARS[total % 11]


def parse_id_number(text: str, *, regions: Regions, today: dt.date | None = None) -> IdNumber:
    number = normalise(text)
    if not number:
        raise InvalidIdNumber(IdProblem.EMPTY)
    if len(number) != 18:
        raise InvalidIdNumber(IdProblem.LENGTH, n=len(number))
    if not (number[:17].isdigit() and number[:17].isascii() and (number[17].isdigit() or number[17] == "X")):
        raise InvalidIdNumber(IdProblem.CHARACTERS)
    region = number[:6]
    region_name = regions.name(region)
    if region_name is None:
        raise InvalidIdNumber(IdProblem.REGION, code=region)
    birth_text = number[6:14]
    try:
        birth = dt.date(int(birth_text[:4]), int(birth_text[4:6]), int(birth_text[6:8]))
    except ValueError:
        raise InvalidIdNumber(IdProblem.BIRTH_DATE, text=birth_text) from None
    today = today or local_day(now_utc())  # China's date, not the PC's zone
    if birth > today:
        raise InvalidIdNumber(IdProblem.BIRTH_FUTURE, text=birth.isoformat())
    if birth.year < today.year - MAX_AGE_YEARS:
        raise InvalidIdNumber(IdProblem.BIRTH_TOO_OLD, text=birth.isoformat())
    expected = check_digit(number[:17])
    if number[17] != expected:
        raise InvalidIdNumber(IdProblem.CHECK_DIGIT, expected=expected)
    sex = "1" if int(number[16]) % 2 else "2"
    return IdNumber(number, region, region_name, birth, sex)


def id_problem(text: str, *, regions: Regions, today: dt.date | None = None) -> str | None:
    """The reason ``text`` is not a valid ID number, or None when it is."""
    try:
        parse_id_number(text, regions=regions, today=today)
    except InvalidIdNumber as exc:
        return exc.message
    return None


def mask_id_number(number: str | None) -> str:
    """For lists and logs: keep the first 4 and last 4 characters."""
    if not number:
        return ""
    if len(number) <= 8:
        return "*" * len(number)
    return number[:4] + "*" * (len(number) - 8) + number[-4:]


# A whole ID number inside free text (a log line, a traceback, a driver's message): not part of a longer number.
ID_NUMBER_IN_TEXT = re.compile(r"(?<![0-9])[1-9]\d{16}[\dXx](?![0-9])")


def mask_id_numbers(text: str) -> str:
    """Every whole ID number in ``text`` masked as :func:`mask_id_number` masks one: the one masking of logs."""
    return ID_NUMBER_IN_TEXT.sub(lambda m: mask_id_number(m.group(0)), text)


def make_id_number(region: str, birth: dt.date, sequence: int) -> str:
    """A valid ID number (for demo data and tests): ``sequence`` is the 3-digit order code."""
    first17 = f"{region}{birth:%Y%m%d}{sequence:03d}"
    return first17 + check_digit(first17)

