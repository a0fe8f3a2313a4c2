"""Opening the local SQLite store: location, pragmas, migrations, units of work.

The store lives in the user's data folder unless ``--db PATH`` or ``SHEBAO_DB``
says otherwise. Migrations run at open, so an older store is upgraded in place.
"""

from __future__ import annotations

import logging
import os
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from platformdirs import user_data_dir
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from shebao_desk.audit import act_as, install_audit
from shebao_desk.errors import StoreError
from shebao_desk.sync.capture import Capture, install_capture

log = logging.getLogger(__name__)

APP_NAME = "shebao-desk"
BUSY_TIMEOUT_MS = 5000
MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def default_db_path() -> Path:
    return Path(user_data_dir(APP_NAME, appauthor=False)) / "shebao.sqlite3"


def resolve_db_path(cli_value: str | None = None) -> Path:
    """``--db`` beats ``SHEBAO_DB`` beats the user's data folder."""
    if cli_value:
        return Path(cli_value).expanduser()
    if os.environ.get("SHEBAO_DB"):
        return Path(os.environ["SHEBAO_DB"]).expanduser()
    return default_db_path()


def _sqlite_pragmas(dbapi_conn: sqlite3.Connection, _record: object) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
    cur.execute("PRAGMA synchronous=NORMAL")  # safe with WAL: a power cut loses at most the last commit
    cur.close()


def alembic_config(connection: object | None = None) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["connection"] = connection
    return cfg


def make_engine(url: str) -> Engine:
    engine = create_engine(url)
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    return engine


@dataclass
class Store:
    """One open database: its engine and a factory of audited sessions."""

    path: Path | None
    engine: Engine
    sessions: sessionmaker[Session]

    @contextmanager
    def unit(self, clerk_id: str | None, workstation: str, action: str) -> Iterator[Session]:
        """One user action = one transaction, committed on success, rolled back on error."""
        with self.sessions.begin() as session:
            act_as(session, clerk_id, workstation, action)
            yield session

    @contextmanager
    def read(self) -> Iterator[Session]:
        with self.sessions() as session:
            yield session

    def head_revision(self) -> str | None:
        return ScriptDirectory.from_config(alembic_config()).get_current_head()

    def current_revision(self) -> str | None:
        with self.engine.connect() as conn:
            return MigrationContext.configure(conn).get_current_revision()

    def upgrade(self) -> None:
        with self.engine.begin() as conn:
            command.upgrade(alembic_config(conn), "head")

    def close(self) -> None:
        self.engine.dispose()


def open_store(path: Path | str, *, migrate: bool = True) -> Store:
    """Open (creating if needed) the SQLite store at ``path`` and bring it to the head schema."""
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise StoreError(f"无法创建数据目录 {path.parent}", str(exc)) from exc
    engine = make_engine(f"sqlite:///{path}")
    store = Store(path, engine, sessionmaker(engine, expire_on_commit=False, info={"capture": Capture()}))
    install_audit(store.sessions)
    install_capture(store.sessions)  # after the audit hook, so audit entries are captured too
    if migrate:
        try:
            store.upgrade()
        except OperationalError as exc:
            engine.dispose()
            raise StoreError(f"无法打开或升级数据库 {path}", str(exc)) from exc
        log.info("store open at %s (schema %s)", path, store.current_revision())
    return store
