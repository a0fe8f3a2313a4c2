"""What the window does with a card, one connection per operation.

Each function opens the card, does one job, and releases it; PIN operations
reset the card on release so no verified state is left for another program.
PINs pass through as arguments only: never logged, never stored.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from shebao_desk.devices.card_data import CardInfo
from shebao_desk.devices.connection import Connection
from shebao_desk.devices import deadline
from shebao_desk.devices.deadline import with_deadline
from shebao_desk.devices.errors import PinPolicyError
from shebao_desk.devices.sscard import SocialSecurityCard
from shebao_desk.errors import ValidationError
from shebao_desk.rules.idnumber import mask_id_number
from shebao_desk.rules.pin_policy import PIN_LENGTH, check_new_pin

log = logging.getLogger(__name__)

Opener = Callable[[str | None], Connection]


def _read(open_card: Opener, reader: str | None) -> CardInfo:
    connection = open_card(reader)
    try:
        card = SocialSecurityCard(connection)
        files = card.read_files()
    finally:
        connection.close()
    return card.decode(files)  # after the disconnect: the round trips back to back, as a bare loop's


def read_card(open_card: Opener, reader: str | None = None, *, seconds: float | None = None) -> CardInfo:
    info = with_deadline(lambda: _read(open_card, reader), f"read card on {reader or 'first reader'}",
                         seconds or deadline.OPERATION_TIMEOUT_S, key=reader)
    log.info("read card %s of %s on %s", info.card_number, mask_id_number(info.ssn), info.reader)
    return info


def _with_card(open_card: Opener, reader: str | None, job: Callable[[SocialSecurityCard], None]) -> str:
    """Run a PIN job on a fresh connection, reset the card after; returns the reader's name."""
    def run() -> str:
        connection = open_card(reader)
        try:
            job(SocialSecurityCard(connection))
        finally:
            connection.close(reset=True)
        return connection.reader
    return with_deadline(run, f"PIN operation on {reader or 'first reader'}", key=reader)


def verify_pin(open_card: Opener, pin: str, reader: str | None = None) -> None:
    _with_card(open_card, reader, lambda card: card.verify_pin(pin))


def change_pin(open_card: Opener, old: str, new: str, confirm: str, *, initial: str,
               reader: str | None = None, pin_length: int = PIN_LENGTH) -> None:
    """Change the PIN after checking the new one (``pin_length``: site.toml [card]); nothing is sent if refused."""
    try:
        check_new_pin(new, confirm, initial, pin_length)
    except ValidationError as exc:
        raise PinPolicyError(exc.message, exc.detail) from None
    used = _with_card(open_card, reader, lambda card: card.change_pin(old, new))
    log.info("PIN changed on %s", used)


def activate(open_card: Opener, initial: str, new: str, confirm: str, reader: str | None = None,
             pin_length: int = PIN_LENGTH) -> None:
    """Article 14: verify the initial PIN, then change it at once to the holder's own."""
    change_pin(open_card, initial, new, confirm, initial=initial, reader=reader, pin_length=pin_length)
