"""The resident ID card reader: GA 467 frames against DOMAIN.md's literal bytes, the simulator on a
real pseudo-terminal driven through pyserial, and ``shebao-desk idcard read`` as a process."""

import datetime as dt
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from shebao_desk.devices import idcard
from shebao_desk.devices.simulators.idcard_sim import IdCardSimulator, load_card
from shebao_desk.rules.idnumber import mask_id_number

CARDS = Path(__file__).resolve().parent.parent / "resources" / "idcards"


def card(name):
    return load_card(CARDS / f"{name}.toml")


def cli(*args):
    env = dict(os.environ)
    env.pop("SHEBAO_DB", None)
    return subprocess.run([sys.executable, "-m", "shebao_desk", *args], capture_output=True, text=True,
                          timeout=60, env=env, check=False)


# -- frames, from the literal bytes of DOMAIN.md §5 ----------------------------------------------

def test_command_frames_match_the_documented_bytes():
    assert idcard.command_frame(0x20, 0x01) == bytes.fromhex("AAAAAA9669 0003 2001 22")
    assert idcard.command_frame(0x20, 0x02) == bytes.fromhex("AAAAAA9669 0003 2002 21")
    assert idcard.command_frame(0x30, 0x01) == bytes.fromhex("AAAAAA9669 0003 3001 32")


def test_documented_answers_parse():
    status, data = idcard.split_answer(bytes.fromhex("0008 00009F 00000000 97"))
    assert status == bytes.fromhex("00009F") and data == bytes(4)
    status, data = idcard.split_answer(bytes.fromhex("000C 000090") + bytes(8) + bytes.fromhex("9C"))
    assert status == bytes.fromhex("000090") and data == bytes(8)


def test_a_spoiled_checksum_or_length_is_refused():
    with pytest.raises(idcard.IdFrameError):
        idcard.split_answer(bytes.fromhex("0008 00009F 00000000 96"))
    with pytest.raises(idcard.IdFrameError):
        idcard.split_answer(bytes.fromhex("0009 00009F 00000000 97"))


def test_text_block_decodes_a_hand_built_block():
    # Built here field by field from DOMAIN.md, UCS-2 LE padded with spaces.
    def f(text, size):
        raw = text.encode("utf-16-le")
        return raw + b" \x00" * ((size - len(raw)) // 2)
    block = (f("张伟", 30) + f("1", 2) + f("01", 4) + f("19850312", 16) + f("陕西省商洛市", 70)
             + f("61100219850312231x", 36) + f("商洛市公安局", 30) + f("20150601", 16) + f("长期", 16) + f("", 36))
    info = idcard.decode_text(block)
    assert (info.name, info.sex_label, info.ethnicity, info.birth_date) == ("张伟", "男", "01", dt.date(1985, 3, 12))
    assert info.id_number == "61100219850312231X" and info.valid_to is None
    assert info.validity_problem(dt.date(2090, 1, 1)) is None


# -- the simulator on a pty, through pyserial ----------------------------------------------------

def test_the_simulator_answers_find_card_with_the_documented_bytes():
    import serial
    with IdCardSimulator(card("zhang-wei")) as sim:
        port = serial.Serial(sim.path, 115200, timeout=2)
        port.write(bytes.fromhex("AAAAAA9669 0003 2001 22"))
        assert port.read(15) == bytes.fromhex("AAAAAA9669 0008 00009F 00000000 97")
        port.write(bytes.fromhex("AAAAAA9669 0003 3001 32"))
        head = port.read(14)
        assert len(head) == 14 and head[5:] == bytes.fromhex("0508 000090 0100 0400")
        assert len(head + port.read(2000)) == 1295
        port.close()


@pytest.mark.parametrize("name, expect", [
    ("uyghur-long-name", {"name": "阿卜杜热合曼·买买提明·艾力江", "ethnicity": "05", "valid_to": "2028-09-10"}),
    ("long-term-long-address", {"address": "陕西省商洛市丹凤县龙驹寨街道办事处北关社区丹江路东段一百二十八号三号楼",
                                "valid_to": "长期"}),
    ("expired", {"sex": "2", "valid_to": "2024-05-20"}),
])
def test_sample_cards_read_through_the_serial_path(name, expect):
    with IdCardSimulator(card(name)) as sim:
        info = idcard.read_id_card(sim.path)
        assert sim.commands == [b"\x20\x01", b"\x20\x02", b"\x30\x01"]
    data = info.as_json()
    assert {k: data[k] for k in expect} == expect
    assert len(info.photo_wlt) == 1024


def test_a_read_is_logged_with_the_id_number_masked_as_everywhere(caplog):
    caplog.set_level("INFO", logger="shebao_desk.devices.idcard")
    with IdCardSimulator(card("expired")) as sim:
        info = idcard.read_id_card(sim.path)
    logged = " ".join(r.getMessage() for r in caplog.records if r.name == "shebao_desk.devices.idcard")
    assert mask_id_number(info.id_number) in logged and info.id_number not in logged


def test_validity_is_checked():
    with IdCardSimulator(card("expired")) as sim:
        info = idcard.read_id_card(sim.path)
    assert info.expired(dt.date(2026, 1, 1))
    assert "过期" in info.validity_problem(dt.date(2026, 1, 1))
    assert info.validity_problem(dt.date(2024, 5, 20)) is None


def test_no_card_and_pulled_mid_read():
    with IdCardSimulator(None) as sim, pytest.raises(idcard.NoIdCardError):
        idcard.read_id_card(sim.path)
    with IdCardSimulator(card("zhang-wei"), pull_on_read=True) as sim, pytest.raises(idcard.IdReaderGoneError):
        idcard.read_id_card(sim.path, timeout=1)


# -- the command ------------------------------------------------------------------------------------

@pytest.mark.slow  # runs the program in a subprocess
def test_idcard_read_json_prints_every_field():
    with IdCardSimulator(card("zhang-wei")) as sim:
        result = cli("idcard", "read", "--port", sim.path, "--json")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert {k: data[k] for k in ("name", "sex", "ethnicity", "birth_date", "address", "id_number", "valid_from",
                                 "valid_to")} == {
        "name": "张伟", "sex": "1", "ethnicity": "01", "birth_date": "1985-03-12",
        "address": "陕西省商洛市商州区北新街22号",
        "id_number": "611002198503122311", "valid_from": "2015-06-01", "valid_to": "2035-06-01"}


@pytest.mark.slow  # runs the program in a subprocess
@pytest.mark.parametrize("fault, words", [("checksum", "校验"), ("no card", "没有身份证"), ("pulled", "未连接")])
def test_idcard_read_failures_exit_2_with_one_chinese_line(fault, words):
    sim = IdCardSimulator(None if fault == "no card" else card("zhang-wei"), corrupt_checksum=fault == "checksum")
    path = sim.start()
    if fault == "pulled":
        sim.pull()
    try:
        result = cli("idcard", "read", "--port", path, "--json")
    finally:
        sim.stop()
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and words in lines[0] and "Traceback" not in result.stderr
    assert result.stdout == ""


@pytest.mark.slow
def test_idcard_simulate_serves_a_card_until_told_to_quit():
    env = dict(os.environ)
    env.pop("SHEBAO_DB", None)
    sim = subprocess.Popen([sys.executable, "-m", "shebao_desk", "idcard", "simulate", "--card",
                            str(CARDS / "long-term-long-address.toml")], stdin=subprocess.PIPE,
                           stdout=subprocess.PIPE, text=True, env=env)
    try:
        path = sim.stdout.readline().strip()
        assert path.startswith("/dev/")
        result = cli("idcard", "read", "--port", path)
        assert result.returncode == 0, result.stderr
        assert "有效期限：2010-03-15 至 长期" in result.stdout and "住址：陕西省商洛市丹凤县" in result.stdout
        sim.stdin.write("remove\n")
        sim.stdin.flush()
        assert sim.stdout.readline().strip() == "ok"
        assert cli("idcard", "read", "--port", path).returncode == 2
        sim.stdin.write("quit\n")
        sim.stdin.flush()
        assert sim.wait(10) == 0
    finally:
        if sim.poll() is None:
            sim.kill()
