"""The businesses issue 27 adds, end to end through the real intake rules and store: 临时卡 (tracked until
returned), 密码解锁, 即时制卡 (申领/补卡/换卡 made on the spot) and 有效期满换领; their statistics, their
changes in the sync log, and the county settings for minors."""

import dataclasses
import datetime as dt

import pytest
from sqlalchemy import select

from shebao_desk.changes.merge import wins
from shebao_desk.config.catalogue import BUSINESS_CODES, Mode, describe
from shebao_desk.errors import RuleViolation, ShebaoError, ValidationError
from shebao_desk.models import Card, CardStatus, Case, CaseStatus, SyncChange, TempCard
from shebao_desk.rules.id_documents import IdDocument
from shebao_desk.services.case_request import AgentInput, ChipCard
from shebao_desk.services.id_documents import idcard_refusal, number_refusal
from shebao_desk.services.intake import complete_case, find_person
from shebao_desk.services.statistics import period_of, report_sections
from shebao_desk.services.temp_cards import outstanding, return_temp_card

from conftest import MONDAY, applicant, collected, misscoped_changes, on_central, take

NEW = ("temp_card", "pin_unlock", "instant_apply", "instant_reissue", "instant_replace")
LATER = MONDAY + dt.timedelta(days=11)



def card_of(store, who):
    with store.read() as s:
        return find_person(s, who.id_number).cards


# -- the catalogue -----------------------------------------------------------------------------------------

def test_the_catalogue_lists_every_business_with_place_fee_collector_reasons_and_materials(policy):
    described = {b["code"]: b for b in describe(policy.catalogue, policy.site.done_at, policy.site.temp_loss_days)}
    assert list(described) == list(BUSINESS_CODES) and set(NEW) <= set(described)
    for b in described.values():
        assert {"place", "fee", "fee_collector", "reasons", "materials", "days"} <= set(b)
        assert all(b["materials"][m] for m in b["modes"])
    assert described["formal_loss"]["place"] == "bank" and described["apply"]["place"] == "window"
    assert described["temp_card"]["fee"] == 0 and described["temp_card"]["hands_card"]
    assert described["instant_replace"]["fee_collector"] == "bank" and described["instant_apply"]["days"] == 0
    reasons = [r["text"] for r in described["replace"]["reasons"]]
    assert "有效期届满" in reasons and "卡面信息印刷有误" in reasons
    assert "请持相关证明到发卡银行办理金融账户注销（结清余额）" in described["cancel"]["next_step"]
    assert "临时挂失 7 天内有效" in described["temp_loss"]["next_step"]  # {days} filled from site.toml


@pytest.mark.slow  # runs the program in a subprocess
def test_catalogue_json_command(tmp_path):
    import json
    import subprocess
    import sys
    result = subprocess.run([sys.executable, "-m", "shebao_desk", "catalogue", "--json"], capture_output=True,
                            text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stderr
    codes = {b["code"]: b for b in json.loads(result.stdout)["businesses"]}
    assert set(NEW) <= set(codes) and codes["reissue"]["fee_text"] == "20 元（工本费，由发卡银行收取）"


# -- 临时卡 ---------------------------------------------------------------------------------------------------

def test_a_temporary_card_is_handed_over_free_and_listed_until_returned(store, policy, clerk_and_site):
    who = applicant(401)
    collected(store, policy, clerk_and_site, who)
    replaced = take(store, policy, clerk_and_site, "replace", who, reason="卡面损坏", now=LATER)
    temp = take(store, policy, clerk_and_site, "temp_card", who, card_number="LS0000401", now=LATER)
    assert temp.case.status is CaseStatus.COMPLETED and temp.case.fee == 0
    with store.read() as s:
        listed = outstanding(s, LATER)
        assert [(t.number, t.valid_until, t.overdue) for t in listed] == [
            ("LS0000401", dt.date(2026, 3, 20) + dt.timedelta(days=policy.catalogue.temp_card.valid_days), False)]
        assert outstanding(s, LATER + dt.timedelta(days=61))[0].overdue
    with pytest.raises(RuleViolation) as exc:  # one at a time
        take(store, policy, clerk_and_site, "temp_card", applicant(401), card_number="LS0000402", now=LATER)
    assert "LS0000401" in exc.value.message and "尚未交回" in exc.value.message
    # Collecting the new card takes the temporary card back (the new card may be used only then).
    with store.unit(clerk_and_site[0].id, "A", "collect") as s:
        complete_case(s, s.get(Case, replaced.case.id), s.merge(clerk_and_site[0]), LATER + dt.timedelta(days=9))
    with store.read() as s:
        assert outstanding(s) == []
        back = s.scalar(select(TempCard))
        assert back.returned_by == clerk_and_site[0].id and back.case_id == temp.case.id


def test_a_temporary_card_returned_on_its_own_and_not_twice(store, policy, clerk_and_site):
    who = applicant(402)
    take(store, policy, clerk_and_site, "temp_card", who, card_number="LS0000403")
    with store.read() as s:
        temp_id = outstanding(s)[0].id
    with store.unit(clerk_and_site[0].id, "A", "return") as s:
        return_temp_card(s, temp_id, s.merge(clerk_and_site[0]), LATER)
    with store.unit(clerk_and_site[0].id, "A", "return") as s, pytest.raises(RuleViolation) as exc:
        return_temp_card(s, temp_id, s.merge(clerk_and_site[0]), LATER)
    assert "已于 2026-03-20 交回" in exc.value.message
    # Returned, another may be handed over.
    assert take(store, policy, clerk_and_site, "temp_card", who, card_number="LS0000404", now=LATER).accepted


@pytest.mark.parametrize("number", ["", "LS 0001", "临时卡1"])
def test_a_temporary_card_needs_its_number(store, policy, clerk_and_site, number):
    with pytest.raises(RuleViolation) as exc:
        take(store, policy, clerk_and_site, "temp_card", applicant(403), card_number=number)
    assert "临时卡卡号" in exc.value.message


def test_the_temporary_card_and_its_return_are_in_the_sync_log_and_a_return_is_never_undone(
        store, policy, clerk_and_site):
    take(store, policy, clerk_and_site, "temp_card", applicant(404), card_number="LS0000405")
    with store.read() as s:
        temp_id = outstanding(s)[0].id
    with store.unit(clerk_and_site[0].id, "A", "return") as s:
        return_temp_card(s, temp_id, s.merge(clerk_and_site[0]), LATER)
    with store.read() as s:
        logged = [c.values for c in s.scalars(select(SyncChange).where(SyncChange.row_id == temp_id)
                                               .order_by(SyncChange.hlc))]
    assert logged[0]["number"] == "LS0000405" and logged[0]["returned_at"] is None
    assert logged[-1]["returned_at"] and logged[-1]["returned_by"] == clerk_and_site[0].id
    # A copy that has not heard of the return cannot undo it, whatever the clocks say.
    assert not wins("temp_card", "returned_at", "2026-03-20T01:30:00", None, newer=True)
    assert wins("temp_card", "returned_at", None, "2026-03-20T01:30:00", newer=False)


# -- 密码解锁 -------------------------------------------------------------------------------------------------

def test_pin_unlock_keeps_the_pin_and_the_activation_unlike_a_reset(store, policy, clerk_and_site):
    who = applicant(410)
    collected(store, policy, clerk_and_site, who)
    take(store, policy, clerk_and_site, "activate", who, now=LATER)
    unlocked = take(store, policy, clerk_and_site, "pin_unlock", who, now=LATER + dt.timedelta(hours=1))
    assert unlocked.case.status is CaseStatus.COMPLETED
    card = card_of(store, who)[0]
    assert card.activated_at is not None and card.pin_reset_at is None and unlocked.case.card_id == card.id
    take(store, policy, clerk_and_site, "pin_reset", who, now=LATER + dt.timedelta(hours=2))
    card = card_of(store, who)[0]
    assert card.activated_at is None and card.pin_reset_at is not None  # the reset is what re-activates
    assert "原密码" in policy.catalogue["pin_unlock"].next_step and policy.catalogue["pin_unlock"].modes == (Mode.SELF,)


def test_pin_unlock_needs_a_card_in_use_and_not_reported_lost(store, policy, clerk_and_site):
    who = applicant(411)
    with pytest.raises(RuleViolation):
        take(store, policy, clerk_and_site, "pin_unlock", who)
    collected(store, policy, clerk_and_site, who)
    take(store, policy, clerk_and_site, "temp_loss", who, now=LATER)
    with pytest.raises(RuleViolation) as exc:
        take(store, policy, clerk_and_site, "pin_unlock", who, now=LATER + dt.timedelta(hours=1))
    assert "临时挂失中" in exc.value.message


# -- 即时制卡 -------------------------------------------------------------------------------------------------

def test_an_instant_card_is_made_handed_over_and_numbered_on_the_spot(store, policy, clerk_and_site):
    who = applicant(420)
    made = take(store, policy, clerk_and_site, "instant_apply", who, card_number="c30000420",
                outlet=policy.site.bank_outlets[1].name)
    assert made.case.status is CaseStatus.COMPLETED and made.case.promised_date is None
    card = card_of(store, who)[0]
    assert (card.status, card.card_number, card.issue_date) == (CardStatus.NORMAL, "C30000420", dt.date(2026, 3, 9))
    assert made.case.new_card_id == card.id and made.case.outlet == policy.site.bank_outlets[1].name
    with pytest.raises(RuleViolation):  # the same rules as 申领: one valid card
        take(store, policy, clerk_and_site, "instant_apply", who, card_number="C30000421")


@pytest.mark.parametrize("number, words", [("", "须登记新卡卡号"), ("C3000042", "1 个字母加 8 位数字"),
                                           ("C30000430", "已登记在另一张卡上")])
def test_an_instant_card_needs_a_right_and_unused_number(store, policy, clerk_and_site, number, words):
    take(store, policy, clerk_and_site, "instant_apply", applicant(430), card_number="C30000430")
    with pytest.raises(RuleViolation) as exc:
        take(store, policy, clerk_and_site, "instant_apply", applicant(431), card_number=number)
    assert words in exc.value.message
    assert find_person_cards(store, applicant(431)) == []  # nothing of the refused case was kept


def find_person_cards(store, who):
    with store.read() as s:
        person = find_person(s, who.id_number)
        return [] if person is None else list(person.cards)


def test_an_instant_card_takes_the_chip_data_of_the_card_just_made(store, policy, clerk_and_site):
    who = applicant(432)
    chip = ChipCard("C30000432", "611002D1560000050000000030000432", 3, dt.date(2026, 3, 9), dt.date(2036, 3, 9))
    take(store, policy, clerk_and_site, "instant_apply", who, chip=chip, card_read=(chip.card_number, chip.card_id))
    card = card_of(store, who)[0]
    assert (card.card_number, card.card_id, card.expiry_date) == (chip.card_number, chip.card_id, dt.date(2036, 3, 9))


def test_instant_reissue_and_replace_follow_their_businesses_rules(store, policy, clerk_and_site):
    lost, worn = applicant(440), applicant(441)
    collected(store, policy, clerk_and_site, lost)
    collected(store, policy, clerk_and_site, worn)
    with pytest.raises(RuleViolation):  # 补卡 only after a formal loss
        take(store, policy, clerk_and_site, "instant_reissue", lost, card_number="C30000440", now=LATER)
    take(store, policy, clerk_and_site, "formal_loss", lost, now=LATER)
    reissued = take(store, policy, clerk_and_site, "instant_reissue", lost, card_number="C30000440", now=LATER)
    assert reissued.case.fee == 20 and reissued.case.status is CaseStatus.COMPLETED
    assert [c.status for c in card_of(store, lost)] == [CardStatus.FORMALLY_LOST, CardStatus.NORMAL]
    replaced = take(store, policy, clerk_and_site, "instant_replace", worn, card_number="C30000441",
                    reason="芯片无法读取", now=LATER)
    cards = card_of(store, worn)
    assert [c.status for c in cards] == [CardStatus.REPLACED, CardStatus.NORMAL] and cards[1].card_number == "C30000441"
    assert replaced.case.card_id == cards[0].id and replaced.case.new_card_id == cards[1].id


# -- 有效期满换领 ---------------------------------------------------------------------------------------------

def _with_expiry(store, who, expiry):
    with store.unit(None, "A", "test: the card's expiry as its chip says") as s:
        find_person(s, who.id_number).cards[0].expiry_date = expiry


def test_expiry_renewal_only_when_the_card_expires_soon(store, policy, clerk_and_site):
    who = applicant(450)
    collected(store, policy, clerk_and_site, who)
    _with_expiry(store, who, dt.date(2031, 1, 1))
    with pytest.raises(RuleViolation) as exc:
        take(store, policy, clerk_and_site, "replace", who, reason="有效期届满", now=LATER)
    assert "有效期至 2031-01-01，尚未届满" in exc.value.message
    _with_expiry(store, who, dt.date(2026, 5, 1))  # within 90 days
    renewed = take(store, policy, clerk_and_site, "replace", who, reason="有效期届满", now=LATER)
    assert renewed.case.fee == 20 and card_of(store, who)[0].void_reason == "有效期届满"


def test_expiry_renewal_of_a_card_already_expired(store, policy, clerk_and_site):
    who = applicant(451)
    collected(store, policy, clerk_and_site, who)
    _with_expiry(store, who, dt.date(2025, 12, 31))
    assert take(store, policy, clerk_and_site, "instant_replace", who, reason="有效期届满", card_number="C30000451",
                now=LATER).accepted


# -- statistics --------------------------------------------------------------------------------------------

def test_the_new_businesses_are_counted_by_business(store, policy, clerk_and_site):
    who = applicant(460)
    collected(store, policy, clerk_and_site, who)
    take(store, policy, clerk_and_site, "pin_unlock", who, now=LATER)
    take(store, policy, clerk_and_site, "temp_card", applicant(461), card_number="LS0000461", now=LATER)
    take(store, policy, clerk_and_site, "instant_apply", applicant(462), card_number="C30000462", now=LATER)
    with store.read() as s:
        rows = {r.key: r for r in report_sections(s, period_of("month", dt.date(2026, 3, 1)), policy)[0][1]}
    for code, name in (("pin_unlock", "密码解锁"), ("temp_card", "临时卡"), ("instant_apply", "即时制卡申领")):
        assert (rows[code].label, rows[code].accepted, rows[code].completed, rows[code].on_time) == (name, 1, 1, 1)


# -- minors: county settings -------------------------------------------------------------------------------

GUARDIAN = AgentInput("王建国", "611021197501020332", "父亲", "0914-2312333")


def minors_policy(policy, **settings):
    cat = policy.catalogue
    return dataclasses.replace(policy, catalogue=dataclasses.replace(
        cat, minors=dataclasses.replace(cat.minors, **settings)))


def test_a_seventeen_year_old_through_a_guardian_only_where_the_county_allows_it(store, policy, clerk_and_site):
    seventeen = applicant(470, birth=dt.date(2008, 10, 1))
    assert policy.catalogue.minors.guardian_optional_until == 16  # Shaanxi default
    with pytest.raises(ValidationError) as exc:
        take(store, policy, clerk_and_site, "apply", seventeen, mode=Mode.GUARDIAN, agent=GUARDIAN)
    assert "已满 16 周岁" in exc.value.message
    bank_requires = minors_policy(policy, guardian_optional_until=18)
    assert take(store, bank_requires, clerk_and_site, "apply", seventeen, mode=Mode.GUARDIAN, agent=GUARDIAN).accepted
    with pytest.raises(ValidationError):  # 18: an adult
        take(store, bank_requires, clerk_and_site, "apply", applicant(471, birth=dt.date(2008, 1, 1)),
             mode=Mode.GUARDIAN, agent=GUARDIAN)
    assert take(store, bank_requires, clerk_and_site, "apply", applicant(472, birth=dt.date(2009, 1, 1))).accepted


def test_a_birth_certificate_proves_guardianship_only_where_the_county_accepts_it(tmp_path, store, policy,
                                                                                 clerk_and_site):
    from shebao_desk.config.catalogue import parse_catalogue
    from shebao_desk.config.resources import resources_dir
    text = (resources_dir() / "businesses.toml").read_text(encoding="utf-8")
    assert "guardianship_alternatives = []" in text  # Shaanxi default: the 户口簿
    path = tmp_path / "businesses.toml"
    path.write_text(text.replace("guardianship_alternatives = []", 'guardianship_alternatives = ["birth_certificate"]'),
                    encoding="utf-8")
    county = dataclasses.replace(policy, catalogue=parse_catalogue(path))
    apply = county.catalogue["apply"]
    assert apply.required(Mode.GUARDIAN).index("birth_certificate") == apply.required(Mode.GUARDIAN).index(
        "household_register") + 1
    child = applicant(473, birth=dt.date(2015, 6, 1))
    brought = {"id_copy", "photo", "guardian_id_original", "guardian_id_copy", "birth_certificate"}
    assert take(store, county, clerk_and_site, "apply", child, mode=Mode.GUARDIAN, agent=GUARDIAN,
                materials=brought).accepted
    # It proves guardianship only: it does not stand in for the child's ID card as the 户口簿 does.
    other = applicant(474, birth=dt.date(2015, 6, 1))
    outcome = take(store, county, clerk_and_site, "apply", other, mode=Mode.GUARDIAN, agent=GUARDIAN,
                   materials=brought - {"id_copy"})
    assert outcome.missing == ["id_copy"]
    # Without the setting it proves nothing.
    third = applicant(475, birth=dt.date(2015, 6, 1))
    assert take(store, policy, clerk_and_site, "apply", third, mode=Mode.GUARDIAN, agent=GUARDIAN,
                materials=brought).missing == ["household_register"]


# -- a non-resident document for 申领 -------------------------------------------------------------------------

def test_a_non_resident_document_is_refused_for_apply_with_its_name_and_what_to_do(policy):
    line = idcard_refusal(policy.catalogue, "apply", IdDocument.FOREIGN_PERMANENT)
    assert line.startswith("读到的是外国人永久居留身份证：申领须持本人第二代居民身份证原件")
    assert "第十三条" in line and "12333" in line
    assert "港澳台居民居住证" in idcard_refusal(policy.catalogue, "instant_apply", IdDocument.HMT_RESIDENCE)
    assert idcard_refusal(policy.catalogue, "apply", IdDocument.RESIDENT) is None
    assert idcard_refusal(policy.catalogue, "temp_loss", IdDocument.HMT_RESIDENCE) is None  # only where the data says
    assert number_refusal(policy.catalogue, "apply", " usa610085061512 ") is not None


@pytest.mark.parametrize("number", ["810000198806150313", "USA610085061512", "961840198506151232"])
def test_the_intake_refuses_a_non_resident_number_for_apply(store, policy, clerk_and_site, number):
    who = applicant()
    who.id_number = number
    with pytest.raises(ShebaoError) as exc:
        take(store, policy, clerk_and_site, "apply", who)
    assert exc.value.message.startswith("读到的是") and "须持本人第二代居民身份证原件" in exc.value.message


def test_a_county_may_word_the_refusal_but_only_with_the_values_the_program_fills(tmp_path):
    from shebao_desk.config.catalogue import parse_catalogue
    from shebao_desk.config.resources import resources_dir
    from shebao_desk.errors import ResourceError
    text = (resources_dir() / "businesses.toml").read_text(encoding="utf-8")
    path = tmp_path / "businesses.toml"
    path.write_text(text.replace("读到的是{document}", "读到的是{card}"), encoding="utf-8")
    with pytest.raises(ResourceError) as exc:
        parse_catalogue(path)
    assert "{card}" in exc.value.message and "{document}" in exc.value.message


def test_the_offered_flag_hides_a_business_from_the_intake_but_not_from_statistics(policy):
    cat = policy.catalogue
    off = dataclasses.replace(cat, businesses={**cat.businesses, "instant_apply": dataclasses.replace(
        cat["instant_apply"], offered=False)})
    assert "instant_apply" not in [b.code for b in off.offered()] and "instant_apply" in [b.code for b in off]
    assert [b.code for b in cat.offered()] == list(BUSINESS_CODES)


def test_every_new_card_number_is_unique_across_cards(store, policy, clerk_and_site):
    take(store, policy, clerk_and_site, "instant_apply", applicant(480), card_number="C30000480")
    with store.read() as s:
        assert s.scalars(select(Card.card_number).where(Card.card_number == "C30000480")).all() == ["C30000480"]


# -- sync ------------------------------------------------------------------------------------------------

@pytest.mark.postgres
def test_a_temporary_card_issued_at_one_pc_and_returned_at_another_converges(tmp_path, policy, central):
    from test_sync import assert_identical, sync_rounds, window_store
    one, cs1 = window_store(tmp_path, policy, "SZ01", "1")
    two, cs2 = window_store(tmp_path, policy, "SZ01", "2")
    who = applicant(490)
    collected(one, policy, cs1, who)
    take(one, policy, cs1, "temp_card", who, card_number="LS0000490", now=LATER)
    take(one, policy, cs1, "instant_apply", applicant(491), card_number="C30000491", now=LATER)
    sync_rounds(central, [one, two])
    with two.read() as s:
        [held] = outstanding(s)
    assert held.number == "LS0000490"
    with two.unit(cs2[0].id, "2", "return") as s:
        return_temp_card(s, held.id, s.merge(cs2[0]), LATER + dt.timedelta(days=3))
    sync_rounds(central, [two, one])
    for store in (one, two):
        with store.read() as s:
            assert outstanding(s) == []
            assert s.scalar(select(TempCard.returned_by)) == cs2[0].id  # the clerk of PC 2 travelled with it
    assert_identical(central, one, two)
    assert on_central(central, misscoped_changes) == []  # the temporary card with its person


def test_the_temporary_card_case_reads_as_one_history(store, policy, clerk_and_site):
    from shebao_desk.services.history_text import describe
    from shebao_desk.services.queries import case_history
    temp = take(store, policy, clerk_and_site, "temp_card", applicant(495), card_number="LS0000495")
    with store.read() as s:
        temp_id = outstanding(s)[0].id
    with store.unit(clerk_and_site[0].id, "A", "return") as s:
        return_temp_card(s, temp_id, s.merge(clerk_and_site[0]), LATER)
    with store.read() as s:
        text = "".join(describe(e.table_name, e.action, e.before, e.after, policy.catalogue)
                       for e in case_history(s, s.get(Case, temp.case.id)))
    assert "受理临时卡业务" in text and "交付临时卡（卡号 LS0000495）" in text and "临时卡已交回（2026-03-20" in text


def test_db_check_finds_nothing_after_every_new_business(store, policy, clerk_and_site):
    """The audit chain, the re-derivation from the trail and the rules (db check) hold after each new business."""
    from shebao_desk.services.invariants import check_store
    who, lost = applicant(496), applicant(497)
    collected(store, policy, clerk_and_site, who)
    collected(store, policy, clerk_and_site, lost)
    take(store, policy, clerk_and_site, "pin_unlock", who, now=LATER)
    take(store, policy, clerk_and_site, "temp_card", who, card_number="LS0000496", now=LATER)
    take(store, policy, clerk_and_site, "instant_replace", who, card_number="C30000496", reason="卡面损坏", now=LATER)
    take(store, policy, clerk_and_site, "formal_loss", lost, now=LATER)
    take(store, policy, clerk_and_site, "instant_reissue", lost, card_number="C30000497", now=LATER)
    take(store, policy, clerk_and_site, "instant_apply", applicant(498), card_number="C30000498", now=LATER)
    with store.read() as s:
        assert check_store(s) == []


def test_an_instant_replacement_takes_the_temporary_card_back(store, policy, clerk_and_site):
    who = applicant(499)
    collected(store, policy, clerk_and_site, who)
    take(store, policy, clerk_and_site, "temp_card", who, card_number="LS0000499", now=LATER)
    take(store, policy, clerk_and_site, "instant_replace", who, card_number="C30000499", reason="卡面损坏", now=LATER)
    with store.read() as s:
        assert outstanding(s) == [] and s.scalar(select(TempCard.returned_by)) == clerk_and_site[0].id
