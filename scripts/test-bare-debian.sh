#!/usr/bin/env bash
# The README's two commands on a bare Debian 12, as root on a Debian host (slow: ~15 min; not in
# the default suite). A minbase debootstrap chroot (no make, compiler, Python or venv module)
# gets a copy of this checkout's HEAD; then, with network:
#   ./shebao setup test            (what `./shebao test` installs: apt packages, .venv/)
# and in private PID, network, IPC and mount namespaces, so that its pcscd, PostgreSQL and Xvfb
# see only themselves and never the host's services:
#   ./shebao test                  the whole suite with its own pcscd + vpcd, PostgreSQL, Xvfb
#   ./shebao run                   the window appears under Xvfb
#   scripts/test-app.sh --no-build the one-folder build in dist/shebao-desk/ (if built), card read included
# Usage: scripts/test-bare-debian.sh [ROOT]   (default /srv/shebao-bare-deb12; kept for reruns)
#        SHEBAO_BARE_TEST_ARGS="tests/test_cli.py" narrows the suite (pytest arguments)
set -euo pipefail
cd "$(dirname "$0")/.."
R=${1:-/srv/shebao-bare-deb12}
[[ $(id -u) == 0 ]] || { echo "run as root" >&2; exit 2; }
command -v debootstrap >/dev/null || apt-get -o DPkg::Lock::Timeout=600 install -y -qq debootstrap
if [[ ! -x $R/bin/sh ]]; then
  debootstrap --variant=minbase bookworm "$R" http://deb.debian.org/debian
fi
# Services must never start inside the chroot during apt (they would take the host's ports).
printf '#!/bin/sh\nexit 101\n' >"$R/usr/sbin/policy-rc.d"; chmod +x "$R/usr/sbin/policy-rc.d"
cp /etc/resolv.conf "$R/etc/resolv.conf"
# The host's CA bundle, for a network behind an inspecting proxy (else the chroot has none yet).
mkdir -p "$R/etc/ssl/host" && cp /etc/ssl/certs/ca-certificates.crt "$R/etc/ssl/host/ca.crt"
mkdir -p "$R/src"
git archive HEAD | tar -x -C "$R/src"
if [[ -x dist/shebao-desk/shebao-desk ]]; then rm -rf "$R/src/dist"; mkdir -p "$R/src/dist"; cp -a dist/shebao-desk "$R/src/dist/"; fi
E=(env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8
   PIP_CERT=/etc/ssl/host/ca.crt DEBIAN_FRONTEND=noninteractive)
for tool in make gcc python3; do chroot "$R" sh -c "command -v $tool >/dev/null && echo 'has $tool' || echo 'no $tool'"; done

echo "== ./shebao setup test (network)"
mount -t proc proc "$R/proc"; trap 'umount "$R/proc" 2>/dev/null || true' EXIT
start=$(date +%s)
chroot "$R" "${E[@]}" sh -c 'cd /src && ./shebao setup test'
# test-app.sh looks for the window with xwininfo
chroot "$R" "${E[@]}" apt-get install -y -qq --no-install-recommends x11-utils >/dev/null
echo "setup: $(($(date +%s) - start)) s"
umount "$R/proc"; trap - EXIT

echo "== in private namespaces: ./shebao test, ./shebao run, scripts/test-app.sh"
export R SHEBAO_BARE_TEST_ARGS
if unshare --pid --net --ipc --mount --fork bash -s "${E[@]}" <<'INNER'
set -u
mount -t proc proc "$R/proc"
mount --bind /dev "$R/dev"
mount -t tmpfs tmpfs "$R/dev/shm"
ip link set lo up
rc=0
start=$(date +%s)
chroot "$R" "$@" sh -c "cd /src && ./shebao test ${SHEBAO_BARE_TEST_ARGS:-}"
tested=$?
[[ $tested == 0 ]] || rc=1
echo "./shebao test: $([[ $tested == 0 ]] && echo PASS || echo FAIL) in $(($(date +%s) - start)) s"
chroot "$R" "$@" sh -c '
  Xvfb :119 -screen 0 1366x768x24 -nolisten tcp >/tmp/xvfb119.log 2>&1 & x=$!
  sleep 2; cd /src
  DISPLAY=:119 ./shebao run >/tmp/run.log 2>&1 & gui=$!
  shown=1
  for _ in $(seq 60); do DISPLAY=:119 xwininfo -root -tree | grep "(\"shebao-desk\" " && { shown=0; break; }; sleep 0.5; done
  kill $gui $x; exit $shown'
shown=$?
[[ $shown == 0 ]] || rc=1
echo "./shebao run: window $([[ $shown == 0 ]] && echo appeared || echo MISSING)"
if [[ -x $R/src/dist/shebao-desk/shebao-desk ]]; then
  chroot "$R" "$@" sh -c '
    pcscd --foreground --error >/tmp/pcscd-app.log 2>&1 & p=$!
    sleep 2; cd /src && bash scripts/test-app.sh --no-build; r=$?; kill $p; exit $r' || rc=1
fi
exit $rc
INNER
then echo "PASS scripts/test-bare-debian.sh"; else echo "FAIL scripts/test-bare-debian.sh"; exit 1; fi
