"""Listing the printers the system knows, without Qt (the core must not import it)."""

from __future__ import annotations

import logging
import shutil
import subprocess
import sys

log = logging.getLogger(__name__)


def list_printers() -> list[str]:
    """Printer names from CUPS (Linux, UOS/Kylin) or Windows' spooler; [] if none or unknown."""
    try:
        if sys.platform == "win32":
            out = subprocess.run(["powershell", "-NoProfile", "-Command", "Get-Printer | Select-Object -ExpandProperty Name"],
                                 capture_output=True, text=True, timeout=10).stdout
            return [line.strip() for line in out.splitlines() if line.strip()]
        if shutil.which("lpstat"):
            out = subprocess.run(["lpstat", "-e"], capture_output=True, text=True, timeout=10).stdout
            return [line.strip() for line in out.splitlines() if line.strip()]
    except (OSError, subprocess.TimeoutExpired) as exc:
        log.info("cannot list printers: %s", exc)
    return []
