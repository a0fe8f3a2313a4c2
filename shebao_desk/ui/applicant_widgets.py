"""The applicant screen's touch widgets: the shuffled PIN keypad, the signature pad, the rating."""

from __future__ import annotations

import random

from PySide6.QtCore import QPointF, Qt, Signal
from PySide6.QtGui import QImage, QMouseEvent, QPainter, QPaintEvent, QPen
from PySide6.QtWidgets import QCheckBox, QGridLayout, QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from shebao_desk.config.applicant_settings import ApplicantSettings
from shebao_desk.ui.widgets import named


def touch_only(button: QPushButton) -> QPushButton:
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
        self.digit_buttons = [touch_only(named(QPushButton(), f"key_{i}")) for i in range(10)]
        for i, button in enumerate(self.digit_buttons):
            button.clicked.connect(lambda _=False, b=button: self._press(b.text()))
            grid.addWidget(button, i // 3, i % 3)
        self.clear_button = touch_only(named(QPushButton("清除"), "key_clear"))
        self.ok_button = touch_only(named(QPushButton("确定"), "key_ok"))
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
            button = touch_only(named(QPushButton(level), f"rate_{level}"))
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
        self.submit = touch_only(named(QPushButton("提交评价"), "rating_submit"))
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
