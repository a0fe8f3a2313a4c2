"""The intake desk's use cases without Qt: look the applicant up (here, then at central), submit a
request (central first, a chip change journalled before its case, the case accepted or returned,
the papers rendered). Before these, only the UI tests drove this composition."""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from pypdf import PdfReader
from sqlalchemy import select

from shebao_desk.config.catalogue import Mode
from shebao_desk.devices.operations import activate
from shebao_desk.devices.simulators.inprocess import InProcessConnection
from shebao_desk.devices.simulators.virtual_card import Holder, VirtualCard
from shebao_desk.documents.render import DocumentError
from shebao_desk.errors import RuleViolation
from shebao_desk.models import Case, CaseStatus, ChipWrite, ChipWriteState
from shebao_desk.services import card_business
from shebao_desk.services.actor import Actor
from shebao_desk.services.case_request import ApplicantInput, CaseRequest, ChipCard
from shebao_desk.services.intake_service import CentralCheck, begin_chip_business, look_up_person, submit

from conftest import MONDAY, a_photo, applicant, needs_pg, take
from test_sync import issued

NOBODY_LISTENS = "postgresql+psycopg://x:y@127.0.0.1:9/none"  # refused at once: central is unreachable


def pdf_text(path: Path) -> str:
    return re.sub(r"\s+", "", "".join(p.extract_text() for p in PdfReader(path).pages))


def request(policy, business: str, who: ApplicantInput, *, materials=None, **kw) -> CaseRequest:
    if materials is None:
        materials = set(policy.catalogue[business].required(Mode.SELF))
    return CaseRequest(business, Mode.SELF, who, set(materials), **kw)


@pytest.fixture
def actor(clerk_and_site) -> Actor:
    return Actor(*clerk_and_site)


def cases(store) -> list[tuple[str, str, CaseStatus]]:
    with store.read() as s:
        return [(c.number, c.business, c.status) for c in s.scalars(select(Case).order_by(Case.number))]


# -- submit ------------------------------------------------------------------------------------

def test_a_complete_application_is_accepted_with_its_promise_and_both_papers(store, policy, actor):
    who = dataclasses.replace(applicant(1), photo=a_photo())
    done = submit(store, request(policy, "apply", who), actor, policy, central_url="", now=MONDAY)
    assert done.accepted and done.status is CaseStatus.ACCEPTED and done.missing == ()
    assert done.promised == dt.date(2026, 3, 18) and not done.provisional  # 7 working days from Mon 9 March
    assert done.id_number == who.id_number and done.central_check is CentralCheck.NOT_ASKED
    assert cases(store) == [(done.number, "apply", CaseStatus.ACCEPTED)]
    assert set(done.papers) == {"business_form", "receipt"} and done.paper_error is None
    receipt = pdf_text(done.papers["receipt"])
    assert done.number in receipt and who.name in receipt and "2026-03-18" in receipt
    assert done.papers["receipt"].parent.name == done.number  # in the case's folder beside the store


def test_missing_materials_return_the_case_with_the_one_time_notice(store, policy, actor):
    who = applicant(2)
    done = submit(store, request(policy, "apply", who, materials={"id_original"}), actor, policy,
                  central_url="", now=MONDAY)
    assert not done.accepted and done.status is CaseStatus.RETURNED and done.missing == ("id_copy", "photo")
    assert done.promised is None and list(done.papers) == ["notice"]
    assert "申请人身份证A4复印件尚缺" in pdf_text(done.papers["notice"])


def test_papers_that_cannot_be_written_leave_the_case_saved_and_say_why(store, policy, actor):
    blocked = store.path.parent / f"{store.path.stem}-documents"
    blocked.write_text("a file where the case folders go")
    done = submit(store, request(policy, "apply", applicant(3)), actor, policy, central_url="", now=MONDAY)
    assert done.papers == {} and isinstance(done.paper_error, DocumentError)
    assert "无法建立文件夹" in done.paper_error.message
    assert cases(store) == [(done.number, "apply", CaseStatus.ACCEPTED)]  # accepted once, not lost


def test_a_refused_business_raises_and_saves_nothing(store, policy, actor):
    with pytest.raises(RuleViolation):  # no card to report lost
        submit(store, request(policy, "temp_loss", applicant(4)), actor, policy, central_url="", now=MONDAY)
    assert cases(store) == []


def test_an_unreachable_central_does_not_stop_a_business_it_should_have_checked(store, policy, actor, clerk_and_site):
    who = applicant(5)
    issued(store, policy, clerk_and_site, who)
    done = submit(store, request(policy, "temp_loss", who), actor, policy, central_url=NOBODY_LISTENS,
                  now=MONDAY + dt.timedelta(days=12))
    assert done.central_check is CentralCheck.UNREACHABLE and done.status is CaseStatus.COMPLETED
    # a business that needs no check does not ask at all (an attempt would say UNREACHABLE)
    other = submit(store, request(policy, "apply", applicant(6)), actor, policy, central_url=NOBODY_LISTENS,
                   now=MONDAY)
    assert other.central_check is CentralCheck.NOT_ASKED


# -- a chip business: journalled before the chip, recorded with its case -----------------------

SSN = "611002199002281220"


def chip_request(policy) -> CaseRequest:
    chip = ChipCard("C31000001", "611002D156000005A1B2C3D4E5F60718", 3, dt.date(2024, 3, 15), None)
    return request(policy, "activate", ApplicantInput(SSN, "李秀英"), card_read=(chip.card_number, chip.card_id),
                   chip=chip, register_card=True)


def chip_card() -> VirtualCard:
    return VirtualCard(Holder(spec_version="3.00", psam_required=False, ssn=SSN, name="李秀英", sex="2",
                              birth_date=dt.date(1990, 2, 28), card_number="C31000001"))


def journal(store) -> list[tuple[str, ChipWriteState, str | None]]:
    with store.read() as s:
        return [(e.id, e.state, e.case_id) for e in s.scalars(select(ChipWrite))]


def test_a_chip_change_is_journalled_then_saved_with_its_case(store, policy, actor):
    card, req = chip_card(), chip_request(policy)
    begun = begin_chip_business(store, req, actor, policy, "Virtual PCD 00 00")
    assert not begun.already_changed and journal(store) == [(begun.journal_id, ChipWriteState.PENDING, None)]
    activate(lambda reader: InProcessConnection(card), "666666", "258147", "258147")
    done = submit(store, req, actor, policy, journal_id=begun.journal_id, central_url="", now=MONDAY)
    assert journal(store) == [(begun.journal_id, ChipWriteState.RECORDED, done.case_id)]
    assert done.status is CaseStatus.COMPLETED and set(done.papers) == {"business_form", "receipt"}
    assert card_business.unrecorded(store) == []


def test_a_chip_change_stays_on_record_when_its_case_cannot_be_saved(store, policy, actor, monkeypatch):
    card, req = chip_card(), chip_request(policy)
    begun = begin_chip_business(store, req, actor, policy, "R")
    activate(lambda reader: InProcessConnection(card), "666666", "258147", "258147")

    def disk_full(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(card_business, "accept_case", disk_full)
    with pytest.raises(OSError):
        submit(store, req, actor, policy, journal_id=begun.journal_id, central_url="", now=MONDAY)
    assert journal(store) == [(begun.journal_id, ChipWriteState.CHIP_CHANGED, None)]  # said before the save
    monkeypatch.undo()
    again = begin_chip_business(store, req, actor, policy, "R")  # the clerk accepts again
    assert again.already_changed and again.journal_id == begun.journal_id
    done = submit(store, req, actor, policy, journal_id=again.journal_id, central_url="", now=MONDAY)
    assert journal(store) == [(begun.journal_id, ChipWriteState.RECORDED, done.case_id)]
    assert card.pin_commands == 1  # the chip was never asked again


# -- look_up_person ----------------------------------------------------------------------------

def test_a_person_on_file_comes_back_with_their_card_and_photo(store, policy, clerk_and_site):
    who = dataclasses.replace(applicant(7), photo=a_photo())
    take(store, policy, clerk_and_site, "apply", who, large_print=True)
    found = look_up_person(store, policy, who.id_number, central_url=NOBODY_LISTENS)  # on file: central not asked
    assert found.central_problem == "" and not found.from_central
    person = found.person
    assert (person.name, person.phone, person.has_photo, person.large_print) == (who.name, who.phone, True, True)
    assert (person.card_number, person.card_state) == ("", "制卡中")


def test_a_new_applicant_is_new_and_an_unreachable_central_is_said_so(store, policy, clerk_and_site):
    nobody = applicant(8).id_number
    assert look_up_person(store, policy, nobody, central_url="").person is None
    offline = look_up_person(store, policy, nobody, central_url=NOBODY_LISTENS)
    assert offline.person is None and "暂时无法连接中心数据库" in offline.central_problem


@needs_pg
def test_central_brings_another_windows_person_and_is_asked_again_before_a_lift(tmp_path, policy, central):
    from test_sync_scope import window_station
    a1, pa, csa = window_station(tmp_path, policy, "SZ01", "1", "wang")
    b1, pb, csb = window_station(tmp_path, policy, "DF02", "1", "li")
    who = applicant(700)
    issued(a1, pa, csa, who)
    take(a1, pa, csa, "temp_loss", who, now=MONDAY + dt.timedelta(days=12))
    from shebao_desk.sync.central import sync
    sync(a1, central)
    sync(b1, central)
    found = look_up_person(b1, pb, who.id_number, central_url=central, now=MONDAY + dt.timedelta(days=12, hours=1))
    assert found.from_central and found.person.card_state == "临时挂失中"
    take(a1, pa, csa, "formal_loss", who, now=MONDAY + dt.timedelta(days=13))
    sync(a1, central)  # B1 has not synced since: on its own record the card is only temporarily lost
    lift = request(pb, "lift_loss", who)
    with pytest.raises(RuleViolation, match="正式挂失"):
        submit(b1, lift, Actor(*csb), pb, central_url=central, now=MONDAY + dt.timedelta(days=14))
    # asked just now: A's formal loss arrived with the check (B1 never synced it)
    assert [business for _, business, _ in cases(b1)] == ["apply", "temp_loss", "formal_loss"]


# -- no Qt ---------------------------------------------------------------------------------------

@pytest.mark.slow
def test_these_use_cases_run_where_qt_cannot_be_imported():
    """The tests above, and the case window's (test_case_actions.py), again in a Python where importing
    PySide6 fails (pytest-qt's plugin off)."""
    here = Path(__file__)
    files = [str(here), str(here.with_name("test_case_actions.py"))]
    blocked = ("import sys; sys.modules['PySide6'] = None; import pytest; "
               f"sys.exit(pytest.main(['-q', '-p', 'no:pytest-qt', '-p', 'no:cacheprovider', '-m', 'not slow', *{files!r}]))")
    result = subprocess.run([sys.executable, "-c", blocked], cwd=here.parent, capture_output=True, text=True,
                            timeout=300, check=False, env={**os.environ, "SHEBAO_TEST_PG": "", "SHEBAO_XCB_PASS": ""})
    assert result.returncode == 0 and " passed" in result.stdout, result.stdout[-3000:] + result.stderr[-3000:]
