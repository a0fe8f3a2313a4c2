"""Sample documents, so a county can check its template without a real case."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from pathlib import Path

from shebao_desk.config.catalogue import Mode
from shebao_desk.config.document_layout import load_layout
from shebao_desk.config.policy import Policy
from shebao_desk.documents.model import CaseDocument, Material, Party, SiteInfo, where_next
from shebao_desk.documents.render import Renderer

SAMPLE_FILES = ("business_form.pdf", "notice.pdf", "notice_large.pdf", "receipt.pdf", "receipt_loss.pdf")


def sample_document(policy: Policy, *, presented: set[str] | None = None) -> CaseDocument:
    cat, cfg = policy.catalogue, policy.site
    business = cat["apply"]
    mode = Mode.AGENT
    required = business.required(mode)
    presented = set(required) - {"agent_id_copy"} if presented is None else presented
    return CaseDocument(
        number=f"{cfg.window_code}A-20260309-0001", business_code="apply", business_name=business.name,
        all_businesses=[(b.code, b.name) for b in cat], mode=mode.label,
        applicant=Party(name="李秀英", id_number="61100219560412008X", sex="女", ethnicity="汉族",
                        birth_date="1956-04-12", card_number="", phone="13800000000",
                        address="陕西省商洛市商州区北新街 1 号院 3 号楼 2 单元 501 室"),
        agent=Party(name="张建国", id_number="611021197501020331", relation="儿子", phone="13900000000"),
        reason="首次申领", materials=[Material(c, cat.material_name(c), c in presented) for c in required],
        accepted_at="2026-03-09 09:30", promised_date=policy.calendar.add_workdays(dt.date(2026, 3, 9), business.days),
        promised_days=business.days, promise_provisional=False, clerk_name="王经办", fee=business.fee, next_step=business.next_step,
        site=SiteInfo(cfg.institution, cfg.window_name, cfg.window_code, "A", cfg.address, cfg.phone, cfg.hours),
        outlet=cfg.bank_outlets[0],
        notices=["制卡期间如需查询进度，请拨打窗口电话。"],
        fee_text=business.fee_text(business.fee), pickup=business.pickup,
    )


def sample_loss_document(policy: Policy) -> CaseDocument:
    """A temporary loss reported at the window: its receipt shows when it took effect and lapses."""

    business = policy.catalogue["temp_loss"]
    base = sample_document(policy)
    effective = dt.datetime(2026, 3, 9, 9, 30)
    expires = effective + dt.timedelta(days=policy.site.temp_loss_days)
    return replace(
        base, number=base.number[:-4] + "0002", business_code="temp_loss", business_name=business.name,
        mode=Mode.SELF.label, agent=None, reason="", promised_date=None, promised_days=0,
        materials=[Material(c, policy.catalogue.material_name(c), True) for c in business.required(Mode.SELF)],
        fee=0, fee_text=business.fee_text(0), pickup=False, next_step=business.next_step,
        notices=[load_layout().receipt["notices"]["temp_loss"]],
        loss_effective=f"{effective:%Y-%m-%d %H:%M}", loss_expires=f"{expires:%Y-%m-%d %H:%M}",
        where=where_next("temp_loss", policy),
    )


def write_samples(policy: Policy, out: Path) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    document, loss = sample_document(policy), sample_loss_document(policy)
    normal, large = Renderer(), Renderer(large=True)
    jobs = [("business_form", normal, document), ("notice", normal, document), ("notice", large, document),
            ("receipt", normal, document), ("receipt", normal, loss)]
    paths = []
    for (kind, renderer, doc), name in zip(jobs, SAMPLE_FILES, strict=True):
        path = out / name
        renderer.render(kind, doc, path)
        paths.append(path)
    return paths
