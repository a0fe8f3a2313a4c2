"""A supervisor allows, at the clerk's desk, what a rule refuses (an expired ID card for 申领).

The supervisor types their own username and password and the reason; the use case checks them
(a wrong password counts toward their lockout) and records the approval with the case. 取消 is
the default: Enter in an empty form never approves anything.
"""

from __future__ import annotations

from PySide6.QtWidgets import QDialog, QDialogButtonBox, QFormLayout, QLabel, QLineEdit, QVBoxLayout, QWidget

from shebao_desk.services.case_request import ApprovalRequest
from shebao_desk.ui.geometry import fit_to_screen
from shebao_desk.ui.widgets import named

# Tests replace this with a callable (text) -> ApprovalRequest | None instead of the modal dialog.
_answer = None


class ApprovalDialog(QDialog):
    def __init__(self, text: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(self.tr("主管授权"))
        layout = QVBoxLayout(self)
        message = named(QLabel(text, wordWrap=True), "approval_text")
        layout.addWidget(message)
        form = QFormLayout()
        self.username = named(QLineEdit(), "approval_username")
        self.password = named(QLineEdit(echoMode=QLineEdit.EchoMode.Password), "approval_password")
        self.reason = named(QLineEdit(placeholderText=self.tr("如：申请人已办理换领，持临时身份证")), "approval_reason")
        form.addRow(self.tr("主管用户名"), self.username)
        form.addRow(self.tr("主管密码"), self.password)
        form.addRow(self.tr("授权原因"), self.reason)
        layout.addLayout(form)
        self.buttons = QDialogButtonBox()
        self.approve_button = self.buttons.addButton(self.tr("授权受理"), QDialogButtonBox.ButtonRole.AcceptRole)
        cancel = self.buttons.addButton(QDialogButtonBox.StandardButton.Cancel)
        cancel.setDefault(True)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        layout.addWidget(self.buttons)
        fit_to_screen(self, 520, 300)

    def request(self) -> ApprovalRequest:
        return ApprovalRequest(self.username.text().strip(), self.password.text(), self.reason.text().strip())


def ask_approval(parent: QWidget | None, text: str) -> ApprovalRequest | None:
    """The supervisor's approval, or None when the clerk cancelled."""
    if _answer is not None:
        answer: ApprovalRequest | None = _answer(text)
        return answer
    dialog = ApprovalDialog(text, parent)
    if dialog.exec() != QDialog.DialogCode.Accepted:
        return None
    return dialog.request()
