#!/usr/bin/env bash
# `sharc mc` end to end: for a fixed seed every line but the timing line is
# identical for any worker count and schedule; the walk model (integer
# draws only, no libm) prints exactly the known text; closed forms are
# printed and lie inside the intervals; bad options exit 2 with one line
# on stderr naming the option, failures exit 1.
#
# usage: bash tests/e2e/mc.sh PATH_TO_SHARC_BINARY
set -u

if [ $# -ne 1 ]; then
  echo "usage: $0 PATH_TO_SHARC_BINARY" >&2
  exit 2
fi
SHARC=$1
# shellcheck source=tests/e2e/harness.bash
. "$(dirname "$0")/harness.bash"
e2e_tmp mc
trap e2e_cleanup EXIT

# mc_fails NAME STATUS NEEDLE ARGS...: `sharc mc ARGS` exits STATUS with one
# "sharc mc: " line naming NEEDLE, and nothing on stdout.
mc_fails() {
  local name=$1 want=$2 needle=$3
  shift 3
  check "$name" "$want" "$SHARC" mc "$@"
  err_one_line "sharc mc: "
  err_has "$needle"
  out_empty
}

# results: stdout without its last line (paths per second, workers,
# schedule: the only things allowed to differ between runs).
results() { head -n -1 "$OUT"; }

# --- help --------------------------------------------------------------------

check "sharc --help lists mc" 0 "$SHARC" --help
out_has "  mc "
check "mc --help" 0 "$SHARC" mc --help
out_has "usage: sharc mc MODEL"
for m in european asian walk; do out_has "  $m "; done
err_empty

# --- the same bits for every worker count and schedule -------------------------

for model in "european" "asian -p steps=6" "walk -p start=5,barrier=20"; do
  ref=
  for run in "1 static" "2 static" "2 static:3" "2 dynamic" "2 dynamic:7" \
    "2 guided" "3 guided:4"; do
    set -- $run
    # shellcheck disable=SC2086
    check "$model, $1 workers, $2" 0 "$SHARC" mc $model --paths 30000 --seed 11 \
      --workers "$1" --schedule "$2"
    err_empty
    if tail -n 1 "$OUT" | grep -q "^paths/s .* $1 workers, $2"; then ok; else
      bad "last line is not the rate with '$1 workers, $2'"; fi
    if [ -z "$ref" ]; then
      ref=$(results)
    elif [ "$(results)" = "$ref" ]; then
      ok
    else
      bad "output differs from 1 worker, static"
    fi
  done
done

# The walk draws 32-bit words only (no libm): its output is known exactly.
check "walk, fixed seed, exact text" 0 "$SHARC" mc walk --paths 1000 --seed 7 \
  -p start=5,barrier=20 --workers 2 --schedule dynamic:3
want="walk: start=5 barrier=20 p=0.5
paths 1000  seed 7
steps        75.55  stderr 2.37585  95% CI [70.89342166, 80.20657834]
  gambler's ruin 75: inside the interval (+0.23 standard errors)
P(barrier)   0.265  stderr 0.0139632  95% CI [0.2376327, 0.2923673]
  gambler's ruin 0.25: inside the interval (+1.07 standard errors)
longest path 677: 493 steps"
if [ "$(results)" = "$want" ]; then ok; else bad "walk output is not the known text"; fi

# --- references ---------------------------------------------------------------

check "european prints Black-Scholes inside the interval" 0 "$SHARC" mc european \
  --paths 2e5 --seed 7 --workers 2
out_has "price        "
out_has "95% CI ["
out_has "  Black-Scholes 10.4505835722: inside the interval"
out_has "paths/s "

check "geometric asian prints its closed form" 0 "$SHARC" mc asian --paths 2^15 \
  -p average=geom,steps=12 --workers 2
out_has "  geometric closed form 5.94020022163: inside the interval"

check "--block sets the reduction block" 0 "$SHARC" mc european --paths 5000 \
  --block 100 --workers 2
out_has "paths 5000  seed 42"

# --- errors ----------------------------------------------------------------------

mc_fails "no model" 2 "expected one MODEL"
mc_fails "unknown model" 2 "frobnicate" frobnicate
mc_fails "unknown option" 2 "--frobnicate" european --frobnicate
mc_fails "--paths 0" 2 "--paths" european --paths 0
mc_fails "--paths text" 2 "--paths" european --paths many
mc_fails "--seed text" 2 "--seed" european --seed -1
mc_fails "--workers 0" 2 "--workers" european --workers 0
mc_fails "--schedule bogus" 2 "--schedule" european --schedule sometimes
mc_fails "--block 0" 2 "--block" european --block 0
mc_fails "unknown parameter" 2 "unknown parameter 'steps'" european -p steps=3
mc_fails "bad parameter value" 2 "sigma" european -p sigma=-0.2
mc_fails "control needs arith" 2 "control" asian -p average=geom,control=1
mc_fails "walk start at barrier" 2 "barrier" walk -p start=40,barrier=40
mc_fails "partials too large" 1 "larger block" european --paths 2^40 --block 1 \
  --workers 1

echo "$pass passed, $fail failed"
exit $((fail > 0))
