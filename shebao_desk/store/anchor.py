"""The store's last known state, kept outside the store where its key alone cannot rewrite it.

The audit chain (:mod:`shebao_desk.changes.audit_chain`) shows an edit in the middle of the
trail, but whoever holds the store's key can recompute every hash after the edit, cut the
end off, delete rows of the change log, or put back an older copy of the whole file — and
the chain alone then looks whole. So after every unit of work (and when a command ends) the
program writes the *anchor*: the chain's head (last seq and its hash), the change log's
last seq, and whether a restore is pending, MACed (HMAC-SHA256) with an anchor key that
lives in the keystore beside the store key but is never printed, never in a backup, never
in the recovery key. ``db check`` and every sync compare the store with it:

- the chain must still hold the anchored head, with the same hash: a rewritten tail (hashes
  recomputed), a cut-off end or an older copy of the whole store is reported;
- the change log must reach the anchored seq: deleted changes at its end are reported;
- the ``audit_chain_restored`` flag in the store must be vouched for by the anchor: a flag
  set by hand (which would switch off central's comparison of heads) is reported.

What it cannot do: someone holding every key — the OS account's keystore (key file or
keyring) as well as the store — can rewrite the store *and* the anchor. Then only copies
held elsewhere tell: central's head of the chain for what was synced, the receivers of
bundles, and paper. A lost write is possible too: the anchor is written after the commit,
so a crash in between leaves it one unit behind (never ahead: that would be a false alarm).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Connection, func, select

from shebao_desk.changes.audit_chain import RESTORED, head
from shebao_desk.models import AuditSeal, SyncChange, SyncState
from shebao_desk.store.keystore import Keystore, keys_dir

log = logging.getLogger(__name__)

ANCHOR_KEY = "anchor_key"
_keys: dict[str, bytes] = {}  # per store: read from the keystore once per process


@dataclass(frozen=True)
class State:
    seq: int  # the audit chain's last seal
    hash: str  # its hash
    changes: int  # the change log's last seq
    restored: bool  # a restore cut the chain back on purpose; central is told at the next sync

    def payload(self, store: str) -> bytes:
        return json.dumps([store, self.seq, self.hash, self.changes, self.restored], separators=(",", ":")).encode()


def current(conn: Connection) -> State:
    seq, digest = head(conn)
    changes = conn.scalar(select(func.max(SyncChange.seq))) or 0
    restored = conn.scalar(select(SyncState.value).where(SyncState.key == RESTORED)) is not None
    return State(seq, digest, changes, restored)


def _file(db_path: Path) -> Path:
    return keys_dir() / f"{Keystore(db_path).name}.anchor"


def _key(db_path: Path) -> bytes | None:
    keystore = Keystore(db_path)
    if keystore.name in _keys:
        return _keys[keystore.name]
    held = keystore.get(ANCHOR_KEY)
    if held is None:
        return None
    _keys[keystore.name] = bytes.fromhex(held)
    return _keys[keystore.name]


SLOT = 512  # two fixed slots in the file, written in turn: a write torn by a crash spoils only its own slot
_counters: dict[str, int] = {}  # per store: the last slot number this process wrote


def _sign(key: bytes, name: str, n: int, state: State) -> str:
    return hmac.new(key, str(n).encode() + b"|" + state.payload(name), hashlib.sha256).hexdigest()


def write(db_path: Path, conn: Connection) -> None:
    """Record the store's state now (after a commit), in the older of the two slots, in place
    (no rename: it costs a journal commit on some file systems at every unit of work)."""
    # A new key is filed only once the anchor is on disk: a kill between the two then leaves a file no
    # key reads (a store never anchored, anchored afresh at its next write), never a key without its file.
    key = _key(db_path)
    new_key = secrets.token_bytes(32) if key is None else None
    key = key or new_key
    assert key is not None
    state, name, target = current(conn), Keystore(db_path).name, _file(db_path)
    try:
        if name not in _counters:
            found = _slots(target, key, name)
            _counters[name] = max((n for n, _ in found), default=0)
        n = _counters[name] + 1
        record = json.dumps({"n": n, "seq": state.seq, "hash": state.hash, "changes": state.changes,
                             "restored": state.restored, "mac": _sign(key, name, n, state)}).encode()
        target.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = os.open(target, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            os.pwrite(fd, record.ljust(SLOT - 1) + b"\n", (n % 2) * SLOT)
        finally:
            os.close(fd)
        _counters[name] = n
        if new_key is not None:
            Keystore(db_path).put(ANCHOR_KEY, new_key.hex())
            _keys[name] = new_key
    except OSError as exc:  # a full disk must not fail the clerk's work; db check says the anchor is behind
        log.warning("anchor of %s not written: %r", db_path, exc)


def _slots(target: Path, key: bytes, name: str) -> list[tuple[int, State]]:
    """The slots whose MAC is right, as (number, state)."""
    data = target.read_bytes() if target.exists() else b""
    out = []
    for i in range(0, min(len(data), 2 * SLOT), SLOT):
        try:
            record = json.loads(data[i:i + SLOT])
            n = int(record["n"])
            state = State(int(record["seq"]), str(record["hash"]), int(record["changes"]), bool(record["restored"]))
        except (ValueError, KeyError, TypeError):
            continue
        if hmac.compare_digest(str(record.get("mac", "")), _sign(key, name, n, state)):
            out.append((n, state))
    return out


def read(db_path: Path) -> State | None | str:
    """The anchored state; None when this store was never anchored; a text when the anchor is damaged."""
    key = _key(db_path)
    if key is None:
        return None  # a store from before anchors, or new here: anchored from its next write on
    target, name = _file(db_path), Keystore(db_path).name
    try:
        if not target.exists():
            return "防篡改锚点文件不见了（密钥库中有它的密钥）"
        found = _slots(target, key, name)
    except OSError:
        return "防篡改锚点文件无法读取"
    if not found:
        return "防篡改锚点被改动或已损坏（校验码不符）"
    return max(found, key=lambda slot: slot[0])[1]


def findings(db_path: Path, conn: Connection) -> list[tuple[str, str]]:
    """(rule, detail) for each way the store differs from its anchor; empty when it agrees."""
    anchored = read(db_path)
    if anchored is None:
        return []
    if isinstance(anchored, str):
        return [("anchor", anchored)]
    out: list[tuple[str, str]] = []
    now = current(conn)
    if anchored.seq > now.seq:
        out.append(("anchor", f"审计链只到第 {now.seq} 号，而本机记录的最后状态是第 {anchored.seq} 号：记录被截断，"
                              "或数据库被换成了旧的副本"))
    elif anchored.seq:
        held = conn.scalar(select(AuditSeal.hash).where(AuditSeal.seq == anchored.seq))
        if held != anchored.hash:
            out.append(("anchor", f"审计链第 {anchored.seq} 号与本机记录的最后状态不符：审计记录被改写（哈希被重新计算）"))
    if anchored.changes > now.changes:
        out.append(("change_log", f"变更日志只到第 {now.changes} 号，而本机记录的最后状态是第 {anchored.changes} 号："
                                  "末尾的变更被删除，或数据库被换成了旧的副本"))
    if now.restored and not anchored.restored:
        out.append(("anchor", "“审计链已恢复”标记不是由恢复操作设置的（被手工加入）；它会让同步跳过与中心的审计链比对"))
    return out


def forget(db_path: Path) -> None:
    """A restore replaces the store on purpose: the next write anchors the restored state."""
    _file(db_path).unlink(missing_ok=True)
    _counters.pop(Keystore(db_path).name, None)


def change_log_findings(conn: Connection) -> list[tuple[str, str]]:
    """Rows deleted from the change log: its seq runs 1, 2, 3… with no gap (SQLite gives each new
    row the next number; nothing in the program deletes one)."""
    out: list[tuple[str, str]] = []
    first, last, count = conn.execute(select(func.min(SyncChange.seq), func.max(SyncChange.seq), func.count())).one()
    if first is None:
        return out
    if first > 1:
        out.append(("change_log", f"变更日志第 1—{first - 1} 号缺失（记录被删除）"))
    if count == last - first + 1:
        return out  # no gap: the common case, one look at the primary key
    ordered = select(SyncChange.seq, func.lag(SyncChange.seq).over(order_by=SyncChange.seq).label("prev")).subquery()
    gaps = conn.execute(select(ordered.c.prev, ordered.c.seq).where(ordered.c.seq - ordered.c.prev > 1)
                        .order_by(ordered.c.seq).limit(20)).all()
    for prev, seq in gaps:
        out.append(("change_log", f"变更日志第 {prev + 1}—{seq - 1} 号缺失（记录被删除，这些变更不会再同步到中心）"))
    return out
