#!/usr/bin/env bash
# The arm64 package (Phytium, Kunpeng: Kylin/UOS-class machines) tried on this amd64 machine, as root
# (minutes; not in the default suite). An arm64 Debian 12 root runs under qemu-user through binfmt_misc:
#   build      ./shebao deb --arch arm64 (unless a .deb is given)
#   root       a fresh root: an overlay over the cached debootstrap base (scripts/arm64-chroot.sh)
#   install    apt-get install ./shebao-desk_VERSION_arm64.deb (+ vsmartcard-vpcd for the virtual card)
#   libraries  ldd: every library of the Qt modules and plugins the program loads resolves
#   --version, documents sample (the PDFs' text read with pdftotext), db check on a new store,
#   card read  an arm64 pcscd of its own in the root (own config dir, vpcd on a free port pair),
#              the virtual card (card simulate --holder …) read through it
#   window     under an Xvfb of this host (the arm64 program is its X client); a screenshot, taken by
#              the arm64 Qt itself, saved to artifacts/screenshots/arm64/window.png
# This host: installs qemu-user-static and debootstrap with apt-get when missing (not binfmt-support:
# nothing is registered permanently). binfmt_misc is left as found: an aarch64 registration is added
# only when none exists and removed at the end, binfmt_misc unmounted only if this script mounted it.
# Everything it mounts is unmounted, every process it started is stopped by its pid. The base root,
# the build root, apt's downloads and the compiled wheels stay in /var/cache/shebao-arm64
# (SHEBAO_ARM64_CACHE) for the next run; remove that folder to start from scratch.
# Usage: scripts/test-arm64.sh [DEB]
set -euo pipefail
cd "$(dirname "$0")/.."
[[ $(id -u) == 0 ]] || { echo "run as root" >&2; exit 2; }
repo=$PWD
# shellcheck source=arm64-chroot.sh
source scripts/arm64-chroot.sh
work=$(mktemp -d /tmp/shebao-arm64-test.XXXXXX)
shots=$repo/artifacts/screenshots/arm64
pids=()
steps=()
step_name="" step_start=0 run_start=$(date +%s)

cleanup() {
  local pid
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  arm64_cleanup
  rm -rf "$work"
}
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
step() {
  local now; now=$(date +%s)
  [[ -n $step_name ]] && steps+=("$(printf '%-10s %4d s' "$step_name" $((now - step_start)))")
  step_name=$1 step_start=$now
  [[ -n $1 ]] && printf '\n== %s: %s\n' "$1" "$2"
  return 0
}

step setup "qemu-user-static, debootstrap, binfmt_misc"
arm64_lock
before_binfmt=$(ls /proc/sys/fs/binfmt_misc 2>/dev/null | sort | tr '\n' ' ')
binfmt_was_mounted=$([[ -e /proc/sys/fs/binfmt_misc/register ]] && echo yes || echo no)
arm64_setup
echo "binfmt_misc before: mounted=$binfmt_was_mounted, entries: ${before_binfmt:-none}"

step base "the arm64 Debian 12 base root (debootstrap once, then cached)"
arm64_base
echo "$ARM64_BASE_ROOT: $(du -sh "$ARM64_BASE_ROOT" | cut -f1)"

deb=${1:-}
if [[ -z $deb ]]; then
  step build "./shebao deb --arch arm64"
  ./shebao deb --arch arm64
  version=$(sed -n 's/^__version__ = "\(.*\)"$/\1/p' shebao_desk/__init__.py)
  deb=dist/shebao-desk_${version}_arm64.deb
fi
deb=$(realpath "$deb")
[[ $(dpkg-deb -f "$deb" Architecture) == arm64 ]] || fail "$deb is not an arm64 package"
echo "package: $deb ($(du -h "$deb" | cut -f1)); Depends on $(dpkg-deb -f "$deb" Depends | grep -o 'python3 (>= [^)]*)\|libc6 (>= [^)]*)' | tr '\n' ' ')"

step root "a fresh root: overlay over the base"
arm64_overlay "$ARM64_BASE_ROOT" "$work"
R=$ARM64_ROOT
[[ $(arm64_run "$R" uname -m) == aarch64 ]] || fail "the root does not run aarch64 programs"
echo "uname -m in the root: aarch64 (qemu-user); glibc $(arm64_run "$R" ldd --version | head -1 | grep -o '[0-9.]*$')"

step install "apt-get install the package (its postinst makes the venv from the wheels, under qemu)"
cp "$deb" "$R/tmp/"
arm64_run "$R" apt-get update -qq
arm64_run "$R" apt-get install -y -qq --no-install-recommends "/tmp/$(basename "$deb")" vsmartcard-vpcd >"$work/apt.log" 2>&1 ||
  { tail -30 "$work/apt.log"; fail "apt-get install"; }
[[ -x $R/usr/bin/shebao-desk && -x $R/opt/shebao-desk/venv/bin/python ]] || fail "not installed"
echo "/opt/shebao-desk: $(du -sh "$R/opt/shebao-desk" | cut -f1); $(arm64_run "$R" /opt/shebao-desk/venv/bin/python -c \
  'import PySide6, smartcard, platform; print("PySide6", PySide6.__version__, "on", platform.machine())')"

# The program as a user of the package: their own data, state and config folders inside the root.
user_env=(env XDG_DATA_HOME=/tmp/user/data XDG_STATE_HOME=/tmp/user/state XDG_CONFIG_HOME=/tmp/user/config
  QT_QPA_PLATFORM=offscreen)
in_root() { arm64_run "$R" "${user_env[@]}" "$@"; }
in_root_bg() { arm64_spawn "$R" "${user_env[@]}" "$@"; }  # with &: $! is the program's pid

step libraries "ldd on the Qt modules and plugins the program loads"
qt=/opt/shebao-desk/venv/lib/python3.11/site-packages/PySide6
mods=$(grep -rhoE 'PySide6\.Qt[A-Za-z]+' shebao_desk | sort -u | sed 's/PySide6\.//')
libs=""
for m in $mods; do libs+=" $qt/$m.abi3.so"; done
libs+=" $qt/Qt/plugins/platforms/libqxcb.so $qt/Qt/plugins/platforms/libqoffscreen.so $qt/Qt/plugins/xcbglintegrations/libqxcb-glx-integration.so"
missing=$(arm64_run "$R" sh -c "for l in $libs; do ldd \$l | sed \"s|^|\$l: |\"; done" | grep 'not found' || true)
[[ -z $missing ]] || { echo "$missing"; fail "libraries missing from the package's Depends"; }
echo "ok: $(wc -w <<<"$libs") libraries ($(tr '\n' ' ' <<<"$mods")+ xcb, offscreen)"

step version "shebao-desk --version"
in_root shebao-desk --version | tee "$work/version"
grep -q "数据文件夹：/tmp/user/data/shebao-desk" "$work/version" || fail "--version: data folder"
grep -q "数据库结构版本：00" "$work/version" || fail "--version: schema"

step documents "documents sample; the PDFs read back with pdftotext"
in_root shebao-desk documents sample --out /tmp/docs
declare -A titles=([business_form]="陕西省社会保障卡业务办理表" [notice]="社会保障卡业务一次性告知单"
  [notice_large]="社会保障卡业务一次性告知单" [receipt]="社会保障卡业务受理回执" [receipt_loss]="社会保障卡业务受理回执")
for doc in "${!titles[@]}"; do
  pdf=$R/tmp/docs/$doc.pdf
  [[ -s $pdf ]] || fail "no $doc.pdf"
  pdftotext "$pdf" "$work/$doc.txt"
  grep -q "${titles[$doc]}" "$work/$doc.txt" || fail "$doc.pdf: no '${titles[$doc]}' in its text"
  pdffonts "$pdf" | grep -q "yes yes" || fail "$doc.pdf: font not embedded"
done
# The same documents from this machine's amd64 build of the same source, when there is one.
if [[ -x .venv/bin/shebao-desk ]]; then
  XDG_DATA_HOME=$work/amd64/data XDG_STATE_HOME=$work/amd64/state XDG_CONFIG_HOME=$work/amd64/config \
    QT_QPA_PLATFORM=offscreen .venv/bin/shebao-desk documents sample --out "$work/amd64/docs" >/dev/null
  for doc in "${!titles[@]}"; do
    pdftotext "$work/amd64/docs/$doc.pdf" - | diff -q "$work/$doc.txt" - >/dev/null || fail "$doc.pdf: text differs from amd64's"
  done
  echo "ok: ${#titles[@]} PDFs, titles found, fonts embedded, text identical to the amd64 build's"
else
  echo "ok: ${#titles[@]} PDFs, titles found, fonts embedded"
fi

step db "db check on a new store"
in_root shebao-desk --db /tmp/user/new.sqlite3 db check | tee "$work/check"
grep -q "检查通过" "$work/check" || fail "db check"
[[ -s $R/tmp/user/new.sqlite3 ]] || fail "no store made"

step card "card read: the virtual card through an arm64 pcscd + vpcd in the root"
port=""
for p in $(seq 38963 2 39963); do
  if ! ss -Htln "sport = :$p or sport = :$((p + 1))" | grep -q .; then port=$p; break; fi
done
[[ -n $port ]] || fail "no free port pair for vpcd"
mkdir -p "$R/tmp/pcsc/conf" "$R/run/pcscd"
printf 'FRIENDLYNAME "Virtual PCD"\nDEVICENAME   /dev/null:0x%X\nLIBPATH      /usr/lib/pcsc/drivers/serial/libifdvpcd.so\nCHANNELID    0x%X\n' \
  "$port" "$port" >"$R/tmp/pcsc/conf/vpcd"
arm64_spawn "$R" pcscd --foreground --error -c /tmp/pcsc/conf >"$work/pcscd.log" 2>&1 &
pids+=($!)
for _ in $(seq 100); do [[ -S $R/run/pcscd/pcscd.comm ]] && break; sleep 0.2; done
[[ -S $R/run/pcscd/pcscd.comm ]] || { cat "$work/pcscd.log"; fail "pcscd did not start in the root"; }
mkfifo "$R/tmp/sim"
holder=/etc/shebao-desk/holders/gen3-wang-qiang.toml
in_root_bg env SHEBAO_VPCD_PORT="$port" shebao-desk card simulate --holder "$holder" --port $((port + 1)) \
  <"$R/tmp/sim" >"$work/sim.log" 2>&1 &
sim=$!; pids+=("$sim")
exec 3>"$R/tmp/sim"
for _ in $(seq 150); do grep -q "虚拟卡已插入" "$work/sim.log" && break; sleep 0.2; done
grep -q "虚拟卡已插入" "$work/sim.log" || { cat "$work/sim.log" "$work/pcscd.log"; fail "virtual card not inserted"; }
read_ok=""
for _ in $(seq 20); do
  if in_root shebao-desk card read --reader "Virtual PCD 00 01" --json >"$work/card.json" 2>"$work/card.err"; then
    read_ok=1; break
  fi
  sleep 1
done
echo quit >&3; exec 3>&-
wait "$sim" || true
[[ -n $read_ok ]] || { cat "$work/card.err" "$work/sim.log" "$work/pcscd.log"; fail "card read"; }
cat "$work/card.json"; echo
# What the card must say comes from the holder file, not from the program.
for key in name card_number ssn; do
  want=$(sed -n "s/^$key = \"\(.*\)\".*/\1/p" "$R$holder")
  grep -q "\"$key\": \"$want\"" "$work/card.json" || fail "card read: $key is not $want"
done
echo "ok: read through vpcd port $((port + 1)) (reader Virtual PCD 00 01)"

step window "the window under Xvfb; screenshot"
display=""
for n in $(seq 130 149); do
  [[ -e /tmp/.X$n-lock || -e /tmp/.X11-unix/X$n ]] && continue
  Xvfb ":$n" -screen 0 1366x768x24 -nolisten tcp >"$work/xvfb.log" 2>&1 &
  pids+=($!)
  for _ in $(seq 50); do [[ -S /tmp/.X11-unix/X$n ]] && break; sleep 0.1; done
  [[ -S /tmp/.X11-unix/X$n ]] && { display=:$n; break; }
done
[[ -n $display ]] || fail "Xvfb did not start"
# The root reaches this X server through its abstract socket (same network namespace).
in_root_bg env DISPLAY=$display QT_QPA_PLATFORM=xcb shebao-desk >"$work/gui.log" 2>&1 &
gui=$!; pids+=("$gui")
shown=""
for _ in $(seq 240); do
  if DISPLAY=$display xwininfo -root -tree 2>/dev/null | grep -q '("shebao-desk" '; then shown=1; break; fi
  sleep 0.5
done
[[ -n $shown ]] || { cat "$work/gui.log"; fail "no window appeared"; }
# A new data folder: once the store is open (migrations run off the GUI thread) the dialog asks to set
# up this PC; its title says so.
opened=""
for _ in $(seq 240); do
  if DISPLAY=$display xwininfo -root -tree 2>/dev/null | grep -q '"首次使用'; then opened=1; break; fi
  sleep 0.5
done
DISPLAY=$display xwininfo -root -tree | grep '("shebao-desk" ' | head -2
[[ -n $opened ]] || { cat "$work/gui.log"; fail "the window did not get past opening the store"; }
sleep 2  # let it paint
in_root env DISPLAY=$display QT_QPA_PLATFORM=xcb /opt/shebao-desk/venv/bin/python -c '
import sys
from PySide6.QtGui import QGuiApplication
app = QGuiApplication([])
sys.exit(0 if app.primaryScreen().grabWindow(0).save("/tmp/window.png") else 1)' || fail "screenshot"
mkdir -p "$shots" && cp "$R/tmp/window.png" "$shots/window.png"
kill "$gui" 2>/dev/null || true; wait "$gui" 2>/dev/null || true
logs=("$R"/tmp/user/state/shebao-desk/log/*.log)
[[ -s ${logs[0]} ]] || fail "the program wrote no log"
if grep -q "Traceback" "$work/gui.log" "${logs[@]}"; then fail "a traceback in the log"; fi
if grep -q "Qt translation qtbase_zh_CN not found" "${logs[@]}"; then fail "Qt's Chinese translations not found"; fi
echo "ok: window appeared, store opened (first-use form); screenshot $shots/window.png"

step "" ""
printf '\n== steps (seconds)\n'; printf '  %s\n' "${steps[@]}"
echo "  total      $(($(date +%s) - run_start)) s"
cleanup; trap - EXIT
after_binfmt=$(ls /proc/sys/fs/binfmt_misc 2>/dev/null | sort | tr '\n' ' ')
after_mounted=$([[ -e /proc/sys/fs/binfmt_misc/register ]] && echo yes || echo no)
[[ $after_binfmt == "$before_binfmt" && $after_mounted == "$binfmt_was_mounted" ]] ||
  fail "binfmt_misc not as found: before mounted=$binfmt_was_mounted [$before_binfmt], after mounted=$after_mounted [$after_binfmt]"
! grep -q "$work\|$ARM64_CACHE" /proc/self/mountinfo || fail "something is still mounted: $(grep "$work\|$ARM64_CACHE" /proc/self/mountinfo)"
echo "binfmt_misc as found (mounted=$after_mounted, entries: ${after_binfmt:-none}); nothing left mounted"
echo; echo "PASS scripts/test-arm64.sh"
