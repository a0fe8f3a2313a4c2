"""What the applicant's screen shows and what the applicant does there (no Qt).

The view is built only from the one case the clerk is handling: the request being typed, then
the saved case. Nothing else (no other applicant, no list) ever reaches it. The ID number is
masked but for its last 4 characters. The applicant's confirmation is recorded on the case
(the time and the SHA-256 of exactly the lines shown), so it lands in the case's audit trail.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass

from sqlalchemy import select

from shebao_desk.config.policy import Policy
from shebao_desk.errors import ValidationError
from shebao_desk.models import Case, utcnow
from shebao_desk.services.actor import Actor
from shebao_desk.services.case_request import CaseRequest
from shebao_desk.store.database import Store

CONFIRM_ACTION = "申请人确认"


def mask_for_applicant(id_number: str) -> str:
    """All but the last 4 characters hidden: the screen faces the hall as well as the applicant."""
    number = id_number.strip()
    if len(number) <= 4:
        return "*" * len(number)
    return "*" * (len(number) - 4) + number[-4:]


@dataclass(frozen=True)
class ApplicantView:
    business: str
    name: str
    id_masked: str
    handed: tuple[str, ...]
    missing: tuple[str, ...]
    fee: str
    promised: str = ""       # "2026年12月18日" or "2027年01月08日（预计）"; "" before the case is saved
    number: str = ""         # the case number once saved
    case_id: str = ""

    def lines(self) -> list[tuple[str, str]]:
        rows = [("办理业务", self.business), ("姓名", self.name), ("身份证号码", self.id_masked),
                ("已交材料", "、".join(self.handed) or "无"), ("尚缺材料", "、".join(self.missing) or "无"),
                ("费用", self.fee)]
        if self.number:
            rows.insert(0, ("受理编号", self.number))
        if self.promised:
            rows.append(("承诺办结日期", self.promised))
        return rows

    def digest(self) -> str:
        """SHA-256 of exactly what the applicant saw (the case keeps it with the confirmation)."""
        return hashlib.sha256(json.dumps(self.lines(), ensure_ascii=False).encode()).hexdigest()


def promised_text(promised: dt.date | None, provisional: bool) -> str:
    if promised is None:
        return ""
    return f"{promised:%Y年%m月%d日}" + ("（预计）" if provisional else "")


def view_of_request(request: CaseRequest, policy: Policy) -> ApplicantView:
    """While the clerk types: the business, the person (masked), the materials, the fee."""
    catalogue = policy.catalogue
    business = catalogue[request.business]
    missing = business.missing(request.mode, request.materials)
    handed = [m for m in business.required(request.mode) if m in request.materials]
    return ApplicantView(
        business=business.name, name=request.applicant.name.strip(),
        id_masked=mask_for_applicant(request.applicant.id_number),
        handed=tuple(catalogue.material_name(m) for m in handed),
        missing=tuple(catalogue.material_name(m) for m in missing),
        fee=business.fee_text(business.fee_for(request.reason)))


def view_of_case(view: ApplicantView, case_id: str, number: str, promised: dt.date | None,
                 provisional: bool) -> ApplicantView:
    """Once saved: the same lines with the case number and the promised date."""
    return ApplicantView(view.business, view.name, view.id_masked, view.handed, view.missing, view.fee,
                         promised_text(promised, provisional), number, case_id)


def record_confirmation(store: Store, actor: Actor, view: ApplicantView, now: dt.datetime | None = None) -> None:
    """The applicant touched 确认: the case keeps when, and the digest of what was shown."""
    if not view.case_id:
        raise ValidationError("请先受理，再请申请人确认", "confirmation before the case was saved")
    with actor.unit(store, CONFIRM_ACTION) as session:
        case = session.scalar(select(Case).where(Case.id == view.case_id))
        if case is None:
            raise ValidationError("找不到该业务记录", f"case {view.case_id} not found")
        case.applicant_confirmed_at = now or utcnow()
        case.applicant_confirmed = view.digest()
