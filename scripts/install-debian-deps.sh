#!/usr/bin/env bash
# Installs the Debian packages shebao-desk needs, only those missing.
#   install-debian-deps.sh run   — to run the program (Qt libraries, CJK font, PC/SC, build tools for pyscard)
#   install-debian-deps.sh test  — the above plus the test services (vpcd, PostgreSQL, Xvfb, poppler,
#                                  a private CUPS with a cups-pdf queue, SANE's test scanner)
# On a machine without apt-get (Windows, other distributions) it only reports what to install.
set -euo pipefail
what=${1:-run}

run_pkgs=(python3 python3-venv python3-dev build-essential swig libpcsclite-dev pcscd
          fonts-wqy-zenhei fonts-hanazono libgl1 libegl1 libfontconfig1 libdbus-1-3 libxkbcommon0 libxkbcommon-x11-0
          libxcb-cursor0 libxcb-icccm4 libxcb-keysyms1 libxcb-shape0 libxcb-render-util0 libxcb-image0
          libxcb-randr0 libxcb-xinerama0 libxcb-xkb1 libnss3 libcups2)
test_pkgs=(vsmartcard-vpcd postgresql xvfb xauth x11-xserver-utils poppler-utils
           cups cups-client cups-bsd printer-driver-cups-pdf sane-utils libsane1)
# What a bare Debian 12 (no desktop task) lacks besides: Qt's GLib and X11 libraries, pgrep, flock.
bare_run_pkgs=(libglib2.0-0 libx11-xcb1 libxcb-shm0 libxcb-sync1 libxcb-xfixes0 libxcb-render0 libxcb-util1)
bare_test_pkgs=(procps util-linux)

pkgs=("${run_pkgs[@]}" "${bare_run_pkgs[@]}")
[[ $what == test ]] && pkgs+=("${test_pkgs[@]}" "${bare_test_pkgs[@]}")

missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
((${#missing[@]})) || exit 0

if ! command -v apt-get >/dev/null; then
  echo "请安装以下系统软件包 / please install: ${missing[*]}" >&2
  exit 0
fi
sudo=""
if [[ $(id -u) != 0 ]]; then
  command -v sudo >/dev/null || { echo "需要 root 权限安装：${missing[*]}" >&2; exit 1; }
  sudo="sudo DEBIAN_FRONTEND=noninteractive"
fi
echo "installing: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
# Wait for another apt (e.g. unattended-upgrades on a fresh machine) instead of failing at once.
lock=(-o DPkg::Lock::Timeout=600)
$sudo apt-get "${lock[@]}" update -qq
$sudo apt-get "${lock[@]}" install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
