"""The lock (uv.lock, exported to requirements/*.txt by ./shebao lock) is in step with pyproject.toml.

./shebao, the .deb and the one-folder build install only what requirements/*.txt pin, with their
hashes; a dependency changed in pyproject.toml without ``./shebao lock`` would be missing or stale.
The lock is universal: PySide6 is locked twice (6.12 with PySide6-Pdf, and 6.8.0.2 for Linux aarch64,
whose newer wheels need glibc 2.39), and the arm64 .deb takes from it exactly what
packaging/deb/target_wheels.py selects, so every such wheel must be in the lock for the target's glibc.
"""

from __future__ import annotations

import importlib.util
import itertools
import re
import tomllib
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from packaging.markers import Marker
from packaging.requirements import Requirement
from packaging.tags import Tag, compatible_tags, cpython_tags
from packaging.utils import canonicalize_name, parse_wheel_filename

ROOT = Path(__file__).resolve().parent.parent
LOCK = tomllib.loads((ROOT / "uv.lock").read_text(encoding="utf-8"))
# A package may be locked at two versions, each for its own platforms (PySide6: 6.8 on Linux aarch64).
PACKAGES: dict[tuple[str, str | None], dict[str, Any]] = {
    (canonicalize_name(p["name"]), p.get("version")): p for p in LOCK["package"]}
OURS = PACKAGES[("shebao-desk", None)]

# The platforms the program ships to, and a few it does not, with every extra: a requirement's
# marker is known by where it holds.
ENVIRONMENTS = [
    {"sys_platform": system, "platform_system": {"linux": "Linux", "win32": "Windows", "darwin": "Darwin"}[system],
     "platform_machine": machine, "python_version": python, "python_full_version": f"{python}.0",
     "implementation_name": "cpython", "platform_python_implementation": "CPython", "os_name": "posix",
     "extra": extra}
    for system, machine, python, extra in itertools.product(
        ["linux", "win32", "darwin"], ["x86_64", "aarch64", "AMD64", "ARM64", "arm64"],
        ["3.11", "3.12", "3.13", "3.14", "3.15"], ["", "test", "build"])
]


def _env(system: str, machine: str, python: str = "3.11") -> dict[str, str]:
    return next(e for e in ENVIRONMENTS if (e["sys_platform"], e["platform_machine"], e["python_version"], e["extra"])
                == (system, machine, python, ""))


Declared = tuple[str, str, tuple[str, ...], tuple[bool, ...]]  # name, specifier, extras, where it holds
Pin = tuple[str, str, set[str], Marker | None]  # name, version, hashes, marker


def _where(marker: Marker | None, group: str = "") -> tuple[bool, ...]:
    return tuple((not group or env["extra"] == group) and (marker is None or marker.evaluate(env))
                 for env in ENVIRONMENTS)


def _declared() -> set[Declared]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    out: set[Declared] = set()
    for extra, specs in [("", project["dependencies"]), *project["optional-dependencies"].items()]:
        for spec in specs:
            req = Requirement(spec)
            out.add((canonicalize_name(req.name), str(req.specifier), tuple(sorted(req.extras)),
                     _where(req.marker, extra)))
    return out


def _locked() -> set[Declared]:
    out: set[Declared] = set()
    for dep in OURS["metadata"]["requires-dist"]:
        specifier = str(Requirement(f"x{dep.get('specifier', '')}").specifier)
        marker = Marker(dep["marker"]) if "marker" in dep else None
        out.add((canonicalize_name(dep["name"]), specifier, tuple(sorted(dep.get("extras", ()))), _where(marker)))
    return out


def test_uv_lock_was_made_from_this_pyproject() -> None:
    assert _declared() == _locked(), "pyproject.toml changed since the lock: run ./shebao lock"


def _pins(path: Path) -> list[Pin]:
    """(name, version, hashes, marker) of each requirement of a pip file with --hash options."""
    text = path.read_text(encoding="utf-8").replace("\\\n", " ")
    pins: list[Pin] = []
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
        pins.append((canonicalize_name(req.name), pin.version, hashes, req.marker))
    return pins


def _version_for(pins: list[Pin], name: str, env: dict[str, str]) -> str | None:
    chosen = [version for pin, version, _, marker in pins if pin == name and (marker is None or marker.evaluate(env))]
    assert len(chosen) <= 1, (name, env, chosen)
    return chosen[0] if chosen else None


def _pinned(pins: list[Pin], name: str, env: dict[str, str]) -> str:
    version = _version_for(pins, name, env)
    assert version is not None, (name, env)
    return version


@pytest.mark.parametrize("what", ["run", "test", "build"])
def test_pip_files_pin_what_uv_lock_holds_with_every_hash(what: str) -> None:
    pins = _pins(ROOT / "requirements" / f"{what}.txt")
    names = {name for name, *_ in pins}
    assert {"pyside6-essentials", "sqlalchemy", "pyscard", "sqlcipher3"} <= names
    if what == "test":
        assert {"pytest", "pytest-qt", "hypothesis"} <= names
    if what == "build":
        assert "pyinstaller" in names
    for name, version, hashes, _ in pins:
        locked = PACKAGES.get((name, version))
        assert locked is not None, f"{name}=={version} is not in uv.lock"
        files = [*locked.get("wheels", []), *([locked["sdist"]] if "sdist" in locked else [])]
        assert hashes == {f["hash"] for f in files}, f"{name}: the hashes differ from uv.lock's"
    for env in ENVIRONMENTS:  # one version of each package wherever it is installed
        for name in names:
            _version_for(pins, name, env)


def _wheels(name: str, version: str) -> list[str]:
    return [w["url"].rsplit("/", 1)[1] for w in PACKAGES[(name, version)].get("wheels", [])]


def test_the_lock_covers_windows_and_linux_arm64() -> None:
    """One universal lock: the .deb for arm64 and the Windows build install from the same files."""
    pins = _pins(ROOT / "requirements" / "run.txt")
    linux, arm64, windows = _env("linux", "x86_64"), _env("linux", "aarch64"), _env("win32", "AMD64")
    for name in ("pyside6-essentials", "sqlcipher3", "psycopg-binary", "cryptography", "pydantic-core"):
        assert any("aarch64" in w and "manylinux" in w for w in _wheels(name, _pinned(pins, name, arm64))), name
        assert any("win_amd64" in w for w in _wheels(name, _pinned(pins, name, windows))), name
    assert any("win_amd64" in w for w in _wheels("pyscard", _pinned(pins, "pyscard", windows)))
    assert "sdist" in PACKAGES[("pyscard", _pinned(pins, "pyscard", arm64))]  # built on Linux
    assert {"pywin32-ctypes", "colorama", "tzdata"} <= {name for name, *_ in pins}
    # Qt: 6.12 with PySide6-Pdf on amd64 and Windows; the 6.8 LTS line (QtPdf inside Addons) on arm64.
    for env in (linux, windows):
        assert _pinned(pins, "pyside6-essentials", env).startswith("6.12."), env
        assert _version_for(pins, "pyside6-pdf", env) is not None, env
    for name in ("pyside6-essentials", "pyside6-addons", "shiboken6"):
        assert _pinned(pins, name, arm64).startswith("6.8."), name
    assert _version_for(pins, "pyside6-pdf", arm64) is None


def _target_wheels() -> ModuleType:
    spec = importlib.util.spec_from_file_location("target_wheels", ROOT / "packaging" / "deb" / "target_wheels.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_every_wheel_of_the_arm64_package_is_locked_for_its_glibc() -> None:
    """What `./shebao deb --arch arm64` downloads (packaging/deb/target_wheels.py's split of
    requirements/run.txt for Linux aarch64 and Debian 12's Python 3.11) has, at the locked version, a
    wheel for manylinux aarch64 at glibc <= the package's (2.31); the rest are sdists in the lock."""
    target_wheels = _target_wheels()
    binary, from_source = target_wheels.split(ROOT / "requirements" / "run.txt", "aarch64", "3.11")
    platforms = target_wheels.manylinux_platforms("aarch64", target_wheels.DEFAULT_GLIBC)
    runs_there = {*cpython_tags((3, 11), ["cp311"], platforms), *compatible_tags((3, 11), "cp311", platforms)}
    assert Tag("cp311", "cp311", "manylinux_2_39_aarch64") not in runs_there
    unfit = []
    for line in binary:
        req = Requirement(line.split(" --", 1)[0])
        (pin,) = req.specifier
        name = canonicalize_name(req.name)
        fits = [w for w in _wheels(name, pin.version) if parse_wheel_filename(w)[3] & runs_there]
        if not fits:
            unfit.append(f"{name}=={pin.version}")
    assert not unfit, f"no aarch64 wheel for glibc <= {target_wheels.DEFAULT_GLIBC} in the lock: {unfit}"
    assert {canonicalize_name(Requirement(line.split(" --", 1)[0]).name) for line in binary} >= {
        "pyside6-essentials", "pyside6-addons", "shiboken6", "sqlcipher3", "cryptography"}
    for line in from_source:
        req = Requirement(line.split(" --", 1)[0])
        (pin,) = req.specifier
        sdist = PACKAGES[(canonicalize_name(req.name), pin.version)]["sdist"]
        assert sdist["hash"] in line, f"{req.name}: the sdist's hash is not required"
    assert {canonicalize_name(Requirement(line.split(" --", 1)[0]).name) for line in from_source} == {
        canonicalize_name(name) for name in target_wheels.FROM_SOURCE}
