"""A model of a social security card, for tests, training and demonstrations.

It answers APDUs as a real card does: the SSSE application selected by name
with a T=0-style ``61xx`` answer, TLV records in EF05/EF06 read by SFI and tag
(``6Cxx`` when Le is wrong), the PIN with its retry counter and block, and the
3rd-generation rule that EF06 needs PSAM authentication (``6982``). It never
logs the PIN. The same model serves an in-process connection and the vpcd client.
"""

from __future__ import annotations

import datetime as dt
import threading
from dataclasses import dataclass, field
from pathlib import Path

from shebao_desk.devices.card_data import AID, SFI_EF05, SFI_EF06, split_name, to_bcd
from shebao_desk.errors import ResourceError
from shebao_desk.resources import load_toml, require

DEFAULT_ATR = bytes.fromhex("3B6D000080318065B08901F3000083019000")
FCI = bytes.fromhex("6F10840F") + AID[:-1]  # file control information, enough to be fetched with 61xx

SW_OK = b"\x90\x00"


def sw(value: int) -> bytes:
    return value.to_bytes(2, "big")


@dataclass
class Holder:
    """What a holder file says: the card's data and its behaviour."""

    spec_version: str = "3.00"
    card_type: str = "1"
    card_id: str = "611002D156000005A1B2C3D4E5F60718"
    init_org: str = "611000000001E0000000000A"
    card_number: str = "A00000001"
    issue_date: dt.date = dt.date(2024, 3, 15)
    expiry_date: dt.date = dt.date(2034, 3, 15)
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
    for key in ("issue_date", "expiry_date"):
        setattr(h, key, require(path, card, key, dt.date, "card"))
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
    if h.spec_version[:1] not in ("1", "2", "3") or len(h.spec_version) != 4:
        raise ResourceError(path, "card.spec_version 应为 1.00、2.00 或 3.00")
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
    atr: bytes = DEFAULT_ATR
    tries_left: int = field(init=False)
    _pending: bytes = field(init=False, default=b"")
    _selected: bool = field(init=False, default=False)
    _current_sfi: int | None = field(init=False, default=None)
    _pin: str = field(init=False, repr=False)
    _lock: threading.Lock = field(init=False, default_factory=threading.Lock, repr=False)
    psam_authenticated: bool = False

    def __post_init__(self) -> None:
        self.tries_left = self.holder.pin_tries
        self._pin = self.holder.pin
        self.records = self._build_records()

    # -- the files -----------------------------------------------------------

    def _build_records(self) -> dict[int, dict[int, bytes]]:
        h = self.holder
        head, tail = split_name(h.name)
        ef05 = {
            0x01: bytes.fromhex(h.card_id), 0x02: h.card_type.encode("ascii"),
            0x03: h.spec_version.encode("ascii"), 0x04: bytes.fromhex(h.init_org),
            0x05: to_bcd(f"{h.issue_date:%Y%m%d}", 4), 0x06: to_bcd(f"{h.expiry_date:%Y%m%d}", 4),
            0x07: h.card_number.encode("ascii"),
        }
        ef06 = {
            0x08: h.ssn.encode("ascii"), 0x09: head.ljust(30, b"\x00"),
            0x0A: h.sex.encode("ascii"), 0x0B: bytes.fromhex(h.ethnicity),
            0x0C: to_bcd(h.birthplace, 3), 0x0D: to_bcd(f"{h.birth_date:%Y%m%d}", 4),
        }
        if h.generation >= 2:
            ef06[0x4E] = tail.ljust(20, b"\xff")
        return {SFI_EF05: ef05, SFI_EF06: ef06}

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
            self._current_sfi = None
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
            return handler(cla, p1, p2, body)

    @staticmethod
    def _lc_data(body: bytes) -> bytes | None:
        if not body or len(body) < 1 + body[0]:
            return None
        return body[1:1 + body[0]]

    def _select(self, cla: int, p1: int, p2: int, body: bytes) -> bytes:
        data = self._lc_data(body)
        if data is None:
            return sw(0x6700)
        if p1 == 0x04:
            if data != AID or not self.holder.social_security:
                return sw(0x6A82)
            if self.holder.locked:
                return sw(0x9303)
            self._selected = True
            self._current_sfi = None
            self._pending = FCI
            return sw(0x6100 | len(FCI))
        if p1 == 0x02 and self._selected and len(data) == 2 and data[0] == 0xEF and data[1] in self.records:
            self._current_sfi = data[1]
            return SW_OK
        return sw(0x6A82)

    def _get_response(self, cla: int, p1: int, p2: int, body: bytes) -> bytes:
        if not self._pending:
            return sw(0x6985)
        le = body[0] if body else 0
        if le != len(self._pending):
            return sw(0x6C00 | len(self._pending))
        out, self._pending = self._pending, b""
        return out + SW_OK

    def _read_record(self, cla: int, p1: int, p2: int, body: bytes) -> bytes:
        if not self._selected:
            return sw(0x6985)
        sfi = p2 >> 3 if p2 & 0x07 == 0x04 and p2 >> 3 else (self._current_sfi if p2 == 0 else None)
        if sfi not in self.records:
            return sw(0x6A82 if p2 & 0x07 == 0x04 else 0x6A86)
        if sfi == SFI_EF06 and self.needs_psam and not self.psam_authenticated:
            return sw(0x6982)
        value = self.records[sfi].get(p1)
        if value is None:
            return sw(0x6A83)
        record = bytes([p1, len(value)]) + value
        le = body[0] if len(body) == 1 else 0
        if le != len(record):
            return sw(0x6C00 | len(record))
        return record + SW_OK

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
