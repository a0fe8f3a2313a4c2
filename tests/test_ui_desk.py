"""The clerk's desk at a real screen size: Chinese standard dialogs, windows that fit, no one-key accidents.

Run under Xvfb at 1366×768 (``Xvfb :115 -screen 0 1366x768x24``, QT_QPA_PLATFORM=xcb) to
measure real geometry; offscreen Qt reports its own virtual screen and the same checks apply.
"""

import datetime as dt

import pytest
from PySide6.QtCore import QPoint, QRect, Qt
from PySide6.QtWidgets import QApplication, QDialogButtonBox, QMessageBox, QPushButton

from shebao_desk.idnumber import make_id_number
from shebao_desk.models import Card, CardStatus, Case

from conftest import applicant, take


def fill(form, **fields):
    for name, value in fields.items():
        getattr(form, name).setText(value)


def choose(combo, data):
    index = combo.findData(data)
    assert index >= 0, data
    combo.setCurrentIndex(index)


def needs_real_screen(window):
    room = window.screen().availableGeometry()
    if room.width() < 1280 or room.height() < 720:
        pytest.skip(f"needs a screen of at least 1280×720 (this one {room.width()}×{room.height()}): "
                    "run under Xvfb -screen 0 1366x768x24 with QT_QPA_PLATFORM=xcb")


def on_screen(widget) -> bool:
    """The whole widget lies inside the screen's available area."""
    screen = widget.screen().availableGeometry()
    top_left = widget.mapToGlobal(QPoint(0, 0))
    return widget.isVisible() and screen.contains(QRect(top_left, widget.size()))


def test_standard_dialog_buttons_are_chinese(make_window, qtbot):
    make_window(monitor=False)
    box = QMessageBox(QMessageBox.Question, "测试", "测试", QMessageBox.Ok | QMessageBox.Cancel)
    qtbot.addWidget(box)
    texts = {box.button(b).text().replace("&", "") for b in (QMessageBox.Ok, QMessageBox.Cancel)}
    assert all(any("\u4e00" <= ch <= "\u9fff" for ch in t) for t in texts), texts
    assert any(t.startswith("确定") for t in texts) and any(t.startswith("取消") for t in texts)
    buttons = QDialogButtonBox(QDialogButtonBox.Save | QDialogButtonBox.Close)
    qtbot.addWidget(buttons)
    assert buttons.button(QDialogButtonBox.Save).text().replace("&", "").startswith("保存")


# -- windows that fit ---------------------------------------------------------------

def outside_scroll(widget, page) -> bool:
    from PySide6.QtWidgets import QScrollArea
    parent = widget.parentWidget()
    while parent is not None and parent is not page:
        if isinstance(parent, QScrollArea):
            return False
        parent = parent.parentWidget()
    return True


def test_every_page_action_lies_inside_the_screen(make_window, qtbot):
    window, _ = make_window(monitor=False)
    needs_real_screen(window)
    qtbot.waitExposed(window)
    screen = window.screen().availableGeometry()
    assert window.frameGeometry().height() <= screen.height() and window.frameGeometry().width() <= screen.width()
    # Also a 1280×720 laptop: what the window needs at least leaves room for a title bar.
    need = window.minimumSizeHint()
    assert need.width() <= 1280 - 16 and need.height() <= 720 - 60, need
    outside = []
    for key, page in window.pages.items():
        window.show_page(key)
        qtbot.wait(20)
        buttons = [b for b in page.findChildren(QPushButton) if b.isVisible() and outside_scroll(b, page)]
        assert buttons or key in ("guide", "devices", "today", "search"), key
        outside += [(key, b.text()) for b in buttons if not on_screen(b)]
    assert not outside
    window.show_page("intake")
    page = window.pages["intake"]
    for button in (page.accept_button, page.clear_button, page.tick_button):
        assert on_screen(button), button.text()


def test_geometry_and_maximised_state_are_remembered(make_window, qtbot, tmp_path):
    window, ctx = make_window(monitor=False, db=tmp_path / "geo.sqlite3")
    needs_real_screen(window)
    qtbot.waitExposed(window)
    window.showMaximized()
    qtbot.waitUntil(window.isMaximized, timeout=3000)
    window.close()
    again, _ = make_window(monitor=False, db=tmp_path / "geo.sqlite3")
    assert again.isMaximized()
    again.showNormal()
    qtbot.waitUntil(lambda: not again.isMaximized(), timeout=3000)
    again.resize(1000, 600)
    qtbot.waitUntil(lambda: again.width() == 1000, timeout=3000)
    again.close()
    third, _ = make_window(monitor=False, db=tmp_path / "geo.sqlite3")
    assert not third.isMaximized() and third.size().width() == 1000


def test_print_preview_and_case_window_fit_with_their_buttons(make_window, qtbot, tmp_path, policy):
    from shebao_desk.documents.samples import write_samples
    from shebao_desk.ui.printing import PreviewDialog
    window, ctx = make_window(monitor=False)
    needs_real_screen(window)
    path = write_samples(policy, tmp_path / "samples")[0]
    dialog = PreviewDialog(path, ctx.printer, window, "预览")
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitExposed(dialog)
    assert dialog.frameGeometry().height() <= dialog.screen().availableGeometry().height()
    assert on_screen(dialog.print_button)
    assert all(on_screen(b) for b in dialog.findChildren(QPushButton))
