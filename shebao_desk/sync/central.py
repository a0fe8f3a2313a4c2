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

from shebao_desk.audit_chain import exchange_head
from shebao_desk.errors import ShebaoError
from shebao_desk.models import SyncChange
from shebao_desk.models.base import utcnow
from shebao_desk.store import Store, alembic_config
from shebao_desk.sync import state
from shebao_desk.sync.capture import observe_received
from shebao_desk.sync.merge import apply_changes

log = logging.getLogger(__name__)

BATCH = 10_000
PUSH_LOCK = 0x5EBA0  # advisory lock key for pushes into the central log
COLUMNS = ("change_id", "table_name", "row_id", "hlc", "origin", "values")


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


def push(store: Store, engine: Engine, batch: int = BATCH) -> int:
    sent = 0
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
        # Confirmed centrally; a cut before this line only means the batch is sent again.
        with store.engine.begin() as conn:  # the log only grows at its end: the batch is everything up to its last seq
            conn.execute(update(SyncChange).where(SyncChange.pushed.is_(False), SyncChange.seq <= changes[-1][0])
                         .values(pushed=True))
        sent += len(rows)


def pull(store: Store, engine: Engine, batch: int = BATCH) -> tuple[int, int]:
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
        report = SyncReport()
        with store.engine.begin() as local, engine.begin() as central:  # a cut or rewritten audit trail stops here (#14)
            problem = exchange_head(local, central)
        if problem:
            raise SyncError(*problem)
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
