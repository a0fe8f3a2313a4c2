"""Starting the GUI: the start dialog at once, the store opened behind it, then the main window.

Only PySide6 is imported before the first window shows; SQLAlchemy, Alembic and
the rules load on a worker thread while the clerk sees the dialog.
"""

from __future__ import annotations

import gc
import logging
import os
import sys
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtGui import QFont, QFontDatabase
from PySide6.QtWidgets import QApplication

from shebao_desk.ui import collector as gui_collector
from shebao_desk.ui import pyside_hook
from shebao_desk.ui.i18n import install_translators
from shebao_desk.ui.login import StartDialog
from shebao_desk.ui.worker import Worker

if TYPE_CHECKING:
    import argparse

    from shebao_desk.models import Clerk
    from shebao_desk.ui.context import AppContext

log = logging.getLogger(__name__)

CJK_FONT_FILES = ("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc", "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
                  "/usr/share/fonts/truetype/arphic/uming.ttc")
GIL_SWITCH_INTERVAL_S = 0.001
CHECK_NICE = 10  # the background store check's priority: below the GUI's and the workers'


def make_app(argv: list[str] | None = None) -> QApplication:
    # Workers (database, reader, printer) share Python's GIL with the GUI thread; handing it
    # over every 1 ms instead of 5 ms keeps the window answering while they are busy.
    sys.setswitchinterval(GIL_SWITCH_INTERVAL_S)
    pyside_hook.install()  # before the start-up worker imports SQLAlchemy and the rest
    app = QApplication.instance() or QApplication(argv or sys.argv[:1])
    gui_collector.install()  # before any worker thread could free a Qt object
    assert isinstance(app, QApplication)  # this process's one application is a widgets application
    app.setApplicationName("shebao-desk")
    app.setApplicationDisplayName("社会保障卡综合服务窗口工作台")
    app.setOrganizationName("shebao-desk")
    # Standard dialogs and buttons in Chinese (确定/取消, the print and file dialogs).
    install_translators(app)
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
    from shebao_desk.store.database import default_db_path  # noqa: PLC0415 - start-up, see the module docstring
    return default_db_path().with_name("training.sqlite3")


@dataclass
class Core:
    """What can be opened on any thread: the rules, the store, this site."""

    store: Any
    policy: Any
    site: Any
    training: bool
    first_admin: bool


def open_core(db_path: Path, training: bool, workstation: str | None) -> Core:
    # On the worker, behind the start dialog: SQLAlchemy, Alembic and the rules load here (module docstring).
    from shebao_desk.config.policy import load_policy  # noqa: PLC0415 - start-up
    from shebao_desk.services.auth import needs_first_admin  # noqa: PLC0415 - start-up
    from shebao_desk.store.database import open_store  # noqa: PLC0415 - start-up
    from shebao_desk.store.site_identity import ensure_site, get_site  # noqa: PLC0415 - start-up
    policy = load_policy()
    store = open_store(db_path)  # quick_check runs behind the login form (check_in_background)
    # No silent default: a new store gets its codes from --workstation, or the first-start form asks.
    code = workstation or ("T" if training else None)
    with store.unit(None, code or "", "open site") as s:
        site = ensure_site(s, policy.site, code, training=training) if code or get_site(s) else None
        first_admin = needs_first_admin(s)
    return Core(store, policy, site, training, first_admin)


def build_context(core: Core, *, monitor: bool = True) -> AppContext:
    """On the GUI thread: the workers and the card service are Qt objects living there."""
    from shebao_desk.ui.card_service import CardService  # noqa: PLC0415 - start-up: devices after the start dialog
    from shebao_desk.ui.context import AppContext  # noqa: PLC0415 - start-up, see the module docstring
    ctx = AppContext(store=core.store, policy=core.policy, site=core.site, training=core.training)
    ctx.cards = CardService(ctx.devices, training=core.training, monitor=monitor)
    ctx.cards.start()
    return ctx


def open_context(db_path: Path, training: bool, workstation: str | None, *, monitor: bool = True) -> AppContext:
    return build_context(open_core(db_path, training, workstation), monitor=monitor)


def sign_in_clerk(ctx: AppContext, clerk: Clerk) -> None:
    from shebao_desk.services.attendance import sign_in  # noqa: PLC0415 - start-up, see the module docstring
    with ctx.store.unit(clerk.id, ctx.workstation, "sign in") as s:
        sign_in(s, clerk.id, ctx.workstation)


def start_dialog(db_path: Path, training: bool, workstation: str | None, loader) -> tuple[Any, dict]:
    """Show the start dialog now; fill it in when the store is open. Returns (dialog, state)."""
    dialog = StartDialog(title="登录")
    state: dict = {"loader": loader}  # the worker must outlive its job
    pause_collector()

    def ready(core: Core) -> None:
        resume_collector()
        state["ctx"] = build_context(core)
        dialog.set_context(state["ctx"], first_admin=core.first_admin)
        check_in_background(state["ctx"], dialog)

    def failed(error: BaseException) -> None:
        resume_collector()
        from shebao_desk.failure import trace_text  # noqa: PLC0415 - start-up, see the module docstring
        from shebao_desk.ui.errors import clerk_message  # noqa: PLC0415 - start-up
        log.error("start failed:\n%s", trace_text(error))
        dialog.startup_failed(clerk_message(error))

    # Start loading once the dialog is drawn: the loader's imports would otherwise compete
    # with the first paint for Python's GIL.
    dialog.finished.connect(lambda _result: resume_collector())  # closed before the store was open
    dialog.first_painted.connect(lambda: loader.run(lambda: open_core(db_path, training, workstation), ready, failed))
    dialog.show()
    return dialog, state


def check_in_background(ctx: AppContext, dialog: StartDialog) -> None:
    """The store's quick_check, once the login form is ready, on a thread of its own at low priority: on a
    million cases it reads the whole file, and the clerk must not wait for it. A damaged store stops taking
    writes there and then (Store.check_health); the clerk reads the same line the start used to show."""

    def check() -> Any:
        lower_priority()
        return ctx.store.check_health()

    def found(damage: BaseException | None) -> None:
        if damage is None:
            return
        from shebao_desk.ui.errors import clerk_message, show_message  # noqa: PLC0415 - start-up
        if dialog.isVisible():
            dialog.startup_failed(clerk_message(damage))
        else:
            show_message(QApplication.activeWindow(), clerk_message(damage), "数据库已损坏")

    ctx.store_check.run(check, found)


def lower_priority() -> None:
    """This thread yields the CPU to the GUI and the clerk's work (Linux: a thread has its own nice value)."""
    try:
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), CHECK_NICE)
    except (AttributeError, OSError) as exc:  # not on this system: the check runs at normal priority
        log.debug("store check at normal priority: %s", exc)


def pause_collector() -> None:
    """No cyclic garbage collection while the store loads behind the login window.

    The loading creates some 300,000 objects that live as long as the program (modules, classes,
    tables, rules) and next to no garbage; the collector would walk them over and over as they
    pile up, about 15 % of the start's CPU time.
    """
    collector = gui_collector.installed()
    if collector is not None:
        collector.paused = True


def resume_collector() -> None:
    """What the start made is kept out of the collector's walks for good (gc.freeze), then it runs again."""
    collector = gui_collector.installed()
    if collector is not None and collector.paused:
        gc.freeze()
        collector.paused = False


def settle_heap() -> None:
    """Once the window is built: move what exists now out of the garbage collector's reach.

    A full collection over the start-up heap (SQLAlchemy, Qt wrappers, fonts) can take tens
    of milliseconds on whichever thread triggers it, the GUI thread included.
    """
    gc.collect()
    gc.freeze()


def run(args: argparse.Namespace) -> int:
    app = make_app()
    if args.training:
        db_path = training_db_path()
    else:
        from shebao_desk.store.database import resolve_db_path  # noqa: PLC0415 - start-up, see the module docstring
        db_path = resolve_db_path(args.db)
    loader = Worker("startup")
    dialog, state = start_dialog(db_path, args.training, args.workstation, loader)
    accepted = dialog.exec()
    ctx = state.get("ctx")
    if not accepted or ctx is None or dialog.result_clerk is None:
        if ctx is not None:
            ctx.shutdown()
        return 0
    from shebao_desk.ui.main_window import MainWindow  # noqa: PLC0415 - start-up: the workbench after login
    from shebao_desk.errors import StoreError  # noqa: PLC0415 - start-up, see the module docstring
    from shebao_desk.ui.errors import report_error  # noqa: PLC0415 - start-up
    ctx.clerk = clerk = dialog.result_clerk
    try:
        sign_in_clerk(ctx, clerk)
    except StoreError as damaged:  # the background check found the store damaged since the login
        report_error(None, damaged, "数据库已损坏")
    window = MainWindow(ctx)
    app.installEventFilter(window.idle)
    window.show()
    settle_heap()
    code = app.exec()
    ctx.shutdown()
    return code
