"""The card against the spec, not against itself.

Every APDU here is written out as hex from DOMAIN.md §2, never built from the
reader's constants: the full reads of generations 1, 2 and 3, VERIFY and CHANGE
PIN, and the ISO 7816-4 answers of the virtual card (records numbered by
position). Then the checks on decoded data, and 3,000 fuzzed card answers.
"""

import dataclasses
import random
import time

import pytest

from shebao_desk.devices.errors import CardDataDamagedError, DeviceError, NeedsPsamError
from shebao_desk.devices.simulators.inprocess import InProcessConnection
from shebao_desk.devices.operations import activate, read_card, verify_pin
from shebao_desk.devices.sscard import SocialSecurityCard
from shebao_desk.devices.simulators.virtual_card import VirtualCard
from test_card_protocol import holder

SELECT_SSSE = "00A404000F7378312E73682EC9E7BBE1B1A3D5CF"
EF05_READ = [
    "00A4000002EF05",  # SELECT EF05 by file id
    "00B2010012",      # 01 卡识别码 16 + 2
    "00B2020003",      # 02 卡类别 1 + 2
    "00B2030006",      # 03 规范版本 4 + 2
    "00B2050006",      # 05 发卡日期 4 + 2
    "00B2060006",      # 06 卡有效期 4 + 2
    "00B207000B",      # 07 卡号 9 + 2
]
EF06_HEAD = ["00A4000002EF06", "00B2080014", "00B2090020"]  # SELECT EF06; 08 社会保障号码 18+2; 09 姓名 30+2
NAME_EXT = ["00B24E0016"]                                   # 4E 姓名扩展 20 + 2 (gen >= 2)
EF06_TAIL = ["00B20A0003", "00B20B0003", "00B20C0005", "00B20D0006"]  # 性别, 民族, 出生地, 出生日期


def connect(**kw):
    card = VirtualCard(holder(**kw))
    return card, InProcessConnection(card)


def sent_hex(conn):
    return [apdu.hex().upper() for apdu in conn.sent]


# -- golden traces ---------------------------------------------------------------------------

def test_full_read_of_a_second_generation_card_t0():
    _, conn = connect(spec_version="2.00")
    info = SocialSecurityCard(conn).read()
    assert sent_hex(conn) == [SELECT_SSSE, "00C0000012"] + EF05_READ + EF06_HEAD + NAME_EXT + EF06_TAIL
    assert info.ssn == "611002199002281220" and info.name == "李秀英"


def test_full_read_of_a_first_generation_card_has_no_name_extension():
    _, conn = connect(spec_version="1.00")
    info = SocialSecurityCard(conn).read()
    assert sent_hex(conn) == [SELECT_SSSE, "00C0000012"] + EF05_READ + EF06_HEAD + EF06_TAIL
    assert info.generation == 1 and info.name == "李秀英"


def test_full_read_of_a_third_generation_card_t1():
    _, conn = connect(spec_version="3.00", psam_required=False, protocol=1)
    info = SocialSecurityCard(conn).read()
    # T=1: the SELECT's FCI comes at once, no GET RESPONSE
    assert sent_hex(conn) == [SELECT_SSSE] + EF05_READ + EF06_HEAD + NAME_EXT + EF06_TAIL
    assert info.generation == 3 and info.birth_date == "1990-02-28"


def test_answers_are_the_literal_tlv_records():
    card, conn = connect()
    SocialSecurityCard(conn).read()
    card.power_on()
    for apdu, answer in [
        (SELECT_SSSE, "6112"),
        ("00A4000002EF06", "9000"),
        ("00B2080014", "0812" + b"611002199002281220".hex() + "9000"),
        ("00B20A0003", "0A01329000"),
        ("00B20D0006", "0D04199002289000"),
        ("00B20C0005", "0C036110029000"),
    ]:
        assert card.process(bytes.fromhex(apdu)).hex().upper() == answer.upper(), apdu


def test_verify_and_change_pin_bytes():
    card, conn = connect()
    verify_pin(lambda reader: conn, "666666")
    assert sent_hex(conn)[-1] == "0020000003666666"
    card2, conn2 = connect()
    activate(lambda reader: conn2, "666666", "258147", "258147")
    assert sent_hex(conn2)[-1] == "805E010007666666FF258147"
    assert card2.pin_is("258147")


# -- the virtual card answers as ISO 7816-4 says ---------------------------------------------

@pytest.mark.parametrize("apdu, answer", [
    ("00B2083414", "6A83"),          # record NUMBER 8 of EF06: EF06 has only 7 records
    ("00B2013414", "0812" + b"611002199002281220".hex() + "9000"),  # record 1 of EF06 is tag 08
    ("00B2083014", "0812" + b"611002199002281220".hex() + "9000"),  # identifier 08, SFI 6
    ("00B2072C0B", "0709" + b"A12345678".hex() + "9000"),            # EF05: tag 07 is also record 7
    ("00B2080014", "6986"),          # P2=00 with no current EF
])
def test_virtual_card_addresses_records_by_position_and_identifier(apdu, answer):
    card, _ = connect()
    card.process(bytes.fromhex(SELECT_SSSE))
    assert card.process(bytes.fromhex(apdu)).hex().upper() == answer.upper()


def test_name_by_identifier_via_sfi_is_30_bytes_00_padded():
    card, _ = connect()
    card.process(bytes.fromhex(SELECT_SSSE))
    name = "李秀英".encode("gb18030")
    assert card.process(bytes.fromhex("00B2093020")) == bytes.fromhex("091E") + name.ljust(30, b"\0") + b"\x90\x00"


def test_virtual_card_wrong_le_gets_6cxx_and_t1_gives_fci_at_once():
    card, _ = connect()
    card.process(bytes.fromhex(SELECT_SSSE))
    assert card.process(bytes.fromhex("00B2083010")).hex().upper() == "6C14"
    t1, _ = connect(protocol=1)
    out = t1.process(bytes.fromhex(SELECT_SSSE)).hex().upper()
    assert out.startswith("6F10840F") and out.endswith("9000")
    assert t1.atr[:4] == bytes.fromhex("3B888001")  # TD2 indicates T=1


def test_the_old_record_number_addressing_fails_on_the_virtual_card():
    """What the reader sent before issue #10: READ RECORD number 8 of SFI 6."""
    card, _ = connect()
    card.process(bytes.fromhex(SELECT_SSSE))
    assert card.process(bytes.fromhex("00B2083414")) == bytes.fromhex("6A83")


def test_third_generation_psam_6982():
    card, conn = connect(spec_version="3.00")
    with pytest.raises(NeedsPsamError) as exc:
        SocialSecurityCard(conn).read()
    assert "PSAM" in exc.value.message
    assert card.process(bytes.fromhex("00B2080014")) == bytes.fromhex("6982")


# -- decoded data is checked -----------------------------------------------------------------

@pytest.mark.parametrize("ef, tag, value, item", [
    (6, 0x08, b"611002199002281221", "社会保障号码"),   # check digit wrong
    (6, 0x08, b"61100219900230122X", "社会保障号码"),   # no 30 February
    (6, 0x0A, b"3", "性别"),
    (6, 0x0A, b"1", "性别"),                            # disagrees with the SSN (even: female)
    (6, 0x0D, bytes.fromhex("19900229"), "出生日期"),   # 1990 is no leap year
    (6, 0x0D, bytes.fromhex("19900227"), "出生日期"),   # disagrees with the SSN
    (6, 0x09, "李\x07英".encode("gb18030").ljust(30, b"\0"), "姓名"),
    (6, 0x09, b"\x00" * 30, "姓名"),
    (5, 0x07, b"a12345678", "卡号"),
    (5, 0x07, b"A1234567X", "卡号"),
    (5, 0x05, bytes.fromhex("20241399"), "发卡日期"),
    (5, 0x06, b"\xff" * 4, "卡有效期"),                 # only the 3rd generation may have no expiry
])
def test_damaged_items_are_a_typed_error(ef, tag, value, item):
    card, conn = connect()
    card.set_record(ef, tag, value)
    with pytest.raises(CardDataDamagedError) as exc:
        SocialSecurityCard(conn).read()
    assert exc.value.item == item and "损坏" in exc.value.message
    assert "611002199002281220" not in exc.value.detail


@pytest.mark.parametrize("birthplace", [
    b"\xff" * 3,                # issued blank (DOMAIN.md: BCD region code, FF-padded)
    b"\x00" * 3,
    bytes.fromhex("61FFFF"),     # only the province
    bytes.fromhex("6110FF"),     # a 4-digit code
    bytes.fromhex("61"),         # a short record
    b"",
    bytes.fromhex("6A10B2"),     # not a region code at all
])
def test_a_blank_or_short_birthplace_reads_as_unknown_and_the_rest_is_read(birthplace):
    """Public reader code shows such a 出生地 as unknown and reads the rest: so do we (issue 27)."""
    card, conn = connect()
    card.set_record(6, 0x0C, birthplace)
    info = SocialSecurityCard(conn).read()
    assert info.birthplace is None
    assert (info.ssn, info.name, info.birth_date, info.card_number) == (
        "611002199002281220", card.holder.name, "1990-02-28", card.holder.card_number)


def test_a_card_without_a_birthplace_record_reads_too():
    card, conn = connect()
    card.records[6] = [(tag, value) for tag, value in card.records[6] if tag != 0x0C]
    info = SocialSecurityCard(conn).read()
    assert "00B20C0005" in sent_hex(conn)  # asked for, answered 6A83
    assert info.birthplace is None and info.ssn == "611002199002281220"


@pytest.mark.parametrize("expiry", [b"\xff" * 4, b"\x00" * 4, b""])
def test_third_generation_without_expiry_reads_with_none(expiry):
    card, conn = connect(spec_version="3.00", psam_required=False)
    card.set_record(5, 0x06, expiry)
    info = SocialSecurityCard(conn).read()
    assert info.expiry_date is None and info.ssn == "611002199002281220"


def test_holder_without_expiry_is_written_as_ff():
    card, conn = connect(spec_version="3.00", psam_required=False, expiry_date=None)
    assert SocialSecurityCard(conn).read().expiry_date is None


def test_fifteen_character_name_with_a_four_byte_character_in_the_extension():
    name = "古丽米拉·阿卜杜热合曼·买买𠮷"
    assert len(name) == 15 and len(name.encode("gb18030")) == 32
    _, conn = connect(name=name)
    assert SocialSecurityCard(conn).read().name == name


# -- fuzzing -----------------------------------------------------------------------------------

MUTATIONS = ("status_word", "truncate", "overlong", "garbage", "length_byte", "wrong_tag", "empty",
             "chain_61", "resend_6c")


class FuzzedConnection(InProcessConnection):
    """Answers as the virtual card does, except one answer per read, mutated."""

    def __init__(self, card, rng, victim, kind):
        super().__init__(card)
        self.rng, self.victim, self.kind, self.n = rng, victim, kind, 0

    def transmit(self, apdu):
        data, sw = super().transmit(apdu)
        self.n += 1
        if self.n - 1 != self.victim:
            return data, sw
        rng, kind = self.rng, self.kind
        if kind == "status_word":
            return data, rng.choice([rng.randrange(0x10000), 0x6A83, 0x6982, 0x6700, 0x6C00, 0x6100, 0x9303])
        if kind == "truncate":
            return data[:rng.randrange(len(data) + 1)], sw
        if kind == "overlong":
            return data + bytes(rng.randrange(256) for _ in range(rng.randint(1, 40))), sw
        if kind == "garbage":
            return bytes(rng.randrange(256) for _ in range(rng.randint(0, 300))), rng.choice([0x9000, sw])
        if kind == "length_byte" and len(data) >= 2:
            return data[:1] + bytes([rng.randrange(256)]) + data[2:], sw
        if kind == "wrong_tag" and data:
            return bytes([rng.randrange(256)]) + data[1:], sw
        if kind == "chain_61":
            return data, 0x6100 | rng.randrange(256)
        if kind == "resend_6c":
            return b"", 0x6C00 | rng.randrange(256)
        return b"", sw  # "empty"


def test_3000_fuzzed_answers_give_typed_errors_or_the_right_data():
    rng = random.Random(10)
    truth_card = VirtualCard(holder())
    truth = SocialSecurityCard(InProcessConnection(truth_card)).read()
    unknown_birthplace = dataclasses.replace(truth, birthplace=None)
    outcomes = {"correct": 0, "typed_error": 0, "wrong_data": 0}
    slowest = 0.0
    for _ in range(3000):
        card = VirtualCard(holder())
        conn = FuzzedConnection(card, rng, rng.randrange(17), rng.choice(MUTATIONS))
        started = time.monotonic()
        try:
            info = read_card(lambda reader, c=conn: c)
        except DeviceError:
            outcomes["typed_error"] += 1
        else:
            # A 出生地 the card does not give (6A83, blank, short) reads as unknown by design (issue 27).
            outcomes["correct" if info in (truth, unknown_birthplace) else "wrong_data"] += 1
        slowest = max(slowest, time.monotonic() - started)
    print(f"fuzz 3000 answers: {outcomes}, slowest read {slowest * 1000:.1f} ms")
    assert outcomes["wrong_data"] == 0
    assert outcomes["typed_error"] > 1000 and outcomes["correct"] > 100
    assert slowest < 5.0  # a hang, not a speed limit: speed is for the benchmarks
