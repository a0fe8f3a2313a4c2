"""Card read through pyscard → pcscd → vpcd against a bare pyscard loop of the same APDUs.

The virtual card answers from a process of its own (``shebao-desk card simulate``), as a real card
answers from its reader: in this process its thread competed with the measured code for the GIL,
and a loaded machine then gave either side a millisecond at random. Our read and the bare loop
alternate, read for read, so a change in the machine's load falls on both.
"""

from __future__ import annotations

import subprocess
import sys
import time
from typing import Any

from benchmarks.common import Figure, alternating
from shebao_desk.config.resources import resource_path
from shebao_desk.devices.operations import read_card
from shebao_desk.devices.pcsc import PcscContext
from shebao_desk.devices.simulators.virtual_card import VirtualCard, load_holder
from shebao_desk.devices.simulators.vpcd import DEFAULT_PORT, VpcdSlot, reader_name

FIGURES = ("card_read_full",)
HOLDER = resource_path("holders", "gen3-wang-qiang.toml")
TARGET = 1.2


def _bare_loop(ctx: Any, reader: str, apdus: list[bytes]) -> None:
    """Connect, the APDUs, disconnect, on a PC/SC context established once (as ``PcscContext`` is):
    establishing a context costs a round trip to pcscd that our measured path does not pay per read."""
    from smartcard import scard
    code, hcard, proto = scard.SCardConnect(ctx, reader, scard.SCARD_SHARE_SHARED,
                                            scard.SCARD_PROTOCOL_T0 | scard.SCARD_PROTOCOL_T1)
    for apdu in apdus:
        scard.SCardTransmit(hcard, proto, list(apdu))
    scard.SCardDisconnect(hcard, scard.SCARD_LEAVE_CARD)


def _until_read(context: PcscContext, reader: str) -> None:
    deadline = time.monotonic() + 10
    while True:
        try:
            read_card(lambda r: context.connect(r), reader)
            return
        except Exception:  # noqa: BLE001 - waiting for pcscd to see the card
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def _apdus_of_a_read(context: PcscContext, reader: str) -> list[bytes]:
    """The APDUs our read sends, as the card received them (through pcscd)."""
    slot = VpcdSlot(VirtualCard(load_holder(HOLDER)))
    sent: list[bytes] = []
    slot.insert()
    try:
        _until_read(context, reader)
        slot.before_apdu = sent.append
        read_card(lambda r: context.connect(r), reader)
    finally:
        slot.remove()
    return sent


def _card_process() -> subprocess.Popen[str]:
    child = subprocess.Popen([sys.executable, "-m", "shebao_desk", "card", "simulate", "--holder", str(HOLDER),
                              "--port", str(DEFAULT_PORT)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert child.stdout is not None
    if not child.stdout.readline():
        child.kill()
        raise RuntimeError(f"the card simulator exited {child.wait()}")
    return child


def run(quick: bool = False) -> list[Figure]:
    runs = 5 if quick else 300
    reader = reader_name(DEFAULT_PORT)
    context = PcscContext()
    sent = _apdus_of_a_read(context, reader)
    child = _card_process()
    from smartcard import scard
    _, bare_ctx = scard.SCardEstablishContext(scard.SCARD_SCOPE_USER)
    try:
        _until_read(context, reader)
        ours, bare, per_apdu = alternating(runs, lambda: read_card(lambda r: context.connect(r), reader),
                                           lambda: _bare_loop(bare_ctx, reader, sent),
                                           lambda: _bare_loop(bare_ctx, reader, sent[:1]))
    finally:
        scard.SCardReleaseContext(bare_ctx)
        context.release()
        assert child.stdin is not None
        child.stdin.close()
        child.wait(10)
    return [Figure("card_read_full", ours, "ms",
                   f"bare pyscard connect + the same {len(sent)} APDUs + disconnect, one context for all runs, "
                   "read for read", bare, f"ratio <= {TARGET}", ours <= bare * TARGET,
                   note=f"{len(sent)} APDUs per read, median of {runs}; the card in its own process; "
                        f"one connect+APDU+disconnect costs {per_apdu} ms")]
