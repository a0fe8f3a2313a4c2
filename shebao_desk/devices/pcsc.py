"""The adapter to PC/SC through pyscard: the only module that imports ``smartcard``.

Uses pyscard's thin ``smartcard.scard`` layer, so every PC/SC result code is
seen and mapped to a typed error, and a context lost to a pcscd restart is
established again on the next call. Whole operations run under a deadline
(:mod:`shebao_desk.devices.deadline`), so a silent reader cannot hang the caller.
"""

from __future__ import annotations

import logging
import sys
import threading
import time
from collections.abc import Callable, Container, Sequence
from dataclasses import dataclass
from typing import Any, NoReturn

from smartcard import scard

from shebao_desk.devices.pinpad import GET_FEATURE_REQUEST, parse_features
from shebao_desk.devices.errors import (
    BadResponseError, CardRemovedError, DeviceError, NoCardError, NoReaderError, PcscUnavailableError,
    ReaderBusyError, ReaderGoneError,
)

log = logging.getLogger(__name__)

PNP_READER = "\\\\?PnP?\\Notification"
EMPTY_RESPONSE_GRACE_S = 1.5  # how long the reader may take to notice a pulled card



def _codes(*names: str) -> frozenset[int]:
    """The result codes of this platform's PC/SC among ``names`` (not every one defines them all;
    a missing one must not stand in as 0, which is SCARD_S_SUCCESS)."""
    return frozenset(getattr(scard, n) for n in names if hasattr(scard, n))


_CONTEXT_LOST = _codes("SCARD_E_NO_SERVICE", "SCARD_E_SERVICE_STOPPED", "SCARD_E_INVALID_HANDLE",
                       "SCARD_E_INVALID_PARAMETER")
_CARD_GONE = _codes("SCARD_W_REMOVED_CARD", "SCARD_E_NO_SMARTCARD", "SCARD_W_RESET_CARD",
                    "SCARD_W_UNRESPONSIVE_CARD", "SCARD_E_NOT_TRANSACTED", "SCARD_F_COMM_ERROR",
                    "SCARD_E_COMM_DATA_LOST", "SCARD_W_UNPOWERED_CARD")
_READER_GONE = _codes("SCARD_E_UNKNOWN_READER", "SCARD_E_READER_UNAVAILABLE")
_NO_READERS = _codes("SCARD_E_NO_READERS_AVAILABLE", "SCARD_E_READER_UNAVAILABLE")


def _u32(code: int) -> int:
    return code & 0xFFFFFFFF


def _explain(code: int) -> str:
    try:
        return f"{scard.SCardGetErrorMessage(code)} (0x{_u32(code):08X})"
    except Exception:  # noqa: BLE001 - only for the message
        return f"0x{_u32(code):08X}"


class PcscError(DeviceError):
    """A PC/SC result with no more specific meaning here."""

    def __init__(self, what: str, code: int) -> None:
        super().__init__("读卡器操作失败，请重新插卡或重新连接读卡器", f"{what}: {_explain(code)}")
        self.code = code


@dataclass(frozen=True)
class ReaderState:
    name: str
    present: bool
    atr: bytes
    in_use_exclusively: bool = False


class PcscContext:
    """One PC/SC context, re-established transparently after pcscd restarts.

    Cards are connected through a context of their reader's own (``connect``): pcsc-lite's
    client holds a context's lock for the whole of an SCardTransmit, so with one context a
    card that stops answering in one reader would block every call on every other reader.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._hcontext: Any = None
        self._per_reader: dict[str, PcscContext] = {}

    def _context(self) -> Any:
        with self._lock:
            if self._hcontext is None:
                code, hcontext = scard.SCardEstablishContext(scard.SCARD_SCOPE_USER)
                if code != scard.SCARD_S_SUCCESS:
                    raise PcscUnavailableError(f"SCardEstablishContext: {_explain(code)}")
                self._hcontext = hcontext
            return self._hcontext

    def release(self) -> None:
        """Give the contexts back to pcscd (it allows a limited number per client)."""
        with self._lock:
            children, self._per_reader = list(self._per_reader.values()), {}
        for child in children:
            child._lost()
        self._lost()

    def _reader_context(self, reader: str) -> PcscContext:
        with self._lock:
            child = self._per_reader.get(reader)
            if child is None:
                child = self._per_reader[reader] = PcscContext()
            return child

    def _lost(self) -> None:
        with self._lock:
            if self._hcontext is not None:
                try:
                    scard.SCardReleaseContext(self._hcontext)
                except Exception:  # noqa: BLE001 - the service is gone anyway
                    pass
                self._hcontext = None

    def _call(self, what: str, fn: Callable[[Any], tuple[Any, ...]], retry: bool = True) -> tuple[Any, ...]:
        result = fn(self._context())
        code = result[0]
        if code in _CONTEXT_LOST and retry:
            log.info("%s: context lost (%s); establishing a new one", what, _explain(code))
            self._lost()
            return self._call(what, fn, retry=False)
        if code in _CONTEXT_LOST:
            self._lost()
            raise PcscUnavailableError(f"{what}: {_explain(code)}")
        return result

    def readers(self) -> list[str]:
        code, readers = self._call("SCardListReaders", lambda h: scard.SCardListReaders(h, []))
        if code in _NO_READERS:
            return []
        if code != scard.SCARD_S_SUCCESS:
            raise PcscError("SCardListReaders", code)
        return list(readers)

    def states(self, known: dict[str, int] | None, timeout_ms: int) -> tuple[bool, list[ReaderState], dict[str, int]]:
        """Wait up to ``timeout_ms`` for a change in reader or card state.

        ``known`` is the event state of each reader from the previous call (None at
        first). Returns (changed, the current state of every reader, the new known map).
        """
        readers = self.readers()
        known = known or {}
        query = [(r, known.get(r, scard.SCARD_STATE_UNAWARE)) for r in readers]
        query.append((PNP_READER, known.get(PNP_READER, scard.SCARD_STATE_UNAWARE)))
        code, result = self._call("SCardGetStatusChange", lambda h: scard.SCardGetStatusChange(h, timeout_ms, query))
        if code == scard.SCARD_E_TIMEOUT:
            return False, [self._state_of(r, known.get(r, 0), b"") for r in readers], known
        if code != scard.SCARD_S_SUCCESS:
            if code in _READER_GONE:
                return True, [], {}
            raise PcscError("SCardGetStatusChange", code)
        new_known, out = {}, []
        for name, event, atr in result:
            new_known[name] = event & ~scard.SCARD_STATE_CHANGED
            if name != PNP_READER:
                out.append(self._state_of(name, event, bytes(atr)))
        return True, out, new_known

    @staticmethod
    def _state_of(name: str, event: int, atr: bytes) -> ReaderState:
        present = bool(event & scard.SCARD_STATE_PRESENT) and not event & scard.SCARD_STATE_MUTE
        return ReaderState(name, present, atr if present else b"", bool(event & scard.SCARD_STATE_EXCLUSIVE))

    def connect(self, reader: str | None = None, *, exclusive: bool = False) -> PcscConnection:
        """The card in ``reader`` (its exact name or a unique prefix; None: the first reader).

        A reader connected before by its exact name is connected at once: the list of readers (a
        round trip to pcscd on another context) is asked for only to resolve a name or to explain a
        failure."""
        share = scard.SCARD_SHARE_EXCLUSIVE if exclusive else scard.SCARD_SHARE_SHARED
        protocols = scard.SCARD_PROTOCOL_T0 | scard.SCARD_PROTOCOL_T1
        if reader is not None:
            with self._lock:
                known = self._per_reader.get(reader)
            if known is not None:
                exact = reader
                code, hcard, protocol = known._call(
                    "SCardConnect", lambda h: scard.SCardConnect(h, exact, share, protocols))
                if code not in _READER_GONE:
                    return self._connected(exact, code, hcard, protocol)
        name = self._resolve(reader)
        code, hcard, protocol = self._reader_context(name)._call(
            "SCardConnect", lambda h: scard.SCardConnect(h, name, share, protocols))
        return self._connected(name, code, hcard, protocol)

    def _resolve(self, reader: str | None) -> str:
        readers = self.readers()
        if not readers:
            raise NoReaderError()
        if reader is None:
            return readers[0]
        if reader in readers:
            return reader
        matches = [r for r in readers if r.startswith(reader)]
        if len(matches) != 1:
            raise ReaderGoneError(reader, f"reader {reader!r} not among {readers}")
        return matches[0]

    @staticmethod
    def _connected(reader: str, code: int, hcard: Any, protocol: int) -> PcscConnection:
        if code != scard.SCARD_S_SUCCESS:
            raise _connect_error(reader, code)
        code, _, _, _, atr = scard.SCardStatus(hcard)
        if code != scard.SCARD_S_SUCCESS:
            scard.SCardDisconnect(hcard, scard.SCARD_LEAVE_CARD)
            raise _card_error(reader, "SCardStatus", code)
        return PcscConnection(reader, hcard, protocol, bytes(atr))


    def reader_features(self, reader: str) -> dict[int, int]:
        """A reader's PC/SC part 10 features, card or no card (a direct connection to the reader)."""
        code, hcard, _ = self._reader_context(reader)._call(
            "SCardConnect direct", lambda h: scard.SCardConnect(h, reader, scard.SCARD_SHARE_DIRECT, 0))
        if code != scard.SCARD_S_SUCCESS:
            log.debug("%s: no direct connection (%s)", reader, _explain(code))
            return {}
        try:
            return PcscConnection(reader, hcard, 0, b"").features()
        finally:
            scard.SCardDisconnect(hcard, scard.SCARD_LEAVE_CARD)


def _connect_error(reader: str, code: int) -> DeviceError:
    if code in (scard.SCARD_E_NO_SMARTCARD, scard.SCARD_W_REMOVED_CARD):
        return NoCardError(reader)
    if code == scard.SCARD_E_SHARING_VIOLATION:
        return ReaderBusyError(reader)
    if code in _READER_GONE:
        return ReaderGoneError(reader, _explain(code))
    if code == scard.SCARD_W_UNRESPONSIVE_CARD:
        return NoCardError(reader)
    return PcscError(f"SCardConnect {reader}", code)


def _card_error(reader: str, what: str, code: int) -> DeviceError:
    if code in _CARD_GONE:
        return CardRemovedError(reader, f"{what}: {_explain(code)}")
    if code in _READER_GONE:
        return ReaderGoneError(reader, f"{what}: {_explain(code)}")
    if code in _CONTEXT_LOST:
        return CardRemovedError(reader, f"{what}: {_explain(code)} (PC/SC service restarted)")
    return PcscError(what, code)


def _absent(state: int) -> bool:
    """SCardStatus's state: a bit mask in pcsc-lite (SCARD_ABSENT = 0x2), an ordinal on Windows."""
    if sys.platform == "win32":
        return state <= 1  # SCARD_UNKNOWN, SCARD_ABSENT
    return bool(state & 0x0002)


class PcscConnection:
    """A card in a reader, through pcscd. Implements :class:`Connection`."""

    def __init__(self, reader: str, hcard: Any, protocol: int, atr: bytes) -> None:
        self.reader = reader
        self.atr = atr
        self._hcard = hcard
        self._protocol = protocol
        self._broken = False

    @property
    def protocol(self) -> str:
        """The transmission protocol pcscd negotiated from the ATR: "T=0" or "T=1"."""
        return {scard.SCARD_PROTOCOL_T0: "T=0", scard.SCARD_PROTOCOL_T1: "T=1"}.get(self._protocol, str(self._protocol))

    def transmit(self, apdu: bytes) -> tuple[bytes, int]:
        if self._broken:
            raise CardRemovedError(self.reader, "connection already failed")
        # No thread hop per APDU: the whole operation runs under one deadline (devices.deadline).
        code, response = scard.SCardTransmit(self._hcard, self._protocol, list(apdu))
        if code != scard.SCARD_S_SUCCESS or len(response) < 2:
            self._failed(code, response)
        return bytes(response[:-2]), (response[-2] << 8) | response[-1]

    def transmit_run(self, plan: Sequence[tuple[bytes, Container[int]]]) -> list[tuple[bytes, int]]:
        """Transmit the APDUs of ``plan`` in order until an answer's status word is not among the
        ones given with its APDU (that answer is the last); the (data, SW) answers.

        Between two APDUs only the call to pcscd and the status word's test run: whatever else
        our code did there ran after every round trip with the caches cold (for a read's 17 APDUs,
        61 us over a bare loop through ``transmit``, 8 us this way). Used by ApduProtocol.send_all."""
        if self._broken:
            raise CardRemovedError(self.reader, "connection already failed")
        transmit, hcard, protocol, success = scard.SCardTransmit, self._hcard, self._protocol, scard.SCARD_S_SUCCESS
        raw: list[list[int]] = []
        for apdu, go_on in plan:
            code, response = transmit(hcard, protocol, list(apdu))
            if code != success or len(response) < 2:
                self._failed(code, response)
            raw.append(response)
            if (response[-2] << 8) | response[-1] not in go_on:
                break
        return [(bytes(response[:-2]), (response[-2] << 8) | response[-1]) for response in raw]

    def _failed(self, code: int, response: list[int]) -> NoReturn:
        """Raise the error of a failed SCardTransmit; the connection is not used again."""
        self._broken = True
        if code != scard.SCARD_S_SUCCESS:
            raise _card_error(self.reader, "SCardTransmit", code)
        # "Success" with no status word: some drivers (vpcd among them) answer so when the card
        # went away mid-command: ask the reader which it was.
        deadline = time.monotonic() + EMPTY_RESPONSE_GRACE_S
        while time.monotonic() < deadline:
            status, _, state, _, _ = scard.SCardStatus(self._hcard)
            if status != scard.SCARD_S_SUCCESS:
                raise _card_error(self.reader, "SCardStatus after empty response", status)
            if _absent(state):
                raise CardRemovedError(self.reader, "empty response, card absent")
            time.sleep(0.05)
        raise BadResponseError(f"empty response from {self.reader}, card still present")

    def control(self, code: int, data: bytes) -> bytes:
        """SCardControl: a command to the reader itself (part 10 PIN entry); returns its answer."""
        if self._broken:
            raise CardRemovedError(self.reader, "connection already failed")
        result, response = scard.SCardControl(self._hcard, code, list(data))
        if result != scard.SCARD_S_SUCCESS:
            raise _card_error(self.reader, f"SCardControl {code:#010x}", result)
        return bytes(response)

    def features(self) -> dict[int, int]:
        """The reader's PC/SC part 10 features; empty for a reader without any (vpcd, most readers)."""
        result, response = scard.SCardControl(self._hcard, scard.SCARD_CTL_CODE(GET_FEATURE_REQUEST), [])
        if result != scard.SCARD_S_SUCCESS:
            log.debug("%s: no part 10 features (%s)", self.reader, _explain(result))
            return {}
        return parse_features(bytes(response))

    def close(self, reset: bool = False) -> None:
        disposition = scard.SCARD_RESET_CARD if reset else scard.SCARD_LEAVE_CARD
        try:
            scard.SCardDisconnect(self._hcard, scard.SCARD_LEAVE_CARD if self._broken else disposition)
        except Exception:  # noqa: BLE001 - the card or the service is gone; nothing to release
            log.debug("disconnect from %s failed", self.reader, exc_info=True)


_shared: PcscContext | None = None


def shared_context() -> PcscContext:
    global _shared
    if _shared is None:
        _shared = PcscContext()
    return _shared
