"""Issue 26 without Qt: the intake rules a clerk's day runs into (as data in businesses.toml), the
supervisor's approval of an expired ID card, attendance per working day, the photo station's folder."""

from __future__ import annotations

import dataclasses
import datetime as dt
import io
import os
from pathlib import Path

import pytest
from PIL import Image
from sqlalchemy import select

from shebao_desk.clock import CHINA
from shebao_desk.config.catalogue import BusinessCode, Mode, load_catalogue, parse_catalogue
from shebao_desk.config.resources import resources_dir
from shebao_desk.errors import ResourceError, ValidationError
from shebao_desk.models import AuditEntry, Case, CaseStatus, Role
from shebao_desk.rules.idnumber import make_id_number
from shebao_desk.services.actor import Actor
from shebao_desk.services.attendance import NOT_SIGNED_OUT, attendance_report, sign_in, sign_out
from shebao_desk.services.auth import AuthError, create_clerk
from shebao_desk.services.calendar_store import import_notice
from shebao_desk.services.case_request import AgentInput, ApplicantInput, ApprovalRequest, CaseRequest
from shebao_desk.services.case_view import case_detail
from shebao_desk.services.intake import InputProblems, input_problems
from shebao_desk.services.intake_service import business_for_card, look_up_person, submit
from shebao_desk.services.photo import take_newest_photo

from conftest import MONDAY, a_photo, applicant, portrait, take

TODAY = MONDAY.astimezone(CHINA).date()


def request(policy, business, who, *, mode=Mode.SELF, materials=None, **kw) -> CaseRequest:
    if materials is None:
        materials = set(policy.catalogue[business].required(mode))
    return CaseRequest(business, mode, who, set(materials), **kw)


# -- the rules as data -----------------------------------------------------------------------

def test_information_change_asks_police_proof_only_for_identity_fields():
    change = load_catalogue()["info_change"]
    assert change.needed(Mode.SELF, ["phone"]) == ("id_original",)
    assert change.needed(Mode.SELF, ["address", "phone"]) == ("id_original",)
    for field in ("name", "id_number", "sex", "birth_date"):
        assert change.needed(Mode.SELF, [field]) == ("id_original", "change_proof"), field
    assert change.missing(Mode.SELF, {"id_original"}, changes=["phone"]) == []
    assert change.missing(Mode.SELF, {"id_original"}, changes=["name"]) == ["change_proof"]


def test_cancellation_takes_a_listed_reason_and_a_phone_is_required_for_card_businesses(policy):
    who = dataclasses.replace(applicant(2), phone="")
    problems = input_problems(request(policy, "apply", who), policy, TODAY)
    assert problems == ["请填写申请人联系电话（申领必填，以便联系申请人）"]
    for business in ("reissue", "replace"):
        assert "请填写申请人联系电话" in input_problems(request(policy, business, who), policy, TODAY)[0]
    child = ApplicantInput(make_id_number("611002", dt.date(2018, 5, 1), 7), "王小明")
    guardian = AgentInput("王建国", make_id_number("611021", dt.date(1975, 1, 2), 33), "父亲", "13900000000")
    assert input_problems(request(policy, "apply", child, mode=Mode.GUARDIAN, agent=guardian), policy, TODAY) == []
    agent = AgentInput("张家属", make_id_number("611021", dt.date(1975, 1, 2), 33), "子女")
    cancel = request(policy, "cancel", applicant(3), mode=Mode.AGENT, agent=agent)
    assert input_problems(cancel, policy, TODAY) == ["请选择注销原因（死亡、户籍注销、出国（境）定居、转出本省（转往外省参保））"]
    assert input_problems(dataclasses.replace(cancel, reason="不想用了"), policy, TODAY)[0].startswith("请选择注销原因")
    assert input_problems(dataclasses.replace(cancel, reason="死亡"), policy, TODAY) == []


def test_every_problem_is_told_at_once_one_line_each(policy, store, clerk_and_site):
    bad = ApplicantInput("611002199002281234", "", phone="123")
    with pytest.raises(InputProblems) as exc:
        take(store, policy, clerk_and_site, "apply", bad)
    lines = exc.value.message.split("\n")
    assert len(lines) == 3 and "校验位" in lines[0] and lines[1] == "请填写申请人姓名" and "联系电话有误" in lines[2]
    long_name = dataclasses.replace(applicant(4), name="欧阳" * 25 + "明")
    assert input_problems(request(policy, "apply", long_name), policy, TODAY) == ["姓名不能超过 50 个字（现为 51 个）"]


def test_the_shaanxi_refusals_are_lines_of_the_same_list(policy):
    """Merged with issue 27: the non-resident refusal takes the ID number's line (not a parse error
    besides it) and the guardian ages are lines too, told with the other problems at once."""
    permit = dataclasses.replace(applicant(5), id_number="810000198806150313", name="", phone="")
    problems = input_problems(request(policy, "apply", permit), policy, TODAY)
    assert len(problems) == 3 and problems[0].startswith("读到的是") and "第二代居民身份证原件" in problems[0]
    assert problems[1:] == ["请填写申请人姓名", "请填写申请人联系电话（申领必填，以便联系申请人）"]
    assert input_problems(request(policy, "temp_loss", permit), policy, TODAY)[0] != problems[0]  # only where the data says
    seventeen = dataclasses.replace(applicant(6, birth=dt.date(2008, 10, 1)), phone="")
    guardian = AgentInput("王建国", make_id_number("611021", dt.date(1975, 1, 2), 33), "父亲")
    by_guardian = request(policy, "apply", seventeen, mode=Mode.GUARDIAN, agent=guardian)
    assert input_problems(by_guardian, policy, TODAY) == [
        "请填写申请人联系电话（申领必填，以便联系申请人）", "申请人已满 16 周岁，不能由监护人代办；请选择本人办理或他人代办"]
    cat = policy.catalogue
    county = dataclasses.replace(policy, catalogue=dataclasses.replace(
        cat, minors=dataclasses.replace(cat.minors, guardian_optional_until=18)))  # 16–17 may come with a guardian
    assert input_problems(by_guardian, county, TODAY) == ["请填写申请人联系电话（申领必填，以便联系申请人）"]


@pytest.mark.parametrize("old, new, fragment", [
    ("phone = []\naddress = []", "phone = []\nemail = []", "email"),
    ('birth_date = ["change_proof"]', 'birth_date = ["police_letter"]', "police_letter"),
    ('required_fields = ["phone"]  # 制卡', 'required_fields = ["fax"]  # 制卡', "fax"),
    ('reasons = [{ text = "死亡" }, { text = "户籍注销" }, { text = "出国（境）定居" }, { text = "转出本省（转往外省参保）" }]\n', "", "reasons_only"),
])
def test_broken_rule_data_is_refused_with_the_file_named(tmp_path, old, new, fragment):
    text = (resources_dir() / "businesses.toml").read_text(encoding="utf-8")
    assert old in text
    path = tmp_path / "businesses.toml"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    with pytest.raises(ResourceError) as exc:
        parse_catalogue(path)
    assert "businesses.toml" in exc.value.message and fragment in exc.value.message


# -- an expired ID card and the supervisor's approval ------------------------------------------

@pytest.fixture
def supervisor(store):
    with store.unit(None, "A", "supervisor") as s:
        create_clerk(s, "wangfang", "王芳", "passw0rd!", Role.SUPERVISOR)


def test_an_expired_id_card_blocks_an_application_unless_a_supervisor_approves(store, policy, clerk_and_site,
                                                                              supervisor):
    actor = Actor(*clerk_and_site)
    who = dataclasses.replace(applicant(5), photo=a_photo())
    expired = request(policy, "apply", who, id_card_valid_to=dt.date(2024, 5, 20))
    with pytest.raises(ValidationError) as exc:
        submit(store, expired, actor, policy, now=MONDAY)
    assert "身份证已于 2024-05-20 过期" in exc.value.message and "主管授权" in exc.value.message
    with pytest.raises(AuthError):
        submit(store, dataclasses.replace(expired, approval=ApprovalRequest("wangfang", "wrong", "临时身份证")),
               actor, policy, now=MONDAY)
    with pytest.raises(ValidationError) as exc:  # a clerk cannot approve
        submit(store, dataclasses.replace(expired, approval=ApprovalRequest("wang", "passw0rd!", "临时身份证")),
               actor, policy, now=MONDAY)
    assert "不是主管" in exc.value.message
    with pytest.raises(ValidationError):  # nor without a reason
        submit(store, dataclasses.replace(expired, approval=ApprovalRequest("wangfang", "passw0rd!", " ")),
               actor, policy, now=MONDAY)
    approved = dataclasses.replace(expired, approval=ApprovalRequest("wangfang", "passw0rd!", "已办理换领，持临时身份证"))
    saved = submit(store, approved, actor, policy, now=MONDAY)
    assert saved.status is CaseStatus.ACCEPTED
    with store.read() as s:
        entry = s.scalar(select(AuditEntry).where(AuditEntry.table_name == "approval"))
        assert entry.row_id == saved.case_id and entry.after["reason"] == "已办理换领，持临时身份证"
        assert entry.after["supervisor"] == "王芳（wangfang）" and entry.after["id_card_valid_to"] == "2024-05-20"
        detail = case_detail(s, store.path, saved.case_id, policy.catalogue)
    assert any("主管王芳（wangfang）授权受理：身份证已于 2024-05-20 过期；授权原因：已办理换领，持临时身份证。" in row[3]
               for row in detail.history)
    still_valid = request(policy, "apply", dataclasses.replace(applicant(6), photo=a_photo()),
                          id_card_valid_to=TODAY)  # valid through today
    assert submit(store, still_valid, actor, policy, now=MONDAY).status is CaseStatus.ACCEPTED


# -- what the look-up tells the form ---------------------------------------------------------

def test_the_look_up_finds_a_waiting_case_and_suggests_what_a_card_came_for(store, policy, clerk_and_site):
    who = applicant(8)
    take(store, policy, clerk_and_site, "apply", who, materials={"id_original", "photo"})
    person = look_up_person(store, policy, who.id_number, central_url="").person
    assert person is not None and len(person.returned) == 1
    waiting = person.returned[0]
    assert (waiting.business, waiting.mode, set(waiting.materials), waiting.missing) == (
        "apply", "self", {"id_original", "photo"}, ("id_copy",))
    assert business_for_card(None, "A10000101") is BusinessCode.ACTIVATE  # a card this store never issued
    assert business_for_card(person, "A10000101") is BusinessCode.ACTIVATE


# -- attendance per working day --------------------------------------------------------------

def at(day: dt.date, hh: int, mm: int, ss: int = 0) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hh, mm, ss), CHINA).astimezone(dt.UTC)


def test_attendance_is_the_first_sign_in_and_the_last_sign_out_judged_at_the_minute(store, policy):
    monday, tuesday = dt.date(2026, 3, 9), dt.date(2026, 3, 10)
    with store.unit(None, "A", "setup") as s:
        clerks = {u: create_clerk(s, u, n, "passw0rd!", Role.CLERK) for u, n in (("li", "李娜"), ("wang", "王芳"))}
        for clerk in clerks.values():
            clerk.created_at = dt.datetime(2026, 3, 1, tzinfo=dt.UTC)
    li, wang = clerks["li"].id, clerks["wang"].id
    with store.unit(None, "A", "day") as s:
        sign_in(s, li, "A", at(monday, 8, 30, 59))  # 08:30 sharp as the clerk reads it: on time
        sign_in(s, li, "A", at(monday, 10, 0))  # back after closing the program to let a colleague in
        sign_out(s, li, at(monday, 12, 0))  # a sign-out at noon …
        sign_out(s, li, at(monday, 18, 0))  # … and the last one at 18:00 sharp: the one that counts
        sign_in(s, wang, "A", at(monday, 8, 31))
        sign_in(s, li, "A", at(tuesday, 8, 20))  # Tuesday: never signed out
        sign_in(s, wang, "A", at(tuesday, 8, 25))
        sign_out(s, wang, at(tuesday, 17, 59))
    opens, closes = policy.site.opens, policy.site.closes

    def report(now):
        with store.read() as s:
            rows = attendance_report(s, monday, tuesday + dt.timedelta(days=1), policy.calendar, opens, closes, now)
        return {(r.clerk, r.day): r for r in rows}

    during_tuesday = report(at(tuesday, 15, 0))
    assert (during_tuesday[("李娜", monday)].sign_in, during_tuesday[("李娜", monday)].sign_out) == ("08:30", "18:00")
    assert not during_tuesday[("李娜", monday)].late and not during_tuesday[("李娜", monday)].left_early
    assert during_tuesday[("王芳", monday)].late and during_tuesday[("王芳", monday)].sign_out == NOT_SIGNED_OUT
    assert not during_tuesday[("王芳", monday)].left_early  # no sign-out: 未签退, not 早退
    assert not during_tuesday[("王芳", tuesday)].left_early  # the day is not over yet
    assert during_tuesday[("李娜", tuesday)].sign_out == ""
    after_tuesday = report(at(tuesday, 18, 0))
    assert after_tuesday[("王芳", tuesday)].left_early and after_tuesday[("李娜", tuesday)].sign_out == NOT_SIGNED_OUT


# -- the photo station's folder ----------------------------------------------------------------

def test_the_newest_photo_of_the_folder_is_taken_once(tmp_path, policy):
    folder = tmp_path / "高拍仪"
    with pytest.raises(ValidationError) as exc:
        take_newest_photo(folder, policy.site)
    assert "不存在" in exc.value.message
    folder.mkdir()
    with pytest.raises(ValidationError) as exc:
        take_newest_photo(folder, policy.site)
    assert "还没有照片" in exc.value.message
    portrait(folder / "IMG_0001.jpg")
    (folder / "notes.txt").write_text("not a photo")
    portrait(folder / "IMG_0002.jpg", shade=160)
    os.utime(folder / "IMG_0001.jpg", ns=(1_000_000_000, 1_000_000_000))
    taken = take_newest_photo(folder, policy.site)
    assert taken.source.path.name == "IMG_0002.jpg" and taken.photo.warnings == []
    assert Image.open(io.BytesIO(taken.photo.jpeg)).size == (policy.site.photo_width, policy.site.photo_height)
    with pytest.raises(ValidationError) as exc:  # the previous applicant's photo is not the next one's
        take_newest_photo(folder, policy.site, used=taken.source)
    assert "已用于上一位申请人" in exc.value.message
    portrait(folder / "IMG_0003.jpg")
    assert take_newest_photo(folder, policy.site, used=taken.source).source.path.name == "IMG_0003.jpg"


def test_the_holiday_notice_is_imported_into_the_store(store):
    notice = Path(__file__).parent / "fixtures" / "notices" / "2026.txt"
    with store.unit(None, "A", "calendar import-notice") as s:
        imported = import_notice(s, notice)
    assert imported.year == 2026 and any("春节" in line for line in imported.summary)


def test_a_phone_change_completes_and_a_name_change_waits_for_the_proof(store, policy, clerk_and_site):
    who = applicant(9)
    take(store, policy, clerk_and_site, "apply", who)
    phone = take(store, policy, clerk_and_site, "info_change", who, materials={"id_original"},
                 changes={"phone": "15809141234"}, reason="电话号码更换")
    assert phone.case.status is CaseStatus.COMPLETED and phone.missing == []
    name = take(store, policy, clerk_and_site, "info_change", who, materials={"id_original"},
                changes={"name": "李秀兰"}, reason="改名")
    assert name.case.status is CaseStatus.RETURNED and name.missing == ["change_proof"]
    with store.read() as s:
        assert s.get(Case, phone.case.id).materials == ["id_original"]
