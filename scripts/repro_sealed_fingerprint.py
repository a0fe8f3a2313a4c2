"""Issue 24's R2 reproduction (../shared/repros/repro_sealed_fingerprint.py), on today's commands.

The probe's finding: a bundle sealed while a peer was pinned by fingerprint only could never be
opened by that peer, and since bundles import in number order no later one either. Today a site is
pinned by the key code read over the phone (`bundle key`'s second line), which carries the full key,
so every bundle is sealed for every pinned site from the first one on. This script replays the
probe's exchange and exits 0 only when every bundle was opened by every site it was meant for.

    cd CHECKOUT && .venv/bin/python scripts/repro_sealed_fingerprint.py      (no PostgreSQL needed)

A1 and A2 pin each other's full keys; A1 and C1 pin each other by key code (the documented
`bundle trust ORIGIN KEY-CODE`). The admin commands carry an admin's credentials, as they must.
"""
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

d = Path(tempfile.mkdtemp(prefix="repro-sealed-"))
os.environ.update(SHEBAO_KEYS=str(d / "keys"), SHEBAO_KEYRING="0", XDG_STATE_HOME=str(d / "state"))
EXE = os.environ.get("SHEBAO_EXE", ".venv/bin/shebao-desk")
PW = "Qinling-7Ridge-Weihe!\n"  # strong enough for the zxcvbn floor
failures: list[str] = []


def sh(db: str, *args: str, stdin: str | None = None) -> tuple[int, str]:
    r = subprocess.run([EXE, "--db", str(d / db), *args], check=False, capture_output=True, text=True, input=stdin)
    return r.returncode, (r.stdout + r.stderr).strip()


def step(label: str, db: str, *args: str, stdin: str | None = None) -> str:
    rc, out = sh(db, *args, stdin=stdin)
    print(f"{label}: exit {rc}: {out}")
    if rc != 0:
        failures.append(label)
    return out


for db, w, ws in (("a1.db", "SZ01", "1"), ("a2.db", "SZ01", "2"), ("c1.db", "SZ02", "1")):
    step(f"setup {db}", db, "setup", "--window", w, "--workstation", ws)
key = {db: sh(db, "bundle", "key")[1].splitlines() for db in ("a1.db", "a2.db", "c1.db")}
full = {db: v[0].split() for db, v in key.items()}                 # origin, public key (hex)
code = {db: v[1].split("：")[1].split() for db, v in key.items()}  # key code, read over the phone
step("A1 trusts A2 (key)", "a1.db", "bundle", "trust", *full["a2.db"])
step("A2 trusts A1 (key)", "a2.db", "bundle", "trust", *full["a1.db"])
step("A1 trusts C1 (key code)", "a1.db", "bundle", "trust", "SZ021", *code["c1.db"])
step("C1 trusts A1 (key code)", "c1.db", "bundle", "trust", "SZ011", *code["a1.db"])
step("A1 account", "a1.db", "admin", "create-user", "--username", "xadmin", "--name", "管理员", "--role", "admin",
     "--password-stdin", stdin=PW)
step("A1 export #1", "a1.db", "bundle", "export", "--out", str(d / "a1-1.bundle"))
step("A2 import #1", "a2.db", "bundle", "import", str(d / "a1-1.bundle"))
step("C1 import #1", "c1.db", "bundle", "import", str(d / "a1-1.bundle"))
step("C1 change", "c1.db", "admin", "create-user", "--username", "cadmin", "--name", "管理员", "--role", "admin",
     "--password-stdin", stdin=PW)
step("C1 export #1", "c1.db", "bundle", "export", "--out", str(d / "c1-1.bundle"))
step("A1 import C1#1", "a1.db", "bundle", "import", str(d / "c1-1.bundle"))
step("A1 change", "a1.db", "admin", "create-user", "--username", "yclerk", "--name", "经办", "--role", "clerk",
     "--password-stdin", "--admin", "xadmin", "--admin-password-stdin", stdin=PW + PW)
step("A1 export #2", "a1.db", "bundle", "export", "--out", str(d / "a1-2.bundle"))
step("C1 import #2", "c1.db", "bundle", "import", str(d / "a1-2.bundle"))
step("A2 import #2", "a2.db", "bundle", "import", str(d / "a1-2.bundle"))
if not os.environ.get("KEEP"):
    shutil.rmtree(d, ignore_errors=True)  # the stores and bundles hold only this run's accounts
print("RESULT:", "every bundle opened" if not failures else f"FAILED: {', '.join(failures)}")
sys.exit(1 if failures else 0)
