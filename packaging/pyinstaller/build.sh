#!/usr/bin/env bash
# The PyInstaller one-folder build on this machine (`./shebao app`): dist/shebao-desk/shebao-desk.
# The Windows build uses the same spec: see packaging/windows/README.md.
set -euo pipefail
cd "$(dirname "$0")/../.."
py=${PYTHON:-.venv/bin/python}
start=$(date +%s)
# The locked versions (requirements/build.txt, hash-checked; ./shebao lock refreshes it), then the
# project itself: what PyInstaller freezes is exactly what the lock says.
export PIP_DISABLE_PIP_VERSION_CHECK=1
"$py" -m pip install -q --require-hashes -r requirements/build.txt
"$py" -m pip install -q --no-deps -e .
"$py" -m PyInstaller --noconfirm --clean --log-level WARN --distpath dist --workpath build/pyinstaller \
  packaging/pyinstaller/shebao-desk.spec
echo "dist/shebao-desk: $(du -sh dist/shebao-desk | cut -f1), built in $(($(date +%s) - start)) s"
