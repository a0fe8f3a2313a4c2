"""The reader's view of the social security card's files (DOMAIN.md §2): tags, lengths, decoding, checks.

Only the reader uses this module. The virtual card writes its files from its own
copy of DOMAIN.md's table (devices/simulators/virtual_card.py), so a wrong tag or length
here is caught by the tests instead of being shared by both sides.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from dataclasses import asdict, dataclass
from typing import TypedDict

from shebao_desk.devices.errors import CardDataDamagedError
from shebao_desk.rules.idnumber import check_digit, mask_id_number

AID = bytes.fromhex("7378312E73682EC9E7BBE1B1A3D5CF")  # "sx1.sh.社会保障" in GBK
FID_EF05, FID_EF06 = b"\xef\x05", b"\xef\x06"

# tag -> value length, in the order the reader asks for them (04, the issuer number, is not needed).
EF05_ITEMS = {0x01: 16, 0x02: 1, 0x03: 4, 0x05: 4, 0x06: 4, 0x07: 9}
EF06_ITEMS = {0x08: 18, 0x09: 30, 0x4E: 20, 0x0A: 1, 0x0B: 1, 0x0C: 3, 0x0D: 4}
TAG_EXPIRY, TAG_NAME_EXT = 0x06, 0x4E

CARD_NUMBER = re.compile(r"[A-Z][0-9]{8}")
SPEC_VERSION = re.compile(r"[1-3]\.[0-9]{2}")  # generations 1–3
ETHNICITIES = {f"{n:02d}" for n in range(1, 57)} | {"97", "98"}  # GB 3304, BCD
FIRST_ISSUE = dt.date(1990, 1, 1)
_BAD_NAME_CATEGORIES = {"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"}


@dataclass(frozen=True)
class CardInfo:
    reader: str
    atr: str
    spec_version: str
    card_type: str
    card_id: str
    card_number: str
    issue_date: str
    expiry_date: str | None  # None: a 3rd-generation card without an expiry
    ssn: str | None
    name: str | None
    sex: str | None
    ethnicity: str | None
    birthplace: str | None
    birth_date: str | None

    @property
    def generation(self) -> int:
        return int(self.spec_version[:1]) if self.spec_version[:1].isdigit() else 0

    def as_json(self) -> dict[str, str | None]:
        return asdict(self)


def bcd(data: bytes) -> str:
    """BCD digits, dropping F padding nibbles."""
    return data.hex().upper().rstrip("F")


def _damaged(item: str, detail: str) -> CardDataDamagedError:
    return CardDataDamagedError(item, detail)


def bcd_date(data: bytes, item: str = "日期") -> dt.date:
    digits = bcd(data)
    if len(digits) != 8 or not digits.isdigit():
        raise _damaged(item, f"bad BCD date {data.hex()}")
    try:
        return dt.date(int(digits[:4]), int(digits[4:6]), int(digits[6:]))
    except ValueError:
        raise _damaged(item, f"impossible date {digits}") from None


def is_blank(data: bytes) -> bool:
    """An item the issuer left empty: no bytes, all 00 or all FF."""
    return not data.strip(b"\x00") or not data.strip(b"\xff")


def gb_text(data: bytes, item: str) -> str:
    """GB18030 text padded with 00 or FF; control and unassigned characters mean damage."""
    try:
        text = data.rstrip(b"\x00").rstrip(b"\xff").decode("gb18030").strip()
    except UnicodeDecodeError:
        raise _damaged(item, f"undecodable GB18030 ({len(data)} bytes)") from None
    # isprintable() is false for every bad category (and for spaces other than " "): look closer only then.
    if not text.isprintable() and any(unicodedata.category(ch) in _BAD_NAME_CATEGORIES for ch in text):
        raise _damaged(item, "control or unassigned character in text")
    return text


def ascii_text(data: bytes, item: str) -> str:
    raw = data.rstrip(b"\x00").rstrip(b"\xff")
    # Printable ASCII, 20-7E: for ASCII text isprintable() excludes exactly 00-1F and 7F.
    if not raw.isascii() or not (text := raw.decode("ascii")).isprintable():
        raise _damaged(item, f"not printable ASCII: {data.hex()}")
    return text.strip()


def check_ssn(ssn: str) -> str:
    """The social security number (= the ID number) must pass GB 11643 as printed on the card."""
    if len(ssn) != 18 or not (ssn[:17].isdigit() and (ssn[17].isdigit() or ssn[17] == "X")):
        raise _damaged("社会保障号码", f"SSN of wrong form ({len(ssn)} characters)")
    try:
        dt.date(int(ssn[6:10]), int(ssn[10:12]), int(ssn[12:14]))
    except ValueError:
        raise _damaged("社会保障号码", f"SSN {mask_id_number(ssn)} has no real birth date") from None
    if check_digit(ssn[:17]) != ssn[17]:
        raise _damaged("社会保障号码", f"SSN {mask_id_number(ssn)} fails the GB 11643 check digit")
    return ssn


def decode_birthplace(value: bytes | None) -> str | None:
    """出生地 (EF06 tag 0C) as a 6-digit region code, or None when the card leaves it unknown.

    Cards are issued with the item blank (FF or 00 filled), short (a 2- or 4-digit code, F-padded)
    or absent; public reader code shows such a card's birthplace as unknown and reads the rest, and
    so do we: nothing else depends on it (the ID number carries the region of registration)."""
    if value is None or is_blank(value):
        return None
    digits = bcd(value)
    return digits if len(digits) == 6 and digits.isdigit() else None


class CardItems(TypedDict):
    """EF05 decoded: the card's own fields of CardInfo."""

    spec_version: str
    card_type: str
    card_id: str
    card_number: str
    issue_date: str
    expiry_date: str | None


class HolderItems(TypedDict):
    """EF06 decoded: the holder's fields of CardInfo."""

    ssn: str
    name: str
    sex: str
    ethnicity: str
    birthplace: str | None
    birth_date: str


def decode_card(ef05: dict[int, bytes | None], today: dt.date | None = None) -> CardItems:
    """EF05's items as CardInfo fields, each checked."""
    def need(tag: int, item: str) -> bytes:
        value = ef05.get(tag)
        if value is None:
            raise _damaged(item, f"EF05 record {tag:02X} missing")
        return value

    spec_version = ascii_text(need(0x03, "规范版本"), "规范版本")
    if not SPEC_VERSION.fullmatch(spec_version):
        raise _damaged("规范版本", f"spec version {spec_version!r}")
    card_number = ascii_text(need(0x07, "卡号"), "卡号")
    if not CARD_NUMBER.fullmatch(card_number):
        raise _damaged("卡号", f"card number of wrong form ({len(card_number)} characters)")
    card_type = ascii_text(need(0x02, "卡类别"), "卡类别")
    if len(card_type) != 1 or not card_type.isdigit():
        raise _damaged("卡类别", f"card type {card_type!r}")
    issue = bcd_date(need(0x05, "发卡日期"), "发卡日期")
    if not FIRST_ISSUE <= issue <= (today or dt.date.today()):
        raise _damaged("发卡日期", f"issue date {issue}")
    expiry_raw = ef05.get(TAG_EXPIRY)
    generation = int(spec_version[0])
    if generation >= 3 and (expiry_raw is None or is_blank(expiry_raw)):
        expiry = None  # 3rd-generation cards may be issued without an expiry
    else:
        expires = bcd_date(need(TAG_EXPIRY, "卡有效期"), "卡有效期")
        if expires <= issue:
            raise _damaged("卡有效期", f"expiry {expires} not after issue {issue}")
        expiry = expires.isoformat()
    return CardItems(spec_version=spec_version, card_type=card_type, card_id=need(0x01, "卡识别码").hex().upper(),
                card_number=card_number, issue_date=issue.isoformat(), expiry_date=expiry)


def decode_holder(ef06: dict[int, bytes | None], today: dt.date | None = None) -> HolderItems:
    """EF06's items as CardInfo fields, each checked."""
    def need(tag: int, item: str) -> bytes:
        value = ef06.get(tag)
        if value is None:
            raise _damaged(item, f"EF06 record {tag:02X} missing")
        return value

    ssn = check_ssn(ascii_text(need(0x08, "社会保障号码"), "社会保障号码"))
    name = gb_text(need(0x09, "姓名"), "姓名")
    extension = ef06.get(TAG_NAME_EXT)
    if extension:
        name += gb_text(extension, "姓名扩展")
    if not name:
        raise _damaged("姓名", "empty name")
    sex = ascii_text(need(0x0A, "性别"), "性别")
    if sex not in ("1", "2"):
        raise _damaged("性别", f"sex code {need(0x0A, '性别').hex()}")
    ethnicity = need(0x0B, "民族").hex().upper()
    if ethnicity not in ETHNICITIES:
        raise _damaged("民族", f"ethnicity byte {ethnicity}")
    birthplace = decode_birthplace(ef06.get(0x0C))
    birth = bcd_date(need(0x0D, "出生日期"), "出生日期")
    if birth > (today or dt.date.today()):
        raise _damaged("出生日期", f"birth date {birth} in the future")
    birth_date = birth.isoformat()
    # The SSN repeats the birth date and the sex (GB 11643): a disagreement means one of them is damaged.
    if ssn[6:14] != birth_date.replace("-", ""):
        raise _damaged("出生日期", "birth date disagrees with the SSN")
    if int(ssn[16]) % 2 != (1 if sex == "1" else 0):
        raise _damaged("性别", "sex disagrees with the SSN")
    return HolderItems(ssn=ssn, name=name, sex=sex, ethnicity=ethnicity, birthplace=birthplace, birth_date=birth_date)
