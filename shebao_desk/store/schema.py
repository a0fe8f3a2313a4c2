"""A store's schema, moved from one revision to another in ONE SQLite transaction.

Python's sqlite3 driver (and SQLCipher's, a fork of it) issues no BEGIN before DDL, so every
CREATE or ALTER of a migration used to commit on its own: a process killed while Alembic
built a new store left tables behind an empty ``alembic_version``, and the store never
opened again (review 2026-12-05, F1). Here the migration connection leaves transaction
control to us: BEGIN IMMEDIATE before the first statement, COMMIT after the version bump.
A kill at any moment leaves the store at the revision it had, whether it was new or old.

On that connection the journal mode (WAL) is set before the transaction, since it cannot
change inside one; foreign keys are off, because a batch-mode table copy drops and renames
a table that others refer to, and ``foreign_key_check`` runs before the commit instead.

A store an older version left half-built (tables or columns of a migration its
``alembic_version`` does not name) makes the migrations fail; that transaction rolls back,
and the next one drops the leftovers, which hold nothing yet, and runs the migrations again.
Leftover tables with rows are not guessed at: the store is refused with the way out (restore
a backup). The leftovers are found by comparing the store with what the migrations build up to
its revision in a scratch database in memory: only on this path, never on a normal open.
"""

from __future__ import annotations

import logging
import re
import sqlite3
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.exc import DBAPIError
from sqlalchemy.pool import StaticPool

from shebao_desk.errors import StoreError
from shebao_desk.store import cipherfile
from shebao_desk.store.paths import restore_hint

if TYPE_CHECKING:
    from alembic.config import Config

log = logging.getLogger(__name__)

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
BUSY_TIMEOUT_MS = 5000
VERSION_TABLE = "alembic_version"
BATCH_COPY = "_alembic_tmp_"  # the table a batch-mode ALTER copies into, then renames
DB_ERRORS: tuple[type[BaseException], ...] = (DBAPIError, *cipherfile.ERRORS)


def alembic_config(connection: object | None = None) -> Config:
    from alembic.config import Config  # noqa: PLC0415 - start-up: Alembic only when a store moves
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["connection"] = connection
    return cfg


_REVISION = re.compile(r"^(down_revision|revision)\s*=\s*['\"]?([\w-]+|None)['\"]?\s*$", re.M)


def _revision_links() -> dict[str, str | None]:
    """Each migration file's revision and the one it revises, read from the files' text: importing
    Alembic and every migration cost a third of a second of every start, where the store is at the head."""
    links: dict[str, str | None] = {}
    for file in sorted((MIGRATIONS / "versions").glob("*.py")):
        found = dict((name, value) for name, value in _REVISION.findall(file.read_text(encoding="utf-8")))
        if "revision" in found:
            links[found["revision"]] = None if found.get("down_revision", "None") == "None" else found["down_revision"]
    return links


@cache
def head_revision() -> str:
    links = _revision_links()
    heads = set(links) - set(links.values())
    if len(heads) == 1:
        return heads.pop()
    from alembic.script import ScriptDirectory  # noqa: PLC0415 - only when the files' text does not say
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()  # names the problem if there is one
    assert head is not None, "the migrations have a head"
    return head


@cache
def known_revisions() -> frozenset[str]:
    links = _revision_links()
    if len(set(links) - set(links.values())) == 1:
        return frozenset(links)
    from alembic.script import ScriptDirectory  # noqa: PLC0415 - start-up: see alembic_config
    return frozenset(rev.revision for rev in ScriptDirectory.from_config(alembic_config()).walk_revisions())


def stored_revision(path: Path, key: bytes | None) -> str | None:
    """The revision the store's ``alembic_version`` names (None: new, or half-built by an older version)."""
    conn = cipherfile.connect(path, key)  # not read-only: a WAL store needs its -shm, which this may create
    try:
        row = conn.execute(f"SELECT version_num FROM {VERSION_TABLE}").fetchone()
    except cipherfile.ERRORS:
        return None
    finally:
        conn.close()
    return row[0] if row else None


def upgrade(path: Path, key: bytes | None, target: str = "head") -> None:
    """Bring the store to ``target`` in one transaction; nothing is written when it is there already.

    If the migrations fail on what an older version's interrupted run left behind, the transaction
    rolls back; the leftovers are then cleared and the migrations run again, in a second one."""
    if target in ("head", head_revision()) and stored_revision(path, key) == head_revision():
        return
    from alembic import command  # noqa: PLC0415 - start-up: see alembic_config
    what = f"→ {target}"
    try:
        _in_one_transaction(path, key, lambda conn: command.upgrade(alembic_config(conn), target), what)
        return
    except StoreError as failed:
        if not isinstance(failed.__cause__, DB_ERRORS):
            raise
        first = failed

    def repair(conn: Connection) -> None:
        if not _clear_leftovers(conn, path):
            raise first  # nothing was left behind: the first failure stands
        command.upgrade(alembic_config(conn), target)
    _in_one_transaction(path, key, repair, f"{what}, leftovers cleared")


def downgrade(path: Path, key: bytes | None, target: str) -> None:
    """Take the store back to ``target`` in one transaction (maintenance and tests; the program never does)."""
    from alembic import command  # noqa: PLC0415 - start-up: see alembic_config
    _in_one_transaction(path, key, lambda conn: command.downgrade(alembic_config(conn), target), f"→ {target}")


# --- one transaction ------------------------------------------------------------------------------------------


def _engine(connect: Callable[[], object], module: object) -> Engine:
    """An engine over one connection on which SQLAlchemy, not the driver, says when a transaction begins."""
    engine = create_engine("sqlite://", creator=connect, poolclass=StaticPool, module=module)
    event.listen(engine, "begin", lambda conn: conn.exec_driver_sql("BEGIN IMMEDIATE"))
    return engine


def _file_engine(path: Path, key: bytes | None) -> Engine:
    def connect() -> sqlite3.Connection:
        conn = cipherfile.connect(path, key, check_same_thread=False)
        conn.isolation_level = None  # the driver never BEGINs on its own (it skips DDL); we do, it COMMITs
        conn.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        conn.execute("PRAGMA journal_mode=WAL")  # outside any transaction: it cannot change inside one
        conn.execute("PRAGMA foreign_keys=OFF")  # a batch-mode copy drops a referenced table; checked below
        return conn
    return _engine(connect, sqlite3 if key is None else cipherfile.sqlcipher)


def _in_one_transaction(path: Path, key: bytes | None, step: Callable[[Connection], None], what: str) -> None:
    engine = _file_engine(path, key)
    try:
        with engine.begin() as conn:
            before = _foreign_key_problems(conn)
            step(conn)
            added = _foreign_key_problems(conn) - before
            if added:
                raise StoreError(f"数据库 {path} 的结构升级会破坏数据之间的引用，已放弃，数据库未改动；"
                                 f"请把日志交给技术支持", f"migration {what}: foreign keys broken {dict(added)}")
    except DB_ERRORS as exc:
        raise _failure(path, exc, what) from exc
    finally:
        engine.dispose()
    log.info("store %s migrated %s in one transaction", path, what)


def _foreign_key_problems(conn: Connection) -> Counter[tuple[str, str]]:
    return Counter((r[0], r[2]) for r in conn.exec_driver_sql("PRAGMA foreign_key_check"))


def _failure(path: Path, exc: BaseException, what: str) -> StoreError:
    text = str(getattr(exc, "orig", exc))
    if "locked" in text or "busy" in text:
        reason = "数据库正被另一个程序占用，请关闭它后重试"
    elif "full" in text:
        reason = "磁盘已满，请清理磁盘后重试"
    else:
        reason = restore_hint()
    return StoreError(f"无法打开或升级数据库 {path}，数据库未改动；{reason}", f"migration {what}: {text}")


# --- what an interrupted older build left behind -------------------------------------------------------------


@dataclass
class Schema:
    """The tables (with their columns) and named indexes of a database."""

    tables: dict[str, frozenset[str]] = field(default_factory=dict)
    indexes: dict[str, str] = field(default_factory=dict)  # index name -> its table


def schema_of(conn: Connection) -> Schema:
    names = [r[0] for r in conn.exec_driver_sql(
        "SELECT name FROM sqlite_master WHERE type='table' AND name NOT LIKE 'sqlite_%'")]
    tables = {n: frozenset(r[1] for r in conn.exec_driver_sql(f'PRAGMA table_info("{n}")')) for n in names}
    indexes = {r[0]: r[1] for r in conn.exec_driver_sql(
        "SELECT name, tbl_name FROM sqlite_master WHERE type='index' AND sql IS NOT NULL")}
    return Schema(tables, indexes)


@cache
def reference_schema(revision: str | None) -> Schema:
    """What the migrations build up to ``revision``, in a scratch database in memory."""
    if revision is None:
        return Schema()
    from alembic import command  # noqa: PLC0415 - start-up: see alembic_config

    def connect() -> sqlite3.Connection:
        conn = sqlite3.connect(":memory:", check_same_thread=False)
        conn.isolation_level = None
        return conn
    engine = _engine(connect, sqlite3)
    try:
        with engine.begin() as conn:
            command.upgrade(alembic_config(conn), revision)
            return schema_of(conn)
    finally:
        engine.dispose()


def _clear_leftovers(conn: Connection, path: Path) -> bool:
    """Drop what an interrupted migration of an older version left beyond the revision the store names;
    False if there was nothing."""
    from alembic.runtime.migration import MigrationContext  # noqa: PLC0415 - start-up: see alembic_config
    revision = MigrationContext.configure(conn).get_current_revision()
    have, want = schema_of(conn), reference_schema(revision)
    tables = [t for t in have.tables if t not in want.tables and t != VERSION_TABLE]
    columns = [(t, c) for t in have.tables if t in want.tables for c in sorted(have.tables[t] - want.tables[t])]
    indexes = [i for i, t in have.indexes.items() if i not in want.indexes and t not in tables]
    if not (tables or columns or indexes):
        return False
    head = reference_schema(head_revision())
    unknown = [t for t in tables if t not in head.tables and not t.startswith(BATCH_COPY)] + \
        [f"{t}.{c}" for t, c in columns if c not in head.tables.get(t, ())]
    holding = [t for t in tables if conn.exec_driver_sql(f'SELECT 1 FROM "{t}" LIMIT 1').first()]
    if unknown or holding:
            raise StoreError(f"数据库 {path} 的结构没有建完（上次建立或升级时被中断），其中已有数据，无法自动修复；"
                         f"{restore_hint()}",
                         f"half-built store at {revision}: unknown {unknown}, tables with rows {holding}")
    log.warning("store %s: clearing what an interrupted migration left at %s: tables %s, columns %s, indexes %s",
                path, revision, tables, columns, indexes)
    for name in indexes:
        conn.exec_driver_sql(f'DROP INDEX "{name}"')
    for table, column in columns:  # added by the interrupted step with its default: it adds them again
        conn.exec_driver_sql(f'ALTER TABLE "{table}" DROP COLUMN "{column}"')
    for table in tables:
        conn.exec_driver_sql(f'DROP TABLE "{table}"')
    return True
