"""Card read through pyscard → pcscd → vpcd against a bare pyscard loop of the same APDUs."""

from __future__ import annotations

import time

from benchmarks.common import Figure, median_ms
from shebao_desk.devices.operations import read_card
from shebao_desk.devices.pcsc import PcscContext
from shebao_desk.devices.simulators.virtual_card import VirtualCard, load_holder
from shebao_desk.devices.simulators.vpcd import VpcdSlot, reader_name
from shebao_desk.config.resources import resource_path

FIGURES = ("card_read_full",)


def _bare_loop(ctx, reader: str, apdus: list[bytes]) -> None:
    """Connect, the APDUs, disconnect, on a PC/SC context established once (as ``PcscContext`` is):
    establishing a context costs a round trip to pcscd that our measured path does not pay per read."""
    from smartcard import scard
    code, hcard, proto = scard.SCardConnect(ctx, reader, scard.SCARD_SHARE_SHARED,
                                            scard.SCARD_PROTOCOL_T0 | scard.SCARD_PROTOCOL_T1)
    for apdu in apdus:
        scard.SCardTransmit(hcard, proto, list(apdu))
    scard.SCardDisconnect(hcard, scard.SCARD_LEAVE_CARD)


def run(quick: bool = False) -> list[Figure]:
    runs = 3 if quick else 30
    slot = VpcdSlot(VirtualCard(load_holder(resource_path("holders", "gen3-wang-qiang.toml"))))
    sent: list[bytes] = []
    slot.insert()
    try:
        reader = reader_name(slot.port)
        context = PcscContext()
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                read_card(lambda r: context.connect(r), reader)
                break
            except Exception:  # noqa: BLE001 - waiting for pcscd to see the card
                time.sleep(0.1)
        slot.before_apdu = sent.append
        read_card(lambda r: context.connect(r), reader)
        slot.before_apdu = None
        from smartcard import scard
        _, bare_ctx = scard.SCardEstablishContext(scard.SCARD_SCOPE_USER)
        try:
            ours = median_ms(lambda: read_card(lambda r: context.connect(r), reader), runs=runs)
            bare = median_ms(lambda: _bare_loop(bare_ctx, reader, sent), runs=runs)
            per_apdu = median_ms(lambda: _bare_loop(bare_ctx, reader, sent[:1]), runs=runs)
        finally:
            scard.SCardReleaseContext(bare_ctx)
    finally:
        slot.remove()
    return [Figure("card_read_full", ours, "ms", f"bare pyscard connect + the same {len(sent)} APDUs + disconnect, one context for all runs",
                   bare, "ratio <= 1.5", ours <= bare * 1.5,
                   note=f"{len(sent)} APDUs per read; one connect+APDU+disconnect costs {per_apdu} ms")]
