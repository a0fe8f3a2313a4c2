"""Backup and restore of the SQLite store through SQLite's online backup API.

The online backup copies a consistent snapshot while the program may be running,
after a ``PRAGMA quick_check`` of the store (a damaged store is not copied over a
good backup). Restore first checks that the file is a shebao-desk store in good
health, keeps a copy of the current store beside it, then copies page by page.
Every file written here is readable by its owner only.
"""

from __future__ import annotations

import logging
import os
import shutil
import sqlite3
from pathlib import Path

from shebao_desk.clock import now_utc
from shebao_desk.errors import StoreError
from shebao_desk.logsetup import private_dir, restrict

log = logging.getLogger(__name__)


def default_backup_dir() -> Path:
    from shebao_desk.store import default_db_path
    return default_db_path().parent / "backups"


def default_backup_name(db: Path) -> Path:
    return default_backup_dir() / f"{db.stem}-{now_utc():%Y%m%dT%H%M%S}{db.suffix}"


def _owner_only_file(path: Path) -> None:
    """Create ``path`` empty and 0600 before SQLite writes into it (it keeps the mode)."""
    if not path.exists():
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600))
    restrict(path)


def _copy(src: Path, dst: Path) -> None:
    _owner_only_file(dst)
    source = sqlite3.connect(f"file:{src}?mode=ro", uri=True)
    try:
        target = sqlite3.connect(dst)
        try:
            source.backup(target)
        finally:
            target.close()
    finally:
        source.close()


def backup(db: Path, out: Path | None = None) -> Path:
    from shebao_desk.store import require_healthy
    if not db.exists():
        raise StoreError(f"数据库 {db} 不存在", f"no store at {db}")
    out = out or default_backup_name(db)
    if out.exists():
        raise StoreError(f"备份文件 {out} 已存在，请换一个文件名", f"{out} exists")
    require_healthy(db)
    try:
        if not out.parent.exists() or out.parent == default_backup_dir():
            private_dir(out.parent)
        _copy(db, out)
    except (sqlite3.Error, OSError) as exc:
        out.unlink(missing_ok=True)
        raise StoreError(f"备份失败：{exc}", f"backup {db} -> {out}: {exc!r}") from exc
    log.info("store %s backed up to %s", db, out)
    return out


def verify_backup(path: Path) -> None:
    if not path.exists():
        raise StoreError(f"备份文件 {path} 不存在", f"no file {path}")
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            result = conn.execute("PRAGMA integrity_check").fetchone()[0]
            version = conn.execute("SELECT version_num FROM alembic_version").fetchone()
        finally:
            conn.close()
    except sqlite3.Error as exc:
        raise StoreError(f"{path} 不是有效的工作台数据库备份", f"{path}: {exc!r}") from exc
    if result != "ok" or version is None:
        raise StoreError(f"备份文件 {path} 已损坏", f"{path}: integrity {result}, version {version}")


def restore(db: Path, source: Path) -> Path | None:
    """Replace the store at ``db`` with ``source``; returns where the old store was kept."""
    verify_backup(source)
    kept = None
    if db.exists():
        kept = db.with_name(f"{db.stem}.before-restore-{now_utc():%Y%m%dT%H%M%S}{db.suffix}")
        _copy(db, kept)
    try:
        _owner_only_file(db)
        target = sqlite3.connect(db)
        try:
            src = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
            try:
                src.backup(target)
            finally:
                src.close()
        finally:
            target.close()
    except (sqlite3.Error, OSError) as exc:
        if kept:
            shutil.copyfile(kept, db)
        raise StoreError(f"恢复失败，原数据库未改变：{exc}", repr(exc)) from exc
    log.info("store %s restored from %s (previous kept at %s)", db, source, kept)
    return kept


def restore_as_admin(db: Path, source: Path, args) -> Path | None:
    """Restore after an admin has shown credentials; the restore is audited in the restored store.

    The admin is checked against the current store, or against the backup when the
    current store is missing or damaged (the case a restore exists for)."""
    import tempfile

    from shebao_desk.admin_auth import require_admin
    from shebao_desk.audit import record_event
    from shebao_desk.store import open_store, quick_check

    verify_backup(source)
    usable = db.exists() and not quick_check(db)
    with tempfile.TemporaryDirectory() as tmp:
        if usable:
            judge = open_store(db)
        else:
            copy = Path(tmp) / "judge.sqlite3"
            _copy(source, copy)
            judge = open_store(copy)
        try:
            admin = require_admin(judge, args, first_admin_ok=True)  # a store with no admin has no one to ask
        finally:
            judge.close()
    kept = restore(db, source)
    store = open_store(db)
    try:
        with store.unit(admin.id if admin else None, getattr(args, "workstation", None) or "", "db restore") as s:
            record_event(s, "store", "restore", {"from": str(source), "kept": str(kept) if kept else None})
    finally:
        store.close()
    return kept
