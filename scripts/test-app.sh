#!/usr/bin/env bash
# The PyInstaller one-folder build proven on Linux (slow, so not in the default suite). Builds it
# (./shebao app) unless --no-build, then uses only the frozen program, never the source tree:
#   --version; documents sample (PDF, bundled or system CJK font); demo seed + db check (Alembic
#   migrations from the bundled scripts); the print helper through `-m`; the window under Xvfb;
#   card read against the virtual card through pcscd ("Virtual PCD 00 01", serialised by
#   /tmp/shebao-pcsc.lock; reported as NOT CHECKED when no pcscd runs here — it is never started,
#   stopped or restarted by this script).
set -euo pipefail
cd "$(dirname "$0")/.."
display=${SHEBAO_APP_DISPLAY:-:119}
app=$PWD/dist/shebao-desk/shebao-desk
holder=$PWD/resources/holders/gen3-wang-qiang.toml
work=$(mktemp -d /tmp/shebao-app-test.XXXXXX)
xvfb=""
cleanup() {
  [[ -n $xvfb ]] && kill "$xvfb" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT
step() { printf '\n== %s\n' "$*"; }
fail() { echo "FAIL: $*" >&2; exit 1; }
export XDG_DATA_HOME=$work/data XDG_STATE_HOME=$work/state XDG_CONFIG_HOME=$work/config QT_QPA_PLATFORM=offscreen
unset SHEBAO_DB SHEBAO_RESOURCES
cd "$work"  # nothing may come from the checkout by accident

if [[ ${1:-} != --no-build ]]; then
  step "build"
  (cd - >/dev/null && ./shebao app)
fi
[[ -x $app ]] || fail "no $app"
echo "one-folder: $(du -sh "$(dirname "$app")" | cut -f1)"

step "--version"
"$app" --version | tee version
grep -q "数据库结构版本：00" version || fail "schema version"

step "documents"
"$app" documents sample --out docs
for pdf in docs/*.pdf; do
  pdffonts "$pdf" | grep -q "yes yes" || fail "$pdf: font not embedded"
done
ls docs

step "store: migrations, seed, check"
"$app" demo seed 5
"$app" db check

step "print helper through -m (to a PDF file)"
first=$(find docs -name '*.pdf' | sort | head -1)
pages=$("$app" -m shebao_desk.ui.print_job "$first" --output printed.pdf)
[[ $pages -ge 1 && -s printed.pdf ]] || fail "print helper"
echo "printed $pages page(s)"

step "window under Xvfb $display"
Xvfb "$display" -screen 0 1366x768x24 -nolisten tcp >xvfb.log 2>&1 &
xvfb=$!
for _ in $(seq 50); do [[ -S /tmp/.X11-unix/X${display#:} ]] && break; sleep 0.1; done
DISPLAY=$display QT_QPA_PLATFORM=xcb "$app" >gui.log 2>&1 &
gui=$!
shown=""
for _ in $(seq 60); do
  if DISPLAY=$display xwininfo -root -tree 2>/dev/null | grep -q '("shebao-desk" '; then shown=1; break; fi
  sleep 0.5
done
DISPLAY=$display xwininfo -root -tree | grep '("shebao-desk" ' | head -2 || true
kill "$gui" 2>/dev/null; wait "$gui" 2>/dev/null || true
[[ -n $shown ]] || { cat gui.log; fail "no window appeared"; }
grep -q "Qt Chinese translations not found" "$XDG_STATE_HOME"/shebao-desk/log/*.log 2>/dev/null && fail "Qt translations"
echo "ok: window appeared"

step "card read through pcscd"
if ! pgrep -x pcscd >/dev/null; then
  echo "NOT CHECKED: no pcscd runs on this machine (start one with the vsmartcard vpcd driver, then rerun)"
  echo; echo "PASS scripts/test-app.sh (card read not checked)"; exit 0
fi
read_card() {
  mkfifo sim
  "$app" card simulate --holder "$holder" --port 35964 <sim >sim.log 2>&1 &
  local sim=$! ok=""
  exec 3>sim
  for _ in $(seq 50); do grep -q "虚拟卡已插入" sim.log && break; sleep 0.1; done
  for _ in $(seq 20); do
    if "$app" card read --reader "Virtual PCD 00 01" --json >card.json 2>card.err; then ok=1; break; fi
    sleep 0.5
  done
  echo quit >&3; exec 3>&-
  wait "$sim" || true
  [[ -n $ok ]] || { cat sim.log card.err; return 1; }
}
export -f read_card
export app holder
flock /tmp/shebao-pcsc.lock bash -c read_card || fail "card read"
cat card.json; echo
if ! grep -q '"name": "王强"' card.json || ! grep -q '"card_number": "C30000303"' card.json; then
  fail "card contents differ from $holder"
fi
echo; echo "PASS scripts/test-app.sh"
