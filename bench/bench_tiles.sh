#!/usr/bin/env bash
# The tiles benchmark: the same pyramid from the same DEM by
#   gdaldem hillshade + gdal2tiles.py --processes=2 --xyz   (the reference)
#   sharc tiles --workers 2, and --workers 1                 (for the speed-up)
# side by side in one run, then the pyramids compared (same tile set, mean
# difference per tile). The DEM is the built-in synthetic terrain written
# as a Float32 GeoTIFF (not timed). Each step is reported as wall time and
# CPU time (user + system, children included): on a machine shared with
# other work the CPU times are the steadier figures.
#
# usage: bench/bench_tiles.sh PATH_TO_SHARC [SIZE (8192)] [ZOOMS (5-12)]
set -euo pipefail
SHARC=$(realpath "$1")
SIZE=${2:-8192}
ZOOMS=${3:-5-12}
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/sharc-bench-tiles.XXXXXX")
trap 'rm -rf "$work"' EXIT
cd "$work"

TIMEFORMAT='%R %U %S'
# timed NAME CMD...: runs CMD, records "wall cpu" in $work/NAME.time.
timed() {
  local name=$1
  shift
  { time "$@" >"$name.out" 2>"$name.err"; } 2>"$name.raw"
  awk '{ printf "%.2f %.2f\n", $1, $2 + $3 }' "$name.raw" >"$name.time"
}
wall() { cut -d' ' -f1 "$1.time"; }
cpu() { cut -d' ' -f2 "$1.time"; }
sum() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a + b }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }

echo "sharc tiles benchmark: ${SIZE}x${SIZE} synthetic DEM, zooms $ZOOMS, $(nproc) CPUs"
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
"$SHARC" dem dem.tif --size "$SIZE" >/dev/null
sync

timed gdaldem gdaldem hillshade -q dem.tif hs.tif
timed gdal2tiles /usr/bin/python3 "$(command -v gdal2tiles.py)" -q --processes=2 \
  --xyz -z "$ZOOMS" hs.tif ref
timed sharc2 "$SHARC" tiles dem.tif out2 --zoom "$ZOOMS" --workers 2 --quiet
timed sharc1 "$SHARC" tiles dem.tif out1 --zoom "$ZOOMS" --workers 1 --quiet

ref_wall=$(sum "$(wall gdaldem)" "$(wall gdal2tiles)")
ref_cpu=$(sum "$(cpu gdaldem)" "$(cpu gdal2tiles)")
echo "reference: gdaldem $(wall gdaldem) s + gdal2tiles $(wall gdal2tiles) s = $ref_wall s wall;" \
  "CPU $(cpu gdaldem) + $(cpu gdal2tiles) = $ref_cpu s; $(find ref -name '*.png' | wc -l) tiles"
echo "sharc, 2 workers: $(wall sharc2) s wall, $(cpu sharc2) s CPU"
sed 's/^/  /' sharc2.out
echo "sharc, 1 worker: $(wall sharc1) s wall, $(cpu sharc1) s CPU"
sed 's/^/  /' sharc1.out
echo "reference / sharc (2 workers): $(ratio "$ref_wall" "$(wall sharc2)")x wall," \
  "$(ratio "$ref_cpu" "$(cpu sharc2)")x CPU"
echo "speed-up 1 -> 2 workers: $(ratio "$(wall sharc1)" "$(wall sharc2)")x wall"
echo "quality: $(/usr/bin/python3 "$here/../tests/e2e/tiles_compare.py" pyramid out2 ref 2 2>&1)"
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
