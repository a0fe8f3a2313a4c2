"""The one thing every layer above needs from a reader: send an APDU, get data and SW."""

from __future__ import annotations

from typing import Protocol


class Connection(Protocol):
    reader: str
    atr: bytes

    def transmit(self, apdu: bytes) -> tuple[bytes, int]:
        """Send one command APDU; return (response data, status word)."""

    def close(self, reset: bool = False) -> None:
        """Release the card; ``reset`` clears any PIN verification left on it."""
