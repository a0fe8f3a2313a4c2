"""Listing the printers the system knows, without Qt (the core must not import it)."""

from __future__ import annotations

import logging
import os
import re
import shutil
import subprocess
import sys
import time

log = logging.getLogger(__name__)


def list_printers() -> list[str]:
    """Printer names from CUPS (Linux, UOS/Kylin) or Windows' spooler; [] if none or unknown."""
    try:
        if sys.platform == "win32":
            out = subprocess.run(["powershell", "-NoProfile", "-Command", "Get-Printer | Select-Object -ExpandProperty Name"],
                                 capture_output=True, text=True, timeout=10, check=False).stdout
            return [line.strip() for line in out.splitlines() if line.strip()]
        if shutil.which("lpstat"):
            out = subprocess.run(["lpstat", "-e"], capture_output=True, text=True, timeout=10, check=False).stdout
            return [line.strip() for line in out.splitlines() if line.strip()]
    except (OSError, subprocess.TimeoutExpired) as exc:
        log.info("cannot list printers: %s", exc)
    return []


def default_printer() -> str:
    """The system's default printer (CUPS' default destination, Windows' default printer); else the
    only printer there is; "" when there is none or several and none is the default."""
    try:
        if sys.platform == "win32":
            out = subprocess.run(["powershell", "-NoProfile", "-Command",
                                  "(Get-CimInstance Win32_Printer -Filter 'Default=TRUE').Name"],
                                 capture_output=True, text=True, timeout=10, check=False).stdout.strip()
        elif shutil.which("lpstat"):
            found = re.search(r"system default destination: (\S+)", _lpstat("-d"))
            out = found.group(1) if found else ""
        else:
            out = ""
    except (OSError, subprocess.TimeoutExpired) as exc:
        log.info("cannot ask for the default printer: %s", exc)
        out = ""
    if out:
        return out
    every = list_printers()
    return every[0] if len(every) == 1 else ""


# -- one CUPS queue: is it ready, and did our job come out ----------------------------------
# Through the CUPS command-line clients (cups-client), which honour CUPS_SERVER like the Qt
# print engine does; run with LANG=C so their output does not depend on the clerk's locale.
# Windows' spooler has the same questions behind Get-Printer / Get-PrintJob (not wired yet).

QUEUE_REASONS = {  # printer-state-reasons / alerts → what the clerk can do
    "media-empty": "打印机缺纸，请加纸", "media-jam": "打印机卡纸，请清除卡纸", "toner-empty": "打印机墨粉用完",
    "door-open": "打印机盖板未关", "offline": "打印机离线，请检查电源和连接线",
}


def _lpstat(*args: str) -> str:
    env = {**os.environ, "LANG": "C", "LC_ALL": "C"}
    result = subprocess.run(["lpstat", *args], capture_output=True, text=True, timeout=15, env=env, check=False)
    return result.stdout


def cups_available() -> bool:
    return sys.platform != "win32" and shutil.which("lpstat") is not None


def queue_problem(name: str) -> str | None:
    """The clerk's sentence when queue ``name`` will not print now (stopped, rejecting, unknown); else None."""
    if not cups_available():
        return None
    try:
        state = _lpstat("-l", "-p", name)
        accepting = _lpstat("-a", name)
    except (OSError, subprocess.TimeoutExpired) as exc:
        log.warning("lpstat for %s failed: %s", name, exc)
        return None
    if not state.strip():
        return f"找不到打印机“{name}”，请检查打印机是否已安装"
    alerts = " ".join(line for line in state.splitlines() if line.strip().startswith("Alerts:"))
    for key, text in QUEUE_REASONS.items():
        if key in alerts:
            return f"打印机“{name}”：{text}，然后点“重新打印”"
    if re.search(rf"^printer {re.escape(name)} disabled", state, re.M):
        return f"打印机“{name}”已暂停，请检查打印机（开机、有纸）并恢复打印后点“重新打印”"
    if "not accepting" in accepting:
        return f"打印机“{name}”拒绝接收打印任务，请管理员在打印机设置中恢复后点“重新打印”"
    return None


def job_ids(name: str, which: str = "not-completed") -> set[int]:
    """Job ids on queue ``name``: ``not-completed`` (waiting or printing) or ``all``."""
    if not cups_available():
        return set()
    try:
        out = _lpstat("-W", which, "-o", name)
    except (OSError, subprocess.TimeoutExpired):
        return set()
    prefix = f"{name}-"
    return {int(line.split()[0][len(prefix):]) for line in out.splitlines()
            if line.startswith(prefix) and line.split()[0][len(prefix):].isdigit()}


def cancel_jobs(name: str, ids: set[int]) -> None:
    for job in sorted(ids):
        subprocess.run(["cancel", f"{name}-{job}"], capture_output=True, timeout=15, check=False)


def wait_until_printed(name: str, ids: set[int], timeout: float) -> str | None:
    """Waits while our jobs are on the queue; the clerk's sentence if the queue stops or they never finish."""
    deadline = time.monotonic() + timeout
    while True:
        waiting = job_ids(name) & ids
        problem = queue_problem(name)
        if problem:
            return problem
        if not waiting:
            return None
        if time.monotonic() > deadline:
            return f"打印机“{name}”长时间未完成打印，请检查打印机后点“重新打印”"
        time.sleep(0.3)


def submit(name: str, pdf: str, *, title: str, copies: int = 1, gray: bool = False, duplex: bool = False) -> int:
    """Hands the PDF itself to CUPS (its filters keep the text and print at the printer's resolution).

    Returns the job id; raises OSError/RuntimeError with lp's reason.
    """
    args = ["lp", "-d", name, "-t", title, "-n", str(max(1, copies))]
    if gray:
        args += ["-o", "print-color-mode=monochrome"]
    if duplex:
        args += ["-o", "sides=two-sided-long-edge"]
    env = {**os.environ, "LANG": "C", "LC_ALL": "C"}
    result = subprocess.run([*args, "--", pdf], capture_output=True, text=True, timeout=60, env=env, check=False)
    match = re.search(rf"request id is {re.escape(name)}-(\d+)", result.stdout)
    if result.returncode != 0 or not match:
        raise RuntimeError(f"lp exit {result.returncode}: {(result.stderr or result.stdout).strip()[-300:]}")
    return int(match.group(1))


def live_queues() -> list[str]:
    """Queues that would print now: enabled and accepting jobs (CUPS); elsewhere every printer listed."""
    if not cups_available():
        return list_printers()
    try:
        enabled = {m.group(1) for m in re.finditer(r"^printer (\S+) (?:is idle|now printing)", _lpstat("-p"), re.M)}
        accepting = {m.group(1) for m in re.finditer(r"^(\S+) accepting requests", _lpstat("-a"), re.M)}
    except (OSError, subprocess.TimeoutExpired) as exc:
        log.info("cannot list queues: %s", exc)
        return []
    return sorted(enabled & accepting)
