"""Businesses that write to a card's chip (启用, 密码修改): the record side first, the chip last.

1. ``prepare``: the whole business is checked exactly as it will be saved (person, card
   state, materials, clerk: ``accept_case`` run and rolled back), and only then a *pending*
   journal entry is written. A refusal here never reaches the chip.
2. The caller sends the chip command (a PIN job on the devices worker).
3. ``chip_changed`` marks the entry the moment the card accepted, and ``record`` saves the
   case and completes the entry in one transaction. If saving fails after the chip was
   changed, the entry still says so: no chip change is ever unrecorded.
   ``chip_unchanged`` closes an entry when the card refused or the clerk stopped.
"""

from __future__ import annotations

import datetime as dt
import logging

from sqlalchemy import select

from shebao_desk.clock import now_utc
from shebao_desk.rules.idnumber import mask_id_number, normalise
from shebao_desk.services.intake import Outcome, accept_case
from shebao_desk.services.case_request import CaseRequest
from shebao_desk.models import ChipWrite, ChipWriteState, Clerk, Site
from shebao_desk.config.policy import Policy
from shebao_desk.store.database import Store

log = logging.getLogger(__name__)


class _DryRun(Exception):
    """Rolls the checking transaction back."""


def prepare(store: Store, req: CaseRequest, clerk: Clerk, site: Site, policy: Policy, reader: str,
            now: dt.datetime | None = None) -> str:
    """Check everything on the record side, then journal the chip write as pending; its id."""
    now = now or now_utc()
    try:
        with store.unit(clerk.id, site.workstation_id, f"check {req.business}") as s:
            outcome = accept_case(s, req, s.merge(clerk), s.merge(site), policy, now)
            missing = outcome.missing
            raise _DryRun
    except _DryRun:
        pass
    if missing:  # a returned case never touches the chip; the caller saves it the ordinary way
        raise ValueError("prepare() is for complete card businesses only")
    entry = ChipWrite(business=req.business, id_number=normalise(req.applicant.id_number),
                      card_number=req.chip.card_number if req.chip else (req.card_read or ("",))[0],
                      reader=reader[:100], clerk_id=clerk.id, workstation=site.workstation_id,
                      state=ChipWriteState.PENDING, started_at=now)
    with store.unit(clerk.id, site.workstation_id, f"journal {req.business}") as s:
        s.add(entry)
    log.info("chip write %s (%s) pending for %s", entry.id, req.business, mask_id_number(entry.id_number))
    return entry.id


def resumable(store: Store, req: CaseRequest) -> str | None:
    """A chip change of this very business already made but whose case was not saved: record it
    without touching the chip again (asking for the initial PIN again would burn a try)."""
    card_number = req.chip.card_number if req.chip else (req.card_read or ("",))[0]
    if not card_number:
        return None
    with store.read() as s:
        return s.scalar(select(ChipWrite.id).where(
            ChipWrite.state == ChipWriteState.CHIP_CHANGED, ChipWrite.business == req.business,
            ChipWrite.card_number == card_number, ChipWrite.id_number == normalise(req.applicant.id_number),
        ).order_by(ChipWrite.started_at.desc()).limit(1))


def _finish(store: Store, journal_id: str, clerk: Clerk, site: Site, state: ChipWriteState, detail: str) -> None:
    with store.unit(clerk.id, site.workstation_id, f"journal {state.value}") as s:
        entry = s.get(ChipWrite, journal_id)
        if entry is None or entry.state in (ChipWriteState.RECORDED, ChipWriteState.CHIP_CHANGED):
            return  # a changed chip is never marked otherwise
        entry.state, entry.detail = state, detail[:200]
        if state is not ChipWriteState.CHIP_CHANGED:
            entry.finished_at = now_utc()


def chip_changed(store: Store, journal_id: str, clerk: Clerk, site: Site) -> None:
    _finish(store, journal_id, clerk, site, ChipWriteState.CHIP_CHANGED, "card accepted the change")


def chip_unchanged(store: Store, journal_id: str, clerk: Clerk, site: Site, *, refused: bool, detail: str) -> None:
    """The card refused (wrong PIN, …) or the clerk stopped: the chip was not changed."""
    _finish(store, journal_id, clerk, site, ChipWriteState.REFUSED if refused else ChipWriteState.CANCELLED, detail)


def record(store: Store, journal_id: str, req: CaseRequest, clerk: Clerk, site: Site, policy: Policy,
           now: dt.datetime | None = None) -> Outcome:
    """Save the case of a chip change already made and complete its journal entry, together."""
    with store.unit(clerk.id, site.workstation_id, f"intake {req.business}") as s:
        outcome = accept_case(s, req, s.merge(clerk), s.merge(site), policy, now)
        entry = s.get(ChipWrite, journal_id)
        if entry is not None:
            entry.state, entry.case_id, entry.finished_at = ChipWriteState.RECORDED, outcome.case.id, now_utc()
            entry.detail = ""
    return outcome


def unrecorded(store: Store) -> list[ChipWrite]:
    """Chip writes that may have changed a card without a saved case (for the clerk and ``db check``)."""
    with store.read() as s:
        rows = s.scalars(select(ChipWrite).where(ChipWrite.state.in_(
            (ChipWriteState.PENDING, ChipWriteState.CHIP_CHANGED))).order_by(ChipWrite.started_at)).all()
        return list(rows)
