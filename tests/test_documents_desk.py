"""The papers a clerk hands over, measured in the real PDFs: room to sign, the facts of Shaanxi."""

import datetime as dt
import re
import shutil
import subprocess
import sys

import pytest
from pypdf import PdfReader

from shebao_desk.config.catalogue import Mode
from shebao_desk.documents.samples import sample_document
from shebao_desk.services.case_documents import render_case
from shebao_desk.services.case_request import AgentInput

from conftest import MONDAY, applicant, collected, take

pytestmark = pytest.mark.skipif(shutil.which("pdftotext") is None, reason="needs pdftotext (poppler-utils)")
MIN_BLANK_PT = 80


def text_of(pdf) -> str:
    return re.sub(r"\s+", "", "".join(p.extract_text() for p in PdfReader(pdf).pages))


def words(pdf) -> list[tuple[float, float, float, str]]:
    """(y, xMin, xMax, text) of every word, from poppler's own text layout."""
    out = subprocess.run(["pdftotext", "-bbox", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    pattern = r'<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="[\d.]+">([^<]*)</word>'
    return [(float(y), float(x0), float(x1), t) for x0, y, x1, t in re.findall(pattern, out)]


def blanks_after(pdf, label: str, right_edge: float) -> list[float]:
    """For every word ending in ``label``: the empty width up to the next word on its line (or the edge)."""
    ws = words(pdf)
    gaps = []
    for y, _, x1, text in ws:
        if text.endswith(label):
            following = [x0 for yy, x0, _, _ in ws if abs(yy - y) < 3 and x0 > x1]
            gaps.append(min(following, default=right_edge) - x1)
    return gaps


def sample_pdf(tmp_path, name="business_form.pdf"):
    result = subprocess.run([sys.executable, "-m", "shebao_desk", "documents", "sample", "--out", str(tmp_path)],
                            capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stderr
    return tmp_path / name


@pytest.mark.slow  # runs the program in a subprocess
def test_form_has_room_to_sign_a_reviewer_and_a_seal(tmp_path):
    pdf = sample_pdf(tmp_path)
    assert len(PdfReader(pdf).pages) == 1
    text = text_of(pdf)
    assert "审核人" in text and "业务专用章" in text
    seal_x = min(x0 for _, x0, _, t in words(pdf) if "专用章" in t)
    signatures = blanks_after(pdf, "签字：", seal_x)
    assert len(signatures) == 3 and min(signatures) >= MIN_BLANK_PT, signatures
    dates = blanks_after(pdf, "日期：", seal_x)
    assert len(dates) == 3 and min(dates) >= MIN_BLANK_PT, dates


@pytest.mark.slow  # runs the program in a subprocess
def test_sample_command_writes_the_loss_receipt_and_the_large_notice(tmp_path):
    sample_pdf(tmp_path)
    loss = text_of(tmp_path / "receipt_loss.pdf")
    assert "挂失生效时间" in loss and "临时挂失有效期至2026-03-1609:30" in loss and "领卡地点" not in loss
    assert (tmp_path / "notice_large.pdf").stat().st_size > 0


def test_receipt_names_the_window_phone_and_who_collects(policy):
    import io
    from shebao_desk.documents.render import Renderer
    buf = io.BytesIO()
    Renderer().render("receipt", sample_document(policy), buf)
    text = text_of(buf)
    assert "窗口电话" + policy.site.phone in text
    assert "领卡地点" in text



def test_a_damaged_card_replacement_prints_twenty_yuan_collected_by_the_bank(store, policy, clerk_and_site, tmp_path):
    who = applicant(31)
    collected(store, policy, clerk_and_site, who)
    outlet = policy.site.bank_outlets[1]
    replaced = take(store, policy, clerk_and_site, "replace", who, reason="卡面损坏", outlet=outlet.name,
                    now=MONDAY + dt.timedelta(days=11))
    with store.read() as s:
        paths = render_case(s, replaced.case.id, policy, tmp_path)
    for kind in ("receipt", "business_form"):
        text = text_of(paths[kind])
        assert "20元（工本费，由发卡银行收取）" in text, kind
    receipt = text_of(paths["receipt"])
    assert re.sub(r"\s+", "", outlet.name) in receipt and "卡面损坏" in text_of(paths["business_form"])


def test_optional_material_is_never_missing_on_the_notice(store, policy, clerk_and_site, tmp_path):
    who = applicant(32)
    collected(store, policy, clerk_and_site, who)
    relative = AgentInput("王建国", "611021197501020332", "儿子")
    returned = take(store, policy, clerk_and_site, "cancel", who, mode=Mode.AGENT, agent=relative, reason="死亡",
                    materials={"death_proof"}, now=MONDAY + dt.timedelta(days=11))
    assert returned.missing == ["relative_id_original"]
    with store.read() as s:
        text = text_of(render_case(s, returned.case.id, policy, tmp_path)["notice"])
    assert "社会保障卡有则提交" in text and "社会保障卡尚缺" not in text
    assert "亲属第二代居民身份证原件尚缺" in text
    assert "已提交的材料无需重复提交" in text and "以外的其他材料" not in text


def test_a_childs_waived_id_card_is_not_missing(store, policy, clerk_and_site, tmp_path):
    child = applicant(33, birth=dt.date(2017, 9, 1))
    guardian = AgentInput("王建国", "611021197501020332", "父亲")
    outcome = take(store, policy, clerk_and_site, "apply", child, mode=Mode.GUARDIAN, agent=guardian,
                   materials={"guardian_id_original", "household_register", "photo"})
    assert outcome.missing == ["guardian_id_copy"]
    with store.read() as s:
        text = text_of(render_case(s, outcome.case.id, policy, tmp_path)["notice"])
    assert "监护人身份证A4复印件尚缺" in text and "申请人身份证A4复印件尚缺" not in text


def test_large_print_person_gets_a_large_receipt(store, policy, clerk_and_site, tmp_path):
    outcome = take(store, policy, clerk_and_site, "apply", applicant(34), large_print=True)
    with store.read() as s:
        paths = render_case(s, outcome.case.id, policy, tmp_path)
    assert paths["receipt"].name.endswith("-large.pdf") and not paths["business_form"].name.endswith("-large.pdf")
    assert text_height(paths["receipt"], "受理编号") > 1.4 * text_height(paths["business_form"], "受理编号")


def text_height(pdf, starting: str) -> float:
    out = subprocess.run(["pdftotext", "-bbox", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    y0, y1 = re.search(r'yMin="([\d.]+)" xMax="[\d.]+" yMax="([\d.]+)">' + starting, out).groups()
    return float(y1) - float(y0)


def test_where_the_next_step_is_done_follows_the_site_data(policy, monkeypatch):
    import dataclasses
    from shebao_desk.documents.model import where_next
    # The shipped data sends them to the issuing bank (Shaanxi 2018 guidance, Xi'an: site.toml [where]).
    assert policy.site.done_at == {"formal_loss": "bank", "reissue": "bank", "replace": "bank"}
    assert "正式挂失请到社会保障卡的发卡银行网点办理" in where_next("temp_loss", policy)
    assert "补卡请到社会保障卡的发卡银行网点办理" in where_next("formal_loss", policy)
    site = dataclasses.replace(policy.site, done_at={"formal_loss": "window", "reissue": "window", "replace": "window"})
    at_window = dataclasses.replace(policy, site=site)
    assert where_next("temp_loss", at_window) == "" and where_next("formal_loss", at_window) == ""
