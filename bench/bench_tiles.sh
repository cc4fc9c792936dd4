#!/usr/bin/env bash
# The tiles benchmark: the same pyramid from the same DEM by
#   gdaldem hillshade + gdal2tiles.py --processes=2 --xyz   (the reference)
#   sharc tiles --workers 2, and --workers 1                 (for the speed-up)
# side by side in one run, then the pyramids compared (same tile set, mean
# difference per tile). The DEM is the built-in synthetic terrain written
# as a Float32 GeoTIFF (not timed).
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

now() { date +%s.%N; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b - a }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }

echo "sharc tiles benchmark: ${SIZE}x${SIZE} synthetic DEM, zooms $ZOOMS, $(nproc) CPUs"
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
"$SHARC" dem dem.tif --size "$SIZE" >/dev/null
sync

t0=$(now)
gdaldem hillshade -q dem.tif hs.tif
t1=$(now)
/usr/bin/python3 "$(command -v gdal2tiles.py)" -q --processes=2 --xyz -z "$ZOOMS" hs.tif ref
t2=$(now)
ref_tiles=$(find ref -name '*.png' | wc -l)
echo "reference: gdaldem $(secs "$t0" "$t1") s + gdal2tiles $(secs "$t1" "$t2") s = $(secs "$t0" "$t2") s, $ref_tiles tiles"

t3=$(now)
"$SHARC" tiles dem.tif out2 --zoom "$ZOOMS" --workers 2 --quiet >run2.txt
t4=$(now)
"$SHARC" tiles dem.tif out1 --zoom "$ZOOMS" --workers 1 --quiet >run1.txt
t5=$(now)
echo "sharc, 2 workers: $(secs "$t3" "$t4") s (process wall)"
sed 's/^/  /' run2.txt
echo "sharc, 1 worker: $(secs "$t4" "$t5") s (process wall)"
sed 's/^/  /' run1.txt
echo "ratio reference / sharc (2 workers): $(ratio "$(secs "$t0" "$t2")" "$(secs "$t3" "$t4")")x"
echo "speed-up 1 -> 2 workers: $(ratio "$(secs "$t4" "$t5")" "$(secs "$t3" "$t4")")x"
echo "quality: $(/usr/bin/python3 "$here/../tests/e2e/tiles_compare.py" pyramid out2 ref 2 2>&1)"
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
