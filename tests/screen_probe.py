"""Run in a real X window (xcb) on a screen of a given size: the workbench, the case window and every
dialog the clerk meets must lie inside the screen with all their buttons; the case window is
photographed. Prints one JSON object. Started by tests/test_screens.py on Xvfb displays of its own:

    DISPLAY=:71 QT_QPA_PLATFORM=xcb python tests/screen_probe.py STORE_DIR SHOT_DIR
"""

from __future__ import annotations

import datetime as dt
import io
import json
import sys
import time
from pathlib import Path

from PIL import Image
from PySide6.QtCore import QPoint, QRect
from PySide6.QtGui import QGuiApplication
from PySide6.QtPrintSupport import QPrintDialog, QPrinter
from PySide6.QtWidgets import QAbstractButton, QApplication, QScrollArea, QWidget

from shebao_desk.config.catalogue import Mode
from shebao_desk.models import Role
from shebao_desk.rules.idnumber import make_id_number
from shebao_desk.services.auth import create_clerk
from shebao_desk.services.case_request import ApplicantInput, CaseRequest
from shebao_desk.services.intake import accept_case, complete_case


def pump(seconds: float = 0.3) -> None:
    app = QApplication.instance()
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        app.processEvents()
        time.sleep(0.01)


def scroll_of(widget: QWidget, top: QWidget) -> QScrollArea | None:
    parent = widget.parentWidget()
    while parent is not None and parent is not top:
        if isinstance(parent, QScrollArea):
            return parent
        parent = parent.parentWidget()
    return None


def on_screen(widget: QWidget) -> QRect:
    return QRect(widget.mapToGlobal(QPoint(0, 0)), widget.size())


def offenders(top: QWidget, name: str) -> list[str]:
    """What of ``top`` lies outside the screen's available area: the window, or a button that cannot
    be seen whole — one outside a scroll area where it is, one inside once scrolled to (as a clerk
    would scroll, or Tab would)."""
    room = top.screen().availableGeometry()
    out = []
    if not room.contains(top.frameGeometry()):
        out.append(f"{name}: window {top.frameGeometry().getRect()} outside {room.getRect()}")
    for button in top.findChildren(QAbstractButton):
        if not button.isVisibleTo(top) or button.window() is not top:
            continue
        scroll = scroll_of(button, top)
        if scroll is not None:
            scroll.ensureWidgetVisible(button, 0, 0)
            pump(0.05)
            seen = on_screen(scroll.viewport()).intersected(room)
        else:
            seen = room
        if not seen.contains(on_screen(button)):
            out.append(f"{name}: button {button.text() or button.objectName()!r} at {on_screen(button).getRect()}")
    return out


def seed(ctx) -> str:
    """A collected card with a few businesses after it: a case window with a history to scroll."""
    who = ApplicantInput(make_id_number("611002", dt.date(1970, 3, 1), 41), "李秀英", phone="13800000000",
                         address="商洛市商州区北新街 1 号")
    with ctx.store.unit(ctx.clerk.id, "A", "probe") as s:
        materials = set(ctx.policy.catalogue["apply"].required(Mode.SELF))
        case = accept_case(s, CaseRequest("apply", Mode.SELF, who, materials), s.merge(ctx.clerk),
                           s.merge(ctx.site), ctx.policy).case
        complete_case(s, case, s.merge(ctx.clerk))
        return case.id


def a_photo() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (358, 441), (255, 255, 255)).save(out, "JPEG", dpi=(350, 350))
    return out.getvalue()


def intake_with_a_case(window, found: list[str], shot_dir: Path, size: str) -> list[str]:
    """The intake filled in (every line and the papers row that a case brings shown), then accepted:
    the print buttons appear. Both states photographed, their buttons checked."""
    page = window.pages["intake"]
    form = page.form
    form.applicant.id_number.setText(make_id_number("611002", dt.date(1985, 3, 12), 23))
    form.applicant.name.setText("张伟")
    form.applicant.phone.setText("13800000000")
    form.applicant.address.setText("陕西省商洛市商州区北新街22号")
    form.tick_all()
    form.set_photo(a_photo())
    pump(0.5)
    found += offenders(window, "intake, filled in")
    page.scroll_area.verticalScrollBar().setValue(0)
    pump(0.2)
    shoot(shot_dir / f"intake-filled-{size}.png")
    saved: list[object] = []
    page.case_saved.connect(saved.append)
    page.accept()
    deadline = time.monotonic() + 30
    while not saved and time.monotonic() < deadline:
        pump(0.1)
    if not saved:
        found.append(f"intake: the case was not saved ({page.result.text()})")
        return [f"intake-filled-{size}.png"]
    pump(0.5)
    found += offenders(window, "intake, papers of the accepted case")
    page.scroll_area.verticalScrollBar().setValue(0)  # as after 受理 (the probe scrolled to each button)
    pump(0.2)
    shoot(shot_dir / f"intake-papers-{size}.png")
    return [f"intake-filled-{size}.png", f"intake-papers-{size}.png"]


def shoot(path: Path) -> None:
    screen = QGuiApplication.primaryScreen()
    screen.grabWindow(0).save(str(path))


def main() -> int:
    store_dir, shot_dir = Path(sys.argv[1]), Path(sys.argv[2])
    shot_dir.mkdir(parents=True, exist_ok=True)
    from shebao_desk.ui.app import make_app, open_context
    from shebao_desk.ui.approval_dialog import ApprovalDialog
    from shebao_desk.ui.about_dialog import AboutDialog
    from shebao_desk.ui.case_detail import CaseDetailDialog
    from shebao_desk.ui.errors import message_box
    from shebao_desk.ui.file_dialog import make_dialog
    from shebao_desk.ui.login import LoginDialog
    from shebao_desk.ui.main_window import MainWindow
    from shebao_desk.ui.pin_dialog import PinDialog
    from shebao_desk.ui.printing import PreviewDialog
    from shebao_desk.documents.samples import write_samples
    app = make_app()
    screen = app.primaryScreen().size()
    size = f"{screen.width()}x{screen.height()}"
    ctx = open_context(store_dir / "probe.sqlite3", False, "A", monitor=False)
    with ctx.store.unit(None, "A", "probe") as s:
        ctx.clerk = create_clerk(s, "wangfang", "王芳", "passw0rd!", Role.SUPERVISOR)
    case_id = seed(ctx)
    found: list[str] = []
    window = MainWindow(ctx)
    window.show()
    pump(1.0)
    for key in window.pages:
        window.show_page(key)
        pump(0.3)
        found += offenders(window, f"main window, page {key}")
    window.show_page("intake")
    pump(0.3)
    shoot(shot_dir / f"main-window-{size}.png")
    shots = [f"main-window-{size}.png"] + intake_with_a_case(window, found, shot_dir, size)

    detail = CaseDetailDialog(ctx, case_id, window)
    detail.show()
    deadline = time.monotonic() + 20
    while detail.history.rowCount() == 0 and time.monotonic() < deadline:
        pump(0.1)
    pump(0.5)
    found += offenders(detail, "case window")
    shoot(shot_dir / f"case-window-{size}.png")
    shots.append(f"case-window-{size}.png")
    detail.close()

    sample = write_samples(ctx.policy, store_dir / "samples")[0]
    printer = QPrinter(QPrinter.PrinterMode.HighResolution)
    dialogs: list[tuple[str, QWidget]] = [
        ("print preview", PreviewDialog(sample, ctx.printer, window, "预览")),
        ("PIN dialog (large print)", PinDialog(ctx.card_service, "Virtual PCD 00 00", "666666", large=True,
                                               parent=window)),
        ("supervisor approval", ApprovalDialog("申请人的身份证已于 2024-05-20 过期。申领须出示本人有效的居民身份证（第十三条），"
                                               "不能受理。确需受理的，请主管输入用户名和密码，并写明原因。", window)),
        ("about", AboutDialog(str(ctx.store.path), window)),
        ("lock screen", LoginDialog(ctx, "屏幕已锁定", locked_for="wangfang")),
        ("message box", message_box(window, "身份证号码校验位错误：最后一位应为 9，请逐位核对号码\n请填写申请人姓名\n"
                                            "请填写申请人联系电话（申领必填，以便联系申请人）", "未能受理")),
        ("file dialog", make_dialog(window, "选择照片", store_dir, "图片 (*.jpg *.jpeg *.png *.bmp)")),
        ("print dialog", QPrintDialog(printer, window)),
    ]
    for name, dialog in dialogs:
        dialog.show()
        pump(0.5)
        found += offenders(dialog, name)
        if name in ("message box", "supervisor approval"):
            shot = f"{name.replace(' ', '-')}-{size}.png"
            shoot(shot_dir / shot)
            shots.append(shot)
        dialog.close()
        pump(0.1)
    window.close()
    ctx.shutdown()
    ctx.store.close()
    print(json.dumps({"screen": [screen.width(), screen.height()], "offenders": found, "shots": shots},
                     ensure_ascii=False))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
