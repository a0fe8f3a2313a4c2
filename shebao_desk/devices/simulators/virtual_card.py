"""A model of a social security card, for tests, training and demonstrations.

It answers APDUs as an ISO 7816-4 card does, written from DOMAIN.md §2 and
nothing else: the reader's decoding tables (devices/card_data.py) are *not*
imported, so a wrong tag, length or address in either one is caught by the
tests. EF05 and EF06 hold TLV records in DOMAIN.md's table order; a record's
*number* is its position in the file, its *identifier* is its tag. READ RECORD
takes P2 = ``(SFI<<3)|4`` (record number P1), ``(SFI<<3)|0`` (first record with
identifier P1) or SFI 0 for the current EF selected by file id. So
``00 B2 08 34 ..`` ("record number 8 of EF06") fails with ``6A83``, as on a real
card. T=0 cards answer SELECT with ``61xx``; on either protocol a wrong Le gets
``6Cxx``. PIN with retry counter and block; on the 3rd generation EF06 needs PSAM
authentication (``6982``). It never logs the PIN. The same model serves an
in-process connection and the vpcd client.
"""

from __future__ import annotations

import datetime as dt
import threading
from dataclasses import dataclass, field
from functools import reduce
from operator import xor
from pathlib import Path

from shebao_desk.errors import ResourceError
from shebao_desk.config.resources import load_toml, require

# From DOMAIN.md §2, literally: "sx1.sh.社会保障" in GBK.
SSSE_AID = bytes.fromhex("7378312E73682EC9E7BBE1B1A3D5CF")
EF05, EF06 = 0x05, 0x06  # SFI = low byte of the file id EF05 / EF06
ATR_T0 = bytes.fromhex("3B6D000080318065B08901F3000083019000")  # no TD1: T=0 only
_T1_BODY = bytes.fromhex("3B888001") + b"SSCARD01"  # TD1=80 -> TD2=01: T=1
ATR_T1 = _T1_BODY + bytes([reduce(xor, _T1_BODY[1:], 0)])  # + TCK, required when T=1 is indicated
DEFAULT_ATR = ATR_T0
FCI = bytes.fromhex("6F10840F") + SSSE_AID[:-1]  # file control information, enough to be fetched with 61xx
NAME_LEN, NAME_EXT_LEN = 30, 20  # 姓名 and 姓名扩展 (DOMAIN.md: 30 and 20 bytes, GBK/GB18030)

SW_OK = b"\x90\x00"


def sw(value: int) -> bytes:
    return value.to_bytes(2, "big")


def _bcd(digits: str, length: int) -> bytes:
    return bytes.fromhex(digits + "F" * (2 * length - len(digits)))


def split_name(name: str) -> tuple[bytes, bytes]:
    """GB18030 bytes of 姓名 (≤30) and 姓名扩展 (≤20), split between characters."""
    head, tail = b"", b""
    for ch in name:
        encoded = ch.encode("gb18030")
        if not tail and len(head) + len(encoded) <= NAME_LEN:
            head += encoded
        else:
            tail += encoded
    if len(tail) > NAME_EXT_LEN:
        raise ValueError(f"name too long for the card: {len(head) + len(tail)} bytes")
    return head, tail


@dataclass
class Holder:
    """What a holder file says: the card's data and its behaviour."""

    spec_version: str = "3.00"
    card_type: str = "1"
    card_id: str = "611002D156000005A1B2C3D4E5F60718"
    init_org: str = "611000000001E0000000000A"
    card_number: str = "A00000001"
    issue_date: dt.date = dt.date(2024, 3, 15)
    expiry_date: dt.date | None = dt.date(2034, 3, 15)  # None: no expiry (written as FF FF FF FF)
    ssn: str = ""
    name: str = ""
    sex: str = "1"
    ethnicity: str = "01"
    birthplace: str = "611002"
    birth_date: dt.date = dt.date(1990, 1, 1)
    pin: str = "666666"
    pin_tries: int = 3
    psam_required: bool | None = None  # None: as the generation implies (3rd generation: yes)
    social_security: bool = True  # False: a bank-only or other card without the SSSE application
    locked: bool = False
    protocol: int = 0  # 0: T=0 (61xx answers), 1: T=1

    @property
    def generation(self) -> int:
        return int(self.spec_version[0])


def load_holder(path: Path) -> Holder:
    data = load_toml(path)
    card = require(path, data, "card", dict)
    holder = require(path, data, "holder", dict)
    h = Holder()
    for key in ("spec_version", "card_type", "card_id", "card_number"):
        setattr(h, key, require(path, card, key, str, "card"))
    h.issue_date = require(path, card, "issue_date", dt.date, "card")
    h.expiry_date = card.get("expiry_date")
    if h.expiry_date is not None and not isinstance(h.expiry_date, dt.date):
        raise ResourceError(path, "card.expiry_date 应为日期（第三代卡可省略，表示无有效期）")
    for key in ("ssn", "name", "sex", "ethnicity", "birthplace"):
        setattr(h, key, require(path, holder, key, str, "holder"))
    h.birth_date = require(path, holder, "birth_date", dt.date, "holder")
    pin = data.get("pin", {})
    h.pin = str(pin.get("pin", h.pin))
    h.pin_tries = int(pin.get("tries", h.pin_tries))
    behaviour = data.get("behaviour", {})
    h.psam_required = behaviour.get("psam_required")
    h.social_security = bool(behaviour.get("social_security", True))
    h.locked = bool(behaviour.get("locked", False))
    h.protocol = int(behaviour.get("protocol", 0))
    if h.spec_version[:1] not in ("1", "2", "3") or len(h.spec_version) != 4:
        raise ResourceError(path, "card.spec_version 应为 1.00、2.00 或 3.00")
    if h.expiry_date is None and h.generation < 3:
        raise ResourceError(path, "card.expiry_date 只有第三代卡可以省略")
    if h.protocol not in (0, 1):
        raise ResourceError(path, "behaviour.protocol 应为 0（T=0）或 1（T=1）")
    if len(bytes.fromhex(h.card_id)) != 16:
        raise ResourceError(path, "card.card_id 应为 16 字节（32 位十六进制）")
    if len(h.card_number) != 9:
        raise ResourceError(path, "card.card_number 应为 9 位（字母加 8 位数字）")
    if not (len(h.pin) == 6 and h.pin.isdigit()):
        raise ResourceError(path, "pin.pin 应为 6 位数字")
    try:
        split_name(h.name)
    except ValueError:
        raise ResourceError(path, "holder.name 太长，超出卡片的姓名和姓名扩展容量") from None
    return h


@dataclass
class VirtualCard:
    holder: Holder
    atr: bytes = b""
    tries_left: int = field(init=False)
    _pending: bytes = field(init=False, default=b"")
    _selected: bool = field(init=False, default=False)
    _current_ef: int | None = field(init=False, default=None)
    _pin: str = field(init=False, repr=False)
    _lock: threading.Lock = field(init=False, default_factory=threading.Lock, repr=False)
    psam_authenticated: bool = False

    def __post_init__(self) -> None:
        self.tries_left = self.holder.pin_tries
        self._pin = self.holder.pin
        self.atr = self.atr or (ATR_T1 if self.holder.protocol == 1 else ATR_T0)
        self.records = self._build_files()
        self.pin_commands = 0  # VERIFY / CHANGE PIN commands received, for tests

    # -- the files (DOMAIN.md §2's table, in its order) -------------------------

    def _build_files(self) -> dict[int, list[tuple[int, bytes]]]:
        h = self.holder
        name, extension = split_name(h.name)
        expiry = _bcd(f"{h.expiry_date:%Y%m%d}", 4) if h.expiry_date else b"\xff" * 4
        ef05 = [
            (0x01, bytes.fromhex(h.card_id)),                  # 卡识别码, 16
            (0x02, h.card_type.encode("ascii")),               # 卡类别, 1
            (0x03, h.spec_version.encode("ascii")),            # 规范版本, 4
            (0x04, bytes.fromhex(h.init_org)),                 # 初始化机构编号, 12
            (0x05, _bcd(f"{h.issue_date:%Y%m%d}", 4)),         # 发卡日期, 4
            (0x06, expiry),                                    # 卡有效期, 4
            (0x07, h.card_number.encode("ascii")),             # 卡号, 9
        ]
        ef06 = [
            (0x08, h.ssn.encode("ascii")),                     # 社会保障号码, 18
            (0x09, name.ljust(NAME_LEN, b"\x00")),             # 姓名, 30
            (0x4E, extension.ljust(NAME_EXT_LEN, b"\xff")),    # 姓名扩展, 20 (gen >= 2)
            (0x0A, h.sex.encode("ascii")),                     # 性别, 1
            (0x0B, bytes.fromhex(h.ethnicity)),                # 民族, 1
            (0x0C, _bcd(h.birthplace, 3)),                     # 出生地, 3
            (0x0D, _bcd(f"{h.birth_date:%Y%m%d}", 4)),         # 出生日期, 4
        ]
        if h.generation < 2:
            ef06 = [(tag, value) for tag, value in ef06 if tag != 0x4E]
        return {EF05: ef05, EF06: ef06}

    def set_record(self, ef: int, tag: int, value: bytes) -> None:
        """For tests: overwrite (or damage) the value of the record with identifier ``tag``."""
        for index, (t, _) in enumerate(self.records[ef]):
            if t == tag:
                self.records[ef][index] = (tag, value)
                return
        raise KeyError(tag)

    @property
    def needs_psam(self) -> bool:
        if self.holder.psam_required is not None:
            return self.holder.psam_required
        return self.holder.generation >= 3

    @property
    def pin_blocked(self) -> bool:
        return self.tries_left == 0

    def power_on(self) -> None:
        """A reset: selection and verification are lost, as on a real card."""
        with self._lock:
            self._selected = False
            self._pending = b""
            self._current_ef = None
            self._verified = False

    # -- APDU processing -----------------------------------------------------

    def process(self, apdu: bytes) -> bytes:
        with self._lock:
            if len(apdu) < 4:
                return sw(0x6700)
            cla, ins, p1, p2 = apdu[:4]
            body = apdu[4:]
            if cla not in (0x00, 0x80):
                return sw(0x6E00)
            handler = {0xA4: self._select, 0xB2: self._read_record, 0xC0: self._get_response,
                       0x20: self._verify, 0x5E: self._change_pin}.get(ins)
            if handler is None:
                return sw(0x6D00)
            if ins != 0xC0:
                self._pending = b""
            if ins in (0x20, 0x5E):
                self.pin_commands += 1
            return handler(cla, p1, p2, body)

    @staticmethod
    def _lc_data(body: bytes) -> bytes | None:
        if not body or len(body) < 1 + body[0]:
            return None
        return body[1:1 + body[0]]

    def _answer(self, data: bytes, p2: int) -> bytes:
        """A SELECT's response data: at once on T=1, announced with 61xx on T=0."""
        if p2 & 0x0C == 0x0C or not data:  # P2 = 0C: no response data wanted
            return SW_OK
        if self.holder.protocol == 1:
            return data + SW_OK
        self._pending = data
        return sw(0x6100 | len(data))

    def _select(self, cla: int, p1: int, p2: int, body: bytes) -> bytes:
        data = self._lc_data(body)
        if data is None:
            return sw(0x6700)
        if p1 == 0x04:  # by DF name
            if data != SSSE_AID or not self.holder.social_security:
                return sw(0x6A82)
            if self.holder.locked:
                return sw(0x9303)
            self._selected = True
            self._current_ef = None
            return self._answer(FCI, p2)
        if p1 in (0x00, 0x02):  # by file id (00: any, 02: EF under the current DF)
            if not self._selected or len(data) != 2 or data[0] != 0xEF or data[1] not in self.records:
                return sw(0x6A82)
            self._current_ef = data[1]
            return SW_OK
        return sw(0x6A86)

    def _get_response(self, cla: int, p1: int, p2: int, body: bytes) -> bytes:
        if not self._pending:
            return sw(0x6985)
        le = body[0] if body else 0
        if le != len(self._pending):
            return sw(0x6C00 | len(self._pending))
        out, self._pending = self._pending, b""
        return out + SW_OK

    def _read_record(self, cla: int, p1: int, p2: int, body: bytes) -> bytes:
        """ISO 7816-4 READ RECORD: P2 b8–b4 the SFI (0: current EF), b3–b1 the addressing mode."""
        if len(body) > 1:
            return sw(0x6700)
        sfi, mode = p2 >> 3, p2 & 0x07
        if sfi == 0:
            if not self._selected or self._current_ef is None:
                return sw(0x6986)  # no current EF
            ef = self._current_ef
        elif not self._selected or sfi not in self.records:
            return sw(0x6A82)
        else:
            ef = self._current_ef = sfi
        if ef == EF06 and self.needs_psam and not self.psam_authenticated:
            return sw(0x6982)
        records = self.records[ef]
        if mode == 0x04:  # record number P1: a position, counted from 1
            if not 1 <= p1 <= len(records):
                return sw(0x6A83)
            tag, value = records[p1 - 1]
        elif mode == 0x00:  # first record whose identifier (tag) is P1
            found = [(t, v) for t, v in records if t == p1]
            if not found:
                return sw(0x6A83)
            tag, value = found[0]
        else:
            return sw(0x6A86)
        record = bytes([tag, len(value)]) + value
        le = body[0] if body else None
        if le == len(record) or (le == 0 and self.holder.protocol == 1 and len(record) <= 256):
            return record + SW_OK
        return sw(0x6C00 | len(record))

    def _check_pin(self, candidate: bytes) -> bytes | None:
        """None when right; else the status word (and one try burnt)."""
        if self.pin_blocked:
            return sw(0x6983)
        if candidate.hex() != self._pin:
            self.tries_left -= 1
            return sw(0x6983) if self.pin_blocked else sw(0x63C0 | self.tries_left)
        self.tries_left = self.holder.pin_tries
        return None

    def _verify(self, cla: int, p1: int, p2: int, body: bytes) -> bytes:
        data = self._lc_data(body)
        if data is None or len(data) != 3:
            return sw(0x6700)
        if (p1, p2) != (0, 0):
            return sw(0x6A86)
        if not self._selected:
            return sw(0x6985)
        problem = self._check_pin(data)
        if problem is None:
            self._verified = True
            return SW_OK
        return problem

    def _change_pin(self, cla: int, p1: int, p2: int, body: bytes) -> bytes:
        data = self._lc_data(body)
        if cla != 0x80:
            return sw(0x6E00)
        if data is None or len(data) != 7 or data[3] != 0xFF:
            return sw(0x6700)
        if (p1, p2) != (1, 0):
            return sw(0x6A86)
        if not self._selected:
            return sw(0x6985)
        problem = self._check_pin(data[:3])
        if problem is not None:
            return problem
        self._pin = data[4:].hex()
        return SW_OK

    def reset_pin(self, pin: str) -> None:
        """What the PSAM-backed reset at the window does: for training and tests."""
        with self._lock:
            self._pin = pin
            self.tries_left = self.holder.pin_tries

    def pin_is(self, pin: str) -> bool:
        """For tests: compare without revealing."""
        return self._pin == pin
