#!/usr/bin/python3
"""Compares two builds of sharc on the scheduling suite from pairs of
bench_sched runs (--json), made in turn on the same machine:

    sched_compare.py base_1.json new_1.json base_2.json new_2.json ...

The machine's load moves every row between runs, OpenMP's as much as
sharc's, so each sharc row's median makespan is first divided by the
geometric mean of the OpenMP rows of the same workload in the same run
(OpenMP runs the same code in both builds). Then, per sharc schedule and
workload, new / base in each pair; the median over the pairs; and per
schedule the geometric mean over the workloads, with the range of the
workloads and the same mean without the memory-bound triad, whose rows
move most from run to run. Below 1: the new build is faster."""
import argparse
import json
import math
import statistics
import sys


def geomean(v):
    return math.exp(sum(map(math.log, v)) / len(v))


def normalised(run):
    """(workload, schedule) -> sharc median makespan / OpenMP geomean."""
    out = {}
    for w in run["workloads"]:
        omp = [statistics.median(r["makespan_s"]) for r in w["rows"]
               if r["runtime"] == "openmp"]
        if not omp:
            sys.exit(f"sched_compare: workload {w['name']} has no OpenMP rows")
        g = geomean(omp)
        for r in w["rows"]:
            if r["runtime"] == "sharc":
                out[(w["name"], r["schedule"])] = \
                    statistics.median(r["makespan_s"]) / g
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("files", nargs="+", help="base and new JSON, in pairs")
    ap.add_argument("--detail", metavar="SCHEDULE",
                    help="also print this schedule's ratio per workload")
    a = ap.parse_args()
    if len(a.files) % 2:
        sys.exit("sched_compare: give the JSON files in pairs (base new)")
    ratios, order = {}, []
    for b, n in zip(a.files[0::2], a.files[1::2]):
        nb, nn = (normalised(json.load(open(f))) for f in (b, n))
        for k in nb:  # in the suite's own order
            if k in nn:
                ratios.setdefault(k, []).append(nn[k] / nb[k])
                if k[1] not in order:
                    order.append(k[1])
    print(f"{len(a.files) // 2} pairs; new / base, OpenMP-normalised")
    print(f"{'schedule':12s} {'all':>6s} {'no triad':>9s}  workloads")
    every = []
    for s in order:
        per = {w: statistics.median(v) for (w, s2), v in ratios.items()
               if s2 == s}
        every += per.values()
        rest = [v for w, v in per.items() if w != "triad"]
        print(f"{s:12s} {geomean(per.values()):6.3f} {geomean(rest):9.3f}  "
              f"{min(per.values()):.2f}-{max(per.values()):.2f}")
    print(f"{'all rows':12s} {geomean(every):6.3f}")
    if a.detail:
        for (w, s), v in sorted(ratios.items()):
            if s == a.detail:
                print(f"  {w:18s} {statistics.median(v):.3f}  pairs "
                      + " ".join(f"{x:.2f}" for x in v))


if __name__ == "__main__":
    main()
