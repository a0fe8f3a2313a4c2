"""`shebao-desk devices` and the Article 9 self-check against live devices: a private CUPS queue and
SANE's test scanner, started by the test session."""

import json
import os
import subprocess
import sys

import pytest

from shebao_desk.services.window_check import self_check


def cli(*args):
    env = dict(os.environ)  # carries CUPS_SERVER and SANE_CONFIG_DIR from the fixtures
    env.pop("SHEBAO_DB", None)
    return subprocess.run([sys.executable, "-m", "shebao_desk", *args], capture_output=True, text=True,
                          timeout=120, env=env, check=False)


@pytest.mark.slow  # runs the program in a subprocess
def test_devices_lists_the_sane_test_scanner_and_the_live_queue(cups_queue, sane_test_scanner):
    result = cli("devices", "--json")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert sane_test_scanner in [s["device"] for s in data["scanners"]]
    assert cups_queue.name in data["printers"] and cups_queue.name in data["live_printers"]
    text = cli("devices").stdout
    assert "扫描仪（2 台）" in text and "test:0" in text and "扫描仪 2" in text
    assert f"{cups_queue.name}　可打印" in text


@pytest.mark.slow  # runs the program in a subprocess
def test_a_stopped_queue_is_listed_but_not_counted(cups_queue):
    cups_queue.admin("cupsdisable", cups_queue.name)
    try:
        data = json.loads(cli("devices", "--json").stdout)
    finally:
        cups_queue.admin("cupsenable", cups_queue.name)
    assert cups_queue.name in data["printers"] and cups_queue.name not in data["live_printers"]


def test_article_9_counts_live_scanners_when_sane_can_tell(policy):
    declared = policy.site.profile.scanners
    rule = {c.rule: c for c in self_check(policy.site, readers=2, printers=1, active_clerks=3)}
    assert rule["扫描仪"].actual == f"{declared} 台"  # no SANE: the number site.toml declares
    live = {c.rule: c for c in self_check(policy.site, readers=2, printers=1, active_clerks=3, scanners=0)}
    assert live["扫描仪（实时检测）"].actual == "0 台" and not live["扫描仪（实时检测）"].passed
    live = {c.rule: c for c in self_check(policy.site, readers=2, printers=1, active_clerks=3, scanners=2)}
    assert live["扫描仪（实时检测）"].passed
