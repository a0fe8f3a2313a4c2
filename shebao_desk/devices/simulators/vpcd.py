"""Puts a :class:`VirtualCard` into a vsmartcard ``vpcd`` reader of pcscd.

vpcd listens on 127.0.0.1:35963 (reader "Virtual PCD 00 00") and :35964 ("… 00 01"), or on the
port ``SHEBAO_VPCD_PORT`` names and the one after it (a private pcscd, as the tests start).
The card side connects; each message is a 2-byte big-endian length and either a
control byte (0 power off, 1 power on, 2 reset, 4 get ATR) or an APDU; the card
answers with length + ATR or length + response APDU. Connecting is inserting the
card, closing is pulling it out.
"""

from __future__ import annotations

import logging
import os
import socket
import struct
import threading
import time
from collections.abc import Callable

from shebao_desk.devices.simulators.virtual_card import VirtualCard

log = logging.getLogger(__name__)

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = int(os.environ.get("SHEBAO_VPCD_PORT") or 35963)
POWER_OFF, POWER_ON, RESET, GET_ATR = 0, 1, 2, 4
_QUICKACK = getattr(socket, "TCP_QUICKACK", None)


def reader_name(port: int) -> str:
    """The pcscd reader a vpcd port belongs to (vpcd's slots are the base port and the next)."""
    return f"Virtual PCD 00 {port - DEFAULT_PORT:02d}"


class VpcdSlot:
    """A card slot of vpcd: insert() connects the virtual card, remove() pulls it."""

    def __init__(self, card: VirtualCard, port: int = DEFAULT_PORT, host: str = DEFAULT_HOST) -> None:
        self.card = card
        self.host, self.port = host, port
        self._sock: socket.socket | None = None
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self.apdus = 0
        # Called before each APDU is answered; a test can pull the card from here.
        self.before_apdu: Callable[[bytes], None] | None = None

    @property
    def inserted(self) -> bool:
        return self._sock is not None

    def insert(self, timeout: float = 10.0) -> None:
        """Connect to vpcd, retrying while pcscd (and so vpcd) is still starting."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                sock = socket.create_connection((self.host, self.port), timeout=2)
                break
            except OSError as exc:
                if time.monotonic() > deadline:
                    raise ConnectionError(f"vpcd not reachable on {self.host}:{self.port}: {exc}") from exc
                time.sleep(0.1)
        sock.settimeout(None)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._quickack(sock)
        with self._lock:
            self._sock = sock
        self.card.power_on()
        self._thread = threading.Thread(target=self._serve, args=(sock,), daemon=True,
                                        name=f"vpcd-{self.port}")
        self._thread.start()
        log.info("virtual card inserted into %s", reader_name(self.port))

    def remove(self) -> None:
        with self._lock:
            sock, self._sock = self._sock, None
        if sock is not None:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            sock.close()
            log.info("virtual card removed from %s", reader_name(self.port))
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=2)

    @staticmethod
    def _quickack(sock: socket.socket) -> None:
        # Linux turns delayed ACKs back on after each receive; without re-arming them every
        # APDU waits ~40 ms for the peer's delayed ACK.
        if _QUICKACK is not None:
            try:
                sock.setsockopt(socket.IPPROTO_TCP, _QUICKACK, 1)
            except OSError:
                pass

    def _recv_exact(self, sock: socket.socket, n: int) -> bytes | None:
        data = b""
        while len(data) < n:
            chunk = sock.recv(n - len(data))
            if not chunk:
                return None
            data += chunk
        self._quickack(sock)
        return data

    def _serve(self, sock: socket.socket) -> None:
        try:
            while True:
                header = self._recv_exact(sock, 2)
                if header is None:
                    break
                (length,) = struct.unpack(">H", header)
                message = self._recv_exact(sock, length)
                if message is None:
                    break
                reply = self._answer(message)
                if reply is not None:
                    sock.sendall(struct.pack(">H", len(reply)) + reply)
        except OSError:
            pass  # removed: the socket was closed under us
        finally:
            with self._lock:
                if self._sock is sock:
                    self._sock = None
            try:
                sock.close()
            except OSError:
                pass

    def _answer(self, message: bytes) -> bytes | None:
        if len(message) == 1:
            control = message[0]
            if control in (POWER_ON, RESET, POWER_OFF):
                self.card.power_on()
                return None
            if control == GET_ATR:
                return self.card.atr
            return None
        if self.before_apdu is not None:
            self.before_apdu(message)
            if self._sock is None:
                return None
        self.apdus += 1
        return self.card.process(message)
