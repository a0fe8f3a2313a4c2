"""The figure record and small timing helpers shared by the benchmarks."""

from __future__ import annotations

import os
import platform
import socket
import statistics
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any, TypeVar


@dataclass
class Figure:
    name: str
    value: float
    unit: str
    baseline: str          # what it was measured against, side by side
    baseline_value: float
    target: str            # e.g. "<= 50 ms" or "ratio <= 1.5"
    met: bool
    ratio: float = 0.0
    note: str = ""
    better: str = ""       # "lower" or "higher": which way the ratio improves; rates (x/s) go up

    def __post_init__(self) -> None:
        if not self.ratio and self.baseline_value:
            self.ratio = round(self.value / self.baseline_value, 3)
        if not self.better:
            self.better = "higher" if self.unit.endswith("/s") else "lower"
        if self.better not in ("lower", "higher"):
            raise ValueError(f"{self.name}: better must be 'lower' or 'higher', not {self.better!r}")

    def as_json(self) -> dict:
        return asdict(self)


def median_ms(fn: Callable[[], object], runs: int, warmup: int = 1) -> float:
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t) * 1000)
    return round(statistics.median(times), 3)


def alternating(runs: int, *fns: Callable[[], object]) -> list[float]:
    """The median ms of each of ``fns``, run in turn ``runs`` times after one warm-up round."""
    times: list[list[float]] = [[] for _ in fns]
    for i in range(runs + 1):
        for fn, out in zip(fns, times, strict=True):
            t = time.perf_counter()
            fn()
            if i:
                out.append((time.perf_counter() - t) * 1000)
    return [round(statistics.median(t), 3) for t in times]


PUSH_RUNS = int(os.environ.get("SHEBAO_BENCH_PUSH_RUNS", "3"))  # side-by-side runs of each push figure (odd)


Run = TypeVar("Run", bound=tuple[Any, ...])


def median_run(runs: list[Run]) -> Run:
    """Of runs that each begin (ours, bare) seconds of the same work measured side by side, the run whose
    ratio is the median (one run alone moves the ratio by +-5 % on a busy 2-core machine). An odd count:
    of an even one this is the upper middle, the better of the two."""
    return sorted(runs, key=lambda r: r[1] / r[0])[len(runs) // 2]


def runs_note(runs: list[Run]) -> str:
    """How the runs' ratios (bare / ours) spread, for a figure's note."""
    if len(runs) == 1:
        return "one run"
    return f"median of {len(runs)} runs (ratios {', '.join(f'{r[1] / r[0]:.3f}' for r in runs)})"


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as info:
            for line in info:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine() -> dict:
    """What the figures were measured on; ``id`` (host, CPU model, core count) keys the history:
    only runs with the same id are compared."""
    host, cpu, cpus = socket.gethostname(), _cpu_model(), os.cpu_count()
    return {"id": f"{host} / {cpu} / {cpus} cpus", "host": host, "cpu_model": cpu, "cpus": cpus,
            "python": platform.python_version(), "platform": platform.platform(), "processor": platform.machine()}
