#!/usr/bin/env bash
# A PostgreSQL cluster of our own for the tests and benchmarks, leaving the machine's clusters alone.
#   private-postgres.sh start DIR   initdb into DIR/data and start it; DIR holds its data, socket, log
#   private-postgres.sh stop DIR    stop the one started in DIR (and only that one); DIR stays for the caller
# The cluster listens on 127.0.0.1 on a free port and on a socket in DIR/sock (not /run/postgresql),
# so it needs nothing the machine's PostgreSQL set up and never meets its clusters (Debian's
# pg_lsclusters does not list it). PostgreSQL refuses to run as root: as root it runs as the
# `postgres` user (DIR is handed to it), as anyone else as that user. Durability is off (fsync):
# the cluster is thrown away after the run. Its superuser role `shebao` (password `shebao`) and the
# database `shebao_test` exist only in this cluster.
# After start, DIR/env holds SHEBAO_TEST_PG=postgresql+psycopg://shebao:shebao@127.0.0.1:PORT/shebao_test
set -uo pipefail
cmd=${1:?start|stop}; dir=${2:?directory}

bin_dir() {
  # The newest server installed (Debian's postgresql-NN packages); PG_BIN chooses another.
  if [[ -n ${PG_BIN:-} ]]; then echo "$PG_BIN"; return 0; fi
  local found
  found=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
  [[ -n $found ]] || found=$(dirname "$(command -v initdb 2>/dev/null || echo /nonexistent/initdb)")
  [[ -x $found/initdb ]] || { echo "PostgreSQL is not installed (no initdb; scripts/install-debian-deps.sh test)" >&2; return 1; }
  echo "$found"
}

# Runs a command as the cluster's owner: postgres when we are root, else ourselves.
as_owner() {
  if [[ $(id -u) == 0 ]]; then runuser -u postgres -- "$@"; else "$@"; fi
}

port_in_use() {
  ss -Htln "sport = :$1" 2>/dev/null | grep -q .
}

start() {
  local bin; bin=$(bin_dir) || return 1
  mkdir -p "$dir"
  if [[ $(id -u) == 0 ]]; then
    id postgres >/dev/null 2>&1 || { echo "no postgres user (is the postgresql package installed?)" >&2; return 1; }
    chown postgres: "$dir"
    chmod 700 "$dir"
    as_owner test -w "$dir" || { echo "the postgres user cannot reach $dir (put it under /tmp)" >&2; return 1; }
  fi
  if [[ ! -f $dir/data/PG_VERSION ]]; then
    as_owner mkdir -p "$dir/sock"
    # -U: the bootstrap superuser is named after the owner's account anyway; the tests' own role is made below.
    as_owner "$bin/initdb" -D "$dir/data" -U postgres -E UTF8 --locale=C --auth-local=trust \
      --auth-host=scram-sha-256 >"$dir/initdb.log" 2>&1 || { echo "initdb failed; see $dir/initdb.log" >&2; return 1; }
    cat >>"$dir/data/postgresql.conf" <<EOF
# shebao-desk test cluster: private and disposable.
listen_addresses = '127.0.0.1'
unix_socket_directories = '$dir/sock'
fsync = off
synchronous_commit = off
full_page_writes = off
max_connections = 200
EOF
  fi
  # The port of an earlier start first (a restart), then the first free one; pg_ctl -w waits until the
  # server accepts connections, and a port taken meanwhile only fails this try.
  local candidates=() p port="" failures=0
  [[ -f $dir/port ]] && candidates+=("$(cat "$dir/port")")
  candidates+=($(seq 55432 55531))
  for p in "${candidates[@]}"; do
    port_in_use "$p" && continue
    if as_owner "$bin/pg_ctl" -D "$dir/data" -l "$dir/postgres.log" -w -t 60 -o "-p $p" start >/dev/null; then
      port=$p
      break
    fi
    failures=$((failures + 1))
    ((failures < 5)) || break
  done
  [[ -n $port ]] || { echo "PostgreSQL did not start; see $dir/postgres.log" >&2; return 1; }
  echo "$port" >"$dir/port"
  head -1 "$dir/data/postmaster.pid" >"$dir/owned.pid"
  local psql=("$bin/psql" -h "$dir/sock" -p "$port" -U postgres -d postgres -qtAX -v ON_ERROR_STOP=1)
  if ! as_owner "${psql[@]}" -c "SELECT 1 FROM pg_roles WHERE rolname = 'shebao'" | grep -q 1; then
    as_owner "${psql[@]}" -c "CREATE ROLE shebao LOGIN SUPERUSER PASSWORD 'shebao'" &&
      as_owner "${psql[@]}" -c "CREATE DATABASE shebao_test OWNER shebao" ||
      { echo "could not create the test role and database; see $dir/postgres.log" >&2; return 1; }
  fi
  printf 'SHEBAO_TEST_PG=postgresql+psycopg://shebao:shebao@127.0.0.1:%s/shebao_test\n' "$port" >"$dir/env"
}

stop() {
  [[ -f $dir/owned.pid ]] || return 0
  local bin pid; pid=$(cat "$dir/owned.pid")
  bin=$(bin_dir) || return 1
  # Only our own: pg_ctl acts on DIR/data's postmaster, the one we started.
  if kill -0 "$pid" 2>/dev/null; then
    as_owner "$bin/pg_ctl" -D "$dir/data" -m fast -w -t 30 stop >/dev/null 2>&1 ||
      { [[ $(ps -o comm= -p "$pid" 2>/dev/null) == postgres ]] && kill -QUIT "$pid"; }
  fi
  rm -f "$dir/owned.pid"
}

case $cmd in
  start) start ;;
  stop) stop ;;
  *) echo "usage: $0 start|stop DIR" >&2; exit 2 ;;
esac
