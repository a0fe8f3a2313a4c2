"""Every business at the workbench with a virtual card through pcscd + vpcd, as a clerk does it."""

import datetime as dt
import re

import pytest
from pypdf import PdfReader
from sqlalchemy import select

from shebao_desk.devices.simulators.virtual_card import load_holder
from shebao_desk.devices.simulators.vpcd import DEFAULT_PORT, reader_name
from shebao_desk.services.intake import complete_case, find_person
from shebao_desk.services.case_request import ApplicantInput
from shebao_desk.models import Case, CardStatus, CaseStatus
from shebao_desk.config.resources import resource_path

from conftest import a_photo, fill, take

pytestmark = pytest.mark.pcsc  # skipped without SHEBAO_TEST_PCSC (conftest); `ui` comes with qtbot

PORT = DEFAULT_PORT
READER = reader_name(PORT)


def holder(name="gen3-wang-qiang"):
    return load_holder(resource_path("holders", f"{name}.toml"))


@pytest.fixture
def slot(insert_card):
    return lambda h: insert_card(h, PORT, wait_present=False)


def pdf_text(path):
    return re.sub(r"\s+", "", "".join(p.extract_text() for p in PdfReader(path).pages))


def with_issued_card(ctx, policy, h):
    """The holder applied earlier and collected the card (so the store knows a valid card)."""
    who = ApplicantInput(h.ssn, h.name, phone="13800000000", address="商州区北新街 1 号")
    past = dt.datetime(2026, 3, 9, 1, 30, tzinfo=dt.UTC)
    outcome = take(ctx.store, ctx.policy, (ctx.clerk, ctx.site), "apply", who, now=past)
    with ctx.store.unit(ctx.clerk.id, "A", "collect") as s:
        complete_case(s, s.merge(outcome.case), s.merge(ctx.clerk), past + dt.timedelta(days=10))
    return who


def wait_filled(qtbot, page, h):
    qtbot.waitUntil(lambda: page.form.applicant.id_number.text() == h.ssn and page.form.applicant.name.text() == h.name, timeout=15000)


def accept(qtbot, page):
    with qtbot.waitSignal(page.case_saved, timeout=30000) as saved:
        page.accept()
    return saved.args[0]


def choose(combo, data):
    combo.setCurrentIndex(combo.findData(data))


def open_pin_dialog(qtbot, page):
    """Accept a PIN business: the PIN dialog opens once the record side has agreed.

    The clerk's PIN dialog is a county setting since issue 28 ([pin] entry = "clerk"); these tests
    keep covering it (the applicant's keypad: test_ui_applicant.py)."""
    from shebao_desk.config.applicant_settings import PinSection
    page.applicant.settings = page.applicant.settings.model_copy(update={"pin": PinSection(entry="clerk")})
    page.accept()
    qtbot.waitUntil(lambda: page.pin_dialog is not None, timeout=15000)
    return page.pin_dialog


def chip_journal(ctx):
    from shebao_desk.models import ChipWrite
    with ctx.store.read() as s:
        return [(e.business, e.state.value, e.card_number) for e in s.scalars(select(ChipWrite)).all()]


# The business, whether the person must already hold a card, and what else the clerk types.
BUSINESSES = [
    ("apply", False, {"phone": "13800000000"}),  # 申领/换卡 require a phone (issue 26)
    ("temp_loss", True, {}),
    ("formal_loss", True, {"reason": "遗失"}),
    ("replace", True, {"reason": "芯片损坏", "phone": "13800000000"}),
    ("pin_reset", True, {"reason": "忘记密码"}),
    ("info_change", True, {"new_phone": "13911112222"}),
    ("cancel", True, {"agent_name": "王家属", "agent_relation": "子女", "reason": "死亡"}),
]


@pytest.mark.parametrize("business, needs_card, typed", BUSINESSES, ids=[b[0] for b in BUSINESSES])
def test_each_business_from_the_card_in_the_reader(make_window, qtbot, slot, business, needs_card, typed):
    window, ctx = make_window()
    page = window.pages["intake"]
    h = holder()
    if needs_card:
        with_issued_card(ctx, ctx.policy, h)
    slot(h)
    wait_filled(qtbot, page, h)
    choose(page.form.business, business)  # after the card: the clerk's choice wins over the card's suggestion
    if business == "cancel":
        choose(page.form.mode, "agent")
        page.form.agent.agent_id.setText("611002197001011238")
    assert page.form.applicant.card_read == (h.card_number, h.card_id)
    fill(page.form, **typed)
    page.form.tick_all()
    page.form.set_photo(a_photo())
    result = accept(qtbot, page)
    assert not result.missing and result.paper_error is None
    text = pdf_text(result.papers["receipt"])
    assert result.number in text and h.name in text
    with ctx.store.read() as s:
        case = s.scalar(select(Case).where(Case.number == result.number))
        person = find_person(s, h.ssn)
        assert case.business == business
        if ctx.policy.catalogue[business].days:
            assert case.status is CaseStatus.ACCEPTED and case.promised_date
        else:
            assert case.status is CaseStatus.COMPLETED
        if business != "apply":
            assert case.card.card_number == h.card_number  # the card read was recorded against the person
        states = [c.status for c in person.cards]
    expected = {"formal_loss": CardStatus.FORMALLY_LOST, "replace": CardStatus.REPLACED, "cancel": CardStatus.CANCELLED}
    if business in expected:
        assert states[0] is expected[business]


def test_lift_and_reissue_through_the_workbench(make_window, qtbot, slot):
    window, ctx = make_window()
    page = window.pages["intake"]
    h = holder()
    with_issued_card(ctx, ctx.policy, h)
    slot(h)
    wait_filled(qtbot, page, h)
    for business in ("temp_loss", "lift_loss", "formal_loss", "reissue"):
        if not page.form.applicant.id_number.text():
            page.card_readers.read_selected()
            wait_filled(qtbot, page, h)
        choose(page.form.business, business)
        fill(page.form, phone="13800000000")  # 补卡 requires a phone (issue 26)
        page.form.tick_all()
        page.form.set_photo(a_photo())
        result = accept(qtbot, page)
        assert not result.missing, business
    with ctx.store.read() as s:
        assert [c.status for c in find_person(s, h.ssn).cards] == [CardStatus.FORMALLY_LOST, CardStatus.PENDING]


def test_activation_refuses_a_weak_pin_then_succeeds(make_window, qtbot, slot):
    window, ctx = make_window()
    page = window.pages["intake"]
    h = holder()
    with_issued_card(ctx, ctx.policy, h)
    card = slot(h).card
    wait_filled(qtbot, page, h)
    choose(page.form.business, "activate")
    page.form.tick_all()
    page.form.set_photo(a_photo())
    dialog = open_pin_dialog(qtbot, page)
    dialog.new.setText("123456")
    dialog.confirm.setText("123456")
    dialog.submit()
    qtbot.waitUntil(lambda: "连续" in dialog.message.text(), timeout=10000)
    assert card.pin_is("666666") and card.tries_left == 3  # nothing reached the card
    assert dialog.new.text() == ""  # PIN fields are cleared after every attempt
    dialog.new.setText("258147")
    dialog.confirm.setText("258147")
    with qtbot.waitSignal(page.case_saved, timeout=20000) as saved:
        dialog.submit()
    assert card.pin_is("258147")
    with ctx.store.read() as s:
        case = s.scalar(select(Case).where(Case.number == saved.args[0].number))
        assert case.business == "activate" and case.card.activated_at is not None


def test_pin_change_with_a_wrong_then_the_right_old_pin(make_window, qtbot, slot):
    window, ctx = make_window()
    page = window.pages["intake"]
    h = holder()
    h.pin = "258147"
    with_issued_card(ctx, ctx.policy, h)
    card = slot(h).card
    wait_filled(qtbot, page, h)
    choose(page.form.business, "pin_change")
    page.form.tick_all()
    page.form.set_photo(a_photo())
    dialog = open_pin_dialog(qtbot, page)
    dialog.old.setText("111111")
    dialog.new.setText("369258")
    dialog.confirm.setText("369258")
    dialog.submit()
    qtbot.waitUntil(lambda: "还可以尝试 2 次" in dialog.message.text(), timeout=10000)
    dialog.old.setText("258147")
    dialog.new.setText("369258")
    dialog.confirm.setText("369258")
    with qtbot.waitSignal(page.case_saved, timeout=20000):
        dialog.submit()
    assert card.pin_is("369258")


def test_card_of_another_person_does_not_overwrite_the_form(make_window, qtbot, slot):
    window, ctx = make_window()
    page = window.pages["intake"]
    page.form.applicant.id_number.setText(holder("gen1-li-xiuying").ssn)
    slot(holder())
    qtbot.waitUntil(lambda: "另一人" in page.card_readers.card_status.text(), timeout=15000)
    assert page.form.applicant.id_number.text() == holder("gen1-li-xiuying").ssn


def test_third_generation_card_tells_the_clerk_to_type(make_window, qtbot, slot):
    window, ctx = make_window()
    page = window.pages["intake"]
    slot(holder("gen3-psam"))
    qtbot.waitUntil(lambda: "PSAM" in page.card_readers.card_status.text(), timeout=15000)
    assert page.form.applicant.id_number.text() == ""


def test_devices_page_lists_both_readers_live(make_window, qtbot, slot):
    window, ctx = make_window()
    page = window.show_page("devices")
    qtbot.waitUntil(lambda: page.readers.rowCount() >= 2, timeout=15000)
    slot(holder())
    qtbot.waitUntil(lambda: any(page.readers.text(r, 0) == READER and page.readers.text(r, 1) == "有卡"
                                for r in range(page.readers.rowCount())), timeout=15000)


def test_activation_of_a_genuine_card_unknown_to_the_store(make_window, qtbot, slot):
    """Refused first (the chip untouched), then registered from the chip once the clerk ticks that
    the holder's ID was checked: one case, the PIN changed exactly once."""
    window, ctx = make_window()
    page = window.pages["intake"]
    h = holder()
    card = slot(h).card
    wait_filled(qtbot, page, h)
    choose(page.form.business, "activate")
    page.form.tick_all()
    page.form.set_photo(a_photo())
    page.accept()
    qtbot.waitUntil(lambda: "没有登记" in page.result.text(), timeout=15000)
    assert page.pin_dialog is None
    assert card.pin_is("666666") and card.tries_left == 3 and card.pin_commands == 0  # the chip untouched
    assert chip_journal(ctx) == []
    page.form.applicant.register_card.setChecked(True)
    dialog = open_pin_dialog(qtbot, page)
    assert chip_journal(ctx) == [("activate", "pending", h.card_number)]
    dialog.new.setText("258147")
    dialog.confirm.setText("258147")
    with qtbot.waitSignal(page.case_saved, timeout=20000) as saved:
        dialog.submit()
    assert card.pin_is("258147") and card.pin_commands == 1
    with ctx.store.read() as s:
        cases = s.scalars(select(Case)).all()
        assert [(c.number, c.business, c.status) for c in cases] == [
            (saved.args[0].number, "activate", CaseStatus.COMPLETED)]
        person = find_person(s, h.ssn)
        assert [(c.card_number, c.status) for c in person.cards] == [(h.card_number, CardStatus.NORMAL)]
        assert person.cards[0].activated_at is not None and person.name == h.name
    assert chip_journal(ctx) == [("activate", "recorded", h.card_number)]


def test_refused_activation_leaves_the_chip_untouched(make_window, qtbot, slot):
    """A card still being made in the store: 启用 is refused before any PIN is asked for."""
    window, ctx = make_window()
    page = window.pages["intake"]
    h = holder()
    take(ctx.store, ctx.policy, (ctx.clerk, ctx.site), "apply",
         ApplicantInput(h.ssn, h.name, phone="13800000000", address="商州区北新街 1 号"))
    card = slot(h).card
    wait_filled(qtbot, page, h)
    choose(page.form.business, "activate")
    page.form.tick_all()
    page.form.set_photo(a_photo())
    page.form.applicant.register_card.setChecked(True)  # even so: the person's card is known and not yet issued
    page.accept()
    qtbot.waitUntil(lambda: "制卡中" in page.result.text(), timeout=15000)
    assert page.pin_dialog is None
    assert card.pin_is("666666") and card.tries_left == 3 and card.pin_commands == 0
    assert chip_journal(ctx) == []
