"""What the case window shows: one case, its people, its history in sentences and its scans (no Qt)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from shebao_desk.clock import local_text
from shebao_desk.config.catalogue import Catalogue
from shebao_desk.errors import ValidationError
from shebao_desk.models import Case, Clerk, Person
from shebao_desk.services.case_files import case_folder, inside
from shebao_desk.services.case_papers import attachment_label, attachments_of
from shebao_desk.services.history_text import describe
from shebao_desk.services.queries import case_history


@dataclass(frozen=True)
class ScanRow:
    label: str
    file_name: str
    dpi: str
    scanned_at: str
    path: Path

    def cells(self) -> list[str]:
        return [self.label, self.file_name, self.dpi, self.scanned_at]


@dataclass(frozen=True)
class CaseDetail:
    case: Case  # loaded with its person, for reading after the session closes
    person: Person
    accepted_by: str
    completed_by: str
    history: list[list[str]]  # time, clerk, workstation, what happened (in a sentence)
    scans: list[ScanRow]


def case_detail(session: Session, store_path: Path, case_id: str, catalogue: Catalogue) -> CaseDetail:
    case = session.get(Case, case_id)
    if case is None:
        raise ValidationError("找不到这件业务，可能已被同步删除", f"case {case_id} not found")
    clerks = {c.id: c.display_name for c in session.scalars(select(Clerk))}
    history = [[local_text(e.at), clerks.get(e.clerk_id or "", "系统"), e.workstation,
                describe(e.table_name, e.action, e.before, e.after, catalogue)] for e in case_history(session, case)]
    folder = case_folder(store_path, case.number)
    scans = [ScanRow(attachment_label(a.kind), a.file_name, f"{a.dpi} dpi", local_text(a.scanned_at),
                     inside(folder, a.file_name))
             for a in attachments_of(session, case.id)]
    return CaseDetail(case, case.person, clerks.get(case.accepted_by, ""), clerks.get(case.completed_by or "", ""),
                      history, scans)
