"""Sync with the central PostgreSQL: push this store's changes, pull everyone else's.

Each batch is one transaction on each side, so a connection cut at any point
leaves both databases as they were before that batch or after it; the next run
resends what was not confirmed, and a change already in a log is ignored. Pushes
take a transaction-scoped advisory lock so the central log's ``seq`` order is its
commit order, and a puller never skips a change committed late.

Before anything is pushed, the store checks in with the central register of
workstations: an identity held by another store (another PC set up with the same
codes) stops the sync with a message naming that PC. A change the central database
refuses (or that would not fit its schema) is quarantined here with its reason and
the rest goes on; quarantined changes are tried again at every sync.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import logging
import os
import socket
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from dataclasses import dataclass, field
from typing import Any

from alembic import command
from sqlalchemy import Connection, Engine, Executable, Row, create_engine, delete, func, insert, select, text, update
from sqlalchemy.exc import DBAPIError, OperationalError, SQLAlchemyError

from shebao_desk import gc_pauses
from shebao_desk.changes.audit import record_event
from shebao_desk.changes.audit_chain import RESTORED, exchange_head
from shebao_desk.changes.capture import observe_received
from shebao_desk.changes.merge import RAW_VALUES, JsonText, apply_changes
from shebao_desk.clock import local_day, now_utc
from shebao_desk.config.policy import Policy
from shebao_desk.errors import ShebaoError
from shebao_desk.failure import disk_full, local_failure, masked
from shebao_desk.models import Card, Person, Site, SyncChange, SyncQuarantine, SyncWorkstation, table_of
from shebao_desk.models.base import utcnow
from shebao_desk.models.limits import path_problems, value_problems
from shebao_desk.store import anchor, state
from shebao_desk.store.database import Store, alembic_config
from shebao_desk.store.site_identity import INCARNATION_DAY, SetupNeeded, store_id
from shebao_desk.sync import acceptance, scope

log = logging.getLogger(__name__)

BATCH = 10_000
PUSH_LOCK = 0x5EBA0  # advisory lock key for pushes into the central log
REGISTER_LOCK = 0x5EBA1  # and for the register of workstations
COLUMNS = ("change_id", "table_name", "row_id", "hlc", "origin", "values")
SCOPE_POS = "central_scope_pos"  # how far this workstation has read its window's stream (see scope.py)
LOOKUP_TIMEOUT_S = 2  # the clerk is waiting at the counter


class SyncError(ShebaoError):
    pass


class IdentityClash(SyncError):
    def __init__(self, origin: str, host: str, since: dt.datetime, *, during: str = "setup") -> None:
        what = ("请为本机另选一个工作站编号" if during == "setup" else
                "本机的变更未发送，数据不会丢失；请管理员核对两台电脑的工作站编号，把本机的数据迁到新设置（shebao-desk setup）的库中")
        super().__init__(
            f"窗口/工作站编号 {origin} 已由电脑 {host or '（未知）'} 使用（{since:%Y-%m-%d} 登记），中心数据库未作任何改动；{what}",
            f"identity {origin} registered to another store on {host!r} since {since}")


class CloneRefused(SyncError):
    """The same store (one store id) in two places: a copy of a PC's store, not a restore of it."""

    def __init__(self, origin: str, registered: str, here: str) -> None:
        super().__init__(
            f"本机数据库是工作站 {origin} 数据库的拷贝：原库在{_where(registered)}，本拷贝在{_where(here)}；"
            "同一数据库不能在两台电脑（两处）同时使用，中心数据库未作任何改动，原库不受影响。"
            "请在本机新建数据库（shebao-desk setup，另选工作站编号），或由管理员用 db restore 把备份恢复到本机",
            f"clone of {origin}: registered at {registered!r}, this copy at {here!r}")


def _where(place: str) -> str:
    host, _, path = place.partition("|")
    return f"电脑 {host or '（未知）'} 的 {path or '（未知位置）'}"


def place_of(conn: Connection) -> str:
    """Where this store lives (host and file), as the register remembers it."""
    path = conn.engine.url.database or ""
    return f"{socket.gethostname()}|{Path(path).resolve() if path else ''}"[:400]


@dataclass
class SyncReport:
    pushed: int = 0
    pulled: int = 0
    conflicts: int = 0
    quarantined: int = 0
    reasons: list[str] = field(default_factory=list)
    new_incarnation: bool = False


def central_engine(url: str) -> Engine:
    try:
        return create_engine(url, pool_pre_ping=True, connect_args={"connect_timeout": 10})
    except Exception as exc:  # noqa: BLE001 - a malformed URL is the clerk's input
        raise SyncError(f"中心数据库地址有误：{url.split('@')[-1]}", masked(repr(exc))) from exc


def prepare_central(engine: Engine) -> None:
    """Create or migrate the central schema with the same Alembic migrations as the stores."""
    with engine.begin() as conn:
        command.upgrade(alembic_config(conn), "head")


# --- identity ----------------------------------------------------------------------

def identity(store: Store) -> tuple[str, str]:
    """(window code, origin) of this workstation."""
    with store.engine.connect() as conn:
        site = conn.execute(select(Site.window_code, Site.workstation_id).limit(1)).first()
    if site is None:
        raise SyncError("本机尚未完成站点设置，不能同步")
    return site[0], f"{site[0]}{site[1]}"


def _identity(conn: Connection) -> tuple[str, str, int]:
    site = conn.execute(select(Site.window_code, Site.workstation_id).limit(1)).first()
    if site is None:
        raise SetupNeeded()
    return f"{site[0]}{site[1]}", store_id(conn), state.get_int(conn, state.INCARNATION)


def _own_pushed_hlc(conn: Connection, origin: str) -> str:
    return conn.scalar(select(func.max(SyncChange.hlc)).where(SyncChange.origin == origin,
                                                               SyncChange.pushed.is_(True))) or ""


def register(engine: Engine, origin: str, store: str, incarnation: int, *, host: str | None = None,
             pushed_hlc: str = "", during: str = "setup", place: str = "") -> Row[str, str, dt.datetime, int, str, str] | None:
    """Claim ``origin`` for this store; refuse (writing nothing) when another store holds it, or when
    this store is a copy of the registered one living elsewhere (a clone: same store id, another
    place, no restore to explain the move). A restore (a higher incarnation) may move it.

    Returns the registration as it was before this call (None for a first registration): its
    store_id, host, registered_at, incarnation, last_hlc and place."""
    host = host or socket.gethostname()
    table = table_of(SyncWorkstation)
    with engine.begin() as conn:
        conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": REGISTER_LOCK})
        row = conn.execute(select(SyncWorkstation.store_id, SyncWorkstation.host, SyncWorkstation.registered_at,
                                  SyncWorkstation.incarnation, SyncWorkstation.last_hlc, SyncWorkstation.place)
                           .where(SyncWorkstation.origin == origin)).first()
        if row is not None and row.store_id != store:
            raise IdentityClash(origin, row.host, row.registered_at, during=during)
        if row is not None and row.place and place and row.place != place and incarnation <= row.incarnation:
            raise CloneRefused(origin, row.place, place)
        now = utcnow()
        if row is None:
            conn.execute(insert(table).values(origin=origin, store_id=store, host=host[:100], incarnation=incarnation,
                                              last_hlc=pushed_hlc, registered_at=now, last_seen_at=now, place=place))
        else:
            moved: dict[str, str] = {"host": host[:100], "place": place} if place and place != row.place else {}
            if incarnation > row.incarnation:  # restored: what it pushed before is measured afresh
                moved["last_hlc"] = pushed_hlc
            conn.execute(update(table).where(table.c.origin == origin).values(
                incarnation=max(incarnation, row.incarnation), last_seen_at=now, **moved))
    return row


def claim(conn: Connection, url: str, origin: str, *, required: bool) -> None:
    """At set-up, before the local set-up commits: claim ``origin`` for this store in the register.

    A clash is raised. Central unreachable and the claim not ``required`` (the GUI's first start):
    it is made at the first sync instead (``_check_in``)."""
    engine = central_engine(url)
    try:
        prepare_central(engine)
        register(engine, origin, store_id(conn), state.get_int(conn, state.INCARNATION), place=place_of(conn))
    except IdentityClash:
        raise
    except Exception as exc:
        if required:
            raise
        log.warning("central register not reachable at set-up (%s); will register at first sync", type(exc).__name__)
    finally:
        engine.dispose()


def _check_anchor(store: Store) -> None:
    """The store must agree with the state the program last recorded outside it (:mod:`store.anchor`)."""
    if store.path is None:
        return
    with store.engine.connect() as conn:
        problems = anchor.findings(store.path, conn) + anchor.change_log_findings(conn)
    if problems:
        raise SyncError(f"本机数据库与上次记录的状态不符（{problems[0][1]}），已停止同步，中心数据库未改动；"
                        "请管理员运行 shebao-desk db check 核查", f"anchor: {problems}")


def _check_in(store: Store, engine: Engine) -> bool:
    """Register, and notice a store restored behind the central's back (a file copied over the store):
    it has lost changes it had already pushed, so it starts a new incarnation. Returns whether it did."""
    with store.engine.begin() as conn:
        origin, sid, incarnation = _identity(conn)
        pushed_hlc = _own_pushed_hlc(conn, origin)
        place = place_of(conn)
    before = register(engine, origin, sid, incarnation, pushed_hlc=pushed_hlc, during="sync", place=place)
    if before is None:
        return False
    # Behind what it pushed in its own incarnation (a file copied back over it): a restore nobody ran.
    # A store `db restore` renumbered is already in a later incarnation than central knew: explained.
    behind = before.incarnation > incarnation or \
        (before.incarnation == incarnation and before.last_hlc and pushed_hlc < before.last_hlc
         and not _holds_own_change(store, origin, before.last_hlc))
    if not behind:
        return False
    number = max(incarnation, before.incarnation) + 1
    with store.unit(None, "", "sync: restored copy") as s:
        conn = s.connection()
        state.put(conn, state.INCARNATION, str(number))
        state.put(conn, INCARNATION_DAY, local_day(now_utc()).isoformat())
        state.put(conn, state.BUNDLE_NUMBER, "0")
        # Its audit trail is shorter than the head central keeps, knowingly: the new incarnation says why,
        # in a record that travels (bundle receivers accept the renumbered bundles only with it).
        state.put(conn, RESTORED, "1")
        record_event(s, acceptance.RESTORE_TABLE, "incarnation",
                     {"incarnation": number, "noticed": "central holds changes of this store that it lacks"})
    register(engine, origin, sid, number, place=place, pushed_hlc=pushed_hlc)
    log.warning("store %s is behind what it pushed before (restored copy?): incarnation %d", origin, number)
    return True


def _holds_own_change(store: Store, origin: str, hlc: str) -> bool:
    """Whether this store still holds the change central last had from it: it only lost the word that
    its pushes arrived (all marked unpushed), it was not put back to an older copy."""
    with store.engine.connect() as conn:
        return conn.scalar(select(SyncChange.seq).where(SyncChange.origin == origin, SyncChange.hlc == hlc)
                           .limit(1)) is not None


def _record_pushed_hlc(engine: Engine, origin: str, hlc: str) -> None:
    table = table_of(SyncWorkstation)
    with engine.begin() as conn:
        conn.execute(update(table).where(table.c.origin == origin, table.c.last_hlc < hlc).values(last_hlc=hlc))


# --- pushing, with quarantine ------------------------------------------------------------

def _is_refusal(exc: BaseException) -> bool:
    """The central database refused the data itself (not the network, not the server)."""
    orig = getattr(exc, "orig", exc)
    if type(orig).__module__.startswith("psycopg"):
        sqlstate = getattr(orig, "sqlstate", None) or ""
        return sqlstate[:2] in ("22", "23") or type(orig).__name__ == "DataError"
    return isinstance(exc, (ValueError, TypeError, KeyError))


def _reason(exc: BaseException) -> tuple[str, str]:
    orig = getattr(exc, "orig", exc)
    name = type(orig).__name__
    diag = getattr(orig, "diag", None)
    constraint = getattr(diag, "constraint_name", None) or ""
    detail = masked(f"{name}: {str(orig).strip().splitlines()[0] if str(orig).strip() else ''}")[:2000]
    if name == "UniqueViolation":
        what = "受理编号" if "case_number" in constraint else "身份证号码" if "id_number" in constraint else "数据"
        return f"{what}与中心已有的记录重复（{constraint}）", detail
    if name == "StringDataRightTruncation":
        return "内容超过中心数据库允许的长度", detail
    if name == "ForeignKeyViolation":
        return "所依赖的记录未能同步到中心", detail
    if name == "NotNullViolation":
        return "缺少必填内容", detail
    if "NUL" in str(orig):
        return "含有空字符（NUL）", detail
    return "中心数据库不接受这条数据", detail


Change = dict[str, Any]  # a change as it travels: change_id, table_name, row_id, hlc, origin, values
Refused = tuple[Change, str, str]  # a refused change, the clerk's reason, the log's detail


def _send(engine: Engine, rows: list[Change], window: str,
          locked: Callable[[], None] | None = None) -> tuple[list[Change], list[Refused]]:
    """Push ``rows`` (scoped to ``window``'s stream, see scope.py); a refused batch is split until each
    refused change stands alone. ``locked``: called once the push lock is held (see _push)."""
    if not rows:
        return [], []
    try:
        with engine.begin() as conn:
            # The merge looks rows up by key in tables that may have grown by thousands of rows since their
            # statistics were taken: no sequential scans (one per lookup would be quadratic), and so no JIT
            # (every plan then looks costly enough: 50-200 ms a statement for statements of a few
            # milliseconds). Set for this transaction in the lock's own round trip: between two pushes'
            # merges there is only the lock's hand-over.
            conn.execute(text("SELECT set_config('enable_seqscan', 'off', true), set_config('jit', 'off', true), "
                              "pg_advisory_xact_lock(:k)"), {"k": PUSH_LOCK})
            if locked is not None:
                locked()
            window_of = scope.windows_of(conn, rows, window)  # read once, for the scopes before and after the merge
            merged = apply_changes(conn, rows, pushed=True, scopes=scope.prescopes(conn, rows, window, window_of))
            scope.assign(conn, rows, window, logged_after=merged.logged_after, inserted=merged.inserted,
                         window_of=window_of)
        return rows, []
    except Exception as exc:  # noqa: BLE001 - sorted below: only a refusal of the data is quarantined
        if not _is_refusal(exc):
            raise
        if len(rows) == 1:
            reason, detail = _reason(exc)
            return [], [(rows[0], reason, detail)]
        log.info("central refused a batch of %d: %s; narrowing it down", len(rows), type(exc).__name__)
        mid = len(rows) // 2
        ok1, bad1 = _send(engine, rows[:mid], window)
        ok2, bad2 = _send(engine, rows[mid:], window)
        return ok1 + ok2, bad1 + bad2


def _precheck(rows: list[Change]) -> tuple[list[Change], list[Refused]]:
    """What would not fit the central schema is quarantined without a round trip."""
    good: list[Change] = []
    bad: list[Refused] = []
    for r in rows:
        problems = value_problems(r["table_name"], r["values"]) if isinstance(r["values"], dict) else ["values"]
        if problems:
            bad.append((r, problems[0], "; ".join(problems)[:2000]))
        else:
            good.append(r)
    return good, bad


def _settle(store: Store, accepted: list[Change], refused: list[Refused],
            span: tuple[int, int] | None = None) -> None:
    """Locally, in one transaction: refused changes into quarantine, accepted ones marked as pushed.

    ``span``: the batch was every unpushed, unquarantined change with ``seq`` in (low, high]: then one
    statement marks them (the log only grows at its end)."""
    q = table_of(SyncQuarantine)
    now = utcnow()
    with store.engine.begin() as conn:
        if refused:
            ids = [r["change_id"] for r, _, _ in refused]
            known = set(conn.scalars(select(q.c.change_id).where(q.c.change_id.in_(ids))))
            for row, reason, detail in refused:
                if row["change_id"] in known:
                    conn.execute(update(q).where(q.c.change_id == row["change_id"]).values(
                        reason=reason[:400], detail=detail, attempts=q.c.attempts + 1))
                else:
                    conn.execute(insert(q).values(change_id=row["change_id"], table_name=row["table_name"],
                                                  row_id=row["row_id"], reason=reason[:400], detail=detail,
                                                  attempts=1, quarantined_at=now))
                log.warning("change %s (%s) quarantined: %s (%s)", row["change_id"], row["table_name"], reason, detail)
        if span is not None:
            conn.execute(update(SyncChange).where(SyncChange.pushed.is_(False), SyncChange.seq > span[0],
                                                  SyncChange.seq <= span[1], ~SyncChange.change_id.in_(select(q.c.change_id)))
                         .values(pushed=True))
            return
        ids = [r["change_id"] for r in accepted]
        for i in range(0, len(ids), 500):
            chunk = ids[i:i + 500]
            conn.execute(update(SyncChange).where(SyncChange.change_id.in_(chunk)).values(pushed=True))
            conn.execute(delete(q).where(q.c.change_id.in_(chunk)))


_decode_json = json.JSONDecoder().decode


assert COLUMNS == ("change_id", "table_name", "row_id", "hlc", "origin", "values")  # _change unpacks them by place


def _change(row: Any) -> Change:
    """A change read as (seq, *COLUMNS), its values as the store's JSON text: decoded once here, and the text
    kept beside them (central's log takes it as it is, see merge.JsonText)."""
    _, change_id, table_name, row_id, hlc, origin, raw = row
    return {"change_id": change_id, "table_name": table_name, "row_id": row_id, "hlc": hlc, "origin": origin,
            "values": _decode_json(raw), RAW_VALUES: JsonText(raw)}


def _rows(conn: Connection, stmt: Executable) -> list[Change]:
    return [dict(zip(COLUMNS, c, strict=True)) for c in conn.execute(stmt).all()]


def push(store: Store, engine: Engine, batch: int = BATCH) -> tuple[int, list[Refused]]:
    """Returns how many changes central accepted, and those it refused (now quarantined)."""
    # No cyclic collections meanwhile: each batch's fresh dicts set off full walks of them all (a
    # sixth of a 30k push's time), and a push makes no cycles worth collecting.
    with gc_pauses.paused():
        return _push(store, engine, batch)


Batch = tuple[list[Change], list[Refused], tuple[int, int]]  # the sendable changes, those refused here, seq span


# The next batch, as _change reads it: the columns are all text and integers, which the driver's plain
# tuples give as they are (SQLAlchemy's rows cost 25 ms a batch of 10,000, beside a read of 140 ms).
_NEXT_BATCH = ("SELECT seq, " + ", ".join(f'"{c}"' for c in COLUMNS) + " FROM sync_change WHERE pushed = 0 AND seq > ? "
               "AND change_id NOT IN (SELECT change_id FROM sync_quarantine) ORDER BY seq LIMIT ?")


def _read_batch(store: Store, after: int, size: int) -> Batch | None:
    """The next unpushed, unquarantined changes after seq ``after``, decoded and checked (see _precheck)."""
    with store.engine.connect() as conn:
        cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
        try:
            found = cursor.execute(_NEXT_BATCH, (after, size)).fetchall()
        finally:
            cursor.close()
    if not found:
        return None
    good, refused = _precheck([_change(c) for c in found])
    return good, refused, (after, found[-1][0])


def _push(store: Store, engine: Engine, batch: int) -> tuple[int, list[Refused]]:
    q = table_of(SyncQuarantine)
    cols = [getattr(SyncChange, c) for c in COLUMNS]
    sent = 0
    refused_all: list[Refused] = []
    window, origin = identity(store)
    with store.engine.connect() as conn:
        relayed = {o: w for o, w in acceptance.relayed_windows(conn).items() if o != origin}
    with engine.begin() as conn:
        scope.register_origin(conn, origin, window)
        scope.register_relayed(conn, relayed)  # the sites whose bundles this store took: their windows as signed
    with store.engine.connect() as conn:  # last time's refusals first: a fix may have come since
        waiting = _rows(conn, select(*cols).join(q, q.c.change_id == SyncChange.change_id)
                        .where(SyncChange.pushed.is_(False)).order_by(SyncChange.seq))
    if waiting:
        good, refused = _precheck(waiting)
        accepted, refused_central = _send(engine, good, window)
        _settle(store, accepted, refused + refused_central)
        sent += len(accepted)
        refused_all += refused + refused_central
    # The store's side runs in a thread of its own while central merges a batch: the next batch is
    # read, decoded and checked, and the last one marked pushed (psycopg and SQLite wait without the
    # GIL). One worker: the store's steps keep their order; the spans never meet (a read starts after
    # the last batch's seq, a mark covers its own span). The next read starts once the push lock is
    # held: it overlaps the merge all the same, and a push queued behind others takes no CPU from the
    # one merging meanwhile (#29: 40 pushes at once on two cores, 10.5 s -> 9.7-9.9 s).
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="push-store") as local:
        ahead = local.submit(_read_batch, store, 0, batch)
        settling: Future[None] | None = None
        while True:
            got = ahead.result()
            if got is None:
                if settling is not None:
                    settling.result()
                return sent, refused_all
            good, refused, span = got
            started: list[Future[Batch | None]] = []

            def read_next(after: int = span[1], started: list[Future[Batch | None]] = started) -> None:
                started.append(local.submit(_read_batch, store, after, batch))
            accepted, refused_central = _send(engine, good, window, locked=read_next)
            if not started:  # nothing was sent (every change refused here)
                read_next()
            ahead = started[0]
            if settling is not None:
                settling.result()  # the last batch's marks: a failure there (a full disk) stops the push
            # Confirmed centrally; a cut before the marks only means the batch is sent again.
            settling = local.submit(_settle, store, accepted, refused + refused_central, span)
            sent += len(accepted)
            refused_all += refused + refused_central


def pull(store: Store, engine: Engine, batch: int = BATCH) -> tuple[int, int]:
    """This window's changes, its people's and the shared ones (see :mod:`scope`)."""
    with gc_pauses.paused():  # batches of fresh dicts, as in a push
        return _pull(store, engine, batch)


def _pull(store: Store, engine: Engine, batch: int) -> tuple[int, int]:
    window, _ = identity(store)
    received, conflicts = 0, 0
    while True:
        with store.engine.connect() as conn:
            cursor = state.get_int(conn, SCOPE_POS)
        with engine.connect() as conn:
            got = scope.pull_batch(conn, window, cursor, batch)
        if not got:
            return received, conflicts
        rows = [r for _, r in got]
        _refuse_bad_names(rows)
        with store.engine.begin() as conn:  # the changes and the cursor move together
            result = apply_changes(conn, rows, pushed=True, park=True)
            state.put(conn, SCOPE_POS, str(got[-1][0]))
        observe_received(store, rows)
        received += result.applied
        conflicts += len(result.conflicts)


def _refuse_bad_names(rows: list[dict[str, Any]]) -> None:
    """Names that become paths here (case numbers, attachment file names) are checked by their pattern
    before anything from central is merged: a central database that holds such a name was written to
    by something other than this program."""
    for r in rows:
        problems = path_problems(r["table_name"], r["values"]) if isinstance(r["values"], dict) else []
        if problems:
            raise SyncError(f"中心数据库中有不合规的编号或文件名（{problems[0]}），已停止拉取，本机数据未改变；请管理员核查中心数据库",
                            masked(f"pull refused change {r['change_id']} {r['table_name']}/{r['row_id']}: {problems}"))


def pull_all(store: Store, engine: Engine, batch: int = BATCH) -> tuple[int, int]:
    """Every change in the central log, whoever it concerns (the way before scoped replication;
    kept for the benchmark that compares the two)."""
    with gc_pauses.paused():  # as pull: the benchmark compares the two with the same merge
        return _pull_all(store, engine, batch)


def _pull_all(store: Store, engine: Engine, batch: int) -> tuple[int, int]:
    received, conflicts = 0, 0
    while True:
        with store.engine.connect() as conn:
            cursor = state.get_int(conn, state.PULLED_SEQ)
        with engine.connect() as conn:
            changes = conn.execute(select(SyncChange.seq, *(getattr(SyncChange, c) for c in COLUMNS))
                                   .where(SyncChange.seq > cursor).order_by(SyncChange.seq).limit(batch)).all()
        if not changes:
            return received, conflicts
        rows = [dict(zip(COLUMNS, c[1:], strict=True)) for c in changes]
        with store.engine.begin() as conn:  # the changes and the cursor move together
            result = apply_changes(conn, rows, pushed=True, park=True)
            state.put(conn, state.PULLED_SEQ, str(changes[-1][0]))
        observe_received(store, rows)
        received += result.applied
        conflicts += len(result.conflicts)


def sync_with(store: Store, engine: Engine, batch: int = BATCH, stages: list[str] | None = None) -> SyncReport:
    """One sync on a prepared central database: check in, exchange the audit head, push, pull.
    ``stages`` is appended with the stage reached (for the caller's message when it fails)."""
    stages = stages if stages is not None else []
    report = SyncReport()
    stages.append("register")
    _check_anchor(store)  # a store rewritten behind the program's back stops here, before central hears of it
    report.new_incarnation = _check_in(store, engine)  # an identity clash stops here, before any write
    store.anchor()  # a new incarnation's restored flag is the program's own
    with store.engine.begin() as local, engine.begin() as central:  # a cut or rewritten audit trail stops here (#14)
        problem = exchange_head(local, central)
    if problem:
        raise SyncError(*problem)
    store.anchor()
    stages.append("push")
    report.pushed, refused = push(store, engine, batch)
    report.quarantined = len(refused)
    report.reasons = sorted({reason for _, reason, _ in refused})
    with store.engine.connect() as conn:
        origin, _, _ = _identity(conn)
        pushed_hlc = _own_pushed_hlc(conn, origin)
    if pushed_hlc:
        _record_pushed_hlc(engine, origin, pushed_hlc)
    stages.append("pull")
    report.pulled, report.conflicts = pull(store, engine, batch)
    with store.engine.begin() as conn:
        state.put(conn, state.LAST_SYNC, utcnow().isoformat())
    store.anchor()
    return report


def sync(store: Store, url: str, batch: int = BATCH) -> SyncReport:
    engine = central_engine(url)
    host = engine.url.host
    stages = ["connect"]
    try:
        prepare_central(engine)
        scope.backfill(engine)  # changes logged before scoped replication (once, after the upgrade)
        report = sync_with(store, engine, batch, stages)
        log.info("sync with %s: pushed %d, pulled %d, conflicts %d, quarantined %d", host, report.pushed,
                 report.pulled, report.conflicts, report.quarantined)
        return report
    except ShebaoError:
        raise
    except Exception as exc:  # noqa: BLE001 - driver errors of every kind end as one clear line
        orig = getattr(exc, "orig", None) or exc
        stage = stages[-1]
        detail = masked(f"sync with {host} ({stage}): {type(orig).__name__}: {orig}")
        here = local_failure(exc)  # this PC's disk or store: never blamed on the network or central
        if here:
            raise SyncError(f"{here}，同步未完成；已同步的部分已保存，未完成的部分下次会自动继续"
                            + ("；请清理磁盘后再同步" if disk_full(exc) else "；请把日志交给管理员"), detail) from exc
        if stage == "connect" and isinstance(exc, (DBAPIError, SQLAlchemyError)) or \
                type(orig).__name__ in ("OperationalError", "ConnectionTimeout"):
            if stage == "connect":
                raise SyncError(f"无法连接中心数据库 {host}，请检查网络和地址；本机数据未改变", detail) from exc
            raise SyncError("与中心数据库的连接中断，已同步的部分已保存，未完成的部分下次会自动继续", detail) from exc
        if type(orig).__module__.startswith(("sqlite3", "sqlcipher3")):  # this PC's own database, not central
            raise SyncError(f"本机数据库不接受从中心收到的数据（{type(orig).__name__}），已同步的部分已保存；"
                            "请把日志交给管理员", detail) from exc
        if type(orig).__module__.startswith("psycopg") or isinstance(exc, SQLAlchemyError):
            raise SyncError(f"中心数据库拒绝了同步（{type(orig).__name__}），已同步的部分已保存；请把日志交给管理员",
                            detail) from exc
        raise
    finally:
        engine.dispose()


class CentralUnavailable(SyncError):
    pass


@dataclass
class Lookup:
    person_id: str | None  # None: central knows no one with this ID number
    received: int = 0
    conflicts: int = 0


LOOKUP_REUSE_S = 60  # a lookup's connection serves the next one within this time, never longer


@functools.lru_cache(maxsize=4)
def _lookup_engine(url: str) -> Engine:
    """One engine per central address, so the dialect learns the server once.

    A clerk's lookups come in bursts (the ID number typed, then the card check before the save), so
    the connection is kept for the next one: a new connection was 3–4 ms of a ~16 ms lookup, and on
    a connection used five times psycopg prepares the adopt statement (parsing and planning it was
    another ~2 ms). It is pinged before reuse and replaced after LOOKUP_REUSE_S (the network may
    have changed); a reply not acknowledged within the timeout fails the lookup, as a connect does,
    rather than hang on a dead link. Returned without the pool's extra rollback: every use is a
    ``begin()`` block, ended by then."""
    return create_engine(url, pool_size=1, max_overflow=2, pool_recycle=LOOKUP_REUSE_S, pool_pre_ping=True,
                         pool_reset_on_return=None,
                         connect_args={"connect_timeout": LOOKUP_TIMEOUT_S,
                                       "tcp_user_timeout": LOOKUP_TIMEOUT_S * 1000})


def lookup_person(store: Store, url: str, id_number: str) -> Lookup:
    """Ask central for a person this store does not hold: the person, their cards, cases and
    the clerks those name are merged here, and from now on the person is in this window's scope.
    Also how a card business checks a card against central first (see :func:`check_card_with_central`)."""
    window, _ = identity(store)
    engine = _lookup_engine(url)
    try:
        with engine.begin() as conn:
            # The push lock keeps the streams in commit order; taken (in the same round trip) only
            # when central knows the person.
            person_id = conn.scalar(text("SELECT id, pg_advisory_xact_lock(:k) FROM person WHERE id_number = :n"),
                                    {"n": id_number, "k": PUSH_LOCK})
            if person_id is None:
                return Lookup(None)
            rows = scope.adopt(conn, window, person_id)
    except (OperationalError, DBAPIError) as exc:
        raise CentralUnavailable("暂时无法连接中心数据库，未能查询该人员在其他窗口的记录；可按申请人提供的证件和材料继续办理",
                                 f"lookup at {engine.url.host}: {exc.__class__.__name__}: {getattr(exc, 'orig', exc)}") from exc
    with store.engine.begin() as conn:
        result = apply_changes(conn, rows, pushed=True, park=True)
    observe_received(store, rows)
    log.info("looked up a person at central: %d changes received", result.applied)
    return Lookup(person_id, result.applied, len(result.conflicts))


def central_url(policy: Policy) -> str:
    """The central database this workstation is configured for ("" when it works alone)."""
    return os.environ.get("SHEBAO_CENTRAL") or policy.site.central_url


def check_person_with_central(store: Store, url: str, id_number: str) -> bool:
    """Before a loss, lift or reissue: bring the person and their cards up to central's state, so
    the card rules decide on what every window knows (a card formally lost elsewhere cannot be
    lifted here). Returns False when central cannot be reached: the business goes on, and the
    merge rules settle it at the next sync (a conflict is flagged for a supervisor)."""
    try:
        lookup_person(store, url, id_number)
    except CentralUnavailable as exc:
        log.warning("card check at central not made: %s", exc.detail)
        return False
    return True


def check_card_with_central(store: Store, url: str, card_id: str) -> bool:
    """:func:`check_person_with_central` for the holder of this card."""
    with store.read() as s:
        id_number = s.scalar(select(Person.id_number).join(Card, Card.person_id == Person.id)
                             .where(Card.id == card_id))
    return id_number is not None and check_person_with_central(store, url, id_number)
