#!/usr/bin/env bash
# Starts what the test suite needs, runs the given command, stops them after.
#   - a private pcscd (scripts/private-pcscd.sh) with the vsmartcard vpcd driver: two readers,
#     "Virtual PCD 00 00" and "Virtual PCD 00 01", whose cards connect on SHEBAO_VPCD_PORT and
#     the port after it; a pcscd someone else runs is never stopped or restarted;
#   - a private PostgreSQL cluster (scripts/private-postgres.sh: initdb into a temporary folder, its
#     own port and socket folder, as the postgres user since it refuses root), removed after; the
#     machine's clusters are never started, stopped or changed;
#   - Xvfb on the first free display from :90 (the CUPS scheduler is the test session's own:
#     tests/desk_services.py).
# Nothing is created in the machine's /run: each works where pcscd, PostgreSQL, CUPS and X never ran
# (tests/test_fresh_machine.py starts them all in a private mount namespace whose /run is empty).
# Usage: test-services.sh COMMAND [ARGS...]
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
log_dir=${TMPDIR:-/tmp}/shebao-test-services
mkdir -p "$log_dir"
pcscd_dir=""
pg_dir=""
started_xvfb=""

cleanup() {
  # Only the pcscd we started (a test may have restarted it: private-pcscd.sh knows its pid).
  if [[ -n $pcscd_dir ]]; then "$here/private-pcscd.sh" stop "$pcscd_dir"; rm -rf "$pcscd_dir"; fi
  if [[ -n $pg_dir ]]; then "$here/private-postgres.sh" stop "$pg_dir"; rm -rf "$pg_dir"; fi
  if [[ -n $started_xvfb ]]; then kill "$started_xvfb" 2>/dev/null; fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM HUP  # so the EXIT trap stops what we started when the run is interrupted

start_pcscd() {
  pcscd_dir=$(mktemp -d "${TMPDIR:-/tmp}/shebao-pcscd.XXXXXX")
  if "$here/private-pcscd.sh" start "$pcscd_dir"; then
    set -a; . "$pcscd_dir/env"; set +a
    export SHEBAO_TEST_PCSCD_DIR=$pcscd_dir  # the restart test may restart this one, and only this one
    return 0
  fi
  rm -rf "$pcscd_dir"; pcscd_dir=""
  if pgrep -x pcscd >/dev/null; then
    echo "using the running pcscd (vpcd on 35963/35964); the pcscd-restart test will be skipped" >&2
    return 0
  fi
  echo "pcscd did not start" >&2
  return 1
}

start_postgres() {
  pg_dir=$(mktemp -d "${TMPDIR:-/tmp}/shebao-pg.XXXXXX")
  "$here/private-postgres.sh" start "$pg_dir" || return 1
  set -a; . "$pg_dir/env"; set +a
}

start_xvfb() {
  # A real X server for the UI tests that run in real windows (xcb), beside the offscreen run.
  local n
  for n in $(seq 90 99); do
    [[ -e /tmp/.X$n-lock ]] && continue
    Xvfb ":$n" -screen 0 1366x768x24 -nolisten tcp >"$log_dir/xvfb-$n.log" 2>&1 &
    started_xvfb=$!
    for _ in $(seq 50); do
      [[ -S /tmp/.X11-unix/X$n ]] && { export SHEBAO_XVFB_DISPLAY=":$n"; return 0; }
      sleep 0.1
    done
  done
  echo "Xvfb did not start; see $log_dir/xvfb-*.log" >&2
  return 1
}

start_pcscd || exit 1
start_postgres || exit 1
start_xvfb || exit 1
export SHEBAO_TEST_PCSC=1
export QT_QPA_PLATFORM=${QT_QPA_PLATFORM:-offscreen}
"$@"
