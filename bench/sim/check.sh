#!/usr/bin/env bash
# Sanity of bench_sim on a small problem: every schedule, worker count and
# workload is in the JSON; no makespan beats the ideal (it is a lower
# bound); static is exactly ideal on uniform work (no claims contend);
# dynamic,1 at many workers is limited by the shared counter exactly as the
# model says (n claims x dispatch ns); auto stays within 5% on the hot band.
#
# usage: bash bench/sim/check.sh PATH_TO_BENCH_SIM
set -u
SIM=$1
TMP=$(mktemp -d "${TMPDIR:-/tmp}/sharc-sim.XXXXXX") || exit 1
trap 'rm -rf "$TMP"' EXIT
"$SIM" --n 65536 --workers 4,64,1024 --json "$TMP/sim.json" >"$TMP/table" || exit 1
/usr/bin/python3 - "$TMP/sim.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
r = {(x["workload"], x["schedule"], x["workers"]): x for x in d["results"]}
scheds = ["static", "dynamic,1", "dynamic,16", "dynamic,256", "guided", "fac2", "wf", "auto", "tbb-like"]
loads = [a + b for b in ("", "+slow") for a in
         ("uniform", "exponential", "pareto", "ramp_up", "ramp_down", "hot_band")]
for l in loads:
    for s in scheds:
        for w in (4, 64, 1024):
            assert (l, s, w) in r, (l, s, w)
            assert r[l, s, w]["ratio"] >= 0.999999, r[l, s, w]
for w in (4, 64, 1024):
    x = r["uniform", "static", w]
    # one local claim (3 ns) and the final empty look (3 ns more)
    assert abs(x["makespan_ns"] - x["ideal_ns"]) <= 6.01, x
# dynamic,1 at 1024 workers: 65536 + 1024 serialized claims of 15 ns
x = r["uniform", "dynamic,1", 1024]
assert abs(x["makespan_ns"] - (65536 + 1024) * 15) < 2000, x
assert r["hot_band", "auto", 64]["ratio"] < 1.05, r["hot_band", "auto", 64]
assert r["hot_band", "static", 64]["ratio"] > 4, r["hot_band", "static", 64]
print("bench_sim: %d results checked" % len(r))
PY
