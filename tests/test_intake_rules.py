"""The card's state machine through the intake service, on a real store."""

import dataclasses
import datetime as dt

import pytest
from sqlalchemy import select

from shebao_desk.config.catalogue import Mode
from shebao_desk.errors import RuleViolation, ValidationError
from shebao_desk.services.intake import complete_case, find_person
from shebao_desk.models import Card, CardStatus, Case, CaseStatus, PersonStatus
from shebao_desk.config.resources import resource_path
from shebao_desk.config.workdays import load_calendar

from conftest import MONDAY, applicant, take


def card_states(store, who):
    with store.read() as s:
        person = find_person(s, who.id_number)
        return [c.status for c in person.cards]


def issued(store, policy, cs, who):
    """A person with a card in hand: applied and collected."""
    outcome = take(store, policy, cs, "apply", who)
    with store.unit(cs[0].id, "A", "collect") as s:
        complete_case(s, s.merge(outcome.case), s.merge(cs[0]), MONDAY + dt.timedelta(days=10))
    return outcome


def test_apply_promises_seven_working_days(store, policy, clerk_and_site):
    outcome = take(store, policy, clerk_and_site, "apply", applicant())
    assert outcome.case.status is CaseStatus.ACCEPTED
    assert outcome.case.promised_date == dt.date(2026, 3, 18)  # Mon 9 March + 7 working days
    assert outcome.case.number == "SZ01A-20260309-0001"
    assert card_states(store, applicant()) == [CardStatus.PENDING]


def test_case_numbers_count_up_per_day(store, policy, clerk_and_site):
    first = take(store, policy, clerk_and_site, "apply", applicant(1))
    second = take(store, policy, clerk_and_site, "apply", applicant(2))
    assert first.case.number.endswith("-0001") and second.case.number.endswith("-0002")


def test_missing_materials_return_the_case_and_change_no_card(store, policy, clerk_and_site):
    outcome = take(store, policy, clerk_and_site, "apply", applicant(), materials={"id_original"})
    assert outcome.case.status is CaseStatus.RETURNED
    assert outcome.missing == ["id_copy", "photo"]
    assert card_states(store, applicant()) == []


def test_one_valid_card_per_person(store, policy, clerk_and_site):
    take(store, policy, clerk_and_site, "apply", applicant())
    with pytest.raises(RuleViolation) as exc:
        take(store, policy, clerk_and_site, "apply", applicant())
    assert "已有有效" in exc.value.message


def test_formal_loss_is_irrevocable_and_reissue_needs_it(store, policy, clerk_and_site):
    who = applicant()
    issued(store, policy, clerk_and_site, who)
    with pytest.raises(RuleViolation):
        take(store, policy, clerk_and_site, "reissue", who)  # no formal loss yet
    take(store, policy, clerk_and_site, "formal_loss", who)
    with pytest.raises(RuleViolation) as exc:
        take(store, policy, clerk_and_site, "lift_loss", who)
    assert "不可撤销" in exc.value.message
    reissue = take(store, policy, clerk_and_site, "reissue", who)
    assert reissue.case.fee == 20
    assert card_states(store, who) == [CardStatus.FORMALLY_LOST, CardStatus.PENDING]


def test_temporary_loss_lapses_at_the_exact_minute(store, policy, clerk_and_site):
    who = applicant()
    issued(store, policy, clerk_and_site, who)
    reported = MONDAY + dt.timedelta(days=12, seconds=42)  # effective from the minute, seconds dropped
    take(store, policy, clerk_and_site, "temp_loss", who, now=reported)
    minute = reported.replace(second=0)
    expiry = minute + dt.timedelta(days=7)
    # One second before the lapse the loss can be lifted; at the lapse minute it cannot.
    with pytest.raises(RuleViolation) as exc:
        take(store, policy, clerk_and_site, "lift_loss", who, now=expiry)
    assert "自动失效" in exc.value.message
    lifted = take(store, policy, clerk_and_site, "lift_loss", who, now=expiry - dt.timedelta(seconds=1))
    assert lifted.case.status is CaseStatus.COMPLETED


def test_temporary_loss_blocks_activation_until_lifted_and_can_be_renewed(store, policy, clerk_and_site):
    who = applicant()
    issued(store, policy, clerk_and_site, who)
    t = MONDAY + dt.timedelta(days=12)
    take(store, policy, clerk_and_site, "temp_loss", who, now=t)
    with pytest.raises(RuleViolation):
        take(store, policy, clerk_and_site, "activate", who, now=t + dt.timedelta(hours=1))
    renewal = take(store, policy, clerk_and_site, "temp_loss", who, now=t + dt.timedelta(days=6))
    assert renewal.case.reason == "续挂"
    # The renewal holds the card past the first report's lapse.
    with pytest.raises(RuleViolation):
        take(store, policy, clerk_and_site, "activate", who, now=t + dt.timedelta(days=8))
    take(store, policy, clerk_and_site, "activate", who, now=t + dt.timedelta(days=14))


def test_lift_without_loss_is_refused(store, policy, clerk_and_site):
    who = applicant()
    issued(store, policy, clerk_and_site, who)
    with pytest.raises(RuleViolation) as exc:
        take(store, policy, clerk_and_site, "lift_loss", who)
    assert "没有生效中的临时挂失" in exc.value.message


def test_replace_voids_the_old_card(store, policy, clerk_and_site):
    who = applicant()
    issued(store, policy, clerk_and_site, who)
    take(store, policy, clerk_and_site, "replace", who, reason="芯片损坏")
    assert card_states(store, who) == [CardStatus.REPLACED, CardStatus.PENDING]


def test_pending_card_cannot_be_activated(store, policy, clerk_and_site):
    who = applicant()
    take(store, policy, clerk_and_site, "apply", who)
    with pytest.raises(RuleViolation) as exc:
        take(store, policy, clerk_and_site, "activate", who)
    assert "制卡中" in exc.value.message


def test_pin_reset_requires_reactivation(store, policy, clerk_and_site):
    who = applicant()
    issued(store, policy, clerk_and_site, who)
    take(store, policy, clerk_and_site, "activate", who, now=MONDAY + dt.timedelta(days=11))
    take(store, policy, clerk_and_site, "pin_reset", who, now=MONDAY + dt.timedelta(days=12))
    with store.read() as s:
        card = s.scalar(select(Card))
        assert card.activated_at is None and card.pin_reset_at is not None


def test_cancel_is_final(store, policy, clerk_and_site):
    who = applicant()
    issued(store, policy, clerk_and_site, who)
    take(store, policy, clerk_and_site, "cancel", who, mode=Mode.AGENT)
    with store.read() as s:
        assert find_person(s, who.id_number).status is PersonStatus.CANCELLED
    assert card_states(store, who) == [CardStatus.CANCELLED]
    with pytest.raises(RuleViolation):
        take(store, policy, clerk_and_site, "apply", who)


def test_guardian_mode_only_for_minors(store, policy, clerk_and_site):
    child = applicant(5, birth=dt.date(2018, 6, 1), name="王小明")
    outcome = take(store, policy, clerk_and_site, "apply", child, mode=Mode.GUARDIAN)
    assert outcome.case.status is CaseStatus.ACCEPTED
    with pytest.raises(ValidationError) as exc:
        take(store, policy, clerk_and_site, "apply", applicant(6), mode=Mode.GUARDIAN)
    assert "已满 16 周岁" in exc.value.message


def test_mode_not_offered_is_refused(store, policy, clerk_and_site):
    with pytest.raises(ValidationError):
        take(store, policy, clerk_and_site, "pin_reset", applicant(), mode=Mode.AGENT, materials=set())


def test_invalid_applicant_id_is_refused_before_anything_is_written(store, policy, clerk_and_site):
    bad = applicant()
    bad.id_number = bad.id_number[:17] + ("1" if bad.id_number[17] != "1" else "2")
    with pytest.raises(ValidationError) as exc:
        take(store, policy, clerk_and_site, "apply", bad)
    assert "校验位" in exc.value.message
    with store.read() as s:
        assert find_person(s, bad.id_number) is None


def test_promise_into_an_unpublished_year_is_provisional_and_kept(store, policy, clerk_and_site, tmp_path):
    late = dt.datetime(2026, 12, 28, 2, 0, tzinfo=dt.UTC)
    case = take(store, policy, clerk_and_site, "apply", applicant(), now=late).case
    # 12-29, 30, 31, (元旦 Friday + weekend), 2027-01-04, 05, 06, 07
    assert case.promised_date == dt.date(2027, 1, 7) and case.promise_provisional
    with store.read() as s:
        saved = s.get(Case, case.id)
        assert (saved.promised_date, saved.promise_provisional) == (dt.date(2027, 1, 7), True)
    # The official schedule arrives: new promises use it, the printed one is not changed.
    (tmp_path / "2026.toml").write_bytes(resource_path("calendar", "2026.toml").read_bytes())
    (tmp_path / "2027.toml").write_text(
        'year = 2027\nholidays = [ { name = "元旦", from = 2027-01-01, to = 2027-01-01 } ]\n'
        "workdays = [2027-01-02]\n", encoding="utf-8")  # a made-up make-up Saturday: official is earlier
    official = dataclasses.replace(policy, calendar=load_calendar(tmp_path))
    later = take(store, official, clerk_and_site, "apply", applicant(2), now=late).case
    assert (later.promised_date, later.promise_provisional) == (dt.date(2027, 1, 6), False)
    with store.read() as s:
        kept = s.get(Case, case.id)
        assert (kept.promised_date, kept.promise_provisional) == (dt.date(2027, 1, 7), True)
