"""A connection straight to a :class:`VirtualCard` in the same process (unit tests)."""

from __future__ import annotations

from shebao_desk.devices.errors import CardRemovedError
from shebao_desk.devices.simulators.virtual_card import VirtualCard


class InProcessConnection:
    def __init__(self, card: VirtualCard, reader: str = "In-process virtual reader") -> None:
        self.card = card
        self.reader = reader
        self.atr = card.atr
        self.present = True
        self.sent: list[bytes] = []
        card.power_on()

    def transmit(self, apdu: bytes) -> tuple[bytes, int]:
        if not self.present:
            raise CardRemovedError(self.reader)
        self.sent.append(apdu)
        response = self.card.process(apdu)
        return response[:-2], int.from_bytes(response[-2:], "big")

    def close(self, reset: bool = False) -> None:
        if reset:
            self.card.power_on()
