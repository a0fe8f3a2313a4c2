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

SAMPLE_FILES = ("business_form.pdf", "notice.pdf", "notice_large.pdf", "receipt.pdf", "receipt_loss.pdf",
                "business_form_guardian.pdf", "receipt_temp_card.pdf")


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
        fee_text=business.fee_text(business.fee), pickup=business.pickup, mode_code=mode.value,
        temp_loss_days=cfg.temp_loss_days,
    )


def sample_loss_document(policy: Policy) -> CaseDocument:
    """A temporary loss reported at the window: its receipt shows when it took effect and lapses."""

    business = policy.catalogue["temp_loss"]
    base = sample_document(policy)
    effective = dt.datetime(2026, 3, 9, 9, 30)
    days = policy.site.temp_loss_days
    expires = effective + dt.timedelta(days=days)
    return replace(
        base, number=base.number[:-4] + "0002", business_code="temp_loss", business_name=business.name,
        mode=Mode.SELF.label, mode_code=Mode.SELF.value, agent=None, reason="", promised_date=None, promised_days=0,
        materials=[Material(c, policy.catalogue.material_name(c), True) for c in business.required(Mode.SELF)],
        fee=0, fee_text=business.fee_text(0), pickup=False, next_step=business.next_step_text(days),
        notices=_notices("temp_loss", days),
        loss_effective=f"{effective:%Y-%m-%d %H:%M}", loss_expires=f"{expires:%Y-%m-%d %H:%M}",
        loss_functions=("social",),  # reported at the window for the social function only: the bank's is told
        where=where_next("temp_loss", policy),  # the card's bank: the sample applicant's outlet
    )


def _notices(business: str, days: int) -> list[str]:
    note = load_layout().receipt["notices"].get(business)
    return [note.format(days=days)] if note else []


def sample_guardian_document(policy: Policy) -> CaseDocument:
    """A child's application through a guardian: the form is signed by the 监护人."""
    business = policy.catalogue["apply"]
    base = sample_document(policy)
    required = business.required(Mode.GUARDIAN)
    return replace(
        base, number=base.number[:-4] + "0003", mode=Mode.GUARDIAN.label, mode_code=Mode.GUARDIAN.value,
        applicant=Party(name="王小明", id_number="611002201709010010", sex="男", ethnicity="汉族",
                        birth_date="2017-09-01", phone="13900000000", address=base.applicant.address),
        agent=Party(name="王建国", id_number="611021197501020332", relation="父亲", phone="13900000000"),
        materials=[Material(c, policy.catalogue.material_name(c), True) for c in required],
        outlet=policy.site.bank_outlets[-1],
    )


def sample_temp_card_document(policy: Policy) -> CaseDocument:
    """A temporary card handed over during 补换: its number, its last valid day, return it for the new card."""
    business = policy.catalogue["temp_card"]
    base = sample_document(policy)
    issued = dt.date(2026, 3, 9)
    return replace(
        base, number=base.number[:-4] + "0004", business_code="temp_card", business_name=business.name,
        mode=Mode.SELF.label, mode_code=Mode.SELF.value, agent=None, reason="", promised_date=None, promised_days=0,
        materials=[Material(c, policy.catalogue.material_name(c), True) for c in business.required(Mode.SELF)],
        fee=0, fee_text=business.fee_text(0), pickup=False, next_step=business.next_step_text(policy.site.temp_loss_days),
        notices=_notices("temp_card", policy.site.temp_loss_days), temp_card_number="LS0000123",
        temp_card_until=f"{issued + dt.timedelta(days=policy.catalogue.temp_card.valid_days):%Y-%m-%d}",
    )


def write_samples(policy: Policy, out: Path) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    document, loss = sample_document(policy), sample_loss_document(policy)
    normal, large = Renderer(), Renderer(large=True)
    jobs = [("business_form", normal, document), ("notice", normal, document), ("notice", large, document),
            ("receipt", normal, document), ("receipt", normal, loss),
            ("business_form", normal, sample_guardian_document(policy)),
            ("receipt", normal, sample_temp_card_document(policy))]
    paths = []
    for (kind, renderer, doc), name in zip(jobs, SAMPLE_FILES, strict=True):
        path = out / name
        renderer.render(kind, doc, path)
        paths.append(path)
    return paths
