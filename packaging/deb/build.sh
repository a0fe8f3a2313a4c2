#!/usr/bin/env bash
# Builds dist/shebao-desk_VERSION_ARCH.deb (`./shebao deb [--arch arm64]`).
#   /opt/shebao-desk/wheels   every wheel the program needs, at the versions of requirements/run.txt
#                             (pyscard compiled for the target), installed by postinst into
#                             /opt/shebao-desk/venv without network
#   /etc/shebao-desk          resources/ (conffiles: a county's edits survive upgrades)
#   /usr/bin/shebao-desk      launcher; menu entry and icon under /usr/share
# The wheels are built for one Python minor version, so the package depends on exactly it, and on
# the glibc its wheels need (libc6 >= the highest manylinux tag or GLIBC_2.N symbol among them).
#
# Without --arch, or with this machine's own: the wheels of this venv's Python, exactly the locked
# versions with their hashes (pip wheel --require-hashes -r requirements/run.txt), then the program's.
# --arch arm64 on an amd64 machine (as root; Phytium, Kunpeng): the same lock, its markers evaluated
# for Linux aarch64 (target_wheels.py: Qt 6.8 there, 6.12 elsewhere), every file hash-checked. An arm64
# Debian 12 root under qemu-user (scripts/arm64-chroot.sh, cached in /var/cache/shebao-arm64) gives the
# target's Python version and compiles the locked sdists of the packages that publish no aarch64
# wheel (target_wheels.py FROM_SOURCE); every other wheel is downloaded for manylinux aarch64 with
# glibc <= SHEBAO_TARGET_GLIBC (default 2.31: Kylin V10 SP1's; the oldest PySide6's aarch64 wheels
# run on). So the amd64 and arm64 packages carry the same reviewed versions.
set -euo pipefail
cd "$(dirname "$0")/../.."
py=${PYTHON:-.venv/bin/python}
here=packaging/deb
version=$(sed -n 's/^__version__ = "\(.*\)"$/\1/p' shebao_desk/__init__.py)
host_arch=$(dpkg --print-architecture)
arch=$host_arch
while [[ $# -gt 0 ]]; do
  case $1 in
    --arch) arch=${2:?--arch needs amd64 or arm64}; shift 2 ;;
    --arch=*) arch=${1#--arch=}; shift ;;
    *) echo "usage: ./shebao deb [--arch arm64]" >&2; exit 2 ;;
  esac
done
lock=requirements/run.txt   # exported from uv.lock by ./shebao lock
root=build/deb/root
wheels=$root/opt/shebao-desk/wheels
out=dist/shebao-desk_${version}_${arch}.deb
start=$(date +%s)
export PIP_DISABLE_PIP_VERSION_CHECK=1

# The aarch64 wheels, on an amd64 machine: the lock's, downloaded for the target with their hashes
# checked; the FROM_SOURCE sdists (hash-checked too) compiled in the arm64 root, the wheels cached by
# the sdist's sha256 in $ARM64_CACHE/wheels.
cross_wheels() {
  # shellcheck source=../../scripts/arm64-chroot.sh
  source scripts/arm64-chroot.sh
  trap arm64_cleanup EXIT
  arm64_setup
  local work=build/deb/cross target_glibc=${SHEBAO_TARGET_GLIBC:-}
  arm64_base
  arm64_build_root
  local broot=$ARM64_BUILD_ROOT
  arm64_mount_proc "$broot"
  pyver=$(arm64_run "$broot" python3 -c 'import sys; print("%d.%d" % sys.version_info[:2])')
  [[ -n $target_glibc ]] || target_glibc=$("$py" "$here/target_wheels.py" default-glibc)
  rm -rf "$work"; mkdir -p "$work/sdists"
  echo "wheels (Python $pyver, aarch64, manylinux glibc <= $target_glibc, from $lock)…"
  "$py" "$here/target_wheels.py" split "$lock" aarch64 "$pyver" "$work/binary.txt" "$work/source.txt"
  local platforms
  read -r -a platforms < <("$py" "$here/target_wheels.py" platforms aarch64 "$target_glibc")
  nice -n 15 "$py" -m pip download --quiet --require-hashes --only-binary=:all: "${platforms[@]}" \
    --python-version "$pyver" --implementation cp --abi "cp${pyver/./}" --dest "$wheels" -r "$work/binary.txt"
  nice -n 15 "$py" -m pip download --quiet --require-hashes --no-deps \
    --no-binary="$("$py" "$here/target_wheels.py" from-source)" --dest "$work/sdists" -r "$work/source.txt"
  local sdist key cached
  for sdist in "$work"/sdists/*; do
    key=$(sha256sum "$sdist" | cut -c1-16)-py$pyver
    cached=$ARM64_CACHE/wheels/$key
    if ! compgen -G "$cached/*.whl" >/dev/null; then
      echo "  compiling $(basename "$sdist") in the arm64 root (qemu; once, then cached)…"
      rm -rf "$broot/tmp/sdist" && mkdir -p "$broot/tmp/sdist"
      cp "$sdist" "$broot/tmp/sdist/"
      arm64_run "$broot" python3 -m pip wheel --quiet --no-deps --no-build-isolation --no-index \
        --wheel-dir /tmp/sdist/out "/tmp/sdist/$(basename "$sdist")"
      mkdir -p "$cached.tmp" && cp "$broot"/tmp/sdist/out/*.whl "$cached.tmp/" && mv "$cached.tmp" "$cached"
    fi
    cp "$cached"/*.whl "$wheels/"
  done
  arm64_cleanup; trap - EXIT
}

rm -rf "$root"
mkdir -p "$root/DEBIAN" "$wheels" "$root/etc/shebao-desk" "$root/usr/bin" \
  "$root/usr/share/applications" "$root/usr/share/icons/hicolor/scalable/apps" dist

if [[ $arch == "$host_arch" ]]; then
  pyver=$("$py" -c 'import sys; print("%d.%d" % sys.version_info[:2])')
  echo "wheels (Python $pyver, $arch)…"
  # Exactly the locked versions, each file checked against the lock's hashes (requirements/run.txt,
  # refreshed by ./shebao lock), then the program's own wheel; postinst installs from these alone.
  "$py" -m pip wheel --quiet --require-hashes -r "$lock" --wheel-dir "$wheels"
  "$py" -m pip wheel --quiet --no-deps --wheel-dir "$wheels" .
elif [[ $arch == arm64 && $host_arch == amd64 ]]; then
  cross_wheels
  "$py" -m pip wheel --quiet --no-deps --wheel-dir "$wheels" .   # the program itself: pure Python
else
  echo "./shebao deb --arch $arch: only arm64 can be built on another machine (amd64); run it on a $arch machine" >&2
  exit 2
fi
pynext=${pyver%.*}.$((${pyver#*.} + 1))
read -r glibc glibc_by < <("$py" "$here/target_wheels.py" glibc "$wheels")
[[ -n ${glibc:-} ]] || { echo "could not work out the glibc the wheels need" >&2; exit 1; }
echo "needs glibc >= $glibc (set by: $glibc_by)"
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
# aarch64 has Qt 6.8 (pyproject.toml), whose xcb plugin also links libSM and libICE (found by the ldd
# step of scripts/test-arm64.sh).
if [[ $arch == arm64 ]]; then qt_libs+=", libsm6, libice6"; fi
cat >"$root/DEBIAN/control" <<CONTROL
Package: shebao-desk
Version: $version
Architecture: $arch
Maintainer: shebao-desk maintainers <shebao-desk@localhost>
Section: misc
Priority: optional
Installed-Size: $(du -sk "$root" | cut -f1)
Depends: python3 (>= $pyver), python3 (<< $pynext), python3-venv, libc6 (>= $glibc), pcscd, libpcsclite1,
 fonts-wqy-zenhei | fonts-arphic-uming, $qt_libs
Description: 社会保障卡综合服务窗口工作台 — social security card service window workstation
 Intake of every social security card business, PC/SC card readers, the Shaanxi
 business form, one-time notice and receipt, a per-user SQLite store that syncs to
 a central PostgreSQL. Installs its own Python environment under /opt/shebao-desk.
CONTROL

dpkg-deb --root-owner-group -Zgzip --build "$root" "$out" >/dev/null
echo "$out: $(du -h "$out" | cut -f1), built in $(($(date +%s) - start)) s"
