#!/usr/bin/env bash
# The whole suite headless (offscreen Qt), then the workbench's UI tests again in real X windows
# under Xvfb, with their screenshots in artifacts/screenshots/xvfb/. Run by test-services.sh.
set -uo pipefail
py=${PYTHON:-.venv/bin/python}
"$py" -m pytest -p no:cacheprovider "$@" || exit $?
# The repeat in real X windows belongs to the full run: with SHEBAO_XCB_PASS every test of it is
# `slow` (conftest), so `-m "not slow"` selects none and pytest's "no tests ran" (5) is no failure.
# It repeats where a real X server changes what is tested: keyboard focus and tab order (the intake),
# window geometry at the clerk's screen size and the screenshots (pages, desk); the card and
# operations pages' tests drive worker threads that the platform plugin does not touch (they ran
# under xcb until 2026-12-05, never differing; left out to keep the suite within 15 minutes).
DISPLAY=$SHEBAO_XVFB_DISPLAY QT_QPA_PLATFORM=xcb SHEBAO_SCREENSHOTS=artifacts/screenshots/xvfb SHEBAO_XCB_PASS=1 \
  "$py" -m pytest -p no:cacheprovider tests/test_ui_intake.py tests/test_ui_pages.py tests/test_ui_desk.py "$@"
rc=$?
((rc == 5)) && rc=0
exit $rc
