"""How a site's public key is read over the phone, and what ``bundle trust`` accepts.

The key code is the whole 32-byte Ed25519 public key as 78 decimal digits, followed by two
check digits (ISO 7064 MOD 97-10, as in an IBAN: every mistyped digit and every swap of two
neighbours is caught), shown as 16 groups of five digits. Digits, because they are what
a clerk reads most surely over a phone line (Signal's safety numbers are 60 digits for the
same reason); the whole key, because a sender can seal a bundle only for a key it holds,
not for a hash of it — pinning by the code lets both sides seal from the very first bundle.

Older versions pinned a 32-hex-digit fingerprint (the first 128 bits of SHA-256 of the key).
Such a pin stored in the field keeps working for receiving: the full key then arrives in the
peer's bundle header and is checked against it. A new pin needs the key itself.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

KEY_BYTES = 32
CODE_DIGITS = 80  # 78 for the key (2**256 < 10**78) and 2 check digits
GROUP = 5
FINGERPRINT_HEX = 32  # the legacy pin: 128 bits, 8 groups of 4 hex digits


class PinFormatError(ValueError):
    """The text is neither a key code, a 64-hex-digit key nor a legacy fingerprint (message in Chinese)."""


def _check_digits(digits: str) -> str:
    return f"{98 - int(digits + '00') % 97:02d}"


def key_code(public: bytes) -> str:
    """The key code of an Ed25519 public key: 16 groups of five digits."""
    digits = f"{int.from_bytes(public, 'big'):078d}"
    digits += _check_digits(digits)
    return " ".join(digits[i:i + GROUP] for i in range(0, CODE_DIGITS, GROUP))


def fingerprint_hex(public: bytes) -> str:
    return hashlib.sha256(public).hexdigest().upper()[:FINGERPRINT_HEX]


def fingerprint(public: bytes) -> str:
    """The legacy fingerprint, in groups of four, for messages that compare with an old pin."""
    digest = fingerprint_hex(public)
    return " ".join(digest[i:i + 4] for i in range(0, FINGERPRINT_HEX, 4))


@dataclass(frozen=True)
class Pin:
    public: bytes | None  # the key, from a key code or 64 hex digits
    fingerprint: str  # the legacy fingerprint (32 hex digits) when only that was given

    def matches(self, public: bytes) -> bool:
        if self.public is not None:
            return self.public == public
        return fingerprint_hex(public) == self.fingerprint


def parse_pin(text: str) -> Pin:
    """A key code (80 digits), a full key (64 hex digits) or a legacy fingerprint (32 hex digits)."""
    clean = re.sub(r"[\s:：,，-]", "", text).upper()
    if len(clean) == CODE_DIGITS and clean.isascii() and clean.isdigit():
        if int(clean) % 97 != 1:
            raise PinFormatError("密钥码校验不符（有数字读错或抄错）；请与对方逐组核对后重新输入")
        value = int(clean[:-2])
        if value >= 1 << (8 * KEY_BYTES):
            raise PinFormatError("密钥码不对（数值超出范围）；请与对方逐组核对后重新输入")
        return Pin(value.to_bytes(KEY_BYTES, "big"), "")
    if not re.fullmatch(r"[0-9A-F]+", clean or "-"):
        raise PinFormatError(f"密钥码应为 {CODE_DIGITS} 位数字（{CODE_DIGITS // GROUP} 组，每组 {GROUP} 位）")
    if len(clean) == 2 * KEY_BYTES:
        return Pin(bytes.fromhex(clean), "")
    if len(clean) == FINGERPRINT_HEX:
        return Pin(None, clean)
    raise PinFormatError(f"密钥码应为 {CODE_DIGITS} 位数字（{CODE_DIGITS // GROUP} 组，每组 {GROUP} 位），现为 {len(clean)} 位")
