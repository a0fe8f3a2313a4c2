"""The clerk's main window: who and where is always visible, pages on the left."""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING, cast

from PySide6.QtCore import QEvent, QObject, Qt, QTimer
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QHBoxLayout, QLabel, QListWidget, QMainWindow, QPushButton, QStackedWidget, QVBoxLayout, QWidget,
)

from shebao_desk.clock import local_day, local_text, now_utc
from shebao_desk.models import Role
from shebao_desk.services.attendance import sign_out
from shebao_desk.services.calendar_store import WINDOW_HOW, next_year_warning
from shebao_desk.sync.status import sync_status
from shebao_desk.ui.about_dialog import AboutDialog
from shebao_desk.ui.confirm import confirm
from shebao_desk.ui.context import AppContext
from shebao_desk.ui.geometry import desk_settings, fit_to_screen, remember_geometry, restore_geometry
from shebao_desk.ui.login import LoginDialog
from shebao_desk.ui.ops import run_op
from shebao_desk.ui.pages import page_classes
from shebao_desk.ui.widgets import named

if TYPE_CHECKING:  # the pages load with the workbench (page_classes)
    from shebao_desk.ui.pages.intake import IntakePage


class IdleWatcher(QObject):
    """Restarts a timer on every key or mouse event; when it fires the screen locks."""

    def __init__(self, minutes: int, on_idle) -> None:
        super().__init__()
        self.timer = QTimer(self, singleShot=True, interval=minutes * 60_000)
        self.timer.timeout.connect(on_idle)
        self.timer.start()

    def eventFilter(self, obj, event) -> bool:  # noqa: N802 (Qt naming)
        if event.type() in (QEvent.Type.KeyPress, QEvent.Type.MouseButtonPress, QEvent.Type.MouseMove, QEvent.Type.Wheel):
            self.timer.start()
        return False


class MainWindow(QMainWindow):
    def __init__(self, ctx: AppContext) -> None:
        super().__init__()
        self.ctx = ctx
        site = ctx.policy.site
        # The application's display name is added by Qt to every window's title: name the place only.
        title = site.institution
        self.setWindowTitle((self.tr("【培训模式】") if ctx.training else "") + title)
        self.settings = desk_settings(ctx.store.path.parent if getattr(ctx.store, "path", None) else None)
        if not restore_geometry(self, self.settings, f"main-{ctx.workstation}"):
            fit_to_screen(self, 1280, 800)
        central = QWidget()
        outer = QVBoxLayout(central)
        outer.setContentsMargins(0, 0, 0, 0)
        if ctx.training:
            banner = named(QLabel(self.tr("培训模式 — 使用培训数据库，所有操作不影响真实业务")), "training_banner")
            banner.setAlignment(Qt.AlignmentFlag.AlignCenter)
            banner.setStyleSheet("background:#d32f2f;color:white;font-weight:bold;padding:6px;font-size:16px")
            outer.addWidget(banner)
        self.header = named(QLabel(), "header")
        self.header.setStyleSheet("padding:6px 10px;background:#1565c0;color:white;font-size:14px")
        outer.addWidget(self.header)
        body = QHBoxLayout()
        self.nav = named(QListWidget(), "nav")
        self.nav.setFixedWidth(170)
        self.nav.setStyleSheet("font-size:16px")
        self.stack = QStackedWidget()
        body.addWidget(self.nav)
        body.addWidget(self.stack, 1)
        outer.addLayout(body, 1)
        self.setCentralWidget(central)
        self.pages: dict[str, QWidget] = {}
        self.locked_out = False
        self._build_pages()
        self.nav.currentRowChanged.connect(self.stack.setCurrentIndex)
        self.nav.currentRowChanged.connect(self._page_shown)
        self.nav.setCurrentRow(0)
        self.update_header()
        self.idle = IdleWatcher(site.idle_lock_minutes, self.lock)
        self.sync_label = named(QLabel(), "sync_status")
        self.statusBar().addPermanentWidget(self.sync_label)
        # One line, never wrapped: a long warning must not squeeze the intake form (its whole text in the tooltip).
        self.calendar_label = named(QLabel(), "calendar_status")
        self.calendar_label.setStyleSheet("color:#b00020")
        self.calendar_label.hide()
        self.statusBar().addWidget(self.calendar_label, 1)
        self.sign_out_button = named(QPushButton(self.tr("签退"), flat=True), "sign_out_button")
        self.sign_out_button.setToolTip(self.tr("下班离岗时签退（以当天最后一次签退为准）；退出程序、锁屏或换人登录不算签退"))
        self.sign_out_button.clicked.connect(self.sign_out)
        self.statusBar().addPermanentWidget(self.sign_out_button)
        about = named(QPushButton("关于", flat=True), "about_button")
        about.clicked.connect(self.show_about)
        self.statusBar().addPermanentWidget(about)
        self.sync_timer = QTimer(self, interval=60_000)
        self.sync_timer.timeout.connect(self.refresh_sync_status)
        self.sync_timer.timeout.connect(self.refresh_calendar_status)
        self.sync_timer.start()
        self.refresh_sync_status()
        self.refresh_calendar_status()

    def _build_pages(self) -> None:
        supervisor = self.ctx.clerk is not None and self.ctx.clerk.role in (Role.SUPERVISOR, Role.ADMIN)
        for key, label, cls, needs_supervisor in page_classes():
            if needs_supervisor and not supervisor:
                continue
            page = cls(self.ctx)
            self.pages[key] = page
            self.stack.addWidget(page)
            index = self.stack.count() - 1
            if index < 9:  # Ctrl+1 … Ctrl+9 in the order the clerk sees the pages
                self.nav.addItem(f"{label}　Ctrl+{index + 1}")
                QShortcut(QKeySequence(f"Ctrl+{index + 1}"), self).activated.connect(partial(self.nav.setCurrentRow, index))
            else:
                self.nav.addItem(label)

    def _page_shown(self, row: int) -> None:
        """Every page switch puts the cursor in the page's first field (受理: 身份证号码), not in the list."""
        page = self.stack.widget(row)
        focus = getattr(page, "focus_first", None)
        if callable(focus):
            QTimer.singleShot(0, focus)

    def showEvent(self, event) -> None:  # noqa: N802
        super().showEvent(event)
        if not getattr(self, "_shown_once", False):  # right after login: the cursor in the form (D1)
            self._shown_once = True
            self._page_shown(self.nav.currentRow())

    def sign_out(self) -> None:
        """我要签退: the clerk leaves for the day (only this is leaving; closing the program is not)."""
        if self.ctx.clerk is None:
            return
        clerk_id = self.ctx.clerk.id

        def done(row) -> None:
            when = local_text(row.sign_out_at) if row is not None and row.sign_out_at else ""
            self.statusBar().showMessage(self.tr("已签退 {0}（以当天最后一次签退为准）").format(when), 10_000)

        run_op(self, self.ctx, lambda s: sign_out(s, clerk_id), done, unit="sign out", changes={"attendance"})

    def closeEvent(self, event) -> None:  # noqa: N802
        """Ask about a half-filled form, keep it as a draft and the geometry. Closing is not signing out:
        a clerk closes the program to let a colleague log in at the shared PC (D5)."""
        intake = cast("IntakePage | None", self.pages.get("intake"))
        # Closing from the lock screen never asks: a question there would leave the desk unlocked.
        unsaved = intake is not None and self.isVisible() and not intake.form.is_blank() and not self.locked_out
        if unsaved and not confirm(self, self.tr("尚未受理"),
                                   self.tr("受理页上还有未受理的填写。退出后填写内容保存为草稿，下次打开时恢复；"
                                           "该业务尚未受理、没有受理编号。确定退出吗？"), self.tr("退出")):
            event.ignore()
            return
        if intake is not None:
            intake.save_draft()
        remember_geometry(self, self.settings, f"main-{self.ctx.workstation}")
        super().closeEvent(event)

    def refresh_sync_status(self) -> None:
        days = self.ctx.policy.site.sync_warn_after_days

        def shown(status) -> None:
            text = status.text()
            if status.warn:
                text = f"⚠ {text}" + (f"（已超过 {days} 天未同步，请尽快同步或导出数据包）" if status.pending else "")
            self.sync_label.setText(text)
            self.sync_label.setStyleSheet("color:#b00020;font-weight:bold" if status.warn else "")

        run_op(self, self.ctx, lambda: sync_status(self.ctx.store, days), shown, quiet=True)

    def refresh_calendar_status(self) -> None:
        """From 1 November, tell a supervisor or admin that next year's schedule is still provisional."""
        if self.ctx.clerk is None or self.ctx.clerk.role not in (Role.SUPERVISOR, Role.ADMIN):
            return
        calendar = self.ctx.policy.calendar

        def work(s):
            calendar.refresh(s)
            return next_year_warning(calendar, local_day(now_utc()), WINDOW_HOW)

        def shown(warning) -> None:
            text = f"⚠ {warning}" if warning else ""
            width = max(200, self.width() - 420)
            self.calendar_label.setText(self.calendar_label.fontMetrics().elidedText(text, Qt.TextElideMode.ElideRight, width))
            self.calendar_label.setToolTip(text)
            self.calendar_label.setVisible(bool(warning))

        run_op(self, self.ctx, work, shown, read=True, quiet=True)
    def show_about(self) -> None:
        AboutDialog(str(self.ctx.store.path), self).exec()

    def show_page(self, key: str) -> QWidget:
        page = self.pages[key]
        self.nav.setCurrentRow(self.stack.indexOf(page))
        return page

    def update_header(self) -> None:
        ctx, site = self.ctx, self.ctx.policy.site
        who = f"{ctx.clerk.display_name}（{ctx.clerk.role.label}）" if ctx.clerk else "未登录"
        self.header.setText(f"{site.window_name} · 窗口 {site.window_code} · 工作站 {ctx.workstation}"
                            f"　　经办人：{who}")

    def lock(self) -> None:
        if self.ctx.clerk is None or not self.isVisible():
            return
        dialog = LoginDialog(self.ctx, self.tr("屏幕已锁定"), locked_for=self.ctx.clerk.username)
        if dialog.exec() and dialog.result_clerk is not None:
            self.ctx.clerk = dialog.result_clerk
        else:
            self.locked_out = True  # the draft is still saved on close
            self.close()
            return
        self.idle.timer.start()
