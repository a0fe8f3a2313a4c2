"""The first-admin setup and the login dialog."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QComboBox, QDialog, QDialogButtonBox, QFormLayout, QLabel, QLineEdit, QVBoxLayout,
)

from shebao_desk.auth import create_clerk, login
from shebao_desk.errors import ValidationError
from shebao_desk.models import Role
from shebao_desk.ui.context import AppContext


class _Form(QDialog):
    def __init__(self, ctx: AppContext, title: str, intro: str) -> None:
        super().__init__()
        self.ctx = ctx
        self.setWindowTitle(title)
        self.setMinimumWidth(420)
        self.layout_ = QVBoxLayout(self)
        head = QLabel(f"<b>{ctx.policy.site.institution}</b><br>{ctx.policy.site.window_name}"
                      f" · 工作站 {ctx.workstation}" + (" · <span style='color:#c00'>培训模式</span>" if ctx.training else ""))
        self.layout_.addWidget(head)
        self.layout_.addWidget(QLabel(intro))
        self.form = QFormLayout()
        self.layout_.addLayout(self.form)
        self.error = QLabel()
        self.error.setObjectName("error")
        self.error.setStyleSheet("color:#b00020")
        self.error.setWordWrap(True)
        self.layout_.addWidget(self.error)
        self.buttons = QDialogButtonBox(QDialogButtonBox.Ok | QDialogButtonBox.Cancel)
        self.buttons.accepted.connect(self.submit)
        self.buttons.rejected.connect(self.reject)
        self.layout_.addWidget(self.buttons)
        self.result_clerk = None

    def busy(self, on: bool) -> None:
        self.buttons.setEnabled(not on)
        self.setCursor(Qt.WaitCursor if on else Qt.ArrowCursor)

    def fail(self, error: BaseException) -> None:
        from shebao_desk.ui.errors import clerk_message
        self.busy(False)
        self.error.setText(clerk_message(error))

    def done_with(self, clerk) -> None:
        self.busy(False)
        self.result_clerk = clerk
        self.accept()

    def submit(self) -> None:  # pragma: no cover - overridden
        raise NotImplementedError


class FirstAdminDialog(_Form):
    """Shown once, on a store with no admin yet."""

    def __init__(self, ctx: AppContext) -> None:
        super().__init__(ctx, "首次使用：创建管理员", "这是本机第一次使用，请先创建管理员账号。")
        self.username = QLineEdit(objectName="username")
        self.display_name = QLineEdit(objectName="display_name")
        self.password = QLineEdit(objectName="password", echoMode=QLineEdit.Password)
        self.password2 = QLineEdit(objectName="password2", echoMode=QLineEdit.Password)
        self.form.addRow("用户名", self.username)
        self.form.addRow("姓名", self.display_name)
        self.form.addRow("密码（至少 8 位，含字母和数字）", self.password)
        self.form.addRow("再输一次密码", self.password2)

    def submit(self) -> None:
        if self.password.text() != self.password2.text():
            self.fail(ValidationError("两次输入的密码不一致"))
            return
        username, name, password = self.username.text(), self.display_name.text(), self.password.text()

        def work():
            with self.ctx.store.unit(None, self.ctx.workstation, "first admin") as s:
                return create_clerk(s, username, name, password, Role.ADMIN)

        self.busy(True)
        self.ctx.db.run(work, self.done_with, self.fail)


class LoginDialog(_Form):
    def __init__(self, ctx: AppContext, title: str = "登录", locked_for: str | None = None) -> None:
        super().__init__(ctx, title, "屏幕已锁定，请重新输入密码。" if locked_for else "请输入用户名和密码。")
        self.username = QLineEdit(objectName="username")
        self.password = QLineEdit(objectName="password", echoMode=QLineEdit.Password)
        if locked_for:
            self.username.setText(locked_for)
            self.username.setReadOnly(True)
        self.form.addRow("用户名", self.username)
        self.form.addRow("密码", self.password)
        (self.password if locked_for else self.username).setFocus()
        self.password.returnPressed.connect(self.submit)

    def submit(self) -> None:
        cfg = self.ctx.policy.site
        username, password = self.username.text(), self.password.text()
        self.password.clear()

        def work():
            return login(self.ctx.store, username, password, max_failures=cfg.login_max_failures,
                         lockout_minutes=cfg.lockout_minutes, workstation=self.ctx.workstation)

        self.busy(True)
        self.ctx.db.run(work, self.done_with, self.fail)
