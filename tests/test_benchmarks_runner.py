"""What ``./shebao bench`` does with the figures, without the services: a module that breaks its promise
fails the run, every run lands in the history, and each figure is put beside the previous and the best
comparable run with a flag when its ratio got worse by more than 25 %."""

from __future__ import annotations

import json
import sys
import types
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # benchmarks/ is a top-level package of the checkout, not installed
    sys.path.insert(0, str(ROOT))

from benchmarks import history, runner  # noqa: E402
from benchmarks.common import Figure  # noqa: E402

FAKE = "benchmarks.bench_fake"


def test_the_runner_finds_every_module_file_and_reads_the_big_store_last():
    found = runner.bench_modules()
    assert sorted(found) == sorted(f"benchmarks.{p.stem}" for p in (ROOT / "benchmarks").glob("bench_*.py"))
    # the 7.4 GB db check would leave the modules after it a cold page cache
    assert found[-1] == "benchmarks.bench_db_check"
    assert found[:-1] == sorted(found[:-1])


def _fake(monkeypatch, declared, make):
    module = types.ModuleType(FAKE)
    if declared is not None:
        module.FIGURES = declared  # type: ignore[attr-defined]
    module.run = lambda quick=False: make()  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, FAKE, module)
    monkeypatch.setattr(runner, "bench_modules", lambda: [FAKE])


def fig(name, value, baseline=1.0, unit="ms", **kw):
    return Figure(name, value, unit, "bare", baseline, "none", True, **kw)


def _boom():
    raise TypeError("unsupported operand type(s) for +: 'int' and 'tuple'")


@pytest.mark.parametrize("declared, make, reason", [
    (("a",), _boom, "TypeError: unsupported operand"),
    (("a", "b"), lambda: [fig("a", 1)], "missing ['b']"),
    (("a",), lambda: [fig("a", 1), fig("c", 1)], "repeated ['c']"),
    (("a",), lambda: [fig("a", 1), fig("a", 2)], "repeated ['a']"),
    ((), lambda: [fig("a", 1)], "declares no FIGURES"),
    (None, lambda: [fig("a", 1)], "declares no FIGURES"),
    (("a",), lambda: [], "missing ['a']"),
])
def test_a_module_that_breaks_its_promise_fails_the_run(monkeypatch, tmp_path, capsys, declared, make, reason):
    _fake(monkeypatch, declared, make)
    assert runner.main(["--quick", "--out", str(tmp_path)]) == 1
    latest = json.loads((tmp_path / "latest.json").read_text(encoding="utf-8"))
    assert latest["failed"] == [FAKE] and reason in latest["errors"][FAKE]
    assert f"FAILED {FAKE}" in capsys.readouterr().err


def test_an_unknown_module_name_is_refused(tmp_path):
    with pytest.raises(SystemExit) as exc:
        runner.main(["benchmarks.bench_nonesuch", "--out", str(tmp_path)])
    assert exc.value.code == 2 and not (tmp_path / "latest.json").exists()


def test_each_run_is_appended_and_compared_with_the_previous_and_the_best(monkeypatch, tmp_path, capsys):
    runs = iter([[fig("read", 2.0), fig("push", 500, 1000, "rows/s")],   # ratios 2.0 and 0.5
                 [fig("read", 1.0), fig("push", 600, 1000, "rows/s")],   # the best: 1.0 and 0.6
                 [fig("read", 1.2), fig("push", 580, 1000, "rows/s")],   # 20 % and 3 % worse: no flag
                 [fig("read", 1.3), fig("push", 440, 1000, "rows/s")]])  # vs best: +30 %, 0.6/0.44 = +36 %
    _fake(monkeypatch, ("read", "push"), lambda: next(runs))
    for _ in range(3):
        assert runner.main(["--out", str(tmp_path)]) == 0
    capsys.readouterr()
    assert runner.main(["--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    recorded = history.load(tmp_path / "history.jsonl")
    assert [[f["value"] for f in r["figures"]] for r in recorded] == [[2.0, 500], [1.0, 600], [1.2, 580], [1.3, 440]]
    assert json.loads((tmp_path / "latest.json").read_text(encoding="utf-8"))["failed"] == []
    read_line = next(line for line in out.splitlines() if line.startswith("read "))
    push_line = next(line for line in out.splitlines() if line.startswith("push "))
    assert "1.2 (" in read_line and "+8%" in read_line  # previous run: 1.3 / 1.2
    assert "1 (" in read_line and "+30%" in read_line and "<<" in read_line  # best run: 1.0
    assert "0.58 (" in push_line and "0.6 (" in push_line and "+36%" in push_line and "<<" in push_line


def test_a_slightly_worse_figure_is_not_flagged(monkeypatch, tmp_path, capsys):
    runs = iter([[fig("read", 1.0)], [fig("read", 1.2)]])
    _fake(monkeypatch, ("read",), lambda: next(runs))
    runner.main(["--out", str(tmp_path)])
    capsys.readouterr()
    runner.main(["--out", str(tmp_path)])
    line = next(line for line in capsys.readouterr().out.splitlines() if line.startswith("read "))
    assert "+20%" in line and "<<" not in line


def test_a_failed_module_leaves_no_stale_figures_in_latest(monkeypatch, tmp_path):
    runs = iter([lambda: [fig("read", 1.0)], _boom])
    _fake(monkeypatch, ("read",), lambda: next(runs)())
    assert runner.main(["--out", str(tmp_path)]) == 0
    assert runner.main(["--out", str(tmp_path)]) == 1
    latest = json.loads((tmp_path / "latest.json").read_text(encoding="utf-8"))
    assert latest["figures"] == [] and latest["failed"] == [FAKE]


def _record(when, figures, machine_id="host / cpu / 2 cpus", mode="full", settings=None):
    return {"when": when, "machine": {"id": machine_id}, "mode": mode, "settings": settings or {},
            "figures": [f.as_json() for f in figures]}


def test_only_comparable_runs_are_compared():
    now = _record("2026-12-06T10:00", [fig("read", 2.0)])
    earlier = [_record("2026-12-01T10:00", [fig("read", 1.0)]),                       # the one to compare with
               _record("2026-12-02T10:00", [fig("read", 0.5)], machine_id="other / cpu / 8 cpus"),
               _record("2026-12-03T10:00", [fig("read", 0.5)], mode="quick"),
               _record("2026-12-04T10:00", [fig("read", 0.5)], settings={"SHEBAO_BENCH_CASES": "1000"}),
               _record("2026-12-05T10:00", [fig("other", 9.0)])]
    [line] = history.compare(now, earlier)
    assert line.previous.when == line.best.when == "2026-12-01T10:00"
    assert line.previous.worse == pytest.approx(1.0) and line.flagged


def test_worse_reads_the_same_both_ways():
    assert history.worse_by(1.3, 1.0, "lower") == pytest.approx(0.3)
    assert history.worse_by(1.0, 1.3, "higher") == pytest.approx(0.3)
    assert history.worse_by(0.9, 1.0, "lower") < 0
    assert history.worse_by(1.0, 0.0, "lower") is None
    assert fig("push", 1, unit="rows/s").better == "higher" and fig("read", 1).better == "lower"


def test_a_torn_last_line_does_not_lose_the_history(tmp_path):
    path = tmp_path / "history.jsonl"
    history.append(path, _record("2026-12-01T10:00", [fig("read", 1.0)]))
    with path.open("a", encoding="utf-8") as f:
        f.write('{"when": "2026-12-02T1')  # a run killed while writing
    assert [r["when"] for r in history.load(path)] == ["2026-12-01T10:00"]
    history.append(path, _record("2026-12-03T10:00", [fig("read", 1.0)]))  # the next run starts a line of its own
    assert [r["when"] for r in history.load(path)] == ["2026-12-01T10:00", "2026-12-03T10:00"]


def test_the_readme_table_names_every_figure_the_run_and_the_machine(monkeypatch, tmp_path, capsys):
    _fake(monkeypatch, ("read", "push"), lambda: [fig("read", 2.0), fig("push", 500, 1000, "rows/s")])
    runner.main(["--out", str(tmp_path)])
    capsys.readouterr()
    assert runner.main(["--markdown", "--out", str(tmp_path)]) == 0
    table = capsys.readouterr().out
    latest = json.loads((tmp_path / "latest.json").read_text(encoding="utf-8"))
    assert latest["machine"]["id"] in table and latest["when"][:16].replace("T", " ") in table
    assert "| `read` | 2 ms |" in table and "| `push` | 500 rows/s |" in table
    assert len(history.load(tmp_path / "history.jsonl")) == 1  # printing the table runs and records nothing
