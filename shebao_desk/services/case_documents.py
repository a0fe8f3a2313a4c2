"""The papers for a stored case: which ones, built from the store, written beside the case."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from shebao_desk.config.document_layout import load_layout
from shebao_desk.config.policy import Policy
from shebao_desk.documents.model import CaseDocument, case_document
from shebao_desk.documents.render import DocumentError, Renderer
from shebao_desk.models import Case, CaseStatus, Clerk, Person
from shebao_desk.services.case_files import case_folder, inside
from shebao_desk.services.case_papers import scan_lines
from shebao_desk.store.database import Store
from shebao_desk.store.site_identity import get_site

APPLICANT_READS = ("receipt", "notice")


def papers_for(case: Case) -> list[str]:
    """A returned case gets the one-time notice; an accepted one the form and the receipt."""
    if case.status is CaseStatus.RETURNED:
        return ["notice"]
    return ["business_form", "receipt"]


def load_case_document(session: Session, case_id: str, policy: Policy) -> tuple[Case, CaseDocument]:
    case = session.get(Case, case_id, options=[selectinload(Case.person).selectinload(Person.cards)])
    if case is None:
        raise LookupError(case_id)
    clerk = session.get(Clerk, case.accepted_by)
    site = get_site(session)
    if clerk is None or site is None:  # a store without its site row or the accepting clerk is broken
        raise LookupError(f"case {case_id}: clerk or site missing")
    document = case_document(case, case.person, clerk, policy, site,
                             notices=dict(load_layout().receipt["notices"]), scans=scan_lines(session, case.id),
                             card_outlet=_card_outlet(session, case))
    return case, document


def _card_outlet(session: Session, case: Case) -> str:
    """The bank outlet chosen when the case's card was applied for (its bank, for a loss's next step)."""
    if case.outlet or case.card_id is None:
        return ""
    return session.scalar(select(Case.outlet).where(Case.new_card_id == case.card_id).limit(1)) or ""


def render_case(session: Session, case_id: str, policy: Policy, folder: Path, *, large: bool = False,
                kinds: list[str] | None = None) -> dict[str, Path]:
    case, document = load_case_document(session, case_id, policy)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:  # as the renderer says of a file it cannot write: the case itself is kept
        raise DocumentError(f"无法建立文件夹 {folder}：{exc.strerror or exc}", repr(exc)) from exc
    # What the applicant reads (receipt, notice) in large type when chosen for this person;
    # the form the window keeps stays at its normal size.
    large = large or bool(case.person.large_print)
    renderers = {False: Renderer()}
    if large:
        renderers[True] = Renderer(large=True)
    out = {}
    for kind in kinds or papers_for(case):
        big = large and kind in APPLICANT_READS
        path = inside(folder, f"{case.number}-{kind}{'-large' if big else ''}.pdf")
        renderers[big].render(kind, document, path)
        out[kind] = path
    return out


def render_papers(store: Store, case_id: str, number: str, policy: Policy) -> dict[str, Path]:
    """The case's papers (:func:`papers_for`), rendered now into its folder beside the store."""
    if store.path is None:
        raise ValueError("a store without a file has no case folders")
    with store.read() as session:
        return render_case(session, case_id, policy, case_folder(store.path, number))
