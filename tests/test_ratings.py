"""好差评: one rating per case, 满意率 per clerk, open 差评 with their deadline, and the CLI report."""

import datetime as dt
import json

import pytest
from sqlalchemy import select

from shebao_desk.clock import CHINA
from shebao_desk.config.applicant_settings import load_applicant_settings, parse_applicant_settings
from shebao_desk.errors import ResourceError, ValidationError
from shebao_desk.models import AuditEntry, Case
from shebao_desk.services.actor import Actor
from shebao_desk.services.applicant_view import ApplicantView, mask_for_applicant, record_confirmation
from shebao_desk.services.ratings import ratings_report, record_rating
from shebao_desk.services.statistics import month

from conftest import applicant, misscoped_changes, needs_pg, on_central, take
from test_cli import cli

# Monday 2026-03-09; 15 working days later (no holiday in between) is Monday 2026-03-30.
RATED = dt.datetime(2026, 3, 9, 10, 0, tzinfo=CHINA).astimezone(dt.UTC)


@pytest.fixture
def settings():
    return load_applicant_settings()


def cases(store, policy, clerk_and_site, n):
    return [take(store, policy, clerk_and_site, "apply", applicant(i + 1)).case.id for i in range(n)]


def test_ratings_one_per_case_and_the_month_report(store, policy, clerk_and_site, settings):
    actor = Actor(*clerk_and_site)
    ids = cases(store, policy, clerk_and_site, 3)
    record_rating(store, actor, settings, policy.calendar, ids[0], "非常满意", [], now=RATED)
    record_rating(store, actor, settings, policy.calendar, ids[1], "满意", [], now=RATED)
    with pytest.raises(ValidationError, match="原因"):
        record_rating(store, actor, settings, policy.calendar, ids[2], "不满意", [], now=RATED)
    bad = record_rating(store, actor, settings, policy.calendar, ids[2], "不满意", ["等候时间长"], now=RATED)
    assert bad.follow_up_due == dt.date(2026, 3, 30)
    with pytest.raises(ValidationError, match="一次一评"):
        record_rating(store, actor, settings, policy.calendar, ids[0], "满意", [], now=RATED)
    with store.read() as s:
        report = ratings_report(s, settings, month("2026-03"), dt.date(2026, 4, 1))
    [clerk] = report.by_clerk
    assert clerk.clerk == "王经办" and clerk.total == 3 and clerk.rate(settings) == pytest.approx(2 / 3)
    [open_bad] = report.open_complaints
    assert open_bad.due == dt.date(2026, 3, 30) and open_bad.overdue and open_bad.reasons == ("等候时间长",)
    assert open_bad.id_masked.count("*") > 0


def test_confirmation_lands_in_the_cases_audit(store, policy, clerk_and_site):
    actor = Actor(*clerk_and_site)
    [case_id] = cases(store, policy, clerk_and_site, 1)
    view = ApplicantView("社会保障卡申领", "李秀英", mask_for_applicant("611002198005170011"), ("居民身份证",), (),
                         "0 元", "", "X-1", case_id)
    record_confirmation(store, actor, view)
    with store.read() as s:
        case = s.get(Case, case_id)
        assert case.applicant_confirmed == view.digest() and case.applicant_confirmed_at is not None
        entry = s.scalar(select(AuditEntry).where(AuditEntry.row_id == case_id, AuditEntry.action == "申请人确认:update"))
        assert entry.after["applicant_confirmed"] == view.digest()


def test_id_number_masked_but_the_last_four():
    assert mask_for_applicant("61100219800517001X") == "**************001X"


def test_a_bad_level_list_is_refused_with_the_files_name(tmp_path):
    from shebao_desk.config.resources import resource_path
    text = resource_path("applicant.toml").read_text()
    broken = tmp_path / "applicant.toml"
    broken.write_text(text.replace('bad_levels = ["不满意", "非常不满意"]', 'bad_levels = ["差"]'))
    with pytest.raises(ResourceError, match="applicant.toml"):
        parse_applicant_settings(broken)


@pytest.mark.slow  # runs the program in a subprocess
def test_report_ratings_cli(tmp_path, policy, settings):
    from shebao_desk.store.database import open_store
    from conftest import create_clerk, ensure_site, Role
    db = tmp_path / "store.sqlite3"
    store = open_store(db)
    with store.unit(None, "A", "test setup") as s:
        clerk = create_clerk(s, "wang", "王经办", "passw0rd!", Role.CLERK)
        site = ensure_site(s, policy.site, "A")
    pair = (clerk, site)
    ids = cases(store, policy, pair, 2)
    record_rating(store, Actor(*pair), settings, policy.calendar, ids[0], "满意", [], now=RATED)
    record_rating(store, Actor(*pair), settings, policy.calendar, ids[1], "非常不满意", ["服务态度不好"], now=RATED)
    store.close()
    result = cli("report", "ratings", "--month", "2026-03", "--json", db=db)
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["clerks"] == [{"clerk": "王经办", "total": 2, "counts": {"非常满意": 0, "满意": 1, "基本满意": 0,
                                                                      "不满意": 0, "非常不满意": 1},
                               "satisfaction_rate": 0.5}]
    assert [(o["level"], o["due"]) for o in data["open_complaints"]] == [("非常不满意", "2026-03-30")]
    text = cli("report", "ratings", "--month", "2026-03", db=db)
    assert "王经办\t2\t50.0%\t1" in text.stdout and "2026-03-30 前反馈" in text.stdout
    bad = cli("report", "ratings", "--month", "2026/03", db=db)
    assert bad.returncode == 2 and "YYYY-MM" in bad.stderr


@needs_pg
def test_ratings_and_confirmations_reach_the_other_workstation_through_central(tmp_path, policy, central, settings):
    from shebao_desk.models import CaseRating
    from shebao_desk.sync.central import sync
    from test_sync import workstation
    a, csa = workstation(tmp_path, policy, "A")
    b, _ = workstation(tmp_path, policy, "B")
    case_id = take(a, policy, csa, "apply", applicant(300)).case.id
    view = ApplicantView("申领", "李秀英", "**************0011", (), (), "免费", "", "X", case_id)
    record_confirmation(a, Actor(*csa), view)
    record_rating(a, Actor(*csa), settings, policy.calendar, case_id, "非常不满意", ["多次跑腿"], now=RATED)
    sync(a, central)
    sync(b, central)
    assert on_central(central, misscoped_changes) == []  # the rating with its case's person
    with b.read() as s:
        rating = s.scalar(select(CaseRating).where(CaseRating.case_id == case_id))
        assert rating is not None and rating.level == "非常不满意" and rating.reasons == ["多次跑腿"]
        assert rating.follow_up_due == dt.date(2026, 3, 30) and rating.clerk_id == csa[0].id
        assert s.get(Case, case_id).applicant_confirmed == view.digest()


def test_the_receipt_carries_a_rating_code_only_where_the_county_has_an_online_channel(
        store, policy, clerk_and_site, tmp_path, monkeypatch, settings):
    import dataclasses
    import re
    from pypdf import PdfReader
    from shebao_desk.documents import model
    from shebao_desk.documents.render import Renderer
    from shebao_desk.services.case_documents import load_case_document
    [case_id] = cases(store, policy, clerk_and_site, 1)
    with store.read() as s:
        case, document = load_case_document(s, case_id, policy)
    assert document.rating_url == ""  # resources/applicant.toml: no online channel
    online = settings.model_copy(update={"rating": settings.rating.model_copy(
        update={"online_url": "https://zwfw.example.gov.cn/pj?case={number}"})})
    monkeypatch.setattr(model, "load_applicant_settings", lambda: online)
    assert model.rating_url(case.number) == f"https://zwfw.example.gov.cn/pj?case={case.number}"

    def text_of(doc, name):
        out = tmp_path / name
        Renderer().render("receipt", doc, out)
        return re.sub(r"\s+", "", "".join(p.extract_text() for p in PdfReader(out).pages))
    assert "扫码评价" not in text_of(document, "plain.pdf")
    assert "扫码评价" in text_of(dataclasses.replace(document, rating_url=model.rating_url(case.number)), "qr.pdf")
