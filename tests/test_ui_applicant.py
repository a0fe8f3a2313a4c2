"""The applicant's side at the workbench: their screen, their PIN on their own keypad."""

import pytest
from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtWidgets import QApplication
from sqlalchemy import select

from shebao_desk.models import Case

from conftest import a_photo
from test_ui_cards import choose, holder, slot, wait_filled, with_issued_card  # noqa: F401 - slot is a fixture

pytestmark = pytest.mark.pcsc


class KeyWatch(QObject):
    """Every key event with a digit that reaches a widget of the clerk's window."""

    def __init__(self, clerk_window):
        super().__init__()
        self.clerk_window, self.digits = clerk_window, []

    def eventFilter(self, receiver, event):  # noqa: N802
        if event.type() in (QEvent.Type.KeyPress, QEvent.Type.KeyRelease, QEvent.Type.ShortcutOverride):
            window = receiver.window() if hasattr(receiver, "window") else None
            if window is self.clerk_window and any(c.isdigit() for c in event.text()):
                self.digits.append((type(receiver).__name__, event.type()))
        return False


def touch_digits(qtbot, screen, digits):
    keypad = screen.keypad
    for d in digits:
        [button] = [b for b in keypad.digit_buttons if b.text() == d]
        qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
    qtbot.mouseClick(keypad.ok_button, Qt.MouseButton.LeftButton)


def test_activation_pin_typed_on_the_applicant_keypad_only(make_window, qtbot, slot):
    from shebao_desk.ui.applicant_side import ApplicantPinEntry
    window, ctx = make_window()
    page = window.pages["intake"]
    screen = page.applicant.screen
    assert screen is not None and screen.isVisible() and screen.isWindow()
    h = holder()
    with_issued_card(ctx, ctx.policy, h)
    card = slot(h).card
    changes = []
    real_change = card._change_pin

    def counted(*args):
        answer = real_change(*args)
        if answer == b"\x90\x00":
            changes.append(card._pin)
        return answer
    card._change_pin = counted
    watch = KeyWatch(window)
    QApplication.instance().installEventFilter(watch)
    try:
        wait_filled(qtbot, page, h)
        choose(page.form.business, "activate")
        page.form.tick_all()
        page.form.set_photo(a_photo())
        page.accept()
        qtbot.waitUntil(lambda: isinstance(page.pin_dialog, ApplicantPinEntry)
                        and screen.pages.currentWidget() is screen.pin_page, timeout=15000)
        layouts = set()
        layouts.add(tuple(b.text() for b in screen.keypad.digit_buttons))
        touch_digits(qtbot, screen, "123456")  # too weak: refused before anything reaches the card
        layouts.add(tuple(b.text() for b in screen.keypad.digit_buttons))
        touch_digits(qtbot, screen, "123456")
        qtbot.waitUntil(lambda: "连续" in screen.pin_message.text(), timeout=10000)
        assert card.pin_is("666666") and changes == []
        touch_digits(qtbot, screen, "258147")
        layouts.add(tuple(b.text() for b in screen.keypad.digit_buttons))
        with qtbot.waitSignal(page.case_saved, timeout=20000) as saved:
            touch_digits(qtbot, screen, "258147")
    finally:
        QApplication.instance().removeEventFilter(watch)
    assert card.pin_is("258147") and len(changes) == 1  # the chip's PIN changed exactly once
    assert watch.digits == []  # no key event with a digit reached the clerk's window
    assert len(layouts) > 1  # the digits move between entries
    assert "258147" not in window.grab().toImage().text() and "258147" not in page.result.text()
    with ctx.store.read() as s:
        case = s.scalar(select(Case).where(Case.number == saved.args[0].number))
        assert case.business == "activate" and case.card.activated_at is not None
    # The screen now shows the saved case for the applicant to confirm, ID number masked.
    qtbot.waitUntil(lambda: screen.confirm_button.isVisible(), timeout=10000)
    shown = screen.shown_text()
    assert h.ssn not in shown and ("*" * 14 + h.ssn[-4:]) in shown and saved.args[0].number in shown


class PadReaderSim:
    """A reader with a PIN pad as PC/SC part 10 describes it: it lists VERIFY/MODIFY_PIN_DIRECT and,
    for PIN_MODIFY_STRUCTURE, takes the digits from its own keypad (``keys``), packs them as the
    structure says (BCD, byte units, left justified, at the insertion offsets after Lc) into the
    APDU of abData and sends it to the card. Written from the specification's field list."""

    def __init__(self, card, keys):
        self.card, self.keys, self.reader, self.atr = card, list(keys), "Pad Reader 00 00", b"\x3b"
        self.controls = []

    def transmit(self, apdu):
        answer = self.card.process(bytes(apdu))
        return answer[:-2], int.from_bytes(answer[-2:], "big")

    def features(self):
        return {0x06: 0x42330006, 0x07: 0x42330007}

    def control(self, code, data):
        self.controls.append(code)
        assert code == 0x42330007  # MODIFY
        fmt, block_string, offset_old, offset_new, confirm = data[2], data[3], data[5], data[6], data[9]
        length = int.from_bytes(data[20:24], "little")
        apdu = bytearray(data[24:24 + length])
        assert fmt == 0x81 and len(apdu) == length  # bytes, position 0, left, BCD
        block = block_string & 0x0F

        def put(offset, digits):
            apdu[5 + offset:5 + offset + block] = bytes.fromhex(digits.ljust(2 * block, "F"))
        if confirm & 0x02:
            put(offset_old, self.keys.pop(0))
        new = self.keys.pop(0)
        if confirm & 0x01 and self.keys.pop(0) != new:
            return b"\x64\x02"
        put(offset_new, new)
        return self.card.process(bytes(apdu))

    def close(self, reset=False):
        if reset:
            self.card.power_on()


def test_activation_on_the_readers_pin_pad(make_window, qtbot, slot):
    from shebao_desk.ui.applicant_side import ApplicantPinEntry
    window, ctx = make_window()
    page = window.pages["intake"]
    h = holder()
    with_issued_card(ctx, ctx.policy, h)
    card = slot(h).card
    wait_filled(qtbot, page, h)
    pad = PadReaderSim(card, ["258147", "258147"])  # what the holder types on the reader
    page.cards.open_card = lambda reader: pad
    choose(page.form.business, "activate")
    page.form.tick_all()
    page.form.set_photo(a_photo())
    watch = KeyWatch(window)
    QApplication.instance().installEventFilter(watch)
    try:
        with qtbot.waitSignal(page.case_saved, timeout=20000):
            page.accept()
    finally:
        QApplication.instance().removeEventFilter(watch)
    assert isinstance(page.pin_dialog, ApplicantPinEntry) and page.pin_dialog.on_pad
    assert pad.controls == [0x42330007] and card.pin_is("258147") and card.pin_commands == 1
    assert watch.digits == []
