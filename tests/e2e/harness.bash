# The end-to-end scripts' common harness: source it after setting SHARC.
# (Named .bash so that CMake's tests/e2e/*.sh glob does not run it.)
#
#   e2e_tmp NAME         makes $TMP (removed by e2e_cleanup), $OUT, $ERR
#   check NAME STATUS CMD...   runs CMD, stdout to $OUT, stderr to $ERR
#                        (progress lines to $PROG)
#   out_has/err_has TEXT, out_empty, err_empty, out_count TEXT N,
#   err_one_line PREFIX, fails NAME STATUS CMDWORD ARGS..., pycheck WHAT ARGS...
#   finish               prints the tally and exits non-zero on a failure
# shellcheck shell=bash

PY=/usr/bin/python3
pass=0
fail=0
NAME=
STATUS=
CMDLINE=

e2e_tmp() {
  TMP=$(mktemp -d "${TMPDIR:-/tmp}/sharc-$1.XXXXXX") || exit 1
  OUT=$TMP/stdout
  ERR=$TMP/stderr
}

# shellcheck disable=SC2317 # run by the scripts' EXIT traps
e2e_cleanup() {
  [ -n "${TMP:-}" ] && rm -rf "$TMP"
}

ok() { pass=$((pass + 1)); }

# bad WHAT: records a failure of the current run with its output, so that a
# failing ctest log says what the tool printed.
bad() {
  fail=$((fail + 1))
  {
    echo "FAIL: $NAME: $1"
    echo "    command: ${CMDLINE:-}"
    echo "    status:  $STATUS"
    sed -n '1,12s/^/    stdout| /p' "$OUT" 2>/dev/null
    sed -n '1,8s/^/    stderr| /p' "$ERR" 2>/dev/null
  } >&2
}

# Progress lines (sharc run and mc print one every 2 s when stderr is not
# a terminal) are moved from $ERR to $PROG, so that checks on stderr see
# the messages alone however slow the machine (sanitizers) is.
PROGRESS_RE='^sharc (run|mc): [0-9]+% \([0-9]+ of [0-9]+\), .* indices/s, ETA .*$'

# strip_progress: does that to $ERR (check does it; scripts that capture
# stderr themselves call it).
strip_progress() {
  PROG=$TMP/progress
  : >"$PROG"
  if grep -qE -- "$PROGRESS_RE" "$ERR"; then
    grep -E -- "$PROGRESS_RE" "$ERR" >"$PROG"
    grep -vE -- "$PROGRESS_RE" "$ERR" >"$ERR.rest"
    mv "$ERR.rest" "$ERR"
  fi
}

check() {
  NAME=$1
  local want=$2
  shift 2
  CMDLINE="$*"
  "$@" >"$OUT" 2>"$ERR" </dev/null
  STATUS=$?
  strip_progress
  if [ "$STATUS" -eq "$want" ]; then ok; else bad "exit status $STATUS, expected $want"; fi
}

out_has() {
  if grep -qF -- "$1" "$OUT"; then ok; else bad "stdout lacks '$1'"; fi
}

err_has() {
  if grep -qF -- "$1" "$ERR"; then ok; else bad "stderr lacks '$1'"; fi
}

out_empty() {
  if [ ! -s "$OUT" ]; then ok; else bad "stdout is not empty"; fi
}

err_empty() {
  if [ ! -s "$ERR" ]; then ok; else bad "stderr is not empty"; fi
}

# out_count STRING COUNT: STRING is on exactly COUNT lines of stdout.
out_count() {
  local n
  n=$(grep -cF -- "$1" "$OUT")
  if [ "$n" -eq "$2" ]; then ok; else bad "'$1' on $n lines of stdout, expected $2"; fi
}

# err_one_line PREFIX: stderr is exactly one newline-terminated line that
# starts with PREFIX and says something after it.
err_one_line() {
  local lines text
  lines=$(wc -l <"$ERR")
  text=$(cat "$ERR")
  if [ "$lines" -eq 1 ] && [ "$(tail -c 1 "$ERR" | od -An -c | tr -d ' ')" = '\n' ] &&
    [[ $text == "$1"?* ]]; then
    ok
  else
    bad "stderr is not one line starting with '$1'"
  fi
}

# fails NAME STATUS CMDWORD ARGS...: `sharc CMDWORD ARGS...` exits with
# STATUS, prints one "sharc CMDWORD: " line on stderr and nothing on stdout.
fails() {
  local name=$1 want=$2 cmd=$3
  shift 3
  check "$name" "$want" "$SHARC" "$cmd" "$@"
  err_one_line "sharc $cmd: "
  out_empty
}

# pycheck WHAT PYTHON-ARGS...: a /usr/bin/python3 check passes when it exits
# 0; what it printed is the reason it failed.
pycheck() {
  local what=$1 msg
  shift
  if msg=$("$PY" "$@" 2>&1); then ok; else bad "$what: $msg"; fi
}

finish() {
  echo "$pass passed, $fail failed"
  exit $((fail > 0))
}
