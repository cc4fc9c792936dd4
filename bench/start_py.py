"""Pool start time of Python's multiprocessing, the reference for
bench_start: for each start method and worker count, the time from
Pool(W) to the end of a first map that gives every worker one item, as
the median of several runs. Prints one line per case:
    METHOD WORKERS MEDIAN_MS
Run by bench_start (or by hand: start_py.py REPEATS W [W...])."""
import multiprocessing as mp
import statistics
import sys
import time


def noop(x):
    return x


def measure(method, workers, repeats):
    ctx = mp.get_context(method)
    # Not timed: the fork server starts once per program in Python, as
    # sharc's does at sharc_init().
    if method == "forkserver":
        with ctx.Pool(1) as p:
            p.map(noop, range(1))
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        p = ctx.Pool(workers)
        p.map(noop, range(workers), chunksize=1)
        times.append(time.perf_counter() - t0)
        p.terminate()
        p.join()
    return statistics.median(times)


def main():
    repeats = int(sys.argv[1]) if len(sys.argv) > 1 else 7
    counts = [int(a) for a in sys.argv[2:]] or [1, 2, 8]
    for method in ("fork", "forkserver", "spawn"):
        for w in counts:
            print(f"{method} {w} {measure(method, w, repeats) * 1e3:.3f}",
                  flush=True)


if __name__ == "__main__":
    main()
