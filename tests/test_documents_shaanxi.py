"""The papers' Shaanxi wording (issue 27), read back from the real PDFs: Art. 15's liability sentence in full
on every loss receipt, the functions suspended, the days of a temporary loss from site.toml, 凭回执领卡 only
where a card is collected, the norm's full title on the notice, the 领卡银行 row and 监护人签字 on the form."""

import dataclasses
import datetime as dt
import io
import re
import shutil
import subprocess
import sys

import pytest
from pypdf import PdfReader

from shebao_desk.config.catalogue import Mode
from shebao_desk.config.resources import resources_dir
from shebao_desk.documents.render import Renderer
from shebao_desk.documents.samples import sample_document, sample_guardian_document, sample_loss_document
from shebao_desk.services.case_documents import render_case
from shebao_desk.services.case_request import AgentInput

from conftest import MONDAY, applicant, collected, take

ART_15 = "挂失生效前（或挂失失效后）造成的经济损失由持卡人承担"
NORM = "《商洛市社会保障卡综合服务窗口规范》"
COLLECT = "凭回执领卡"
LATER = MONDAY + dt.timedelta(days=11)


def flat(text: str) -> str:
    return re.sub(r"\s+", "", text)


def text_of(pdf) -> str:
    return flat("".join(page.extract_text() for page in PdfReader(pdf).pages))


def render(kind, document) -> str:
    buf = io.BytesIO()
    Renderer().render(kind, document, buf)
    buf.seek(0)
    return text_of(buf)


def with_days(policy, days):
    return dataclasses.replace(policy, site=dataclasses.replace(policy.site, temp_loss_days=days))


# -- the samples ----------------------------------------------------------------------------------------------

@pytest.mark.parametrize("days", [7, 5])
def test_the_loss_receipt_sample_quotes_art_15_names_the_function_and_counts_the_days_from_site_data(policy, days):
    text = render("receipt", sample_loss_document(with_days(policy, days)))
    assert flat(f"根据{NORM}第十五条，{ART_15}。") in text
    assert "已挂失的功能社会保障功能" in text and "金融功能请拨打发卡银行客服电话另行挂失" in text
    assert text.count(f"临时挂失{days}天内有效") == 1 and text.count("天内有效") == 1  # one tip, not two
    assert COLLECT not in text and "请妥善保管本回执，以备查询" in text
    if days != 7:
        assert "7天" not in text


def test_the_business_form_samples_have_the_bank_row_and_the_guardians_signature(policy):
    form = render("business_form", sample_document(policy))
    assert flat(f"领卡银行{policy.site.bank_outlets[0].name}") in form and "申请人（代办人）签字" in form
    guardian = render("business_form", sample_guardian_document(policy))
    assert "监护人签字" in guardian and "申请人（代办人）签字" not in guardian
    assert flat(f"领卡银行{policy.site.bank_outlets[-1].name}") in guardian


def test_the_notice_cites_the_norm_by_its_full_title(policy):
    assert flat(f"根据{NORM}第六条") in render("notice", sample_document(policy))


@pytest.mark.slow  # runs the program in a subprocess
def test_documents_sample_renders_the_words_from_the_county_data(tmp_path):
    """`documents sample` on a county's copy of resources/ whose temporary loss lasts 5 days."""
    copy = tmp_path / "resources"
    shutil.copytree(resources_dir(), copy)
    site = copy / "site.toml"
    site.write_text(re.sub(r"temp_loss_days = 7 ", "temp_loss_days = 5 ", site.read_text(encoding="utf-8")),
                    encoding="utf-8")
    out = tmp_path / "out"
    result = subprocess.run([sys.executable, "-m", "shebao_desk", "documents", "sample", "--out", str(out)],
                            capture_output=True, text=True, timeout=120, check=False,
                            env={"SHEBAO_RESOURCES": str(copy), "PATH": "/usr/bin:/bin", "HOME": str(tmp_path)})
    assert result.returncode == 0, result.stderr
    loss = flat(subprocess.run(["pdftotext", str(out / "receipt_loss.pdf"), "-"], capture_output=True, text=True,
                               check=True).stdout)
    assert ART_15 in loss and "已挂失的功能社会保障功能" in loss and "金融功能请拨打发卡银行客服电话另行挂失" in loss
    assert "临时挂失5天内有效" in loss and "请在5天内办理正式挂失" in loss and "7天" not in loss
    assert "临时挂失有效期至2026-03-1409:30" in loss  # 5 days after 2026-03-09 09:30
    assert "监护人签字" in text_of(out / "business_form_guardian.pdf")
    assert "领卡银行" in text_of(out / "business_form.pdf")
    temp = text_of(out / "receipt_temp_card.pdf")
    assert "临时卡卡号" in temp and "交回后新卡方可使用" in temp


# -- real cases ----------------------------------------------------------------------------------------------


def papers(store, policy, case, tmp_path):
    with store.read() as s:
        return {kind: text_of(path) for kind, path in render_case(s, case.id, policy, tmp_path).items()}


@pytest.mark.parametrize("functions, tip", [
    (("social",), "金融功能请拨打发卡银行客服电话另行挂失"),
    (("financial",), "社会保障功能请拨打12333或到本窗口另行挂失"),
    (("social", "financial"), None),
])
def test_a_temporary_loss_receipt_names_what_was_suspended(store, policy, clerk_and_site, tmp_path, functions, tip):
    who = applicant(501)
    outlet = policy.site.bank_outlets[1]
    collected(store, policy, clerk_and_site, who, outlet=outlet.name)
    loss = take(store, policy, clerk_and_site, "temp_loss", who, loss_functions=functions, now=LATER)
    receipt = papers(store, policy, loss.case, tmp_path)["receipt"]
    names = "、".join({"social": "社会保障功能", "financial": "金融功能"}[f] for f in functions)
    assert ART_15 in receipt and f"已挂失的功能{names}" in receipt
    assert "另行挂失" not in receipt if tip is None else tip in receipt
    assert COLLECT not in receipt
    # The next step is at the issuing bank (site.toml [where]): the card's own bank, chosen at 申领.
    assert flat(f"正式挂失请到社会保障卡的发卡银行网点办理，不在本窗口办理。{outlet.name}") in receipt


def test_a_formal_loss_receipt_quotes_art_15_too(store, policy, clerk_and_site, tmp_path):
    who = applicant(502)
    collected(store, policy, clerk_and_site, who)
    loss = take(store, policy, clerk_and_site, "formal_loss", who, now=LATER)
    receipt = papers(store, policy, loss.case, tmp_path)["receipt"]
    assert ART_15 in receipt and "已挂失的功能社会保障功能、金融功能" in receipt and "另行挂失" not in receipt


def test_only_a_card_to_collect_makes_the_receipt_say_collect_with_it(store, policy, clerk_and_site, tmp_path):
    who = applicant(503)
    first = collected(store, policy, clerk_and_site, who)
    assert COLLECT in papers(store, policy, first.case, tmp_path / "a")["receipt"]
    for business, kw in (("activate", {}), ("pin_unlock", {}), ("instant_replace", {"card_number": "C30000503",
                                                                                  "reason": "卡面损坏"})):
        case = take(store, policy, clerk_and_site, business, who, now=LATER, **kw).case
        receipt = papers(store, policy, case, tmp_path / business)["receipt"]
        assert COLLECT not in receipt and "当场办结" in receipt, business


def test_a_guardians_form_is_signed_by_the_guardian_and_names_the_bank(store, policy, clerk_and_site, tmp_path):
    child = applicant(504, birth=dt.date(2017, 9, 1))
    outlet = policy.site.bank_outlets[1]
    case = take(store, policy, clerk_and_site, "apply", child, mode=Mode.GUARDIAN, outlet=outlet.name,
                agent=AgentInput("王建国", "611021197501020332", "父亲", "0914-2312333"),
                materials={"guardian_id_original", "guardian_id_copy", "household_register", "photo"}).case
    form = papers(store, policy, case, tmp_path)["business_form"]
    assert "监护人签字" in form and "申请人（代办人）签字" not in form
    assert flat(f"领卡银行{outlet.name}") in form


def test_a_business_without_a_new_card_prints_a_dash_for_the_bank(store, policy, clerk_and_site, tmp_path):
    who = applicant(505)
    collected(store, policy, clerk_and_site, who)
    case = take(store, policy, clerk_and_site, "pin_unlock", who, now=LATER).case
    form = papers(store, policy, case, tmp_path)["business_form"]
    assert "领卡银行—" in form and "申请人（代办人）签字" in form


def test_the_cancellation_receipt_tells_the_family_to_close_the_bank_account(store, policy, clerk_and_site, tmp_path):
    who = applicant(506)
    collected(store, policy, clerk_and_site, who)
    case = take(store, policy, clerk_and_site, "cancel", who, reason="死亡", mode=Mode.AGENT, now=LATER).case
    assert "请持相关证明到发卡银行办理金融账户注销（结清余额）" in papers(store, policy, case, tmp_path)["receipt"]


def test_receipts_of_the_cards_handed_over_print_their_numbers(store, policy, clerk_and_site, tmp_path):
    made = take(store, policy, clerk_and_site, "instant_apply", applicant(507), card_number="C30000507")
    assert "新卡卡号C30000507" in papers(store, policy, made.case, tmp_path / "a")["receipt"]
    temp = take(store, policy, clerk_and_site, "temp_card", applicant(508), card_number="LS0000508")
    receipt = papers(store, policy, temp.case, tmp_path / "b")["receipt"]
    until = MONDAY.date() + dt.timedelta(days=policy.catalogue.temp_card.valid_days)
    assert "临时卡卡号LS0000508" in receipt and f"临时卡有效期至{until:%Y-%m-%d}" in receipt
    assert "交回后新卡方可使用" in receipt
