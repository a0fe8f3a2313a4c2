"""The desk's devices through the real widgets: the ID card reader (F6) on a simulated serial reader."""

from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QLabel
from sqlalchemy import select

from shebao_desk.devices.simulators.idcard_sim import IdCardSimulator, load_card
from shebao_desk.models import Case, CaseStatus

from conftest import a_photo, applicant

CARDS = Path(__file__).resolve().parent.parent / "resources" / "idcards"


def press_f6(window, qtbot):
    page = window.show_page("intake")
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow, timeout=5000)
    page.form.applicant.name.setFocus()
    QTest.keyClick(page.form.applicant.name, Qt.Key_F6)


def test_f6_fills_an_application_from_the_id_card_and_records_the_origin(make_window, qtbot):
    window, ctx = make_window(monitor=False)
    page = window.pages["intake"]
    with IdCardSimulator(load_card(CARDS / "uyghur-long-name.toml")) as sim:
        ctx.idcard_port = sim.path
        press_f6(window, qtbot)
        qtbot.waitUntil(lambda: page.form.applicant.name.text() != "", timeout=10000)
    form = page.form
    assert form.applicant.name.text() == "阿卜杜热合曼·买买提明·艾力江"
    assert form.applicant.id_number.text() == "611021199207084633" and "号码有效" in form.applicant.id_hint.text()
    assert form.applicant.ethnicity.currentData() == "05"
    assert form.applicant.address.text() == "陕西省商洛市洛南县城关街道西街8号"
    assert "已读身份证" in page.card_readers.card_status.text() and "身份证" in form.applicant.origin_hint.text()
    form.applicant.phone.setText("13800000001")
    form.applicant.address.setText("陕西省商洛市洛南县新址 1 号")  # the clerk corrects the address: typed now
    form.tick_all()
    form.set_photo(a_photo())
    with qtbot.waitSignal(page.case_saved, timeout=20000) as saved:
        qtbot.mouseClick(page.accept_button, Qt.LeftButton)
    assert saved.args[0].status is CaseStatus.ACCEPTED
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
        page.card_readers.read_idcard()
        qtbot.waitUntil(lambda: page.form.applicant.name.text() != "", timeout=10000)
    assert "过期" in page.card_readers.card_status.text()


def test_f6_warns_when_the_id_card_is_someone_else(make_window, qtbot):
    window, ctx = make_window(monitor=False)
    page = window.pages["intake"]
    page.form.applicant.id_number.setText("611002198503122311")
    with IdCardSimulator(load_card(CARDS / "expired.toml")) as sim:
        ctx.idcard_port = sim.path
        page.card_readers.read_idcard()
        qtbot.waitUntil(lambda: "不是同一人" in page.card_readers.card_status.text(), timeout=10000)
    assert page.form.applicant.name.text() == ""


def test_f6_without_a_card_says_so(make_window, qtbot):
    window, ctx = make_window(monitor=False)
    page = window.pages["intake"]
    with IdCardSimulator(None) as sim:
        ctx.idcard_port = sim.path
        page.card_readers.read_idcard()
        qtbot.waitUntil(lambda: "没有身份证" in page.card_readers.card_status.text(), timeout=10000)


# -- printing through a private CUPS to a cups-pdf queue ------------------------------------------

def page_difference(a, b) -> float:
    """Mean grey-level difference (0–255) of the first pages rendered at 40 dpi."""
    import io
    import subprocess

    from PIL import Image, ImageChops, ImageStat

    def render(path):
        png = subprocess.run(["pdftoppm", "-r", "40", "-gray", "-png", "-f", "1", "-l", "1", str(path)],
                             capture_output=True, check=True, timeout=60).stdout
        return Image.open(io.BytesIO(png)).convert("L")
    first, second = render(a), render(b)
    return ImageStat.Stat(ImageChops.difference(first, second.resize(first.size))).mean[0]


def spooled_text(path) -> str:
    """The text of a PDF the queue wrote, without the line breaks and spaces layout puts in."""
    import re

    from pypdf import PdfReader
    return re.sub(r"\s+", "", "".join(page.extract_text() for page in PdfReader(path).pages))


def accept_application(page, qtbot, who_seq=31, name="赵建国"):
    who = applicant(who_seq, name=name)
    page.form.applicant.id_number.setText(who.id_number)
    page.form.applicant.name.setText(who.name)
    page.form.applicant.phone.setText("13800000000")
    page.form.tick_all()
    page.form.set_photo(a_photo())
    with qtbot.waitSignal(page.case_saved, timeout=20000) as saved:
        page.accept()
    return saved.args[0]


def test_the_form_prints_through_cups_and_a_stopped_queue_is_reprinted(make_window, qtbot, cups_queue,
                                                                     shown_errors):
    from PySide6.QtPrintSupport import QPrinter

    from shebao_desk.devices import printers
    from shebao_desk.ui.print_job import PrintSettings
    window, ctx = make_window(monitor=False)
    page = window.pages["intake"]
    saved = accept_application(page, qtbot)
    page.papers.preview("business_form")
    dialog = page.papers.previews[-1]
    printer = QPrinter(QPrinter.PrinterMode.HighResolution)
    printer.setPrinterName(cups_queue.name)  # what the print dialog hands back when the clerk picks it
    settings = PrintSettings.from_printer(printer)
    assert settings.printer == cups_queue.name and not settings.output

    before = cups_queue.spooled()
    dialog.send(settings)
    qtbot.waitUntil(lambda: dialog.status.text().startswith("已打印"), timeout=90000)
    new = cups_queue.spooled() - before
    assert len(new) == 1
    spooled = new.pop()
    from pypdf import PdfReader
    assert len(PdfReader(spooled).pages) == len(PdfReader(saved.papers["business_form"]).pages)
    # cups-pdf goes PDF → PostScript → PDF; the private queue renders the PostScript with pdftocairo
    # (desk_services.start_cups), whose glyph names let Ghostscript write the ToUnicode maps again, so
    # the text the queue printed can be read back.
    text = spooled_text(spooled)
    assert "陕西省社会保障卡业务办理表" in text and "窗口留存" in text, text[:200]
    who = applicant(31, name="赵建国")  # whom accept_application took
    assert who.name in text and who.id_number in text, text
    # The page as an image, too: the same as the form we sent, unlike the receipt of the same case.
    # (the PostScript round trip shifts and re-rasterises a little: "the same" is a small difference,
    # far below the difference to another document)
    to_form = page_difference(spooled, saved.papers["business_form"])
    to_receipt = page_difference(spooled, saved.papers["receipt"])
    assert to_form < 10 and to_form * 2 < to_receipt, (to_form, to_receipt)
    qtbot.waitUntil(lambda: _case(ctx).papers_printed_at is not None, timeout=10000)

    # The queue is stopped: the clerk is told, nothing waits on the queue, the case says so.
    cups_queue.admin("cupsdisable", cups_queue.name)
    before = cups_queue.spooled()
    dialog.send(settings)
    qtbot.waitUntil(lambda: bool(shown_errors), timeout=30000)
    assert "已暂停" in shown_errors[-1] and "重新打印" in shown_errors[-1]
    assert dialog.retry_button.isVisible() and "打印失败" in dialog.status.text()
    assert printers.job_ids(cups_queue.name) == set()
    qtbot.waitUntil(lambda: "已暂停" in _case(ctx).print_problem, timeout=10000)

    # Fixed: 重新打印 prints once, and the problem is cleared.
    cups_queue.admin("cupsenable", cups_queue.name)
    qtbot.mouseClick(dialog.retry_button, Qt.LeftButton)
    qtbot.waitUntil(lambda: dialog.status.text().startswith("已打印"), timeout=90000)
    again = cups_queue.spooled() - before
    assert len(again) == 1
    reprinted = again.pop()
    assert page_difference(reprinted, saved.papers["business_form"]) < 10
    assert who.name in spooled_text(reprinted) and "陕西省社会保障卡业务办理表" in spooled_text(reprinted)
    assert not dialog.retry_button.isVisible()
    qtbot.waitUntil(lambda: _case(ctx).print_problem == "", timeout=10000)


def test_a_rejecting_queue_is_refused_with_a_message(cups_queue):
    from shebao_desk.devices import printers
    cups_queue.admin("cupsreject", cups_queue.name)
    try:
        assert "拒绝接收" in printers.queue_problem(cups_queue.name)
    finally:
        cups_queue.admin("cupsaccept", cups_queue.name)
    assert printers.queue_problem(cups_queue.name) is None
    assert "找不到打印机" in printers.queue_problem("no-such-queue")
    assert cups_queue.name in printers.list_printers()


def _case(ctx):
    with ctx.store.read() as s:
        case = s.scalar(select(Case))
        s.expunge(case)
        return case


# -- the whole desk: F6, accept, scan the ID copy in the case window, the form lists it -----------

def test_f6_application_with_a_scanned_id_copy_listed_on_the_form(make_window, qtbot, sane_test_scanner):
    import re

    from PIL import Image
    from pypdf import PdfReader

    from shebao_desk.ui.case_detail import CaseDetailDialog
    window, ctx = make_window(monitor=False)
    page = window.pages["intake"]
    with IdCardSimulator(load_card(CARDS / "long-term-long-address.toml")) as sim:
        ctx.idcard_port = sim.path
        press_f6(window, qtbot)
        qtbot.waitUntil(lambda: page.form.applicant.name.text() == "李德厚", timeout=10000)
    assert "长期" in page.card_readers.card_status.text()
    page.form.applicant.phone.setText("13900000002")
    page.form.tick_all()
    page.form.set_photo(a_photo())
    with qtbot.waitSignal(page.case_saved, timeout=20000) as saved:
        page.accept()
    case_id = saved.args[0].case_id

    dialog = CaseDetailDialog(ctx, case_id, window)
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitUntil(lambda: hasattr(dialog, "case"), timeout=10000)
    assert "身份证" in dialog.findChild(QLabel, "detail_信息来源").text()
    qtbot.mouseClick(dialog.scan_button, Qt.LeftButton)
    qtbot.waitUntil(lambda: dialog.scan_button.text() == "扫描身份证反面", timeout=30000)
    qtbot.mouseClick(dialog.scan_button, Qt.LeftButton)
    qtbot.waitUntil(lambda: dialog.scans.rowCount() == 1, timeout=30000)
    assert dialog.scans.text(0, 0).startswith("身份证复印件") and dialog.scans.text(0, 2) == "300 dpi"
    assert not dialog.scan_preview.pixmap().isNull()
    scan_path = dialog.scans.payloads[0]
    with Image.open(scan_path) as image:
        assert image.format == "JPEG" and image.size == (2480, 3508)
        assert round(image.info["dpi"][0]) == 300

    qtbot.mouseClick(dialog.reprint_button, Qt.LeftButton)
    qtbot.waitUntil(lambda: bool(getattr(dialog, "previews", None)), timeout=20000)
    form_pdf = next(p.path for p in dialog.previews if p.path.name.endswith("business_form.pdf"))
    text = re.sub(r"\s+", "", "".join(p.extract_text() for p in PdfReader(form_pdf).pages))
    assert "身份证复印件（正反面A4扫描件）" in text and scan_path.name in text


def test_self_check_page_counts_live_scanners_and_queues(make_window, qtbot, sane_test_scanner, cups_queue):
    window, ctx = make_window(monitor=False)
    page = window.show_page("self_check")
    qtbot.waitUntil(lambda: page.table.rowCount() > 0 and any(
        page.table.text(r, 1) == "扫描仪（实时检测）" for r in range(page.table.rowCount())), timeout=30000)
    rows = {page.table.text(r, 1): (page.table.text(r, 3), page.table.text(r, 4)) for r in range(page.table.rowCount())}
    assert rows["扫描仪（实时检测）"] == ("2 台", "符合")
    assert rows["打印机（实时检测）"] == ("1 台", "符合")


def test_f6_warns_when_the_chip_name_differs_from_the_id_card(make_window, qtbot):
    from types import SimpleNamespace
    window, ctx = make_window(monitor=False)
    page = window.pages["intake"]
    chip = SimpleNamespace(card_number="A12345678", card_id="611002D15600000500A1B2C3D4", ssn="611002198503122311",
                           name="张卫", ethnicity="01", generation=2, issue_date="2020-01-01", expiry_date=None)
    page.form.fill_from_card(chip)
    assert "社会保障卡" in page.form.applicant.origin_hint.text()
    with IdCardSimulator(load_card(CARDS / "zhang-wei.toml")) as sim:
        ctx.idcard_port = sim.path
        page.card_readers.read_idcard()
        qtbot.waitUntil(lambda: "不一致" in page.card_readers.card_status.text(), timeout=10000)
    assert page.form.applicant.name.text() == "张伟" and page.form.applicant.origins["name"] == "id_card"
    assert page.form.request().card_read == ("A12345678", "611002D15600000500A1B2C3D4")
