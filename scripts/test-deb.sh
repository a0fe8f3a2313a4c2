#!/usr/bin/env bash
# The Debian package end to end on this machine, as root (slow, so not in the default suite):
# build; apt-get install ./dist/…deb; --version; menu entry and icon; the window appears under Xvfb;
# a store is made; apt-get remove; reinstall; the store and the county's edits are still there;
# an upgrade to a newer package, then the store (put back one schema revision) migrates at next start.
# Leaves the system as found: the package is purged at the end unless it was installed before.
# Usage: scripts/test-deb.sh [DEB]   (without DEB, builds one with ./shebao deb)
set -euo pipefail
cd "$(dirname "$0")/.."
display=${SHEBAO_DEB_DISPLAY:-:119}
apt=(apt-get -o DPkg::Lock::Timeout=600 -y -qq)
work=$(mktemp -d /tmp/shebao-deb-test.XXXXXX)
xvfb=""
was_installed=$(dpkg-query -W -f='${Status}' shebao-desk 2>/dev/null | grep -c "install ok installed" || true)
cleanup() {
  [[ -n $xvfb ]] && kill "$xvfb" 2>/dev/null
  [[ $was_installed == 0 ]] && DEBIAN_FRONTEND=noninteractive "${apt[@]}" purge shebao-desk >/dev/null 2>&1
  rm -rf "$work"
}
trap cleanup EXIT
step() { printf '\n== %s\n' "$*"; }
fail() { echo "FAIL: $*" >&2; exit 1; }
# A user of the package: their own data, state and config folders.
export XDG_DATA_HOME=$work/data XDG_STATE_HOME=$work/state XDG_CONFIG_HOME=$work/config
unset SHEBAO_DB SHEBAO_RESOURCES
store=$XDG_DATA_HOME/shebao-desk/shebao.sqlite3

deb=${1:-}
if [[ -z $deb ]]; then
  step "build"
  start=$(date +%s)
  ./shebao deb
  echo "build time: $(($(date +%s) - start)) s"
  deb=$(find dist -name "shebao-desk_*_$(dpkg --print-architecture).deb" -newer pyproject.toml -printf '%T@ %p\n' | sort -rn | head -1 | cut -d' ' -f2)
fi
echo "package: $deb ($(du -h "$deb" | cut -f1))"

install_deb() {
  local start
  start=$(date +%s)
  DEBIAN_FRONTEND=noninteractive "${apt[@]}" install "$(realpath "$deb")" >/dev/null
  echo "install time: $(($(date +%s) - start)) s; /opt/shebao-desk: $(du -sh /opt/shebao-desk | cut -f1)"
}

step "install"
install_deb
[[ $(command -v shebao-desk) == /usr/bin/shebao-desk ]] || fail "launcher not on PATH"

step "--version"
shebao-desk --version | tee "$work/version"
grep -q "数据文件夹：$XDG_DATA_HOME/shebao-desk" "$work/version" || fail "--version: data folder"
grep -q "数据库结构版本：00" "$work/version" || fail "--version: schema"

step "menu entry and icon"
entry=/usr/share/applications/shebao-desk.desktop
grep -qx "Name=社会保障卡综合服务窗口工作台" "$entry" || fail "menu entry name"
grep -qx "Exec=shebao-desk" "$entry" || fail "menu entry command"
[[ -s /usr/share/icons/hicolor/scalable/apps/shebao-desk.svg && -s /usr/share/icons/hicolor/48x48/apps/shebao-desk.png ]] ||
  fail "icon"
if command -v desktop-file-validate >/dev/null; then desktop-file-validate "$entry"; fi
echo "ok: $entry"

step "window under Xvfb $display"
Xvfb "$display" -screen 0 1366x768x24 -nolisten tcp >"$work/xvfb.log" 2>&1 &
xvfb=$!
for _ in $(seq 50); do [[ -S /tmp/.X11-unix/X${display#:} ]] && break; sleep 0.1; done
DISPLAY=$display QT_QPA_PLATFORM=xcb shebao-desk >"$work/gui.log" 2>&1 &
gui=$!
shown=""
for _ in $(seq 60); do
  if DISPLAY=$display xwininfo -root -tree 2>/dev/null | grep -q '"shebao-desk"\|社会保障卡\|首次'; then shown=1; break; fi
  sleep 0.5
done
DISPLAY=$display xwininfo -root -tree | grep -E '^ +0x[0-9a-f]+ "' | grep -v '"Qt' | head -3 || true
kill "$gui" 2>/dev/null; wait "$gui" 2>/dev/null || true
[[ -n $shown ]] || { cat "$work/gui.log"; fail "no window appeared"; }
echo "ok: window appeared"

step "a store with data, and a county edit"
shebao-desk demo seed 5
[[ -s $store ]] || fail "no store at $store"
# Every file of the user's (store, keys, settings), byte for byte: whatever the store's format.
user_files() { (cd "$work" && mkdir -p data config && find data config -type f -exec sha256sum {} + | sort -k2); }
user_files >"$work/before"
echo "store: $store; user files: $(wc -l <"$work/before")"
sed -i 's/^window_name = .*/window_name = "测试窗口（保留）"/' /etc/shebao-desk/site.toml

step "apt-get remove"
DEBIAN_FRONTEND=noninteractive "${apt[@]}" remove shebao-desk >/dev/null
[[ ! -e /usr/bin/shebao-desk && ! -e /opt/shebao-desk/venv ]] || fail "remove left the program"
[[ -s $store ]] || fail "remove deleted the store"
grep -q "测试窗口（保留）" /etc/shebao-desk/site.toml || fail "remove lost the county's edit"
echo "ok: program gone; store and /etc/shebao-desk kept"

step "reinstall"
install_deb
user_files | diff "$work/before" - || fail "the user's files changed across remove and reinstall"
shebao-desk db check
grep -q "测试窗口（保留）" /etc/shebao-desk/site.toml || fail "reinstall overwrote the county's edit"
echo "ok: the store and keys are still there, byte for byte, and open; the county's edit kept"

step "upgrade: a newer package, a store left at the previous schema, migrated at the next start"
venv_py=/opt/shebao-desk/venv/bin/python
revision() { SHEBAO_RESOURCES=/etc/shebao-desk "$venv_py" -c \
  "import sys; from shebao_desk.store.database import open_store; print(open_store(sys.argv[1], migrate=False).current_revision())" "$store"; }
head=$(revision)
SHEBAO_RESOURCES=/etc/shebao-desk "$venv_py" -c "
import sys
from alembic import command
from shebao_desk.store.database import alembic_config, open_store
with open_store(sys.argv[1], migrate=False).engine.begin() as conn:
    command.downgrade(alembic_config(conn), '-1')" "$store"
older=$(revision)
[[ $older != "$head" ]] || fail "could not put the store back one revision"
dpkg-deb -R "$deb" "$work/pkg"
sed -i 's/^Version: .*/&+upgradetest/' "$work/pkg/DEBIAN/control"
newer=$work/shebao-desk_upgradetest.deb
dpkg-deb --root-owner-group -Zgzip --build "$work/pkg" "$newer" >/dev/null
DEBIAN_FRONTEND=noninteractive "${apt[@]}" install "$newer" >/dev/null
dpkg-query -W -f='${Version}\n' shebao-desk | grep -q upgradetest || fail "upgrade not installed"
[[ $(revision) == "$older" ]] || fail "the upgrade itself touched the store"
shebao-desk db check >/dev/null
[[ $(revision) == "$head" ]] || fail "the store was not migrated at the next start: $(revision)"
echo "ok: upgraded to $(dpkg-query -W -f='${Version}' shebao-desk); store $older → $head at the next start"
echo; echo "PASS scripts/test-deb.sh"
