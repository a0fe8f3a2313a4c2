"""A store with 1,000,000 cases (and a card for every person): the monthly report and searches; and a
store with 100,000 open cases: the Today page's queries. Each against the bare SQLite query on the same
index, run side by side."""

from __future__ import annotations

import datetime as dt
import random
import tempfile
import uuid
from pathlib import Path

from benchmarks.common import Figure, median_ms
from shebao_desk.rules.idnumber import make_id_number
from shebao_desk.config.policy import load_policy
from shebao_desk.config.catalogue import BUSINESS_CODES
from shebao_desk.services.queries import LIST_LIMIT, losses_lapsing, open_case_counts, open_cases, search, todays_cases
from shebao_desk.services.statistics import month, report_sections
from shebao_desk.store.database import connect_file, open_store

FIGURES = ("today_page_100k_open_cases", "monthly_report_1m_cases", "search_by_id_number", "search_by_name_prefix")
CASES = 1_000_000
QUICK_CASES = 5_000  # --quick: every query runs, on a store of this size
SURNAMES = "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗梁宋郑谢韩唐冯于董萧"
BUSINESSES = list(BUSINESS_CODES)
OPEN_CASES = 100_000  # the Today page's store: this many accepted, not yet completed
TODAY = dt.date(2026, 3, 9)


def people_for(cases: int) -> int:
    """Three people in ten cases, as at a county window (300,000 for the million)."""
    return max(cases * 3 // 10, 1000)


def _open_status(rng: random.Random) -> str:
    return "accepted"


def _bulk_fill(path: Path, n_cases: int, n_people: int, status_of=None,
               start: dt.datetime = dt.datetime(2025, 1, 1), spread_days: int = 700) -> tuple[str, str]:
    """Synthetic rows written straight into the tables (no audit, no change log): benchmark data only.
    Every person has a card (normal, or pending while an apply is open), so joins and card lookups
    meet a realistic card table."""
    rng = random.Random(1)
    db = connect_file(path)  # the store is encrypted (SQLCipher): the same key the program uses
    clerk = str(uuid.uuid4())
    now = "2026-01-01 00:00:00.000000"
    db.execute("INSERT INTO clerk (id, username, display_name, role, password_hash, active, failed_logins, created_at,"
               " updated_at) VALUES (?, 'bench', '基准', 'clerk', 'x', 1, 0, ?, ?)", (clerk, now, now))
    people, sample_id, sample_name = [], None, None
    base = dt.date(1940, 1, 1)
    for i in range(n_people):
        number = make_id_number("611002", base + dt.timedelta(days=i % 25000), (i // 25000) % 1000)
        name = rng.choice(SURNAMES) + rng.choice("伟芳娜秀英敏静丽强磊军洋勇艳杰") + rng.choice("明华红兰平刚")
        people.append((str(uuid.uuid4()), number, name, "1", "01", base.isoformat(), "611002", "", "", "active",
                       now, now))
        if i == n_people // 2:
            sample_id, sample_name = number, name
    db.executemany("INSERT OR IGNORE INTO person (id, id_number, name, sex, ethnicity, birth_date, birthplace, phone,"
                   " address, status, created_at, updated_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)", people)
    ids = [row[0] for row in db.execute("SELECT id FROM person")]
    db.executemany("INSERT INTO card (id, person_id, card_number, card_id, generation, status, issue_date, expiry_date,"
                   " void_reason, created_at, updated_at) VALUES (?,?,?,?,3,?,?,?,'',?,?)",
                   ((str(uuid.uuid4()), pid, f"S{k:08d}", f"{k:032x}", "normal" if k % 10 else "pending",
                     "2020-01-01", "2030-01-01", now, now) for k, pid in enumerate(ids)))
    cases = []
    for i in range(n_cases):
        at = start + dt.timedelta(seconds=rng.randrange(0, spread_days * 86400))
        business = rng.choice(BUSINESSES)
        status = status_of(rng) if status_of else rng.choice(["completed", "completed", "accepted", "returned"])
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


def today_page(n_open: int = OPEN_CASES) -> list[Figure]:
    """The Today page's four questions over 100,000 open cases, against the bare indexed SQLite queries
    that return the same rows (one page of each list, the two counts)."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "open.sqlite3"
        store = open_store(path)
        # Accepted over the last ~20 days: promises 9 days on, so roughly half are overdue on TODAY.
        _bulk_fill(path, n_open, n_open // 2, _open_status, dt.datetime(2026, 2, 17), 20)
        now = dt.datetime.combine(TODAY, dt.time(3), dt.UTC)
        bare = connect_file(path)  # bare DB-API on the same encrypted file: like with like
        day = TODAY.isoformat()

        def ours():
            with store.read() as s:
                todays_cases(s, now)
                open_cases(s, now)  # the lines carry the person's name and ID number
                open_case_counts(s, now)
                losses_lapsing(s, now=now)

        def floor():
            bare.execute('SELECT * FROM "case" WHERE accepted_at >= ? AND accepted_at < ? ORDER BY accepted_at DESC '
                         f"LIMIT {LIST_LIMIT}", (f"{day} 00:00:00", f"{day} 23:59:59")).fetchall()
            for cond in ("promised_date >= ?", "promised_date < ?"):
                bare.execute(f'SELECT c.*, p.name FROM "case" c JOIN person p ON p.id = c.person_id '
                             f"WHERE c.status = 'accepted' AND {cond} ORDER BY c.promised_date, c.accepted_at "
                             f"LIMIT {LIST_LIMIT}", (day,)).fetchall()
                bare.execute(f"SELECT count(*) FROM \"case\" WHERE status = 'accepted' AND {cond}", (day,)).fetchall()

        with store.read() as s:
            n_open, n_overdue = open_case_counts(s, now)
        value, base = median_ms(ours, 20), median_ms(floor, 20)
        bare.close()
        store.close()
    return [Figure("today_page_100k_open_cases", value, "ms", "bare indexed queries for the same rows on the same (encrypted) file", base,
                   "<= 50 ms", value <= 50,
                   note=f"{n_open} open in time + {n_overdue} overdue; lists limited to {LIST_LIMIT} rows with SQL counts")]


def run(quick: bool = False) -> list[Figure]:
    cases = QUICK_CASES if quick else CASES
    people = people_for(cases)
    figures = today_page(QUICK_CASES if quick else OPEN_CASES)
    policy = load_policy()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "million.sqlite3"
        store = open_store(path, encrypt=False)  # the bare query below reads the same file with plain sqlite3
        id_number, surname = _bulk_fill(path, cases, people)
        period = month("2026-03")
        start, end = (b.replace(tzinfo=None) for b in period.utc_bounds())
        bare = connect_file(path)  # bare DB-API on the same encrypted file: like with like

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

        for name, ours, base, target_ms, runs in (("monthly_report_1m_cases", report, bare_report, 1000, 5),
                                                   ("search_by_id_number", by_id, bare_by_id, 5, 50),
                                                   ("search_by_name_prefix", by_name, bare_by_name, 30, 20)):
            value, floor = median_ms(ours, runs), median_ms(base, runs)
            figures.append(Figure(name, value, "ms", "bare SQLite query on the same index", floor,
                                  f"<= {target_ms} ms", value <= target_ms,
                                  note=f"{cases} cases, {people} people; the search also loads cards and cases"))
        bare.close()
        store.close()
    return figures
