"""The three documents a GA 467 reader reads (issue 27): each read and named with the fields it has,
through the simulator on a real pty; an unknown type flag refused. (The refusal of a non-resident
document for 申领 is in test_shaanxi_businesses.py.)

The blocks built in this file follow the public descriptions field by field (a third copy, beside
devices/idcard.py and the simulator), so a wrong offset in either is caught here.
"""

import datetime as dt
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from shebao_desk.devices import idcard
from shebao_desk.devices.simulators.idcard_sim import IdCardSimulator, load_card
from shebao_desk.rules.id_documents import IdDocument, document_of_number

CARDS = Path(__file__).resolve().parent.parent / "resources" / "idcards"


def f(text, size):
    raw = text.encode("utf-16-le")
    assert len(raw) <= size
    return raw + b" \x00" * ((size - len(raw)) // 2)


def hmt_block(flag="J"):
    # name, sex, reserved 4, born, address, number, authority, from, to, travel permit 18, 签发次数 4,
    # reserved 6, type flag 2, reserved 6
    return (f("林美华", 30) + f("2", 2) + f("", 4) + f("19900102", 16) + f("陕西省商洛市山阳县城关街道", 70)
            + f("830000199001020026", 36) + f("山阳县公安局", 30) + f("20220101", 16) + f("20270101", 16)
            + f("01234567", 18) + f("02", 4) + f("", 6) + f(flag, 2) + f("", 6))


def foreign_2017_block():
    # English name 120, sex 2, number 30, nationality 6, Chinese name 30, issued, ends, born, version 4,
    # authority code 8, type flag 2, reserved 6
    return (f("KIM, MINJUN", 120) + f("1", 2) + f("KOR610090050112", 30) + f("KOR", 6) + f("金敏俊", 30)
            + f("20200510", 16) + f("20300510", 16) + f("19900501", 16) + f("05", 4) + f("6100", 8)
            + f("I", 2) + f("", 6))


def foreign_2023_block():
    # Chinese name 30, sex 2, renewals 4, born 16, English name 70 (characters 1-35), number 36, reserved 30,
    # issued 16, expires 16, English name 22 (characters 36-46), nationality 6, type flag 2, former number 6
    english = "WILLIAMSON-HARGREAVES, ALEXANDRINA ELIZABETH"  # the 35th character a space
    return (f("威廉森", 30) + f("2", 2) + f("00", 4) + f("19920304", 16) + f(english[:35], 70)
            + f("932500199203040028", 36) + f("", 30) + f("20240110", 16) + f("20340110", 16) + f(english[35:], 22)
            + f("GBR", 6) + f("Y", 2) + f("", 6))


def test_the_type_flag_sits_at_bytes_248_and_249_in_every_layout():
    for block, flag in ((hmt_block(), "J"), (foreign_2017_block(), "I"), (foreign_2023_block(), "Y")):
        assert len(block) == 256
        assert block[248:250] == flag.encode("utf-16-le")


def test_a_hand_built_residence_permit_decodes_with_its_own_fields():
    info = idcard.decode_text(hmt_block())
    assert info.kind is IdDocument.HMT_RESIDENCE and info.kind_name == "港澳台居民居住证"
    assert (info.name, info.sex, info.id_number, info.pass_number, info.issue_count) == (
        "林美华", "2", "830000199001020026", "01234567", "02")
    assert info.ethnicity == "" and info.birth_date == dt.date(1990, 1, 2) and info.valid_to == dt.date(2027, 1, 1)


def test_a_hand_built_foreigners_card_decodes_with_its_own_fields():
    info = idcard.decode_text(foreign_2017_block())
    assert info.kind is IdDocument.FOREIGN_PERMANENT and info.kind_name == "外国人永久居留身份证"
    assert (info.name, info.english_name, info.id_number, info.nationality, info.card_version) == (
        "金敏俊", "KIM, MINJUN", "KOR610090050112", "KOR", "05")
    assert info.address == "" and info.ethnicity == "" and info.birth_date == dt.date(1990, 5, 1)


def test_a_hand_built_2023_foreigners_card_joins_the_english_name_split_in_two():
    info = idcard.decode_text(foreign_2023_block())
    assert info.kind is IdDocument.FOREIGN_PERMANENT and info.kind_name == "外国人永久居留身份证"
    assert (info.name, info.sex, info.id_number, info.nationality) == ("威廉森", "2", "932500199203040028", "GBR")
    assert info.english_name == "WILLIAMSON-HARGREAVES, ALEXANDRINA ELIZABETH"
    assert info.birth_date == dt.date(1992, 3, 4) and info.valid_to == dt.date(2034, 1, 10) and info.address == ""


def test_an_unknown_type_flag_is_named_not_misread():
    with pytest.raises(idcard.UnknownIdDocumentError) as exc:
        idcard.decode_text(hmt_block(flag="Q"))
    assert "证件类型标识“Q”" in exc.value.message


@pytest.mark.parametrize("name, kind, expect", [
    ("zhang-wei", "居民身份证", {"ethnicity": "01", "address": "陕西省商洛市商州区北新街22号"}),
    ("hk-residence-permit", "港澳台居民居住证",
     {"id_number": "810000198806150313", "pass_number": "H60218845", "issue_count": "01", "ethnicity": ""}),
    ("foreign-permanent-2017", "外国人永久居留身份证",
     {"id_number": "USA610085061512", "english_name": "SMITH, JOHN ROBERT", "nationality": "USA", "name": "史密斯",
      "authority": "6100", "address": ""}),
    ("foreign-permanent-2023", "外国人永久居留身份证",
     {"id_number": "961840198506151232", "english_name": "SMITH, JOHN ROBERT", "nationality": "USA"}),
])
def test_each_document_is_read_and_named_through_the_serial_path(name, kind, expect):
    with IdCardSimulator(load_card(CARDS / f"{name}.toml")) as sim:
        info = idcard.read_id_card(sim.path)
        assert sim.commands == [b"\x20\x01", b"\x20\x02", b"\x30\x01"]
    data = info.as_json()
    assert data["kind_name"] == kind
    assert {k: data[k] for k in expect} == expect


@pytest.mark.parametrize("number, document", [
    ("611002198503122311", IdDocument.RESIDENT), ("810000198806150313", IdDocument.HMT_RESIDENCE),
    ("830000199001020026", IdDocument.HMT_RESIDENCE), ("USA610085061512", IdDocument.FOREIGN_PERMANENT),
    ("961840198506151232", IdDocument.FOREIGN_PERMANENT),
])
def test_a_number_alone_says_which_document_it_belongs_to(number, document):
    assert document_of_number(number) is document


@pytest.mark.slow  # runs the program in a subprocess
def test_idcard_read_names_the_document_in_text_and_json():
    env = {k: v for k, v in os.environ.items() if k != "SHEBAO_DB"}
    with IdCardSimulator(load_card(CARDS / "foreign-permanent-2017.toml")) as sim:
        text = subprocess.run([sys.executable, "-m", "shebao_desk", "idcard", "read", "--port", sim.path],
                              capture_output=True, text=True, timeout=60, env=env, check=False)
        as_json = subprocess.run([sys.executable, "-m", "shebao_desk", "idcard", "read", "--port", sim.path, "--json"],
                                 capture_output=True, text=True, timeout=60, env=env, check=False)
    assert text.returncode == 0, text.stderr
    assert "证件类型：外国人永久居留身份证" in text.stdout and "英文姓名：SMITH, JOHN ROBERT" in text.stdout
    assert "永久居留身份证号码：USA610085061512" in text.stdout and "住址" not in text.stdout
    assert json.loads(as_json.stdout)["kind"] == "foreign_permanent"
