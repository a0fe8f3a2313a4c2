"""A promise into a year without the State Council's schedule, through the real workbench."""

import datetime as dt
import re

from pypdf import PdfReader
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel

import shebao_desk.services.intake
from shebao_desk.models import CaseStatus

from conftest import a_photo, applicant, fill

DEC_28 = dt.datetime(2026, 12, 28, 2, 0, tzinfo=dt.UTC)  # 10:00 in China, a Monday


def pdf_text(path):
    return re.sub(r"\s+", "", "".join(p.extract_text() for p in PdfReader(path).pages))


def test_application_on_28_december_prints_an_estimated_date(make_window, qtbot, monkeypatch):
    monkeypatch.setattr(shebao_desk.services.intake, "now_utc", lambda: DEC_28)
    window, ctx = make_window(monitor=False)
    page = window.pages["intake"]
    who = applicant(41)
    fill(page.form, id_number=who.id_number, name=who.name, phone="13800000000", address="商州区北新街 1 号")
    for box in page.form.materials.boxes.values():
        box.setChecked(True)
    page.form.set_photo(a_photo())
    with qtbot.waitSignal(page.case_saved, timeout=20000) as saved:
        qtbot.mouseClick(page.accept_button, Qt.LeftButton)
    result = saved.args[0]
    assert result.status is CaseStatus.ACCEPTED
    receipt = pdf_text(result.papers["receipt"])
    # 12-29, 30, 31, then 2027 (元旦 on a Friday, the weekend), 01-04 … 01-07: the seventh working day.
    assert "2027-01-07预计" in receipt
    assert "尚未公布" in receipt  # the notice line tells the applicant why
    assert "预计" in page.result.text()

    search = window.show_page("search")
    search.query.setText(who.name[:1])
    search.run()
    qtbot.waitUntil(lambda: search.cases.rowCount() == 1, timeout=10000)
    assert search.cases.text(0, 6) == "2027-01-07 预计"  # the case list too
    search.open_case(0, 0)
    qtbot.waitUntil(lambda: search.detail.history.rowCount() > 0, timeout=10000)
    promised = search.detail.findChild(QLabel, "detail_承诺办结")
    assert promised.text().startswith("2027-01-07 预计")
