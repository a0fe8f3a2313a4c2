import datetime as dt
import importlib
import json
import logging
import sys
import traceback
from pathlib import Path

from benchmarks.common import machine

MODULES = ["benchmarks.bench_card", "benchmarks.bench_documents", "benchmarks.bench_ui", "benchmarks.bench_sync", "benchmarks.bench_store",
           "benchmarks.bench_encryption", "benchmarks.bench_city"]


def main() -> int:
    logging.basicConfig(level=logging.WARNING)
    figures, failures = [], []
    only = sys.argv[1:]  # e.g. `python -m benchmarks benchmarks.bench_city`: run these, keep the other figures
    for name in only or MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name == name:
                continue
            raise
        try:
            for figure in module.run():
                figures.append(figure.as_json())
                status = "met" if figure.met else "NOT met"
                print(f"{figure.name}: {figure.value} {figure.unit} (baseline {figure.baseline_value}, "
                      f"ratio {figure.ratio}, target {figure.target}: {status})", flush=True)
        except Exception:  # noqa: BLE001 - one broken benchmark must not hide the others
            failures.append(name)
            traceback.print_exc()
    out = Path("bench-results")
    out.mkdir(exist_ok=True)
    if only and (out / "latest.json").exists():
        earlier = json.loads((out / "latest.json").read_text(encoding="utf-8"))["figures"]
        fresh = {f["name"] for f in figures}
        figures = [f for f in earlier if f["name"] not in fresh] + figures
    result = {"when": dt.datetime.now(dt.UTC).isoformat(), "machine": machine(), "figures": figures,
              "failed": failures}
    (out / "latest.json").write_text(json.dumps(result, ensure_ascii=False, indent=2), encoding="utf-8")
    print(f"wrote {out / 'latest.json'} ({len(figures)} figures)")
    return 0


sys.exit(main())
