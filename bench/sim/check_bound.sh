#!/usr/bin/env bash
# Sanity of bench_bound on a small problem: no figure is below ideal (it is
# a lower bound); list scheduling in random orders never beats the floor
# computed from the same orders; on uniform costs every figure is exactly
# ideal (n a multiple of every W).
#
# usage: bash bench/sim/check_bound.sh PATH_TO_BENCH_BOUND
set -u
BOUND=$1
TMP=$(mktemp -d "${TMPDIR:-/tmp}/sharc-bound.XXXXXX") || exit 1
trap 'rm -rf "$TMP"' EXIT
"$BOUND" --n 65536 --workers 4,64,1024 --seeds 1-3 --orders 3 >"$TMP/pareto" || exit 1
"$BOUND" --n 65536 --workers 4,64,1024 --seeds 1 --orders 2 --dist uniform \
  >"$TMP/uniform" || exit 1
/usr/bin/python3 - "$TMP/pareto" "$TMP/uniform" <<'PY'
import sys
def rows(path):
    out = []
    for line in open(path):
        f = line.split()
        if len(f) > 9 and f[0].isdigit():
            out.append(dict(seed=int(f[0]), W=int(f[1]), lpt=float(f[3]),
                            lb=float(f[4]), greedy=float(f[5]),
                            index=float(f[7]), owner=float(f[8])))
    return out
p, u = rows(sys.argv[1]), rows(sys.argv[2])
assert len(p) == 9 and len(u) == 3, (len(p), len(u))
for r in p + u:
    for k in ("lpt", "lb", "greedy", "index"):
        assert r[k] >= 0.9995, r
    assert r["greedy"] >= r["lb"] - 0.0005, r
for r in u:
    for k in ("lpt", "lb", "greedy", "index"):
        assert r[k] == 1.0, r
print("bench_bound: %d rows checked" % len(p + u))
PY
