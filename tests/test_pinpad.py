"""PIN entry on a reader's keypad (PC/SC v2 part 10), at the pyscard boundary.

The control codes and structure bytes below are written out from the PC/SC part 10
specification (PIN_VERIFY_STRUCTURE / PIN_MODIFY_STRUCTURE field by field) and from
pcsc-lite's SCARD_CTL_CODE(code) = 0x42000000 + code on Linux — not from the code's constants.
"""

import pytest

from shebao_desk.devices import pcsc
from shebao_desk.devices.errors import WrongPinError
from shebao_desk.devices.pinpad import PinPadError
from shebao_desk.devices.pinpad_operations import change_on_pad, pad_support, verify_on_pad

GET_FEATURE_REQUEST = 0x42000D48            # SCARD_CTL_CODE(3400)
VERIFY_CODE, MODIFY_CODE = 0x42330006, 0x42330007  # as a CCID reader lists them
FEATURES = bytes.fromhex("06 04 42330006" "07 04 42330007")  # tag, length 4, big-endian code

# PIN_VERIFY_STRUCTURE for VERIFY 00 20 00 00 03 <3 BCD bytes>, 6 digits:
VERIFY_STRUCTURE = bytes.fromhex(
    "00"        # bTimerOut: reader default
    "00"        # bTimerOut2
    "81"        # bmFormatString: units bytes, PIN at byte 0 after Lc, left, BCD
    "03"        # bmPINBlockString: no length field, 3-byte block
    "00"        # bmPINLengthFormat
    "0606"      # wPINMaxExtraDigit: min 6, max 6
    "02"        # bEntryValidationCondition: validation key
    "01"        # bNumberMessage
    "0408"      # wLangId 0x0804 little-endian (zh-CN)
    "00"        # bMsgIndex
    "000000"    # bTeoPrologue
    "08000000"  # ulDataLength 8
    "0020000003FFFFFF")  # abData: the APDU, PIN block blank

# PIN_MODIFY_STRUCTURE for CHANGE PIN 80 5E 01 00 07 <old> FF <new>, the holder types old and new:
MODIFY_STRUCTURE = bytes.fromhex(
    "00" "00" "81" "03" "00"
    "00"        # bInsertionOffsetOld: byte 0 of the data
    "04"        # bInsertionOffsetNew: after 3 bytes of old PIN and the FF
    "0606"      # wPINMaxExtraDigit
    "03"        # bConfirmPIN: new PIN twice, current PIN entered
    "02"        # bEntryValidationCondition
    "03"        # bNumberMessage: three prompts
    "0408"      # wLangId
    "00" "01" "02"  # bMsgIndex1..3
    "000000"
    "0C000000"  # ulDataLength 12
    "805E010007FFFFFFFFFFFFFF")

# Activation (Art. 14): the initial PIN 666666 is in the APDU; the holder types the new one twice.
ACTIVATE_STRUCTURE = bytes.fromhex(
    "00" "00" "81" "03" "00" "00" "04" "0606"
    "01"        # bConfirmPIN: new PIN twice, no current PIN entry
    "02" "02" "0408" "00" "01" "02" "000000" "0C000000"
    "805E010007666666FFFFFFFF")




class FakeScard:
    """pyscard's scard functions as a reader with a keypad answers them."""

    def __init__(self, features=FEATURES, answer=b"\x90\x00"):
        self.calls, self.features, self.answer = [], features, answer

    def SCardControl(self, hcard, code, data):
        self.calls.append(("control", code, bytes(data)))
        if code == GET_FEATURE_REQUEST:
            return (0, list(self.features)) if self.features is not None else (pcsc.scard.SCARD_E_UNSUPPORTED_FEATURE, [])
        return 0, list(self.answer)

    def SCardTransmit(self, hcard, protocol, apdu):
        self.calls.append(("transmit", bytes(apdu)))
        return 0, [0x90, 0x00]

    def SCardDisconnect(self, hcard, disposition):
        self.calls.append(("disconnect", disposition))
        return 0


@pytest.fixture
def reader(monkeypatch):
    def make(**kw):
        fake = FakeScard(**kw)
        for name in ("SCardControl", "SCardTransmit", "SCardDisconnect"):
            monkeypatch.setattr(pcsc.scard, name, getattr(fake, name))
        connection = pcsc.PcscConnection("Pad Reader 00 00", object(), pcsc.scard.SCARD_PROTOCOL_T1, b"\x3b")
        return fake, (lambda _name: connection)
    return make


def controls(fake):
    return [c[1:] for c in fake.calls if c[0] == "control"]


def test_verify_on_the_keypad_sends_the_verify_structure(reader):
    fake, open_card = reader()
    verify_on_pad(open_card, "Pad Reader", 6)
    assert controls(fake) == [(GET_FEATURE_REQUEST, b""), (VERIFY_CODE, VERIFY_STRUCTURE)]
    transmitted = [c[1] for c in fake.calls if c[0] == "transmit"]
    assert transmitted[0][:5] == bytes.fromhex("00A404000F") and len(transmitted) == 1  # SELECT only; no PIN APDU
    assert fake.calls[-1] == ("disconnect", pcsc.scard.SCARD_RESET_CARD)


def test_change_and_activation_on_the_keypad_send_the_modify_structure(reader):
    fake, open_card = reader()
    change_on_pad(open_card, "Pad Reader", 6)
    activate = reader()
    change_on_pad(activate[1], "Pad Reader", 6, current="666666")
    assert controls(fake)[1] == (MODIFY_CODE, MODIFY_STRUCTURE)
    assert controls(activate[0])[1] == (MODIFY_CODE, ACTIVATE_STRUCTURE)


def test_the_cards_answer_and_the_readers_own_answers_through_the_keypad(reader):
    _, open_card = reader(answer=b"\x63\xc2")
    with pytest.raises(WrongPinError) as wrong:
        verify_on_pad(open_card, "Pad Reader", 6)
    assert wrong.value.message == "密码错误，还可以尝试 2 次"
    _, open_card = reader(answer=b"\x64\x01")  # cancelled on the keypad
    with pytest.raises(PinPadError) as cancelled:
        change_on_pad(open_card, "Pad Reader", 6)
    assert "取消" in cancelled.value.message


def test_a_reader_without_features_has_no_pin_pad(reader):
    _, open_card = reader(features=None)
    assert not pad_support(open_card, "Plain Reader").usable
    _, open_card = reader()
    assert pad_support(open_card, "Pad Reader").usable


def test_a_readers_features_without_a_card_through_a_direct_connection(monkeypatch):
    fake = FakeScard()
    connects = []

    def connect(hcontext, reader, share, protocols):
        connects.append((reader, share, protocols))
        return 0, object(), 0
    monkeypatch.setattr(pcsc.scard, "SCardConnect", connect)
    for name in ("SCardControl", "SCardDisconnect"):
        monkeypatch.setattr(pcsc.scard, name, getattr(fake, name))
    monkeypatch.setattr(pcsc.scard, "SCardEstablishContext", lambda scope: (0, object()))
    features = pcsc.PcscContext().reader_features("Pad Reader 00 00")
    assert connects == [("Pad Reader 00 00", 3, 0)]  # SCARD_SHARE_DIRECT = 3, no protocol
    assert features == {0x06: VERIFY_CODE, 0x07: MODIFY_CODE}
    assert controls(fake) == [(GET_FEATURE_REQUEST, b"")]


def test_the_applicant_side_is_listed_as_informative(policy):
    from shebao_desk.config.applicant_settings import load_applicant_settings
    from shebao_desk.services.applicant_devices import NOTE, applicant_side, side_text
    side = applicant_side(load_applicant_settings(), monitors=2, pin_pad_readers=["Pad Reader 00 00"])
    states = {d.name: d.state for d in side}
    assert states["申请人屏幕"].startswith("第 2 个显示器（已连接")
    assert states["带密码键盘的读卡器（PC/SC 第 10 部分）"] == "1 台（Pad Reader 00 00）"
    assert NOTE in side_text(side)
    lone = {d.name: d.state for d in applicant_side(load_applicant_settings(), monitors=1, pin_pad_readers=[])}
    assert "普通窗口" in lone["申请人屏幕"]
