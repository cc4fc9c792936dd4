#!/usr/bin/env bash
# Progress on stderr: plain lines every 2 s when stderr is not a terminal
# (percent, counts, rate, ETA; the counts never go down and never pass n),
# a bar that is erased at the end on a terminal (run under script(1)), and
# nothing with --quiet. A job is judged by the wall time its own report
# gives: only a job that ran long enough must have shown something.
#
# usage: bash tests/e2e/progress.sh PATH_TO_SHARC_BINARY
set -u

if [ $# -ne 1 ]; then
  echo "usage: $0 PATH_TO_SHARC_BINARY" >&2
  exit 2
fi
SHARC=$1
# shellcheck source=tests/e2e/harness.bash
. "$(dirname "$0")/harness.bash"
e2e_tmp progress
trap e2e_cleanup EXIT

# wall_ms: the job's wall time from the report on stdout.
wall_ms() {
  sed -n 's/^  wall \([0-9.]*\) ms.*/\1/p' "$OUT" | head -n 1
}

check "plain lines when stderr is a file" 0 "$SHARC" run pi --n 1e6 --workers 2
wall=$(wall_ms)
if [ -z "$wall" ]; then
  bad "no wall time in the report"
elif awk -v w="$wall" 'BEGIN { exit !(w > 2500) }'; then
  if grep -qE '^sharc run: [0-9]+% \([0-9]+ of 1000000\), [0-9.e+]+ indices/s, ETA ' "$PROG"; then ok; else bad "a ${wall} ms job printed no progress line"; fi
fi
# Whatever was printed: counts never go down and stay within n; stderr has
# nothing else (the harness moved the progress lines to $PROG).
if awk -F'[(% ]+' '/^sharc run: / { d = $4 + 0; if (d < last || d > 1000000) bad = 1; last = d } END { exit bad }' "$PROG"; then ok; else bad "progress counts went down or past n"; fi
err_empty

check "--quiet prints nothing on stderr" 0 "$SHARC" run pi --n 2e5 --workers 2 -q
err_empty
if [ -s "$PROG" ]; then bad "progress lines with --quiet"; else ok; fi

check "mc --quiet prints nothing on stderr" 0 "$SHARC" mc european --paths 1e5 -q
err_empty
if [ -s "$PROG" ]; then bad "progress lines with --quiet"; else ok; fi

# A terminal: script(1) gives the tool one; the bar is drawn over itself
# with \r and erased with \r ESC[K before the report.
if command -v script >/dev/null 2>&1; then
  check "a bar on a terminal" 0 script -qec "$SHARC run pi --n 3e5 --workers 2" /dev/null
  wall=$(wall_ms)
  if [ -n "$wall" ] && awk -v w="$wall" 'BEGIN { exit !(w > 1000) }'; then
    if grep -qaF '] ' "$OUT" && grep -qa $'\r\033\\[K' "$OUT"; then ok; else bad "a ${wall} ms job drew no bar or did not erase it"; fi
  fi
  if grep -qa '^sharc run: ' "$OUT"; then bad "plain lines on a terminal"; else ok; fi
fi

finish
