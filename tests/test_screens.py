"""The workbench, the case window and every dialog on the clerks' two screens, in real X windows:
1366×768 (desk PCs) and 1280×720 (laptops). Each size gets an Xvfb display of its own (started and
stopped here, by its pid), and tests/screen_probe.py runs there; its screenshots are kept in
artifacts/screenshots/clerk-day/ (or SHEBAO_SCREENSHOTS) to be looked at."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SHOTS = Path(os.environ.get("SHEBAO_SCREENSHOTS") or ROOT / "artifacts" / "screenshots") / "clerk-day"


def free_display() -> int:
    for n in range(70, 90):  # the suite's own Xvfb takes the first free one from :90
        if not Path(f"/tmp/.X{n}-lock").exists() and not Path(f"/tmp/.X11-unix/X{n}").exists():
            return n
    pytest.skip("no free X display between :70 and :89")


def start_xvfb(width: int, height: int) -> tuple[subprocess.Popen[bytes], str]:
    for _ in range(5):  # another run may take the display between the look and the start
        n = free_display()
        xvfb = subprocess.Popen(["Xvfb", f":{n}", "-screen", "0", f"{width}x{height}x24", "-nolisten", "tcp"],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and xvfb.poll() is None:
            if Path(f"/tmp/.X11-unix/X{n}").exists():
                return xvfb, f":{n}"
            time.sleep(0.1)
        xvfb.kill()
        xvfb.wait()
    raise RuntimeError("Xvfb did not start")


@pytest.mark.slow
@pytest.mark.parametrize("width, height", [(1366, 768), (1280, 720)])
def test_every_window_and_dialog_fits_with_its_buttons(tmp_path, width, height):
    if not shutil.which("Xvfb"):
        pytest.skip("Xvfb not installed (scripts/install-debian-deps.sh test)")
    xvfb, display = start_xvfb(width, height)
    try:
        env = {**os.environ, "DISPLAY": display, "QT_QPA_PLATFORM": "xcb"}
        run = subprocess.run([sys.executable, str(ROOT / "tests" / "screen_probe.py"), str(tmp_path), str(SHOTS)],
                             capture_output=True, text=True, timeout=240, env=env, cwd=ROOT, check=False)
    finally:
        xvfb.terminate()
        xvfb.wait(10)
    assert run.returncode == 0, run.stderr[-3000:]
    result = json.loads(run.stdout.strip().splitlines()[-1])
    assert result["screen"] == [width, height]
    assert result["offenders"] == []
    for shot in result["shots"]:
        assert (SHOTS / shot).stat().st_size > 10_000, shot  # a real picture, not an empty screen
