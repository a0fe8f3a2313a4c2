import datetime as dt
import importlib
import json
import logging
import sys
import traceback
from pathlib import Path

from benchmarks.common import machine

MODULES = ["benchmarks.bench_card", "benchmarks.bench_documents", "benchmarks.bench_ui", "benchmarks.bench_sync", "benchmarks.bench_store", "benchmarks.bench_encryption"]


def main() -> int:
    logging.basicConfig(level=logging.WARNING)
    figures, failures = [], []
    for name in MODULES:
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
    result = {"when": dt.datetime.now(dt.UTC).isoformat(), "machine": machine(), "figures": figures,
              "failed": failures}
    (out / "latest.json").write_text(json.dumps(result, ensure_ascii=False, indent=2), encoding="utf-8")
    print(f"wrote {out / 'latest.json'} ({len(figures)} figures)")
    return 0


sys.exit(main())
