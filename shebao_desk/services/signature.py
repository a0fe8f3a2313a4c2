"""The applicant's signature from their screen, embedded in the business form (no Qt).

The form is rendered again with the signature image on the applicant's line and the time
beside it; the signed PDF is archived in the case's folder and its SHA-256 recorded on the
case (so it is in the case's audit trail). Paper signing stays the default (applicant.toml).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
from pathlib import Path

from shebao_desk.clock import CHINA
from shebao_desk.config.policy import Policy
from shebao_desk.documents.render import Renderer
from shebao_desk.errors import ValidationError
from shebao_desk.models import Case, utcnow
from shebao_desk.services.actor import Actor
from shebao_desk.services.case_documents import load_case_document
from shebao_desk.services.case_files import case_folder
from shebao_desk.store.database import Store

SIGN_ACTION = "申请人签名"
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@dataclasses.dataclass(frozen=True)
class Signed:
    path: Path
    sha256: str


def sign_form(store: Store, actor: Actor, policy: Policy, case_id: str, png: bytes,
              now: dt.datetime | None = None) -> Signed:
    if not png.startswith(PNG_MAGIC):
        raise ValidationError("签名图像无效，请重签", "signature is not a PNG")
    if store.path is None:
        raise ValidationError("没有案卷文件夹，无法保存签名", "store without a file")
    now = now or utcnow()
    with store.read() as session:
        case, document = load_case_document(session, case_id, policy)
    signed = dataclasses.replace(document, signature_png=png, signed_at=f"{now.astimezone(CHINA):%Y-%m-%d %H:%M}")
    path = case_folder(store.path, case.number) / f"{case.number}-business_form-signed.pdf"
    path.parent.mkdir(parents=True, exist_ok=True)
    Renderer().render("business_form", signed, path)
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    with actor.unit(store, SIGN_ACTION) as session:
        row = session.get(Case, case_id)
        if row is None:
            raise ValidationError("找不到该业务记录", f"case {case_id} not found")
        row.signature_sha256 = digest
    return Signed(path, digest)
