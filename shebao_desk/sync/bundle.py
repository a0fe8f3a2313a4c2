"""Signed bundles: this store's changes in a file, for when there is no network.

A bundle holds the changes logged since the previous export, numbered per site
and signed with the site's Ed25519 key. Import checks, before touching anything,
the file's form, the signature, the signer (pinned on the first bundle seen from
a site: trust on first use, or explicitly with ``bundle trust``) and the number
(the next one expected: a replayed or skipped bundle is refused). It is then
merged in one transaction: all or nothing.
"""

from __future__ import annotations

import base64
import binascii
import gzip
import json
import logging
import os
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from sqlalchemy import Connection, func, select

from shebao_desk.errors import ShebaoError
from shebao_desk.logsetup import restrict
from shebao_desk.models import Site, SyncChange, SyncPeer
from shebao_desk.models.base import utcnow
from shebao_desk.store import Store
from shebao_desk.sync import state
from shebao_desk.sync.capture import observe_received
from shebao_desk.sync.merge import apply_changes

log = logging.getLogger(__name__)

FORMAT = "shebao-bundle/1"
COLUMNS = ("change_id", "table_name", "row_id", "hlc", "origin", "values")


class BundleError(ShebaoError):
    pass


@dataclass
class ExportResult:
    path: Path
    number: int
    changes: int


@dataclass
class ImportResult:
    origin: str
    number: int
    applied: int
    skipped: int
    conflicts: int
    newly_trusted: bool


def _origin(conn: Connection) -> str:
    site = conn.execute(select(Site.window_code, Site.workstation_id).limit(1)).first()
    if site is None:
        raise BundleError("本机尚未完成初始设置", "no site row")
    return f"{site[0]}{site[1]}"


def signing_key(conn: Connection) -> Ed25519PrivateKey:
    """This site's key, made on first use and kept in the keystore, never in the store (#14)."""
    from shebao_desk.keystore import site_signing_key
    return site_signing_key(conn)


def public_hex(key: Ed25519PrivateKey) -> str:
    return key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw).hex()


def fingerprint(public: str) -> str:
    import hashlib
    digest = hashlib.sha256(bytes.fromhex(public)).hexdigest().upper()
    return " ".join(digest[i:i + 4] for i in range(0, 16, 4))


def _signed_bytes(header: dict, payload: bytes) -> bytes:
    fields = [header["format"], header["origin"], str(header["number"]), header["public_key"], header["created_at"]]
    return ("\n".join(fields) + "\n").encode() + payload


def export_bundle(store: Store, out: Path, to: str | None = None) -> ExportResult | None:
    """Write the changes since the last export; None when there are none.

    The file is sealed for every site whose key this store has pinned (or only ``to``),
    so a lost stick leaks nothing; with no site pinned yet it is signed only."""
    with store.engine.begin() as conn:
        origin = _origin(conn)
        key = signing_key(conn)
        since = int(state.get(conn, state.EXPORTED_SEQ, "0"))
        rows = conn.execute(select(SyncChange.seq, *(getattr(SyncChange, c) for c in COLUMNS))
                            .where(SyncChange.seq > since).order_by(SyncChange.seq)).all()
        if not rows:
            return None
        number = int(state.get(conn, state.BUNDLE_NUMBER, "0")) + 1
        changes = [dict(zip(COLUMNS, r[1:], strict=True)) for r in rows]
        payload = gzip.compress(json.dumps(changes, ensure_ascii=False, separators=(",", ":")).encode(), mtime=0)
        header = {"format": FORMAT, "origin": origin, "number": number, "public_key": public_hex(key),
                  "created_at": utcnow().isoformat()}
        signature = key.sign(_signed_bytes(header, payload))
        document = {**header, "changes": len(changes), "payload": base64.b64encode(payload).decode(),
                    "signature": signature.hex()}
        data = _seal_for_peers(conn, json.dumps(document, ensure_ascii=False, indent=1).encode(), to)
        tmp = out.with_name(out.name + ".tmp")
        try:
            out.parent.mkdir(parents=True, exist_ok=True)
            tmp.write_bytes(data)
            restrict(tmp)  # owner-only, as every file with personal data
            os.replace(tmp, out)
        except OSError as exc:
            tmp.unlink(missing_ok=True)
            raise BundleError(f"无法写入数据包文件：{exc}", repr(exc)) from exc
        # Counted as exported only once the file is safely written (same transaction).
        state.put(conn, state.BUNDLE_NUMBER, str(number))
        state.put(conn, state.EXPORTED_SEQ, str(rows[-1][0]))
    log.info("bundle %s #%d exported: %d changes to %s", origin, number, len(changes), out)
    return ExportResult(out, number, len(changes))


def _seal_for_peers(conn: Connection, data: bytes, to: str | None) -> bytes:
    from shebao_desk.sync.envelope import seal, x25519_public
    peers = {origin: bytes(key) for origin, key in conn.execute(select(SyncPeer.origin, SyncPeer.public_key))}
    if to is not None:
        if to not in peers:
            raise BundleError(f"尚未登记站点 {to} 的公钥，无法为其加密；请先 bundle trust", f"no pinned key for {to}")
        peers = {to: peers[to]}
    if not peers:
        log.warning("bundle not sealed: no site's key is pinned yet")
        return data
    return seal(data, {origin: x25519_public(key) for origin, key in peers.items()})


def opener_for(store: Store):
    """Opens a bundle sealed for this site, with the X25519 twin of its signing key."""
    from shebao_desk.sync.envelope import open_envelope, x25519_private

    def open_sealed(data: bytes) -> bytes:
        with store.engine.begin() as conn:
            origin, key = _origin(conn), signing_key(conn)
        seed = key.private_bytes(serialization.Encoding.Raw, serialization.PrivateFormat.Raw,
                                 serialization.NoEncryption())
        return open_envelope(data, origin, x25519_private(seed))
    return open_sealed


def read_bundle(path: Path, opener=None) -> tuple[dict, list[dict]]:
    """Parse (opening a sealed file with ``opener``) and verify the signature; BundleError on anything amiss."""
    from shebao_desk.sync.envelope import is_envelope
    try:
        raw = path.read_bytes()
        if is_envelope(raw):
            if opener is None:
                raise BundleError("此数据包已加密，只能由接收站点导入", f"{path}: sealed")
            raw = opener(raw)
        document = json.loads(raw.decode("utf-8"))
    except FileNotFoundError:
        raise BundleError(f"找不到数据包文件 {path}") from None
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise BundleError("数据包文件已损坏或不是工作台数据包，未导入任何数据", f"{path}: {exc!r}") from None
    try:
        if document.get("format") != FORMAT:
            raise ValueError(f"format {document.get('format')!r}")
        header = {k: document[k] for k in ("format", "origin", "number", "public_key", "created_at")}
        if not isinstance(header["number"], int) or header["number"] < 1:
            raise ValueError("bad number")
        payload = base64.b64decode(document["payload"], validate=True)
        public = Ed25519PublicKey.from_public_bytes(bytes.fromhex(header["public_key"]))
        public.verify(bytes.fromhex(document["signature"]), _signed_bytes(header, payload))
    except InvalidSignature:
        raise BundleError("数据包签名校验失败（文件被改动或损坏），已拒绝导入，数据未改变",
                          f"{path}: bad signature") from None
    except (KeyError, TypeError, ValueError, binascii.Error) as exc:
        raise BundleError("数据包文件已损坏或不是工作台数据包，未导入任何数据", f"{path}: {exc!r}") from None
    try:
        changes = json.loads(gzip.decompress(payload))
    except (OSError, ValueError) as exc:
        raise BundleError("数据包内容无法解压，未导入任何数据", f"{path}: {exc!r}") from None
    return header, changes


def import_bundle(store: Store, path: Path) -> ImportResult:
    header, changes = read_bundle(path, opener_for(store))
    origin, number, public = header["origin"], header["number"], header["public_key"]
    with store.engine.begin() as conn:
        if origin == _origin(conn):
            raise BundleError("这是本机导出的数据包，无需导入", f"own bundle {origin}#{number}")
        peer = conn.execute(select(SyncPeer).where(SyncPeer.origin == origin)).first()
        newly_trusted = peer is None
        last = 0 if peer is None else peer.last_bundle
        if peer is not None and peer.public_key.hex() != public:
            raise BundleError(f"数据包的签名密钥与 {origin} 已登记的密钥不同，已拒绝导入",
                              f"{origin}: key {fingerprint(public)} != pinned {fingerprint(peer.public_key.hex())}")
        if number <= last:
            raise BundleError(f"{origin} 的第 {number} 号数据包已经导入过，不能重复导入",
                              f"replayed bundle {origin}#{number} (last {last})")
        if number != last + 1:
            raise BundleError(f"缺少 {origin} 的第 {last + 1} 号数据包，请先导入它（本包是第 {number} 号）",
                              f"out-of-order bundle {origin}#{number} (expected {last + 1})")
        result = apply_changes(conn, changes, pushed=False)
        values = {"origin": origin, "public_key": bytes.fromhex(public), "last_bundle": number, "updated_at": utcnow()}
        if peer is None:
            conn.execute(SyncPeer.__table__.insert().values(**values))
        else:
            conn.execute(SyncPeer.__table__.update().where(SyncPeer.origin == origin).values(**values))
    observe_received(store, changes)
    log.info("bundle %s#%d imported: %d applied, %d already known", origin, number, result.applied, result.skipped)
    return ImportResult(origin, number, result.applied, result.skipped, len(result.conflicts), newly_trusted)


def trust(store: Store, origin: str, public: str) -> None:
    """Pin a site's key explicitly (read to you over the phone, say) before its first bundle."""
    try:
        Ed25519PublicKey.from_public_bytes(bytes.fromhex(public))
    except ValueError:
        raise BundleError("公钥格式不对（应为 64 位十六进制）") from None
    with store.engine.begin() as conn:
        last = conn.scalar(select(func.coalesce(func.max(SyncPeer.last_bundle), 0)).where(SyncPeer.origin == origin))
        conn.execute(SyncPeer.__table__.delete().where(SyncPeer.origin == origin))
        conn.execute(SyncPeer.__table__.insert().values(origin=origin, public_key=bytes.fromhex(public),
                                                        last_bundle=last, updated_at=utcnow()))


def own_key(store: Store) -> tuple[str, str]:
    with store.engine.begin() as conn:
        return _origin(conn), public_hex(signing_key(conn))
