#!/bin/sh
# The scheduling suite in one command: runs the built bench_sched (sharc,
# OpenMP, oneTBB, sequential) and sched_py.py (Python multiprocessing), then
# prints the table and writes DIR/results.json and DIR/plot.svg (raw samples
# in DIR/raw_c.json and DIR/raw_python.json). Builds nothing; build first:
#
#   cmake -S . -B build-bench -DCMAKE_BUILD_TYPE=Release -DSHARC_BUILD_TESTS=OFF
#   cmake --build build-bench -j2 --target bench_sched sharc_sched_kernels
#
# usage: bench/run_sched.sh [--quick] [--out DIR] [--build DIR] [--no-python]
#                           [-- BENCH_SCHED_OPTIONS...]
# e.g.   bench/run_sched.sh --quick --out /tmp/sched
#        bench/run_sched.sh -- --repeats 9 --workloads pareto,hot_band+slow
# --build defaults to $SHARC_BENCH_BUILD, else build-bench in the source tree.
set -eu
src=$(cd "$(dirname "$0")/.." && pwd)
build=${SHARC_BENCH_BUILD:-$src/build-bench}
out=sched-results
quick=
python=1
while [ $# -gt 0 ]; do
  case $1 in
  --quick) quick=--quick ;;
  --out) out=${2:?--out needs a directory}; shift ;;
  --build) build=${2:?--build needs a directory}; shift ;;
  --no-python) python= ;;
  --) shift; break ;;
  -h|--help) sed -n '2,16s/^# \{0,1\}//p' "$0"; exit 0 ;;
  *) echo "run_sched.sh: unknown option '$1' (try --help)" >&2; exit 2 ;;
  esac
  shift
done
bench=$build/bench/bench_sched
lib=$build/bench/libsharc_sched_kernels.so
py=/usr/bin/python3 # the python3 with NumPy
if [ ! -x "$bench" ]; then
  echo "run_sched.sh: no $bench; build it first (see bench/run_sched.sh --help)" >&2
  exit 1
fi
mkdir -p "$out"
# Idle OpenMP threads spin for a while after each parallel region (libgomp's
# default); in one process that interleaves runtimes they would take CPU
# from the next runtime's run. Passive waiting only changes how OpenMP's
# threads idle between regions, not the loops being timed. Override by
# setting OMP_WAIT_POLICY yourself.
export OMP_WAIT_POLICY="${OMP_WAIT_POLICY:-passive}"
"$bench" $quick --json "$out/raw_c.json" "$@"
pyargs=
if [ -n "$python" ]; then
  if [ -f "$lib" ] && "$py" -c 'import numpy' 2>/dev/null; then
    "$py" "$src/bench/sched_py.py" --lib "$lib" --from "$out/raw_c.json" \
      --json "$out/raw_python.json"
    pyargs="--python $out/raw_python.json"
  else
    echo "run_sched.sh: note: no $lib or no NumPy in $py: no Python rows" >&2
  fi
fi
# shellcheck disable=SC2086
"$py" "$src/bench/sched_report.py" "$out/raw_c.json" $pyargs \
  --json "$out/results.json" --svg "$out/plot.svg" | tee "$out/table.txt"
echo "run_sched.sh: wrote $out/table.txt, $out/results.json, $out/plot.svg" >&2
