#!/usr/bin/env bash
# `sharc tiles` against `gdaldem` + `gdal2tiles.py --xyz` (Debian gdal-bin,
# python3-gdal) on the synthetic terrain: the same z/x/y set once
# gdal2tiles' transparent tiles are left out, and every tile within 2 grey
# levels on average over the pixels opaque in both; projected (also with
# -multidirectional -z -alt, and -igor -alg ZevenbergenThorne) and
# geographic hillshade, and colour relief. The MBTiles output holds exactly
# the directory's tiles. Bad input: one line naming the file (and line),
# exit 1, and nothing left that looks like a pyramid.
#
# usage: bash tests/e2e/tiles_pyramid.sh PATH_TO_SHARC_BINARY
set -u

if [ $# -ne 1 ]; then
  echo "usage: $0 PATH_TO_SHARC_BINARY" >&2
  exit 2
fi
SHARC=$1
# shellcheck source=tests/e2e/harness.bash
. "$(dirname "$0")/harness.bash"
CMP="$(dirname "$0")/tiles_compare.py"
e2e_tmp tiles-pyramid
trap e2e_cleanup EXIT

if ! command -v gdal2tiles.py >/dev/null || ! command -v gdaldem >/dev/null; then
  echo "gdaldem or gdal2tiles.py missing: install gdal-bin python3-gdal" >&2
  exit 1
fi

gdal2tiles() {
  "$PY" "$(command -v gdal2tiles.py)" -q --xyz --processes=2 -w none "$@" \
    >"$TMP/g2t.log" 2>&1 || { NAME="gdal2tiles $*"; bad "$(cat "$TMP/g2t.log")"; }
}

check "dem projected" 0 "$SHARC" dem "$TMP/utm.tif" --size 1024
check "dem geographic" 0 "$SHARC" dem "$TMP/geo.tif" --size 800 --geographic

# projected hillshade, zooms 6-10
gdaldem hillshade -q "$TMP/utm.tif" "$TMP/utm-hs.tif"
gdal2tiles -z 6-10 "$TMP/utm-hs.tif" "$TMP/ref-utm"
check "tiles projected" 0 "$SHARC" tiles "$TMP/utm.tif" "$TMP/utm" --zoom 6-10 \
  --workers 2
out_has "zooms 6-10, 2 workers"
pycheck "projected pyramid vs gdal2tiles" "$CMP" pyramid "$TMP/utm" "$TMP/ref-utm" 2
if [ -f "$TMP/utm/index.html" ] && [ -f "$TMP/utm/leaflet/leaflet.js" ] &&
  [ -f "$TMP/utm/leaflet/images/layers.png" ]; then ok; else bad "viewer files missing"; fi
if compgen -G "$TMP/utm.partial-*" >/dev/null; then bad "temporary tree left"; else ok; fi

# hillshade options reach the tiles: multidirectional, -z, -alt
gdaldem hillshade -q -multidirectional -z 2 -alt 30 "$TMP/utm.tif" "$TMP/utm-md.tif"
gdal2tiles -z 8-9 "$TMP/utm-md.tif" "$TMP/ref-md"
check "tiles multidirectional" 0 "$SHARC" tiles "$TMP/utm.tif" "$TMP/md" --zoom 8-9 \
  -multidirectional -z 2 -alt 30
pycheck "multidirectional pyramid vs gdal2tiles" "$CMP" pyramid "$TMP/md" "$TMP/ref-md" 2

# -igor and -alg ZevenbergenThorne reach the tiles
gdaldem hillshade -q -igor -alg ZevenbergenThorne "$TMP/utm.tif" "$TMP/utm-igor.tif"
gdal2tiles -z 8-9 "$TMP/utm-igor.tif" "$TMP/ref-igor"
check "tiles igor zevenbergen-thorne" 0 "$SHARC" tiles "$TMP/utm.tif" "$TMP/igor" \
  --zoom 8-9 -igor -alg ZevenbergenThorne
pycheck "igor zevenbergen-thorne pyramid vs gdal2tiles" "$CMP" pyramid "$TMP/igor" \
  "$TMP/ref-igor" 2

# geographic hillshade (gdaldem -s 111120 is what sharc tiles uses for degrees)
gdaldem hillshade -q -s 111120 "$TMP/geo.tif" "$TMP/geo-hs.tif"
gdal2tiles -z 7-10 "$TMP/geo-hs.tif" "$TMP/ref-geo"
check "tiles geographic" 0 "$SHARC" tiles "$TMP/geo.tif" "$TMP/geo" --zoom 7-10
pycheck "geographic pyramid vs gdal2tiles" "$CMP" pyramid "$TMP/geo" "$TMP/ref-geo" 2

# colour relief with a transparent nv entry
cat >"$TMP/ramp.txt" <<'TABLE'
nv 0 0 0 0
0 46 154 88
10% green
50% 160 82 45
3000 white
TABLE
gdaldem color-relief -q -alpha "$TMP/utm.tif" "$TMP/ramp.txt" "$TMP/utm-cr.tif" \
  >/dev/null 2>&1
gdal2tiles -z 7-9 "$TMP/utm-cr.tif" "$TMP/ref-cr"
check "tiles colour relief" 0 "$SHARC" tiles "$TMP/utm.tif" "$TMP/cr" --zoom 7-9 \
  --color-relief "$TMP/ramp.txt"
pycheck "colour relief pyramid vs gdal2tiles" "$CMP" pyramid "$TMP/cr" "$TMP/ref-cr" 2

# MBTiles: the same tiles as the directory, opened by the sqlite3 tool
check "tiles mbtiles" 0 "$SHARC" tiles "$TMP/utm.tif" "$TMP/utm.mbtiles" \
  --zoom 6-10 --format mbtiles
pycheck "mbtiles vs directory" "$CMP" mbtiles "$TMP/utm.mbtiles" "$TMP/utm"
if command -v sqlite3 >/dev/null; then
  n_db=$(sqlite3 "$TMP/utm.mbtiles" 'select count(*) from tiles')
  n_dir=$(find "$TMP/utm" -name '*.png' -path '*/[0-9]*/*' | wc -l)
  if [ "$n_db" -eq "$n_dir" ] && [ "$n_db" -gt 0 ]; then ok; else
    NAME="sqlite3 count"; bad "$n_db tiles in the database, $n_dir files"; fi
  row=$(sqlite3 "$TMP/utm.mbtiles" "select value from metadata where name='maxzoom'")
  if [ "$row" = 10 ]; then ok; else NAME="sqlite3 maxzoom"; bad "maxzoom '$row'"; fi
else
  NAME="sqlite3"; bad "the sqlite3 tool is missing (install sqlite3)"
fi

# the built-in terrain needs no input
check "tiles default input" 0 "$SHARC" tiles "$TMP/synth" --size 512 --zoom 7-9
out_has "synthetic terrain -> $TMP/synth (xyz), zooms 7-9"

# a DEM smaller than a tile gets gdal2tiles' one zoom, not an empty range
check "tiles small DEM" 0 "$SHARC" tiles "$TMP/small" --size 64
out_has "zooms 6-6"

# --- bad input ------------------------------------------------------------------

# tiles_fails NAME NEEDLE OUT ARGS...: exit 1, one line naming NEEDLE, and
# neither OUT nor a temporary tree beside it.
tiles_fails() {
  local name=$1 needle=$2 out=$3
  shift 3
  fails "$name" 1 tiles "$@"
  err_has "$needle"
  if [ -e "$out" ] || compgen -G "$out.partial-*" >/dev/null ||
    compgen -G "$out.tmp-*" >/dev/null; then
    bad "output left behind"
  else ok; fi
}
echo "no raster here" >"$TMP/text.tif"
"$PY" "$CMP" nogeo "$TMP/nogeo.tif"
printf '0 0 0 0\n\n100 12 34 bad\n' >"$TMP/bad.txt"
tiles_fails "not a raster" "$TMP/text.tif: not a raster" "$TMP/o1" \
  "$TMP/text.tif" "$TMP/o1"
tiles_fails "no georeferencing" "$TMP/nogeo.tif: has no georeferencing" \
  "$TMP/o2" "$TMP/nogeo.tif" "$TMP/o2"
tiles_fails "malformed table" "$TMP/bad.txt: line 3: " "$TMP/o3" \
  "$TMP/utm.tif" "$TMP/o3" --color-relief "$TMP/bad.txt"
tiles_fails "too deep" "zoom 16 is too deep" "$TMP/o4" "$TMP/utm.tif" \
  "$TMP/o4" --zoom 5-16
tiles_fails "unwritable directory" "$TMP/ro/o5: cannot write there" \
  "$TMP/ro/o5" "$TMP/utm.tif" "$TMP/ro/o5" --zoom 6-7
tiles_fails "output not empty" "$TMP/utm: exists and is not an empty" \
  "$TMP/nothing" "$TMP/utm.tif" "$TMP/utm" --zoom 6-7
fails "empty zoom range" 2 tiles "$TMP/utm.tif" "$TMP/o6" --zoom 9-3
err_has "--zoom: the range 9-3 is empty"

finish
