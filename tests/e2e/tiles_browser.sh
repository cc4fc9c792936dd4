#!/usr/bin/env bash
# The Leaflet viewer of `sharc tiles` in headless Chromium: the output is
# served on 127.0.0.1 (a free port the server picks), index.html opens
# centred on the data, tiles load with no failed request and no script
# error, nothing is fetched from the network, and the screenshot is not
# blank (its pixels vary and differ from the page background).
#
# usage: bash tests/e2e/tiles_browser.sh PATH_TO_SHARC_BINARY
set -u

if [ $# -ne 1 ]; then
  echo "usage: $0 PATH_TO_SHARC_BINARY" >&2
  exit 2
fi
SHARC=$1
# shellcheck source=tests/e2e/harness.bash
. "$(dirname "$0")/harness.bash"
e2e_tmp tiles-browser
server=
cleanup() {
  [ -n "$server" ] && kill "$server" 2>/dev/null && wait "$server" 2>/dev/null
  e2e_cleanup
}
trap cleanup EXIT

CHROMIUM=$(command -v chromium || command -v chromium-browser || true)
if [ -z "$CHROMIUM" ]; then
  echo "chromium missing: install chromium" >&2
  exit 1
fi

check "tiles for the viewer" 0 "$SHARC" tiles "$TMP/map" --size 1024 --zoom 6-9 --quiet
if grep -q 'https\?://' "$TMP/map/index.html"; then
  NAME="viewer offline"; bad "index.html refers to the network"; else ok; fi

# The server prints its port once it listens: read that line, no sleeping.
mkfifo "$TMP/port"
(cd "$TMP/map" && exec "$PY" -u -c '
import http.server, socketserver, sys
class Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, fmt, *args):
        sys.stderr.write("%s\n" % (fmt % args))
with socketserver.TCPServer(("127.0.0.1", 0), Quiet) as s:
    print(s.server_address[1], flush=True)
    s.serve_forever()
' >"$TMP/port" 2>"$TMP/access.log") &
server=$!
port=
read -r -t 30 port <"$TMP/port"
if [ -z "$port" ]; then
  NAME="http server"; bad "no port"; finish
fi
url="http://127.0.0.1:$port/index.html"

browse() {
  timeout 90 "$CHROMIUM" --headless=new --no-sandbox --disable-gpu \
    --disable-dev-shm-usage --no-first-run --disable-extensions \
    --user-data-dir="$TMP/profile" --window-size=800,600 \
    --virtual-time-budget=8000 --enable-logging=stderr --v=0 "$@" "$url"
}

NAME="chromium dump-dom"
browse --dump-dom >"$TMP/dom.html" 2>"$TMP/chromium.log"
loaded=$(sed -n 's/.*data-tiles-loaded="\([0-9]*\)".*/\1/p' "$TMP/dom.html")
failed=$(sed -n 's/.*data-tiles-failed="\([0-9]*\)".*/\1/p' "$TMP/dom.html")
errors=$(sed -n 's/.*data-script-errors="\([0-9]*\)".*/\1/p' "$TMP/dom.html")
if [ "${loaded:-0}" -gt 0 ]; then ok; else bad "no tile loaded ($(head -c 300 "$TMP/chromium.log"))"; fi
if [ "${failed:-x}" = 0 ]; then ok; else bad "$failed tiles failed to load"; fi
if [ "${errors:-x}" = 0 ]; then ok; else bad "$errors script errors"; fi
if grep -E 'CONSOLE.*(Error|error|Failed)|Failed to load resource' "$TMP/chromium.log" >"$TMP/console.txt"; then
  bad "console errors: $(head -3 "$TMP/console.txt")"; else ok; fi
if grep -qE '" (4|5)[0-9][0-9] ' "$TMP/access.log"; then
  bad "requests failed: $(grep -E '" (4|5)[0-9][0-9] ' "$TMP/access.log" | head -3)"; else ok; fi

NAME="chromium screenshot"
(cd "$TMP" && browse --screenshot="$TMP/shot.png" >/dev/null 2>&1)
pycheck "the screenshot shows the map" -c "
from osgeo import gdal; import numpy as np
ds = gdal.Open('$TMP/shot.png'); a = ds.ReadAsArray().astype(float)[:3]
bg = np.array([0x8f, 0xb3, 0xd9], float)[:, None, None]
grey = a.mean(axis=0)
shown = np.abs(a - bg).max(axis=0) > 8
differs = shown.mean()
assert differs > 0.05, 'only %.3f of the pixels differ from the background' % differs
std = grey[shown].std()
assert std > 2, 'the tiles are flat: grey std %.2f' % std
print('%.3f of pixels show tiles, grey std %.1f' % (differs, std))"

finish
