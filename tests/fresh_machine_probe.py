"""Uses every test service that scripts/test-services.sh started, as the suite does, and says what worked.

Run by tests/test_fresh_machine.py inside a private mount namespace whose /run is an empty tmpfs
(a machine where pcscd, PostgreSQL, CUPS and X never ran). One line per service: ``NAME ok DETAIL``,
``NAME skipped REASON`` (CUPS, only when its packages are missing) or ``NAME FAILED REASON``; then
``/run`` and what the services left in it (nothing: they must not need the machine's /run).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import traceback
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))  # desk_services, as conftest imports it


def pcscd() -> str:
    from shebao_desk.devices.operations import read_card
    from shebao_desk.devices.pcsc import PcscContext
    from shebao_desk.devices.simulators.virtual_card import VirtualCard, load_holder
    from shebao_desk.devices.simulators.vpcd import DEFAULT_PORT, VpcdSlot, reader_name
    from shebao_desk.config.resources import resource_path
    import time

    context = PcscContext()
    try:
        wanted = {reader_name(DEFAULT_PORT), reader_name(DEFAULT_PORT + 1)}
        assert wanted <= set(context.readers()), context.readers()
        slot = VpcdSlot(VirtualCard(load_holder(resource_path("holders", "gen3-wang-qiang.toml"))), port=DEFAULT_PORT)
        slot.insert()
        try:
            deadline = time.monotonic() + 10
            while True:
                try:
                    name = read_card(context.connect, reader_name(DEFAULT_PORT)).name
                    break
                except Exception:
                    if time.monotonic() > deadline:
                        raise
                    time.sleep(0.1)
        finally:
            slot.remove()
        assert name == "王强", name
        return f"readers {sorted(wanted)} on {os.environ['PCSCLITE_CSOCK_NAME']}, card read"
    finally:
        context.release()


def postgres() -> str:
    import psycopg
    url = os.environ["SHEBAO_TEST_PG"].replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(url) as conn:
        data = conn.execute("SHOW data_directory").fetchone()[0]
        sockets = conn.execute("SHOW unix_socket_directories").fetchone()[0]
        superuser = conn.execute("SELECT rolsuper FROM pg_roles WHERE rolname = current_user").fetchone()[0]
    assert not data.startswith("/var/lib/postgresql"), data  # not a cluster of the machine
    assert "/run" not in sockets, sockets
    assert superuser
    return f"data {data}, sockets {sockets}"


def cups() -> str:
    import pytest
    from desk_services import start_cups, stop_cups
    root = Path(tempfile.mkdtemp(prefix="shebao-cups-probe-"))
    try:
        try:
            queue = start_cups(root)
        except pytest.skip.Exception as skipped:
            return f"SKIP {skipped}"
        try:
            listed = subprocess.run(["lpstat", "-p", queue.name], capture_output=True, text=True, timeout=30, check=True)
            assert queue.name in listed.stdout, listed.stdout
        finally:
            stop_cups(queue, set())
        return f"queue {queue.name} on {root}"
    finally:
        shutil.rmtree(root, ignore_errors=True)


def xvfb() -> str:
    display = os.environ["SHEBAO_XVFB_DISPLAY"]
    code = ("from PySide6.QtGui import QGuiApplication; app = QGuiApplication([]); "
            "s = app.primaryScreen().size(); print(app.platformName(), s.width(), s.height())")
    shown = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True,
                           env={**os.environ, "DISPLAY": display, "QT_QPA_PLATFORM": "xcb"}).stdout.split()
    assert shown == ["xcb", "1366", "768"], shown
    return f"display {display} 1366×768 through Qt's xcb"


def main() -> int:
    failed = False
    for name, check in (("pcscd", pcscd), ("postgres", postgres), ("cups", cups), ("xvfb", xvfb)):
        try:
            detail = check()
        except BaseException:
            failed = True
            print(f"{name} FAILED {traceback.format_exc()}", flush=True)
            continue
        if detail.startswith("SKIP "):
            print(f"{name} skipped {detail[5:]}", flush=True)
        else:
            print(f"{name} ok {detail}", flush=True)
    print("/run holds:", sorted(os.listdir("/run")), flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
