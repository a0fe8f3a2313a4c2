#!/usr/bin/env bash
# Refreshes the lock (`./shebao lock`): uv.lock and the pip files exported from it,
#   requirements/run.txt    what the program needs          (./shebao run, the .deb)
#   requirements/test.txt   the above plus the test tools   (./shebao test, bench)
#   requirements/build.txt  the above run set plus PyInstaller (./shebao app, Windows' build.ps1)
# Every file pins one version of each package with the hashes of all its files on the index: one
# universal lock for every platform the program ships to (Linux x86_64 and aarch64, Windows),
# with environment markers where a platform needs more (colorama, pywin32-ctypes, tzdata on Windows).
# pip installs from them with --require-hashes, then the project itself with --no-deps.
#   scripts/lock.sh                 follow pyproject.toml, keeping every version it still allows
#   scripts/lock.sh --upgrade       the newest versions pyproject.toml allows
#   scripts/lock.sh --upgrade-package NAME   only NAME (and what it needs) to its newest
#   scripts/lock.sh --check         only say whether uv.lock is in step with pyproject.toml
# (the arguments go to `uv lock`).
# uv runs from a venv of its own in build/lock-tool/ (the program's .venv is not touched); it reads
# PyPI unless UV_DEFAULT_INDEX names a mirror (the files name no index: any mirror installs them).
set -euo pipefail
cd "$(dirname "$0")/.."
UV_VERSION=0.13.9
tool=build/lock-tool
py=${PYTHON:-python3}
if [[ ! -x $tool/bin/uv ]] || [[ $("$tool/bin/uv" --version | cut -d' ' -f2) != "$UV_VERSION" ]]; then
  "$py" -m venv "$tool"
  "$tool/bin/python" -m pip install -q "uv==$UV_VERSION"
fi
uv=$tool/bin/uv
"$uv" lock "$@"
for what in run test build; do
  extra=()
  [[ $what == run ]] || extra=(--extra "$what")
  "$uv" export --frozen --no-emit-project --no-dev --format requirements-txt "${extra[@]}" \
    --output-file "requirements/$what.txt" --quiet
done
echo "uv.lock and requirements/{run,test,build}.txt: $(grep -c '^\[\[package\]\]' uv.lock) packages"
