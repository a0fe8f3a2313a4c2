#!/usr/bin/env bash
# The whole suite headless (offscreen Qt), then the workbench's UI tests again in real X windows
# under Xvfb, with their screenshots in artifacts/screenshots/xvfb/. Run by test-services.sh.
set -uo pipefail
py=${PYTHON:-.venv/bin/python}
"$py" -m pytest -p no:cacheprovider "$@" || exit $?
DISPLAY=$SHEBAO_XVFB_DISPLAY QT_QPA_PLATFORM=xcb SHEBAO_SCREENSHOTS=artifacts/screenshots/xvfb \
  "$py" -m pytest -p no:cacheprovider tests/test_ui_intake.py tests/test_ui_pages.py tests/test_ui_cards.py \
  tests/test_ui_operations.py tests/test_ui_desk.py "$@"
