"""What the start does to be ready sooner (start_to_login_ready in bench_ui) keeps the program's behaviour:
PySide6 still learns which modules mention it, and the garbage collector runs again once the store is open."""

import os
import subprocess
import sys

from shebao_desk.ui import pyside_hook

CHILD = """
import gc, sys, time
from pathlib import Path
from PySide6.QtWidgets import QApplication
from shebao_desk.ui.app import make_app, start_dialog
from shebao_desk.ui.worker import Worker
from shebao_desk.ui import collector
app = make_app([])
feature = sys.modules["shibokensupport.feature"]
print("probe", getattr(feature._mod_uses_pyside, "shebao_desk", False))
sys.path.insert(0, sys.argv[2])
import uses_qt, plain_module
print("feature", feature.pyside_feature_dict["uses_qt"], feature.pyside_feature_dict["plain_module"])
loader = Worker("startup")
dialog, state = start_dialog(Path(sys.argv[1]), False, "A", loader)
print("loading", collector.installed().paused, gc.isenabled())
deadline = time.monotonic() + 60
while "ctx" not in state and time.monotonic() < deadline:
    QApplication.processEvents()
    time.sleep(0.005)
print("ready", "ctx" in state, collector.installed().paused, gc.get_freeze_count() > 100000)
state["ctx"].shutdown()
loader.shutdown()
"""


def test_pyside_learns_which_modules_mention_it_and_the_collector_runs_again_once_the_store_is_open(tmp_path):
    (tmp_path / "uses_qt.py").write_text("# a module of a PySide6 program\nVALUE = 1\n", encoding="utf-8")
    (tmp_path / "plain_module.py").write_text("VALUE = 2\n", encoding="utf-8")
    out = subprocess.run([sys.executable, "-c", CHILD, str(tmp_path / "s.sqlite3"), str(tmp_path)],
                         capture_output=True, text=True, env={**os.environ, "QT_QPA_PLATFORM": "offscreen"},
                         timeout=120, check=False)
    assert out.returncode == 0, out.stderr[-2000:]
    lines = out.stdout.splitlines()
    assert "probe True" in lines  # ours answers
    assert "feature 0 -1" in lines  # the same answers PySide6's own probe gives: 0 mentions it, -1 ignore
    assert "loading True False" in lines  # no collections while the store loads (and never automatic)
    assert "ready True False True" in lines  # on again, the start's objects frozen out of its walks


def test_the_quick_probe_answers_as_pyside6s_own_for_source_and_sourceless_modules():
    asked = []

    def pysides_own(module):
        asked.append(module.__name__)
        return False

    assert pyside_hook.mentions_pyside(sys.modules["shebao_desk.ui.pyside_hook"], pysides_own)
    assert not pyside_hook.mentions_pyside(sys.modules["json"], pysides_own)
    assert not pyside_hook.mentions_pyside(sys.modules["sys"], pysides_own)  # built in: no file to read
    assert asked == ["sys"]
