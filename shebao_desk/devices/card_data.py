"""The social security card's files (DOMAIN.md §2): tags, lengths and their encodings.

Shared by the reader session (decoding) and the virtual card (encoding), so the
two can never disagree about the layout.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass

AID = bytes.fromhex("7378312E73682EC9E7BBE1B1A3D5CF")  # "sx1.sh.社会保障" in GBK
SFI_EF05, SFI_EF06 = 5, 6

# tag -> (SFI, length) for every item this program reads.
EF05_ITEMS = {0x01: 16, 0x02: 1, 0x03: 4, 0x04: 12, 0x05: 4, 0x06: 4, 0x07: 9}
EF06_ITEMS = {0x08: 18, 0x09: 30, 0x4E: 20, 0x0A: 1, 0x0B: 1, 0x0C: 3, 0x0D: 4}
NAME_BYTES, NAME_EXT_BYTES = 30, 20


@dataclass(frozen=True)
class CardInfo:
    reader: str
    atr: str
    spec_version: str
    card_type: str
    card_id: str
    card_number: str
    issue_date: str
    expiry_date: str
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


def bcd_date(data: bytes) -> str:
    digits = bcd(data)
    if len(digits) != 8 or not digits.isdigit():
        raise ValueError(f"bad BCD date {data.hex()}")
    return dt.date(int(digits[:4]), int(digits[4:6]), int(digits[6:])).isoformat()


def gb_text(data: bytes) -> str:
    """GB18030 text padded with 00 or FF."""
    return data.rstrip(b"\x00\xff").decode("gb18030").strip()


def ascii_text(data: bytes) -> str:
    return data.rstrip(b"\x00\xff").decode("ascii").strip()


def to_bcd(digits: str, length: int) -> bytes:
    padded = digits + "F" * (2 * length - len(digits))
    return bytes.fromhex(padded)


def split_name(name: str) -> tuple[bytes, bytes]:
    """The name for tag 09 and the overflow for tag 4E, split on a character boundary."""
    head, tail = b"", b""
    for ch in name:
        encoded = ch.encode("gb18030")
        if not tail and len(head) + len(encoded) <= NAME_BYTES:
            head += encoded
        else:
            tail += encoded
    if len(tail) > NAME_EXT_BYTES:
        raise ValueError(f"name too long for the card: {len(head) + len(tail)} bytes")
    return head, tail
