#!/usr/bin/env bash
# sharc clean end to end: objects left in /dev/shm by SIGKILLed creators are
# listed and removed exactly as documented, and an array whose creator is
# alive is never touched. Objects are made by shm_helper (built beside the
# tool) and left behind by killing it, as a crash would.
#
# usage: bash tests/e2e/clean.sh PATH_TO_SHARC_BINARY
set -u

if [ $# -ne 1 ]; then
  echo "usage: $0 PATH_TO_SHARC_BINARY" >&2
  exit 2
fi
SHARC=$1
HELPER=$(dirname "$1")/shm_helper
# shellcheck source=tests/e2e/harness.bash
. "$(dirname "$0")/harness.bash"
e2e_tmp clean
made=()      # names of the objects this script made
live_pid=

# shellcheck disable=SC2317 # run by the EXIT trap
cleanup() {
  if [ -n "$live_pid" ]; then
    kill -9 "$live_pid" 2>/dev/null
    wait "$live_pid" 2>/dev/null
  fi
  local n
  for n in "${made[@]}"; do rm -f "/dev/shm$n"; done
  rm -rf "$TMP"
}
trap cleanup EXIT

out_line() { if grep -qE -- "$1" "$OUT"; then ok; else bad "no stdout line matches '$1'"; fi; }
out_lacks() { if ! grep -qF -- "$1" "$OUT"; then ok; else bad "stdout mentions '$1'"; fi; }
present() { if [ -e "/dev/shm$1" ]; then ok; else bad "$1 was removed"; fi; }
absent() { if [ ! -e "/dev/shm$1" ]; then ok; else bad "$1 is still there"; fi; }

# spawn ARGS...: starts shm_helper ARGS in the background and waits for the
# name it prints; sets HPID and HNAME.
spawn() {
  local file=$TMP/helper.$RANDOM
  "$HELPER" "$@" >"$file" 2>&1 &
  HPID=$!
  HNAME=
  for _ in $(seq 1 200); do
    HNAME=$(head -n 1 "$file")
    [[ $HNAME == /sharc-* ]] && break
    HNAME=
    sleep 0.05
  done
  if [ -z "$HNAME" ]; then
    NAME="shm_helper $*"
    STATUS=-
    bad "no object name from shm_helper: $(cat "$file")"
    finish
  fi
  made+=("$HNAME")
}
killed() {
  kill -9 "$1"
  wait "$1" 2>/dev/null
}

if [ ! -x "$HELPER" ]; then
  NAME=setup
  STATUS=-
  bad "shm_helper is built beside the tool: $HELPER"
  finish
fi

# --- usage ------------------------------------------------------------------
check "clean --help" 0 "$SHARC" clean --help
out_has "usage: sharc clean"
out_has "--named"
out_has "--dry-run"
err_empty
for args in "--frobnicate" "-x" "extra"; do
  # shellcheck disable=SC2086
  check "clean $args is a usage error" 2 "$SHARC" clean $args
  err_one_line "sharc clean: "
  out_empty
done
check "sharc --help lists clean" 0 "$SHARC" --help
out_has "  clean "

# --- what killed creators leave ---------------------------------------------
spawn named 1000 # 8000 bytes: a header page and two data pages
dead_pid=$HPID
dead=$HNAME
killed "$dead_pid"
spawn incomplete
inc_pid=$HPID
inc=$HNAME
killed "$inc_pid"
spawn named 10
live_pid=$HPID
live=$HNAME

check "clean --dry-run lists and removes nothing" 0 "$SHARC" clean --dry-run
out_line "^would-remove +incomplete +$inc +4096 +$inc_pid +[0-9]+s$"
out_line "^listed +stale +$dead +12288 +$dead_pid +[0-9]+s$"
out_lacks "$live"
out_has "would be removed"
err_empty
present "$inc"
present "$dead"
present "$live"

check "clean removes unfinished objects and lists stale arrays" 0 "$SHARC" clean
out_line "^removed +incomplete +$inc "
out_line "^listed +stale +$dead +12288 +$dead_pid "
out_lacks "$live"
out_has "(--named removes them)"
err_empty
absent "$inc"
present "$dead"
present "$live"

check "clean --named --dry-run would remove the stale array" 0 "$SHARC" clean --named --dry-run
out_line "^would-remove +stale +$dead "
present "$dead"

check "clean --named removes the stale array, not the live one" 0 "$SHARC" clean --named
out_line "^removed +stale +$dead +12288 +$dead_pid "
out_lacks "$live"
out_lacks "$inc"
err_empty
absent "$dead"
present "$live"

check "clean after that finds nothing of ours" 0 "$SHARC" clean --named
out_lacks "$dead"
out_lacks "$inc"
out_lacks "$live"
present "$live"

# The live array's creator dies: now it is stale like any other.
killed "$live_pid"
live_pid=
check "an array whose creator died since is stale" 0 "$SHARC" clean --named
out_line "^removed +stale +$live "
absent "$live"

finish
