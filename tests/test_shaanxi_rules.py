"""Shaanxi's fees, banks and minors (DOMAIN.md §3), through the real intake rules and store."""

import datetime as dt

import pytest

from shebao_desk.config.catalogue import Mode
from shebao_desk.errors import ValidationError
from shebao_desk.services.intake import complete_case, phone_problem
from shebao_desk.services.case_request import AgentInput
from shebao_desk.models import Case, CaseStatus

from conftest import MONDAY, applicant, take

GUARDIAN = AgentInput("王建国", "611021197501020332", "父亲", "0914-2312333")


def test_an_eight_year_old_without_id_card_applies_with_the_household_register(store, policy, clerk_and_site):
    child = applicant(11, birth=dt.date(2017, 9, 1), name="王小明")  # 8 on MONDAY (2026-03-09)
    # What a guardian actually brings: own ID and copy, the 户口簿 and the child's photo; no child ID card.
    brought = {"guardian_id_original", "guardian_id_copy", "household_register", "photo"}
    outcome = take(store, policy, clerk_and_site, "apply", child, mode=Mode.GUARDIAN, materials=brought,
                   agent=GUARDIAN, outlet=policy.site.bank_outlets[1].name)
    assert outcome.missing == [] and outcome.case.status is CaseStatus.ACCEPTED
    assert outcome.case.outlet == policy.site.bank_outlets[1].name
    with store.unit(clerk_and_site[0].id, "A", "collect") as s:
        case = s.get(Case, outcome.case.id)
        complete_case(s, case, s.merge(clerk_and_site[0]), MONDAY + dt.timedelta(days=10))
        assert case.status is CaseStatus.COMPLETED and case.new_card.status.valid


def test_without_the_household_register_the_childs_id_is_still_required(store, policy, clerk_and_site):
    child = applicant(12, birth=dt.date(2017, 9, 1))
    outcome = take(store, policy, clerk_and_site, "apply", child, mode=Mode.GUARDIAN,
                   materials={"guardian_id_original", "guardian_id_copy", "photo"}, agent=GUARDIAN)
    assert outcome.missing == ["id_copy", "household_register"]


def test_a_young_childs_photo_is_exempt(store, policy, clerk_and_site):
    assert policy.catalogue.minors.photo_exempt_age == 6
    baby = applicant(13, birth=dt.date(2023, 1, 5))
    outcome = take(store, policy, clerk_and_site, "apply", baby, mode=Mode.GUARDIAN, agent=GUARDIAN,
                   materials={"guardian_id_original", "guardian_id_copy", "household_register"})
    assert outcome.missing == []


def test_guardian_age_is_sixteen_and_a_child_cannot_apply_alone(store, policy, clerk_and_site):
    assert policy.catalogue.minors.guardian_age == 16
    with pytest.raises(ValidationError) as exc:
        take(store, policy, clerk_and_site, "apply", applicant(14, birth=dt.date(2012, 1, 1)))
    assert "未满 16 周岁" in exc.value.message
    sixteen = applicant(15, birth=dt.date(2010, 3, 1))  # 16 on MONDAY: applies in person
    assert take(store, policy, clerk_and_site, "apply", sixteen).accepted


@pytest.mark.parametrize("reason", ["卡面损坏", "芯片无法读取"])
def test_replacement_costs_twenty_yuan_collected_by_the_bank(store, policy, clerk_and_site, reason):
    who = applicant(16)
    first = take(store, policy, clerk_and_site, "apply", who)
    assert first.case.fee == 0  # the first card is free
    with store.unit(clerk_and_site[0].id, "A", "collect") as s:
        complete_case(s, s.get(Case, first.case.id), s.merge(clerk_and_site[0]), MONDAY + dt.timedelta(days=10))
    replaced = take(store, policy, clerk_and_site, "replace", who, reason=reason, now=MONDAY + dt.timedelta(days=11))
    assert replaced.case.fee == 20
    business = policy.catalogue["replace"]
    assert business.fee_collector == "bank" and "由发卡银行收取" in business.fee_text(replaced.case.fee)
    assert policy.catalogue["reissue"].fee == 20 and policy.catalogue["reissue"].fee_collector == "bank"


def test_cancellation_reasons_include_emigration_and_leaving_the_province(policy):
    reasons = [r.text for r in policy.catalogue["cancel"].reasons]
    assert any("出国" in r for r in reasons) and any("转出本省" in r for r in reasons)
    assert Mode.SELF in policy.catalogue["cancel"].modes  # one who emigrates cancels in person


@pytest.mark.parametrize("phone, ok", [("13800000000", True), ("0914-2312333", True), ("02988886666", True),
                                       ("029-88886666-123", True), ("", True), ("abc", False),
                                       ("1380000000", False), ("12800000000", False), ("2312333", False)])
def test_phone_numbers(phone, ok):
    assert (phone_problem(phone) is None) is ok


def test_letters_as_a_phone_number_are_refused(store, policy, clerk_and_site):
    who = applicant(17)
    who.phone = "电话abc"
    with pytest.raises(ValidationError) as exc:
        take(store, policy, clerk_and_site, "apply", who)
    assert "联系电话" in exc.value.message


def test_a_returned_case_and_its_resubmission_are_one_case(store, policy, clerk_and_site):
    who = applicant(18)
    first = take(store, policy, clerk_and_site, "apply", who, materials={"id_original"})
    assert first.case.status is CaseStatus.RETURNED
    again = take(store, policy, clerk_and_site, "apply", who, now=MONDAY + dt.timedelta(days=2))
    assert again.case.id == first.case.id and again.case.number == first.case.number
    assert again.case.status is CaseStatus.ACCEPTED and again.case.missing == []
    with store.read() as s:
        assert s.query(Case).count() == 1


def test_an_unknown_outlet_is_refused(store, policy, clerk_and_site):
    with pytest.raises(ValidationError):
        take(store, policy, clerk_and_site, "apply", applicant(19), outlet="不存在的银行")


def test_the_resubmission_reads_as_one_history(store, policy, clerk_and_site):
    from shebao_desk.services.history_text import describe
    from shebao_desk.services.queries import case_history
    who = applicant(20)
    first = take(store, policy, clerk_and_site, "apply", who, materials={"id_original"})
    take(store, policy, clerk_and_site, "apply", who, now=MONDAY + dt.timedelta(days=2))
    with store.read() as s:
        case = s.get(Case, first.case.id)
        sentences = [describe(e.table_name, e.action, e.before, e.after, policy.catalogue)
                     for e in case_history(s, case)]
    text = "".join(sentences)
    assert "受理申领业务" in text and "退回补材料" in text
    assert "申请人补齐材料后再次办理" in text and "状态由“退回补材料”改为“已受理”" in text
