"""The desk's devices through the real widgets: the ID card reader (F6) on a simulated serial reader."""

from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from sqlalchemy import select

from shebao_desk.devices.idcard_sim import IdCardSimulator, load_card
from shebao_desk.models import Case, CaseStatus

CARDS = Path(__file__).resolve().parent.parent / "resources" / "idcards"


def press_f6(window, qtbot):
    page = window.show_page("intake")
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow, timeout=5000)
    page.form.name.setFocus()
    QTest.keyClick(page.form.name, Qt.Key_F6)


def test_f6_fills_an_application_from_the_id_card_and_records_the_origin(make_window, qtbot):
    window, ctx = make_window(monitor=False)
    page = window.pages["intake"]
    with IdCardSimulator(load_card(CARDS / "uyghur-long-name.toml")) as sim:
        ctx.idcard_port = sim.path
        press_f6(window, qtbot)
        qtbot.waitUntil(lambda: page.form.name.text() != "", timeout=10000)
    form = page.form
    assert form.name.text() == "阿卜杜热合曼·买买提明·艾力江"
    assert form.id_number.text() == "611021199207084633" and "号码有效" in form.id_hint.text()
    assert form.ethnicity.currentData() == "05"
    assert form.address.text() == "陕西省商洛市洛南县城关街道西街8号"
    assert "已读身份证" in page.card_status.text() and "身份证" in form.origin_hint.text()
    form.phone.setText("13800000001")
    form.address.setText("陕西省商洛市洛南县新址 1 号")  # the clerk corrects the address: typed now
    form.tick_all()
    with qtbot.waitSignal(page.case_saved, timeout=20000) as saved:
        qtbot.mouseClick(page.accept_button, Qt.LeftButton)
    assert saved.args[0]["status"] is CaseStatus.ACCEPTED
    with ctx.store.read() as s:
        case = s.scalar(select(Case))
        assert case.business == "apply"
        assert case.field_origins == {"id_number": "id_card", "name": "id_card", "ethnicity": "id_card",
                                      "address": "typed"}


def test_f6_with_an_expired_card_fills_but_warns(make_window, qtbot):
    window, ctx = make_window(monitor=False)
    page = window.pages["intake"]
    with IdCardSimulator(load_card(CARDS / "expired.toml")) as sim:
        ctx.idcard_port = sim.path
        page.read_idcard()
        qtbot.waitUntil(lambda: page.form.name.text() != "", timeout=10000)
    assert "过期" in page.card_status.text()


def test_f6_warns_when_the_id_card_is_someone_else(make_window, qtbot):
    window, ctx = make_window(monitor=False)
    page = window.pages["intake"]
    page.form.id_number.setText("611002198503122311")
    with IdCardSimulator(load_card(CARDS / "expired.toml")) as sim:
        ctx.idcard_port = sim.path
        page.read_idcard()
        qtbot.waitUntil(lambda: "不是同一人" in page.card_status.text(), timeout=10000)
    assert page.form.name.text() == ""


def test_f6_without_a_card_says_so(make_window, qtbot):
    window, ctx = make_window(monitor=False)
    page = window.pages["intake"]
    with IdCardSimulator(None) as sim:
        ctx.idcard_port = sim.path
        page.read_idcard()
        qtbot.waitUntil(lambda: "没有身份证" in page.card_status.text(), timeout=10000)
