"""The APDU layer: builds commands, follows 61xx and 6Cxx, logs traffic with PINs redacted."""

from __future__ import annotations

import logging
from collections.abc import Callable, Container, Sequence
from typing import NamedTuple

from shebao_desk.devices.connection import Connection
from shebao_desk.devices.errors import BadResponseError
from shebao_desk.logsetup import TRAFFIC

log = logging.getLogger(__name__)

SW_OK = 0x9000
INS_VERIFY = 0x20
INS_CHANGE_PIN = 0x5E
INS_GET_RESPONSE = 0xC0
INS_READ_RECORD = 0xB2
SECRET_INS = {INS_VERIFY, INS_CHANGE_PIN, 0x24, 0x2C}  # VERIFY, CHANGE, CHANGE REFERENCE DATA, RESET RETRY
MAX_CHAINED_RESPONSES = 16
Plan = Sequence[tuple[bytes, Container[int]]]  # APDUs, each with the status words to go on after
_MORE_TO_FOLLOW = frozenset({0x61, 0x6C})  # SW1 of "GET RESPONSE the rest" and of "resend with this Le"


class Response(NamedTuple):
    """A response APDU: a tuple, built for every APDU at about half a frozen dataclass's cost."""

    data: bytes
    sw: int

    @property
    def ok(self) -> bool:
        return self.sw == SW_OK


def build(cla: int, ins: int, p1: int, p2: int, data: bytes = b"", le: int | None = None) -> bytes:
    if len(data) > 255:
        raise ValueError("short APDUs only")
    apdu = bytes([cla, ins, p1, p2])
    if data:
        apdu += bytes([len(data)]) + data
    if le is not None:
        apdu += bytes([le & 0xFF])
    return apdu


def with_le(apdu: bytes, le: int) -> bytes:
    """The same command asking for ``le`` bytes (replacing its Le if it had one)."""
    has_le = len(apdu) == 5 or (len(apdu) > 5 and len(apdu) == 6 + apdu[4])
    return (apdu[:-1] if has_le else apdu) + bytes([le & 0xFF])


def redacted(apdu: bytes) -> str:
    """Hex of the APDU for the trace, with the data of PIN commands replaced."""
    if len(apdu) > 5 and apdu[1] in SECRET_INS:
        return f"{apdu[:5].hex().upper()} <{apdu[4]} bytes redacted>"
    return apdu.hex().upper()


def response_for_trace(apdu: bytes, data: bytes) -> str:
    """Response data for the trace: never a PIN; of records (the holder's ID number, name) only
    the tag and length, so the trace can be sent to support without personal data."""
    if not data:
        return ""
    if apdu[1] in SECRET_INS:
        return "<redacted>"
    if apdu[1] == INS_READ_RECORD:
        return f"{data[:2].hex().upper()} <{len(data) - 2} bytes>" if len(data) >= 2 else f"<{len(data)} bytes>"
    if apdu[1] == INS_GET_RESPONSE:
        return f"<{len(data)} bytes>"
    return data.hex().upper()


class ApduProtocol:
    def __init__(self, connection: Connection) -> None:
        self.connection = connection
        self.count = 0  # APDUs actually sent, for tests and benchmarks

    def _raw(self, apdu: bytes) -> Response:
        # The trace's text is made only when the trace is on: it used to be built for every APDU.
        if log.isEnabledFor(TRAFFIC):
            return self._traced(apdu)
        data, sw = self.connection.transmit(apdu)
        self.count += 1
        return Response(data, sw)

    def _traced(self, apdu: bytes) -> Response:
        log.log(TRAFFIC, "> %s", redacted(apdu))
        data, sw = self.connection.transmit(apdu)
        self.count += 1
        log.log(TRAFFIC, "< %s %04X", response_for_trace(apdu, data), sw)
        return Response(data, sw)

    def send(self, apdu: bytes) -> Response:
        """Send, resending on 6Cxx and collecting 61xx with GET RESPONSE."""
        if log.isEnabledFor(TRAFFIC):
            response = self._traced(apdu)
        else:  # _raw, inlined: this runs for every APDU
            data, sw = self.connection.transmit(apdu)
            self.count += 1
            response = Response(data, sw)
        first = response.sw >> 8
        if first != 0x61 and first != 0x6C:  # the usual answer: nothing to follow
            return response
        return self._follow(apdu, response)

    def _follow(self, apdu: bytes, response: Response) -> Response:
        """The rest of an answer that came as 6Cxx (wrong Le: resend) or 61xx (more: GET RESPONSE)."""
        if response.sw >> 8 == 0x6C:
            response = self._raw(with_le(apdu, response.sw & 0xFF))
        data = response.data
        for _ in range(MAX_CHAINED_RESPONSES):
            if response.sw >> 8 != 0x61:
                return Response(data, response.sw)
            response = self._raw(build(0x00, INS_GET_RESPONSE, 0, 0, le=response.sw & 0xFF))
            data += response.data
        raise BadResponseError(f"more than {MAX_CHAINED_RESPONSES} chained 61xx responses")

    def send_all(self, plan: Plan) -> list[tuple[bytes, int]]:
        """Send each (APDU, status words to go on after) of ``plan`` as :meth:`send` would, stopping
        after the first answer whose status word is not among its own; the (data, SW) answers, in order.

        For a run of commands whose answers are checked together after the last one (a file's
        records): between two APDUs only the transmit runs (the connection's ``transmit_run`` when
        it has one), and the checks run in one warm stretch after the round trips.
        """
        if log.isEnabledFor(TRAFFIC):
            return self._send_each(plan, self.send)
        run: Callable[[Plan], list[tuple[bytes, int]]] | None = getattr(self.connection, "transmit_run", None)
        if run is None:
            return self._send_each(plan, self._send_untraced)
        answers: list[tuple[bytes, int]] = []
        while plan:
            # A run stops at an answer its plan does not go on after: an error, or 61xx/6Cxx to follow up.
            got = run(plan)
            self.count += len(got)
            answers += got
            apdu, go_on = plan[len(got) - 1]
            sw = got[-1][1]
            if sw >> 8 in _MORE_TO_FOLLOW:
                answers[-1] = followed = self._follow(apdu, Response(*got[-1]))
                sw = followed.sw
            if sw not in go_on:
                break
            plan = plan[len(got):]
        return answers

    def _send_untraced(self, apdu: bytes) -> tuple[bytes, int]:
        answer = self.connection.transmit(apdu)
        self.count += 1
        if answer[1] >> 8 in _MORE_TO_FOLLOW:
            return self._follow(apdu, Response(*answer))
        return answer

    @staticmethod
    def _send_each(plan: Plan, send: Callable[[bytes], tuple[bytes, int]]) -> list[tuple[bytes, int]]:
        answers: list[tuple[bytes, int]] = []
        for apdu, go_on in plan:
            answers.append(answer := send(apdu))
            if answer[1] not in go_on:
                break
        return answers
