"""The wheels of a package built for another machine (packaging/deb/build.sh --arch), from the lock.

  target_wheels.py split LOCKFILE MACHINE PYVER OUT_BINARY OUT_SOURCE
      LOCKFILE is an exported lock (requirements/run.txt: one pinned requirement per logical line,
      `\\` continuations, --hash options). Its markers are evaluated for the target, Linux on MACHINE
      with CPython PYVER (pip would evaluate them for this machine); the requirements the target
      takes are written without markers, their --hash options kept: those in FROM_SOURCE to
      OUT_SOURCE (compiled from their sdists on the target), the rest to OUT_BINARY (wheels).
  target_wheels.py platforms MACHINE GLIBC
      pip download's --platform options for manylinux wheels that run on glibc GLIBC or newer.
  target_wheels.py from-source
      FROM_SOURCE, comma-separated (pip's --no-binary).
  target_wheels.py default-glibc
      DEFAULT_GLIBC, the glibc the package is made for unless SHEBAO_TARGET_GLIBC says otherwise.
  target_wheels.py glibc WHEEL_DIR
      The oldest glibc every wheel in WHEEL_DIR runs on: the highest manylinux_2_N tag, and for wheels
      built here (linux_* tag) the highest GLIBC_2.N symbol version their libraries need (readelf).

Runs with the build venv's Python: packaging comes from pip's vendored copy (pip is always there;
the packaging distribution is not among the program's dependencies). tests/test_lock.py checks with
the same functions that the lock has a wheel for every binary requirement of the arm64 package.
"""

from __future__ import annotations

import re
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

from pip._vendor.packaging.requirements import Requirement
from pip._vendor.packaging.utils import canonicalize_name

# Published without an aarch64 wheel (pyscard) or without any wheel (lunar-python): compiled from the
# lock's sdist, hash-checked, inside the arm64 root.
FROM_SOURCE = ("pyscard", "lunar-python")
# The oldest glibc the arm64 package is made for: Kylin V10 SP1's 2.31; PySide6's oldest aarch64
# wheels (6.5.3 … 6.8.0.2) are manylinux_2_31.
DEFAULT_GLIBC = "2.31"


def target_env(machine: str, pyver: str) -> dict[str, str]:
    return {"platform_machine": machine, "platform_system": "Linux", "sys_platform": "linux", "os_name": "posix",
            "platform_python_implementation": "CPython", "implementation_name": "cpython",
            "python_version": pyver, "python_full_version": f"{pyver}.0", "implementation_version": f"{pyver}.0",
            "platform_release": "", "platform_version": "", "extra": ""}


def logical_lines(path: Path) -> list[str]:
    lines, current = [], ""
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.split(" #", 1)[0].rstrip() if not raw.lstrip().startswith("#") else ""
        if line.endswith("\\"):
            current += line[:-1] + " "
            continue
        current += line
        if current.strip():
            lines.append(" ".join(current.split()))
        current = ""
    return lines


def split(lockfile: Path, machine: str, pyver: str) -> tuple[list[str], list[str]]:
    """(binary, from source): the lock's requirements the target takes, markers evaluated and dropped."""
    env = target_env(machine, pyver)
    from_source = {canonicalize_name(name) for name in FROM_SOURCE}
    binary: list[str] = []
    built: list[str] = []
    for line in logical_lines(lockfile):
        if line.startswith("-"):  # a global option (--index-url …) applies to both
            binary.append(line)
            built.append(line)
            continue
        spec, _, options = line.partition(" --")
        req = Requirement(spec.strip())
        if req.marker is not None and not req.marker.evaluate(env):
            continue
        if "--hash=" not in line or len(req.specifier) != 1 or next(iter(req.specifier)).operator != "==":
            raise SystemExit(f"{lockfile}: not a locked requirement (one == pin and its hashes): {line}")
        req.marker = None
        text = str(req) + (f" --{options}" if options else "")
        (built if canonicalize_name(req.name) in from_source else binary).append(text)
    return binary, built


def manylinux_platforms(machine: str, glibc: str) -> list[str]:
    """The manylinux platform tags of wheels that run on glibc `glibc`, newest first."""
    newest = int(glibc.split(".")[1])
    return [*(f"manylinux_2_{minor}_{machine}" for minor in range(newest, 16, -1)), f"manylinux2014_{machine}"]


GLIBC_SYMBOL = re.compile(rb"GLIBC_2\.(\d+)")


def glibc_floor(wheel_dir: Path) -> tuple[int, list[str]]:
    """The highest glibc 2.N minor any wheel needs, and which wheels need it."""
    needs: dict[str, int] = {}
    for wheel in sorted(wheel_dir.glob("*.whl")):
        platform = wheel.stem.split("-")[-1]
        tags = [int(m) for m in re.findall(r"manylinux_2_(\d+)_", platform)]
        if "manylinux2014" in platform:
            tags.append(17)
        if tags:
            needs[wheel.name] = min(tags)  # the wheel runs where its lowest listed tag does
        elif platform.startswith("linux_"):
            needs[wheel.name] = _readelf_floor(wheel)
    floor = max(needs.values(), default=17)
    return floor, [name for name, minor in needs.items() if minor == floor]


def _readelf_floor(wheel: Path) -> int:
    highest = 17
    with zipfile.ZipFile(wheel) as zf, tempfile.TemporaryDirectory() as tmp:
        for member in zf.namelist():
            if ".so" not in Path(member).name:
                continue
            lib = Path(zf.extract(member, tmp))
            out = subprocess.run(["readelf", "--version-info", "--wide", str(lib)], capture_output=True,
                                 check=True).stdout
            highest = max([highest, *(int(m) for m in GLIBC_SYMBOL.findall(out))])
    return highest


def main(argv: list[str]) -> int:
    if argv[:1] == ["split"] and len(argv) == 6:
        lockfile, machine, pyver, out_binary, out_source = argv[1:]
        binary, built = split(Path(lockfile), machine, pyver)
        Path(out_binary).write_text("".join(f"{line}\n" for line in binary), encoding="utf-8")
        Path(out_source).write_text("".join(f"{line}\n" for line in built), encoding="utf-8")
        return 0
    if argv[:1] == ["platforms"] and len(argv) == 3:
        print(" ".join(f"--platform {tag}" for tag in manylinux_platforms(argv[1], argv[2])))
        return 0
    if argv == ["from-source"]:
        print(",".join(FROM_SOURCE))
        return 0
    if argv == ["default-glibc"]:
        print(DEFAULT_GLIBC)
        return 0
    if argv[:1] == ["glibc"] and len(argv) == 2:
        floor, which = glibc_floor(Path(argv[1]))
        print(f"2.{floor} {' '.join(which)}")
        return 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
