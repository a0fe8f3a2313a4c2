"""The social security card session: select the SSSE application, read, verify and change the PIN.

Speaks in domain terms and maps status words to typed errors; knows nothing of
pyscard. Each item is read with its exact length as Le, so a T=0 card answers
at once instead of with 6Cxx — one APDU per item.

Addressing (DOMAIN.md §2): select EF05/EF06 by file id (``00 A4 00 00 02 EF 0x``),
then READ RECORD by *identifier* in the current EF (P1 = tag, P2 = ``00``). Chosen
over identifier mode by SFI (P2 = SFI<<3) because it is what the public vendor
readers for deployed cards send, so it is the form real cards are known to
answer; it costs one SELECT per file (2 APDUs per full read). Record *numbers*
are positions, not tags, and are never used.

A read sends its APDUs back to back (:meth:`SocialSecurityCard.read_files`) and checks and decodes
the answers after them (:meth:`SocialSecurityCard.decode`): the same checks and errors, and no APDU
after a refused one. Only damaged EF05 *data* is now found after EF06 was read, so a card that also
fails EF06 (no PSAM, pulled) reports that failure first.
"""

from __future__ import annotations

import datetime as dt
import functools
import logging
from typing import NamedTuple

from shebao_desk.devices.apdu import SW_OK, ApduProtocol, build
from shebao_desk.devices.card_data import (
    AID, EF05_ITEMS, EF06_ITEMS, FID_EF05, FID_EF06, TAG_NAME_EXT, CardInfo, decode_card, decode_holder,
)
from shebao_desk.devices.connection import Connection
from shebao_desk.devices.errors import (
    ApduError, ApplicationLockedError, BadResponseError, NeedsPsamError, NotSocialSecurityCardError,
    PinBlockedError, WrongPinError,
)
from shebao_desk.rules.pin_policy import check_pin_format

log = logging.getLogger(__name__)

SW_FILE_NOT_FOUND = 0x6A82
SW_RECORD_NOT_FOUND = 0x6A83
SW_SECURITY = 0x6982
SW_PIN_BLOCKED = (0x6983, 0x6984)
SW_APP_LOCKED = 0x9303
P2_CURRENT_EF_FIRST_ID = 0x00  # READ RECORD: current EF, first record whose identifier is P1
Records = tuple[tuple[int, int], ...]  # (tag, value length) of the items to read, in order
EF05_RECORDS: Records = tuple(EF05_ITEMS.items())
EF06_RECORDS: Records = tuple(EF06_ITEMS.items())
_VERSION_RECORD = [tag for tag, _ in EF05_RECORDS].index(0x03)  # 规范版本: "1.00" .. "3.xx"
EF06_RECORDS_GEN1: Records = tuple(item for item in EF06_RECORDS if item[0] != TAG_NAME_EXT)  # extension: gen 2 on


SELECT_SSSE = build(0x00, 0xA4, 0x04, 0x00, AID)
GO_ON_SELECT = frozenset({SW_OK})
GO_ON_RECORD = frozenset({SW_OK, SW_RECORD_NOT_FOUND})  # a record the card does not have is read as None

FilePlan = tuple[tuple[bytes, frozenset[int]], ...]  # an ApduProtocol.send_all plan
Answers = list[tuple[bytes, int]]


class CardFiles(NamedTuple):
    """The answers of a whole read, before their checks (SocialSecurityCard.read_files)."""

    select_application: bool  # the run of EF05 began with the application's SELECT
    ef05: Answers
    ef06_records: Records
    ef06: Answers


@functools.cache
def _read_record(tag: int, length: int) -> bytes:
    """READ RECORD of identifier ``tag`` in the current EF, asking for the TLV's exact length."""
    return build(0x00, 0xB2, tag, P2_CURRENT_EF_FIRST_ID, le=length + 2)


@functools.cache
def _select_file(fid: bytes) -> bytes:
    return build(0x00, 0xA4, 0x00, 0x00, fid)


@functools.cache
def _file_plan(fid: bytes, items: Records, select_application: bool) -> FilePlan:
    """The APDUs that read a file's items: the application's SELECT when not made yet, the file's, its records."""
    plan = [(SELECT_SSSE, GO_ON_SELECT)] if select_application else []
    plan.append((_select_file(fid), GO_ON_SELECT))
    plan.extend((_read_record(tag, length), GO_ON_RECORD) for tag, length in items)
    return tuple(plan)


def pin_bcd(pin: str) -> bytes:
    check_pin_format(pin)
    return bytes.fromhex(pin)


class SocialSecurityCard:
    def __init__(self, connection: Connection) -> None:
        self.connection = connection
        self.protocol = ApduProtocol(connection)
        self.selected = False

    def select(self) -> None:
        self._check_application(self.protocol.send(SELECT_SSSE).sw)

    def _check_application(self, sw: int) -> None:
        if sw == SW_APP_LOCKED:
            raise ApplicationLockedError()
        if sw != SW_OK:
            raise NotSocialSecurityCardError(f"SELECT SSSE returned {sw:04X}")
        self.selected = True

    def select_file(self, fid: bytes) -> None:
        """Make EF05 or EF06 the current EF (by file id, as deployed readers do)."""
        if not self.selected:
            self.select()
        self._check_file(fid, self.protocol.send(_select_file(fid)).sw)

    @staticmethod
    def _check_file(fid: bytes, sw: int) -> None:
        if sw == SW_SECURITY:
            raise NeedsPsamError()
        if sw == SW_FILE_NOT_FOUND:
            raise NotSocialSecurityCardError(f"SELECT {fid.hex().upper()} returned 6A82")
        if sw != SW_OK:
            raise ApduError(sw, f"SELECT {fid.hex().upper()}")

    def read_item(self, tag: int, length: int) -> bytes | None:
        """The value of the record with identifier ``tag`` in the current EF, or None if there is none."""
        data, sw = self.protocol.send(_read_record(tag, length))
        return self._item(tag, length, data, sw)

    @staticmethod
    def _item(tag: int, length: int, data: bytes, sw: int) -> bytes | None:
        """A READ RECORD's answer: the TLV's value, None for a record the card does not have."""
        if sw == SW_OK:
            if len(data) < 2 or data[0] != tag or data[1] != len(data) - 2 or data[1] > length:
                raise BadResponseError(f"record {tag:02X}: malformed TLV of {len(data)} bytes")
            return data[2:]
        if sw == SW_RECORD_NOT_FOUND:
            return None
        if sw == SW_SECURITY:
            raise NeedsPsamError()
        raise ApduError(sw, f"READ RECORD {tag:02X}")

    def _send_file(self, fid: bytes, records: Records) -> Answers:
        """The answers to a file's APDUs, sent as one run (:meth:`ApduProtocol.send_all`). A run that
        stopped early stopped at an error: its check raises here, and nothing more is sent."""
        select_application = not self.selected
        plan = _file_plan(fid, records, select_application)
        answers = self.protocol.send_all(plan)
        if len(answers) < len(plan):
            self._items(fid, records, select_application, answers)
            raise AssertionError("a run stopped at an answer that passed its check")  # not reached
        self.selected = True  # the application's SELECT, if sent, answered 9000: the run went on after it
        return answers

    def _items(self, fid: bytes, records: Records, select_application: bool, answers: Answers) -> dict[int, bytes | None]:
        """The file's items from its answers, every status word and TLV checked, in the order sent."""
        rest = iter(answers)
        if select_application:
            self._check_application(next(rest)[1])
        self._check_file(fid, next(rest)[1])
        item = self._item
        # strict: a run that stopped early raises at its last answer, before the records run out
        return {tag: item(tag, length, data, sw) for (tag, length), (data, sw) in zip(records, rest, strict=True)}

    def read_files(self) -> CardFiles:
        """The APDUs of a whole read, back to back; :meth:`decode` checks the answers.

        Our code between two round trips is kept to the transmit: work done there (checks,
        decoding) ran with cold caches and let pcscd's and the card's side go idle, so that the
        next round trip was slower too; measured beside a bare loop, about a tenth of a read."""
        select_application = not self.selected
        ef05 = self._send_file(FID_EF05, EF05_RECORDS)
        # The generation (EF05 tag 03, "1.00".."3.xx") decides whether EF06 has the name extension; a
        # damaged version is refused by decode_card, whichever records were read.
        data, sw = ef05[(2 if select_application else 1) + _VERSION_RECORD]  # after the SELECT(s)
        records = EF06_RECORDS_GEN1 if sw == SW_OK and data[2:3] == b"1" else EF06_RECORDS
        return CardFiles(select_application, ef05, records, self._send_file(FID_EF06, records))

    def decode(self, files: CardFiles) -> CardInfo:
        today = dt.date.today()
        card = decode_card(self._items(FID_EF05, EF05_RECORDS, files.select_application, files.ef05), today)
        holder = decode_holder(self._items(FID_EF06, files.ef06_records, False, files.ef06), today)
        return CardInfo(reader=self.connection.reader, atr=self.connection.atr.hex().upper(), **card, **holder)

    def read(self) -> CardInfo:
        return self.decode(self.read_files())

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

    check_pin_sw = _check_pin_sw  # also for a PIN typed on the reader's keypad (pinpad_operations)
