"""A store with 1,000,000 cases: the monthly report and searches, each against the bare SQLite
query on the same index, run side by side."""

from __future__ import annotations

import datetime as dt
import random
import sqlite3
import tempfile
import uuid
from pathlib import Path

from benchmarks.common import Figure, median_ms
from shebao_desk.idnumber import make_id_number
from shebao_desk.policy import load_policy
from shebao_desk.queries import search
from shebao_desk.statistics import month, report_sections
from shebao_desk.store import open_store

CASES = 1_000_000
PEOPLE = 300_000
SURNAMES = "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗梁宋郑谢韩唐冯于董萧"
BUSINESSES = ["apply", "activate", "temp_loss", "formal_loss", "lift_loss", "reissue", "replace", "pin_reset",
              "pin_change", "info_change", "cancel"]


def _bulk_fill(path: Path) -> tuple[str, str]:
    """Synthetic rows written straight into the tables (no audit, no change log): benchmark data only."""
    rng = random.Random(1)
    db = sqlite3.connect(path)
    clerk = str(uuid.uuid4())
    now = "2026-01-01 00:00:00.000000"
    db.execute("INSERT INTO clerk (id, username, display_name, role, password_hash, active, failed_logins, created_at,"
               " updated_at) VALUES (?, 'bench', '基准', 'clerk', 'x', 1, 0, ?, ?)", (clerk, now, now))
    people, sample_id, sample_name = [], None, None
    base = dt.date(1940, 1, 1)
    for i in range(PEOPLE):
        number = make_id_number("611002", base + dt.timedelta(days=i % 25000), (i // 25000) % 1000)
        name = rng.choice(SURNAMES) + rng.choice("伟芳娜秀英敏静丽强磊军洋勇艳杰") + rng.choice("明华红兰平刚")
        people.append((str(uuid.uuid4()), number, name, "1", "01", base.isoformat(), "611002", "", "", "active",
                       now, now))
        if i == PEOPLE // 2:
            sample_id, sample_name = number, name
    db.executemany("INSERT OR IGNORE INTO person (id, id_number, name, sex, ethnicity, birth_date, birthplace, phone,"
                   " address, status, created_at, updated_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)", people)
    ids = [p[0] for p in people]
    start = dt.datetime(2025, 1, 1)
    cases = []
    for i in range(CASES):
        at = start + dt.timedelta(seconds=rng.randrange(0, 700 * 86400))
        business = rng.choice(BUSINESSES)
        status = rng.choice(["completed", "completed", "accepted", "returned"])
        done = (at + dt.timedelta(days=rng.randint(0, 12))) if status == "completed" else None
        promised = (at + dt.timedelta(days=9)).date().isoformat() if business in ("apply", "reissue", "replace") else None
        cases.append((str(uuid.uuid4()), f"SZ01A-{at:%Y%m%d}-{i:07d}", business, "self", rng.choice(ids), "[]", "[]",
                      status, clerk, at.strftime("%Y-%m-%d %H:%M:%S.%f"), "A", promised,
                      done.strftime("%Y-%m-%d %H:%M:%S.%f") if done else None, now, now))
    db.executemany('INSERT INTO "case" (id, number, business, mode, person_id, materials, missing, status, '
                   "accepted_by, accepted_at, workstation, promised_date, completed_at, created_at, updated_at, "
                   "agent_name, agent_id_number, agent_relation, agent_phone, reason, fee) "
                   "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,'','','','','',0)", cases)
    db.commit()
    db.execute("ANALYZE")
    db.close()
    return sample_id, sample_name[:1]


def run() -> list[Figure]:
    policy = load_policy()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "million.sqlite3"
        store = open_store(path, encrypt=False)  # the bare query below reads the same file with plain sqlite3
        id_number, surname = _bulk_fill(path)
        period = month("2026-03")
        start, end = (b.replace(tzinfo=None) for b in period.utc_bounds())
        bare = sqlite3.connect(path)

        def report():
            with store.read() as s:
                report_sections(s, period, policy)

        def bare_report():
            bare.execute('SELECT business, count(*) FROM "case" WHERE accepted_at >= ? AND accepted_at < ? '
                         "GROUP BY business", (str(start), str(end))).fetchall()
            bare.execute('SELECT business, count(*) FROM "case" WHERE completed_at >= ? AND completed_at < ? '
                         "GROUP BY business", (str(start), str(end))).fetchall()

        def by_id():
            with store.read() as s:
                assert search(s, id_number).people

        def bare_by_id():
            bare.execute("SELECT * FROM person WHERE id_number = ?", (id_number,)).fetchall()

        def by_name():
            with store.read() as s:
                search(s, surname)

        def bare_by_name():
            bare.execute("SELECT * FROM person WHERE name >= ? AND name < ? ORDER BY name LIMIT 200",
                         (surname, surname + "\U0010ffff")).fetchall()

        figures = []
        for name, ours, base, target_ms, runs in (("monthly_report_1m_cases", report, bare_report, 1000, 5),
                                                   ("search_by_id_number", by_id, bare_by_id, 5, 50),
                                                   ("search_by_name_prefix", by_name, bare_by_name, 30, 20)):
            value, floor = median_ms(ours, runs), median_ms(base, runs)
            figures.append(Figure(name, value, "ms", "bare SQLite query on the same index", floor,
                                  f"<= {target_ms} ms", value <= target_ms,
                                  note=f"{CASES} cases, {PEOPLE} people; the search also loads cards and cases"))
        bare.close()
        store.close()
    return figures
