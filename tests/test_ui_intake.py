"""The workbench driven through its real widgets (pytest-qt, offscreen Qt)."""

import datetime as dt
import io
import re

import pytest
from pypdf import PdfReader
from PySide6.QtCore import Qt
from sqlalchemy import select

from shebao_desk.rules.idnumber import make_id_number
from shebao_desk.models import Case, CaseStatus

from conftest import a_photo, applicant, choose, fill, settle, take


def pdf_text(path):
    return re.sub(r"\s+", "", "".join(p.extract_text() for p in PdfReader(path).pages))


def test_id_number_is_validated_as_typed(make_window, qtbot):
    window, _ = make_window(monitor=False)
    form = window.pages["intake"].form
    qtbot.keyClicks(form.applicant.id_number, "61100219900228123")
    assert "18 位" in form.applicant.id_hint.text()
    qtbot.keyClicks(form.applicant.id_number, "4")  # the check digit of 61100219900228123 is 9 (GB 11643), not 4
    assert "校验位" in form.applicant.id_hint.text() and "有效" not in form.applicant.id_hint.text()
    form.applicant.id_number.setText(make_id_number("611002", dt.date(1990, 2, 28), 123))
    assert "号码有效" in form.applicant.id_hint.text() and "商州区" in form.applicant.id_hint.text()
    assert form.applicant.sex.text() == "男"
    form.applicant.id_number.setText("611099199002281234")
    assert "地区代码 611099 不存在" in form.applicant.id_hint.text()


def test_missing_materials_return_the_case_with_the_notice(make_window, qtbot):
    window, ctx = make_window(monitor=False)
    page = window.pages["intake"]
    who = applicant(7)
    fill(page.form, id_number=who.id_number, name=who.name, phone="13800000000", address="商州区北新街 1 号")
    page.form.materials.boxes["id_original"].setChecked(True)
    with qtbot.waitSignal(page.case_saved, timeout=20000) as saved:
        qtbot.mouseClick(page.accept_button, Qt.LeftButton)
    result = saved.args[0]
    assert result.status is CaseStatus.RETURNED and result.missing == ("id_copy", "photo")
    assert list(result.papers) == ["notice"]
    text = pdf_text(result.papers["notice"])
    assert who.name in text and "申请人身份证A4复印件尚缺" in text
    assert "退回补材料" in page.result.text()
    assert page.form.applicant.id_number.text() == ""  # the form is ready for the next applicant


def test_agent_id_number_is_checked(make_window, qtbot, shown_errors):
    window, _ = make_window(monitor=False)
    page = window.pages["intake"]
    choose(page.form.mode, "agent")
    who = applicant(8)
    fill(page.form, id_number=who.id_number, name=who.name, agent_name="张三", agent_id="611002199001011234")
    assert page.form.agent.agent_hint.text()
    page.form.tick_all()
    page.form.set_photo(a_photo())
    page.accept()
    qtbot.waitUntil(lambda: bool(shown_errors), timeout=10000)
    assert "代办人身份证号码有误" in shown_errors[0]
    with window.ctx.store.read() as s:
        assert s.scalar(select(Case)) is None


def test_accepted_application_prints_form_and_receipt(make_window, qtbot):
    window, ctx = make_window(monitor=False)
    page = window.pages["intake"]
    who = applicant(9)
    fill(page.form, id_number=who.id_number, name=who.name, phone="13800000000", address="商州区北新街 1 号")
    page.form.set_photo(a_photo())
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow, timeout=5000)
    page.form.applicant.address.setFocus()
    qtbot.keyClick(page.form.applicant.address, Qt.Key_M, Qt.ControlModifier)
    assert all(box.isChecked() for box in page.form.materials.boxes.values())
    with qtbot.waitSignal(page.case_saved, timeout=20000) as saved:
        qtbot.keyClick(page.form.applicant.address, Qt.Key_Return, Qt.ControlModifier)
    result = saved.args[0]
    assert result.status is CaseStatus.ACCEPTED and set(result.papers) == {"business_form", "receipt"}
    assert result.number in pdf_text(result.papers["receipt"])
    assert who.name in pdf_text(result.papers["business_form"])
    assert result.number in page.result.text()
    page.papers.preview("receipt")
    assert page.papers.previews[-1].isVisible() and page.papers.previews[-1].document.pageCount() == 1


def test_photo_ticked_but_not_imported_is_refused(make_window, qtbot):
    window, ctx = make_window(monitor=False)
    page = window.pages["intake"]
    who = applicant(19)
    fill(page.form, id_number=who.id_number, name=who.name, phone="13800000000")
    page.form.tick_all()
    page.accept()
    assert "还没有照片" in page.result.text()
    settle(qtbot, ctx)  # a save the refusal failed to stop would be in by now
    with ctx.store.read() as s:
        assert s.scalar(select(Case)) is None


def test_draft_survives_closing_the_window(make_window, qtbot, tmp_path):
    window, ctx = make_window(monitor=False)
    page = window.pages["intake"]
    choose(page.form.business, "replace")
    who = applicant(10)
    fill(page.form, id_number=who.id_number, name=who.name, reason="芯片损坏")
    page.form.materials.boxes["old_card"].setChecked(True)
    window.close()  # closing mid-form
    again, _ = make_window(monitor=False)
    form = again.pages["intake"].form
    assert form.business_code == "replace"
    assert form.applicant.id_number.text() == who.id_number and form.applicant.name.text() == who.name
    assert form.details.reason.text() == "芯片损坏" and form.materials.boxes["old_card"].isChecked()
    assert "已恢复" in again.pages["intake"].result.text()


def test_draft_written_while_typing_survives_a_crash(make_window, qtbot):
    window, ctx = make_window(monitor=False)
    page = window.pages["intake"]
    fill(page.form, id_number=applicant(11).id_number, name="王五")
    qtbot.waitUntil(lambda: page.draft.load() is not None, timeout=3000)  # written without any close
    assert page.draft.load()["text"]["name"] == "王五"


def test_photo_import_is_normalised_and_warns_on_background(make_window, qtbot, tmp_path):
    from PIL import Image
    window, ctx = make_window(monitor=False)
    page = window.pages["intake"]
    path = tmp_path / "p.png"
    Image.new("RGB", (900, 1200), (40, 90, 200)).save(path)
    page.load_photo(path)
    qtbot.waitUntil(lambda: page.form.photo.jpeg is not None, timeout=10000)
    assert "背景不是白色" in page.form.photo.photo_hint.text()
    assert Image.open(io.BytesIO(page.form.photo.jpeg)).size == (358, 441)


def test_search_masks_id_numbers_and_opens_the_case(make_window, qtbot, policy):
    window, ctx = make_window(monitor=False)
    who = applicant(12)
    clerk_site = (ctx.clerk, ctx.site)
    outcome = take(ctx.store, policy, clerk_site, "apply", who)
    page = window.show_page("search")
    page.query.setText(who.name[:1])
    page.run()
    qtbot.waitUntil(lambda: page.people.rowCount() == 1, timeout=10000)
    assert page.people.text(0, 1) == who.id_number[:4] + "**********" + who.id_number[-4:]
    assert page.cases.text(0, 0) == outcome.case.number
    page.open_case(0, 0)
    qtbot.waitUntil(lambda: page.detail.history.rowCount() > 0, timeout=10000)
    detail = page.detail
    detail.complete()
    qtbot.waitUntil(lambda: "已办结" in detail.message.text(), timeout=10000)
    with ctx.store.read() as s:
        assert s.get(Case, outcome.case.id).status is CaseStatus.COMPLETED


def test_printing_runs_in_a_child_process_and_fails_plainly(tmp_path, policy):
    from shebao_desk.documents.render import Renderer
    from shebao_desk.documents.samples import sample_document
    from shebao_desk.errors import ShebaoError
    from shebao_desk.ui.print_job import PrintSettings, print_in_child
    pdf = tmp_path / "receipt.pdf"
    Renderer().render("receipt", sample_document(policy), pdf)
    out = tmp_path / "printed.pdf"
    assert print_in_child(pdf, PrintSettings(output=str(out))) == 1
    assert len(PdfReader(out).pages) == 1
    with pytest.raises(ShebaoError) as exc:
        print_in_child(tmp_path / "missing.pdf", PrintSettings(output=str(out)))
    assert "打印机" in exc.value.message


def focus_chain(form):
    """The named widgets Tab can reach inside ``form``, in Qt's focus chain order (hidden ones too)."""
    chain, widget = [], form.nextInFocusChain()
    while widget is not form:
        name = widget.objectName()
        if form.isAncestorOf(widget) and name and not name.startswith("qt_") and widget.focusPolicy() & Qt.TabFocus:
            chain.append(name)
        widget = widget.nextInFocusChain()
    return chain


def test_tab_runs_down_the_form_in_reading_order(make_window):
    window, _ = make_window(monitor=False)
    assert focus_chain(window.pages["intake"].form) == [
        "business", "mode", "large_print", "id_number", "name", "ethnicity", "phone", "address", "register_card",
        "photo_button", "photo_folder_button", "agent_name", "agent_id", "agent_relation", "agent_phone", "reason_choice", "reason",
        "outlet", "card_number", "loss_channel", "loss_social", "loss_financial", "loss_effective", "new_name", "new_phone",
        "new_address", "material_id_original", "material_id_copy", "material_photo"]


def test_a_draft_restores_every_field_and_is_written_back_the_same(make_window):
    """The draft's format is what a draft file from an earlier version holds: it must still restore."""
    import base64
    window, _ = make_window(monitor=False)
    form = window.pages["intake"].form
    who = applicant(13)
    draft = {
        "business": "reissue", "mode": "agent", "ethnicity": "02",
        "text": {"id_number": who.id_number, "name": who.name, "phone": "13800000000", "address": "商州区北新街 1 号",
                 "agent_name": "张三", "agent_id": make_id_number("611021", dt.date(1975, 1, 2), 33),
                 "agent_relation": "子女", "agent_phone": "0914-2312333", "reason": "丢失",
                 "new_name": "", "new_phone": "", "new_address": ""},
        "materials": ["agent_id_original", "id_original"], "outlet": "长安银行商洛分行营业部", "large_print": True,
        "photo": base64.b64encode(a_photo()).decode(), "origins": {"name": "id_card", "address": "id_card"},
    }
    form.restore(draft)
    assert form.state() == draft
    assert form.request().agent.relation == "子女" and form.request().outlet == "长安银行商洛分行营业部"
    form.clear()
    assert form.is_blank() and form.state()["photo"] is None and form.state()["origins"] == {}
