"""The lock (uv.lock, exported to requirements/*.txt by ./shebao lock) is in step with pyproject.toml.

./shebao, the .deb and the one-folder build install only what requirements/*.txt pin, with their
hashes; a dependency changed in pyproject.toml without ``./shebao lock`` would be missing or stale.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parent.parent
LOCK = tomllib.loads((ROOT / "uv.lock").read_text(encoding="utf-8"))
PACKAGES = {canonicalize_name(p["name"]): p for p in LOCK["package"]}


def _declared() -> set[tuple[str, str, tuple[str, ...], str]]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    out = set()
    for extra, specs in [("", project["dependencies"]), *project["optional-dependencies"].items()]:
        for spec in specs:
            req = Requirement(spec)
            out.add((canonicalize_name(req.name), str(req.specifier), tuple(sorted(req.extras)), extra))
    return out


def _locked() -> set[tuple[str, str, tuple[str, ...], str]]:
    ours = PACKAGES["shebao-desk"]["metadata"]["requires-dist"]
    out = set()
    for dep in ours:
        extra = re.fullmatch(r"extra == '([^']*)'", dep.get("marker", "extra == ''")).group(1)
        specifier = str(Requirement(f"x{dep.get('specifier', '')}").specifier)
        out.add((canonicalize_name(dep["name"]), specifier, tuple(sorted(dep.get("extras", ()))), extra))
    return out


def test_uv_lock_was_made_from_this_pyproject():
    assert _declared() == _locked(), "pyproject.toml changed since the lock: run ./shebao lock"


def _pins(path: Path) -> dict[str, tuple[str, set[str]]]:
    """name → (version, hashes) of a pip requirements file with --hash options."""
    text = path.read_text(encoding="utf-8").replace("\\\n", " ")
    pins = {}
    for line in text.splitlines():
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        spec = line.split(" --hash=", 1)[0]
        req = Requirement(spec)
        (pin,) = req.specifier
        assert pin.operator == "==", line
        hashes = set(re.findall(r"--hash=(sha256:[0-9a-f]{64})", line))
        assert hashes, f"{req.name} has no hash in {path.name}"
        pins[canonicalize_name(req.name)] = (pin.version, hashes)
    return pins


@pytest.mark.parametrize("what", ["run", "test", "build"])
def test_pip_files_pin_what_uv_lock_holds_with_every_hash(what):
    pins = _pins(ROOT / "requirements" / f"{what}.txt")
    assert {"pyside6-essentials", "sqlalchemy", "pyscard", "sqlcipher3"} <= set(pins)
    if what == "test":
        assert {"pytest", "pytest-qt", "hypothesis"} <= set(pins)
    if what == "build":
        assert "pyinstaller" in pins
    for name, (version, hashes) in pins.items():
        locked = PACKAGES[name]
        assert locked["version"] == version, (name, version, locked["version"])
        files = [*locked.get("wheels", []), *([locked["sdist"]] if "sdist" in locked else [])]
        assert hashes == {f["hash"] for f in files}, f"{name}: the hashes differ from uv.lock's"


def test_the_lock_covers_windows_and_linux_arm64():
    """One universal lock: the .deb for arm64 and the Windows build install from the same files."""
    def wheels(name):
        return [w["url"].rsplit("/", 1)[1] for w in PACKAGES[name].get("wheels", [])]
    for name in ("pyside6-essentials", "sqlcipher3", "psycopg-binary", "cryptography", "pydantic-core"):
        assert any("aarch64" in w and "manylinux" in w for w in wheels(name)), name
        assert any("win_amd64" in w for w in wheels(name)), name
    assert any("win_amd64" in w for w in wheels("pyscard")) and "sdist" in PACKAGES["pyscard"]  # built on Linux
    assert {"pywin32-ctypes", "colorama", "tzdata"} <= set(_pins(ROOT / "requirements" / "run.txt"))
