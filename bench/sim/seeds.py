#!/usr/bin/python3
"""bench_sim over several seeds: mean and worst makespan / ideal per
workload, schedule and worker count.

Only exponential and pareto (and their +slow) draw their costs from the
seed; the other workloads are run once. Every argument after -- goes to
bench_sim (e.g. the measured claim costs).

usage: seeds.py BENCH_SIM [--seeds 1-12] [--schedules auto,tbb-like]
                [--workloads LIST] [--json OUT] [-- BENCH_SIM_ARGS...]
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor

SEEDED = ("exponential", "pareto")
LOADS = [a + b for b in ("", "+slow") for a in
         ("uniform", "exponential", "pareto", "ramp_up", "ramp_down",
          "hot_band")]


def seed_list(text):
    out = []
    for part in text.split(","):
        a, _, b = part.partition("-")
        out.extend(range(int(a), int(b or a) + 1))
    return out


def run(sim, seed, loads, scheds, extra, tmp):
    path = os.path.join(tmp, "s%d.json" % seed)
    cmd = [sim, "--seed", str(seed), "--workloads", ",".join(loads),
           "--json", path] + extra
    if scheds:
        cmd += ["--schedules", scheds]
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    with open(path) as f:
        return json.load(f)["results"]


def main():
    argv = sys.argv[1:]
    extra = []
    if "--" in argv:
        i = argv.index("--")
        argv, extra = argv[:i], argv[i + 1:]
    ap = argparse.ArgumentParser()
    ap.add_argument("sim")
    ap.add_argument("--seeds", default="1-12")
    ap.add_argument("--schedules", default="auto")
    ap.add_argument("--workloads", default=",".join(LOADS))
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--json")
    a = ap.parse_args(argv)
    seeds = seed_list(a.seeds)
    loads = a.workloads.split(",")
    seeded = [w for w in loads if w.split("+")[0] in SEEDED]
    fixed = [w for w in loads if w not in seeded]
    res = {}
    with tempfile.TemporaryDirectory() as tmp, \
            ThreadPoolExecutor(max_workers=a.jobs) as ex:
        futs = [(s, ex.submit(run, a.sim, s, seeded, a.schedules, extra, tmp))
                for s in seeds if seeded]
        if fixed:
            futs.append((None, ex.submit(run, a.sim, seeds[0], fixed,
                                         a.schedules, extra, tmp)))
        for seed, f in futs:
            for r in f.result():
                key = (r["workload"], r["schedule"], r["workers"])
                res.setdefault(key, []).append(r["ratio"])
    workers = sorted({k[2] for k in res})
    scheds = []
    for k in res:
        if k[1] not in scheds:
            scheds.append(k[1])
    print("makespan / ideal, mean / worst over seeds %s (%d) where the "
          "workload draws from the seed" % (a.seeds, len(seeds)))
    print("%-17s %-10s" % ("workload", "schedule") +
          "".join(" %15s" % ("W=%d" % w) for w in workers))
    for w in loads:
        for s in scheds:
            cells = []
            for n in workers:
                v = res.get((w, s, n))
                cells.append(" %15s" % ("%.3f / %.3f" % (
                    sum(v) / len(v), max(v)) if v else "-"))
            print("%-17s %-10s" % (w, s) + "".join(cells))
    others = [max(max(v) for k, v in res.items()
                  if k[1] == s and k[2] == n and not k[0].startswith("pareto"))
              for s in scheds for n in workers
              if any(k[1] == s and not k[0].startswith("pareto") for k in res)]
    if others:
        print("worst non-pareto cell: %.3f" % max(others))
    if a.json:
        with open(a.json, "w") as f:
            json.dump([{"workload": k[0], "schedule": k[1], "workers": k[2],
                        "ratios": v} for k, v in sorted(res.items())], f)


if __name__ == "__main__":
    main()
