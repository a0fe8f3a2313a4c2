#!/usr/bin/env bash
# The arm64 one-folder build (PyInstaller) and the oldest glibc it runs on, tried on this amd64
# machine as root under qemu-user (slow; not in the default suite). It reports, it does not gate:
#   build      in a throwaway overlay of the cached arm64 Debian 12 build root: a venv from the
#              wheels of `./shebao deb --arch arm64` plus PyInstaller's aarch64 wheels (both at the
#              lock's versions: requirements/run.txt and build.txt), then
#              packaging/pyinstaller/shebao-desk.spec (WenQuanYi Zen Hei bundled)
#   floor      the highest GLIBC_2.N and GLIBCXX_3.4.N any file of the one-folder needs (readelf),
#              and which files need them
#   bookworm   the frozen program in a minbase Debian 12 root without Python or fonts:
#              --version, documents sample, db check on a new store
#   bullseye   the same in a minbase Debian 11 root: glibc 2.31 and GCC 10's libstdc++, the level of
#              Kylin V10 SP1 (Ubuntu 20.04 based)
#   qt-2.31    the Qt part alone at that level: Debian 11's own Python 3.9 with the package's PySide6
#              aarch64 wheels (abi3), a widget rendered offscreen and a sample PDF opened with QtPdf
# Host set-up and binfmt_misc as in scripts/test-arm64.sh (left as found). Output in
# artifacts/arm64-app/ (probe.log, floor.txt; the one-folder itself in artifacts/arm64-app/shebao-desk).
# Usage: scripts/probe-app-arm64.sh
set -euo pipefail
cd "$(dirname "$0")/.."
[[ $(id -u) == 0 ]] || { echo "run as root" >&2; exit 2; }
# shellcheck source=arm64-chroot.sh
source scripts/arm64-chroot.sh
out=$PWD/artifacts/arm64-app
work=$(mktemp -d /tmp/shebao-arm64-app.XXXXXX)
trap 'arm64_cleanup; rm -rf "$work"' EXIT
mkdir -p "$out"
exec > >(tee "$out/probe.log") 2>&1
steps=()
step_name="" step_start=0
step() {
  local now; now=$(date +%s)
  [[ -n $step_name ]] && steps+=("$(printf '%-9s %4d s  %s' "$step_name" $((now - step_start)) "$step_result")")
  step_name=$1 step_start=$now step_result=""
  [[ -n $1 ]] && printf '\n== %s: %s\n' "$1" "$2"
  return 0
}

step build "PyInstaller one-folder in the arm64 Debian 12 build root"
arm64_setup
./shebao deb --arch arm64 >"$work/deb.log" 2>&1 || { tail -20 "$work/deb.log"; exit 1; }
arm64_base
arm64_build_root
mkdir -p "$work/build"
arm64_overlay "$ARM64_BUILD_ROOT" "$work/build"
B=$ARM64_ROOT
mkdir -p "$B/tmp/wheels" "$B/src"
cp build/deb/root/opt/shebao-desk/wheels/*.whl "$B/tmp/wheels/"
# PyInstaller and what it needs at the lock's versions (requirements/build.txt, hash-checked; the
# package's wheels already there are checked against the same hashes and not downloaded again).
tw=packaging/deb/target_wheels.py
.venv/bin/python $tw split requirements/build.txt aarch64 3.11 "$work/build-binary.txt" "$work/build-source.txt"
read -r -a platforms < <(.venv/bin/python $tw platforms aarch64 "$(.venv/bin/python $tw default-glibc)")
.venv/bin/python -m pip download --quiet --require-hashes --only-binary=:all: "${platforms[@]}" \
  --python-version 3.11 --implementation cp --abi cp311 --dest "$B/tmp/wheels" -r "$work/build-binary.txt"
git archive HEAD | tar -x -C "$B/src"
arm64_run "$B" apt-get update -qq
# The libraries Qt links against (the package's Depends), so PyInstaller finds what it must collect.
qt_libs=$(dpkg-deb -f "$(ls -t dist/shebao-desk_*_arm64.deb | head -1)" Depends | tr ',' '\n' | grep -o '^ *lib[^ ]*' | tr -d ' ')
# shellcheck disable=SC2086
arm64_run "$B" apt-get install -y -qq --no-install-recommends python3-venv fonts-wqy-zenhei $qt_libs >/dev/null
arm64_run "$B" python3 -m venv /opt/venv
arm64_run "$B" /opt/venv/bin/pip install --quiet --no-index --find-links /tmp/wheels shebao-desk pyinstaller
arm64_run "$B" sh -c 'cd /src && /opt/venv/bin/python -m PyInstaller --noconfirm --clean --log-level WARN \
  --distpath /src/dist --workpath /src/build packaging/pyinstaller/shebao-desk.spec'
rm -rf "$out/shebao-desk"; cp -a "$B/src/dist/shebao-desk" "$out/"
step_result="$(du -sh "$out/shebao-desk" | cut -f1)"
echo "one-folder: $out/shebao-desk ($step_result)"

step floor "the glibc and libstdc++ symbol versions the one-folder needs (readelf)"
find "$out/shebao-desk" -type f \( -name '*.so*' -o -name shebao-desk \) | while read -r f; do
  { readelf --version-info --wide "$f" 2>/dev/null || true; } | { grep -o 'GLIBC_2\.[0-9]*\|GLIBCXX_3\.4\.[0-9]*' || true; } |
    sort -u | sed "s|\$| ${f#"$out"/shebao-desk/}|"
done | sort -u >"$work/needs"
{
  for sym in GLIBC_2 GLIBCXX_3.4; do
    top=$(grep -o "^${sym}\.[0-9]*" "$work/needs" | sort -t. -k"$([[ $sym == GLIBC_2 ]] && echo 2 || echo 3)" -n -u | tail -1)
    echo "$top needed by: $(grep "^$top " "$work/needs" | cut -d' ' -f2 | tr '\n' ' ')"
  done
} | tee "$out/floor.txt"
step_result=$(cut -d' ' -f1 "$out/floor.txt" | tr '\n' ' ')

# The frozen program in a fresh root: --version, documents, a new store. Prints one line of result.
run_frozen() {
  local root=$1 log=$2 app=/opt/shebao-desk/shebao-desk
  cp -a "$out/shebao-desk" "$root/opt/"
  local env=(env XDG_DATA_HOME=/tmp/u/data XDG_STATE_HOME=/tmp/u/state XDG_CONFIG_HOME=/tmp/u/config QT_QPA_PLATFORM=offscreen)
  if arm64_run "$root" "${env[@]}" $app --version >"$log" 2>&1 &&
     arm64_run "$root" "${env[@]}" $app documents sample --out /tmp/docs >>"$log" 2>&1 &&
     arm64_run "$root" "${env[@]}" $app --db /tmp/u/new.sqlite3 db check >>"$log" 2>&1; then
    echo "runs: --version, documents ($(ls "$root/tmp/docs" | wc -l) PDFs), db check"
  else
    echo "does not run: $(grep -o "version \`[A-Z_0-9.]*' not found" "$log" | sort -u | tr '\n' ' ')"
  fi
}

step bookworm "the frozen program in a minbase Debian 12 root (no Python, no fonts)"
arm64_base bookworm
mkdir -p "$work/bookworm"; arm64_overlay "$ARM64_BASE_ROOT" "$work/bookworm"
arm64_run "$ARM64_ROOT" sh -c 'command -v python3 || echo "no python3 here"'
step_result=$(run_frozen "$ARM64_ROOT" "$out/bookworm.log")
cp "$ARM64_ROOT/tmp/docs/receipt.pdf" "$work/receipt.pdf" 2>/dev/null || true
echo "$step_result"; cat "$out/bookworm.log"

step bullseye "the frozen program in a minbase Debian 11 root (glibc 2.31)"
arm64_base bullseye
mkdir -p "$work/bullseye"; arm64_overlay "$ARM64_BASE_ROOT" "$work/bullseye"
D11=$ARM64_ROOT
echo "glibc $(arm64_run "$D11" ldd --version | head -1 | grep -o '[0-9.]*$')"
step_result=$(run_frozen "$D11" "$out/bullseye.log")
echo "$step_result"; head -5 "$out/bullseye.log"

step qt-2.31 "PySide6's aarch64 wheels with Debian 11's Python 3.9 (glibc 2.31, GLIBCXX_3.4.28)"
# Only bullseye and bullseye-updates: a mirror may no longer carry bullseye-security's packages (this
# machine's answers 404 for them) and nothing here needs them.
sed -i '/-security/d' "$D11/etc/apt/sources.list"
arm64_run "$D11" apt-get update -qq
arm64_run "$D11" apt-get install -y -qq --no-install-recommends python3-venv libfontconfig1 libglib2.0-0 \
  libdbus-1-3 libxkbcommon0 libegl1 libgl1 >/dev/null
mkdir -p "$D11/tmp/qt"
cp build/deb/root/opt/shebao-desk/wheels/{PySide6,shiboken6}*.whl "$D11/tmp/qt/"
[[ -s $work/receipt.pdf ]] && cp "$work/receipt.pdf" "$D11/tmp/qt/receipt.pdf"
arm64_run "$D11" python3 -m venv /tmp/qt/venv
arm64_run "$D11" /tmp/qt/venv/bin/pip install --quiet --no-index --find-links /tmp/qt PySide6-Essentials PySide6-Addons
cat >"$D11/tmp/qt/smoke.py" <<'PY'
import os, sys
from PySide6.QtCore import qVersion
from PySide6.QtPdf import QPdfDocument
from PySide6.QtWidgets import QApplication, QLabel
app = QApplication([])
label = QLabel("社会保障卡综合服务窗口工作台")
label.resize(400, 60)
image = label.grab().toImage()
doc = QPdfDocument()
pages = 0
if os.path.exists("/tmp/qt/receipt.pdf"):
    doc.load("/tmp/qt/receipt.pdf")
    pages = doc.pageCount()
print(f"Qt {qVersion()}: widget rendered {image.width()}x{image.height()}, receipt.pdf {pages} page(s)")
sys.exit(0 if image.width() > 0 and pages >= 1 else 1)
PY
if arm64_run "$D11" env QT_QPA_PLATFORM=offscreen /tmp/qt/venv/bin/python /tmp/qt/smoke.py >"$out/qt-2.31.log" 2>&1; then
  step_result="runs: $(tail -1 "$out/qt-2.31.log")"
else
  step_result="does not run: $(tail -3 "$out/qt-2.31.log" | tr '\n' ' ')"
fi
echo "$step_result"

step "" ""
printf '\n== results\n'; printf '  %s\n' "${steps[@]}"
