#!/usr/bin/python3
"""Python rows of the scheduling suite: multiprocessing.Pool map and
imap_unordered over multiprocessing.shared_memory arrays, each task calling
the kernels' compiled per-range code through ctypes
(libsharc_sched_kernels.so, built from kernels/ranges.h like every other
runtime's loop).

It runs the workloads that bench_sched ran, with the same sizes and
parameters, read from bench_sched's JSON file, and writes its own JSON in
the same shape (bench/sched_report.py merges the two).

Tasks are ranges of `grain` indices, grain = ceil(n / (64 * workers)):
map() groups them with its default chunksize (ceil(tasks / (4 * workers))),
imap_unordered() hands them out one at a time. Pool process k (numbered by
the initializer, 0..workers-1) is pinned to the PU of sharc worker k, and
process `slow` runs every index twice, as sharc's worker `slow` does.
Per-process busy time is the sum of its tasks' kernel time."""

import argparse
import ctypes
import json
import math
import os
import sys
import time
from multiprocessing import Pool, Value, shared_memory

import numpy as np

# The worker id the sequential loop runs as: never the slow one.
NOT_SLOW = 2**64 - 2

# --- in each pool process -----------------------------------------------------

_lib = None
_me = 0
_work = None
_views = []
_shms = []


def _init(lib_path, counter, pus, work, shm_names):
    """Numbers this process, pins it, attaches the arrays, loads the lib."""
    global _lib, _me, _work
    with counter.get_lock():
        _me = counter.value
        counter.value += 1
    if pus and pus[_me % len(pus)] >= 0:
        os.sched_setaffinity(0, {pus[_me % len(pus)]})
    _lib = _load(lib_path)
    _work = work
    for name, dtype, count in shm_names:
        shm = shared_memory.SharedMemory(name=name)
        _shms.append(shm)
        _views.append(np.ndarray((count,), dtype=dtype, buffer=shm.buf))
    if work["kernel"] == "synthetic":
        if _lib.sched_synthetic_init(work["params"].encode(), work["n"]) != 0:
            raise RuntimeError("bad synthetic parameters " + work["params"])


def _ptr(view):
    return ctypes.c_void_p(view.ctypes.data)


def _task(rng):
    begin, end = rng
    w = _work
    t0 = time.perf_counter()
    kernel = w["kernel"]
    if kernel == "synthetic":
        _lib.sched_synthetic(_ptr(_views[0]), begin, end, _me)
    elif kernel == "mandelbrot":
        _lib.sched_mandel_rows(_ptr(_views[0]), w["width"], w["height"],
                               w["maxiter"], begin, end)
    elif kernel == "bench_mandelbrot_pixels":
        _lib.sched_mandel_pixels(_ptr(_views[0]), w["width"], w["height"],
                                 w["maxiter"], begin, end)
    elif kernel == "triad":
        _lib.sched_triad(_ptr(_views[0]), _ptr(_views[1]), _ptr(_views[2]),
                         w["scalar"], begin, end)
    return _me, time.perf_counter() - t0


# --- the driver -----------------------------------------------------------------


def _load(path):
    lib = ctypes.CDLL(path)
    u64, vp = ctypes.c_uint64, ctypes.c_void_p
    lib.sched_synthetic_init.argtypes = [ctypes.c_char_p, u64]
    lib.sched_synthetic_init.restype = ctypes.c_int
    lib.sched_synthetic.argtypes = [vp, u64, u64, u64]
    lib.sched_synthetic.restype = None
    for fn in (lib.sched_mandel_rows, lib.sched_mandel_pixels):
        fn.argtypes = [vp, u64, u64, u64, u64, u64]
        fn.restype = None
    lib.sched_triad.argtypes = [vp, vp, vp, ctypes.c_double, u64, u64]
    lib.sched_triad.restype = None
    return lib


def _arrays(w):
    """(dtype, count, fill) of each array the workload's kernel uses."""
    k = w["kernel"]
    if k == "synthetic":
        return [("f8", w["n"], None)]
    if k in ("mandelbrot", "bench_mandelbrot_pixels"):
        return [("u4", w["width"] * w["height"], None)]
    if k == "triad":
        i = np.arange(w["n"], dtype=np.uint64)
        return [("f8", w["n"], None),
                ("f8", w["n"], lambda v: np.add(1.0, i % 7, out=v)),
                ("f8", w["n"], lambda v: np.add(2.0, i % 5, out=v))]
    raise ValueError("unknown kernel " + k)


def _imbalance(busy):
    mx = max(busy)
    return (mx - sum(busy) / len(busy)) / mx * 100.0 if mx > 0 else 0.0


def expected(lib, w, views):
    """The result array as the sequential loop computes it, in this process."""
    ref = np.zeros_like(views[0])
    n, k = w["n"], w["kernel"]
    if k == "synthetic":
        if lib.sched_synthetic_init(w["params"].encode(), n) != 0:
            raise RuntimeError("bad synthetic parameters " + w["params"])
        lib.sched_synthetic(_ptr(ref), 0, n, NOT_SLOW)
    elif k == "mandelbrot":
        lib.sched_mandel_rows(_ptr(ref), w["width"], w["height"], w["maxiter"], 0, n)
    elif k == "bench_mandelbrot_pixels":
        lib.sched_mandel_pixels(_ptr(ref), w["width"], w["height"], w["maxiter"], 0, n)
    else:
        lib.sched_triad(_ptr(ref), _ptr(views[1]), _ptr(views[2]), w["scalar"], 0, n)
    return ref


def run_workload(args, w, workers, pus, repeats):
    shms, names, views = [], [], []
    try:
        for dtype, count, fill in _arrays(w):
            size = max(1, count * np.dtype(dtype).itemsize)
            shm = shared_memory.SharedMemory(create=True, size=size)
            shms.append(shm)
            view = np.ndarray((count,), dtype=dtype, buffer=shm.buf)
            view[:] = 0
            if fill is not None:
                fill(view)
            views.append(view)
            view = None
            names.append((shm.name, dtype, count))
        n = w["n"]
        grain = max(1, math.ceil(n / (64 * workers)))
        tasks = [(b, min(n, b + grain)) for b in range(0, n, grain)]
        counter = Value("i", 0)
        with Pool(workers, initializer=_init,
                  initargs=(args.lib, counter, pus, w, names)) as pool:
            # Untimed: every process started, attached and warm, and the
            # result checked bit for bit against the sequential loop's.
            pool.map(_task, tasks)
            if not np.array_equal(views[0], expected(_load(args.lib), w, views)):
                raise SystemExit("sched_py: %s: the pool's result differs from "
                                 "the sequential loop's" % w["name"])
            rows = {"map": ([], []), "imap_unordered": ([], [])}
            for _ in range(repeats):
                for how in ("map", "imap_unordered"):
                    busy = [0.0] * workers
                    t0 = time.perf_counter()
                    if how == "map":
                        got = pool.map(_task, tasks)
                    else:
                        got = list(pool.imap_unordered(_task, tasks))
                    makespan = time.perf_counter() - t0
                    for who, t in got:
                        busy[who % workers] += t
                    rows[how][0].append(makespan)
                    rows[how][1].append(_imbalance(busy))
        return [{"runtime": "python", "schedule": how, "grain": grain,
                 "makespan_s": ms, "imbalance_pct": imb}
                for how, (ms, imb) in rows.items()]
    finally:
        del views[:]  # no view may outlive the mapping it points into
        for shm in shms:
            shm.close()
            shm.unlink()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--lib", required=True,
                    help="path to libsharc_sched_kernels.so")
    ap.add_argument("--from", dest="src", required=True,
                    help="bench_sched's JSON file (workloads, sizes, PUs)")
    ap.add_argument("--json", required=True, help="where to write the rows")
    ap.add_argument("--repeats", type=int, default=0,
                    help="default: as many as bench_sched ran")
    args = ap.parse_args()
    with open(args.src) as f:
        src = json.load(f)
    workers = src["workers"]
    pus = src.get("pus", [])
    repeats = args.repeats or src["repeats"]
    out = {"runtime": "python", "workers": workers, "repeats": repeats,
           "python": sys.version.split()[0], "workloads": []}
    for w in src["workloads"]:
        t0 = time.perf_counter()
        rows = run_workload(args, w, workers, pus, repeats)
        out["workloads"].append({"name": w["name"], "rows": rows})
        print("sched_py: %-16s %.1f s" % (w["name"], time.perf_counter() - t0),
              file=sys.stderr)
    with open(args.json, "w") as f:
        json.dump(out, f, indent=1)


if __name__ == "__main__":
    main()
