"""The benchmarks always run: every module of benchmarks/ at its quick sizes, through the entry point of
``./shebao bench`` (``python -m benchmarks --quick``), with the suite's pcscd + vpcd and PostgreSQL.
A module that raises, leaves out a figure it declares, or is not run at all fails here; timings never
do (speed is compared run to run in bench-results/history.jsonl, not asserted)."""

from __future__ import annotations

import importlib
import json
import math
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import PG, pcsc_available

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # benchmarks/ is a top-level package of the checkout, not installed
    sys.path.insert(0, str(ROOT))

# Every file, found independently of the runner's own discovery: a new module is a new case below.
BENCH_MODULES = sorted(f"benchmarks.{p.stem}" for p in (ROOT / "benchmarks").glob("bench_*.py"))

pytestmark = [pytest.mark.slow, pytest.mark.pcsc, pytest.mark.postgres, pytest.mark.timeout(900)]


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory):
    if not (PG and pcsc_available()):
        pytest.skip("needs pcscd + vpcd and PostgreSQL (./shebao test starts them)")
    out = tmp_path_factory.mktemp("bench-results")
    proc = subprocess.run([sys.executable, "-m", "benchmarks", "--quick", "--out", str(out)], cwd=ROOT,
                          capture_output=True, text=True, timeout=840, check=False)
    latest = out / "latest.json"
    assert latest.exists(), f"no latest.json; exit {proc.returncode}\n{proc.stdout[-3000:]}\n{proc.stderr[-5000:]}"
    return proc, json.loads(latest.read_text(encoding="utf-8")), out


def test_there_are_benchmark_modules():
    assert len(BENCH_MODULES) >= 7, BENCH_MODULES


def test_no_module_failed(quick_run):
    proc, latest, _ = quick_run
    assert latest["failed"] == [], f"{latest['errors']}\n{proc.stderr[-6000:]}"
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert latest["mode"] == "quick"


@pytest.mark.parametrize("name", BENCH_MODULES)
def test_each_module_ran_and_made_every_figure_it_declares(quick_run, name):
    _, latest, _ = quick_run
    assert name in latest["modules"], f"{name} was not run by python -m benchmarks"
    declared = set(importlib.import_module(name).FIGURES)
    made = [f for f in latest["figures"] if f["module"] == name]
    assert declared, f"{name} declares no figures"
    assert {f["name"] for f in made} == declared
    for figure in made:  # a number, not a timing check: NaN, inf or a negative time is a broken benchmark
        for key in ("value", "baseline_value", "ratio"):
            assert math.isfinite(figure[key]) and figure[key] >= 0, (figure["name"], key, figure[key])
        assert figure["baseline_value"] > 0, figure  # else there is no ratio to compare run to run


def test_the_run_is_recorded_and_compared(quick_run):
    proc, latest, out = quick_run
    runs = [json.loads(line) for line in (out / "history.jsonl").read_text(encoding="utf-8").splitlines()]
    assert len(runs) == 1
    assert [f["name"] for f in runs[0]["figures"]] == [f["name"] for f in latest["figures"]]
    assert runs[0]["machine"]["id"] == latest["machine"]["id"] and runs[0]["machine"]["cpu_model"]
    for figure in latest["figures"]:  # every figure in the comparison table, with no earlier run to compare
        assert any(line.split()[:1] == [figure["name"]] and "—" in line for line in proc.stdout.splitlines()), \
            figure["name"]
