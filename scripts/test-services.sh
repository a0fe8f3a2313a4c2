#!/usr/bin/env bash
# Starts what the test suite needs, runs the given command, stops them after.
#   - a private pcscd (scripts/private-pcscd.sh) with the vsmartcard vpcd driver: two readers,
#     "Virtual PCD 00 00" and "Virtual PCD 00 01", whose cards connect on SHEBAO_VPCD_PORT and
#     the port after it; a pcscd someone else runs is never stopped or restarted;
#   - a local PostgreSQL cluster (as the postgres user: it refuses root) with a test database.
# Usage: test-services.sh COMMAND [ARGS...]
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
log_dir=${TMPDIR:-/tmp}/shebao-test-services
mkdir -p "$log_dir"
pcscd_dir=""
started_pg=""
started_xvfb=""

cleanup() {
  # Only the pcscd we started (a test may have restarted it: private-pcscd.sh knows its pid).
  if [[ -n $pcscd_dir ]]; then "$here/private-pcscd.sh" stop "$pcscd_dir"; rm -rf "$pcscd_dir"; fi
  if [[ -n $started_pg ]]; then pg_ctlcluster "$started_pg" stop >/dev/null 2>&1 || true; fi
  if [[ -n $started_xvfb ]]; then kill "$started_xvfb" 2>/dev/null; fi
}
trap cleanup EXIT

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
  local cluster
  cluster=$(pg_lsclusters --no-header 2>/dev/null | awk 'NR==1 {print $1"/"$2}')
  if [[ -z $cluster ]]; then
    local version
    version=$(ls /usr/lib/postgresql | sort -n | tail -1)
    pg_createcluster "$version" main >/dev/null
    cluster="$version/main"
  fi
  local port
  port=$(pg_lsclusters --no-header | awk -v c="$cluster" '$1"/"$2==c {print $3}')
  if ! pg_lsclusters --no-header | awk -v c="$cluster" '$1"/"$2==c {print $4}' | grep -q online; then
    pg_ctlcluster "$cluster" start || { echo "PostgreSQL did not start" >&2; return 1; }
    started_pg=$cluster
  fi
  su postgres -c "psql -p $port -qtAc \"SELECT 1 FROM pg_roles WHERE rolname='shebao'\"" | grep -q 1 ||
    su postgres -c "psql -p $port -qc \"CREATE ROLE shebao LOGIN SUPERUSER PASSWORD 'shebao'\""
  su postgres -c "psql -p $port -qtAc \"SELECT 1 FROM pg_database WHERE datname='shebao_test'\"" | grep -q 1 ||
    su postgres -c "createdb -p $port -O shebao shebao_test"
  export SHEBAO_TEST_PG="postgresql+psycopg://shebao:shebao@127.0.0.1:$port/shebao_test"
}

start_xvfb() {
  # A real X server for the UI tests that run in real windows (xcb), beside the offscreen run.
  local n
  for n in $(seq 90 99); do
    [[ -e /tmp/.X$n-lock ]] && continue
    Xvfb ":$n" -screen 0 1366x768x24 -nolisten tcp >"$log_dir/xvfb.log" 2>&1 &
    started_xvfb=$!
    for _ in $(seq 50); do
      [[ -S /tmp/.X11-unix/X$n ]] && { export SHEBAO_XVFB_DISPLAY=":$n"; return 0; }
      sleep 0.1
    done
  done
  echo "Xvfb did not start; see $log_dir/xvfb.log" >&2
  return 1
}

start_pcscd || exit 1
start_postgres || exit 1
start_xvfb || exit 1
export SHEBAO_TEST_PCSC=1
export QT_QPA_PLATFORM=${QT_QPA_PLATFORM:-offscreen}
"$@"
