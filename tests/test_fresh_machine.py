"""The test services start on a machine where they never ran (issue 23).

A new CI machine has no /run/pcscd, /run/postgresql or /run/cups and no PostgreSQL cluster. This
starts scripts/test-services.sh — the same pcscd + vpcd, PostgreSQL and Xvfb the suite runs on —
inside a private mount namespace whose /run is an empty tmpfs, and there uses each of them and the
session's private CUPS scheduler (tests/fresh_machine_probe.py). The machine's own /run is not seen
and not changed; the services this suite already runs are not touched (the inner ones take the next
free ports and display).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent

# What the outer run exported about its own services: the inner run must find its own.
OUTER = ("SHEBAO_TEST_PG", "SHEBAO_TEST_PCSC", "SHEBAO_TEST_PCSCD_DIR", "PCSCLITE_CSOCK_NAME", "SHEBAO_VPCD_PORT",
         "SHEBAO_XVFB_DISPLAY", "CUPS_SERVER", "CUPS_USER")


def can_unshare_mounts() -> bool:
    try:
        return subprocess.run(["unshare", "-m", "--propagation", "private", "true"], capture_output=True,
                              timeout=10, check=False).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


@pytest.mark.skipif(os.name != "posix" or not can_unshare_mounts(),
                    reason="needs root (unshare -m), as ./shebao test runs")
def test_every_test_service_starts_where_run_is_empty():
    env = {k: v for k, v in os.environ.items() if k not in OUTER}
    env["TMPDIR"] = "/tmp"  # the postgres user must reach its folder (pytest's tmp_path is root's 0700 tree)
    inner = f"""
set -e
mount -n -t tmpfs -o mode=755 shebao-empty-run /run  # -n: not even libmount's /run/mount
test -z "$(ls -A /run)"
exec bash {ROOT}/scripts/test-services.sh {sys.executable} {HERE}/fresh_machine_probe.py
"""
    run = subprocess.run(["unshare", "-m", "--propagation", "private", "sh", "-c", inner], env=env, cwd=ROOT,
                         capture_output=True, text=True, timeout=300, check=False)
    report = run.stdout + run.stderr
    lines = {line.split(" ", 1)[0]: line for line in run.stdout.splitlines()}
    for service in ("pcscd", "postgres", "xvfb"):
        assert f"{service} ok" in lines.get(service, ""), report
    assert "cups ok" in lines.get("cups", "") or "cups skipped" in lines.get("cups", ""), report
    # None of them needed the machine's /run: nothing was made there.
    assert lines.get("/run") == "/run holds: []", report
    assert run.returncode == 0, report
