"""The figure record and small timing helpers shared by the benchmarks."""

from __future__ import annotations

import platform
import statistics
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass


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

    def __post_init__(self) -> None:
        if not self.ratio and self.baseline_value:
            self.ratio = round(self.value / self.baseline_value, 3)

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


def machine() -> dict:
    import os
    return {"python": platform.python_version(), "platform": platform.platform(), "processor": platform.machine(),
            "cpus": os.cpu_count()}
