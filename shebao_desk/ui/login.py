"""The start dialog: shown at once while the store opens, then first-admin setup or login.

Also the lock screen. It imports nothing heavy itself, so the window appears
before SQLAlchemy and the rest have loaded (they load on a worker meanwhile).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QTimer, Signal
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QFormLayout, QLabel, QLineEdit, QVBoxLayout, QWidget

from shebao_desk.errors import ValidationError
from shebao_desk.ui.naming import named

if TYPE_CHECKING:
    from shebao_desk.ui.context import AppContext


class StartDialog(QDialog):
    first_painted = Signal()

    def __init__(self, ctx: AppContext | None = None, *, first_admin: bool = False, locked_for: str | None = None,
                 title: str = "登录") -> None:
        super().__init__()
        self.ctx: AppContext | None = None
        self.locked_for = locked_for
        self.first_admin = False  # the first-start form (site codes and/or the first admin) is showing
        self.needs_admin = False
        self.result_clerk = None
        self.setWindowTitle(title)
        self.setMinimumWidth(440)
        layout = QVBoxLayout(self)
        self.head = named(QLabel("<b>社会保障卡综合服务窗口工作台</b>"), "head")
        self.intro = named(QLabel("正在打开数据库…"), "intro")
        self.intro.setWordWrap(True)
        layout.addWidget(self.head)
        layout.addWidget(self.intro)

        self.login_fields = QWidget()
        form = QFormLayout(self.login_fields)
        self.username = named(QLineEdit(), "username")
        self.password = named(QLineEdit(echoMode=QLineEdit.EchoMode.Password), "password")
        form.addRow("用户名", self.username)
        form.addRow("密码", self.password)
        self.password.returnPressed.connect(self.submit)
        layout.addWidget(self.login_fields)

        self.site_fields = QWidget()  # first start of a new store: which window and workstation this PC is
        form = QFormLayout(self.site_fields)
        self.window_code = named(QLineEdit(maxLength=8), "window_code")
        self.workstation_id = named(QLineEdit(maxLength=4, placeholderText="如 A、B，每台电脑不同"), "workstation_id")
        form.addRow("窗口编号", self.window_code)
        form.addRow("工作站编号", self.workstation_id)
        layout.addWidget(self.site_fields)
        self.site_fields.hide()

        self.admin_fields = QWidget()
        form = QFormLayout(self.admin_fields)
        self.new_username = named(QLineEdit(), "new_username")
        self.display_name = named(QLineEdit(), "display_name")
        self.new_password = named(QLineEdit(echoMode=QLineEdit.EchoMode.Password), "new_password")
        self.new_password2 = named(QLineEdit(echoMode=QLineEdit.EchoMode.Password), "new_password2")
        form.addRow("用户名", self.new_username)
        form.addRow("姓名", self.display_name)
        form.addRow("密码（至少 8 位，含字母和数字）", self.new_password)
        form.addRow("再输一次密码", self.new_password2)
        layout.addWidget(self.admin_fields)
        self.admin_fields.hide()

        self.error = named(QLabel(), "error")
        self.error.setStyleSheet("color:#b00020")
        self.error.setWordWrap(True)
        layout.addWidget(self.error)
        # Not the constructor taking the buttons: its overloads (with Qt.Orientation) build the whole Qt
        # namespace, ~30 ms before the first paint; setStandardButtons has one signature.
        self.buttons = QDialogButtonBox()
        self.buttons.setStandardButtons(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        self.buttons.accepted.connect(self.submit)
        self.buttons.rejected.connect(self.reject)
        layout.addWidget(self.buttons)
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setEnabled(False)
        if ctx is not None:
            self.set_context(ctx, first_admin=first_admin)

    def paintEvent(self, event) -> None:  # noqa: N802
        super().paintEvent(event)
        if not getattr(self, "_painted", False):
            self._painted = True
            # Once this paint has finished; bound to the dialog, so nothing fires if it is gone.
            QTimer.singleShot(0, self, self.first_painted.emit)

    def set_context(self, ctx: AppContext, *, first_admin: bool) -> None:
        """The store is open: show who we are and the right form."""
        needs_site = ctx.site is None
        self.ctx, self.first_admin, self.needs_admin = ctx, first_admin or needs_site, first_admin
        site = ctx.policy.site
        self.head.setText(f"<b>{site.institution}</b><br>{site.window_name}"
                          + ("" if needs_site else f" · 工作站 {ctx.workstation}")
                          + (" · <span style='color:#c00'>培训模式</span>" if ctx.training else ""))
        self.site_fields.setVisible(needs_site)
        self.admin_fields.setVisible(first_admin)
        self.login_fields.setVisible(not self.first_admin)
        if needs_site:
            self.setWindowTitle("首次使用：设置本机")
            self.intro.setText("这是本机第一次使用：请填写窗口编号和本机的工作站编号（同一窗口的每台电脑不同）"
                               + ("，并创建管理员账号。" if first_admin else "。"))
            self.window_code.setText(site.window_code)
            self.workstation_id.setFocus()
        elif first_admin:
            self.setWindowTitle("首次使用：创建管理员")
            self.intro.setText("这是本机第一次使用，请先创建管理员账号。")
            self.new_username.setFocus()
        else:
            self.intro.setText("屏幕已锁定，请重新输入密码。" if self.locked_for else "请输入用户名和密码。")
            if self.locked_for:
                self.username.setText(self.locked_for)
                self.username.setReadOnly(True)
            (self.password if self.locked_for else self.username).setFocus()
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setEnabled(True)

    def startup_failed(self, message: str) -> None:
        """The store cannot be used (also when the background check finds it damaged after the form was ready)."""
        self.intro.setText("无法启动。")
        self.error.setText(message)
        self.ctx = None  # submit does nothing from now on
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setEnabled(False)

    def busy(self, on: bool) -> None:
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setEnabled(not on and self.ctx is not None)
        from PySide6.QtCore import Qt  # noqa: PLC0415 - start-up: building the Qt namespace costs ~30 ms
        self.setCursor(Qt.CursorShape.WaitCursor if on else Qt.CursorShape.ArrowCursor)

    def fail(self, error: BaseException) -> None:
        self.busy(False)
        if self.ctx is not None:  # else startup_failed's message stays
            from shebao_desk.ui.errors import clerk_message  # noqa: PLC0415 - start-up, see the module docstring
            self.error.setText(clerk_message(error))

    def done_with(self, clerk) -> None:
        self.busy(False)
        if self.ctx is None:  # the store was found damaged meanwhile: startup_failed's message stays
            return
        if self.first_admin:  # the site and the admin exist now: log in
            self.error.setText("")
            self.set_context(self.ctx, first_admin=False)
            if clerk is not None:
                self.username.setText(clerk.username)
            self.password.setFocus()
            return
        self.result_clerk = clerk
        self.accept()

    def submit(self) -> None:
        ctx = self.ctx
        if ctx is None:
            return
        (self._create_admin if self.first_admin else self._login)(ctx)

    def _create_admin(self, ctx: AppContext) -> None:
        from shebao_desk.models import Role  # noqa: PLC0415 - start-up, see the module docstring
        from shebao_desk.services.auth import create_clerk  # noqa: PLC0415 - start-up
        if self.needs_admin and self.new_password.text() != self.new_password2.text():
            self.fail(ValidationError("两次输入的密码不一致"))
            return
        needs_admin = self.needs_admin
        username, name, password = self.new_username.text(), self.display_name.text(), self.new_password.text()
        window, workstation = self.window_code.text(), self.workstation_id.text()


        def work():
            from shebao_desk.services.site_setup import set_up_site  # noqa: PLC0415 - start-up
            if ctx.site is None:
                ctx.site = set_up_site(ctx.store, ctx.policy.site, window, workstation, training=ctx.training)
            if not needs_admin:
                return None
            with ctx.store.unit(None, ctx.workstation, "first admin") as s:
                return create_clerk(s, username, name, password, Role.ADMIN)

        from shebao_desk.ui.ops import run_op  # noqa: PLC0415 - start-up, see the module docstring
        self.busy(True)
        run_op(self, ctx, work, self.done_with, hint=self.error, failed=lambda _: self.busy(False),
               changes={"clerks", "site"})

    def _login(self, ctx: AppContext) -> None:
        from shebao_desk.services.auth import login  # noqa: PLC0415 - start-up, see the module docstring
        cfg = ctx.policy.site
        username, password = self.username.text(), self.password.text()
        self.password.clear()

        def work():
            return login(ctx.store, username, password, max_failures=cfg.login_max_failures,
                         lockout_minutes=cfg.lockout_minutes, workstation=ctx.workstation)

        from shebao_desk.ui.ops import run_op  # noqa: PLC0415 - start-up, see the module docstring
        self.busy(True)
        run_op(self, ctx, work, self.done_with, hint=self.error, failed=lambda _: self.busy(False))


def LoginDialog(ctx: AppContext, title: str = "登录", locked_for: str | None = None) -> StartDialog:  # noqa: N802
    return StartDialog(ctx, locked_for=locked_for, title=title)


def FirstAdminDialog(ctx: AppContext) -> StartDialog:  # noqa: N802
    return StartDialog(ctx, first_admin=True)
