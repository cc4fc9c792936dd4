#!/usr/bin/env bash
# SHARC_FAIL_AT=N through the tool: whichever start-up call fails, `sharc
# run` exits 1 with one line on stderr naming that call and nothing on
# stdout, or (a best-effort call failed, or N is past the last call)
# succeeds; past the last call it always succeeds.
#
# usage: bash tests/e2e/inject.sh PATH_TO_SHARC_BINARY
set -u

if [ $# -ne 1 ]; then
  echo "usage: $0 PATH_TO_SHARC_BINARY" >&2
  exit 2
fi
SHARC=$1
TMP=$(mktemp -d "${TMPDIR:-/tmp}/sharc-inject.XXXXXX") || exit 1
trap 'rm -rf "$TMP"' EXIT
OUT=$TMP/stdout
ERR=$TMP/stderr

pass=0
fail=0
calls="fork|mmap|memfd_create|pidfd_open|socketpair|eventfd|ftruncate|posix_fallocate|shm_open|calloc|strdup"
declare -A seen=()
last=0
for n in $(seq 1 60); do
  SHARC_FAIL_AT=$n "$SHARC" run pi --n 1000 --workers 2 >"$OUT" 2>"$ERR" </dev/null
  status=$?
  if [ "$status" -eq 0 ] && grep -q "pi" "$OUT" && [ ! -s "$ERR" ]; then
    pass=$((pass + 1))
    last=0
    continue
  fi
  call=$(grep -oE "\b($calls)\b" "$ERR" | head -n 1)
  if [ "$status" -eq 1 ] && [ "$(wc -l <"$ERR")" -eq 1 ] && [ ! -s "$OUT" ] &&
    grep -q '^sharc run: ' "$ERR" && [ -n "$call" ]; then
    pass=$((pass + 1))
    seen[$call]=1
    last=$n
  else
    fail=$((fail + 1))
    {
      echo "FAIL: SHARC_FAIL_AT=$n: status $status"
      sed -n '1,4s/^/    stdout| /p' "$OUT"
      sed -n '1,4s/^/    stderr| /p' "$ERR"
    } >&2
  fi
done
for c in fork pidfd_open socketpair eventfd memfd_create mmap; do
  if [ -n "${seen[$c]:-}" ]; then pass=$((pass + 1)); else
    fail=$((fail + 1))
    echo "FAIL: no SHARC_FAIL_AT made $c fail" >&2
  fi
done
if [ "$last" -lt 50 ]; then pass=$((pass + 1)); else
  fail=$((fail + 1))
  echo "FAIL: start-up still failing at SHARC_FAIL_AT=$last" >&2
fi
echo "$pass passed, $fail failed"
exit $((fail > 0))
