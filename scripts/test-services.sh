#!/usr/bin/env bash
# Starts what the test suite needs, runs the given command, stops them after.
#   - pcscd in the foreground with the vsmartcard vpcd driver: two readers,
#     "Virtual PCD 00 00" and "Virtual PCD 00 01", whose cards connect on 35963/35964;
#   - a local PostgreSQL cluster (as the postgres user: it refuses root) with a test database.
# Usage: test-services.sh COMMAND [ARGS...]
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
log_dir=${TMPDIR:-/tmp}/shebao-test-services
mkdir -p "$log_dir"
started_pcscd=""
started_pg=""
started_xvfb=""

cleanup() {
  # pkill, not the PID: a test restarts pcscd to check that the program survives it.
  if [[ -n $started_pcscd ]]; then pkill -x pcscd 2>/dev/null; wait "$started_pcscd" 2>/dev/null; fi
  if [[ -n $started_pg ]]; then pg_ctlcluster "$started_pg" stop >/dev/null 2>&1 || true; fi
  if [[ -n $started_xvfb ]]; then kill "$started_xvfb" 2>/dev/null; fi
}
trap cleanup EXIT

start_pcscd() {
  if pgrep -x pcscd >/dev/null; then
    # A system pcscd may not have the vpcd driver loaded yet: restart ours for a known state.
    pkill -x pcscd; sleep 0.5
  fi
  pcscd --foreground --error >"$log_dir/pcscd.log" 2>&1 &
  started_pcscd=$!
  for _ in $(seq 50); do
    [[ -S /run/pcscd/pcscd.comm ]] && return 0
    sleep 0.1
  done
  echo "pcscd did not start; see $log_dir/pcscd.log" >&2
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
