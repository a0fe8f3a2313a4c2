"""Per-store secrets kept outside the store: the database key and the site's signing key.

Where the desktop has a system keyring (Windows Credential Manager / DPAPI, the
Secret Service on UOS or Kylin desktops) the secrets live there; otherwise in a key
file that only its owner can read, in the user's config folder — never beside the
store, so a copy of the store or of a backup carries no key. A store is known by
its absolute path. The database key, printed as a recovery key, lets an admin open
a backup on another PC or after the keyring is lost.
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import os
import secrets
from pathlib import Path
from typing import Any, Literal, Protocol, overload

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from platformdirs import user_config_dir
from sqlalchemy import Connection, delete

from shebao_desk.errors import StoreError
from shebao_desk.logsetup import private_dir, restrict
from shebao_desk.models import SyncState
from shebao_desk.store import state

log = logging.getLogger(__name__)

SERVICE = "shebao-desk"
DB_KEY = "db_key"
SIGNING_KEY = "signing_key"


def keys_dir() -> Path:
    return Path(os.environ.get("SHEBAO_KEYS") or Path(user_config_dir(SERVICE, appauthor=False)) / "keys")


def store_name(db_path: Path) -> str:
    return hashlib.sha256(str(Path(db_path).expanduser().resolve()).encode()).hexdigest()[:32]


class _Keyring(Protocol):
    """What we use of the keyring module."""

    def get_password(self, service_name: str, username: str) -> str | None: ...

    def set_password(self, service_name: str, username: str, password: str) -> None: ...

    def delete_password(self, service_name: str, username: str) -> None: ...


def _keyring() -> _Keyring | None:
    """The system keyring, if there is a real one (not the 'fail' or plain-text backends)."""
    if os.environ.get("SHEBAO_KEYRING", "1") == "0":
        return None
    try:
        import keyring  # noqa: PLC0415 - optional: without keyring the key goes to an owner-only file
        from keyring.backends import fail  # noqa: PLC0415 - optional: see above
    except ImportError:
        return None
    backend = keyring.get_keyring()
    if isinstance(backend, fail.Keyring) or getattr(backend, "priority", 0) < 1:
        return None
    return keyring


class Keystore:
    """The secrets of one store."""

    def __init__(self, db_path: Path) -> None:
        self.db_path = Path(db_path).expanduser().resolve()
        self.name = store_name(self.db_path)
        self.file = keys_dir() / f"{self.name}.key"

    def load(self) -> dict[str, Any]:
        # The key file first: a save that reaches the keyring removes it, so a file on disk holds the
        # newest secrets (the keyring may still hold older ones from before it refused a save), and a
        # desktop without a Secret Service is not asked again at every start (~160 ms on Linux).
        if self.file.exists():
            try:
                kept: dict[str, Any] = json.loads(self.file.read_text(encoding="utf-8"))
                return kept
            except (OSError, ValueError) as exc:
                raise StoreError(f"密钥文件 {self.file} 无法读取", repr(exc)) from exc
        ring = _keyring()
        if ring is not None:
            try:
                text = ring.get_password(SERVICE, self.name)
                if text:
                    held: dict[str, Any] = json.loads(text)
                    return held
            except Exception as exc:  # a locked or broken keyring, and no key file: nothing is held
                log.warning("keyring unavailable (%s) and no key file", type(exc).__name__)
        return {}

    def save(self, values: dict[str, Any]) -> None:
        values = {**values, "store": str(self.db_path)}
        text = json.dumps(values, sort_keys=True)
        ring = _keyring()
        if ring is not None:
            try:
                ring.set_password(SERVICE, self.name, text)
                self.file.unlink(missing_ok=True)
                return
            except Exception as exc:
                log.warning("keyring refused the secret (%s); using the key file", type(exc).__name__)
        private_dir(self.file.parent)
        tmp = self.file.with_name(self.file.name + ".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(text)
            out.flush()
            os.fsync(out.fileno())
        restrict(tmp)
        os.replace(tmp, self.file)

    def get(self, name: str) -> str | None:
        return self.load().get(name)

    def put(self, name: str, value: str) -> None:
        values = self.load()
        values[name] = value
        self.save(values)

    def delete(self) -> None:
        ring = _keyring()
        if ring is not None:
            try:
                ring.delete_password(SERVICE, self.name)
            except Exception:
                pass
        self.file.unlink(missing_ok=True)

    # --- the database key ---

    @overload
    def db_key(self, *, create: Literal[True]) -> bytes: ...

    @overload
    def db_key(self, *, create: bool) -> bytes | None: ...

    def db_key(self, *, create: bool) -> bytes | None:
        value = self.get(DB_KEY)
        if value:
            return bytes.fromhex(value)
        if not create:
            return None
        key = secrets.token_bytes(32)
        self.put(DB_KEY, key.hex())
        return key


def recovery_text(key: bytes) -> str:
    """The database key as an admin can print and type back: base32 in groups of four."""
    text = base64.b32encode(key).decode().rstrip("=")
    return "-".join(text[i:i + 4] for i in range(0, len(text), 4))


def parse_recovery(text: str) -> bytes:
    clean = "".join(ch for ch in text.upper() if ch.isalnum())
    try:
        key = base64.b32decode(clean + "=" * (-len(clean) % 8))
    except ValueError:
        key = b""
    if len(key) != 32:
        raise StoreError("恢复密钥格式不对（应为 13 组字母数字，以 - 分隔）", "bad recovery key")
    return key


def site_signing_key(conn: Connection) -> Ed25519PrivateKey:
    """The site's Ed25519 key for this store's connection: from the keystore, made on first use.

    A key still in ``sync_state`` (stores from before #14, or a restored old backup) moves to
    the keystore and leaves the store, so backups and copies made from now on cannot sign."""

    database = conn.engine.url.database
    if database is None:  # every store is a file (open_store); the keystore knows stores by their path
        raise StoreError("数据库没有文件，无法保存站点密钥", f"site signing key for {conn.engine.url!r}")
    keystore = Keystore(Path(database))
    held = keystore.get(SIGNING_KEY)
    legacy = state.get(conn, state.SIGNING_KEY)
    if legacy:
        if held and held != legacy:
            log.warning("a signing key left in the store (an old backup?) differs from the keystore's; dropped")
        elif not held:
            keystore.put(SIGNING_KEY, legacy)
            held = legacy

        conn.execute(delete(SyncState).where(SyncState.key == state.SIGNING_KEY))
    if held:
        return Ed25519PrivateKey.from_private_bytes(bytes.fromhex(held))
    key = Ed25519PrivateKey.generate()
    raw = key.private_bytes(serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption())
    keystore.put(SIGNING_KEY, raw.hex())
    return key
