"""Pool start time of Python's multiprocessing, the reference for
bench_start: the time from Pool(W) to the end of a first map that gives
every worker one item.

bench_start runs it with --serve and interleaves it with its own runs: it
writes "METHOD WORKERS" lines and reads back one time in milliseconds per
line. By hand: start_py.py [REPEATS [W ...]] prints "METHOD W MEDIAN_MS".
"""
import multiprocessing as mp
import statistics
import sys
import time


def noop(x):
    return x


def warm(method):
    # Not timed: the fork server starts once per program in Python, as
    # sharc's does at sharc_init().
    if method == "forkserver":
        with mp.get_context(method).Pool(1) as p:
            p.map(noop, range(1))


def once(method, workers):
    ctx = mp.get_context(method)
    t0 = time.perf_counter()
    p = ctx.Pool(workers)
    p.map(noop, range(workers), chunksize=1)
    t = time.perf_counter() - t0
    p.terminate()
    p.join()
    return t * 1e3


def serve():
    warm("forkserver")
    for line in sys.stdin:
        method, workers = line.split()
        print(f"{once(method, int(workers)):.3f}", flush=True)


def main():
    if sys.argv[1:2] == ["--serve"]:
        serve()
        return
    repeats = int(sys.argv[1]) if len(sys.argv) > 1 else 7
    counts = [int(a) for a in sys.argv[2:]] or [1, 2, 8]
    warm("forkserver")
    for method in ("fork", "forkserver", "spawn"):
        for w in counts:
            ms = statistics.median(once(method, w) for _ in range(repeats))
            print(f"{method} {w} {ms:.3f}", flush=True)


if __name__ == "__main__":
    main()
