"""A CLI command as the clerk's shell runs it: a whole new process, beside a bare ``python -c pass``.

``calendar due`` needs the data files (validated at every command) and nothing else: no Qt, no
database, no Argon2, no Alembic. The two processes alternate, so a change in the machine's load falls
on both.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile

from benchmarks.common import Figure, alternating

FIGURES = ("cli_calendar_due",)
TARGET_S = 0.5


def _process(*args: str, env: dict[str, str]) -> None:
    subprocess.run([sys.executable, *args], env=env, check=True, stdout=subprocess.DEVNULL)


def run(quick: bool = False) -> list[Figure]:
    runs = 3 if quick else 20
    with tempfile.TemporaryDirectory(prefix="shebao-bench-cli-") as home:
        env = {**os.environ, "HOME": home, "XDG_DATA_HOME": home, "XDG_STATE_HOME": home}
        ours, bare = alternating(runs, lambda: _process("-m", "shebao_desk", "calendar", "due", "2026-12-01", "7", env=env),
                                 lambda: _process("-c", "pass", env=env))
    return [Figure("cli_calendar_due", round(ours, 1), "ms", "bare `python -c pass` (new process each, alternating)",
                   round(bare, 1), f"<= {TARGET_S * 1000:.0f} ms", ours <= TARGET_S * 1000,
                   note=f"`shebao-desk calendar due 2026-12-01 7`, whole process, median of {runs}")]
