#!/usr/bin/env bash
# Smoke test of the scheduling suite's one command (not a measurement): a
# quick run of two workloads, one repeat, through bench/run_sched.sh; checks
# that the table, the merged JSON and the SVG come out, that every runtime
# built here has rows, and that every sharc schedule the library rejects is
# reported as skipped rather than dropped silently.
#
# usage: bash bench/check_sched.sh BUILD_DIR
set -u
BUILD=$1
SRC=$(cd "$(dirname "$0")/.." && pwd)
TMP=$(mktemp -d "${TMPDIR:-/tmp}/sharc-sched.XXXXXX") || exit 1
trap 'rm -rf "$TMP"' EXIT
if ! "$SRC/bench/run_sched.sh" --quick --build "$BUILD" --out "$TMP" -- \
  --workloads uniform+slow,mandel_pixels --repeats 1 --chunks 16 \
  >"$TMP/stdout" 2>"$TMP/stderr"; then
  cat "$TMP/stderr" >&2
  exit 1
fi
/usr/bin/python3 - "$TMP" <<'PY'
import json, os, sys, xml.etree.ElementTree as ET
d = sys.argv[1]
res = json.load(open(os.path.join(d, "results.json")))
raw = json.load(open(os.path.join(d, "raw_c.json")))
names = [w["name"] for w in res["workloads"]]
assert names == ["uniform+slow", "mandel_pixels"], names
want = {"sharc", "openmp", "python", "sequential"} | ({"tbb"} if raw["tbb"] else set())
for w in res["workloads"]:
    got = {r["runtime"] for r in w["rows"]}
    assert got == want, (w["name"], got, want)
    for r in w["rows"]:
        assert r["makespan_median_s"] > 0 and r["over_ideal"] > 0, r
    assert any(r["schedule"] == "dynamic,K best (K=16)" for r in w["rows"])
skipped = [n for n in raw["notes"] if "skipped" in n]
scheds = {r["schedule"] for r in res["workloads"][0]["rows"] if r["runtime"] == "sharc"}
for s in ("auto", "fac2", "wf"):
    assert s in scheds or any("'%s'" % s in n for n in skipped), s
ET.parse(os.path.join(d, "plot.svg"))
table = open(os.path.join(d, "table.txt")).read()
assert "uniform+slow" in table and "/bestOMP" in table
print("bench_sched smoke test: %d rows" % sum(len(w["rows"]) for w in res["workloads"]))
PY
