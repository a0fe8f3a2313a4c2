"""The masked PIN dialog: activation (initial PIN → the holder's own) and PIN change.

The PIN fields never leave this dialog except as arguments to the card job; they
are cleared after every attempt and never logged or stored.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QFormLayout, QLabel, QLayout, QLineEdit, QVBoxLayout

from shebao_desk.devices.errors import (
    CardRemovedError, DeviceError, DeviceTimeoutError, PinBlockedError, WrongPinError,
)
from shebao_desk.devices.operations import activate, change_pin
from shebao_desk.ui.card_service import CardService
from shebao_desk.ui.errors import clerk_message
from shebao_desk.ui.widgets import named


def _pin_field(name: str, length: int) -> QLineEdit:
    field = named(QLineEdit(echoMode=QLineEdit.EchoMode.Password, maxLength=length), name)
    field.setInputMask("")
    return field


def pin_failure(error: BaseException) -> tuple[bool, bool]:
    """(the card refused the PIN, the outcome is unknown: a timeout or a pulled card may have left the
    new PIN on the chip or not)."""
    return (isinstance(error, (WrongPinError, PinBlockedError)),
            isinstance(error, (DeviceTimeoutError, CardRemovedError)))


class PinDialog(QDialog):
    succeeded = Signal()

    # The holder types here, often elderly: large type always, larger still in large-print mode.
    FONT_PX = (18, 26)  # normal, large print

    def __init__(self, cards: CardService, reader: str, initial_pin: str, *, change: bool = False,
                 large: bool = False, parent=None, pin_length: int | None = None) -> None:
        super().__init__(parent)
        self.cards, self.reader, self.initial_pin, self.change = cards, reader, initial_pin, change
        self.pin_length = pin_length or len(initial_pin)  # site.toml [card] pin_length
        self.refusals = 0  # the card said no (wrong or blocked PIN): the chip is unchanged
        self.outcome_unknown = False  # a command may have reached the card without an answer
        self.last_detail = ""
        self.large = large
        self.setWindowTitle(self.tr("修改密码") if change else self.tr("启用社会保障卡：设置密码"))
        self.setObjectName("pin_dialog")
        self.setStyleSheet(f"#pin_dialog, #pin_dialog QLabel, #pin_dialog QLineEdit, #pin_dialog QPushButton"
                           f" {{font-size:{self.FONT_PX[large]}px}}")
        layout = QVBoxLayout(self)
        # The dialog grows with its message: the whole error (tries left, what to do) is always shown.
        layout.setSizeConstraint(QLayout.SizeConstraint.SetMinimumSize)
        intro = QLabel(self.tr("读卡器：{0}<br>请持卡人自己输入密码，经办人请回避。").format(reader))
        intro.setWordWrap(True)
        intro.setMinimumWidth(600 if large else 460)  # the layout's minimum decides the dialog's width
        layout.addWidget(intro)
        form = QFormLayout()
        self.old = _pin_field("old_pin", self.pin_length) if change else None
        if self.old is not None:
            form.addRow("原密码", self.old)
        self.new = _pin_field("new_pin", self.pin_length)
        self.confirm = _pin_field("confirm_pin", self.pin_length)
        form.addRow(f"新密码（{self.pin_length} 位数字）", self.new)
        form.addRow("再输一次新密码", self.confirm)
        layout.addLayout(form)
        self.message = named(QLabel(), "pin_message")
        self.message.setWordWrap(True)
        self.message.setStyleSheet("color:#b00020;font-weight:bold")
        layout.addWidget(self.message)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        self.buttons.accepted.connect(self.submit)
        self.buttons.rejected.connect(self.reject)
        layout.addWidget(self.buttons)
        (self.old or self.new).setFocus()

    def submit(self) -> None:
        old = self.old.text() if self.old is not None else self.initial_pin
        new, confirm = self.new.text(), self.confirm.text()
        for field in (self.old, self.new, self.confirm):
            if field is not None:
                field.clear()
        reader, initial, length = self.reader, self.initial_pin, self.pin_length
        if self.change:
            job = lambda open_card: change_pin(open_card, old, new, confirm, initial=initial, reader=reader,  # noqa: E731
                                               pin_length=length)
        else:
            job = lambda open_card: activate(open_card, old, new, confirm, reader=reader, pin_length=length)  # noqa: E731
        self.buttons.setEnabled(False)
        self.setCursor(Qt.CursorShape.WaitCursor)
        self.cards.run(job, self._done, self._failed, reader)

    def _done(self, _result: object) -> None:
        self.unsetCursor()
        self.buttons.setEnabled(True)
        self.succeeded.emit()
        self.accept()

    def _failed(self, error: BaseException) -> None:
        self.unsetCursor()
        self.buttons.setEnabled(True)
        self.last_detail = getattr(error, "detail", repr(error))
        refused, unknown = pin_failure(error)
        self.refusals += refused
        self.outcome_unknown = self.outcome_unknown or unknown
        text = clerk_message(error)
        if isinstance(error, WrongPinError) and not self.change:
            text = f"初始密码校验失败：{text}。如持卡人已改过密码，请改用“密码修改”；忘记密码请办理密码重置。"
        elif not isinstance(error, DeviceError):
            text = clerk_message(error)
        self.show_message(text)
        (self.old or self.new).setFocus()

    def show_message(self, text: str) -> None:
        self.message.setText(text)
        self.layout().activate()  # type: ignore[union-attr]  # the dialog's layout, set in __init__
        self.adjustSize()
