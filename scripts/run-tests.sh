#!/usr/bin/env bash
# The whole suite headless (offscreen Qt), then the workbench's UI tests again in real X windows
# under Xvfb, with their screenshots in artifacts/screenshots/xvfb/. Run by test-services.sh.
#
# The whole suite runs as two pytest processes side by side. Alone it kept one of the two cores busy
# about 90 % of the time (13 min wall, 11.6 min CPU) while the other waited; side by side it took
# 8.5 min (2026-12-06). The second process takes the sync, migration, identity, protection and bundle
# tests (PostgreSQL and CLI subprocesses, about 400 of one process's 750 s) and gets a pcscd of its
# own, so each process's virtual cards and reader monitors see only its own readers; PostgreSQL is
# shared (every test makes a database of its own). Options alone (-q, --durations=30) go to both;
# a selection (a file, -k EXPR, -m "not slow") runs as one process, as before.
set -uo pipefail
py=${PYTHON:-.venv/bin/python}
here=$(cd "$(dirname "$0")" && pwd)
pcscd2="" pid2=""

cleanup() {  # only what this script started: the second part's pytest and its pcscd
  [[ -n $pid2 ]] && kill "$pid2" 2>/dev/null
  if [[ -n $pcscd2 ]]; then "$here/private-pcscd.sh" stop "$pcscd2"; rm -rf "$pcscd2"; fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM HUP

second_part() {
  local f
  for f in tests/test_sync*.py tests/test_migrations.py tests/test_identity.py tests/test_protection_*.py \
           tests/test_bundle*.py; do
    [[ -e $f ]] && echo "$f"
  done
}

run_in_two() {
  local -a second first
  mapfile -t second < <(second_part)
  local f
  for f in tests/test_*.py; do
    [[ " ${second[*]} " == *" $f "* ]] || first+=("$f")
  done
  local log2
  pcscd2=$(mktemp -d "${TMPDIR:-/tmp}/shebao-pcscd-part2.XXXXXX")
  log2=$(mktemp "${TMPDIR:-/tmp}/shebao-tests-part2.XXXXXX")
  if ! "$here/private-pcscd.sh" start "$pcscd2"; then
    rm -rf "$pcscd2"; pcscd2=""
    echo "a second pcscd did not start: the suite runs as one process" >&2
    "$py" -m pytest -p no:cacheprovider "$@"
    return $?
  fi
  (
    set -a; . "$pcscd2/env"; set +a
    export SHEBAO_TEST_PCSCD_DIR=$pcscd2
    exec "$py" -m pytest -p no:cacheprovider "$@" "${second[@]}"
  ) >"$log2" 2>&1 &
  pid2=$!
  "$py" -m pytest -p no:cacheprovider "$@" "${first[@]}"
  local rc1=$?
  wait "$pid2"
  local rc2=$?
  pid2=""
  "$here/private-pcscd.sh" stop "$pcscd2"
  rm -rf "$pcscd2"; pcscd2=""
  echo
  echo "=== part 2 (${#second[@]} files: sync, migrations, identity, protection, bundles) ==="
  cat "$log2"
  rm -f "$log2"
  echo "=== part 1: exit $rc1; part 2: exit $rc2 ==="
  ((rc1 != 0)) && return $rc1
  return $rc2
}

only_options() {  # "-q --durations=30" still runs everything; a file, -k EXPR or -m EXPR selects
  local a
  for a in "$@"; do [[ $a == -* && $a != -k && $a != -m ]] || return 1; done
}

if only_options "$@"; then
  run_in_two "$@" || exit $?
else
  "$py" -m pytest -p no:cacheprovider "$@" || exit $?
fi
# The repeat in real X windows belongs to the full run: with SHEBAO_XCB_PASS every test of it is
# `slow` (conftest), so `-m "not slow"` selects none and pytest's "no tests ran" (5) is no failure.
# It repeats where a real X server changes what is tested: keyboard focus and tab order (the intake),
# window geometry at the clerk's screen size and the screenshots (pages, desk); the card and
# operations pages' tests drive worker threads that the platform plugin does not touch (they ran
# under xcb until 2026-12-05, never differing; left out to keep the suite within 15 minutes).
DISPLAY=$SHEBAO_XVFB_DISPLAY QT_QPA_PLATFORM=xcb SHEBAO_SCREENSHOTS=artifacts/screenshots/xvfb SHEBAO_XCB_PASS=1 \
  "$py" -m pytest -p no:cacheprovider tests/test_ui_intake.py tests/test_ui_pages.py tests/test_ui_desk.py "$@"
rc=$?
((rc == 5)) && rc=0
exit $rc
