"""What the status bar says about sync: last success, changes waiting, conflicts, a warning."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import func, select

from shebao_desk.clock import local_text, now_utc
from shebao_desk.models import SyncChange, SyncConflict, SyncParked, SyncQuarantine
from shebao_desk.store.database import Store
from shebao_desk.store import state


@dataclass(frozen=True)
class SyncStatus:
    last_sync: dt.datetime | None
    pending: int
    conflicts: int
    warn: bool
    blocked: int = 0  # changes the central database refused, kept in quarantine
    reason: str = ""  # the most common reason among them
    parked: int = 0  # changes received that wait for a row they depend on (taken in when it arrives)

    def text(self) -> str:
        last = local_text(self.last_sync) if self.last_sync else "从未同步"
        parts = [f"上次同步：{last}", f"待同步 {self.pending} 条"]
        if self.blocked:
            parts.insert(0, f"同步受阻：{self.blocked} 条，原因 {self.reason}")
        if self.parked:
            parts.append(f"收到的变更 {self.parked} 条等待其所依赖的记录")
        if self.conflicts:
            parts.append(f"待主管处理的冲突 {self.conflicts} 条")
        return "　".join(parts)


def sync_status(store: Store, warn_after_days: int, now: dt.datetime | None = None) -> SyncStatus:
    now = now or now_utc()
    with store.engine.connect() as conn:
        last = state.last_sync(conn)
        pending = conn.execute(select(func.count()).select_from(SyncChange)
                               .where(SyncChange.pushed.is_(False))).scalar_one()
        conflicts = conn.execute(select(func.count()).select_from(SyncConflict)
                                 .where(SyncConflict.resolved_at.is_(None))).scalar_one()
        parked = conn.execute(select(func.count()).select_from(SyncParked)).scalar_one()
        reasons = conn.execute(select(SyncQuarantine.reason, func.count()).group_by(SyncQuarantine.reason)
                               .order_by(func.count().desc())).all()
    reference = last
    if reference is None:
        with store.engine.connect() as conn:
            reference = conn.scalar(select(func.min(SyncChange.created_at)).where(SyncChange.pushed.is_(False)))
    warn = bool(pending) and reference is not None and now - reference > dt.timedelta(days=warn_after_days)
    blocked = sum(n for _, n in reasons)
    return SyncStatus(last, pending, conflicts, warn or bool(conflicts) or bool(blocked), blocked,
                      reasons[0][0] if reasons else "", parked)
