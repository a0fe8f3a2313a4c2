"""PIN operations typed on the reader's keypad (PC/SC part 10): the PIN never reaches this PC.

Like :mod:`operations`, one connection per job, the card reset on release. The deadline is
long: the holder is typing on the reader, which ends the entry itself after its own timeout.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from shebao_desk.devices.deadline import with_deadline
from shebao_desk.devices.pinpad import (
    PinPadConnection, PinPadSupport, modify_structure, pad_error, support_of, verify_structure,
)
from shebao_desk.devices.errors import BadResponseError
from shebao_desk.devices.sscard import SocialSecurityCard

log = logging.getLogger(__name__)

PadOpener = Callable[[str | None], PinPadConnection]
PAD_ENTRY_TIMEOUT_S = 150.0  # beyond the reader's own entry timeout (typically 30–60 s per PIN)


def pad_support(open_card: PadOpener, reader: str | None) -> PinPadSupport:
    """Whether the reader can take the PIN on its own keypad (asked with the card in it)."""
    def ask() -> PinPadSupport:
        connection = open_card(reader)
        try:
            return support_of(connection.features())
        finally:
            connection.close()
    return with_deadline(ask, f"PIN pad features of {reader or 'first reader'}", key=reader)


def _on_pad(open_card: PadOpener, reader: str | None, feature: str, structure: bytes, what: str) -> None:
    def run() -> None:
        connection = open_card(reader)
        try:
            card = SocialSecurityCard(connection)
            card.select()
            code = getattr(support_of(connection.features()), feature)
            if code is None:
                raise BadResponseError(f"{connection.reader}: no {feature} feature")
            answer = connection.control(code, structure)
            if len(answer) < 2:
                raise BadResponseError(f"{what} on pad: {len(answer)} byte answer")
            sw = int.from_bytes(answer[-2:], "big")
            refused = pad_error(sw)
            if refused is not None:
                raise refused
            card.check_pin_sw(sw, what)
        finally:
            connection.close(reset=True)
        log.info("%s typed on the keypad of %s", what, connection.reader)
    with_deadline(run, f"{what} on the PIN pad of {reader or 'first reader'}", PAD_ENTRY_TIMEOUT_S, key=reader)


def verify_on_pad(open_card: PadOpener, reader: str | None, pin_length: int) -> None:
    _on_pad(open_card, reader, "verify", verify_structure(pin_length), "VERIFY")


def change_on_pad(open_card: PadOpener, reader: str | None, pin_length: int, current: str | None = None) -> None:
    """CHANGE PIN on the keypad; ``current`` the initial PIN for activation (the holder types only the new one)."""
    _on_pad(open_card, reader, "modify", modify_structure(pin_length, current), "CHANGE PIN")
