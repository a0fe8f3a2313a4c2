"""Runs the benchmark modules, records the run and compares it with the earlier ones.

``python -m benchmarks [--quick] [--out DIR] [MODULE ...]`` (``./shebao bench`` starts the services
first). Every ``benchmarks/bench_*.py`` is found and run unless modules are named; each declares the
figures it makes (``FIGURES``) and has ``run(quick: bool) -> list[Figure]``. A module that raises, or
that does not return exactly its declared figures, is listed under ``"failed"``; the exit status is 1
then, 0 otherwise (timings never fail a run: they are compared, not asserted). ``--quick`` runs every
module at small sizes in seconds (the test suite does, so a broken benchmark is seen at once).
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib
import json
import logging
import os
import pkgutil
import shutil
import sys
import tempfile
import time
import traceback
from pathlib import Path

from benchmarks import history
from benchmarks.common import Figure, machine


class BenchError(Exception):
    """A benchmark module that did not make the figures it promises."""


# Run after all others: it reads a 7.4 GB store end to end, and the modules that followed it met a cold
# page cache (this VM pages out file pages it finds cold): the plain store's intake save took 117 ms
# after it against 14.6 ms in a run where it came later (2026-12-06 01:31 vs 2026-12-05 20:42).
LAST = ("benchmarks.bench_db_check",)


def bench_modules() -> list[str]:
    """Every ``bench_*`` module of the package (a new one is run without being listed anywhere), in name
    order but for :data:`LAST`."""
    import benchmarks
    names = sorted(f"benchmarks.{m.name}" for m in pkgutil.iter_modules(benchmarks.__path__)
                   if m.name.startswith("bench_"))
    return sorted(names, key=lambda n: n in LAST)


def run_module(name: str, quick: bool) -> list[dict]:
    module = importlib.import_module(name)
    declared = list(getattr(module, "FIGURES", ()))
    if not declared:
        raise BenchError(f"{name} declares no FIGURES")
    figures = module.run(quick=quick)
    if not all(isinstance(f, Figure) for f in figures):
        raise BenchError(f"{name}.run() returned something other than Figure records")
    names = [f.name for f in figures]
    missing = [n for n in declared if n not in names]
    extra = [n for n in names if n not in declared or names.count(n) > 1]
    if missing or extra:
        raise BenchError(f"{name}: figures missing {missing}, undeclared or repeated {sorted(set(extra))}")
    return [{**f.as_json(), "module": name} for f in figures]


def _print_figure(figure: dict) -> None:
    status = "met" if figure["met"] else "NOT met"
    print(f"{figure['name']}: {figure['value']} {figure['unit']} (baseline {figure['baseline_value']}, "
          f"ratio {figure['ratio']}, target {figure['target']}: {status})", flush=True)


def run(names: list[str], quick: bool) -> dict:
    """The run's record: figures, modules run (with their seconds), failures and their reasons."""
    record: dict = {"when": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"), "machine": machine(),
                    "mode": "quick" if quick else "full",
                    "settings": {k: v for k, v in sorted(os.environ.items()) if k.startswith("SHEBAO_BENCH_")},
                    "load": {"start": [round(x, 2) for x in os.getloadavg()]},
                    "modules": {}, "figures": [], "failed": [], "errors": {}}
    for name in names:
        print(f"== {name}{' (quick)' if quick else ''}", flush=True)
        t = time.perf_counter()
        try:
            figures = run_module(name, quick)
        except Exception as exc:  # noqa: BLE001 - one broken benchmark must not hide the others
            traceback.print_exc()
            record["failed"].append(name)
            record["errors"][name] = f"{type(exc).__name__}: {exc}"[:500]
        else:
            for figure in figures:
                figure["when"] = record["when"]  # latest.json mixes runs after a run of named modules
                _print_figure(figure)
            record["figures"] += figures
        record["modules"][name] = round(time.perf_counter() - t, 1)
    record["load"]["end"] = [round(x, 2) for x in os.getloadavg()]
    return record


def _merge_latest(path: Path, record: dict) -> dict:
    """A run of named modules keeps the other modules' figures of the last comparable run."""
    if not path.exists():
        return record
    try:
        earlier = json.loads(path.read_text(encoding="utf-8"))
        if not history.comparable(earlier, record):
            return record
    except (ValueError, KeyError):
        return record
    ran = set(record["modules"])  # a module run now replaces all its earlier figures, even if it failed
    return {**record,
            "figures": [f for f in earlier["figures"] if f.get("module") not in ran] + record["figures"],
            "modules": {**{m: s for m, s in earlier.get("modules", {}).items() if m not in ran}, **record["modules"]},
            "failed": [m for m in earlier.get("failed", []) if m not in ran] + record["failed"],
            "errors": {**{m: e for m, e in earlier.get("errors", {}).items() if m not in ran}, **record["errors"]}}


def markdown(latest: dict) -> str:
    """The figures as the README's table, with the run(s) and machine they came from."""
    def num(x: float) -> str:
        return f"{x:,.0f}" if abs(x) >= 100 else f"{x:.3g}"
    runs = sorted({f.get("when", latest["when"]) for f in latest["figures"]})
    lines = [f"Measured {', '.join(w[:16].replace('T', ' ') for w in runs)} UTC ({latest['mode']} run) on "
             f"{latest['machine']['id']}, load average {latest['load']['start']} → {latest['load']['end']}"
             f"{'; failed: ' + ', '.join(latest['failed']) if latest['failed'] else ''}.", "",
             "| figure | value | baseline (same run) | ratio | target | met |", "|---|---|---|---|---|---|"]
    for f in latest["figures"]:
        lines.append(f"| `{f['name']}` | {num(f['value'])} {f['unit']} | {num(f['baseline_value'])}: {f['baseline']} "
                     f"| {f['ratio']} | {f['target']} | {'yes' if f['met'] else '**no**'} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__.split("\n\n")[0])
    parser.add_argument("modules", nargs="*", help="run only these (e.g. benchmarks.bench_city); "
                        "latest.json keeps the other figures")
    parser.add_argument("--quick", action="store_true", help="small sizes, seconds a module (what the tests run)")
    parser.add_argument("--out", type=Path, default=Path("bench-results"), help="where latest.json and history.jsonl go")
    parser.add_argument("--markdown", action="store_true", help="run nothing: print OUT/latest.json as the "
                        "README's table")
    args = parser.parse_args(argv)
    if args.markdown:
        print(markdown(json.loads((args.out / "latest.json").read_text(encoding="utf-8"))))
        return 0
    logging.basicConfig(level=logging.WARNING)
    known = bench_modules()
    unknown = [m for m in args.modules if m not in known]
    if unknown:
        parser.error(f"no such benchmark module: {', '.join(unknown)} (known: {', '.join(known)})")
    keys = None
    if not os.environ.get("SHEBAO_KEYS"):  # the benchmark stores' keys never go to the user's keyring
        keys = tempfile.mkdtemp(prefix="shebao-bench-keys-")
        os.environ["SHEBAO_KEYS"], os.environ["SHEBAO_KEYRING"] = keys, "0"
    try:
        record = run(args.modules or known, args.quick)
    finally:
        if keys:
            shutil.rmtree(keys, ignore_errors=True)
    out = args.out
    out.mkdir(parents=True, exist_ok=True)
    earlier_runs = history.load(out / "history.jsonl")
    history.append(out / "history.jsonl", record)
    latest = _merge_latest(out / "latest.json", record)
    (out / "latest.json").write_text(json.dumps(latest, ensure_ascii=False, indent=2), encoding="utf-8")
    print(f"\n{record['mode']} run on {record['machine']['id']}, load average {record['load']['start']} at the start, "
          f"{record['load']['end']} at the end")
    print(history.table(history.compare(record, earlier_runs)))
    print(f"wrote {out / 'latest.json'} ({len(latest['figures'])} figures); appended to {out / 'history.jsonl'}")
    if record["failed"]:
        for name in record["failed"]:
            print(f"FAILED {name}: {record['errors'][name]}", file=sys.stderr)
        return 1
    return 0
