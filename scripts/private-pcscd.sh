#!/usr/bin/env bash
# A pcscd of our own for the tests, leaving any other pcscd on the machine alone.
#   private-pcscd.sh start DIR [PORT]   start it; DIR holds its config, socket, log and pid
#   private-pcscd.sh stop DIR           stop the one started in DIR (and only that one)
# The daemon runs in a private mount namespace where /run is a fresh empty tmpfs and DIR/run is
# bind-mounted on /run/pcscd in it: pcsc-lite 1.9.9's daemon has the socket and pid file paths
# built in (only the client library honours PCSCLITE_CSOCK_NAME), so this is how a second daemon
# gets its own. The tmpfs makes the mount point whatever the machine's /run holds (no /run/pcscd
# on a machine where pcscd never ran) without creating anything in the machine's /run.
# Its reader.conf.d (pcscd -c) lets vpcd listen on PORT and PORT+1 instead of 35963/35964.
# As root the namespace is `unshare -m`; as another user, a user namespace (`unshare -r -m`) where
# the kernel allows it.
# After start, DIR/env holds the variables a client needs:
#   PCSCLITE_CSOCK_NAME=DIR/run/pcscd.comm  SHEBAO_VPCD_PORT=PORT
# Without the right to unshare, it falls back to a plain pcscd only when none is running.
set -uo pipefail
cmd=${1:?start|stop}; dir=${2:?directory}

free_port_pair() {
  local p
  for p in $(seq 36963 2 37963); do
    if ! ss -Htln "sport = :$p or sport = :$((p + 1))" 2>/dev/null | grep -q .; then echo "$p"; return 0; fi
  done
  return 1
}

start() {
  mkdir -p "$dir/run" "$dir/conf"
  local port=${1:-}
  [[ -n $port ]] || port=$( [[ -f $dir/port ]] && cat "$dir/port" || free_port_pair ) || { echo "no free port" >&2; return 1; }
  echo "$port" >"$dir/port"
  printf 'FRIENDLYNAME "Virtual PCD"\nDEVICENAME   /dev/null:0x%X\nLIBPATH      /usr/lib/pcsc/drivers/serial/libifdvpcd.so\nCHANNELID    0x%X\n' \
    "$port" "$port" >"$dir/conf/vpcd"
  rm -f "$dir/run/pcscd.comm" "$dir/run/pcscd.pid"
  local sock="$dir/run/pcscd.comm"
  local private=(unshare -m --propagation private)
  [[ $(id -u) == 0 ]] || private=(unshare -U -r -m --propagation private)
  if "${private[@]}" true 2>/dev/null; then
    # exec: the pid we record is pcscd's own (unshare and sh replace themselves).
    local exec_pcscd="mount -n -t tmpfs -o mode=755,size=1m shebao-pcscd-run /run && mkdir /run/pcscd &&
      mount -n --bind '$dir/run' /run/pcscd && exec pcscd --foreground --error -c '$dir/conf'"
    "${private[@]}" sh -c "$exec_pcscd" >>"$dir/pcscd.log" 2>&1 </dev/null &
  elif ! pgrep -x pcscd >/dev/null; then
    sock=/run/pcscd/pcscd.comm
    pcscd --foreground --error -c "$dir/conf" >>"$dir/pcscd.log" 2>&1 </dev/null &
  else
    echo "cannot start a private pcscd (no unshare) and another pcscd is running: not touching it" >&2
    return 1
  fi
  echo $! >"$dir/owned.pid"
  for _ in $(seq 50); do
    if [[ -S $sock ]]; then
      printf 'PCSCLITE_CSOCK_NAME=%s\nSHEBAO_VPCD_PORT=%s\n' "$sock" "$port" >"$dir/env"
      return 0
    fi
    sleep 0.1
  done
  echo "pcscd did not start; see $dir/pcscd.log" >&2
  return 1
}

stop() {
  [[ -f $dir/owned.pid ]] || return 0
  local pid; pid=$(cat "$dir/owned.pid")
  # Only our own: the pid we started, still running pcscd.
  if [[ $(ps -o comm= -p "$pid" 2>/dev/null) == pcscd ]]; then
    kill "$pid" 2>/dev/null
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  fi
  rm -f "$dir/owned.pid"
}

case $cmd in
  start) start "${3:-}" ;;
  stop) stop ;;
  *) echo "usage: $0 start|stop DIR [PORT]" >&2; exit 2 ;;
esac
