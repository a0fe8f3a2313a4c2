"""Cards through the real stack: pyscard → pcscd → vsmartcard vpcd → our virtual card.

Needs pcscd with the vpcd driver (``make test`` starts a private one through
scripts/test-services.sh and sets SHEBAO_TEST_PCSC, SHEBAO_VPCD_PORT and PCSCLITE_CSOCK_NAME).
"""

import json
import os
import subprocess
import sys
import threading
import time

import pytest

from shebao_desk.devices.errors import (
    CardRemovedError, NeedsPsamError, NoCardError, NotSocialSecurityCardError, PinBlockedError,
    ReaderBusyError, WrongPinError,
)
from shebao_desk.devices.monitor import EventKind, ReaderMonitor
from shebao_desk.devices.operations import activate, read_card, verify_pin
from shebao_desk.devices.pcsc import PcscContext
from shebao_desk.devices.simulators.virtual_card import VirtualCard, load_holder
from shebao_desk.devices.simulators.vpcd import DEFAULT_PORT, VpcdSlot, reader_name
from shebao_desk.config.resources import resource_path

from conftest import reader_shows, wait_for

pytestmark = pytest.mark.pcsc  # skipped without SHEBAO_TEST_PCSC (conftest)

PORTS = (DEFAULT_PORT, DEFAULT_PORT + 1)


def card_present(context, reader, present=True):
    return lambda: reader_shows(reader, present)


@pytest.fixture
def context():
    context = PcscContext()
    yield context
    context.release()


@pytest.fixture
def slots(insert_card):
    return lambda h, port=PORTS[0]: insert_card(h, port)


def opener(context):
    return lambda reader: context.connect(reader)


def sample(name="gen3-wang-qiang"):
    return load_holder(resource_path("holders", f"{name}.toml"))


def test_two_readers_are_listed(context):
    assert set(map(reader_name, PORTS)) <= set(context.readers())


def test_read_on_both_readers_at_once(context, slots):
    a, b = sample("gen3-wang-qiang"), sample("gen2-long-name")
    slots(a, PORTS[0])
    slots(b, PORTS[1])
    results, errors = {}, []

    def read(port):
        try:
            for _ in range(10):
                results[port] = read_card(opener(PcscContext()), reader_name(port))
        except Exception as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=read, args=(p,)) for p in PORTS]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert not errors
    assert results[PORTS[0]].name == "王强" and results[PORTS[1]].name == b.name


def test_a_hung_reader_never_wedges_the_other(slots):
    """One shared context, as the program has: a card that stops answering in one reader costs
    only that reader's operations (pcsc-lite holds a context's lock for a whole SCardTransmit)."""
    from shebao_desk.devices.deadline import stuck_operations
    from shebao_desk.devices.errors import DeviceTimeoutError
    shared = PcscContext()
    hung = slots(sample("gen3-wang-qiang"), PORTS[0])
    slots(sample("gen1-li-xiuying"), PORTS[1])
    release = threading.Event()
    hung.before_apdu = lambda apdu: release.wait(60)
    try:
        started = time.monotonic()
        with pytest.raises(DeviceTimeoutError):
            read_card(opener(shared), reader_name(PORTS[0]), seconds=1)
        for _ in range(4):
            with pytest.raises(DeviceTimeoutError):
                read_card(opener(shared), reader_name(PORTS[0]), seconds=1)
        assert time.monotonic() - started < 3
        for _ in range(5):
            assert read_card(opener(shared), reader_name(PORTS[1]), seconds=5).name == "李秀英"
    finally:
        release.set()
        hung.before_apdu = None
    wait_for(lambda: stuck_operations() == 0, what="the hung read to end")
    assert read_card(opener(shared), reader_name(PORTS[0])).name == "王强"
    shared.release()


@pytest.mark.parametrize("name, protocol", [("gen2-t1-rare-name", "T=1"), ("gen3-wang-qiang", "T=0")])
def test_the_protocol_follows_the_atr(context, slots, name, protocol):
    slots(sample(name))
    connection = context.connect(reader_name(PORTS[0]))
    try:
        assert connection.protocol == protocol
    finally:
        connection.close()


def test_a_reader_connected_before_is_connected_without_listing_readers(context, slots, monkeypatch):
    """The reader list (a round trip to pcscd on another context) is asked for to resolve a name the
    first time or to explain a failure, not before every read; the typed errors stay the same."""
    from shebao_desk.devices import pcsc
    from shebao_desk.devices.errors import ReaderGoneError
    slots(sample())
    reader = reader_name(PORTS[0])
    assert read_card(opener(context), reader).name == "王强"
    listed = []
    real = pcsc.scard.SCardListReaders
    monkeypatch.setattr(pcsc.scard, "SCardListReaders", lambda *a: listed.append(a) or real(*a))
    for _ in range(3):
        assert read_card(opener(context), reader).name == "王强"
    assert listed == []
    with pytest.raises(NoCardError):  # known reader, no card: still the typed error
        read_card(opener(context), reader_name(PORTS[1]))
    with pytest.raises(ReaderGoneError):
        context.connect("Virtual PCD 99")
    assert listed


def test_no_card_is_a_typed_error(context, slots):
    with pytest.raises(NoCardError):
        read_card(opener(context), reader_name(PORTS[1]))


@pytest.mark.slow
def test_card_pulled_at_every_step_of_a_read(context, slots):
    holder = sample()
    slot = slots(holder)
    read_card(opener(context), reader_name(PORTS[0]))
    steps = slot.apdus
    assert steps == 17  # SELECT + GET RESPONSE, SELECT EF05 + 6 items, SELECT EF06 + 7 items
    for step in range(steps):
        seen = {"n": 0}

        def pull_at(apdu, step=step, seen=seen):
            if seen["n"] == step:
                slot.remove()
            seen["n"] += 1

        slot.before_apdu = pull_at
        started = time.monotonic()
        with pytest.raises((CardRemovedError, NoCardError)):
            read_card(opener(context), reader_name(PORTS[0]))
        assert time.monotonic() - started < 6, f"step {step} hung"
        slot.before_apdu = None
        wait_for(card_present(context, reader_name(PORTS[0]), present=False), what="removal seen")
        slot.insert()
        wait_for(card_present(context, reader_name(PORTS[0])), what="reinsertion seen")
        assert read_card(opener(context), reader_name(PORTS[0])).ssn == holder.ssn


def test_wrong_pins_down_to_the_block(context, slots):
    slot = slots(sample())
    reader = reader_name(PORTS[0])
    for left in (2, 1):
        with pytest.raises(WrongPinError) as exc:
            verify_pin(opener(context), "135790", reader)
        assert exc.value.tries_left == left
    with pytest.raises(PinBlockedError):
        verify_pin(opener(context), "135790", reader)
    with pytest.raises(PinBlockedError):
        verify_pin(opener(context), "666666", reader)
    assert slot.card.pin_blocked


def test_activation_end_to_end(context, slots):
    slot = slots(sample())
    reader = reader_name(PORTS[0])
    activate(opener(context), "666666", "258147", "258147", reader)
    assert slot.card.pin_is("258147")
    verify_pin(opener(context), "258147", reader)
    with pytest.raises(WrongPinError):
        verify_pin(opener(context), "666666", reader)


def test_not_a_social_security_card(context, slots):
    slots(sample("not-a-social-security-card"))
    with pytest.raises(NotSocialSecurityCardError):
        read_card(opener(context), reader_name(PORTS[0]))


def test_third_generation_card_needs_psam(context, slots):
    slots(sample("gen3-psam"))
    with pytest.raises(NeedsPsamError):
        read_card(opener(context), reader_name(PORTS[0]))


def test_reader_in_use_by_another_program(context, slots):
    slots(sample())
    other = PcscContext().connect(reader_name(PORTS[0]), exclusive=True)
    try:
        with pytest.raises(ReaderBusyError):
            read_card(opener(context), reader_name(PORTS[0]))
    finally:
        other.close()
    assert read_card(opener(context), reader_name(PORTS[0])).name == "王强"


def test_monitor_sees_inserts_and_removals_on_both_readers(context, slots):
    events = []
    monitor = ReaderMonitor(events.append, poll_ms=200)
    monitor.start()
    try:
        wait_for(lambda: {e.reader for e in events if e.kind is EventKind.READER_ADDED} >= set(map(reader_name, PORTS)),
                 what="readers added")
        first = slots(sample(), PORTS[0])
        second = slots(sample("gen1-li-xiuying"), PORTS[1])
        wait_for(lambda: {e.reader for e in events if e.kind is EventKind.CARD_INSERTED} >= set(map(reader_name, PORTS)),
                 what="both inserts")
        first.remove()
        wait_for(lambda: any(e.kind is EventKind.CARD_REMOVED and e.reader == reader_name(PORTS[0]) for e in events),
                 what="removal")
        assert not any(e.kind is EventKind.CARD_REMOVED and e.reader == reader_name(PORTS[1]) for e in events)
        second.remove()
    finally:
        monitor.stop()


def card_read_cli(*args):
    return subprocess.run([sys.executable, "-m", "shebao_desk", "card", "read", *args],
                          capture_output=True, text=True, timeout=60, check=False)


@pytest.mark.slow  # runs the program in a subprocess
def test_card_read_cli_json(slots):
    slots(sample("gen2-long-name"))
    result = card_read_cli("--reader", reader_name(PORTS[0]), "--json")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert set(data) == {"reader", "atr", "spec_version", "card_type", "card_id", "card_number", "issue_date",
                         "expiry_date", "ssn", "name", "sex", "ethnicity", "birthplace", "birth_date"}
    assert data["name"] == "阿卜杜热合曼·买买提依明·艾合买提江" and data["birth_date"] == "1988-11-03"
    assert data["card_id"] == data["card_id"].upper() and data["sex"] == "1" and data["birthplace"] == "650102"


# Written from the holder files' text, not from the loader: what the CLI must print for each.
CLI_CARDS = [
    ("gen1-li-xiuying", {"spec_version": "1.00", "ssn": "61100219560412008X", "name": "李秀英"}),
    ("gen2-t1-rare-name", {"spec_version": "2.00", "ssn": "611002199506180423", "name": "王𠮷堃",
                           "birth_date": "1995-06-18", "sex": "2"}),
    ("gen3-wang-qiang", {"spec_version": "3.00", "ssn": "611021199207300551", "name": "王强",
                         "expiry_date": "2034-03-15"}),
    ("gen3-no-expiry-15-char", {"spec_version": "3.00", "name": "古丽米拉·阿卜杜热合曼·买买𠮷",
                                "expiry_date": None, "ethnicity": "05", "card_number": "C30000606"}),
]


@pytest.mark.slow  # runs the program in a subprocess
@pytest.mark.parametrize("name, expected", CLI_CARDS, ids=[c[0] for c in CLI_CARDS])
def test_card_read_cli_every_generation_and_protocol(slots, name, expected):
    slot = slots(sample(name))
    result = card_read_cli("--reader", reader_name(PORTS[0]), "--json")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert {k: data[k] for k in expected} == expected
    assert slot.card.atr.hex().upper() == data["atr"]


@pytest.mark.slow  # runs the program in a subprocess
@pytest.mark.parametrize("name, words", [("not-a-social-security-card", "不是社会保障卡"), ("gen3-psam", "PSAM")])
def test_card_read_cli_refusals_are_one_chinese_line_exit_2(slots, name, words):
    slots(sample(name))
    result = card_read_cli("--reader", reader_name(PORTS[0]), "--json")
    assert result.returncode == 2 and result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and words in lines[0] and "Traceback" not in result.stderr


@pytest.mark.slow  # runs the program in a subprocess
def test_card_read_cli_failure_exits_non_zero():
    result = card_read_cli("--reader", reader_name(PORTS[1]))
    assert result.returncode == 2 and "没有卡" in result.stderr


@pytest.mark.slow  # runs the program in a subprocess
def test_simulate_cli_insert_remove_scripted(context):
    proc = subprocess.Popen([sys.executable, "-m", "shebao_desk", "card", "simulate", "--holder",
                             str(resource_path("holders", "gen1-li-xiuying.toml")), "--port", str(PORTS[1])],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert "已插入" in proc.stdout.readline()
        wait_for(card_present(context, reader_name(PORTS[1])), what="simulated card")
        assert read_card(opener(context), reader_name(PORTS[1])).name == "李秀英"
        proc.stdin.write("remove\n")
        proc.stdin.flush()
        assert proc.stdout.readline().strip() == "removed"
        wait_for(card_present(context, reader_name(PORTS[1]), present=False), what="simulated removal")
        proc.stdin.write("insert\n")
        proc.stdin.flush()
        assert proc.stdout.readline().strip() == "inserted"
        wait_for(card_present(context, reader_name(PORTS[1])), what="simulated reinsertion")
    finally:
        proc.stdin.close()
        proc.wait(10)


OWN_PCSCD = os.environ.get("SHEBAO_TEST_PCSCD_DIR")  # set only when the tests started pcscd themselves


@pytest.mark.skipif(not OWN_PCSCD, reason="restarts only a pcscd the tests started (scripts/test-services.sh)")
def test_monitor_survives_a_pcscd_restart(context):
    """Restarts the private pcscd (and no other), and leaves it with both readers back and empty, so
    the tests after it, in any order, find what they found before (conftest's probe context is made
    anew after the restart)."""
    script = os.path.join(os.path.dirname(__file__), "..", "scripts", "private-pcscd.sh")
    events = []
    monitor = ReaderMonitor(events.append, poll_ms=200)
    monitor.start()
    try:
        wait_for(lambda: any(e.kind is EventKind.READER_ADDED for e in events), what="readers")
        subprocess.run([script, "stop", OWN_PCSCD], check=True)
        wait_for(lambda: any(e.kind is EventKind.SERVICE_DOWN for e in events), timeout=15, what="service down")
        events.clear()
        subprocess.run([script, "start", OWN_PCSCD], check=True)
        wait_for(lambda: {e.reader for e in events if e.kind is EventKind.READER_ADDED} >= set(map(reader_name, PORTS)),
                 timeout=20, what="readers back after restart")
        slot = VpcdSlot(VirtualCard(sample()), port=PORTS[0])
        slot.insert()
        try:
            wait_for(lambda: any(e.kind is EventKind.CARD_INSERTED for e in events), what="insert after restart")
            assert read_card(opener(PcscContext()), reader_name(PORTS[0])).name == "王强"
        finally:
            slot.remove()
        for reader in map(reader_name, PORTS):  # as the tests after this one expect to find it
            wait_for(lambda r=reader: reader_shows(r, False), what=f"{reader} back and empty")
    finally:
        monitor.stop()


def test_a_card_with_a_blank_birthplace_reads_through_the_real_stack(context, slots):
    """出生地 issued blank (FF FF FF): unknown, and the rest of the card read (issue 27)."""
    holder = sample("gen2-blank-birthplace")
    assert holder.birthplace == ""
    slots(holder)
    info = read_card(opener(context), reader_name(PORTS[0]))
    assert info.birthplace is None
    assert (info.name, info.ssn, info.card_number, info.birth_date) == ("赵桂兰", "611024197508210226",
                                                                        "B20000214", "1975-08-21")
