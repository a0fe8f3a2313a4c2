"""Private desk services for tests: a CUPS scheduler with a cups-pdf queue, SANE's test scanner.

Each is started by the test session that needs it, in its own directories, and stopped by it;
nothing here touches a system cupsd or the system SANE configuration. Skips when the Debian
packages (cups, printer-driver-cups-pdf, sane-utils) are not installed.

cups-pdf has its output folder built in (/etc/cups/cups-pdf.conf: /var/spool/cups-pdf/ANONYMOUS for
a job of a user without a home). Where the tests may make a mount namespace (root), cupsd runs in
one of its own with ROOT/cups-pdf mounted on /var/spool/cups-pdf, so its PDFs land in the session's
folder and no other test run (or other cups-pdf user) sees or removes them; elsewhere they go to the
shared folder and the session removes only those it made.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest

CUPS_PDF_PPD = Path("/usr/share/ppd/cups-pdf/CUPS-PDF_opt.ppd")
CUPS_PDF_SPOOL = Path("/var/spool/cups-pdf")  # built into cups-pdf's configuration


@dataclass
class CupsQueue:
    name: str
    root: Path
    process: subprocess.Popen
    pdf_spool: Path = CUPS_PDF_SPOOL  # as this cupsd sees /var/spool/cups-pdf

    def spooled(self) -> set[Path]:
        anonymous = self.pdf_spool / "ANONYMOUS"  # where cups-pdf writes jobs of users without a home
        return set(anonymous.glob("*.pdf")) if anonymous.is_dir() else set()

    def admin(self, *args: str) -> None:
        """cupsdisable, cupsenable…: as root (not as the anonymous job user the jobs are sent as)."""
        env = {k: v for k, v in os.environ.items() if k != "CUPS_USER"}
        subprocess.run(list(args), check=True, capture_output=True, timeout=30, env=env)


def _die_with_parent() -> None:
    """In the child: SIGTERM when the test process dies, even if it aborts before its teardown."""
    import ctypes
    import signal
    ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def _point_libcups_at(server: str | None) -> None:
    """libcups reads CUPS_SERVER once per thread and keeps it; Qt's print support in this test process
    may have asked it already (an earlier test). Tell it again, for the main thread where Qt asks."""
    import ctypes
    import ctypes.util
    name = ctypes.util.find_library("cups")
    if name:
        lib = ctypes.CDLL(name)
        lib.cupsSetServer.argtypes = [ctypes.c_char_p]
        lib.cupsSetServer(server.encode() if server else None)
        if server:
            lib.cupsSetUser.argtypes = [ctypes.c_char_p]
            lib.cupsSetUser(os.environ["CUPS_USER"].encode())


def _can_unshare_mounts() -> bool:
    try:
        return subprocess.run(["unshare", "-m", "--propagation", "private", "true"], capture_output=True,
                              timeout=10, check=False).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


def start_cups(root: Path) -> CupsQueue:
    if not (shutil.which("cupsd") and shutil.which("lpadmin") and CUPS_PDF_PPD.exists()
            and Path("/usr/lib/cups/backend/cups-pdf").exists() and shutil.which("pdftocairo")):
        pytest.skip("CUPS / printer-driver-cups-pdf / poppler-utils not installed (scripts/install-debian-deps.sh test)")
    for sub in ("spool/tmp", "cache", "state", "log", "run", "ppd"):
        (root / sub).mkdir(parents=True, exist_ok=True)
    socket = root / "run" / "cups.sock"
    (root / "cupsd.conf").write_text(f"""Listen {socket}
LogLevel warn
WebInterface No
Browsing No
<Location />
  Order allow,deny
  Allow all
</Location>
<Location /admin>
  Order allow,deny
  Allow all
</Location>
<Policy default>
  <Limit All>
    Order deny,allow
  </Limit>
</Policy>
""")
    (root / "cups-files.conf").write_text(f"""ServerRoot {root}
RequestRoot {root}/spool
CacheDir {root}/cache
StateDir {root}/state
TempDir {root}/spool/tmp
ErrorLog {root}/log/error_log
AccessLog {root}/log/access_log
PageLog {root}/log/page_log
ServerBin /usr/lib/cups
DataDir /usr/share/cups
""")
    cupsd = ["cupsd", "-f", "-c", str(root / "cupsd.conf"), "-s", str(root / "cups-files.conf")]
    pdf_spool = CUPS_PDF_SPOOL
    if CUPS_PDF_SPOOL.is_dir() and _can_unshare_mounts():
        pdf_spool = root / "cups-pdf"
        for sub, mode in (("", 0o755), ("ANONYMOUS", 0o1777), ("SPOOL", 0o711)):  # as the package makes them
            (pdf_spool / sub).mkdir(exist_ok=True)
            (pdf_spool / sub).chmod(mode)
        # exec: the pid is cupsd's own; -n: libmount writes nothing in /run.
        cupsd = ["unshare", "-m", "--propagation", "private", "sh", "-c",
                 'mount -n --bind "$0" /var/spool/cups-pdf && exec "$@"', str(pdf_spool), *cupsd]
    process = subprocess.Popen(cupsd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, preexec_fn=_die_with_parent)
    # cups-pdf writes a job of a user without a home into its ANONYMOUS folder; jobs of root
    # would land in /root/PDF. libcups (lp, Qt) takes the job's user name from CUPS_USER.
    os.environ["CUPS_USER"] = "shebao-test-anonymous"
    os.environ["CUPS_SERVER"] = str(socket)
    _point_libcups_at(str(socket))
    deadline = time.monotonic() + 15
    env = {**os.environ, "LANG": "C", "LC_ALL": "C"}
    while "is running" not in subprocess.run(["lpstat", "-r"], capture_output=True, text=True, timeout=10,
                                             env=env, check=False).stdout:
        if process.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"private cupsd did not start: {(root / 'log' / 'error_log').read_text()[-500:]}")
        time.sleep(0.1)
    name = f"shebao-pdf-{uuid.uuid4().hex[:6]}"
    # cups-pdf takes PostScript only (its backend skips everything before a "%!" line), so CUPS's
    # pdftops filter turns the program's PDF into PostScript and cups-pdf's Ghostscript turns that back
    # into PDF. pdftops' default renderer (Ghostscript's ps2write, or poppler) names the glyphs of
    # the fonts it embeds arbitrarily, and the CJK text of the spooled PDF cannot be extracted.
    # Poppler's pdftocairo names them uniXXXX, from which Ghostscript writes ToUnicode maps again.
    # It is an option of this queue (pdftops-renderer-default, read by pdftops), so jobs still go
    # lp → cupsd → pdftopdf → pdftops → cups-pdf → Ghostscript as on any cups-pdf queue.
    # (A run of Latin letters and digits in a font of its own, such as the acceptance number, may
    # still come out of Ghostscript as a bitmap Type 3 font without text: check the CJK text.)
    made = subprocess.run(["lpadmin", "-p", name, "-E", "-v", "cups-pdf:/", "-P", str(CUPS_PDF_PPD),
                           "-o", "pdftops-renderer-default=pdftocairo"],
                          capture_output=True, text=True, timeout=30, check=False)
    if made.returncode != 0:
        raise RuntimeError(f"lpadmin: {made.stderr}")
    return CupsQueue(name, root, process, pdf_spool)


def stop_cups(queue: CupsQueue, made: set[Path]) -> None:
    queue.process.terminate()
    try:
        queue.process.wait(10)
    except subprocess.TimeoutExpired:
        queue.process.kill()
    os.environ.pop("CUPS_SERVER", None)
    os.environ.pop("CUPS_USER", None)
    _point_libcups_at(None)
    for path in made:
        path.unlink(missing_ok=True)
