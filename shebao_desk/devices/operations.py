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
from shebao_desk.devices.errors import PinPolicyError
from shebao_desk.devices.sscard import SocialSecurityCard
from shebao_desk.errors import ValidationError
from shebao_desk.idnumber import mask_id_number
from shebao_desk.pin_policy import check_new_pin

log = logging.getLogger(__name__)

Opener = Callable[[str | None], Connection]


def read_card(open_card: Opener, reader: str | None = None) -> CardInfo:
    connection = open_card(reader)
    try:
        info = SocialSecurityCard(connection).read()
    finally:
        connection.close()
    log.info("read card %s of %s on %s", info.card_number, mask_id_number(info.ssn), info.reader)
    return info


def verify_pin(open_card: Opener, pin: str, reader: str | None = None) -> None:
    connection = open_card(reader)
    try:
        SocialSecurityCard(connection).verify_pin(pin)
    finally:
        connection.close(reset=True)


def change_pin(open_card: Opener, old: str, new: str, confirm: str, *, initial: str,
               reader: str | None = None) -> None:
    """Change the PIN after checking the new one; nothing is sent if it is refused."""
    try:
        check_new_pin(new, confirm, initial)
    except ValidationError as exc:
        raise PinPolicyError(exc.message, exc.detail) from None
    connection = open_card(reader)
    try:
        card = SocialSecurityCard(connection)
        card.change_pin(old, new)
    finally:
        connection.close(reset=True)
    log.info("PIN changed on %s", connection.reader)


def activate(open_card: Opener, initial: str, new: str, confirm: str, reader: str | None = None) -> None:
    """Article 14: verify the initial PIN, then change it at once to the holder's own."""
    change_pin(open_card, initial, new, confirm, initial=initial, reader=reader)
