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
