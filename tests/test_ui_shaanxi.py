"""Issue 27 through the real widgets: the temporary cards still out on the Today page and their return,
a non-resident document refused by F6 for 申领, the new businesses offered by the intake form with the
number of the card handed over."""

import datetime as dt
from pathlib import Path

from PySide6.QtCore import Qt
from sqlalchemy import select

from shebao_desk.clock import local_day, now_utc
from shebao_desk.devices.simulators.idcard_sim import IdCardSimulator, load_card
from shebao_desk.models import Card, CardStatus, Role, TempCard
from shebao_desk.services.auth import create_clerk
from shebao_desk.store.site_identity import get_site

from conftest import a_photo, applicant, choose, settle, take

CARDS = Path(__file__).resolve().parent.parent / "resources" / "idcards"


def test_the_today_page_lists_the_temporary_cards_out_and_records_a_return(make_window, qtbot, policy,
                                                                            confirmations):
    window, ctx = make_window(monitor=False)
    with ctx.store.read() as s:
        site = get_site(s)
    with ctx.store.unit(None, "A", "test clerk") as s:
        clerk = create_clerk(s, "li", "李经办", "passw0rd!", Role.CLERK)
    take(ctx.store, policy, (clerk, site), "temp_card", applicant(601, name="赵桂兰"), card_number="LS0000601")
    page = window.show_page("today")
    settle(qtbot, ctx)
    table = page.temp_cards
    assert table.rowCount() == 1 and table.text(0, 0) == "赵桂兰" and table.text(0, 2) == "LS0000601"
    overdue = local_day(now_utc()) > dt.date(2026, 3, 9) + dt.timedelta(days=policy.catalogue.temp_card.valid_days)
    assert table.text(0, 5) == ("已过期，未交回" if overdue else "在用")  # handed over on 2026-03-09
    assert "未交回的临时卡 1 张" in page.summary.text()
    qtbot.mouseClick(page.return_button, Qt.LeftButton)  # nothing selected: says what to do
    assert "请先" in page.temp_hint.text()
    table.selectRow(0)
    qtbot.mouseClick(page.return_button, Qt.LeftButton)
    settle(qtbot, ctx)
    assert confirmations and "LS0000601" in confirmations[-1][1]
    assert table.rowCount() == 0 and "已交回" in page.temp_hint.text()
    with ctx.store.read() as s:
        assert s.scalar(select(TempCard.returned_by)) == ctx.clerk.id


def test_f6_refuses_a_foreigners_card_for_apply_and_fills_nothing(make_window, qtbot):
    window, ctx = make_window(monitor=False)
    page = window.pages["intake"]
    choose(page.form.business, "apply")
    with IdCardSimulator(load_card(CARDS / "foreign-permanent-2017.toml")) as sim:
        ctx.idcard_port = sim.path
        page.card_readers.read_idcard()
        qtbot.waitUntil(lambda: "读到的是" in page.card_readers.card_status.text(), timeout=10000)
    status = page.card_readers.card_status.text()
    assert "外国人永久居留身份证" in status and "第二代居民身份证" in status and "12333" in status
    assert page.form.applicant.id_number.text() == "" and page.form.applicant.name.text() == ""


def test_the_form_offers_the_new_businesses_and_takes_the_number_of_the_card_handed_over(make_window, qtbot):
    window, ctx = make_window(monitor=False)
    page = window.pages["intake"]
    form = page.form
    offered = [form.business.itemData(i) for i in range(form.business.count())]
    assert {"temp_card", "pin_unlock", "instant_apply", "instant_reissue", "instant_replace"} <= set(offered)
    choose(form.business, "pin_unlock")
    assert not form.details.card_number.isVisibleTo(form)
    choose(form.business, "instant_apply")
    assert form.details.card_number.isVisibleTo(form) and form.details.card_number_label.text() == "新卡卡号"
    who = applicant(602)
    form.applicant.id_number.setText(who.id_number)
    form.applicant.name.setText(who.name)
    form.details.card_number.setText("C30000602")
    form.tick_all()
    form.set_photo(a_photo())
    with qtbot.waitSignal(page.case_saved, timeout=20000):
        qtbot.mouseClick(page.accept_button, Qt.LeftButton)
    with ctx.store.read() as s:
        card = s.scalar(select(Card))
        assert (card.card_number, card.status) == ("C30000602", CardStatus.NORMAL)
    choose(form.business, "temp_card")
    assert form.details.card_number_label.text() == "临时卡卡号"
