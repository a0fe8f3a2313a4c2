"""A hybrid logical clock: wall-clock milliseconds, a counter, and the origin to break ties.

Its strings sort in causal order: a change made after seeing another always gets
a larger clock, even if this PC's wall clock is behind.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable


def make(ms: int, counter: int, node: str) -> str:
    return f"{ms:013d}-{counter:05d}-{node}"


def parse(text: str) -> tuple[int, int]:
    ms, counter, _ = text.split("-", 2)
    return int(ms), int(counter)


class HybridClock:
    def __init__(self, node: str, wall: Callable[[], int] = lambda: int(time.time() * 1000)) -> None:
        self.node = node
        self._wall = wall
        self._ms = 0
        self._counter = 0
        self._lock = threading.Lock()

    def now(self) -> str:
        with self._lock:
            wall = self._wall()
            if wall > self._ms:
                self._ms, self._counter = wall, 0
            else:
                self._counter += 1
            return make(self._ms, self._counter, self.node)

    def observe(self, seen: str | None) -> None:
        """Move past a clock seen from elsewhere, so later local changes sort after it."""
        if not seen:
            return
        try:
            ms, counter = parse(seen)
        except ValueError:  # a garbage clock (refused at import since) must not stop every later write
            return
        with self._lock:
            if (ms, counter) > (self._ms, self._counter):
                self._ms, self._counter = ms, counter
