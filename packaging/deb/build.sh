#!/usr/bin/env bash
# Builds dist/shebao-desk_VERSION_ARCH.deb for this machine's architecture (`./shebao deb`).
#   /opt/shebao-desk/wheels   every wheel the program needs, at the versions of requirements/run.txt
#                             (pyscard compiled here), installed by postinst into /opt/shebao-desk/venv
#                             without network
#   /etc/shebao-desk          resources/ (conffiles: a county's edits survive upgrades)
#   /usr/bin/shebao-desk      launcher; menu entry and icon under /usr/share
# The wheels are built for this Python's minor version, so the package depends on exactly it.
# arm64 (Phytium, Kunpeng): run the same command on an arm64 Debian 12 / UOS / Kylin machine.
set -euo pipefail
cd "$(dirname "$0")/../.."
py=${PYTHON:-.venv/bin/python}
here=packaging/deb
version=$(sed -n 's/^__version__ = "\(.*\)"$/\1/p' shebao_desk/__init__.py)
arch=$(dpkg --print-architecture)
pyver=$("$py" -c 'import sys; print(f"{sys.version_info[0]}.{sys.version_info[1]}")')
pynext=$("$py" -c 'import sys; print(f"{sys.version_info[0]}.{sys.version_info[1] + 1}")')
root=build/deb/root
out=dist/shebao-desk_${version}_${arch}.deb
start=$(date +%s)

rm -rf "$root"
mkdir -p "$root/DEBIAN" "$root/opt/shebao-desk/wheels" "$root/etc/shebao-desk" "$root/usr/bin" \
  "$root/usr/share/applications" "$root/usr/share/icons/hicolor/scalable/apps" dist

echo "wheels (Python $pyver, $arch)…"
# Exactly the locked versions, each file checked against the lock's hashes (requirements/run.txt,
# refreshed by ./shebao lock), then the program's own wheel; postinst installs from these alone.
export PIP_DISABLE_PIP_VERSION_CHECK=1
"$py" -m pip wheel --quiet --require-hashes -r requirements/run.txt --wheel-dir "$root/opt/shebao-desk/wheels"
"$py" -m pip wheel --quiet --no-deps --wheel-dir "$root/opt/shebao-desk/wheels" .
# The installer of the venv: pip's own wheel comes from python3-venv (ensurepip) at install time.
cp -r resources/. "$root/etc/shebao-desk/"
(cd "$root" && find etc -type f | sed 's|^|/|' | sort) >"$root/DEBIAN/conffiles"
install -m 755 "$here/launcher.sh" "$root/usr/bin/shebao-desk"
install -m 644 "$here/shebao-desk.desktop" "$root/usr/share/applications/"
install -m 644 packaging/icons/shebao-desk.svg "$root/usr/share/icons/hicolor/scalable/apps/"
for size in 16 32 48 64 128 256; do
  install -D -m 644 "packaging/icons/shebao-desk-$size.png" \
    "$root/usr/share/icons/hicolor/${size}x${size}/apps/shebao-desk.png"
done
install -m 755 "$here/postinst" "$here/postrm" "$root/DEBIAN/"

# Qt's X11 platform plugin and what the wheels do not bring (checked with ldd on PySide6's libraries).
qt_libs="libgl1, libegl1, libfontconfig1, libfreetype6, libdbus-1-3, libglib2.0-0, libxkbcommon0,
 libxkbcommon-x11-0, libx11-xcb1, libxcb-cursor0, libxcb-icccm4, libxcb-image0, libxcb-keysyms1,
 libxcb-randr0, libxcb-render-util0, libxcb-shape0, libxcb-shm0, libxcb-sync1, libxcb-xfixes0,
 libxcb-xkb1, libcups2"
cat >"$root/DEBIAN/control" <<CONTROL
Package: shebao-desk
Version: $version
Architecture: $arch
Maintainer: shebao-desk maintainers <shebao-desk@localhost>
Section: misc
Priority: optional
Installed-Size: $(du -sk "$root" | cut -f1)
Depends: python3 (>= $pyver), python3 (<< $pynext), python3-venv, pcscd, libpcsclite1,
 fonts-wqy-zenhei | fonts-arphic-uming, $qt_libs
Description: 社会保障卡综合服务窗口工作台 — social security card service window workstation
 Intake of every social security card business, PC/SC card readers, the Shaanxi
 business form, one-time notice and receipt, a per-user SQLite store that syncs to
 a central PostgreSQL. Installs its own Python environment under /opt/shebao-desk.
CONTROL

dpkg-deb --root-owner-group -Zgzip --build "$root" "$out" >/dev/null
echo "$out: $(du -h "$out" | cut -f1), built in $(($(date +%s) - start)) s"
