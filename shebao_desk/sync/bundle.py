"""Signed bundles: this store's changes in a file, for when there is no network.

A bundle holds the changes this site made since its previous export, numbered per
site (and per incarnation: a restore from backup starts a new one) and signed with
the site's Ed25519 key. Import refuses, before anything is written and before the
payload is even decompressed, a file too large, a bad signature, a signer whose key
or fingerprint was not pinned beforehand (``bundle trust``), a replayed or skipped
number. The payload is then inflated under a size and ratio cap, and every change
is checked: it must be the signer's own (origin and clock), stamped no later than
now + the allowed skew, and touch only rows a site may change by bundle — never
this site's identity or sync state, never clerk credentials (clerk accounts travel
only through the central database), never an existing audit entry; its text must
fit the central schema. Only then is it merged, in one transaction: all or nothing.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import gzip
import hashlib
import json
import logging
import os
import re
import time
import zlib
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from sqlalchemy import Connection, select
from sqlalchemy.exc import SQLAlchemyError

from shebao_desk.changes.capture import LOCAL_TABLES, observe_received
from shebao_desk.changes.merge import apply_changes
from shebao_desk.config.site_config import load_site_config
from shebao_desk.errors import ShebaoError
from shebao_desk.logsetup import restrict
from shebao_desk.models import Base, Site, SyncChange, SyncPeer
from shebao_desk.models.base import utcnow
from shebao_desk.models.limits import value_problems
from shebao_desk.store import state
from shebao_desk.store.database import Store
from shebao_desk.store.keystore import site_signing_key
from shebao_desk.sync import acceptance
from shebao_desk.sync.envelope import is_envelope, open_envelope, seal, x25519_private, x25519_public

log = logging.getLogger(__name__)

FORMAT = "shebao-bundle/2"
HEADER = ("format", "origin", "incarnation", "number", "public_key", "created_at")
COLUMNS = ("change_id", "table_name", "row_id", "hlc", "origin", "values")
ORIGIN = re.compile(r"[A-Za-z0-9]{2,16}")
HLC = re.compile(r"(\d{13})-(\d{5})-([A-Za-z0-9]{2,16})")
UUIDISH = re.compile(r"[0-9A-Za-z-]{1,36}")
FINGERPRINT_HEX = 32  # 128 bits, read over the phone as 8 groups of 4
# Fields of a clerk's account that never leave by bundle and are never accepted from one.
CREDENTIALS = frozenset({"password_hash", "role", "active", "failed_logins", "locked_until", "last_login_at"})
NEVER_BY_BUNDLE = LOCAL_TABLES | {"alembic_version"}
REFUSED = "，已拒绝导入，数据未改变"


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
    newly_trusted: bool  # the key was seen for the first time, and matched the pinned fingerprint
    fingerprint: str = ""
    parked: int = 0  # changes waiting for a row they depend on, taken in automatically when it arrives


@dataclass(frozen=True)
class Caps:
    max_bytes: int = 256 * 1024 * 1024
    max_ratio: int = 50
    skew: dt.timedelta = dt.timedelta(minutes=10)

    @classmethod
    def from_site(cls) -> Caps:
        cfg = load_site_config()
        return cls(cfg.bundle_max_mb * 1024 * 1024, cfg.bundle_max_ratio, dt.timedelta(minutes=cfg.clock_skew_minutes))


def _origin(conn: Connection) -> str:
    site = conn.execute(select(Site.window_code, Site.workstation_id).limit(1)).first()
    if site is None:
        raise BundleError("本机尚未完成初始设置", "no site row")
    return f"{site[0]}{site[1]}"


def signing_key(conn: Connection) -> Ed25519PrivateKey:
    """This site's key, made on first use and kept in the keystore, never in the store (#14)."""
    return site_signing_key(conn)


def public_hex(key: Ed25519PrivateKey) -> str:
    return key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw).hex()


def _fingerprint_hex(public: str) -> str:
    return hashlib.sha256(bytes.fromhex(public)).hexdigest().upper()[:FINGERPRINT_HEX]


def fingerprint(public: str) -> str:
    digest = _fingerprint_hex(public)
    return " ".join(digest[i:i + 4] for i in range(0, FINGERPRINT_HEX, 4))


def _signed_bytes(header: dict, payload: bytes) -> bytes:
    fields = [header["format"], header["origin"], str(header["incarnation"]), str(header["number"]),
              header["public_key"], header["created_at"]]
    return ("\n".join(fields) + "\n").encode() + payload


def _exportable(change: dict) -> dict | None:
    """A clerk's account leaves without its credentials (they travel only through central)."""
    if change["table_name"] != "clerk":
        return change
    values = {k: v for k, v in change["values"].items() if k not in CREDENTIALS}
    if not set(values) - {"updated_at"}:
        return None
    return {**change, "values": values}


def export_bundle(store: Store, out: Path, to: str | None = None) -> ExportResult | None:
    """Write this site's own changes since the last export; None when there are none.

    The file is sealed for every site whose key this store has pinned (or only ``to``),
    so a lost stick leaks nothing; with no site's key known yet it is signed only."""
    with store.engine.begin() as conn:
        origin = _origin(conn)
        window = conn.scalar(select(Site.window_code).limit(1))
        key = signing_key(conn)
        since = int(state.get(conn, state.EXPORTED_SEQ, "0"))
        rows = conn.execute(select(SyncChange.seq, *(getattr(SyncChange, c) for c in COLUMNS))
                            .where(SyncChange.seq > since, SyncChange.origin == origin)
                            .order_by(SyncChange.seq)).all()
        changes = [c for c in (_exportable(dict(zip(COLUMNS, r[1:], strict=True))) for r in rows) if c]
        changes = acceptance.exportable(changes)
        if not changes:
            return None
        incarnation = int(state.get(conn, state.INCARNATION, "0"))
        number = int(state.get(conn, state.BUNDLE_NUMBER, "0")) + 1
        payload = gzip.compress(acceptance.encode_payload(window, changes), mtime=0)
        header = {"format": FORMAT, "origin": origin, "incarnation": incarnation, "number": number,
                  "public_key": public_hex(key), "created_at": utcnow().isoformat()}
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
    log.info("bundle %s #%d.%d exported: %d changes to %s", origin, incarnation, number, len(changes), out)
    return ExportResult(out, number, len(changes))


def _seal_for_peers(conn: Connection, data: bytes, to: str | None) -> bytes:
    peers = {origin: bytes(key) for origin, key in conn.execute(select(SyncPeer.origin, SyncPeer.public_key))
             if key}  # a site pinned by fingerprint only: its key is learnt with its first bundle
    if to is not None:
        if to not in peers:
            raise BundleError(f"尚未登记站点 {to} 的公钥，无法为其加密；请先用 bundle trust 登记其公钥", f"no pinned key for {to}")
        peers = {to: peers[to]}
    if not peers:
        log.warning("bundle not sealed: no site's key is known yet")
        return data
    return seal(data, {origin: x25519_public(key) for origin, key in peers.items()})


def opener_for(store: Store):
    """Opens a bundle sealed for this site, with the X25519 twin of its signing key."""

    def open_sealed(data: bytes) -> bytes:
        with store.engine.begin() as conn:
            origin, key = _origin(conn), signing_key(conn)
        seed = key.private_bytes(serialization.Encoding.Raw, serialization.PrivateFormat.Raw,
                                 serialization.NoEncryption())
        return open_envelope(data, origin, x25519_private(seed))
    return open_sealed


# --- reading: form and signature, before anything else --------------------------------

def _damaged(path: Path, why: object) -> BundleError:
    return BundleError("数据包文件已损坏或不是工作台数据包，未导入任何数据", f"{path}: {why!r}")


def read_signed(path: Path, caps: Caps, opener=None) -> tuple[dict, bytes]:
    """The header and the still-compressed payload, signature verified against the key in the header
    (a file sealed for this site is first opened with ``opener``)."""
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        raise BundleError(f"找不到数据包文件 {path}") from None
    except OSError as exc:
        raise BundleError(f"无法读取数据包文件 {path}：{exc.strerror}", repr(exc)) from None
    if size > caps.max_bytes:
        raise BundleError(f"数据包文件过大（{size // 1048576} MB，上限 {caps.max_bytes // 1048576} MB）{REFUSED}",
                          f"{path}: {size} bytes")
    try:
        raw = path.read_bytes()
        if is_envelope(raw):
            if opener is None:
                raise BundleError("此数据包已加密，只能由接收站点导入", f"{path}: sealed")
            raw = opener(raw)
        document = json.loads(raw.decode("utf-8"))
    except (OSError, UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise _damaged(path, exc) from None
    try:
        if not isinstance(document, dict) or document.get("format") != FORMAT:
            raise ValueError(f"format {document.get('format') if isinstance(document, dict) else type(document)!r}")
        header = {k: document[k] for k in HEADER}
        for k in ("incarnation", "number"):
            if type(header[k]) is not int or not 0 <= header[k] < 2**31:
                raise ValueError(f"bad {k}")
        if header["number"] < 1 or not isinstance(header["origin"], str) or not ORIGIN.fullmatch(header["origin"]):
            raise ValueError("bad number or origin")
        if not isinstance(header["created_at"], str) or not isinstance(document["signature"], str):
            raise ValueError("bad created_at or signature")
        dt.datetime.fromisoformat(header["created_at"])
        payload = base64.b64decode(document["payload"], validate=True)
        public = Ed25519PublicKey.from_public_bytes(bytes.fromhex(header["public_key"]))
        public.verify(bytes.fromhex(document["signature"]), _signed_bytes(header, payload))
    except InvalidSignature:
        raise BundleError(f"数据包签名校验失败（文件被改动或损坏）{REFUSED}", f"{path}: bad signature") from None
    except (KeyError, TypeError, ValueError, AttributeError, binascii.Error) as exc:
        raise _damaged(path, exc) from None
    return header, payload


def inflate(payload: bytes, caps: Caps) -> bytes:
    """Decompress under a cap: a first pass only counts (memory stays at one chunk), a bomb stops early."""
    cap = min(caps.max_bytes, max(len(payload) * caps.max_ratio, 1 << 20))
    counter = zlib.decompressobj(16 + zlib.MAX_WBITS)
    total, data = 0, payload
    try:
        while data:
            total += len(counter.decompress(data, 1 << 20))
            if total > cap:
                raise BundleError(f"数据包解压后过大（超过 {cap // 1048576} MB，疑似压缩炸弹）{REFUSED}",
                                  f"inflated beyond {cap} bytes from {len(payload)}")
            data = counter.unconsumed_tail
        if not counter.eof or counter.unused_data:
            raise zlib.error("truncated or trailing data")
        return zlib.decompress(payload, 16 + zlib.MAX_WBITS)
    except zlib.error as exc:
        raise BundleError("数据包内容无法解压，未导入任何数据", repr(exc)) from None


def _changes(raw: bytes, origin: str) -> acceptance.Payload:
    try:
        document = json.loads(raw)
    except (ValueError, RecursionError) as exc:
        raise BundleError("数据包内容无法解析，未导入任何数据", repr(exc)) from None
    try:
        payload = acceptance.decode_payload(document, origin)
    except acceptance.PayloadError as exc:
        raise BundleError(exc.message, exc.detail) from None
    for c in payload.changes:
        if not (isinstance(c, dict) and set(c) == set(COLUMNS) and isinstance(c["values"], dict)
                and all(isinstance(c[k], str) for k in COLUMNS if k != "values")):
            raise BundleError("数据包内容格式不对，未导入任何数据", f"malformed change {str(c)[:200]}")
    return payload


def read_bundle(path: Path, caps: Caps | None = None, opener=None) -> tuple[dict, list[dict]]:
    """Parse and verify the signature (not the signer: see :func:`import_bundle`)."""
    caps = caps or Caps.from_site()
    header, payload = read_signed(path, caps, opener)
    return header, _changes(inflate(payload, caps), header["origin"]).changes


# --- who may say what ----------------------------------------------------------------

def _check_signer(conn: Connection, header: dict) -> tuple[SyncPeer | None, bool]:
    """The pinned peer for this bundle's origin (refusing anything else) and whether its key is new."""
    origin, public, number, incarnation = header["origin"], header["public_key"], header["number"], header["incarnation"]
    if origin == _origin(conn):
        raise BundleError("这是本机导出的数据包，无需导入", f"own bundle {origin}#{number}")
    peer = conn.execute(select(SyncPeer).where(SyncPeer.origin == origin)).first()
    if peer is None:
        raise BundleError(f"未登记的站点 {origin}（指纹 {fingerprint(public)}）{REFUSED}；请先与对方电话核对指纹，"
                          f"再运行 shebao-desk bundle trust {origin} 指纹", f"unknown signer {origin}")
    if peer.public_key:
        if peer.public_key.hex() != public:
            raise BundleError(f"数据包的签名密钥与 {origin} 已登记的密钥不同{REFUSED}",
                              f"{origin}: key {fingerprint(public)} != pinned {fingerprint(peer.public_key.hex())}")
        newly = False
    else:
        if not _fingerprint_hex(public).startswith(peer.fingerprint) or len(peer.fingerprint) < FINGERPRINT_HEX:
            raise BundleError(f"数据包的签名密钥（指纹 {fingerprint(public)}）与为 {origin} 登记的指纹不符{REFUSED}",
                              f"{origin}: fingerprint mismatch")
        newly = True
    last = peer.last_bundle
    if incarnation < peer.incarnation:
        raise BundleError(f"这是 {origin} 从备份恢复之前导出的旧数据包，已被之后的数据包取代{REFUSED}",
                          f"{origin} incarnation {incarnation} < {peer.incarnation}")
    if incarnation > peer.incarnation:
        last = 0  # the site was restored from a backup and numbers its bundles afresh
    if number <= last:
        raise BundleError(f"{origin} 的第 {number} 号数据包已经导入过，不能重复导入",
                          f"replayed bundle {origin}#{number} (last {last})")
    if number != last + 1:
        raise BundleError(f"缺少 {origin} 的第 {last + 1} 号数据包，请先导入它（本包是第 {number} 号）",
                          f"out-of-order bundle {origin}#{number} (expected {last + 1})")
    return peer, newly


def _check_change(c: dict, origin: str, horizon_ms: int) -> None:
    where = f"{c['table_name']}/{c['row_id']}"
    if c["origin"] != origin:
        raise BundleError(f"数据包中有冒充其他站点（{c['origin'][:16]}）的变更{REFUSED}", f"{where}: origin {c['origin']!r}")
    clock = HLC.fullmatch(c["hlc"])
    if clock is None or clock.group(3) != origin:
        raise BundleError(f"数据包中有无效的时钟值{REFUSED}", f"{where}: hlc {c['hlc'][:60]!r}")
    if int(clock.group(1)) > horizon_ms:
        raise BundleError(f"数据包中有时间晚于本机当前时间的变更（对方电脑时钟可能不对）{REFUSED}",
                          f"{where}: hlc {c['hlc']} beyond horizon {horizon_ms}")
    if c["table_name"] in NEVER_BY_BUNDLE or c["table_name"] not in Base.metadata.tables:
        raise BundleError(f"数据包试图修改不允许通过数据包修改的数据（{c['table_name'][:40]}）{REFUSED}",
                          f"{where}: table not allowed")
    if not UUIDISH.fullmatch(c["row_id"]) or not UUIDISH.fullmatch(c["change_id"]) or \
            c["values"].get("id", c["row_id"]) != c["row_id"]:
        raise BundleError(f"数据包内容格式不对{REFUSED}", f"{where}: bad ids")
    if c["table_name"] == "clerk" and CREDENTIALS & set(c["values"]):
        raise BundleError(f"数据包试图修改经办员的账号、密码或权限（只能经中心数据库同步）{REFUSED}",
                          f"{where}: clerk credentials {sorted(CREDENTIALS & set(c['values']))}")
    problems = value_problems(c["table_name"], c["values"])
    if problems:
        raise BundleError(f"数据包中的数据不符合字段要求（{problems[0]}）{REFUSED}", f"{where}: {problems}")


def _existing(conn: Connection, table: str, row_ids: list[str]) -> set[str]:
    t = Base.metadata.tables[table]
    found: set[str] = set()
    for i in range(0, len(row_ids), 500):
        found |= set(conn.scalars(select(t.c.id).where(t.c.id.in_(row_ids[i:i + 500]))))
    return found


def _settle_rows(conn: Connection, changes: list[dict], origin: str) -> tuple[list[dict], int]:
    """Audit entries are append-only; clerks arrive as inactive name cards, never as accounts
    (acceptance.name_cards). Returns the changes for the merge, and how many clerk changes
    were of clerks already here."""
    audits = [c for c in changes if c["table_name"] == "audit_entry"]
    present = _existing(conn, "audit_entry", [c["row_id"] for c in audits])
    if present:  # only the very change that wrote the entry may come again (a resent bundle): it is skipped
        again = [c["change_id"] for c in audits if c["row_id"] in present]
        known = set()
        for i in range(0, len(again), 500):
            known |= set(conn.scalars(select(SyncChange.change_id).where(SyncChange.change_id.in_(again[i:i + 500]))))
        if set(again) - known:
            raise BundleError(f"数据包试图改写已有的审计记录{REFUSED}", f"audit rewrite {sorted(set(again) - known)[:3]}")
    cards = acceptance.name_cards(conn, changes, origin)
    clerks = sum(c["table_name"] == "clerk" for c in changes)
    return cards + [c for c in changes if c["table_name"] != "clerk"], clerks - len(cards)


def import_bundle(store: Store, path: Path, caps: Caps | None = None) -> ImportResult:
    caps = caps or Caps.from_site()
    header, payload = read_signed(path, caps, opener_for(store))
    origin, number, public = header["origin"], header["number"], header["public_key"]
    with store.engine.connect() as conn:  # the signer first: an unknown one never gets its payload inflated
        _check_signer(conn, header)
    payload_ = _changes(inflate(payload, caps), origin)
    changes = payload_.changes
    horizon = int(time.time() * 1000 + caps.skew.total_seconds() * 1000)
    for c in changes:
        _check_change(c, origin, horizon)
    try:
        with store.engine.begin() as conn:
            peer, newly = _check_signer(conn, header)
            acceptance.check_audit_names(conn, changes, origin, payload_.window)
            acceptance.check_incarnation(changes, origin, header["incarnation"], peer.incarnation)
            rest, clerks_known = _settle_rows(conn, changes, origin)
            # A change whose rows are not here yet (a person first registered at a third site) waits,
            # parked, and is taken in when they arrive; the rest of the bundle is merged now.
            result = apply_changes(conn, rest, pushed=False, park=True)
            result.skipped += clerks_known
            acceptance.remember_window(conn, origin, payload_.window)
            values = {"public_key": bytes.fromhex(public), "last_bundle": number, "updated_at": utcnow(),
                      "incarnation": header["incarnation"]}
            conn.execute(SyncPeer.__table__.update().where(SyncPeer.origin == origin).values(**values))
    except acceptance.PayloadError as exc:
        raise BundleError(exc.message, exc.detail) from None
    except SQLAlchemyError as exc:
        raise BundleError(f"数据包中的数据与本机数据冲突或格式不对{REFUSED}",
                          f"{origin}#{number}: {type(exc).__name__}: {str(exc).splitlines()[0][:300]}") from exc
    except (TypeError, ValueError, KeyError, LookupError, AttributeError, binascii.Error) as exc:
        raise BundleError(f"数据包中的数据格式不对{REFUSED}", f"{origin}#{number}: {exc!r}"[:400]) from exc
    observe_received(store, changes)
    log.info("bundle %s#%d imported: %d applied, %d already known", origin, number, result.applied, result.skipped)
    return ImportResult(origin, number, result.applied, result.skipped, len(result.conflicts), newly,
                        fingerprint(public), result.parked)


def _normalise_pin(text: str) -> tuple[bytes, str]:
    """A full public key (64 hex digits) or its fingerprint (32 hex digits, spaces allowed)."""
    hexdigits = re.sub(r"[\s:-]", "", text).upper()
    if not re.fullmatch(r"[0-9A-F]+", hexdigits or "-"):
        raise BundleError("指纹或公钥格式不对（应为十六进制数字）")
    if len(hexdigits) == 64:
        try:
            Ed25519PublicKey.from_public_bytes(bytes.fromhex(hexdigits))
        except ValueError:
            raise BundleError("公钥格式不对（应为 64 位十六进制）") from None
        return bytes.fromhex(hexdigits), ""
    if len(hexdigits) == FINGERPRINT_HEX:
        return b"", hexdigits
    raise BundleError(f"指纹应为 {FINGERPRINT_HEX} 位十六进制数字（或 64 位的完整公钥），现为 {len(hexdigits)} 位")


def trust(store: Store, origin: str, pin: str) -> None:
    """Pin a site's key, or its fingerprint read over the phone, before its first bundle."""
    if not ORIGIN.fullmatch(origin):
        raise BundleError("站点编号应为窗口编号加工作站编号，如 SZ01B")
    public, fp = _normalise_pin(pin)
    with store.engine.begin() as conn:
        if origin == _origin(conn):
            raise BundleError("不能登记本机自己的编号")
        old = conn.execute(select(SyncPeer.last_bundle, SyncPeer.incarnation).where(SyncPeer.origin == origin)).first()
        conn.execute(SyncPeer.__table__.delete().where(SyncPeer.origin == origin))
        conn.execute(SyncPeer.__table__.insert().values(
            origin=origin, public_key=public, fingerprint=fp, last_bundle=old[0] if old else 0,
            incarnation=old[1] if old else 0, updated_at=utcnow()))


def own_key(store: Store) -> tuple[str, str]:
    with store.engine.begin() as conn:
        return _origin(conn), public_hex(signing_key(conn))
