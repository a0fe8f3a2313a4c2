"""Chip-writing businesses: the record side is checked first, the chip touched last, every chip
write journalled (in-process virtual card; the GUI flow is in test_ui_cards.py)."""

import datetime as dt

import pytest
from sqlalchemy import func, select

from shebao_desk.services import card_business
from shebao_desk.config.catalogue import Mode
from shebao_desk.devices.errors import WrongPinError
from shebao_desk.devices.simulators.inprocess import InProcessConnection
from shebao_desk.devices.operations import activate
from shebao_desk.devices.simulators.virtual_card import Holder, VirtualCard
from shebao_desk.errors import RuleViolation
from shebao_desk.services.intake import UnknownCardError, find_person
from shebao_desk.services.case_request import ApplicantInput, CaseRequest, ChipCard
from shebao_desk.models import Card, CardStatus, Case, ChipWrite, ChipWriteState

from conftest import MONDAY, applicant, take

SSN = "611002199002281220"


def chip_holder():
    return Holder(spec_version="3.00", psam_required=False, ssn=SSN, name="李秀英", sex="2",
                  birth_date=dt.date(1990, 2, 28), card_number="C31000001")


def request(policy, business="activate", register=False, ssn=SSN):
    chip = ChipCard("C31000001", "611002D156000005A1B2C3D4E5F60718", 3, dt.date(2024, 3, 15), None)
    return CaseRequest(business, Mode.SELF, ApplicantInput(ssn, "李秀英"),
                       set(policy.catalogue[business].required(Mode.SELF)),
                       card_read=(chip.card_number, chip.card_id), chip=chip, register_card=register)


def journal(store):
    with store.read() as s:
        return [(e.business, e.state) for e in s.scalars(select(ChipWrite)).all()]


def test_unknown_card_is_refused_before_the_chip_and_nothing_is_written(store, policy, clerk_and_site):
    clerk, site = clerk_and_site
    with pytest.raises(UnknownCardError) as exc:
        card_business.prepare(store, request(policy), clerk, site, policy, "R", MONDAY)
    assert "没有登记" in exc.value.message and "核对身份证件" in exc.value.message
    assert journal(store) == []
    with store.read() as s:
        assert find_person(s, SSN) is None and s.scalar(select(func.count()).select_from(Case)) == 0


def test_unknown_genuine_card_registered_from_its_chip_during_activation(store, policy, clerk_and_site):
    clerk, site = clerk_and_site
    card = VirtualCard(chip_holder())
    req = request(policy, register=True)
    journal_id = card_business.prepare(store, req, clerk, site, policy, "R", MONDAY)
    assert journal(store) == [("activate", ChipWriteState.PENDING)]
    activate(lambda reader: InProcessConnection(card), "666666", "258147", "258147")
    card_business.chip_changed(store, journal_id, clerk, site)
    outcome = card_business.record(store, journal_id, req, clerk, site, policy, MONDAY)
    assert card.pin_is("258147") and card.pin_commands == 1
    assert journal(store) == [("activate", ChipWriteState.RECORDED)]
    with store.read() as s:
        person = find_person(s, SSN)
        assert [(c.card_number, c.status, c.generation, c.activated_at is not None) for c in person.cards] == [
            ("C31000001", CardStatus.NORMAL, 3, True)]
        assert s.scalar(select(func.count()).select_from(Case)) == 1
        assert s.get(ChipWrite, journal_id).case_id == outcome.case.id
    assert card_business.unrecorded(store) == []


def test_a_card_of_another_person_is_not_registered(store, policy, clerk_and_site):
    clerk, site = clerk_and_site
    other = applicant(7)
    take(store, policy, clerk_and_site, "apply", other)
    with store.unit(None, "A", "number the other card") as s:
        s.scalar(select(Card)).card_number = "C31000001"
    with pytest.raises(Exception) as exc:
        card_business.prepare(store, request(policy, register=True), clerk, site, policy, "R", MONDAY)
    assert "另一人" in exc.value.message
    assert journal(store) == []


def test_refused_business_for_a_known_card_never_journals(store, policy, clerk_and_site):
    clerk, site = clerk_and_site
    who = ApplicantInput(SSN, "李秀英", phone="13800000000")  # 申领 asks a phone
    take(store, policy, clerk_and_site, "apply", who)  # the new card is still being made
    with pytest.raises(RuleViolation) as exc:
        card_business.prepare(store, request(policy), clerk, site, policy, "R", MONDAY)
    assert "制卡中" in exc.value.message
    assert journal(store) == []


def test_card_refusal_closes_the_entry_as_refused(store, policy, clerk_and_site):
    clerk, site = clerk_and_site
    card = VirtualCard(chip_holder())
    card.reset_pin("123456")
    journal_id = card_business.prepare(store, request(policy, register=True), clerk, site, policy, "R", MONDAY)
    with pytest.raises(WrongPinError):
        activate(lambda reader: InProcessConnection(card), "666666", "258147", "258147")
    card_business.chip_unchanged(store, journal_id, clerk, site, refused=True, detail="wrong PIN")
    assert journal(store) == [("activate", ChipWriteState.REFUSED)]
    assert card_business.unrecorded(store) == []


def test_a_chip_change_whose_case_cannot_be_saved_stays_on_record(store, policy, clerk_and_site, monkeypatch):
    clerk, site = clerk_and_site
    card = VirtualCard(chip_holder())
    req = request(policy, register=True)
    journal_id = card_business.prepare(store, req, clerk, site, policy, "R", MONDAY)
    activate(lambda reader: InProcessConnection(card), "666666", "258147", "258147")
    card_business.chip_changed(store, journal_id, clerk, site)

    def disk_full(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(card_business, "accept_case", disk_full)
    with pytest.raises(OSError):
        card_business.record(store, journal_id, req, clerk, site, policy, MONDAY)
    left = card_business.unrecorded(store)
    assert [(e.id, e.state, e.card_number) for e in left] == [(journal_id, ChipWriteState.CHIP_CHANGED, "C31000001")]
    # and a late "unchanged" can never hide it
    card_business.chip_unchanged(store, journal_id, clerk, site, refused=False, detail="closed")
    assert card_business.unrecorded(store)[0].state is ChipWriteState.CHIP_CHANGED
    from shebao_desk.services.invariants import check_store
    with store.read() as s:
        assert [f.rule for f in check_store(s)] == ["chip_write"]  # db check says so
    # the clerk accepts again: the change is recorded without asking the chip for the initial PIN again
    monkeypatch.undo()
    assert card_business.resumable(store, req) == journal_id
    card_business.record(store, journal_id, req, clerk, site, policy, MONDAY)
    assert card_business.unrecorded(store) == [] and card.pin_commands == 1 and card.tries_left == 3
    assert card_business.resumable(store, req) is None
    with store.read() as s:
        assert check_store(s) == []
