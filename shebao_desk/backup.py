"""Backup and restore of the SQLite store through SQLite's online backup API.

The online backup copies a consistent snapshot while the program may be running.
Restore first checks that the file is a shebao-desk store in good health, keeps
a copy of the current store beside it, then copies page by page.
"""

from __future__ import annotations

import logging
import shutil
import sqlite3
from pathlib import Path

from shebao_desk.clock import now_utc
from shebao_desk.errors import StoreError

log = logging.getLogger(__name__)


def _copy(src: Path, dst: Path) -> None:
    source = sqlite3.connect(f"file:{src}?mode=ro", uri=True)
    try:
        target = sqlite3.connect(dst)
        try:
            source.backup(target)
        finally:
            target.close()
    finally:
        source.close()


def backup(db: Path, out: Path) -> Path:
    if not db.exists():
        raise StoreError(f"数据库 {db} 不存在", f"no store at {db}")
    if out.exists():
        raise StoreError(f"备份文件 {out} 已存在，请换一个文件名", f"{out} exists")
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
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
    previous = _incarnation_of(db)
    if db.exists():
        kept = db.with_name(f"{db.stem}.before-restore-{now_utc():%Y%m%dT%H%M%S}{db.suffix}")
        _copy(db, kept)
    try:
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
    from shebao_desk.site_identity import start_new_incarnation
    number = start_new_incarnation(db, previous)  # numbers issued from now on never repeat the lost copy's
    log.info("store %s restored from %s (previous kept at %s); incarnation %d", db, source, kept, number)
    return kept


def _incarnation_of(db: Path) -> int:
    """The incarnation of the store about to be replaced (0 when it cannot be read: it may be why we restore)."""
    if not db.exists():
        return 0
    try:
        conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
        try:
            row = conn.execute("SELECT value FROM sync_state WHERE key = 'incarnation'").fetchone()
        finally:
            conn.close()
        return int(row[0]) if row else 0
    except (sqlite3.Error, ValueError):
        return 0
