"""The applicant's screen: a second top-level window facing the applicant (large type, Chinese).

It shows only what :mod:`shebao_desk.services.applicant_view` gives it for the one case at the
counter; its pages are the idle screen (window name and service guide, Art. 8), the case to
confirm, the PIN keypad, the signature pad and the rating. It is touch-driven: it never takes
the keyboard focus, so nothing the clerk types lands here and nothing typed here reaches the clerk.
"""

from __future__ import annotations

import random
from html import escape

from PySide6.QtCore import QPointF, Qt, Signal
from PySide6.QtGui import QGuiApplication, QImage, QMouseEvent, QPainter, QPaintEvent, QPen
from PySide6.QtWidgets import (
    QCheckBox, QGridLayout, QHBoxLayout, QLabel, QPushButton, QStackedWidget, QVBoxLayout, QWidget,
)

from shebao_desk.config.applicant_settings import ApplicantSettings
from shebao_desk.config.service_guide import load_guide
from shebao_desk.services.applicant_view import ApplicantView
from shebao_desk.ui.widgets import named


def _touch(button: QPushButton) -> QPushButton:
    button.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # touch only: never steals the clerk's keyboard
    button.setMinimumHeight(72)
    return button


class Keypad(QWidget):
    """Digits in a shuffled layout (a new order every time it is shown): an onlooker learns nothing
    from where the fingers go. The digits stay in this widget until taken; only dots are shown."""

    entered = Signal()

    def __init__(self, rng: random.Random | None = None) -> None:
        super().__init__()
        self._rng = rng or random.SystemRandom()
        self._digits = ""
        self.length = 6
        layout = QVBoxLayout(self)
        self.prompt = named(QLabel(), "keypad_prompt")
        self.dots = named(QLabel(), "keypad_dots")
        self.dots.setAlignment(Qt.AlignmentFlag.AlignCenter)
        layout.addWidget(self.prompt)
        layout.addWidget(self.dots)
        grid = QGridLayout()
        self.digit_buttons = [_touch(named(QPushButton(), f"key_{i}")) for i in range(10)]
        for i, button in enumerate(self.digit_buttons):
            button.clicked.connect(lambda _=False, b=button: self._press(b.text()))
            grid.addWidget(button, i // 3, i % 3)
        self.clear_button = _touch(named(QPushButton("清除"), "key_clear"))
        self.ok_button = _touch(named(QPushButton("确定"), "key_ok"))
        self.clear_button.clicked.connect(self.clear)
        self.ok_button.clicked.connect(self._ok)
        grid.addWidget(self.clear_button, 3, 1)
        grid.addWidget(self.ok_button, 3, 2)
        layout.addLayout(grid)

    def ask(self, prompt: str, length: int) -> None:
        self.prompt.setText(prompt)
        self.length = length
        self.clear()
        order = list("0123456789")
        self._rng.shuffle(order)
        for button, digit in zip(self.digit_buttons, order, strict=True):
            button.setText(digit)

    def _press(self, digit: str) -> None:
        if len(self._digits) < self.length:
            self._digits += digit
        self.dots.setText("●" * len(self._digits) + "○" * (self.length - len(self._digits)))

    def _ok(self) -> None:
        if len(self._digits) == self.length:
            self.entered.emit()

    def clear(self) -> None:
        self._digits = ""
        self.dots.setText("○" * self.length)

    def take(self) -> str:
        """The digits typed, once: the keypad forgets them."""
        digits, self._digits = self._digits, ""
        self.dots.setText("○" * self.length)
        return digits

    def keyPressEvent(self, event):  # noqa: N802 - Qt's name
        event.ignore()  # the keypad is touched, never typed on


class SignaturePad(QWidget):
    """Strokes with a finger or pen; ``image()`` is the signature on white, for the form PDF."""

    def __init__(self) -> None:
        super().__init__()
        self.setMinimumSize(640, 240)
        self.strokes: list[list[QPointF]] = []
        self.setAttribute(Qt.WidgetAttribute.WA_StaticContents)

    def mousePressEvent(self, event: QMouseEvent) -> None:  # noqa: N802
        self.strokes.append([event.position()])

    def mouseMoveEvent(self, event: QMouseEvent) -> None:  # noqa: N802
        if self.strokes:
            self.strokes[-1].append(event.position())
            self.update()

    def clear(self) -> None:
        self.strokes = []
        self.update()

    def is_blank(self) -> bool:
        return not any(len(s) > 1 for s in self.strokes)

    def _draw(self, painter: QPainter) -> None:
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setPen(QPen(Qt.GlobalColor.black, 4, Qt.PenStyle.SolidLine, Qt.PenCapStyle.RoundCap))
        for stroke in self.strokes:
            for a, b in zip(stroke, stroke[1:], strict=False):
                painter.drawLine(a, b)

    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802
        painter = QPainter(self)
        painter.fillRect(self.rect(), Qt.GlobalColor.white)
        self._draw(painter)

    def image(self) -> QImage:
        image = QImage(self.size(), QImage.Format.Format_RGB32)
        image.fill(Qt.GlobalColor.white)
        painter = QPainter(image)
        self._draw(painter)
        painter.end()
        return image


class RatingPanel(QWidget):
    rated = Signal(str, list)  # level, reasons

    def __init__(self, settings: ApplicantSettings) -> None:
        super().__init__()
        self.settings = settings
        layout = QVBoxLayout(self)
        layout.addWidget(QLabel("请您对本次服务进行评价（一次一评，自愿评价）"))
        row = QHBoxLayout()
        self.level_buttons: dict[str, QPushButton] = {}
        for level in settings.rating.levels:
            button = _touch(named(QPushButton(level), f"rate_{level}"))
            button.setCheckable(True)
            button.clicked.connect(lambda _=False, lv=level: self._choose(lv))
            self.level_buttons[level] = button
            row.addWidget(button)
        layout.addLayout(row)
        self.reasons_label = QLabel("请勾选不满意的原因：")
        layout.addWidget(self.reasons_label)
        self.reason_boxes = {r: named(QCheckBox(r), f"reason_{r}") for r in settings.rating.reasons}
        for box in self.reason_boxes.values():
            box.setFocusPolicy(Qt.FocusPolicy.NoFocus)
            layout.addWidget(box)
        self.message = named(QLabel(), "rating_message")
        layout.addWidget(self.message)
        self.submit = _touch(named(QPushButton("提交评价"), "rating_submit"))
        self.submit.clicked.connect(self._submit)
        layout.addWidget(self.submit)
        self.level = ""
        self.reset()

    def reset(self) -> None:
        self.level = ""
        for button in self.level_buttons.values():
            button.setChecked(False)
        for box in self.reason_boxes.values():
            box.setChecked(False)
        self._show_reasons(False)
        self.message.setText("")

    def _show_reasons(self, shown: bool) -> None:
        self.reasons_label.setVisible(shown)
        for box in self.reason_boxes.values():
            box.setVisible(shown)

    def _choose(self, level: str) -> None:
        self.level = level
        for name, button in self.level_buttons.items():
            button.setChecked(name == level)
        self._show_reasons(self.settings.is_bad(level))

    def _submit(self) -> None:
        if not self.level:
            self.message.setText("请先选择一个评价等级")
            return
        reasons = [r for r, box in self.reason_boxes.items() if box.isChecked()] if self.settings.is_bad(self.level) else []
        if self.settings.is_bad(self.level) and not reasons:
            self.message.setText("请至少勾选一个原因")
            return
        self.rated.emit(self.level, reasons)


class ApplicantScreen(QWidget):
    """The window itself: one page at a time, each for the one case at the counter."""

    confirmed = Signal()
    signed = Signal()
    pin_cancelled = Signal()

    def __init__(self, settings: ApplicantSettings, window_name: str, parent: QWidget | None = None) -> None:
        super().__init__(parent, Qt.WindowType.Window | Qt.WindowType.WindowDoesNotAcceptFocus)
        self.setObjectName("applicant_screen")
        self.setWindowTitle("申请人屏幕")
        self.setAttribute(Qt.WidgetAttribute.WA_ShowWithoutActivating)
        self.setStyleSheet(f"#applicant_screen, #applicant_screen QLabel, #applicant_screen QPushButton,"
                           f" #applicant_screen QCheckBox {{font-size:{settings.screen.font_px}px}}")
        self.settings = settings
        self.view: ApplicantView | None = None
        layout = QVBoxLayout(self)
        self.pages = QStackedWidget()
        layout.addWidget(self.pages)
        self.idle = self._idle_page(window_name)
        self.case_page, self.case_text, self.confirm_button = self._case_page()
        self.keypad = Keypad()
        self.pin_message = named(QLabel(), "applicant_pin_message")
        self.pin_message.setWordWrap(True)
        pin_page = QWidget()
        pin_layout = QVBoxLayout(pin_page)
        pin_layout.addWidget(self.keypad)
        pin_layout.addWidget(self.pin_message)
        cancel = _touch(named(QPushButton("不改了，取消"), "pin_cancel"))
        cancel.clicked.connect(self.pin_cancelled)
        pin_layout.addWidget(cancel)
        self.pin_page = pin_page
        self.signature_page, self.signature_pad = self._signature_page()
        self.rating = RatingPanel(settings)
        for page in (self.idle, self.case_page, self.pin_page, self.signature_page, self.rating):
            self.pages.addWidget(page)
        self.show_idle()

    def _idle_page(self, window_name: str) -> QWidget:
        guide = load_guide()
        page = QWidget()
        layout = QVBoxLayout(page)
        title = named(QLabel(f"<h1>{escape(window_name)}</h1>"), "idle_window_name")
        title.setAlignment(Qt.AlignmentFlag.AlignCenter)
        layout.addWidget(title)
        text = "".join(f"<h3>{escape(h)}</h3><p>{escape(t)}</p>" for h, t in guide.sections[:4])
        body = named(QLabel(f"<h2>{escape(guide.title)}</h2>{text}"), "idle_guide")
        body.setWordWrap(True)
        layout.addWidget(body, 1)
        return page

    def _case_page(self) -> tuple[QWidget, QLabel, QPushButton]:
        page = QWidget()
        layout = QVBoxLayout(page)
        text = named(QLabel(), "applicant_case")
        text.setWordWrap(True)
        layout.addWidget(text, 1)
        button = _touch(named(QPushButton("信息无误，确认"), "applicant_confirm"))
        button.clicked.connect(self.confirmed)
        layout.addWidget(button)
        return page, text, button

    def _signature_page(self) -> tuple[QWidget, SignaturePad]:
        page = QWidget()
        layout = QVBoxLayout(page)
        layout.addWidget(QLabel("请在下面的框内签名"))
        pad = named(SignaturePad(), "signature_pad")
        layout.addWidget(pad, 1)
        row = QHBoxLayout()
        again = _touch(named(QPushButton("重签"), "signature_clear"))
        done = _touch(named(QPushButton("签好了"), "signature_done"))
        again.clicked.connect(pad.clear)
        done.clicked.connect(lambda: None if pad.is_blank() else self.signed.emit())
        row.addWidget(again)
        row.addWidget(done)
        layout.addLayout(row)
        return page, pad

    # -- what is shown -------------------------------------------------------------

    def show_idle(self) -> None:
        self.view = None
        self.case_text.setText("")
        self.pages.setCurrentWidget(self.idle)

    def show_case(self, view: ApplicantView, *, confirm: bool) -> None:
        self.view = view
        rows = "".join(f"<tr><td>{escape(k)}：</td><td><b>{escape(v)}</b></td></tr>" for k, v in view.lines())
        self.case_text.setText(f"<table cellpadding='6'>{rows}</table>")
        self.confirm_button.setVisible(confirm)
        self.pages.setCurrentWidget(self.case_page)

    def ask_pin(self, prompt: str, length: int) -> None:
        self.keypad.ask(prompt, length)
        self.pages.setCurrentWidget(self.pin_page)

    def ask_signature(self) -> None:
        self.signature_pad.clear()
        self.pages.setCurrentWidget(self.signature_page)

    def ask_rating(self) -> None:
        self.rating.reset()
        self.pages.setCurrentWidget(self.rating)

    def shown_text(self) -> str:
        """Every text the applicant can see now (tests check nothing unmasked is among it)."""
        page = self.pages.currentWidget()
        if page is None:
            return ""
        return "\n".join(w.text() for w in page.findChildren(QLabel) + page.findChildren(QPushButton)
                         if w.isVisibleTo(self))

    def place(self, monitor: int) -> bool:
        """On monitor ``monitor`` (1-based) full-screen when there is one; a plain window otherwise."""
        screens = QGuiApplication.screens()
        if 1 <= monitor <= len(screens) and len(screens) > 1:
            self.setGeometry(screens[monitor - 1].geometry())
            self.show()
            self.windowHandle().setScreen(screens[monitor - 1])
            self.setGeometry(screens[monitor - 1].geometry())
            return True
        self.resize(800, 600)
        self.show()
        return False
