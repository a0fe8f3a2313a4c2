"""Checks a whole store against the rules: what ``shebao-desk db check`` runs.

Each finding names the rows involved, so a supervisor can find and mend them.
ID numbers in findings are masked: the output may end up in a log or a ticket.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path

from sqlalchemy import Engine, func, select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from shebao_desk.changes.audit_chain import verify_chain
from shebao_desk.config.regions import load_regions
from shebao_desk.errors import StoreError
from shebao_desk.models import (
    VALID_CARD_STATUSES, AuditEntry, Card, CardStatus, Case, ChipWrite, ChipWriteState, LossKind, LossReport, Person,
    PersonStatus, Site, SyncConflict,
)
from shebao_desk.rules.idnumber import InvalidIdNumber, mask_id_number, parse_id_number
from shebao_desk.services.rederive import compare
from shebao_desk.store import cipherfile
from shebao_desk.store.database import CACHE_KIB, damage_found, quick_check

log = logging.getLogger(__name__)

VOID_VALUES = {s.value for s in CardStatus if not s.valid}
INTEGRITY_CACHE_KIB = 256 * 1024  # db check's whole-file check: see _file_integrity
# What reading a damaged page raises: the driver's error, or SQLAlchemy's wrapping of it.
READ_ERRORS: tuple[type[Exception], ...] = (*cipherfile.DATABASE_ERRORS, DBAPIError)


@dataclass(frozen=True)
class Finding:
    rule: str
    detail: str
    person_id: str | None = None  # whom it concerns, where a sync conflict may cover it
    conflict_id: str | None = None  # set: an open sync conflict a supervisor has to settle, not a broken rule

    @property
    def open_conflict(self) -> bool:
        return self.conflict_id is not None

    def __str__(self) -> str:
        if self.conflict_id is not None:  # an open conflict
            return f"[待处理冲突 {self.conflict_id[:8]}] {self.detail}"
        return f"[{self.rule}] {self.detail}"


def _file_integrity(session: Session) -> list[str]:
    """``PRAGMA integrity_check``'s rows, on a connection of its own: SQLite leaves Python's lock while it
    works, so the check of every page and index runs beside the rules and the trail's replay (#29: at a
    million cases each takes about as long as the other). A page it cannot read (a failed HMAC, a cut
    file) ends the check with an error: that error is its finding."""
    bind = session.get_bind()
    raw = (bind if isinstance(bind, Engine) else bind.engine).raw_connection()
    cursor = raw.cursor()
    try:
        # The check looks every row up in each of its table's indexes: with the indexes of a million cases
        # (~200 MB) in the cache, 137 s instead of 237 s at 1M (#29); the pool's connection gets its cache back.
        cursor.execute(f"PRAGMA cache_size=-{INTEGRITY_CACHE_KIB}")
        started, cpu = time.perf_counter(), time.thread_time()
        cursor.execute("PRAGMA integrity_check")
        rows = [r[0] for r in cursor.fetchall()]
        log.info("integrity_check: %.1f s (%.1f s of CPU)", time.perf_counter() - started, time.thread_time() - cpu)
        return rows
    except cipherfile.DATABASE_ERRORS as exc:
        return [str(exc)]
    finally:
        try:
            cursor.execute(f"PRAGMA cache_size=-{CACHE_KIB}")
        finally:
            raw.close()


def _damage(session: Session, rows: list[str]) -> StoreError | None:
    """The file is damaged where SQLite's quick_check would say so (what opening the store with a check
    reports: one line naming the restore, exit 2); index entries that disagree with their rows, the part
    of integrity_check quick_check leaves out, stay findings of their own (exit 1). Asked only when the
    integrity check found something, so a healthy store is read once, not twice (#29)."""
    if rows == ["ok"]:
        return None
    path = Path(str(session.get_bind().engine.url.database))
    problems = quick_check(path)
    return damage_found(path, problems) if problems else None


def _foreign_keys(session: Session) -> list[Finding]:
    """Rows naming a row that is not there (run beside the whole-file check, not after it: #29)."""
    if session.get_bind().dialect.name != "sqlite":  # the central database enforces its own
        return []
    return [Finding("foreign_key", f"{r[0]} 行 {r[1]} 引用的 {r[2]} 不存在")
            for r in session.execute(text("PRAGMA foreign_key_check")).all()]


def _two_valid_cards(session: Session) -> list[Finding]:
    rows = session.execute(
        select(Person.id, Person.id_number, func.count(Card.id))
        .join(Card, Card.person_id == Person.id)
        .where(Card.status.in_(VALID_CARD_STATUSES))
        .group_by(Person.id, Person.id_number).having(func.count(Card.id) > 1)).all()
    return [Finding("one_valid_card", f"人员 {mask_id_number(n)} 有 {c} 张有效卡（每人最多一张）", person_id=i)
            for i, n, c in rows]


def _cancelled_holds_valid_card(session: Session) -> list[Finding]:
    rows = session.execute(
        select(Person.id, Person.id_number, Card.card_number, Card.id).join(Card, Card.person_id == Person.id)
        .where(Person.status == PersonStatus.CANCELLED, Card.status.in_(VALID_CARD_STATUSES))).all()
    return [Finding("cancelled_no_valid_card", f"已注销人员 {mask_id_number(n)} 仍有有效卡 {number or card_id}",
                    person_id=i) for i, n, number, card_id in rows]


# Which flagged conflict covers which rule: such a finding is an open conflict, not a broken rule.
CONFLICT_RULES = {"one_valid_card": "two_valid_cards", "cancelled_no_valid_card": "cancelled_person_valid_card"}


def _mark_open_conflicts(session: Session, findings: list[Finding]) -> list[Finding]:
    open_: dict[tuple[str | None, str | None], str] = {(c.kind, c.person_id): c.id for c in session.scalars(
        select(SyncConflict).where(SyncConflict.resolved_at.is_(None)).order_by(SyncConflict.id))}
    out = []
    for f in findings:
        conflict = open_.get((CONFLICT_RULES.get(f.rule), f.person_id))
        out.append(replace(f, conflict_id=conflict) if conflict else f)
    return out


def _void_came_back(session: Session) -> list[Finding]:
    """A card that was void (per the audit trail) but is valid now."""
    was_void = (select(AuditEntry.row_id).where(AuditEntry.table_name == "card",
                                                AuditEntry.after["status"].as_string().in_(sorted(VOID_VALUES))))
    rows = session.execute(select(Card.card_number, Card.id, Card.status)
                           .where(Card.id.in_(was_void), Card.status.in_(VALID_CARD_STATUSES))).all()
    return [Finding("void_is_final", f"卡 {number or card_id} 曾作废，现在又是“{status.label}”")
            for number, card_id, status in rows]


def _loss_rules(session: Session) -> list[Finding]:
    out = []
    rows = session.execute(select(LossReport.id, LossReport.kind, LossReport.effective_at, LossReport.expires_at,
                                  LossReport.lifted_at).execution_options(yield_per=5000))
    for loss_id, kind, effective_at, expires_at, lifted_at in rows:
        if kind is LossKind.TEMPORARY:
            if expires_at is None or expires_at <= effective_at:
                out.append(Finding("temp_loss_expiry", f"临时挂失 {loss_id} 的失效时间有误"))
            elif lifted_at is not None and lifted_at >= expires_at:
                out.append(Finding("lift_in_force", f"临时挂失 {loss_id} 在失效后才被解挂"))
        elif lifted_at is not None:
            out.append(Finding("formal_loss_final", f"正式挂失 {loss_id} 被解除（正式挂失不可撤销）"))
    formally_lost = select(LossReport.card_id).where(LossReport.kind == LossKind.FORMAL)
    for number, card_id in session.execute(select(Card.card_number, Card.id).where(
            Card.id.in_(formally_lost), Card.status.in_(VALID_CARD_STATUSES))):
        out.append(Finding("formal_loss_final", f"卡 {number or card_id} 已正式挂失却仍有效"))
    return out


def _reissue_after_formal_loss(session: Session) -> list[Finding]:
    formal = select(LossReport.card_id).where(LossReport.kind == LossKind.FORMAL)
    rows = session.execute(select(Case.number).where(Case.business == "reissue", Case.card_id.is_not(None),
                                                     Case.card_id.not_in(formal)))
    return [Finding("reissue_after_formal_loss", f"补卡业务 {number} 的原卡没有正式挂失记录") for (number,) in rows]


def _people(session: Session) -> list[Finding]:
    out = []
    regions = load_regions()
    rows = session.execute(select(Person.id_number, Person.created_at).execution_options(yield_per=5000))
    for id_number, created_at in rows:  # streamed: a county's register is read once, a batch at a time
        try:
            parse_id_number(id_number, regions=regions, today=created_at.date())
        except InvalidIdNumber as exc:
            out.append(Finding("id_number", f"人员 {mask_id_number(id_number)}：{exc.message}"))
    return out


def _site(session: Session) -> list[Finding]:
    n = session.execute(select(func.count()).select_from(Site)).scalar_one()
    return [] if n <= 1 else [Finding("site", f"site 表应只有一行，现有 {n} 行")]


def _chip_writes(session: Session) -> list[Finding]:
    """A chip changed without its case saved, or a chip command whose outcome nobody learnt."""
    stale = dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)
    rows = session.scalars(select(ChipWrite).where(
        (ChipWrite.state == ChipWriteState.CHIP_CHANGED)
        | ((ChipWrite.state == ChipWriteState.PENDING) & (ChipWrite.started_at < stale)))).all()
    return [Finding("chip_write", f"卡号 {w.card_number}（{mask_id_number(w.id_number)}）的 {w.business} "
                    + ("已写入芯片，但业务没有登记" if w.state is ChipWriteState.CHIP_CHANGED else "芯片操作结果不明")
                    + f"（{w.started_at:%Y-%m-%d %H:%M} UTC，读卡器 {w.reader}）") for w in rows]


def _evidence(session: Session) -> list[Finding]:
    """The audit trail's hash chain, and the tables against the trail's replay (#14)."""
    conn = session.connection()
    if conn.dialect.name != "sqlite":  # the central database keeps each store's chain head, not a chain
        return []
    return [Finding(rule, detail) for rule, detail in verify_chain(conn) + compare(conn)]


def check_store(session: Session) -> list[Finding]:
    """Every check of the store. The whole file's integrity check runs beside the others; a damaged file
    raises the same :class:`StoreError` as opening it with a check would (``db check`` opens the store
    without one: integrity_check reads every page quick_check reads and more, #29), and the findings of
    the other checks are dropped then, as they may come from the damage."""
    sqlite = session.get_bind().dialect.name == "sqlite"
    with ThreadPoolExecutor(1, thread_name_prefix="integrity-check") as beside:
        whole_file = beside.submit(_file_integrity, session) if sqlite else None
        findings: list[Finding] = []
        started, cpu = time.perf_counter(), time.thread_time()
        try:
            for check in (_foreign_keys, _two_valid_cards, _cancelled_holds_valid_card, _void_came_back, _loss_rules,
                          _reissue_after_formal_loss, _people, _site, _chip_writes, _evidence):
                findings += check(session)
            log.info("rules, audit chain and replay: %.1f s (%.1f s of CPU)", time.perf_counter() - started,
                     time.thread_time() - cpu)
        except READ_ERRORS as exc:  # a page the rules could not read
            damage = _damage(session, whole_file.result()) if whole_file is not None else None
            if damage is None:
                raise
            raise damage from exc
        if whole_file is not None:
            rows = whole_file.result()
            damage = _damage(session, rows)
            if damage is not None:
                raise damage
            findings = [Finding("integrity", r) for r in rows if r != "ok"] + findings
    return _mark_open_conflicts(session, findings)
