"""The static gate: ruff (rules in pyproject.toml [tool.ruff]) and mypy (pyproject.toml [tool.mypy]: the
core strict, the UI at mypy's default level, no error code switched off anywhere) report nothing, and the
import contracts hold (pyproject.toml [tool.importlinter]: the layers, Qt/pyscard/psycopg each in its
place, no import cycle). A new finding fails the suite; a deliberate exception is a narrowly scoped
ignore with its reason."""

import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _tool(name: str) -> list[str]:
    beside = Path(sys.executable).with_name(name)  # the venv's own copy (the [test] extra installs both)
    found = str(beside) if beside.exists() else shutil.which(name)
    assert found, f"{name} is not installed: pip install -e '.[test]'"
    return [found]


def test_ruff_finds_nothing():
    # packaging/: the build's own Python (packaging/deb/target_wheels.py) is held to the same rules.
    result = subprocess.run([*_tool("ruff"), "check", "--no-cache", "shebao_desk", "tests", "benchmarks",
                             "packaging"],
                            cwd=ROOT, capture_output=True, text=True, timeout=300, check=False)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.slow
def test_mypy_finds_nothing():
    result = subprocess.run([*_tool("mypy"), "--no-incremental", "--cache-dir", "/dev/null"],
                            cwd=ROOT, capture_output=True, text=True, timeout=600, check=False)
    assert result.returncode == 0, result.stdout + result.stderr


def test_mypy_config_keeps_the_core_strict_and_switches_no_error_code_off():
    """What test_mypy_finds_nothing checks against: the core strict, only ui/ below it, and no
    override that silences an error code for whole modules (an exception is a line's narrow ignore)."""
    mypy = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["mypy"]
    assert mypy["strict"] is True
    assert "ignore-without-code" in mypy["enable_error_code"]
    for block in mypy["overrides"]:
        assert "disable_error_code" not in block, block
        relaxed = sorted(k for k, v in block.items() if v is False)
        assert not relaxed or block["module"] == ["shebao_desk.ui.*"], (block["module"], relaxed)


def test_import_contracts_hold_and_nothing_imports_in_a_circle():
    result = subprocess.run([*_tool("lint-imports"), "--no-cache", "--no-logo"],
                            cwd=ROOT, capture_output=True, text=True, timeout=300, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout and "No import cycles, at any depth KEPT" in result.stdout, result.stdout
