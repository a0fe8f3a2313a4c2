"""Signed, sealed bundles: this store's changes in a file, for when there is no network.

A bundle holds the changes this site made since its previous export, numbered per
site (and per incarnation: a restore from backup starts a new one), signed with the
site's Ed25519 key and sealed for the sites it pinned (:mod:`bundle_file` holds the file
format, :mod:`envelope` the sealing, :mod:`keycode` the key code read over the phone).
Import refuses, before anything is written and before the payload is even read, a file
too large, a bad signature, a signer whose key was not pinned beforehand (``bundle
trust``), a replayed or skipped number. The payload is then inflated under a size and
ratio cap, and every change is checked: it must be the signer's own (origin and clock),
stamped no later than now + the allowed skew, and touch only rows a site may change by
bundle — never this site's identity or sync state, never clerk credentials (clerk
accounts travel only through the central database), never an existing audit entry; its
text must fit the central schema. Only then is it merged, in one transaction: all or nothing.
"""

from __future__ import annotations

import logging
import os
import re
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Row, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from shebao_desk.changes.audit import record_event
from shebao_desk.changes.capture import LOCAL_TABLES, observe_received
from shebao_desk.changes.merge import apply_changes
from shebao_desk.failure import disk_full
from shebao_desk.logsetup import restrict
from shebao_desk.models import Base, Site, SyncChange, SyncConflict, SyncPeer, table_of
from shebao_desk.models.base import utcnow
from shebao_desk.models.limits import value_problems
from shebao_desk.store import state
from shebao_desk.store.database import CACHE_KIB, Store
from shebao_desk.store.keystore import site_signing_key
from shebao_desk.sync.bundle_file import (
    COLUMNS, FORMAT, ORIGIN, REFUSED, BundleError, Caps, Receiver, change_lines, read_bundle_file,
    seal_bundle,
)
from shebao_desk.sync import acceptance
from shebao_desk.sync.envelope import EnvelopeError, box_public
from shebao_desk.sync.keycode import PinFormatError, fingerprint, fingerprint_hex, key_code, parse_pin

__all__ = ["FORMAT", "BundleError", "Caps", "ExportResult", "ImportResult", "export_bundle", "fingerprint",
           "import_bundle", "key_code", "own_key", "read_bundle", "trust"]

log = logging.getLogger(__name__)

HLC = re.compile(r"(\d{13})-(\d{5})-([A-Za-z0-9]{2,16})")
UUIDISH = re.compile(r"[0-9A-Za-z-]{1,36}")
# Fields of a clerk's account that never leave by bundle and are never accepted from one.
CREDENTIALS = frozenset({"password_hash", "role", "active", "failed_logins", "locked_until", "last_login_at"})
NEVER_BY_BUNDLE = LOCAL_TABLES | {"alembic_version"}
APPLY_BATCH = 500  # changes merged at a time, all in the import's one transaction
IMPORT_CACHE_KIB = 16 * 1024  # SQLite's page cache while importing: the transaction's pages, not the report's


@dataclass
class ExportResult:
    path: Path
    number: int
    changes: int
    receivers: tuple[str, ...] = ()


@dataclass
class ImportResult:
    origin: str
    number: int
    applied: int
    skipped: int
    conflicts: int
    newly_trusted: bool  # the key was seen for the first time, and matched the pinned (legacy) fingerprint
    fingerprint: str = ""
    parked: int = 0  # changes waiting for a row they depend on, taken in automatically when it arrives


def _origin(conn: Connection) -> str:
    site = conn.execute(select(Site.window_code, Site.workstation_id).limit(1)).first()
    if site is None:
        raise BundleError("本机尚未完成初始设置", "no site row")
    return f"{site[0]}{site[1]}"


def _seed(conn: Connection) -> bytes:
    """This site's Ed25519 seed, from the keystore (made on first use, never in the store: #14)."""
    return site_signing_key(conn).private_bytes_raw()


def _receiver(store: Store) -> Receiver:
    with store.engine.begin() as conn:
        return Receiver(_origin(conn), _seed(conn))


def _exportable(change: dict[str, Any]) -> dict[str, Any] | None:
    """A clerk's account leaves without its credentials (they travel only through central)."""
    if change["table_name"] != "clerk":
        return change
    values = {k: v for k, v in change["values"].items() if k not in CREDENTIALS}
    if not set(values) - {"updated_at"}:
        return None
    return {**change, "values": values}


def export_bundle(store: Store, out: Path, to: str | Iterable[str] | None = None) -> ExportResult | None:
    """Write this site's own changes since the last export, sealed; None when there are none.

    Sealed for every pinned site (or only those named by ``to``). A bundle holds personal data,
    so with no receiver whose key is known nothing is written (:func:`_receivers` says how to pin)."""
    with store.engine.begin() as conn:
        origin = _origin(conn)
        receivers = _receivers(conn, [to] if isinstance(to, str) else to)
        window = conn.scalar(select(Site.window_code).limit(1)) or ""
        since = int(state.get(conn, state.EXPORTED_SEQ, "0") or 0)
        rows = conn.execute(select(SyncChange.seq, *(getattr(SyncChange, c) for c in COLUMNS))
                            .where(SyncChange.seq > since, SyncChange.origin == origin)
                            .order_by(SyncChange.seq)).all()
        changes = [c for c in (_exportable(dict(zip(COLUMNS, r[1:], strict=True))) for r in rows) if c]
        changes = acceptance.exportable(changes)
        if not changes:
            return None
        incarnation = int(state.get(conn, state.INCARNATION, "0") or 0)
        number = int(state.get(conn, state.BUNDLE_NUMBER, "0") or 0) + 1
        data = seal_bundle(origin=origin, incarnation=incarnation, number=number, count=len(changes),
                           seed=_seed(conn), receivers=receivers, lines=change_lines(changes),
                           created_at=utcnow().isoformat(), window=window)
        _write_private(out, data)
        # Counted as exported only once the file is safely written (same transaction).
        state.put(conn, state.BUNDLE_NUMBER, str(number))
        state.put(conn, state.EXPORTED_SEQ, str(rows[-1][0]))
    store.anchor()
    log.info("bundle %s #%d.%d exported: %d changes to %s, sealed for %s", origin, incarnation, number, len(changes),
             out, ", ".join(sorted(receivers)))
    return ExportResult(out, number, len(changes), tuple(sorted(receivers)))


def _write_private(out: Path, data: bytes) -> None:
    tmp = out.with_name(out.name + ".tmp")
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp.write_bytes(data)
        restrict(tmp)  # owner-only, as every file with personal data
        os.replace(tmp, out)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        why = "目标磁盘已满" if disk_full(exc) else (exc.strerror or str(exc))
        raise BundleError(f"无法写入数据包文件 {out}：{why}，未导出任何变更", repr(exc)) from exc


def _receivers(conn: Connection, to: Iterable[str] | None) -> dict[str, bytes]:
    """The pinned sites to seal for (origin → public key). Refused: no pinned site (a bundle is
    never written unsealed), or a site pinned by a legacy fingerprint only (it could not open
    this bundle, and so none after it: bundles import in number order)."""
    peers = {origin: (bytes(key or b""), fp) for origin, key, fp in
             conn.execute(select(SyncPeer.origin, SyncPeer.public_key, SyncPeer.fingerprint))}
    if to is not None:
        wanted = list(to)
        missing = [o for o in wanted if not peers.get(o, (b"", ""))[0]]
        if missing:
            raise BundleError(f"尚未登记站点 {missing[0]} 的密钥，无法为其加密；请先用 shebao-desk bundle trust "
                              f"{missing[0]} 密钥码 登记（密钥码由对方 bundle key 显示）", f"no pinned key for {missing}")
        return {o: peers[o][0] for o in wanted}
    unkeyed = sorted(o for o, (key, _) in peers.items() if not key)
    if unkeyed:
        raise BundleError(f"站点 {unkeyed[0]} 只登记了旧版指纹，本机没有它的公钥，无法为它加密（它将打不开此包及之后的包）；"
                          f"请向对方索取 bundle key 显示的密钥码，用 shebao-desk bundle trust {unkeyed[0]} 密钥码 补登，"
                          "或用 --to 指定接收站点", f"legacy pins without key: {unkeyed}")
    if not peers:
        raise BundleError("尚未登记任何接收站点，数据包含个人信息，不能不加密导出；请先用 shebao-desk bundle trust "
                          "站点编号 密钥码 登记接收站点（密钥码由对方 bundle key 显示），或用 --to 指定已登记的站点",
                          "no pinned receiver")
    return {o: key for o, (key, _) in peers.items()}


def read_bundle(path: Path, store: Store, caps: Caps | None = None) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Header and changes of a bundle sealed for ``store`` (signature verified, not the signer:
    see :func:`import_bundle`). For tools and tests; an import streams them instead."""
    caps = caps or Caps.from_site()
    receiver = _receiver(store)
    bundle = read_bundle_file(path, caps, receiver)
    bundle.verify_payload()
    return bundle.header, list(bundle.changes(caps, receiver))


# --- who may say what ----------------------------------------------------------------

def _check_signer(conn: Connection, header: dict[str, Any]) -> tuple[Row[bytes, str, int, int], bool]:
    """The pinned peer for this bundle's origin (refusing anything else) and whether its key is new.
    The peer as its public_key, fingerprint, last_bundle and incarnation."""
    origin, public, number, incarnation = header["origin"], header["public_key"], header["number"], header["incarnation"]
    if origin == _origin(conn):
        raise BundleError("这是本机导出的数据包，无需导入", f"own bundle {origin}#{number}")
    peer = conn.execute(select(SyncPeer.public_key, SyncPeer.fingerprint, SyncPeer.last_bundle, SyncPeer.incarnation)
                        .where(SyncPeer.origin == origin)).first()
    if peer is None:
        raise BundleError(f"未登记的站点 {origin}{REFUSED}；请先与对方电话核对密钥码（对方 bundle key 显示），"
                          f"再运行 shebao-desk bundle trust {origin} 密钥码", f"unknown signer {origin}")
    if peer.public_key:
        if peer.public_key.hex() != public:
            raise BundleError(f"数据包的签名密钥与 {origin} 已登记的密钥不同{REFUSED}",
                              f"{origin}: key {fingerprint(bytes.fromhex(public))} != pinned {fingerprint(peer.public_key)}")
        newly = False
    else:
        if fingerprint_hex(bytes.fromhex(public)) != (peer.fingerprint or "-").upper():
            raise BundleError(f"数据包的签名密钥（指纹 {fingerprint(bytes.fromhex(public))}）与为 {origin} 登记的指纹不符{REFUSED}",
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


def _check_change(c: dict[str, Any], origin: str, horizon_ms: int) -> None:
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


def _settle_rows(conn: Connection, changes: list[dict[str, Any]], origin: str) -> tuple[list[dict[str, Any]], int]:
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
    """Read with bounded work (:mod:`bundle_file`): the header's signature, then the signer, then the
    payload's hash, then every change checked in a first pass that keeps none of them, then
    merged in a second pass, in batches, in one transaction: all or nothing."""
    caps = caps or Caps.from_site()
    receiver = _receiver(store)
    bundle = read_bundle_file(path, caps, receiver)
    header = bundle.header
    origin, number, public = header["origin"], header["number"], header["public_key"]
    with store.engine.connect() as conn:  # the signer first: an unknown one never gets its payload read
        _check_signer(conn, header)
    bundle.verify_payload()
    window = acceptance.window_of(header)
    horizon = int(time.time() * 1000 + caps.skew.total_seconds() * 1000)
    restores: set[int] = set()  # incarnations whose restore record the bundle carries
    for c in bundle.changes(caps, receiver):
        _check_change(c, origin, horizon)
        restores |= acceptance.restore_incarnations([c])
    applied = skipped = conflicts = parked = 0
    newest = ""
    try:
        with store.engine.begin() as conn:
            peer, newly = _check_signer(conn, header)
            acceptance.check_incarnation(restores, origin, header["incarnation"], peer.incarnation)
            conn.exec_driver_sql(f"PRAGMA cache_size=-{IMPORT_CACHE_KIB}")  # memory stays bounded (#24)
            known_conflicts = set(conn.scalars(select(SyncConflict.id)))
            try:
                for batch in _batches(bundle.changes(caps, receiver), APPLY_BATCH):
                    acceptance.check_audit_names(conn, batch, origin, window)
                    rest, clerks_known = _settle_rows(conn, batch, origin)
                    # A change whose rows are not here yet (a person first registered at a third site)
                    # waits, parked, and is taken in when they arrive; the rest is merged now.
                    result = apply_changes(conn, rest, pushed=False, park=True)
                    applied += result.applied
                    skipped += result.skipped + clerks_known
                    parked += result.parked
                    newest = max(newest, max(c["hlc"] for c in batch))
            finally:
                conn.exec_driver_sql(f"PRAGMA cache_size=-{CACHE_KIB}")
            conflicts = _transient_conflicts_dropped(conn, known_conflicts)
            acceptance.remember_window(conn, origin, window)
            values = {"public_key": bytes.fromhex(public), "last_bundle": number, "updated_at": utcnow(),
                      "incarnation": header["incarnation"]}
            conn.execute(table_of(SyncPeer).update().where(SyncPeer.origin == origin).values(**values))
    except acceptance.PayloadError as exc:
        raise BundleError(exc.message, exc.detail) from None
    except SQLAlchemyError as exc:
        if disk_full(exc):
            raise BundleError(f"本机磁盘已满{REFUSED}；请清理磁盘后重新导入", repr(exc)[:400]) from exc
        raise BundleError(f"数据包中的数据与本机数据冲突或格式不对{REFUSED}",
                          f"{origin}#{number}: {type(exc).__name__}: {str(exc).splitlines()[0][:300]}") from exc
    except (TypeError, ValueError, KeyError, LookupError, AttributeError) as exc:
        raise BundleError(f"数据包中的数据格式不对{REFUSED}", f"{origin}#{number}: {exc!r}"[:400]) from exc
    store.anchor()
    if newest:
        observe_received(store, [{"hlc": newest}])
    log.info("bundle %s#%d imported: %d applied, %d already known", origin, number, applied, skipped)
    return ImportResult(origin, number, applied, skipped, conflicts, newly, fingerprint(bytes.fromhex(public)), parked)


def _transient_conflicts_dropped(conn: Connection, known: set[str]) -> int:
    """Merging in batches, a batch can flag a conflict that a later batch of the same bundle settles (a
    card's new state in the next batch): those never were conflicts of the bundle, and go; returns how
    many this import left open, as one merge of the whole bundle would have."""
    table = table_of(SyncConflict)
    new = [(i, resolved) for i, resolved in conn.execute(select(table.c.id, table.c.resolved_at)) if i not in known]
    transient = [i for i, resolved in new if resolved is not None]
    for i in range(0, len(transient), 500):
        conn.execute(table.delete().where(table.c.id.in_(transient[i:i + 500])))
    return len(new) - len(transient)


def _batches(changes: Iterator[dict[str, Any]], size: int) -> Iterator[list[dict[str, Any]]]:
    batch: list[dict[str, Any]] = []
    for c in changes:
        batch.append(c)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


# --- pinning: which site's key this store trusts ---------------------------------------

@dataclass(frozen=True)
class TrustPlan:
    """What ``bundle trust`` would do: ``new`` pin, ``same`` key again (nothing to do), ``complete``
    a legacy fingerprint pin with the key it names, or ``replace`` a pinned key (admin, --replace)."""

    kind: str
    origin: str
    public: bytes
    old: str  # the key code or fingerprint pinned before ("" for a new pin)


def plan_trust(store: Store, origin: str, text: str) -> TrustPlan:
    if not ORIGIN.fullmatch(origin):
        raise BundleError("站点编号应为窗口编号加工作站编号，如 SZ01B")
    try:
        pin = parse_pin(text)
    except PinFormatError as exc:
        raise BundleError(str(exc)) from None
    if pin.public is not None:
        try:
            box_public(pin.public)  # a key that cannot receive cannot be pinned
        except EnvelopeError:
            raise BundleError("密钥码不对（不是有效的公钥）；请与对方逐组核对后重新输入", "not an ed25519 point") from None
    if pin.public is None:
        raise BundleError("只凭指纹无法为对方加密数据包：请向对方索取 bundle key 第二行的密钥码（16 组数字）后再登记",
                          "a new pin by legacy fingerprint")
    with store.engine.connect() as conn:
        if origin == _origin(conn):
            raise BundleError("不能登记本机自己的编号")
        row = conn.execute(select(SyncPeer.public_key, SyncPeer.fingerprint).where(SyncPeer.origin == origin)).first()
    if row is None:
        return TrustPlan("new", origin, pin.public, "")
    held, fp = bytes(row[0] or b""), row[1] or ""
    if held:
        return TrustPlan("same" if held == pin.public else "replace", origin, pin.public, key_code(held))
    return TrustPlan("complete" if fingerprint_hex(pin.public) == fp.upper() else "replace", origin, pin.public, fp)


def trust(store: Store, origin: str, text: str, *, replace: bool = False, admin_id: str | None = None,
          workstation: str = "") -> TrustPlan:
    """Pin a site's key (its key code read over the phone, or its 64-hex-digit key) before its first
    bundle. Replacing a pinned key needs ``replace`` (the CLI asks an admin for it). Every pin is an
    audit entry, which travels to central and to the peers like any other change."""
    plan = plan_trust(store, origin, text)
    if plan.kind == "same":
        return plan
    if plan.kind == "replace" and not replace:
        raise BundleError(f"站点 {origin} 已登记了另一把密钥；如确需更换（对方重装或换了电脑，且已电话核对），"
                          "请管理员加 --replace 重新登记", f"{origin}: pinned key differs")
    with store.unit(admin_id, workstation, "bundle trust") as s:
        _pin(s, plan)
    log.info("bundle trust %s: %s (key code %s)", plan.kind, origin, key_code(plan.public)[:17])
    return plan


def _pin(session: Session, plan: TrustPlan) -> None:
    """The pin and its audit entry, in one unit; the peer row's flush carries the entry into the change log."""
    record_event(session, "sync_peer", plan.origin, {"pin": plan.kind, "key_code": key_code(plan.public),
                                                     "fingerprint": fingerprint(plan.public), "before": plan.old})
    peer = session.get(SyncPeer, plan.origin)
    if peer is None:
        session.add(SyncPeer(origin=plan.origin, public_key=plan.public, fingerprint="", last_bundle=0,
                             incarnation=0, updated_at=utcnow()))
    else:
        peer.public_key, peer.fingerprint, peer.updated_at = plan.public, "", utcnow()
    session.flush()


def own_key(store: Store) -> tuple[str, str]:
    """(origin, public key in hex) of this site."""
    with store.engine.begin() as conn:
        return _origin(conn), site_signing_key(conn).public_key().public_bytes_raw().hex()
