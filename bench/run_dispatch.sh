#!/bin/sh
# Builds bench_dispatch optimised (Release) and runs it; every argument goes
# to the bench, e.g.  bench/run_dispatch.sh --repeats 15 --json out.json
# The build directory is $SHARC_BENCH_BUILD (default: build-bench in the
# source tree, which git ignores). CC picks the compiler on the first build.
set -eu
src=$(cd "$(dirname "$0")/.." && pwd)
build=${SHARC_BENCH_BUILD:-$src/build-bench}
cmake -S "$src" -B "$build" -DCMAKE_BUILD_TYPE=Release \
  -DSHARC_BUILD_TESTS=OFF >/dev/null
cmake --build "$build" -j"$(nproc)" --target bench_dispatch >/dev/null
exec "$build/bench/bench_dispatch" "$@"
