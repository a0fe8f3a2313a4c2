"""The documents, read back from the real PDFs."""

import io
import re
import shutil
import subprocess
import sys

import pytest
from PIL import Image as PILImage
from pypdf import PdfReader

from shebao_desk.config.catalogue import Mode
from shebao_desk.documents.fonts import FontError, MissingGlyphError, load_fonts
from shebao_desk.config.document_layout import parse_layout
from shebao_desk.documents.model import Party
from shebao_desk.documents.render import Renderer
from shebao_desk.documents.samples import SAMPLE_FILES, sample_document
from shebao_desk.services.case_documents import render_case
from shebao_desk.errors import ResourceError
from shebao_desk.config.resources import resources_dir

from conftest import applicant, take


def text_of(pdf) -> str:
    reader = PdfReader(pdf)
    return "".join(page.extract_text() for page in reader.pages)


def flat(text: str) -> str:
    return re.sub(r"\s+", "", text)


def fonts_of(pdf) -> list[tuple[str, bool]]:
    """(font name, embedded) for every font on every page."""
    out = []
    for page in PdfReader(pdf).pages:
        for font in page["/Resources"]["/Font"].values():
            font = font.get_object()
            descendants = font.get("/DescendantFonts")
            desc = (descendants[0].get_object() if descendants else font).get("/FontDescriptor")
            desc = desc.get_object() if desc else {}
            out.append((font["/BaseFont"], any(k in desc for k in ("/FontFile", "/FontFile2", "/FontFile3"))))
    return out


def render(kind, document, large=False):
    buf = io.BytesIO()
    Renderer(large=large).render(kind, document, buf)
    buf.seek(0)
    return buf


@pytest.mark.slow  # runs the program in a subprocess
def test_sample_command_writes_four_pdfs_with_embedded_fonts(tmp_path):
    result = subprocess.run([sys.executable, "-m", "shebao_desk", "documents", "sample", "--out", str(tmp_path)],
                            capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stderr
    for name in SAMPLE_FILES:
        path = tmp_path / name
        assert path.exists()
        fonts = fonts_of(path)
        assert fonts and all(embedded for _, embedded in fonts), (name, fonts)
        assert len(text_of(path)) > 50


def test_business_form_has_every_field(policy):
    doc = sample_document(policy)
    text = flat(text_of(render("business_form", doc)))
    a, g = doc.applicant, doc.agent
    for value in ("陕西省社会保障卡业务办理表", doc.number, doc.site.institution, a.name, a.sex, a.ethnicity,
                  a.birth_date, a.id_number, a.phone, flat(a.address), g.name, g.id_number, g.relation, g.phone,
                  doc.reason, doc.clerk_name, doc.accepted_at.replace(" ", ""), "未采集电子照片"):
        assert flat(value) in text, value
    for _, name in doc.all_businesses:
        assert name in text
    assert "■申领" in text and "□启用" in text
    for m in doc.materials:
        assert flat(m.name) in text


def test_notice_lists_every_material_with_presented_and_missing(policy):
    doc = sample_document(policy)
    text = flat(text_of(render("notice", doc)))
    assert doc.materials and doc.missing
    for m in doc.materials:
        assert flat(m.name) in text
    assert flat(f"{doc.missing[0].name}尚缺") in text
    assert flat(f"{doc.materials[0].name}已提交") in text
    assert policy.site.phone in text and flat(policy.site.hours) in text and doc.clerk_name in text


def test_notice_when_complete_names_the_outlet_and_date(policy):
    doc = sample_document(policy, presented=set(policy.catalogue["apply"].required(Mode.AGENT)))
    text = flat(text_of(render("notice", doc)))
    assert "尚缺" not in text.replace("已提交/尚缺", "")
    assert flat(policy.site.bank_outlets[0].name) in text and "2026年03月18日" in text


def test_large_notice_uses_bigger_type(policy):
    doc = sample_document(policy)
    normal, large = render("notice", doc), render("notice", doc, large=True)
    def sizes(buf):
        sizes = []
        PdfReader(buf).pages[0].extract_text(visitor_text=lambda t, cm, tm, fd, fs: sizes.append(fs * tm[0]) if t.strip() else None)
        return max(set(sizes), key=sizes.count)
    assert sizes(large) >= 1.4 * sizes(normal)


def test_receipt_has_promise_pickup_and_notices(policy):
    doc = sample_document(policy)
    text = flat(text_of(render("receipt", doc)))
    for value in (doc.number, "申领", "2026-03-18", "7个工作日", flat(policy.site.bank_outlets[0].name), doc.clerk_name,
                  flat(doc.notices[0])):
        assert value in text, value


def test_receipt_of_a_real_temporary_loss_warns_of_the_lapse(store, policy, clerk_and_site, tmp_path):
    who = applicant()
    apply = take(store, policy, clerk_and_site, "apply", who)
    from shebao_desk.services.intake import complete_case
    import datetime as dt
    with store.unit(clerk_and_site[0].id, "A", "collect") as s:
        complete_case(s, s.merge(apply.case), s.merge(clerk_and_site[0]), apply.case.accepted_at + dt.timedelta(days=10))
    loss = take(store, policy, clerk_and_site, "temp_loss", who, now=apply.case.accepted_at + dt.timedelta(days=11))
    with store.read() as s:
        paths = render_case(s, loss.case.id, policy, tmp_path)
    assert set(paths) == {"business_form", "receipt"}
    text = flat(text_of(paths["receipt"]))
    assert "临时挂失7天内有效" in text and "当场办结" in text and who.name in text


def test_returned_case_prints_the_notice(store, policy, clerk_and_site, tmp_path):
    outcome = take(store, policy, clerk_and_site, "apply", applicant(), materials={"id_original"})
    with store.read() as s:
        paths = render_case(s, outcome.case.id, policy, tmp_path)
    assert list(paths) == ["notice"]
    text = flat(text_of(paths["notice"]))
    assert "申请人身份证A4复印件尚缺" in text


def test_photo_is_embedded(policy):
    img = PILImage.new("RGB", (358, 441), "white")
    buf = io.BytesIO()
    img.save(buf, "JPEG", dpi=(350, 350))
    doc = sample_document(policy)
    doc = doc.__class__(**{**doc.__dict__, "applicant": Party(**{**doc.applicant.__dict__, "photo": buf.getvalue()})})
    pdf = PdfReader(render("business_form", doc))
    assert len(pdf.pages[0].images) == 1
    assert "未采集电子照片" not in text_of(render("business_form", doc))


def test_broken_photo_still_gives_the_form(policy):
    doc = sample_document(policy)
    doc = doc.__class__(**{**doc.__dict__, "applicant": Party(**{**doc.applicant.__dict__, "photo": b"not a jpeg"})})
    assert "未采集电子照片" in text_of(render("business_form", doc))


def test_long_name_and_address_are_not_clipped(policy):
    name = "阿卜杜热合曼·买买提依明·艾合买提江·库尔班"
    address = "陕西省商洛市商州区北新街道办事处" * 6 + "1号"
    doc = sample_document(policy)
    doc = doc.__class__(**{**doc.__dict__, "applicant": Party(**{**doc.applicant.__dict__, "name": name, "address": address})})
    for kind in ("business_form", "notice", "receipt"):
        text = flat(text_of(render(kind, doc)))
        assert flat(name) in text, kind
    assert flat(address) in flat(text_of(render("business_form", doc)))


def test_rare_character_uses_the_fallback_font(policy):
    fonts = Renderer().fonts
    if not fonts.fallbacks or not any(0x20BB7 in cov for _, cov in fonts.fallbacks):
        pytest.skip("no fallback font with CJK Extension B installed")
    doc = sample_document(policy)
    doc = doc.__class__(**{**doc.__dict__, "applicant": Party(**{**doc.applicant.__dict__, "name": "王𠮷堃"})})
    pdf = render("receipt", doc)
    assert "王𠮷堃" in flat(text_of(pdf))
    assert len(fonts_of(pdf)) >= 2


def test_character_no_font_has_is_a_clear_error(policy):
    doc = sample_document(policy)
    doc = doc.__class__(**{**doc.__dict__, "applicant": Party(**{**doc.applicant.__dict__, "name": "李\U000F0001"})})
    with pytest.raises(MissingGlyphError) as exc:
        render("business_form", doc)
    assert "U+F0001" in exc.value.message


def test_missing_font_is_a_clear_error(tmp_path):
    with pytest.raises(FontError) as exc:
        load_fonts("", (str(tmp_path / "nope.ttf"),), (), "apt install fonts-wqy-zenhei")
    assert "fonts-wqy-zenhei" in exc.value.message
    with pytest.raises(FontError) as exc:
        load_fonts(str(tmp_path / "configured.ttf"), (), (), "x")
    assert "configured.ttf" in exc.value.message


@pytest.mark.slow  # runs the program in a subprocess
def test_label_change_in_the_layout_file_changes_the_pdf(policy, tmp_path, monkeypatch):
    copy = tmp_path / "resources"
    shutil.copytree(resources_dir(), copy)
    layout = copy / "documents" / "layout.toml"
    layout.write_text(layout.read_text(encoding="utf-8").replace('"联系电话"', '"手机号码"'),
                      encoding="utf-8")
    out = tmp_path / "out"
    result = subprocess.run([sys.executable, "-m", "shebao_desk", "documents", "sample", "--out", str(out)],
                            capture_output=True, text=True, timeout=120, env={"SHEBAO_RESOURCES": str(copy),
                                                                              "PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}, check=False)
    assert result.returncode == 0, result.stderr
    text = flat(text_of(out / "business_form.pdf"))
    assert "手机号码" in text and "联系电话" not in text


def test_broken_layout_file_names_the_problem(tmp_path):
    path = tmp_path / "layout.toml"
    text = (resources_dir() / "documents" / "layout.toml").read_text(encoding="utf-8")
    path.write_text(text.replace('title = "陕西省社会保障卡业务办理表"', 'title = ""'), encoding="utf-8")
    with pytest.raises(ResourceError) as exc:
        parse_layout(path)
    assert "business_form.title" in exc.value.message
