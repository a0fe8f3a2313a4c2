"""The social security card session: select the SSSE application, read, verify and change the PIN.

Speaks in domain terms and maps status words to typed errors; knows nothing of
pyscard. Each item is read with its exact length as Le, so a T=0 card answers
at once instead of with 6Cxx — one APDU per item.
"""

from __future__ import annotations

import logging

from shebao_desk.devices.apdu import ApduProtocol, Response, build
from shebao_desk.devices.card_data import (
    AID, EF05_ITEMS, EF06_ITEMS, SFI_EF05, SFI_EF06, CardInfo, ascii_text, bcd, bcd_date, gb_text,
)
from shebao_desk.devices.connection import Connection
from shebao_desk.devices.errors import (
    ApduError, ApplicationLockedError, BadResponseError, NeedsPsamError, NotSocialSecurityCardError,
    PinBlockedError, WrongPinError,
)
from shebao_desk.pin_policy import check_pin_format

log = logging.getLogger(__name__)

SW_RECORD_NOT_FOUND = 0x6A83
SW_SECURITY = 0x6982
SW_PIN_BLOCKED = (0x6983, 0x6984)
SW_APP_LOCKED = 0x9303


def pin_bcd(pin: str) -> bytes:
    check_pin_format(pin)
    return bytes.fromhex(pin)


class SocialSecurityCard:
    def __init__(self, connection: Connection) -> None:
        self.connection = connection
        self.protocol = ApduProtocol(connection)
        self.selected = False

    def select(self) -> None:
        response = self.protocol.send(build(0x00, 0xA4, 0x04, 0x00, AID))
        if response.sw == SW_APP_LOCKED:
            raise ApplicationLockedError()
        if not response.ok:
            raise NotSocialSecurityCardError(f"SELECT SSSE returned {response.sw:04X}")
        self.selected = True

    def read_item(self, sfi: int, tag: int, length: int) -> bytes | None:
        """The value of one record, or None if the card has no such record."""
        if not self.selected:
            self.select()
        response = self.protocol.send(build(0x00, 0xB2, tag, (sfi << 3) | 4, le=length + 2))
        if response.sw == SW_RECORD_NOT_FOUND:
            return None
        if response.sw == SW_SECURITY:
            raise NeedsPsamError()
        if not response.ok:
            raise ApduError(response.sw, f"READ RECORD {sfi:02X}/{tag:02X}")
        return self._tlv_value(response, tag)

    @staticmethod
    def _tlv_value(response: Response, tag: int) -> bytes:
        data = response.data
        if len(data) < 2 or data[0] != tag or data[1] != len(data) - 2:
            raise BadResponseError(f"record {tag:02X}: malformed TLV {data.hex()}")
        return data[2:]

    def _required(self, sfi: int, tag: int, length: int) -> bytes:
        value = self.read_item(sfi, tag, length)
        if value is None:
            raise BadResponseError(f"record {tag:02X} missing from EF{sfi:02X}")
        return value

    def read(self) -> CardInfo:
        self.select()
        try:
            card = {tag: self._required(SFI_EF05, tag, n) for tag, n in EF05_ITEMS.items() if tag != 0x04}
            spec_version = ascii_text(card[0x03])
            info = dict(
                spec_version=spec_version, card_type=ascii_text(card[0x02]), card_id=card[0x01].hex().upper(),
                card_number=ascii_text(card[0x07]), issue_date=bcd_date(card[0x05]),
                expiry_date=bcd_date(card[0x06]),
            )
            info.update(self._read_holder(generation=int(spec_version[:1]) if spec_version[:1].isdigit() else 1))
        except (ValueError, UnicodeDecodeError) as exc:
            raise BadResponseError(f"undecodable card data: {exc}") from exc
        return CardInfo(reader=self.connection.reader, atr=self.connection.atr.hex().upper(), **info)

    def _read_holder(self, generation: int) -> dict[str, str | None]:
        items = dict(EF06_ITEMS)
        if generation < 2:
            items.pop(0x4E)  # the name extension came with the second generation
        values = {}
        for tag, n in items.items():
            values[tag] = self._required(SFI_EF06, tag, n) if tag != 0x4E else self.read_item(SFI_EF06, tag, n)
        name = gb_text(values[0x09]) + (gb_text(values[0x4E]) if values.get(0x4E) else "")
        return dict(
            ssn=ascii_text(values[0x08]), name=name, sex=ascii_text(values[0x0A]),
            ethnicity=values[0x0B].hex().upper(), birthplace=bcd(values[0x0C]),
            birth_date=bcd_date(values[0x0D]),
        )

    def verify_pin(self, pin: str) -> None:
        if not self.selected:
            self.select()
        response = self.protocol.send(build(0x00, 0x20, 0x00, 0x00, pin_bcd(pin)))
        self._check_pin_sw(response.sw, "VERIFY")

    def change_pin(self, old: str, new: str) -> None:
        if not self.selected:
            self.select()
        response = self.protocol.send(build(0x80, 0x5E, 0x01, 0x00, pin_bcd(old) + b"\xff" + pin_bcd(new)))
        self._check_pin_sw(response.sw, "CHANGE PIN")

    @staticmethod
    def _check_pin_sw(sw: int, what: str) -> None:
        if sw == 0x9000:
            return
        if sw & 0xFFF0 == 0x63C0:
            if sw & 0x0F == 0:
                raise PinBlockedError()
            raise WrongPinError(sw & 0x0F)
        if sw in SW_PIN_BLOCKED:
            raise PinBlockedError()
        if sw == SW_APP_LOCKED:
            raise ApplicationLockedError()
        raise ApduError(sw, what)
