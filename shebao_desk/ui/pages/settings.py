"""设置 (supervisor/admin): the site, bank outlets, fees and data files as loaded; accounts."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QStandardPaths, QUrl
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import (
    QComboBox, QFormLayout, QGroupBox, QHBoxLayout, QLabel, QLineEdit, QPushButton, QVBoxLayout, QWidget,
)

from shebao_desk.services.auth import create_clerk
from shebao_desk.models import Role
from shebao_desk.config.resources import resources_dir
from shebao_desk.services.calendar_store import ImportedNotice, import_notice
from shebao_desk.ui.desk_prefs import remember_folder, remembered_folder, settings_for
from shebao_desk.ui.file_dialog import first_folder, open_file, standard_folder
from shebao_desk.ui.ops import run_op
from shebao_desk.ui.widgets import Hint, Table, named


class SettingsPage(QWidget):
    def __init__(self, ctx) -> None:
        super().__init__()
        self.ctx = ctx
        cfg = ctx.policy.site
        layout = QVBoxLayout(self)
        site = QGroupBox(self.tr("本窗口"))
        form = QFormLayout(site)
        for label, value in ((self.tr("机构"), cfg.institution), (self.tr("窗口"), f"{cfg.window_name}（{cfg.window_code}）"),
                             (self.tr("工作站"), ctx.workstation), (self.tr("地址"), cfg.address), (self.tr("电话"), cfg.phone),
                             (self.tr("办公时间"), cfg.hours), (self.tr("初始密码"), self.tr("已配置（不显示）")),
                             (self.tr("临时挂失有效期"), f"{cfg.temp_loss_days} 天"),
                             (self.tr("监护人代办年龄"), f"未满 {ctx.policy.catalogue.minors.guardian_age} 周岁"),
                             (self.tr("数据"), self.tr("本机数据库（培训模式使用单独的培训数据库）") if ctx.training else self.tr("本机数据库"))):
            form.addRow(label, QLabel(value))
        layout.addWidget(site)
        outlets = Table([self.tr("发卡银行网点"), self.tr("地址"), self.tr("电话"), self.tr("营业时间")], "outlets")
        outlets.fill([[o.name, o.address, o.phone, o.hours] for o in cfg.bank_outlets])
        layout.addWidget(QLabel(self.tr("发卡银行网点")))
        layout.addWidget(outlets)
        fees = Table([self.tr("业务"), self.tr("承诺时限（工作日）"), self.tr("收费"), self.tr("办理方式")], "fees")
        fees.fill([[b.name, f"{b.days}" if b.days else "当场办结", b.fee_text(b.fee),
                    "、".join(m.label for m in b.modes)] for b in ctx.policy.catalogue])
        layout.addWidget(QLabel(self.tr("业务、时限与收费")))
        layout.addWidget(fees, 1)
        open_folder = named(QPushButton(self.tr("打开业务参数文件夹（县区可修改）")), "open_resources")
        open_folder.clicked.connect(lambda: QDesktopServices.openUrl(QUrl.fromLocalFile(str(resources_dir()))))
        row = QHBoxLayout()
        row.addWidget(open_folder)
        # Next year's holidays, from the State Council's notice (its text saved as a .txt): the
        # same as `calendar import-notice --store`, without a command line.
        notice = named(QPushButton(self.tr("导入节假日安排通知…")), "import_notice")
        notice.clicked.connect(self.import_notice)
        row.addWidget(notice)
        row.addStretch(1)
        layout.addLayout(row)
        self.notice_hint = Hint("notice_hint")
        layout.addWidget(self.notice_hint)
        if ctx.clerk is not None and ctx.clerk.role is Role.ADMIN:
            layout.addWidget(self._accounts())

    def import_notice(self, path: Path | None = None) -> None:
        if path is None:
            settings = settings_for(self.ctx.store.path)
            folder = first_folder([remembered_folder(settings, "notice"),
                                   standard_folder(QStandardPaths.StandardLocation.DocumentsLocation)])
            path = open_file(self, self.tr("国务院办公厅节假日安排通知（文字）"), folder, self.tr("文本文件 (*.txt)"))
            if path is None:
                return
            remember_folder(settings, "notice", path.parent)
        chosen = path

        def done(imported: ImportedNotice) -> None:
            self.notice_hint.fine(self.tr("已导入 {0} 年节假日安排，各窗口同步后生效。").format(imported.year) + " "
                                  + "；".join(line.strip() for line in imported.summary[1:]))

        run_op(self, self.ctx, lambda s: import_notice(s, chosen), done, unit="calendar import-notice",
               hint=self.notice_hint, changes={"calendar"})

    def _accounts(self) -> QGroupBox:
        box = QGroupBox(self.tr("新建账号"))
        row = QHBoxLayout(box)
        self.username = named(QLineEdit(placeholderText=self.tr("用户名")), "new_username")
        self.display_name = named(QLineEdit(placeholderText=self.tr("姓名")), "new_display_name")
        self.password = named(QLineEdit(placeholderText=self.tr("初始密码"), echoMode=QLineEdit.EchoMode.Password), "new_password")
        self.role = named(QComboBox(), "new_role")
        for role in Role:
            self.role.addItem(role.label, role.value)
        create = named(QPushButton(self.tr("创建")), "create_user")
        self.account_hint = Hint("account_hint")
        for w in (self.username, self.display_name, self.password, self.role, create, self.account_hint):
            row.addWidget(w)
        create.clicked.connect(self.create_user)
        return box

    def create_user(self) -> None:
        ctx = self.ctx
        username, name, password = self.username.text(), self.display_name.text(), self.password.text()
        role = Role(self.role.currentData())
        self.password.clear()

        run_op(self, ctx, lambda s: create_clerk(s, username, name, password, role).display_name,
               lambda n: self.account_hint.fine(f"已创建：{n}"), unit="create user", hint=self.account_hint,
               changes={"clerks"})
