"""PIN entry on the reader's own keypad: PC/SC v2 part 10 (secure PIN entry), without pyscard.

The reader lists its features as TLVs (tag, 4, big-endian control code) in answer to
CM_IOCTL_GET_FEATURE_REQUEST; FEATURE_VERIFY_PIN_DIRECT / FEATURE_MODIFY_PIN_DIRECT take a
PIN_VERIFY_STRUCTURE / PIN_MODIFY_STRUCTURE whose abData is the card's own APDU with the PIN
block left blank; the reader fills it from its keypad, so the PIN never reaches this PC.
Our card's PINs are packed BCD (VERIFY ``00 20 00 00 03 pin``; CHANGE PIN
``80 5E 01 00 07 old FF new``, DOMAIN.md), so the block is pin_length/2 bytes, at byte 0 of
the command data (old PIN) and at byte 4 (new PIN).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import Protocol

from shebao_desk.devices.connection import Connection
from shebao_desk.devices.errors import DeviceError

FEATURE_VERIFY_PIN_DIRECT = 0x06
FEATURE_MODIFY_PIN_DIRECT = 0x07
GET_FEATURE_REQUEST = 3400  # CM_IOCTL_GET_FEATURE_REQUEST = SCARD_CTL_CODE(3400)

# bmFormatString: bit 7 system unit = byte; bits 6-3 PIN position 0; bit 2 left justified; bits 1-0 BCD.
FORMAT_BYTES_BCD_LEFT = 0x81
VALIDATE_BY_KEY = 0x02       # bEntryValidationCondition: the OK key ends the entry
LANG_ZH_CN = 0x0804          # wLangId
CONFIRM_NEW = 0x01           # bConfirmPIN bit 0: the new PIN is typed twice
ENTER_CURRENT = 0x02         # bConfirmPIN bit 1: the current PIN is typed too
BLANK = 0xFF                 # the PIN block before the reader fills it

# The reader's own answers instead of the card's (part 10, secure PIN entry results).
SW_TIMEOUT, SW_CANCELLED, SW_MISMATCH, SW_BAD_LENGTH = 0x6400, 0x6401, 0x6402, 0x6403
SW_BAD_PARAMETER = 0x6B80


class PinPadError(DeviceError):
    """The reader ended the PIN entry itself (timeout, cancel, mismatch): nothing reached the card."""


def pad_error(sw: int) -> PinPadError | None:
    messages = {
        SW_TIMEOUT: "持卡人未在规定时间内输入密码，请重新办理",
        SW_CANCELLED: "持卡人在密码键盘上按了取消",
        SW_MISMATCH: "两次输入的新密码不一致，请重新输入",
        SW_BAD_LENGTH: "输入的密码位数不对，请重新输入",
        SW_BAD_PARAMETER: "密码键盘不支持该卡的密码格式，请改用屏幕密码键盘",
    }
    text = messages.get(sw)
    return PinPadError(text, f"PIN pad answered {sw:04X}") if text else None


def parse_features(data: bytes) -> dict[int, int]:
    """The TLV list of CM_IOCTL_GET_FEATURE_REQUEST: {feature tag: control code}."""
    out: dict[int, int] = {}
    i = 0
    while i + 2 <= len(data):
        tag, length = data[i], data[i + 1]
        value = data[i + 2:i + 2 + length]
        if length == 4 and len(value) == 4:
            out[tag] = int.from_bytes(value, "big")
        i += 2 + length
    return out


def _block_bytes(pin_length: int) -> int:
    return (pin_length + 1) // 2


def verify_structure(pin_length: int) -> bytes:
    """PIN_VERIFY_STRUCTURE for VERIFY ``00 20 00 00``: the holder types ``pin_length`` digits."""
    block = _block_bytes(pin_length)
    apdu = bytes([0x00, 0x20, 0x00, 0x00, block]) + bytes([BLANK]) * block
    return struct.pack("<BBBBBHBBHB3sI", 0, 0, FORMAT_BYTES_BCD_LEFT, block, 0x00,
                       (pin_length << 8) | pin_length, VALIDATE_BY_KEY, 0x01, LANG_ZH_CN, 0x00,
                       b"\x00\x00\x00", len(apdu)) + apdu


def modify_structure(pin_length: int, current: str | None = None) -> bytes:
    """PIN_MODIFY_STRUCTURE for CHANGE PIN ``80 5E 01 00``: old PIN, FF, new PIN.

    ``current``: the initial PIN the window already knows (activation, Art. 14), put in the APDU
    so the holder types only the new PIN twice; None: the holder types the current PIN as well.
    """
    block = _block_bytes(pin_length)
    old = bytes.fromhex(current) if current is not None else bytes([BLANK]) * block
    data = old + b"\xff" + bytes([BLANK]) * block
    apdu = bytes([0x80, 0x5E, 0x01, 0x00, len(data)]) + data
    confirm = CONFIRM_NEW if current is not None else CONFIRM_NEW | ENTER_CURRENT
    messages = (2, 0x00, 0x01, 0x02) if current is not None else (3, 0x00, 0x01, 0x02)
    return struct.pack("<BBBBBBBHBBBHBBB3sI", 0, 0, FORMAT_BYTES_BCD_LEFT, block, 0x00, 0, block + 1,
                       (pin_length << 8) | pin_length, confirm, VALIDATE_BY_KEY, messages[0], LANG_ZH_CN,
                       messages[1], messages[2], messages[3], b"\x00\x00\x00", len(apdu)) + apdu


class PinPadConnection(Connection, Protocol):
    """A card in a reader that may have a keypad (devices.pcsc.PcscConnection)."""

    def control(self, code: int, data: bytes) -> bytes:
        """SCardControl with a control code from the reader's feature list."""

    def features(self) -> dict[int, int]:
        """The reader's part 10 features: {tag: control code}; empty when it has none."""


@dataclass(frozen=True)
class PinPadSupport:
    verify: int | None
    modify: int | None

    @property
    def usable(self) -> bool:
        return self.verify is not None and self.modify is not None


def support_of(features: dict[int, int]) -> PinPadSupport:
    return PinPadSupport(features.get(FEATURE_VERIFY_PIN_DIRECT), features.get(FEATURE_MODIFY_PIN_DIRECT))
