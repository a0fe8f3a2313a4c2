"""A big store whose every row has its audit entry, its seal and its change log, as the program leaves
them: what ``db check`` reads at a county window after years (issue 25 item 4, issue 29's
db_check_1m_cases). The rows are written in bulk with plain SQL (fast), the trail built from the
very values written, so ``db check`` finds nothing on it.

    python -m benchmarks.trail_store PATH [CASES]      (default 1,000,000 cases, 3 people in 10)
"""

from __future__ import annotations

import datetime as dt
import random
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Table

from shebao_desk.changes.audit import _json_value
from shebao_desk.changes.audit_chain import head, link
from shebao_desk.changes.codec import encode
from shebao_desk.config.catalogue import BUSINESS_CODES
from shebao_desk.config.policy import load_policy
from shebao_desk.models import AuditEntry, AuditSeal, Card, Case, Clerk, Person, SyncChange
from shebao_desk.models.base import stable_uuid
from shebao_desk.rules.idnumber import make_id_number
from shebao_desk.store.database import open_store
from shebao_desk.store.site_identity import ensure_site

BATCH = 5_000
ORIGIN, WORKSTATION = "SZ01A", "A"
SURNAMES = "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗梁宋郑谢韩唐冯于董萧"


def _defaults(table: Table) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for column in table.columns:
        default = column.default
        out[column.key] = default.arg if default is not None and default.is_scalar else None
    return out


class Trail:
    """Writes rows with their audit entries, seals and change log, in batches, on one connection."""

    def __init__(self, conn: Connection, clerk_id: str) -> None:
        self.conn, self.clerk_id = conn, clerk_id
        self.previous, self.ms, self.counter = head(conn)[1], int(dt.datetime(2025, 1, 1, tzinfo=dt.UTC).timestamp() * 1000), 0
        self.rows: dict[str, list[dict[str, Any]]] = {}
        self.entries: list[dict[str, Any]] = []
        self.seals: list[dict[str, Any]] = []
        self.changes: list[dict[str, Any]] = []

    def _clock(self) -> str:
        self.counter += 1
        if self.counter > 99_999:
            self.ms, self.counter = self.ms + 1, 0
        return f"{self.ms:013d}-{self.counter:05d}-{ORIGIN}"

    def add(self, table: Table, values: dict[str, Any], at: dt.datetime) -> None:
        row = {**_defaults(table), "created_at": at, "updated_at": at, **values}
        self.rows.setdefault(table.name, []).append(row)
        hlc = self._clock()
        after = {k: _json_value(k, v) for k, v in row.items() if k != "photo"}
        entry = {"id": str(uuid.uuid4()), "created_at": at, "updated_at": at, "at": at, "clerk_id": self.clerk_id,
                 "workstation": WORKSTATION, "action": "bulk:insert", "table_name": table.name, "row_id": row["id"],
                 "before": None, "after": after}
        self.previous = link(self.previous, entry)
        self.entries.append(entry)
        self.seals.append({"audit_id": entry["id"], "hash": self.previous})
        now = at
        for name, row_id, logged in ((table.name, row["id"], row), ("audit_entry", entry["id"], entry)):
            self.changes.append({"change_id": str(uuid.uuid4()), "table_name": name, "row_id": row_id, "hlc": hlc,
                                 "origin": ORIGIN, "values": {k: encode(v) for k, v in logged.items()},
                                 "pushed": False, "created_at": now})
        if len(self.entries) >= BATCH:
            self.flush()

    def flush(self) -> None:
        tables = {"person": Person.__table__, "card": Card.__table__, "case": Case.__table__, "clerk": Clerk.__table__}
        for name in ("clerk", "person", "card", "case"):  # referenced rows first
            if self.rows.get(name):
                self.conn.execute(tables[name].insert(), self.rows[name])
        for table, rows in ((AuditEntry.__table__, self.entries), (AuditSeal.__table__, self.seals),
                            (SyncChange.__table__, self.changes)):
            if rows:
                self.conn.execute(table.insert(), rows)
        self.rows, self.entries, self.seals, self.changes = {}, [], [], []


def _people(n: int, rng: random.Random) -> Iterator[dict[str, Any]]:
    base = dt.date(1940, 1, 1)
    for i in range(n):
        number = make_id_number("611002", base + dt.timedelta(days=i % 25000), (i // 25000) % 1000)
        yield {"id": stable_uuid("person", number), "id_number": number, "sex": "1" if int(number[16]) % 2 else "2",
               "name": rng.choice(SURNAMES) + rng.choice("伟芳娜秀英敏静丽强磊军洋勇艳杰") + rng.choice("明华红兰平刚"),
               "birth_date": dt.date.fromisoformat(f"{number[6:10]}-{number[10:12]}-{number[12:14]}"),
               "birthplace": "611002", "status": "active"}


def fill(path: Path, n_cases: int, n_people: int | None = None) -> None:
    """A new store at ``path`` with ``n_cases`` cases, each person a card (3 people in 10 cases)."""
    n_people = n_people or max(n_cases * 3 // 10, 10)
    rng = random.Random(1)
    store = open_store(path)
    policy = load_policy()
    with store.unit(None, WORKSTATION, "setup") as s:
        ensure_site(s, policy.site, WORKSTATION)
    clerk_id = stable_uuid("clerk", "bulk")
    start = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)
    businesses = list(BUSINESS_CODES)
    with store.engine.begin() as conn:
        trail = Trail(conn, clerk_id)
        trail.add(Clerk.__table__, {"id": clerk_id, "username": "bulk", "display_name": "批量", "role": "clerk",
                                    "password_hash": "x", "active": True, "failed_logins": 0}, start)
        people = []
        for k, person in enumerate(_people(n_people, rng)):
            trail.add(Person.__table__, person, start)
            card = {"id": str(uuid.uuid4()), "person_id": person["id"], "card_number": f"S{k:08d}",
                    "card_id": f"{k:032x}", "generation": 3, "status": "normal",
                    "issue_date": dt.date(2020, 1, 1), "expiry_date": dt.date(2030, 1, 1), "void_reason": ""}
            trail.add(Card.__table__, card, start)
            people.append(person["id"])
        for i in range(n_cases):
            at = start + dt.timedelta(seconds=rng.randrange(0, 700 * 86400))
            status = rng.choice(["completed", "completed", "accepted", "returned"])
            done = at + dt.timedelta(days=rng.randint(0, 12)) if status == "completed" else None
            trail.add(Case.__table__, {
                "id": str(uuid.uuid4()), "number": f"SZ01A-{at:%Y%m%d}-{i:07d}", "business": rng.choice(businesses),
                "mode": "self", "person_id": rng.choice(people), "materials": [], "missing": [], "status": status,
                "accepted_by": clerk_id, "accepted_at": at, "workstation": WORKSTATION,
                "promised_date": (at + dt.timedelta(days=9)).date(), "completed_at": done,
                "completed_by": clerk_id if done else None}, at)
        trail.flush()
    store.close()


def main(argv: list[str]) -> int:
    path = Path(argv[0])
    cases = int(argv[1]) if len(argv) > 1 else 1_000_000
    started = time.monotonic()
    fill(path, cases)
    print(f"{path}: {cases} cases written with their trail in {time.monotonic() - started:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
