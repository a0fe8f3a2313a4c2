"""The audit trail as evidence: a hash chain over every audit entry this store holds.

Each entry, when written (or received from another site), gets a seal in
``audit_seal``: its place in the chain and SHA-256(previous hash ‖ the entry's
canonical JSON). Editing, deleting, inserting or reordering entries with another
tool breaks the chain, and :func:`verify_chain` names where. The head (last seq and
hash) is what other copies — central, a supervisor's note — can hold to detect a
trail cut off at the end, which a chain alone cannot show.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Callable, Iterable
from typing import Any

from sqlalchemy import Connection, select

from shebao_desk.models import AuditEntry, AuditHead, AuditSeal, Site, SyncState, table_of
from shebao_desk.models.base import SQLITE_STORED_TIME, utcnow

GENESIS = "0" * 64
FIELDS = ("id", "at", "clerk_id", "workstation", "action", "table_name", "row_id", "before", "after")


def _at(value: Any) -> str:
    moment: dt.datetime = dt.datetime.fromisoformat(value) if isinstance(value, str) else value
    if moment.tzinfo is not None:
        moment = moment.astimezone(dt.UTC).replace(tzinfo=None)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%f")


_ENCODER = json.JSONEncoder(sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)


def _encoded(values: dict[str, Any]) -> bytes:
    """``values`` (FIELDS, the time already as :func:`_at` writes it) as the bytes that are hashed."""
    return _ENCODER.encode(values).encode()


def canonical(entry: dict[str, Any]) -> bytes:
    """The bytes that are hashed: the same from the values written and the values read back."""
    values = {k: entry.get(k) for k in FIELDS}
    values["at"] = _at(values["at"])
    return _encoded(values)


def _chained(previous: str, encoded: bytes) -> str:
    return hashlib.sha256(previous.encode() + b"\n" + encoded).hexdigest()


def link(previous: str, entry: dict[str, Any]) -> str:
    return _chained(previous, canonical(entry))


def head(conn: Connection) -> tuple[int, str]:
    """(seq, hash) of the last seal; (0, GENESIS) for an empty trail."""
    row = conn.execute(select(AuditSeal.seq, AuditSeal.hash).order_by(AuditSeal.seq.desc()).limit(1)).first()
    return (row[0], row[1]) if row else (0, GENESIS)


def seal(conn: Connection, entries: Iterable[dict[str, Any]]) -> None:
    """Append these entries (dicts with the audit columns) to the chain, on the caller's transaction."""
    entries = list(entries)
    if not entries:
        return
    _, previous = head(conn)
    seals = []
    for entry in entries:
        previous = link(previous, entry)
        seals.append({"audit_id": entry["id"], "hash": previous})
    conn.execute(table_of(AuditSeal).insert(), seals)


def seal_received(conn: Connection, audit_ids: list[str]) -> None:
    """Seal audit entries that a merge has just written (from another site), read back as stored."""
    if not audit_ids or conn.dialect.name != "sqlite":
        return
    table = table_of(AuditEntry)
    rows = {}
    for i in range(0, len(audit_ids), 500):
        chunk = audit_ids[i:i + 500]
        rows.update({r.id: r._asdict() for r in conn.execute(select(*(table.c[f] for f in FIELDS))
                                                             .where(table.c.id.in_(chunk)))})
    already = set(conn.scalars(select(AuditSeal.audit_id).where(AuditSeal.audit_id.in_(list(rows)))))
    seal(conn, [rows[i] for i in audit_ids if i in rows and i not in already])


_CHAIN = ("SELECT s.seq, s.audit_id, s.hash, a.id, " + ", ".join(f'a."{f}"' for f in FIELDS)
          + " FROM audit_seal s LEFT JOIN audit_entry a ON a.id = s.audit_id ORDER BY s.seq")


def _stored_values(conn: Connection) -> Callable[[list[Any]], dict[str, Any]]:
    """The raw stored values of one entry (FIELDS order) as :func:`canonical` reads them, without
    SQLAlchemy's per-row conversion: a stored time in SQLite's own layout is rewritten as text (what
    :func:`_at` makes of it), JSON is parsed with the standard library; anything else goes through the
    column's own result processor, exactly as a typed query would."""
    table = table_of(AuditEntry)
    procs = {f: table.c[f].type._cached_result_processor(conn.dialect, None) for f in FIELDS}
    at_proc = procs["at"]

    def convert(values: list[Any]) -> dict[str, Any]:
        entry = dict(zip(FIELDS, values, strict=True))
        at = entry["at"]
        if isinstance(at, str) and SQLITE_STORED_TIME.fullmatch(at):
            entry["at"] = at[:10] + "T" + at[11:]
        else:
            entry["at"] = _at(at_proc(at) if at_proc is not None and at is not None else at)
        for name in ("before", "after"):
            value = entry[name]
            if isinstance(value, str):
                entry[name] = json.loads(value)
            elif value is not None and (proc := procs[name]) is not None:
                entry[name] = proc(value)
        return entry
    return convert


def verify_chain(conn: Connection) -> list[tuple[str, str]]:
    """(rule, detail) for each break in the chain; empty when the trail is whole. Streams: the seals in
    order with their entries (written in that order, so read mostly in file order), one at a time,
    as raw values (at a million cases the per-row conversion was most of the time)."""
    table = table_of(AuditEntry)
    out: list[tuple[str, str]] = []
    previous, expected_seq = GENESIS, 1
    convert = _stored_values(conn)
    for seq, audit_id, stored, found, *values in conn.exec_driver_sql(_CHAIN):
        if seq != expected_seq:
            out.append(("audit_chain", f"审计链在第 {expected_seq}—{seq - 1} 号缺失（记录被删除）"))
        expected_seq = seq + 1
        if found is None:
            out.append(("audit_chain", f"审计记录 {audit_id}（第 {seq} 号）被删除"))
        else:
            entry = convert(values)  # its time already as _at writes it: not parsed again
            if _chained(previous, _encoded(entry)) != stored:
                out.append(("audit_chain", f"审计记录 {audit_id}（第 {seq} 号，{entry['action']}）被改动或链被改写"))
        previous = stored
    unsealed = select(table.c.id, table.c.action).where(table.c.id.not_in(select(AuditSeal.audit_id)))
    for audit_id, action in conn.execute(unsealed):
        out.append(("audit_chain", f"审计记录 {audit_id}（{action}）不在审计链中（非本程序写入）"))
    return out


RESTORED = "audit_chain_restored"  # sync_state flag: a restore cut the chain back on purpose (audited)


def exchange_head(local: Connection, central: Connection) -> tuple[str, str] | None:
    """At sync: the head central kept for this store must still be in the local chain; then
    central keeps the new head. Returns the problem (for the clerk) when the trail was cut or rewritten."""
    site = local.execute(select(Site.window_code, Site.workstation_id).limit(1)).first()
    if site is None:
        return None
    origin = f"{site[0]}{site[1]}"
    held = central.execute(select(AuditHead.seq, AuditHead.hash).where(AuditHead.origin == origin)).first()
    restored = local.scalar(select(SyncState.value).where(SyncState.key == RESTORED))
    if held is not None and not restored:
        mine = local.scalar(select(AuditSeal.hash).where(AuditSeal.seq == held.seq))
        if mine != held.hash:
            what = "被截断" if mine is None else "被改写"
            return (f"本机审计记录{what}：中心保存的第 {held.seq} 号审计链与本机不符，已停止同步；请联系管理员核查",
                    f"audit chain of {origin}: central head #{held.seq} {held.hash[:12]}, local {mine and mine[:12]}")
    seq, digest = head(local)
    values = {"seq": seq, "hash": digest, "updated_at": utcnow()}
    if held is None:
        central.execute(table_of(AuditHead).insert().values(origin=origin, **values))
    else:
        central.execute(table_of(AuditHead).update().where(AuditHead.origin == origin).values(**values))
    if restored:
        local.execute(table_of(SyncState).delete().where(SyncState.key == RESTORED))
    return None
