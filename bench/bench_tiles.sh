#!/usr/bin/env bash
# The tiles benchmark: the same pyramid from the same DEM by
#   gdaldem hillshade + gdal2tiles.py --processes=2 --xyz   (the reference)
#   sharc tiles --workers 2, and --workers 1                 (for the speed-up)
# side by side, interleaved REPEATS times (reference, sharc 2, sharc 1, then
# again), medians reported, then the pyramids compared (same tile set, mean
# difference per tile). The DEM is the built-in synthetic terrain written as
# a Float32 GeoTIFF (not timed). Each step is reported as wall time and CPU
# time (user + system, children included): on a machine shared with other
# work the CPU times are the steadier figures, and interleaving puts both
# sides under the same load.
#
# usage: bench/bench_tiles.sh PATH_TO_SHARC [SIZE (8192)] [ZOOMS (5-12)]
#        [REPEATS (3)]
set -euo pipefail
SHARC=$(realpath "$1")
SIZE=${2:-8192}
ZOOMS=${3:-5-12}
REPEATS=${4:-3}
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/sharc-bench-tiles.XXXXXX")
trap 'rm -rf "$work"' EXIT
cd "$work"

TIMEFORMAT='%R %U %S'
# timed NAME CMD...: runs CMD, appends "wall cpu" to $work/NAME.times.
timed() {
  local name=$1
  shift
  { time "$@" >"$name.out" 2>"$name.err"; } 2>"$name.raw"
  awk '{ printf "%.2f %.2f\n", $1, $2 + $3 }' "$name.raw" >>"$name.times"
}
# median NAME COLUMN: the median of a column (1 wall, 2 CPU) of NAME.times.
median() {
  sort -n -k"$2","$2" "$1.times" | awk -v c="$2" '{ v[NR] = $c }
    END { printf "%.2f", NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
runs() { cut -d' ' -f"$2" "$1.times" | paste -sd' '; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }

echo "sharc tiles benchmark: ${SIZE}x${SIZE} synthetic DEM, zooms $ZOOMS, $(nproc) CPUs, $REPEATS runs each, interleaved"
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
"$SHARC" dem dem.tif --size "$SIZE" >/dev/null
sync

for i in $(seq "$REPEATS"); do
  rm -rf ref out2 out1 hs.tif
  timed gdaldem gdaldem hillshade -q dem.tif hs.tif
  timed gdal2tiles /usr/bin/python3 "$(command -v gdal2tiles.py)" -q --processes=2 \
    --xyz -z "$ZOOMS" hs.tif ref
  paste -d' ' <(tail -n1 gdaldem.times) <(tail -n1 gdal2tiles.times) |
    awk '{ printf "%.2f %.2f\n", $1 + $3, $2 + $4 }' >>reference.times
  timed sharc2 "$SHARC" tiles dem.tif out2 --zoom "$ZOOMS" --workers 2 --quiet
  timed sharc1 "$SHARC" tiles dem.tif out1 --zoom "$ZOOMS" --workers 1 --quiet
done

echo "reference (gdaldem + gdal2tiles), wall: $(runs reference 1) s; median $(median reference 1) s" \
  "(gdaldem $(median gdaldem 1) s, gdal2tiles $(median gdal2tiles 1) s); CPU median $(median reference 2) s;" \
  "$(find ref -name '*.png' | wc -l) tiles"
echo "sharc, 2 workers, wall: $(runs sharc2 1) s; median $(median sharc2 1) s; CPU median $(median sharc2 2) s"
echo "sharc, 1 worker, wall: $(runs sharc1 1) s; median $(median sharc1 1) s; CPU median $(median sharc1 2) s"
echo "last run's summary, 2 workers:"
sed 's/^/  /' sharc2.out
echo "last run's summary, 1 worker:"
sed 's/^/  /' sharc1.out
echo "reference / sharc (2 workers), medians: $(ratio "$(median reference 1)" "$(median sharc2 1)")x wall," \
  "$(ratio "$(median reference 2)" "$(median sharc2 2)")x CPU"
echo "speed-up 1 -> 2 workers, medians: $(ratio "$(median sharc1 1)" "$(median sharc2 1)")x wall"
echo "quality: $(/usr/bin/python3 "$here/../tests/e2e/tiles_compare.py" pyramid out2 ref 2 2>&1)"
png_bytes() { find "$1" -name '*.png' -printf '%s\n' | awk '{ s += $1 } END { printf "%.1f MB", s / 1e6 }'; }
echo "PNG: sharc $(png_bytes out2), gdal2tiles $(png_bytes ref) (its fully transparent tiles included)"
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
