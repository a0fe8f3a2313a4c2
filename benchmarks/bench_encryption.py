"""What encryption at rest costs: the same 1,000,000-case store plain and SQLCipher-encrypted, side by side.

Search by ID number, the monthly report and one intake save (accept an application in
its own unit of work: person, case, audit entries, hash-chain seals, change log) are
timed on both in the same run; the figure is the encrypted time, the baseline the plain
one. Aim (#14): ratio <= 1.3. ``SHEBAO_BENCH_CASES`` scales the store down for a quick look.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from benchmarks import bench_store
from benchmarks.bench_ui import _startup
from benchmarks.common import Figure, median_ms
from shebao_desk.config.catalogue import Mode
from shebao_desk.rules.idnumber import make_id_number
from shebao_desk.services.intake import accept_case
from shebao_desk.services.case_request import ApplicantInput, CaseRequest
from shebao_desk.models import Clerk
from shebao_desk.config.policy import load_policy
from shebao_desk.services.queries import search
from shebao_desk.store.site_identity import ensure_site
from shebao_desk.services.statistics import month, report_sections
from shebao_desk.store.database import open_store

FIGURES = ("encrypted_monthly_report", "encrypted_search_by_id_number", "encrypted_intake_save", "intake_save_1m",
           "start_1m_store", "store_check_1m_gui_stall")
INTAKE_TARGET_MS, START_TARGET_MS, STALL_TARGET_MS = 50, 1500, 50


def _timings(store, policy, id_number: str, clerk_id: str, seq0: int) -> dict[str, float]:
    period = month("2026-03")
    when = dt.datetime(2026, 3, 9, 2, tzinfo=dt.UTC)
    counter = iter(range(seq0, seq0 + 10_000))

    def report():
        with store.read() as s:
            report_sections(s, period, policy)

    def by_id():
        with store.read() as s:
            assert search(s, id_number).people

    def intake():
        number = make_id_number("610102", dt.date(1990, 1, 1) + dt.timedelta(days=next(counter)), 7)
        with store.unit(clerk_id, "A", "bench intake") as s:
            req = CaseRequest("apply", Mode.SELF, ApplicantInput(number, "赵测试", phone="13800000000"),
                              {"id_original", "id_copy", "photo"})
            site = ensure_site(s, policy.site, "A")
            accept_case(s, req, s.get(Clerk, clerk_id), site, policy, when)

    return {"monthly_report": median_ms(report, 5), "search_by_id_number": median_ms(by_id, 50),
            "intake_save": median_ms(intake, 30)}


def run(quick: bool = False) -> list[Figure]:
    cases = bench_store.QUICK_CASES if quick else int(os.environ.get("SHEBAO_BENCH_CASES", bench_store.CASES))
    policy = load_policy()
    with tempfile.TemporaryDirectory() as tmp:
        plain_path, enc_path = Path(tmp) / "plain.sqlite3", Path(tmp) / "enc.sqlite3"
        open_store(plain_path, encrypt=False).close()
        id_number, _ = bench_store._bulk_fill(plain_path, cases, bench_store.people_for(cases))
        shutil.copyfile(plain_path, enc_path)
        open_store(enc_path).close()  # encrypted in place, as an old store is on its first open
        results = {}
        for seq0, label, path in ((0, "plain", plain_path), (2000, "encrypted", enc_path),
                                  (4000, "plain", plain_path), (6000, "encrypted", enc_path)):
            store = open_store(path, encrypt=label == "encrypted")  # twice each, alternating: the last round counts
            with store.read() as s:
                clerk_id = s.query(Clerk.id).scalar()
            results[label] = _timings(store, policy, id_number, clerk_id, seq0)
            store.close()
        starts = 1 if quick else 3  # start -> login ready on the big store, beside a bare PySide6 window
        ready = sorted(_startup("login", enc_path)[1] for _ in range(starts))[starts // 2]
        bare = sorted(_startup("bare", enc_path)[0] for _ in range(starts))[starts // 2]
        check_s, stall = _background_check(enc_path)
    figures = []
    for name, value in results["encrypted"].items():
        base = results["plain"][name]
        figures.append(Figure(f"encrypted_{name}", value, "ms", "the same store unencrypted, same run", base,
                              "ratio <= 1.3", value <= 1.3 * base,
                              note=f"SQLCipher 4 (AES-256, HMAC-SHA512 pages); {cases} cases"))
    saved = results["encrypted"]["intake_save"]
    figures.append(Figure("intake_save_1m", saved, "ms", "the same save on the unencrypted store, same run",
                          results["plain"]["intake_save"], f"<= {INTAKE_TARGET_MS} ms", saved <= INTAKE_TARGET_MS,
                          note=f"one application accepted in its own unit of work, encrypted store of {cases} cases"))
    figures.append(Figure("start_1m_store", round(ready, 1), "ms", "bare PySide6 window (new process each)",
                          round(bare, 1), f"<= {START_TARGET_MS} ms", ready <= START_TARGET_MS,
                          note=f"start -> login ready (store opened, password field enabled; quick_check follows in the "
                               f"background), encrypted "
                               f"store of {cases} cases, median of {starts}"))
    figures.append(Figure("store_check_1m_gui_stall", round(stall, 1), "ms", "2 ms heartbeat interval", 2.0,
                          f"< {STALL_TARGET_MS} ms", stall < STALL_TARGET_MS,
                          note=f"the GUI thread's longest stall while the store's quick_check ran behind the ready "
                               f"login form ({check_s:.1f} s, the time the start used to wait), encrypted store of "
                               f"{cases} cases"))
    return figures


def _background_check(db: Path) -> tuple[float, float]:
    """(seconds the background quick_check took after login ready, longest GUI stall meanwhile in ms)."""
    out = subprocess.run([sys.executable, "-m", "benchmarks.startup_probe", "check", str(db)], capture_output=True,
                         text=True, timeout=600, env={**os.environ, "QT_QPA_PLATFORM": "offscreen"}, check=False)
    if out.returncode != 0 or not out.stdout.strip():
        raise RuntimeError(f"startup probe (check) exited {out.returncode}: {out.stderr.strip()[-2000:]}")
    _, _, took, stall = out.stdout.strip().splitlines()[-1].split()
    return float(took), float(stall)
