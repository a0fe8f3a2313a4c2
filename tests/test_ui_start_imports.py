"""The login window paints before anything it does not need is imported (start_to_login_window in bench_ui):
the store, the error chain and the workbench's context load behind it, on the start-up worker."""

import os
import subprocess
import sys

CHILD = """
import sys
from pathlib import Path
from shebao_desk.ui.app import make_app, start_dialog
from shebao_desk.ui.worker import Worker
app = make_app([])
loader = Worker("startup")
dialog, state = start_dialog(Path(sys.argv[1]), False, "A", loader)  # shown, not yet painted: nothing loads yet
print(" ".join(sorted(m for m in sys.modules if m.split(".")[0] in ("sqlalchemy", "tomllib", "shebao_desk"))))
loader.shutdown()
"""

NOT_BEFORE_THE_WINDOW = ("sqlalchemy", "tomllib", "shebao_desk.failure", "shebao_desk.rules.idnumber",
                         "shebao_desk.ui.context", "shebao_desk.ui.errors", "shebao_desk.ui.widgets",
                         "shebao_desk.models", "shebao_desk.store.database")


def test_the_login_window_shows_before_the_store_the_error_chain_and_the_context_are_imported(tmp_path):
    out = subprocess.run([sys.executable, "-c", CHILD, str(tmp_path / "s.sqlite3")], capture_output=True, text=True,
                         env={**os.environ, "QT_QPA_PLATFORM": "offscreen"}, timeout=120, check=False)
    assert out.returncode == 0, out.stderr[-2000:]
    loaded = set(out.stdout.split())
    assert "shebao_desk.ui.login" in loaded  # the child did build the window
    assert not loaded & set(NOT_BEFORE_THE_WINDOW), sorted(loaded & set(NOT_BEFORE_THE_WINDOW))
