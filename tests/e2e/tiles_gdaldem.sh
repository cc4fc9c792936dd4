#!/usr/bin/env bash
# `sharc hillshade` and `sharc color-relief` against gdaldem (Debian gdal-bin)
# on the built-in synthetic terrain, projected and geographic, with nodata
# (the sea): every variant within 1 grey level on at least 99.9 % of the
# pixels, nodata on exactly the same pixels, same georeferencing. Bad input
# gets one line on stderr naming the file (and line) and exit 1, with no
# output file left behind.
#
# usage: bash tests/e2e/tiles_gdaldem.sh PATH_TO_SHARC_BINARY
set -u

if [ $# -ne 1 ]; then
  echo "usage: $0 PATH_TO_SHARC_BINARY" >&2
  exit 2
fi
SHARC=$1
# shellcheck source=tests/e2e/harness.bash
. "$(dirname "$0")/harness.bash"
CMP="$(dirname "$0")/tiles_compare.py"
e2e_tmp tiles-gdaldem
trap e2e_cleanup EXIT

if ! command -v gdaldem >/dev/null || ! "$PY" -c 'from osgeo import gdal' 2>/dev/null; then
  echo "gdaldem or python3-gdal missing: install gdal-bin python3-gdal" >&2
  exit 1
fi

check "dem projected" 0 "$SHARC" dem "$TMP/utm.tif" --size 400 --workers 2
check "dem geographic" 0 "$SHARC" dem "$TMP/geo.tif" --size 300 --geographic
pycheck "the synthetic DEM has sea as nodata and land" -c "
from osgeo import gdal; import numpy as np
ds = gdal.Open('$TMP/utm.tif'); b = ds.GetRasterBand(1); a = b.ReadAsArray()
assert b.GetNoDataValue() == -9999, b.GetNoDataValue()
sea = (a == -9999).mean(); assert 0.05 < sea < 0.8, sea
assert a[a != -9999].max() > 1000, a.max()"

# compare NAME SHARC-ARGS... -- GDALDEM-ARGS...
compare() {
  local name=$1 ours=() ref=()
  shift
  while [ "$1" != -- ]; do ours+=("$1"); shift; done
  shift
  ref=("$@")
  check "$name: sharc" 0 "$SHARC" "${ours[@]}" "$TMP/ours.tif"
  if ! gdaldem "${ref[@]}" "$TMP/ref.tif" -q >"$TMP/gdaldem.log" 2>&1; then
    NAME="$name: gdaldem"; bad "gdaldem failed: $(cat "$TMP/gdaldem.log")"
    return
  fi
  NAME="$name: compare"
  pycheck "$name" "$CMP" raster "$TMP/ours.tif" "$TMP/ref.tif" 0.999
  rm -f "$TMP/ours.tif" "$TMP/ref.tif"
}

U=$TMP/utm.tif
G=$TMP/geo.tif
compare "hillshade default" hillshade "$U" -- hillshade "$U"
compare "hillshade z az alt" hillshade "$U" -z 3 -az 200 -alt 30 -- \
  hillshade "$U" -z 3 -az 200 -alt 30
compare "hillshade combined" hillshade "$U" -combined --workers 1 -- \
  hillshade "$U" -combined
compare "hillshade zevenbergen-thorne" hillshade "$U" -alg ZevenbergenThorne -- \
  hillshade "$U" -alg ZevenbergenThorne
compare "hillshade zevenbergen-thorne combined edges" hillshade "$U" \
  -alg zevenbergenthorne -combined -compute_edges -- \
  hillshade "$U" -alg ZevenbergenThorne -combined -compute_edges
compare "hillshade zevenbergen-thorne multidirectional" hillshade "$U" \
  -alg ZevenbergenThorne -multidirectional -z 2 -- \
  hillshade "$U" -alg ZevenbergenThorne -multidirectional -z 2
compare "hillshade igor" hillshade "$U" -igor -z 3 -az 200 -- \
  hillshade "$U" -igor -z 3 -az 200
compare "hillshade igor zevenbergen-thorne" hillshade "$U" -igor \
  -alg ZevenbergenThorne -- hillshade "$U" -igor -alg ZevenbergenThorne
compare "hillshade igor geographic" hillshade "$G" -igor -s 111120 -- \
  hillshade "$G" -igor -s 111120
check "hillshade -igor with -alt is refused, as by gdaldem" 2 "$SHARC" \
  hillshade "$U" "$TMP/no.tif" -igor -alt 30
check "hillshade -alg other is refused" 2 "$SHARC" \
  hillshade "$U" "$TMP/no.tif" -alg Wilson
compare "hillshade multidirectional" hillshade "$U" -multidirectional -- \
  hillshade "$U" -multidirectional
compare "hillshade compute_edges" hillshade "$U" -compute_edges -z 2 -- \
  hillshade "$U" -compute_edges -z 2
compare "hillshade geographic" hillshade "$G" -s 111120 -- \
  hillshade "$G" -s 111120
compare "hillshade geographic multidirectional" hillshade "$G" -s 111120 \
  -multidirectional -compute_edges -- hillshade "$G" -s 111120 \
  -multidirectional -compute_edges

cat >"$TMP/ramp.txt" <<'TABLE'
# a table using every form gdaldem accepts
nv 0 0 0 0
0 46 154 88
10% green 200
300,255,255,0
50% 160:82:45
2000	brown
90% grey
3000 white
TABLE
compare "color-relief" color-relief "$U" "$TMP/ramp.txt" -- \
  color-relief "$U" "$TMP/ramp.txt"
compare "color-relief alpha" color-relief "$U" "$TMP/ramp.txt" -alpha -- \
  color-relief "$U" "$TMP/ramp.txt" -alpha
compare "color-relief nearest geographic" color-relief "$G" "$TMP/ramp.txt" \
  -nearest_color_entry -alpha -- color-relief "$G" "$TMP/ramp.txt" \
  -nearest_color_entry -alpha

# .npy and raw float32 DEMs are mapped in place, with the georeferencing
# given on the command line: the same hillshade as from the GeoTIFF.
GT=$("$PY" -c "
from osgeo import gdal; import numpy as np
ds = gdal.Open('$U'); a = ds.ReadAsArray().astype(np.float32)
a.tofile('$TMP/utm.raw'); np.save('$TMP/utm.npy', a)
print(','.join(repr(v) for v in ds.GetGeoTransform()))")
check "hillshade from GeoTIFF" 0 "$SHARC" hillshade "$U" "$TMP/from-tif.tif"
check "hillshade from raw" 0 "$SHARC" hillshade "$TMP/utm.raw" "$TMP/from-raw.tif" \
  --raw-size 400x400 --geotransform "$GT" --crs EPSG:32633 --nodata -9999
pycheck "raw equals GeoTIFF" "$CMP" raster "$TMP/from-raw.tif" "$TMP/from-tif.tif" 1
check "hillshade from npy" 0 "$SHARC" hillshade "$TMP/utm.npy" "$TMP/from-npy.tif" \
  --geotransform "$GT" --crs EPSG:32633 --nodata -9999
pycheck "npy equals GeoTIFF" "$CMP" raster "$TMP/from-npy.tif" "$TMP/from-tif.tif" 1

# --- bad input ----------------------------------------------------------------

# bad_input NAME NEEDLE CMD ARGS...: exit 1, one line naming NEEDLE, no output.
bad_input() {
  local name=$1 needle=$2 cmd=$3
  shift 3
  fails "$name" 1 "$cmd" "$@"
  err_has "$needle"
  if compgen -G "$TMP/out*" >/dev/null; then bad "output left behind"; else ok; fi
}
echo "not a raster" >"$TMP/text.tif"
"$PY" "$CMP" nogeo "$TMP/nogeo.tif"
printf '0 0 0 0\n100 12 34\n' >"$TMP/badtable.txt"
bad_input "missing DEM" "$TMP/none.tif: " hillshade "$TMP/none.tif" "$TMP/out.tif"
bad_input "not a raster" "$TMP/text.tif: not a raster" hillshade \
  "$TMP/text.tif" "$TMP/out.tif"
bad_input "no georeferencing" "$TMP/nogeo.tif: has no georeferencing" \
  hillshade "$TMP/nogeo.tif" "$TMP/out.tif"
bad_input "malformed colour table" "$TMP/badtable.txt: line 2: " \
  color-relief "$U" "$TMP/badtable.txt" "$TMP/out.tif"
bad_input "unwritable output" "$TMP/nodir/out.tif: " hillshade "$U" \
  "$TMP/nodir/out.tif"
bad_input "raw without georeferencing" "$TMP/utm.raw: has no georeferencing" \
  hillshade "$TMP/utm.raw" "$TMP/out.tif" --raw-size 400x400
bad_input "raw too short" "$TMP/utm.raw: is too short" hillshade \
  "$TMP/utm.raw" "$TMP/out.tif" --raw-size 500x400 --geotransform "$GT" \
  --crs EPSG:32633
fails "bad option value" 2 hillshade "$U" "$TMP/out.tif" -alt 100

finish
