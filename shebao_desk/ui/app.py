"""Starting the GUI: fonts, store, first-admin or login, then the main window."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from PySide6.QtGui import QFont, QFontDatabase
from PySide6.QtWidgets import QApplication

from shebao_desk.attendance import sign_in
from shebao_desk.auth import needs_first_admin
from shebao_desk.policy import load_policy
from shebao_desk.site_identity import ensure_site
from shebao_desk.store import default_db_path, open_store, resolve_db_path
from shebao_desk.ui.context import AppContext

log = logging.getLogger(__name__)

CJK_FONT_FILES = ("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc", "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
                  "/usr/share/fonts/truetype/arphic/uming.ttc")


def make_app(argv: list[str] | None = None) -> QApplication:
    app = QApplication.instance() or QApplication(argv or sys.argv[:1])
    app.setApplicationName("shebao-desk")
    app.setApplicationDisplayName("社会保障卡综合服务窗口工作台")
    # Offscreen and minimal platforms do not consult fontconfig's CJK fallbacks: load one
    # explicitly so Chinese never renders as boxes.
    families = set(QFontDatabase.families())
    if not any(f in families for f in ("WenQuanYi Zen Hei", "SimSun", "Microsoft YaHei", "Noto Sans CJK SC")):
        for path in CJK_FONT_FILES:
            if Path(path).exists() and QFontDatabase.addApplicationFont(path) >= 0:
                break
    font = QFont()
    font.setFamilies(["Microsoft YaHei", "WenQuanYi Zen Hei", "Noto Sans CJK SC", "SimSun"])
    font.setPointSize(11)
    app.setFont(font)
    return app


def training_db_path() -> Path:
    return default_db_path().with_name("training.sqlite3")


def open_context(db_path: Path, training: bool, workstation: str | None, *, monitor: bool = True) -> AppContext:
    from shebao_desk.ui.card_service import CardService
    policy = load_policy()
    store = open_store(db_path)
    with store.unit(None, workstation or "A", "open site") as s:
        site = ensure_site(s, policy.site, workstation or "A", training=training)
    ctx = AppContext(store=store, policy=policy, site=site, training=training)
    ctx.cards = CardService(ctx.devices, training=training, monitor=monitor)
    ctx.cards.start()
    return ctx


def start_session(ctx: AppContext) -> bool:
    """First-admin setup if needed, then login; True when a clerk is signed in."""
    from shebao_desk.ui.login import FirstAdminDialog, LoginDialog
    with ctx.store.read() as s:
        first = needs_first_admin(s)
    if first:
        dialog = FirstAdminDialog(ctx)
        if not dialog.exec():
            return False
    dialog = LoginDialog(ctx)
    if not dialog.exec() or dialog.result_clerk is None:
        return False
    ctx.clerk = dialog.result_clerk
    with ctx.store.unit(ctx.clerk.id, ctx.workstation, "sign in") as s:
        sign_in(s, ctx.clerk.id, ctx.workstation)
    return True


def run(args: argparse.Namespace) -> int:
    from shebao_desk.ui.errors import report_error
    from shebao_desk.ui.main_window import MainWindow
    app = make_app()
    db_path = training_db_path() if args.training else resolve_db_path(args.db)
    try:
        ctx = open_context(db_path, args.training, args.workstation)
    except Exception as exc:  # noqa: BLE001 - shown once, then the program ends
        report_error(None, exc, "无法启动")
        return 2
    if not start_session(ctx):
        ctx.shutdown()
        return 0
    window = MainWindow(ctx)
    app.installEventFilter(window.idle)
    window.show()
    code = app.exec()
    ctx.shutdown()
    return code
