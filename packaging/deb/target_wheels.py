"""Requirements and glibc for a package built for another machine (packaging/deb/build.sh --arch).

  target_wheels.py split SOURCE MACHINE PYVER BUILT_FROM_SOURCE OUT_BINARY OUT_SOURCE
      SOURCE is pyproject.toml (its [project] dependencies) or a requirements/lock file (one
      requirement per logical line, `\\` continuations and --hash options kept). Markers are evaluated
      for the target (pip would evaluate them for this machine); the requirements whose names are in
      BUILT_FROM_SOURCE (comma-separated) go to OUT_SOURCE, the rest to OUT_BINARY, without markers.
  target_wheels.py glibc WHEEL_DIR
      The oldest glibc every wheel in WHEEL_DIR runs on: the highest manylinux_2_N tag, and for wheels
      built here (linux_* tag) the highest GLIBC_2.N symbol version their libraries need (readelf).

Runs with the build venv's Python: packaging comes from pip's vendored copy (pip is always there;
the packaging distribution is not among the program's dependencies).
"""

from __future__ import annotations

import re
import subprocess
import sys
import tempfile
import tomllib
import zipfile
from pathlib import Path

from pip._vendor.packaging.requirements import Requirement
from pip._vendor.packaging.utils import canonicalize_name


def target_env(machine: str, pyver: str) -> dict[str, str]:
    return {"platform_machine": machine, "platform_system": "Linux", "sys_platform": "linux", "os_name": "posix",
            "platform_python_implementation": "CPython", "implementation_name": "cpython",
            "python_version": pyver, "python_full_version": f"{pyver}.0", "implementation_version": f"{pyver}.0",
            "platform_release": "", "platform_version": "", "extra": ""}


def logical_lines(path: Path) -> list[str]:
    if path.name == "pyproject.toml":
        return list(tomllib.loads(path.read_text())["project"]["dependencies"])
    lines, current = [], ""
    for raw in path.read_text().splitlines():
        line = raw.split(" #", 1)[0].rstrip() if not raw.lstrip().startswith("#") else ""
        if line.endswith("\\"):
            current += line[:-1] + " "
            continue
        current += line
        if current.strip():
            lines.append(current.strip())
        current = ""
    return lines


def split(source: Path, machine: str, pyver: str, from_source: set[str]) -> tuple[list[str], list[str]]:
    env = target_env(machine, pyver)
    binary, built = [], []
    for line in logical_lines(source):
        if line.startswith("-"):  # a global option (--index-url …) applies to both
            binary.append(line)
            built.append(line)
            continue
        spec, _, options = line.partition(" --")
        req = Requirement(spec.strip())
        if req.marker is not None and not req.marker.evaluate(env):
            continue
        req.marker = None
        text = str(req) + (f" --{options}" if options else "")
        (built if canonicalize_name(req.name) in from_source else binary).append(text)
    return binary, built


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
    if argv[:1] == ["split"] and len(argv) == 7:
        source, machine, pyver, names, out_binary, out_source = argv[1:]
        from_source = {canonicalize_name(n) for n in names.split(",") if n}
        binary, built = split(Path(source), machine, pyver, from_source)
        Path(out_binary).write_text("".join(f"{line}\n" for line in binary))
        Path(out_source).write_text("".join(f"{line}\n" for line in built))
        return 0
    if argv[:1] == ["glibc"] and len(argv) == 2:
        floor, which = glibc_floor(Path(argv[1]))
        print(f"2.{floor} {' '.join(which)}")
        return 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
