"""The APDU and card-session layers on in-process connections: every status-word path."""

import datetime as dt
import logging

import pytest

from shebao_desk.devices.apdu import ApduProtocol, build, redacted
from shebao_desk.devices.errors import (
    ApduError, ApplicationLockedError, BadResponseError, NeedsPsamError, NotSocialSecurityCardError,
    PinBlockedError, PinPolicyError, WrongPinError,
)
from shebao_desk.devices.simulators.inprocess import InProcessConnection
from shebao_desk.devices.operations import activate, change_pin, read_card
from shebao_desk.devices.sscard import SocialSecurityCard
from shebao_desk.devices.simulators.virtual_card import Holder, VirtualCard, load_holder, split_name
from shebao_desk.errors import ValidationError
from shebao_desk.logsetup import TRAFFIC
from shebao_desk.rules.pin_policy import check_new_pin
from shebao_desk.config.resources import resource_path


class ScriptedConnection:
    """Replays fixed answers: for the paths a well-behaved card never takes."""

    reader = "scripted"
    atr = b"\x3b\x00"

    def __init__(self, answers):
        self.answers = list(answers)
        self.sent = []

    def transmit(self, apdu):
        self.sent.append(apdu)
        data, sw = self.answers.pop(0)
        return bytes.fromhex(data), sw

    def close(self, reset=False):
        pass


def holder(**kw):
    base = dict(spec_version="2.00", ssn="611002199002281220", name="李秀英", sex="2", ethnicity="01",
                birthplace="611002", birth_date=dt.date(1990, 2, 28), card_number="A12345678")
    base.update(kw)
    return Holder(**base)


def session(**kw):
    card = VirtualCard(holder(**kw))
    conn = InProcessConnection(card)
    return SocialSecurityCard(conn), card, conn


def test_read_decodes_every_field():
    s, _, conn = session()
    info = s.read()
    assert (info.ssn, info.name, info.sex, info.ethnicity, info.birthplace, info.birth_date) == (
        "611002199002281220", "李秀英", "2", "01", "611002", "1990-02-28")
    assert info.card_number == "A12345678" and info.spec_version == "2.00" and info.generation == 2
    assert info.issue_date == "2024-03-15" and info.card_id == "611002D156000005A1B2C3D4E5F60718"
    assert info.atr == conn.atr.hex().upper()


def test_read_uses_one_apdu_per_item():
    s, _, conn = session()
    s.read()
    # SELECT + GET RESPONSE (T=0 61xx) + SELECT EF05 + 6 items + SELECT EF06 + 7 items; no 6Cxx round trips
    assert len(conn.sent) == 17
    assert s.protocol.count == 17


def test_long_name_uses_the_extension_and_is_rejoined():
    name = "阿卜杜热合曼·买买提依明·艾合买提江"
    head, tail = split_name(name)
    assert len(head) <= 30 and tail
    s, _, _ = session(name=name)
    assert s.read().name == name


def test_rare_characters_survive_gb18030():
    s, _, _ = session(name="王𠮷堃")  # 𠮷 is outside GBK, in GB18030's four-byte range
    assert s.read().name == "王𠮷堃"


def test_first_generation_has_no_name_extension_record():
    s, _, conn = session(spec_version="1.00")
    info = s.read()
    assert info.name == "李秀英" and info.generation == 1
    assert not any(apdu[1] == 0xB2 and apdu[2] == 0x4E for apdu in conn.sent)


def test_third_generation_holder_data_needs_the_psam():
    s, _, _ = session(spec_version="3.00")
    with pytest.raises(NeedsPsamError) as exc:
        s.read()
    assert "PSAM" in exc.value.message


def test_third_generation_card_without_the_requirement_reads():
    s, _, _ = session(spec_version="3.00", psam_required=False)
    assert s.read().generation == 3


def test_not_a_social_security_card():
    with pytest.raises(NotSocialSecurityCardError):
        session(social_security=False)[0].read()


def test_locked_application():
    with pytest.raises(ApplicationLockedError):
        session(locked=True)[0].read()


def test_6cxx_is_resent_with_the_right_length():
    s, _, conn = session()
    s.select()
    response = s.protocol.send(build(0x00, 0xB2, 0x07, 0x2C, le=0))
    assert response.ok and response.data[:2] == b"\x07\x09"
    assert conn.sent[-2][-1] == 0 and conn.sent[-1][-1] == 11


def test_61xx_chain_is_collected():
    conn = ScriptedConnection([("", 0x6102), ("AABB", 0x6101), ("CC", 0x9000)])
    response = ApduProtocol(conn).send(build(0, 0xA4, 4, 0, b"\x01"))
    assert response.data == bytes.fromhex("AABBCC") and response.ok
    assert [a[1] for a in conn.sent] == [0xA4, 0xC0, 0xC0]


def test_malformed_tlv_is_a_bad_response():
    conn = ScriptedConnection([("0805313233", 0x9000)])
    s = SocialSecurityCard(conn)
    with pytest.raises(BadResponseError):
        s.read_item(0x09, 30)  # answered tag 08 with a wrong length


def test_garbage_date_is_a_bad_response_not_a_crash():
    _, card, conn = session()
    card.set_record(5, 0x05, bytes.fromhex("20241399"))
    with pytest.raises(BadResponseError):
        SocialSecurityCard(conn).read()


def test_unexpected_status_word_is_an_apdu_error():
    conn = ScriptedConnection([("", 0x6A86)])
    with pytest.raises(ApduError) as exc:
        SocialSecurityCard(conn).read_item(0x07, 9)
    assert exc.value.sw == 0x6A86


def test_wrong_pins_count_down_to_the_block():
    s, card, _ = session(pin_tries=3)
    with pytest.raises(WrongPinError) as exc:
        s.verify_pin("111111")
    assert exc.value.tries_left == 2 and "2 次" in exc.value.message
    with pytest.raises(WrongPinError):
        s.verify_pin("111111")
    with pytest.raises(PinBlockedError):
        s.verify_pin("111111")
    with pytest.raises(PinBlockedError):
        s.verify_pin("666666")  # even the right PIN: blocked is blocked
    assert card.pin_blocked


def test_a_right_pin_restores_the_counter():
    s, card, _ = session(pin_tries=3)
    with pytest.raises(WrongPinError):
        s.verify_pin("111111")
    s.verify_pin("666666")
    assert card.tries_left == 3


def test_activation_changes_the_initial_pin():
    card = VirtualCard(holder())
    activate(lambda reader: InProcessConnection(card), "666666", "258147", "258147")
    assert card.pin_is("258147")


def test_activation_with_wrong_initial_pin_reports_tries():
    card = VirtualCard(holder(pin="123456"))
    with pytest.raises(WrongPinError):
        activate(lambda reader: InProcessConnection(card), "666666", "258147", "258147")
    assert card.pin_is("123456") and card.tries_left == 2


@pytest.mark.parametrize("new, confirm, reason", [
    ("666666", "666666", "初始密码"), ("111111", "111111", "重复"), ("123456", "123456", "连续"),
    ("987654", "987654", "连续"), ("12345", "12345", "6 位"), ("258147", "258148", "不一致"),
    ("25814a", "25814a", "6 位"),
])
def test_weak_new_pins_are_refused_before_sending(new, confirm, reason):
    with pytest.raises(ValidationError) as exc:
        check_new_pin(new, confirm, "666666")
    assert reason in exc.value.message
    card = VirtualCard(holder())
    conn = InProcessConnection(card)
    with pytest.raises(PinPolicyError):
        change_pin(lambda reader: conn, "666666", new, confirm, initial="666666")
    assert conn.sent == [] and card.tries_left == 3


def test_pin_never_appears_in_the_trace(caplog):
    card = VirtualCard(holder())
    with caplog.at_level(TRAFFIC):
        activate(lambda reader: InProcessConnection(card), "666666", "258147", "258147")
    trace = caplog.text
    assert "redacted" in trace
    for secret in ("666666", "258147"):
        assert secret not in trace and secret.upper() not in trace.upper()


def test_trace_has_no_id_number_or_name(caplog):
    card = VirtualCard(holder(name="王𠮷堃"))
    with caplog.at_level(TRAFFIC):
        read_card(lambda reader: InProcessConnection(card))
    trace = caplog.text.upper()
    assert "> 00B2080014" in trace and "< 0812 <18 BYTES> 9000" in trace
    for secret in (b"611002199002281220".hex(), "王𠮷堃".encode("gb18030").hex(), "611002199002281220"):
        assert secret.upper() not in trace


def test_redacted_keeps_the_header_only():
    assert redacted(build(0, 0x20, 0, 0, bytes.fromhex("666666"))) == "0020000003 <3 bytes redacted>"


def test_sample_holder_files_load_and_read():
    for path in sorted(resource_path("holders").glob("*.toml")):
        h = load_holder(path)
        if not h.social_security:
            continue
        card = VirtualCard(h)
        card.psam_authenticated = True  # as a PSAM reader would
        info = read_card(lambda reader: InProcessConnection(card))  # noqa: B023 - called before the next card
        assert info.name == h.name and info.ssn == h.ssn, path.name


def test_read_logs_the_id_number_masked(caplog):
    card = VirtualCard(holder())
    with caplog.at_level(logging.INFO):
        read_card(lambda reader: InProcessConnection(card))
    assert "611002199002281220" not in caplog.text and "6110**********1220" in caplog.text


def test_a_silent_reader_times_out_instead_of_hanging():
    import threading
    import time

    from shebao_desk.devices.deadline import with_deadline
    from shebao_desk.devices.errors import DeviceTimeoutError

    release = threading.Event()

    class Silent(ScriptedConnection):
        def transmit(self, apdu):
            release.wait(10)
            return b"", 0x9000

    started = time.monotonic()
    with pytest.raises(DeviceTimeoutError) as exc:
        with_deadline(lambda: SocialSecurityCard(Silent([])).read(), "read", seconds=0.3)
    release.set()
    assert time.monotonic() - started < 2
    assert "没有响应" in exc.value.message
    from conftest import wait_for
    from shebao_desk.devices.deadline import stuck_operations
    wait_for(lambda: stuck_operations() == 0, what="the released operation to finish")


def test_a_hung_reader_costs_only_its_own_operations():
    """Operations hang past their deadline on five readers (a 4-thread pool used to be exhausted by
    four): later ones on a hung reader are refused at once, every other reader still works."""
    import threading
    import time

    from conftest import wait_for
    from shebao_desk.devices.deadline import stuck_operations, with_deadline
    from shebao_desk.devices.errors import DeviceTimeoutError

    release = threading.Event()
    hung = VirtualCard(holder())

    class Hanging(InProcessConnection):
        def transmit(self, apdu):
            release.wait(30)
            return super().transmit(apdu)

    healthy = VirtualCard(holder())

    def opener(reader):
        return Hanging(hung, reader) if reader.startswith("bad") else InProcessConnection(healthy, reader)

    try:
        started = time.monotonic()
        for bad in ("bad", "bad1", "bad2", "bad3", "bad4"):
            with pytest.raises(DeviceTimeoutError):
                with_deadline(lambda b=bad: SocialSecurityCard(opener(b)).read(), "read", seconds=0.2, key=bad)
        assert stuck_operations() == 5
        for _ in range(5):  # the bad reader: refused at once while it is stuck, no pile of threads
            with pytest.raises(DeviceTimeoutError):
                read_card(opener, "bad")
        assert stuck_operations("bad") == 1 and time.monotonic() - started < 2.5
        for _ in range(10):  # every other reader: unaffected
            assert read_card(opener, "good").name == "李秀英"
    finally:
        release.set()
    wait_for(lambda: stuck_operations() == 0, what="the hung operation to finish")
    assert read_card(opener, "bad").name == "李秀英"  # the reader answers again: usable again


def test_the_trace_costs_nothing_when_it_is_off(monkeypatch, caplog):
    """The trace's text is built only when TRAFFIC is on (it was built for every APDU, a fifth of a
    card read's own time), and it is still complete when it is on."""
    from shebao_desk.devices import apdu

    calls = []
    monkeypatch.setattr(apdu, "redacted", lambda a: calls.append(a) or a.hex())
    card = VirtualCard(holder())
    with caplog.at_level(logging.INFO):
        read_card(lambda reader: InProcessConnection(card))
    assert calls == []
    with caplog.at_level(TRAFFIC):
        info = read_card(lambda reader: InProcessConnection(card))
    assert info.name == "李秀英" and len(calls) == 17


def test_a_reader_keeps_its_operation_thread_and_a_stuck_one_is_never_reused():
    """One thread start per reader, not per operation; an operation abandoned past its deadline
    takes its thread with it, and the reader gets a fresh one when it answers again."""
    import threading

    from conftest import wait_for
    from shebao_desk.devices.deadline import stuck_operations, with_deadline
    from shebao_desk.devices.errors import DeviceTimeoutError

    def ident():
        return threading.current_thread()  # the object: an OS thread id is reused after a thread ends

    first = with_deadline(ident, "op", key="reuse")
    assert [with_deadline(ident, "op", key="reuse") for _ in range(5)] == [first] * 5
    assert with_deadline(ident, "op", key="other") != first  # each reader its own
    release = threading.Event()
    stuck_on = []

    def hang():
        stuck_on.append(threading.current_thread())
        release.wait(10)

    with pytest.raises(DeviceTimeoutError):
        with_deadline(hang, "op", seconds=0.2, key="reuse")
    assert stuck_on == [first]
    release.set()
    wait_for(lambda: stuck_operations("reuse") == 0, what="the stuck operation to end")
    assert with_deadline(ident, "op", key="reuse") != first
    with pytest.raises(ZeroDivisionError):  # an error reaches the caller; the thread stays usable
        with_deadline(lambda: 1 // 0, "op", key="errors")
    assert with_deadline(lambda: 7, "op", key="errors") == 7


def test_monitor_reports_readers_plugged_and_unplugged_and_a_lost_service():
    import threading

    from shebao_desk.devices.errors import PcscUnavailableError
    from shebao_desk.devices.monitor import EventKind, ReaderMonitor
    from shebao_desk.devices.pcsc import ReaderState

    script = [
        [ReaderState("R1", False, b"")],
        [ReaderState("R1", True, b"\x3b"), ReaderState("R2", False, b"")],  # card in R1, R2 plugged in
        [ReaderState("R2", False, b"")],  # R1 unplugged with its card
        PcscUnavailableError("gone"),  # the service stops
        [ReaderState("R2", True, b"\x3b")],  # back, with a card in R2
    ]
    done = threading.Event()

    class FakeContext:
        def states(self, known, timeout_ms):
            if not script:
                done.set()
                threading.Event().wait(0.05)
                return False, [], known
            step = script.pop(0)
            if isinstance(step, Exception):
                raise step
            return True, step, {}

    events = []
    monitor = ReaderMonitor(events.append, context_factory=FakeContext, poll_ms=10)
    monitor.start()
    assert done.wait(10)
    monitor.stop()
    seen = [(e.kind, e.reader) for e in events]
    assert seen == [
        (EventKind.SERVICE_UP, ""), (EventKind.READER_ADDED, "R1"),
        (EventKind.CARD_INSERTED, "R1"), (EventKind.READER_ADDED, "R2"),
        (EventKind.CARD_REMOVED, "R1"), (EventKind.READER_REMOVED, "R1"),
        (EventKind.READER_REMOVED, "R2"), (EventKind.SERVICE_DOWN, ""),
        (EventKind.SERVICE_UP, ""), (EventKind.READER_ADDED, "R2"), (EventKind.CARD_INSERTED, "R2"),
    ]


class RunConnection(ScriptedConnection):
    """A scripted connection with ``transmit_run`` as PcscConnection has it: APDUs until an answer
    its plan does not go on after. ``runs`` records how many APDUs each run sent."""

    def __init__(self, answers):
        super().__init__(answers)
        self.runs = []

    def transmit_run(self, plan):
        answers = []
        for apdu, go_on in plan:
            answers.append(self.transmit(apdu))
            if answers[-1][1] not in go_on:
                break
        self.runs.append(len(answers))
        return answers


SELECT_A = build(0, 0xA4, 4, 0, b"\x01")
READ_1, READ_2, READ_3 = (build(0, 0xB2, tag, 0, le=4) for tag in (1, 2, 3))
OK_ONLY, OK_OR_MISSING = frozenset({0x9000}), frozenset({0x9000, 0x6A83})


@pytest.mark.parametrize("connection_class", [ScriptedConnection, RunConnection])
def test_send_all_follows_61xx_mid_plan_and_goes_on(connection_class):
    conn = connection_class([("", 0x6102), ("AABB", 0x9000), ("0102", 0x9000), ("", 0x6A83), ("0304", 0x9000)])
    protocol = ApduProtocol(conn)
    answers = protocol.send_all([(SELECT_A, OK_ONLY), (READ_1, OK_OR_MISSING), (READ_2, OK_OR_MISSING),
                                 (READ_3, OK_OR_MISSING)])
    assert [tuple(a) for a in answers] == [(b"\xaa\xbb", 0x9000), (b"\x01\x02", 0x9000), (b"", 0x6A83),
                                           (b"\x03\x04", 0x9000)]
    assert [a[1] for a in conn.sent] == [0xA4, 0xC0, 0xB2, 0xB2, 0xB2] and protocol.count == 5
    if connection_class is RunConnection:
        assert conn.runs == [1, 3]  # the run stopped at 61xx for the GET RESPONSE, then went on


@pytest.mark.parametrize("connection_class", [ScriptedConnection, RunConnection])
def test_send_all_stops_at_the_first_answer_it_may_not_go_on_after(connection_class):
    conn = connection_class([("", 0x9000), ("", 0x6982), ("0304", 0x9000)])
    answers = ApduProtocol(conn).send_all([(SELECT_A, OK_ONLY), (READ_1, OK_OR_MISSING), (READ_2, OK_OR_MISSING)])
    assert [a[1] for a in answers] == [0x9000, 0x6982]
    assert len(conn.sent) == 2  # nothing sent after the refusal


def test_a_file_refused_midway_raises_that_record_s_error_and_sends_no_more():
    conn = RunConnection([("", 0x9000), ("", 0x9000), ("0100", 0x9000), ("", 0x6A86), ("", 0x9000)])
    with pytest.raises(ApduError) as exc:
        SocialSecurityCard(conn).read()
    assert exc.value.sw == 0x6A86 and len(conn.sent) == 4
