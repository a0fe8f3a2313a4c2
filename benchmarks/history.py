"""Every run of ``./shebao bench`` appended to ``bench-results/history.jsonl``, and each new figure set
beside the previous run and the best run on the same machine, so a regression shows the day it happens.

Figures are compared by their ratio to the floor measured in the same run (a loaded machine slows
both sides), or by the value itself when a figure has no baseline. Runs are comparable when they come
from the same machine (host, CPU model, cores), in the same mode (full or quick) and with the same
``SHEBAO_BENCH_*`` size settings.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

WORSE = 0.25  # a ratio worse than the previous or the best run by more than this is flagged


def score(figure: dict) -> float:
    """What is compared across runs: the ratio to the same run's floor, else the value."""
    return float(figure.get("ratio") or figure["value"])


def direction(figure: dict) -> str:
    return figure.get("better") or ("higher" if figure.get("unit", "").endswith("/s") else "lower")


def worse_by(now: float, then: float, better: str) -> float | None:
    """How much worse ``now`` is than ``then`` (0.3 = 30 % worse; negative = better): for a "lower is
    better" figure the growth of the ratio, for a "higher is better" one the growth of its inverse, so
    both read as "costs this much more per unit of work". None when either is not positive."""
    if now <= 0 or then <= 0:
        return None
    return now / then - 1 if better == "lower" else then / now - 1


def comparable(a: dict, b: dict) -> bool:
    return (a["machine"]["id"] == b["machine"]["id"] and a.get("mode") == b.get("mode")
            and a.get("settings", {}) == b.get("settings", {}))


def load(path: Path) -> list[dict]:
    """The runs recorded so far; a line that is not JSON (a run killed while writing) is skipped."""
    if not path.exists():
        return []
    runs = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            runs.append(json.loads(line))
        except ValueError:
            continue
    return runs


def append(path: Path, record: dict) -> None:
    torn = path.exists() and path.stat().st_size > 0 and not path.read_bytes().endswith(b"\n")
    with path.open("a", encoding="utf-8") as out:
        out.write(("\n" if torn else "") + json.dumps(record, ensure_ascii=False) + "\n")


@dataclass
class Earlier:
    score: float
    when: str
    worse: float | None

    @property
    def flagged(self) -> bool:
        return self.worse is not None and self.worse > WORSE


@dataclass
class Line:
    figure: dict
    previous: Earlier | None
    best: Earlier | None

    @property
    def flagged(self) -> bool:
        return any(e is not None and e.flagged for e in (self.previous, self.best))


def compare(record: dict, earlier_runs: list[dict]) -> list[Line]:
    """Each figure of ``record`` beside the latest earlier comparable run that has it and the best one."""
    runs = [r for r in earlier_runs if comparable(r, record)]
    lines = []
    for figure in record["figures"]:
        better, now = direction(figure), score(figure)
        seen = [(score(f), r["when"]) for r in runs for f in r["figures"] if f["name"] == figure["name"]]
        previous = best = None
        if seen:
            prev_score, prev_when = seen[-1]
            pick = min if better == "lower" else max
            best_score, best_when = pick(seen, key=lambda s: s[0])
            previous = Earlier(prev_score, prev_when, worse_by(now, prev_score, better))
            best = Earlier(best_score, best_when, worse_by(now, best_score, better))
        lines.append(Line(figure, previous, best))
    return lines


def _num(x: float) -> str:
    return f"{x:,.0f}" if abs(x) >= 1000 else f"{x:.3g}" if abs(x) < 10 else f"{x:.1f}"


def _earlier(e: Earlier | None) -> str:
    if e is None:
        return "—"
    change = "" if e.worse is None else f" {e.worse * 100:+.0f}%"
    return f"{_num(e.score)} ({e.when[:16].replace('T', ' ')}){change}"


def table(lines: list[Line]) -> str:
    """A plain-text table; "+40%" = the ratio is 40 % worse now, "-10%" = 10 % better; ``<<`` marks a
    figure worse than the previous or the best run by more than ``WORSE``."""
    rows = [("figure", "value", "ratio (better)", "previous run", "best run here", "")]
    for line in lines:
        f = line.figure
        rows.append((f["name"], f"{_num(f['value'])} {f['unit']}", f"{_num(score(f))} ({direction(f)})",
                     _earlier(line.previous), _earlier(line.best),
                     f"<< worse by more than {WORSE:.0%}" if line.flagged else ""))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    legend = (f"ratio = value / the baseline measured in the same run; +N% = this run's ratio is N % worse than "
              f"that run's (-N% better); << = worse by more than {WORSE:.0%}")
    return "\n".join([legend, *("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows)])
