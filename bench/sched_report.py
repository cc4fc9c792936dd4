#!/usr/bin/python3
"""Turns the scheduling suite's raw samples (bench_sched's JSON, plus
sched_py.py's if given) into a table on stdout, one merged JSON file and an
SVG bar chart of makespan/ideal per workload per runtime.

Per row: median makespan over the repeats, makespan / ideal (the ideal is
in bench_sched's JSON: total work / workers, or the longest index if
larger), median percent imbalance of per-worker busy time ((max - mean) /
max) and the ratio to the best OpenMP row of the same workload. The
dynamic:K sweeps (sharc and OpenMP) show as one row each: the best K."""

import argparse
import json
import statistics
import sys
from xml.sax.saxutils import escape


def median(v):
    return statistics.median(v) if v else float("nan")


def condense(rows):
    """Rows with medians; each runtime's dynamic:K sweep becomes its best."""
    out, best = [], {}
    for r in rows:
        r = dict(r)
        r["makespan_median_s"] = median(r["makespan_s"])
        r["imbalance_median_pct"] = median(r["imbalance_pct"])
        if "sweep_chunk" in r:
            key = r["runtime"]
            if key not in best or r["makespan_median_s"] < best[key]["makespan_median_s"]:
                best[key] = r
            continue
        out.append(r)
    for key, r in best.items():
        r = dict(r)
        sep = ":" if key == "sharc" else ","
        r["schedule"] = "dynamic%sK best (K=%d)" % (sep, r["sweep_chunk"])
        r["best_of_sweep"] = True
        out.append(r)
    order = {"sharc": 0, "openmp": 1, "tbb": 2, "python": 3, "sequential": 4}
    out.sort(key=lambda r: (order.get(r["runtime"], 9), "K best" in r["schedule"]))
    # Keep sweep rows after their runtime's fixed schedules but before guided
    # would be nicer; the order above is stable and predictable instead.
    return out


def merge(c_data, py_data):
    py = {w["name"]: w["rows"] for w in (py_data or {}).get("workloads", [])}
    merged = []
    for w in c_data["workloads"]:
        rows = list(w["rows"])
        seq = [r for r in rows if r["runtime"] == "sequential"]
        rows = [r for r in rows if r["runtime"] != "sequential"]
        rows += py.get(w["name"], []) + seq
        full = condense(rows)
        ideal = w["ideal_s"]
        omp = [r["makespan_median_s"] for r in full if r["runtime"] == "openmp"]
        best_omp = min(omp) if omp else float("nan")
        for r in full:
            r["over_ideal"] = r["makespan_median_s"] / ideal if ideal > 0 else float("nan")
            r["vs_best_openmp"] = r["makespan_median_s"] / best_omp if omp else float("nan")
        sweep = [dict(r, makespan_median_s=median(r["makespan_s"]))
                 for r in w["rows"] if "sweep_chunk" in r]
        m = {k: v for k, v in w.items() if k != "rows"}
        m["rows"] = full
        m["sweep"] = [{"runtime": r["runtime"], "chunk": r["sweep_chunk"],
                       "makespan_median_s": r["makespan_median_s"]} for r in sweep]
        merged.append(m)
    return merged


def print_table(meta, workloads, out):
    out.write("workers %d, median of %d repeats%s\n" %
              (meta["workers"], meta["repeats"],
               ", QUICK sizes (checks the harness; not for figures)" if meta.get("quick") else ""))
    for note in meta.get("notes", []):
        out.write("note: %s\n" % note)
    hdr = "%-16s %-10s %-26s %11s %8s %8s %8s\n"
    out.write(hdr % ("workload", "runtime", "schedule", "makespan_ms",
                     "/ideal", "imbal%", "/bestOMP"))
    for w in workloads:
        out.write("\n")
        for r in w["rows"]:
            out.write("%-16s %-10s %-26s %11.3f %8.3f %8.1f %8.3f\n" % (
                w["name"], r["runtime"], r["schedule"],
                r["makespan_median_s"] * 1e3, r["over_ideal"],
                r["imbalance_median_pct"], r["vs_best_openmp"]))
        out.write("%-16s ideal %.3f ms\n" % (w["name"], w["ideal_s"] * 1e3))


# --- SVG ------------------------------------------------------------------------

PALETTE = ["#1f77b4", "#aec7e8", "#ff7f0e", "#ffbb78", "#2ca02c", "#98df8a",
           "#d62728", "#ff9896", "#9467bd", "#c5b0d5", "#8c564b", "#c49c94",
           "#e377c2", "#f7b6d2", "#7f7f7f", "#c7c7c7", "#bcbd22", "#dbdb8d",
           "#17becf", "#9edae5"]


def series_key(r):
    s = r["schedule"]
    if r.get("best_of_sweep"):
        s = "dynamic:K best" if r["runtime"] == "sharc" else "dynamic,K best"
    return "%s %s" % (r["runtime"], s)


def write_svg(meta, workloads, path, ymax=4.0):
    series = []
    for w in workloads:
        for r in w["rows"]:
            k = series_key(r)
            if r["runtime"] != "sequential" and k not in series:
                series.append(k)
    bw, gap, left, top, plot_h = 7, 14, 60, 50, 300
    group_w = bw * len(series) + gap
    width = left + group_w * len(workloads) + 20
    legend_rows = (len(series) + 3) // 4
    height = top + plot_h + 110 + 16 * legend_rows
    y = lambda v: top + plot_h - min(v, ymax) / ymax * plot_h
    o = ['<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" '
         'font-family="sans-serif" font-size="11">' % (width, height),
         '<rect width="100%" height="100%" fill="white"/>',
         '<text x="%d" y="20" font-size="14">makespan / ideal (lower is better; '
         '1 = perfect), %d workers, median of %d%s</text>' %
         (left, meta["workers"], meta["repeats"],
          ", quick sizes" if meta.get("quick") else "")]
    tick = 0.0
    while tick <= ymax + 1e-9:
        o.append('<line x1="%d" y1="%.1f" x2="%d" y2="%.1f" stroke="#ddd"/>' %
                 (left, y(tick), width - 20, y(tick)))
        o.append('<text x="%d" y="%.1f" text-anchor="end">%.1f</text>' %
                 (left - 4, y(tick) + 4, tick))
        tick += 0.5
    o.append('<line x1="%d" y1="%.1f" x2="%d" y2="%.1f" stroke="black" '
             'stroke-dasharray="4,2"/>' % (left, y(1), width - 20, y(1)))
    for gi, w in enumerate(workloads):
        x0 = left + gi * group_w + gap / 2
        by = {series_key(r): r for r in w["rows"]}
        for si, k in enumerate(series):
            r = by.get(k)
            if r is None or r["over_ideal"] != r["over_ideal"]:
                continue
            v = r["over_ideal"]
            x = x0 + si * bw
            o.append('<rect class="bar" x="%.1f" y="%.1f" width="%d" height="%.1f" '
                     'fill="%s"><title>%s / %s: %.3f x ideal, %.3f ms</title></rect>' %
                     (x, y(v), bw - 1, top + plot_h - y(v), PALETTE[si % len(PALETTE)],
                      escape(w["name"]), escape(k), v, r["makespan_median_s"] * 1e3))
            if v > ymax:
                o.append('<text x="%.1f" y="%d" font-size="8" text-anchor="middle">'
                         '%.0f</text>' % (x + bw / 2, top - 3, v))
        o.append('<text transform="translate(%.1f,%d) rotate(40)">%s</text>' %
                 (x0, top + plot_h + 12, escape(w["name"])))
    ly = top + plot_h + 90
    for si, k in enumerate(series):
        lx = left + (si % 4) * 260
        yy = ly + (si // 4) * 16
        o.append('<rect x="%d" y="%d" width="10" height="10" fill="%s"/>' %
                 (lx, yy - 9, PALETTE[si % len(PALETTE)]))
        o.append('<text x="%d" y="%d">%s</text>' % (lx + 14, yy, escape(k)))
    o.append("</svg>")
    with open(path, "w") as f:
        f.write("\n".join(o) + "\n")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("c_json", help="bench_sched --json output")
    ap.add_argument("--python", help="sched_py.py --json output")
    ap.add_argument("--json", help="write the merged results here")
    ap.add_argument("--svg", help="write the plot here")
    args = ap.parse_args()
    with open(args.c_json) as f:
        c_data = json.load(f)
    py_data = None
    if args.python:
        with open(args.python) as f:
            py_data = json.load(f)
    workloads = merge(c_data, py_data)
    meta = {k: v for k, v in c_data.items() if k != "workloads"}
    print_table(meta, workloads, sys.stdout)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(dict(meta, python=(py_data or {}).get("python"),
                           workloads=workloads), f, indent=1)
    if args.svg:
        write_svg(meta, workloads, args.svg)


if __name__ == "__main__":
    main()
