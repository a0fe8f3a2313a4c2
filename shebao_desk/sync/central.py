"""Sync with the central PostgreSQL: push this store's changes, pull everyone else's.

Each batch is one transaction on each side, so a connection cut at any point
leaves both databases as they were before that batch or after it; the next run
resends what was not confirmed, and a change already in a log is ignored. Pushes
take a transaction-scoped advisory lock so the central log's ``seq`` order is its
commit order, and a puller never skips a change committed late.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from sqlalchemy import Engine, create_engine, select, text, update
from sqlalchemy.exc import DBAPIError, OperationalError

from shebao_desk.errors import ShebaoError
from shebao_desk.models import Site, SyncChange
from shebao_desk.models.base import utcnow
from shebao_desk.store import Store, alembic_config
from shebao_desk.sync import scope, state
from shebao_desk.sync.capture import observe_received
from shebao_desk.sync.merge import apply_changes

log = logging.getLogger(__name__)

BATCH = 10_000
PUSH_LOCK = 0x5EBA0  # advisory lock key for pushes into the central log
COLUMNS = ("change_id", "table_name", "row_id", "hlc", "origin", "values")
SCOPE_POS = "central_scope_pos"  # how far this workstation has read its window's stream (see scope.py)
LOOKUP_TIMEOUT_S = 2  # the clerk is waiting at the counter


class SyncError(ShebaoError):
    pass


@dataclass
class SyncReport:
    pushed: int = 0
    pulled: int = 0
    conflicts: int = 0


def central_engine(url: str) -> Engine:
    try:
        return create_engine(url, pool_pre_ping=True, connect_args={"connect_timeout": 10})
    except Exception as exc:  # noqa: BLE001 - a malformed URL is the clerk's input
        raise SyncError(f"中心数据库地址有误：{url.split('@')[-1]}", repr(exc)) from exc


def prepare_central(engine: Engine) -> None:
    """Create or migrate the central schema with the same Alembic migrations as the stores."""
    from alembic import command
    with engine.begin() as conn:
        command.upgrade(alembic_config(conn), "head")


def identity(store: Store) -> tuple[str, str]:
    """(window code, origin) of this workstation."""
    with store.read() as s:
        site = s.scalar(select(Site).limit(1))
    if site is None:
        raise SyncError("本机尚未完成站点设置，不能同步")
    return site.window_code, f"{site.window_code}{site.workstation_id}"


def push(store: Store, engine: Engine, batch: int = BATCH) -> int:
    sent = 0
    window, origin = identity(store)
    with engine.begin() as conn:
        scope.register_origin(conn, origin, window)
    while True:
        with store.engine.connect() as conn:
            changes = conn.execute(select(SyncChange.seq, *(getattr(SyncChange, c) for c in COLUMNS))
                                   .where(SyncChange.pushed.is_(False)).order_by(SyncChange.seq).limit(batch)).all()
        if not changes:
            return sent
        rows = [dict(zip(COLUMNS, c[1:], strict=True)) for c in changes]
        with engine.begin() as conn:
            conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": PUSH_LOCK})
            # The merge looks rows up by key in tables that may have grown by thousands of rows
            # since their statistics were taken; a sequential scan per lookup would be quadratic.
            conn.execute(text("SET LOCAL enable_seqscan = off"))
            apply_changes(conn, rows, pushed=True)
            scope.assign(conn, rows, window)
        # Confirmed centrally; a cut before this line only means the batch is sent again.
        with store.engine.begin() as conn:  # the log only grows at its end: the batch is everything up to its last seq
            conn.execute(update(SyncChange).where(SyncChange.pushed.is_(False), SyncChange.seq <= changes[-1][0])
                         .values(pushed=True))
        sent += len(rows)


def pull(store: Store, engine: Engine, batch: int = BATCH) -> tuple[int, int]:
    """This window's changes, its people's and the shared ones (see :mod:`scope`)."""
    window, _ = identity(store)
    received, conflicts = 0, 0
    while True:
        with store.engine.connect() as conn:
            cursor = int(state.get(conn, SCOPE_POS, "0"))
        with engine.connect() as conn:
            got = scope.pull_batch(conn, window, cursor, batch)
        if not got:
            return received, conflicts
        rows = [r for _, r in got]
        with store.engine.begin() as conn:  # the changes and the cursor move together
            result = apply_changes(conn, rows, pushed=True)
            state.put(conn, SCOPE_POS, str(got[-1][0]))
        observe_received(store, rows)
        received += result.applied
        conflicts += len(result.conflicts)


def pull_all(store: Store, engine: Engine, batch: int = BATCH) -> tuple[int, int]:
    """Every change in the central log, whoever it concerns (the way before scoped replication;
    kept for the benchmark that compares the two)."""
    received, conflicts = 0, 0
    while True:
        with store.engine.connect() as conn:
            cursor = int(state.get(conn, state.PULLED_SEQ, "0"))
        with engine.connect() as conn:
            changes = conn.execute(select(SyncChange.seq, *(getattr(SyncChange, c) for c in COLUMNS))
                                   .where(SyncChange.seq > cursor).order_by(SyncChange.seq).limit(batch)).all()
        if not changes:
            return received, conflicts
        rows = [dict(zip(COLUMNS, c[1:], strict=True)) for c in changes]
        with store.engine.begin() as conn:  # the changes and the cursor move together
            result = apply_changes(conn, rows, pushed=True)
            state.put(conn, state.PULLED_SEQ, str(changes[-1][0]))
        observe_received(store, rows)
        received += result.applied
        conflicts += len(result.conflicts)


def sync(store: Store, url: str, batch: int = BATCH) -> SyncReport:
    engine = central_engine(url)
    try:
        prepare_central(engine)
        scope.backfill(engine)  # changes logged before scoped replication (once, after the upgrade)
        report = SyncReport()
        report.pushed = push(store, engine, batch)
        report.pulled, report.conflicts = pull(store, engine, batch)
        with store.engine.begin() as conn:
            state.put(conn, state.LAST_SYNC, utcnow().isoformat())
        log.info("sync with %s: pushed %d, pulled %d, conflicts %d", engine.url.host, report.pushed,
                 report.pulled, report.conflicts)
        return report
    except (OperationalError, DBAPIError) as exc:
        raise SyncError("与中心数据库的连接中断，已同步的部分已保存，未完成的部分下次会自动继续",
                        f"sync with {engine.url.host}: {exc.__class__.__name__}: {exc.orig if hasattr(exc, 'orig') else exc}") from exc
    finally:
        engine.dispose()


class CentralUnavailable(SyncError):
    pass


@dataclass
class Lookup:
    person_id: str | None  # None: central knows no one with this ID number
    received: int = 0
    conflicts: int = 0


def lookup_person(store: Store, url: str, id_number: str) -> Lookup:
    """Ask central for a person this store does not hold: the person, their cards, cases and
    the clerks those name are merged here, and from now on the person is in this window's scope.
    Also how a card business checks a card against central first (see :func:`check_card_with_central`)."""
    window, _ = identity(store)
    engine = create_engine(url, connect_args={"connect_timeout": LOOKUP_TIMEOUT_S})
    try:
        with engine.begin() as conn:
            person_id = conn.scalar(text("SELECT id FROM person WHERE id_number = :n"), {"n": id_number})
            if person_id is None:
                return Lookup(None)
            conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": PUSH_LOCK})  # the streams' order
            rows = scope.adopt(conn, window, person_id)
    except (OperationalError, DBAPIError) as exc:
        raise CentralUnavailable("暂时无法连接中心数据库，未能查询该人员在其他窗口的记录；可按申请人提供的证件和材料继续办理",
                                 f"lookup at {engine.url.host}: {exc.__class__.__name__}: {getattr(exc, 'orig', exc)}") from exc
    finally:
        engine.dispose()
    with store.engine.begin() as conn:
        result = apply_changes(conn, rows, pushed=True)
    observe_received(store, rows)
    log.info("looked up a person at central: %d changes received", result.applied)
    return Lookup(person_id, result.applied, len(result.conflicts))


def central_url(policy) -> str:
    """The central database this workstation is configured for ("" when it works alone)."""
    import os
    return os.environ.get("SHEBAO_CENTRAL") or policy.site.central_url


def check_person_with_central(store: Store, url: str, id_number: str) -> bool:
    """Before a loss, lift or reissue: bring the person and their cards up to central's state, so
    the card rules decide on what every window knows (a card formally lost elsewhere cannot be
    lifted here). Returns False when central cannot be reached: the business goes on, and the
    merge rules settle it at the next sync (a conflict is flagged for a supervisor)."""
    try:
        lookup_person(store, url, id_number)
    except CentralUnavailable as exc:
        log.warning("card check at central not made: %s", exc.detail)
        return False
    return True


def check_card_with_central(store: Store, url: str, card_id: str) -> bool:
    """:func:`check_person_with_central` for the holder of this card."""
    from shebao_desk.models import Card, Person
    with store.read() as s:
        id_number = s.scalar(select(Person.id_number).join(Card, Card.person_id == Person.id)
                             .where(Card.id == card_id))
    return id_number is not None and check_person_with_central(store, url, id_number)
