"""What happened to a case's papers and scans at the desk: printed or not, scanned copies attached.

Core logic, no Qt. The files live in the case folder (``case_files.case_folder``); the rows
record which file, its checksum and how it was made.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from pathlib import Path

from PIL import Image
from sqlalchemy import select
from sqlalchemy.orm import Session

from shebao_desk.services.case_files import inside
from shebao_desk.clock import now_utc
from shebao_desk.devices.scanner import id_copy_page, save_jpeg
from shebao_desk.models import Case, CaseAttachment

ATTACHMENT_LABELS = {"id_copy": "身份证复印件（正反面 A4 扫描件）", "signed_form": "签字的业务办理表（扫描件）"}


def record_print(session: Session, case_id: str, printed: bool, problem: str = "",
                 now: dt.datetime | None = None) -> None:
    case = session.get(Case, case_id)
    if case is None:
        return
    if printed:
        case.papers_printed_at = now or now_utc()
        case.print_problem = ""
    else:
        case.print_problem = problem[:500]


def print_state(case: Case) -> str:
    if case.print_problem:
        return f"打印失败：{case.print_problem}" + ("（此前已打印过）" if case.papers_printed_at else "")
    return "已打印" if case.papers_printed_at else "未打印"


def attach_scan(session: Session, case_id: str, path: Path, kind: str, *, dpi: int, device: str,
                now: dt.datetime | None = None) -> CaseAttachment:
    data = path.read_bytes()
    media = {".pdf": "application/pdf", ".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".png": "image/png"}
    row = CaseAttachment(case_id=case_id, kind=kind, file_name=path.name,
                         media_type=media.get(path.suffix.lower(), "application/octet-stream"),
                         sha256=hashlib.sha256(data).hexdigest(), dpi=dpi, device=device[:200],
                         scanned_at=now or now_utc())
    session.add(row)
    session.flush()
    return row


def attachments_of(session: Session, case_id: str) -> list[CaseAttachment]:
    return list(session.scalars(select(CaseAttachment).where(CaseAttachment.case_id == case_id)
                                .order_by(CaseAttachment.scanned_at)))


def attachment_label(kind: str) -> str:
    return ATTACHMENT_LABELS.get(kind, kind)


def scan_lines(session: Session, case_id: str) -> list[str]:
    """One line per scanned copy, as the business form lists it."""
    return [f"{attachment_label(a.kind)}：{a.file_name}，{a.dpi} dpi" for a in attachments_of(session, case_id)]


def attach_id_copy(session: Session, case_id: str, folder: Path, number: str, front: Image.Image,
                   back: Image.Image, *, dpi: int,
                   device: str) -> CaseAttachment:
    """Both faces on one A4 page, saved in the case folder and recorded with the case."""
    existing = len(attachments_of(session, case_id))
    path = save_jpeg(id_copy_page(front, back, dpi), inside(folder, f"{number}-id_copy-{existing + 1}.jpg"), dpi)
    return attach_scan(session, case_id, path, "id_copy", dpi=dpi, device=device)
