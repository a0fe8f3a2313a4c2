"""A store file on disk: encrypted with SQLCipher (AES-256, key from the keystore), or plain SQLite.

New stores are encrypted; a plain store made before #14 is encrypted in place the
next time it is opened. Plain files stay possible for benchmarks (``encrypt=False``)
and are what a foreign SQLite file looks like, so it can be recognised and refused.
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path
from typing import Any

from shebao_desk.logsetup import log_file, private_dir

try:  # a maintained SQLCipher 4 build with Linux and Windows wheels
    import sqlcipher3.dbapi2 as _sqlcipher
except ImportError:  # pragma: no cover - declared as a dependency
    _sqlcipher = None
sqlcipher: Any = _sqlcipher  # its DB-API module (untyped), for SQLAlchemy's module=; None without it

PLAIN_HEADER = b"SQLite format 3\x00"
ERRORS: tuple[type[Exception], ...] = (sqlite3.Error,) + ((sqlcipher.Error,) if sqlcipher else ())
DATABASE_ERRORS: tuple[type[Exception], ...] = (sqlite3.DatabaseError,) + \
    ((sqlcipher.DatabaseError,) if sqlcipher else ())
# What copying or encrypting a store file can raise: the driver's errors and the file system's.
FILE_ERRORS: tuple[type[Exception], ...] = (*ERRORS, OSError)


def available() -> bool:
    return sqlcipher is not None


def is_empty(path: Path) -> bool:
    return not path.exists() or path.stat().st_size == 0


def is_plain(path: Path) -> bool:
    """A plain SQLite file (ours from before encryption, or another program's)."""
    if is_empty(path):
        return False
    with open(path, "rb") as f:
        return f.read(16) == PLAIN_HEADER


def key_pragma(key: bytes, schema: str = "") -> str:
    return f"PRAGMA {schema + '.' if schema else ''}key = \"x'{key.hex()}'\""


_native_log_routed = False


def native_log_file() -> Path:
    """Where SQLCipher's own messages go (``ERROR CORE sqlcipher_page_cipher: hmac check failed…``): beside
    our log, never the console, where the CLI promises one plain line."""
    return log_file().with_name("sqlcipher.log")


def _route_native_log(conn: Any) -> None:
    """SQLCipher writes its errors to stderr by default; the setting is the process's, made once."""
    global _native_log_routed
    if _native_log_routed:
        return
    _native_log_routed = True
    target = native_log_file()
    try:
        private_dir(target.parent)
        os.close(os.open(target, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600))
        conn.execute(f"PRAGMA cipher_log = '{str(target).replace(chr(39), chr(39) * 2)}'")
        conn.execute("PRAGMA cipher_log_level = WARN")
    except OSError:
        conn.execute("PRAGMA cipher_log_level = NONE")  # no file to write to: silence rather than the console
    except ERRORS:
        conn.execute("PRAGMA cipher_log_level = NONE")


def connect(path: Path, key: bytes | None, *, readonly: bool = False,
            check_same_thread: bool = True) -> sqlite3.Connection:
    """A DB-API connection to the file: SQLCipher with the key, or the standard sqlite3 without."""
    module = sqlite3 if key is None else sqlcipher
    target = f"file:{path}?mode=ro" if readonly else str(path)
    conn: sqlite3.Connection = module.connect(target, uri=readonly, check_same_thread=check_same_thread)
    if key is not None:
        _route_native_log(conn)
        conn.execute(key_pragma(key))
    return conn


def encrypt_into(plain: Path, target: Path, key: bytes, application_id: int) -> None:
    """Write an encrypted copy of a plain SQLite file (schema, data, user_version) to ``target``."""
    target.unlink(missing_ok=True)
    os.close(os.open(target, os.O_WRONLY | os.O_CREAT, 0o600))
    conn = sqlcipher.connect(str(plain))
    try:
        conn.execute("ATTACH DATABASE ? AS enc KEY \"x'" + key.hex() + "'\"", (str(target),))
        conn.execute("SELECT sqlcipher_export('enc')")
        conn.execute(f"PRAGMA enc.application_id={int(application_id)}")
        conn.execute("DETACH DATABASE enc")
    finally:
        conn.close()


def checkpoint(path: Path, key: bytes | None) -> None:
    """Fold the WAL into the file, so the file alone holds every committed change."""
    conn = connect(path, key)
    try:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        conn.close()
