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
from pathlib import Path

from shebao_desk.failure import disk_full, explain
from shebao_desk.clock import now_utc
from shebao_desk.errors import StoreError
from shebao_desk.logsetup import private_dir, restrict
from shebao_desk.store import cipherfile
from shebao_desk.store.database import (APPLICATION_ID, default_backup_dir, default_encrypt, file_key,
                                        require_healthy)
from shebao_desk.store.keystore import DB_KEY, Keystore
from shebao_desk.store.site_identity import current_incarnation, start_new_incarnation

log = logging.getLogger(__name__)


def default_backup_name(db: Path) -> Path:
    return default_backup_dir() / f"{db.stem}-{now_utc():%Y%m%dT%H%M%S}{db.suffix}"


def _owner_only_file(path: Path) -> None:
    """Create ``path`` empty and 0600 before SQLite writes into it (it keeps the mode)."""
    if not path.exists():
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600))
    restrict(path)


def online_copy(src: Path, dst: Path, key: bytes | None, *, remember: bool = True) -> None:
    """Page-by-page online copy; an encrypted store gives an encrypted copy under the same key,
    which the keystore also files under the copy's name (so this PC can open its own backups)."""
    _owner_only_file(dst)
    if key is not None and remember:
        Keystore(dst).put(DB_KEY, key.hex())
    source = cipherfile.connect(src, key, readonly=True)
    try:
        target = cipherfile.connect(dst, key)
        try:
            source.backup(target)
        finally:
            target.close()
    finally:
        source.close()


def backup(db: Path, out: Path | None = None) -> Path:
    if not db.exists():
        raise StoreError(f"数据库 {db} 不存在", f"no store at {db}")
    out = out or default_backup_name(db)
    if out.exists():
        raise StoreError(f"备份文件 {out} 已存在，请换一个文件名", f"{out} exists")
    key = file_key(db)
    require_healthy(db, key)
    try:
        if not out.parent.exists() or out.parent == default_backup_dir():
            private_dir(out.parent)
        online_copy(db, out, key)
    except cipherfile.FILE_ERRORS as exc:
        out.unlink(missing_ok=True)
        why = "目标磁盘已满，请换一个位置或清理磁盘" if disk_full(exc) else explain(exc)
        raise StoreError(f"备份失败（未留下不完整的备份）：{why}", f"backup {db} -> {out}: {exc!r}") from exc
    log.info("store %s backed up to %s%s", db, out, " (encrypted)" if key else "")
    return out


def backup_key(db: Path, source: Path, recovery: bytes | None = None) -> bytes | None:
    """The key that opens a backup: none for a plain one; the recovery key, or else the store's own key."""
    if cipherfile.is_plain(source):
        return None
    key = recovery or Keystore(db).db_key(create=False)
    if key is None:
        raise StoreError(f"备份 {source} 已加密，本机没有它的密钥；请加 --recovery-key 输入管理员保存的恢复密钥",
                         f"no key for backup {source}")
    return key


def verify_backup(path: Path, key: bytes | None = None) -> None:
    if not path.exists():
        raise StoreError(f"备份文件 {path} 不存在", f"no file {path}")
    try:
        conn = cipherfile.connect(path, key, readonly=True)
        try:
            result = conn.execute("PRAGMA integrity_check").fetchone()[0]
            version = conn.execute("SELECT version_num FROM alembic_version").fetchone()
        finally:
            conn.close()
    except cipherfile.ERRORS as exc:
        hint = "（或恢复密钥不对）" if key else ""
        raise StoreError(f"{path} 不是有效的工作台数据库备份{hint}", f"{path}: {exc!r}") from exc
    if result != "ok" or version is None:
        raise StoreError(f"备份文件 {path} 已损坏", f"{path}: integrity {result}, version {version}")


def restore(db: Path, source: Path, recovery: bytes | None = None) -> Path | None:
    """Replace the store at ``db`` with ``source``; returns where the old store was kept.

    A backup under the store's own key is copied page by page into the live file; one under
    another key (a recovery key: another PC) or a plain one replaces the file, and the
    keystore then holds the key that opens it."""
    skey = backup_key(db, source, recovery)
    verify_backup(source, skey)
    previous = _incarnation_of(db)
    try:
        dkey = file_key(db) if db.exists() and not cipherfile.is_empty(db) else None
    except StoreError:
        dkey = b"unknown"  # the current store's key is lost: keep its bytes as they are
    kept = None
    if db.exists() and not cipherfile.is_empty(db):
        kept = db.with_name(f"{db.stem}.before-restore-{now_utc():%Y%m%dT%H%M%S}{db.suffix}")
        try:
            if dkey == b"unknown":
                raise OSError("no key for the current store")
            online_copy(db, kept, dkey)
        except cipherfile.FILE_ERRORS:
            shutil.copyfile(db, kept)  # damaged or unreadable: keep the bytes as they are
            restrict(kept)
    try:
        if db.exists() and dkey == skey and not cipherfile.is_empty(db):
            _owner_only_file(db)
            target = cipherfile.connect(db, skey)
            try:
                src = cipherfile.connect(source, skey, readonly=True)
                try:
                    src.backup(target)
                finally:
                    src.close()
            finally:
                target.close()
        else:
            fresh = db.with_name(db.name + ".restoring")
            fresh.unlink(missing_ok=True)
            online_copy(source, fresh, skey, remember=False)
            new_key = skey
            if skey is None and default_encrypt():
                new_key = Keystore(db).db_key(create=False) or __import__("secrets").token_bytes(32)
                enc = db.with_name(db.name + ".restoring-enc")
                cipherfile.encrypt_into(fresh, enc, new_key, APPLICATION_ID)
                fresh.unlink()
                fresh = enc
            if new_key is not None:
                Keystore(db).put(DB_KEY, new_key.hex())
            for side in (db.with_name(db.name + "-wal"), db.with_name(db.name + "-shm")):
                side.unlink(missing_ok=True)
            os.replace(fresh, db)
    except cipherfile.FILE_ERRORS as exc:
        if kept:
            shutil.copyfile(kept, db)
        raise StoreError(f"恢复失败，原数据库未改变：{exc}", repr(exc)) from exc
    number = start_new_incarnation(db, previous)  # numbers issued from now on never repeat the lost copy's
    log.info("store %s restored from %s (previous kept at %s); incarnation %d", db, source, kept, number)
    return kept


def _incarnation_of(db: Path) -> int:
    """The incarnation of the store about to be replaced (0 when it cannot be read: it may be why we restore)."""
    if not db.exists():
        return 0
    try:
        return current_incarnation(db)
    except Exception:  # noqa: BLE001 - a damaged or foreign store: the restore goes on from 0
        log.info("incarnation of %s unreadable before restore", db, exc_info=True)
        return 0
