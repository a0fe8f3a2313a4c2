"""Opening the local SQLite store: location, pragmas, migrations, units of work.

The store lives in the user's data folder unless ``--db PATH`` or ``SHEBAO_DB``
says otherwise. Migrations run at open, so an older store is upgraded in place, each
upgrade (a new store's first one included) in one transaction (store_schema).
The file says whose it is (SQLite ``application_id``), so another program's SQLite
file is refused rather than migrated; it and its WAL/SHM are readable by the owner only.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import weakref
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import Engine, create_engine, event, inspect, select, text
from sqlalchemy.engine import ExceptionContext
from sqlalchemy.orm import Session, sessionmaker

from shebao_desk.changes.audit import act_as, install_audit
from shebao_desk.changes.capture import Capture, install_capture
from shebao_desk.errors import StoreError
from shebao_desk.logsetup import private_dir, restrict
from shebao_desk.models import SyncState
from shebao_desk.store import anchor, cipherfile, state
from shebao_desk.store import schema as store_schema
from shebao_desk.store.keystore import Keystore, site_signing_key
from shebao_desk.store.paths import APP_NAME as APP_NAME, default_backup_dir as default_backup_dir
from shebao_desk.store.paths import default_db_path as default_db_path, restore_hint as restore_hint
from shebao_desk.store.schema import BUSY_TIMEOUT_MS
from shebao_desk.store.schema import alembic_config as alembic_config  # where sync.central and about find it

log = logging.getLogger(__name__)

CACHE_KIB = 65536  # SQLite's page cache per connection (see _sqlite_pragmas)
APPLICATION_ID = 0x53484244  # "SHBD" in the SQLite header: this file is a shebao-desk store
CHECK_PROGRESS_STEPS = 1000  # quick_check asks whether to stop every this many steps (~50 times a second at 1M cases)


def resolve_db_path(cli_value: str | None = None) -> Path:
    """``--db`` beats ``SHEBAO_DB`` beats the user's data folder."""
    if cli_value:
        return Path(cli_value).expanduser()
    if os.environ.get("SHEBAO_DB"):
        return Path(os.environ["SHEBAO_DB"]).expanduser()
    return default_db_path()


def store_files(path: Path) -> list[Path]:
    """The store and the files SQLite keeps beside it."""
    return [path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")]


def _prepare_file(path: Path) -> None:
    """Create the folder (owner-only) and the file (0600) before SQLite does; tighten an old store.

    SQLite gives the WAL and SHM files the mode of the database file."""
    try:
        if not path.parent.exists() or path.parent == default_db_path().parent:
            private_dir(path.parent)
        if not path.exists():
            os.close(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600))
    except OSError as exc:
        raise StoreError(f"无法创建数据目录 {path.parent}", str(exc)) from exc
    for file in store_files(path):
        restrict(file)


def _claim(path: Path, key: bytes | None) -> None:
    """Refuse a file that is not ours; mark a new (or pre-application-id) store as ours."""
    foreign = StoreError(f"{path} 不是社保卡工作台的数据库，未做任何改动；请检查 --db 参数或 SHEBAO_DB",
                         f"{path}: not a shebao-desk store")
    try:
        conn = cipherfile.connect(path, key)
        try:
            app_id = conn.execute("PRAGMA application_id").fetchone()[0]
            tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
            if app_id not in (0, APPLICATION_ID) or \
                    (tables and "alembic_version" not in tables and app_id != APPLICATION_ID):
                raise foreign  # with our id but no alembic_version it is ours, half-built: store_schema repairs it
            version = conn.execute("SELECT version_num FROM alembic_version").fetchone() \
                if "alembic_version" in tables else None
            if tables and version is None and app_id != APPLICATION_ID and not _half_built_by_us(tables):
                raise foreign  # a store from before the id is ours only if its schema history is
            if version is not None and version[0] not in store_schema.known_revisions():
                raise StoreError(f"{path} 由更新版本的工作台创建（结构 {version[0]}），请升级本程序后再打开",
                                 f"{path}: unknown revision {version[0]}")
            if app_id != APPLICATION_ID:
                conn.execute(f"PRAGMA application_id={APPLICATION_ID}")
                conn.commit()
        finally:
            conn.close()
    except cipherfile.DATABASE_ERRORS as exc:
        what = "无法用本机保存的密钥解密，或文件已损坏" if key else "不是有效的数据库文件或已损坏"
        raise StoreError(f"{path} {what}；{restore_hint()}", f"{path}: {exc!r}") from exc


def _half_built_by_us(tables: set[str]) -> bool:
    """A store from before the id that an older version stopped building: Alembic's table and only ours."""
    ours = store_schema.reference_schema(store_schema.head_revision()).tables
    return "alembic_version" in tables and tables - {"alembic_version"} <= set(ours)


def file_key(path: Path, *, create: bool = False) -> bytes | None:
    """The key that opens the file: None for a plain file; from the keystore for an encrypted one."""
    if cipherfile.is_plain(path):
        return None
    key = Keystore(path).db_key(create=create)
    if key is None and not cipherfile.is_empty(path):
        raise StoreError(f"无法打开数据库 {path}：本机没有它的密钥，或文件已损坏。如是从别的电脑拷来的备份，请管理员用 "
                         f"shebao-desk db restore 该文件 --recovery-key 恢复密钥；{restore_hint()}", f"no key for {path}")
    return key


def connect_file(path: Path | str, *, readonly: bool = False) -> sqlite3.Connection:
    """A plain DB-API connection to a store file, decrypted with its key (maintenance and tests)."""
    path = Path(path)
    return cipherfile.connect(path, file_key(path), readonly=readonly)


def quick_check(path: Path, key: bytes | None = None, *, stop: Callable[[], bool] | None = None) -> list[str]:
    """SQLite's quick_check of the file: an empty list when it is healthy.

    ``stop`` is asked every few thousand steps (SQLite asks the progress handler inside the check too);
    when it says yes, the check ends with :class:`CheckInterrupted`."""
    try:
        key = key if key is not None else file_key(path)
        conn = cipherfile.connect(path, key, readonly=True)
        if stop is not None:
            conn.set_progress_handler(lambda: int(stop()), CHECK_PROGRESS_STEPS)
        try:
            rows = [r[0] for r in conn.execute("PRAGMA quick_check")]
        finally:
            conn.close()
    except cipherfile.DATABASE_ERRORS as exc:
        if "interrupted" in str(exc):
            raise CheckInterrupted(str(exc)) from exc
        return [str(exc)]
    return [] if rows == ["ok"] else rows


class CheckInterrupted(Exception):
    """The check was stopped (the program is closing): it says nothing about the file."""


def damage_found(path: Path, problems: list[str]) -> StoreError:
    """What quick_check's findings mean to the clerk (the log gets the findings themselves)."""
    log.error("quick_check of %s failed: %s", path, "; ".join(problems[:20]))
    return StoreError(f"数据库 {path} 已损坏，继续使用可能丢失数据；{restore_hint()}",
                      f"quick_check {path}: {problems[:5]}")


def require_healthy(path: Path, key: bytes | None = None) -> None:
    problems = quick_check(path, key)
    if problems:
        raise damage_found(path, problems)


def _sqlite_pragmas(dbapi_conn: sqlite3.Connection, _record: object) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
    # 64 MiB of page cache: an encrypted store decrypts a page only when it enters this cache,
    # so the monthly report's second run reads decrypted pages instead of the OS cache's.
    cur.execute(f"PRAGMA cache_size=-{CACHE_KIB}")
    cur.execute("PRAGMA synchronous=NORMAL")  # safe with WAL: a power cut loses at most the last commit
    cur.close()


def sqlite_engine(path: Path, key: bytes | None) -> Engine:
    """The engine of a store file; with a key, every connection is SQLCipher's, keyed first."""
    if key is None:
        return make_engine(f"sqlite:///{path}")
    engine = create_engine(f"sqlite:///{path}", module=cipherfile.sqlcipher,
                           creator=lambda: cipherfile.connect(path, key, check_same_thread=False))
    event.listen(engine, "connect", _sqlite_pragmas)
    return engine


def default_encrypt() -> bool:
    return cipherfile.available() and os.environ.get("SHEBAO_PLAIN_STORE", "") != "1"


def _encrypt_in_place(path: Path) -> None:
    """A plain store of ours becomes an encrypted one (same data, same schema), key first in the keystore."""
    key = Keystore(path).db_key(create=True)
    cipherfile.checkpoint(path, None)
    tmp = path.with_name(path.name + ".encrypting")
    try:
        cipherfile.encrypt_into(path, tmp, key, APPLICATION_ID)
        for side in store_files(path)[1:]:
            side.unlink(missing_ok=True)
        os.replace(tmp, path)
    except cipherfile.FILE_ERRORS as exc:
        tmp.unlink(missing_ok=True)
        raise StoreError(f"无法加密数据库 {path}：{exc}", repr(exc)) from exc
    log.info("store %s encrypted in place", path)


def make_engine(url: str) -> Engine:
    engine = create_engine(url)
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    return engine


@dataclass
class Store:
    """One open database: its engine and a factory of audited sessions."""

    path: Path  # open_store makes every Store, always on a file
    engine: Engine
    sessions: sessionmaker[Session]
    anchored: bool = True  # this PC's own store: its state is kept outside it (not a backup opened to be judged)
    damage: StoreError | None = None  # what a check found wrong with the file: from then on nothing is written
    _check_stopped: bool = field(default=False, repr=False)  # closing: a check running ends, none starts

    def check_health(self) -> StoreError | None:
        """``PRAGMA quick_check`` on a read-only connection of its own (any thread: the GUI runs it in the
        background after the login form is ready). A damaged store takes no more writes (:meth:`refuse_writes`);
        :meth:`close` interrupts a check still running (None: no verdict)."""
        try:
            if self._check_stopped:
                raise CheckInterrupted("closed before the check began")
            problems = quick_check(self.path, stop=lambda: self._check_stopped)
        except CheckInterrupted:
            log.info("quick_check of %s interrupted: the store is closing", self.path)
            return None
        if problems:
            self.refuse_writes(damage_found(self.path, problems))
        return self.damage

    def interrupt_check(self) -> None:
        """End a check that is running (within a few milliseconds) and start none (any thread)."""
        self._check_stopped = True

    def refuse_writes(self, damage: StoreError) -> None:
        """Every unit of work refuses with ``damage``'s message; every connection handed out from now on is
        ``query_only``, so a write outside a unit (sync, bundles) fails too (:func:`_guard_writes`)."""
        self.damage = damage

    def refusal(self) -> StoreError:
        """A new error each time (an exception raised twice would carry both tracebacks)."""
        assert self.damage is not None
        return StoreError(self.damage.message, self.damage.detail)

    @contextmanager
    def unit(self, clerk_id: str | None, workstation: str, action: str) -> Iterator[Session]:
        """One user action = one transaction, committed on success, rolled back on error."""
        if self.damage is not None:
            log.warning("%s refused: the store is damaged", action)
            raise self.refusal()
        with self.sessions.begin() as session:
            act_as(session, clerk_id, workstation, action)
            yield session
        self.anchor()

    def anchor(self) -> None:
        """Record the store's state outside it, after a commit (:mod:`shebao_desk.store.anchor`)."""
        if self.path is not None and self.anchored:
            with self.engine.connect() as conn:
                anchor.write(self.path, conn)

    @contextmanager
    def read(self) -> Iterator[Session]:
        with self.sessions() as session:
            yield session

    def head_revision(self) -> str | None:
        return store_schema.head_revision()

    def current_revision(self) -> str | None:
        with self.engine.connect() as conn:  # the table Alembic keeps, read without importing Alembic
            if not inspect(conn).has_table(store_schema.VERSION_TABLE):
                return None
            return conn.execute(text(f"SELECT version_num FROM {store_schema.VERSION_TABLE}")).scalar()

    def close(self) -> None:
        self.interrupt_check()
        self.engine.dispose()


def open_store(path: Path | str, *, migrate: bool = True, check: bool = False, encrypt: bool | None = None,
               key: bytes | None = None) -> Store:
    """Open (creating if needed) the SQLite store at ``path`` and bring it to the head schema.

    A new store is encrypted (unless ``encrypt=False``), with a key made for it in the
    keystore; ``key`` overrides the keystore (a recovery key). ``check`` runs
    ``PRAGMA quick_check`` first (``db check`` does). Without it the file is still checked before
    anything rewrites it (encryption in place, a migration): a damaged page must not be copied over;
    the GUI checks the daily start in the background instead (:meth:`Store.check_health`)."""
    path = Path(path)
    recovering = key  # opened with a key from outside (a backup being judged): not this PC's own state
    encrypt = default_encrypt() if encrypt is None else encrypt
    _prepare_file(path)
    if cipherfile.is_plain(path):
        if check or encrypt:
            require_healthy(path, None)
        _claim(path, None)  # a foreign plain file is refused here, untouched
        if encrypt:
            _encrypt_in_place(path)
    if key is None:
        key = file_key(path, create=encrypt and cipherfile.is_empty(path))
    new = cipherfile.is_empty(path)
    if check and not new:
        require_healthy(path, key)
    _claim(path, key)
    if migrate and store_schema.stored_revision(path, key) != store_schema.head_revision():
        if not check and not new:
            require_healthy(path, key)  # before the migration rewrites the file
        store_schema.upgrade(path, key)  # before any other connection: one transaction on its own connection
    engine = sqlite_engine(path, key)
    store = Store(path, engine, sessionmaker(engine, expire_on_commit=False, info={"capture": Capture()}),
                  anchored=recovering is None)
    _guard_writes(store)
    install_audit(store.sessions)
    install_capture(store.sessions)  # after the audit hook, so audit entries are captured too
    if migrate:
        for file in store_files(path):  # the WAL and SHM now exist
            restrict(file)
        _signing_key_out_of_the_store(store)
        if store.anchored and anchor.read(path) is None:  # never anchored (new, or from before anchors): from now on
            store.anchor()
        log.info("store open at %s (schema %s)", path, store.current_revision())
    return store


def _guard_writes(store: Store) -> None:
    """Once the store is known damaged, a connection is handed out only ``query_only`` (reads go on, every
    write fails), and that failure reads as the damage's message rather than SQLite's "readonly database"."""

    # A weak reference: the engine holding its store would make a cycle that outlives the process's last
    # reference, and a connection never closed leaves its WAL unfolded into the file.
    ref = weakref.ref(store)

    def checkout(dbapi_conn: sqlite3.Connection, _record: object, _proxy: object) -> None:
        held = ref()
        if held is not None and held.damage is not None:
            dbapi_conn.execute("PRAGMA query_only=1")

    def handle_error(context: ExceptionContext) -> None:
        held = ref()
        if held is not None and held.damage is not None and "readonly" in str(context.original_exception):
            raise held.refusal() from context.original_exception

    event.listen(store.engine, "checkout", checkout)
    event.listen(store.engine, "handle_error", handle_error)


def _signing_key_out_of_the_store(store: Store) -> None:
    """A store from before #14 kept the site's private key in sync_state: move it to the keystore."""

    with store.engine.begin() as conn:
        if conn.scalar(select(SyncState.value).where(SyncState.key == state.SIGNING_KEY)):
            require_healthy(store.path)  # a rewrite: never over a damaged page (db check opens unchecked)
            site_signing_key(conn)
            log.info("site signing key moved from the store to the keystore")


def table_counts(store: Store) -> dict[str, int]:
    """Rows per table (alembic's bookkeeping left out): comparable between stores without reading them."""
    with store.engine.connect() as conn:
        names = [n for n in inspect(conn).get_table_names() if n != "alembic_version"]
        return {n: conn.execute(text(f'SELECT count(*) FROM "{n}"')).scalar_one() for n in names}
