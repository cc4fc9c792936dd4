#!/usr/bin/env bash
# `sharc report` end to end on hand-made traces: the summary's exact
# figures, an SVG that is well-formed XML with one bar per chunk, Chrome
# trace events with one complete event per chunk at the right time, the
# merging of sub-pixel chunks in huge traces, and one-line errors naming the
# file and line for bad input (exit 1) and bad usage (exit 2).
#
# usage: bash tests/e2e/report.sh PATH_TO_SHARC_BINARY
# Needs /usr/bin/python3 (xml.etree and json from its standard library).
set -u

if [ $# -ne 1 ]; then
  echo "usage: $0 PATH_TO_SHARC_BINARY" >&2
  exit 2
fi
SHARC=$1
# shellcheck source=tests/e2e/harness.bash
. "$(dirname "$0")/harness.bash"
e2e_tmp report
trap e2e_cleanup EXIT

out_line() { # the exact line is on stdout
  if grep -qxF -- "$1" "$OUT"; then ok; else bad "stdout lacks the line '$1'"; fi
}
# err_is TEXT: stderr is exactly one line, and it is TEXT.
err_is() {
  if [ "$(wc -l <"$ERR")" -eq 1 ] && [ "$(cat "$ERR")" = "$1" ]; then ok; else
    bad "stderr is not exactly the line '$1'"
  fi
}
# err_starts PREFIX: stderr is one line starting with PREFIX.
err_starts() {
  local text
  text=$(cat "$ERR")
  if [ "$(wc -l <"$ERR")" -eq 1 ] && [[ $text == "$1"* ]]; then ok; else
    bad "stderr is not one line starting with '$1'"
  fi
}

# --- a hand-made trace --------------------------------------------------------
# Two workers, n = 100, makespan 10 ms. Worker 0: [0,40) 0-4 ms and [40,45)
# 4-8 ms: busy 8 ms. Worker 1: [50,80) 0-3 ms, [80,100) 3.5-6 ms, then
# [45,50) stolen from worker 0 at 6.5-9.5 ms after 0.5 ms of search: busy
# 8.5 ms, search 0.5 ms, idle 1 ms. Imbalance (8.5 - 8.25) / 8.5 = 2.9%.
T1=$TMP/t1.trace
cat >"$T1" <<'EOF'
# sharc trace 1
# hand-made: two workers, one steal
kernel synthetic
n 100
workers 2
schedule auto
a_future_key with several words
makespan_ns 10000000

c 0 0 4000000 0 40 -1 0
c 1 0 3000000 50 80 -1 0
c 1 3500000 6000000 80 100 -1 0
c 0 4000000 8000000 40 45 -1 0
c 1 6500000 9500000 45 50 0 500000
EOF

check "--help prints the usage" 0 "$SHARC" report --help
out_has "usage: sharc report"
err_empty

check "sharc --help lists report" 0 "$SHARC" --help
out_has "  report "

check "summary of a hand-made trace" 0 "$SHARC" report "$T1"
err_empty
out_line "kernel:    synthetic"
out_line "schedule:  auto"
out_line "n:         100 (chunks cover 100 indices)"
out_line "workers:   2"
out_line "makespan:  10.000 ms (10000000 ns)"
out_line "chunks:    5, 1 stolen"
out_line "imbalance: 2.9%"
out_line "     0          2        0           45        8.000        0.000        2.000    80.0"
out_line "     1          3        1           55        8.500        0.500        1.000    85.0"

# Lines in another order (chunks first, keys after): the same summary.
T2=$TMP/t2.trace
{
  echo "# sharc trace 1"
  grep '^c ' "$T1" | tac
  grep -v '^c \|^#\|^a_future' "$T1"
} >"$T2"
check "lines in any order give the same summary" 0 "$SHARC" report "$T2"
out_line "imbalance: 2.9%"
out_line "     1          3        1           55        8.500        0.500        1.000    85.0"

# --- SVG ----------------------------------------------------------------------
check "--svg writes the timeline and prints nothing" 0 "$SHARC" report "$T1" --svg "$TMP/t1.svg"
out_empty
err_empty
pycheck "SVG is well-formed with one bar per chunk" - "$TMP/t1.svg" <<'EOF'
import sys, xml.etree.ElementTree as ET
root = ET.parse(sys.argv[1]).getroot()
ns = "{http://www.w3.org/2000/svg}"
rects = root.iter(ns + "rect")
kinds = {}
for r in rects:
    kinds.setdefault(r.get("class"), []).append(r)
own, stolen = len(kinds.get("own", [])), len(kinds.get("stolen", []))
assert (own, stolen) == (4, 1), (own, stolen)
assert len(kinds.get("search", [])) == 1, "one search segment"
assert len(kinds.get("lane", [])) == 2, "one lane per worker"
# adjacent chunks of a lane alternate shades
w0 = [r for r in kinds["own"] if r.get("y") == kinds["lane"][0].get("y")]
assert len(w0) == 2 and w0[0].get("fill") != w0[1].get("fill")
# the stolen chunk has a colour of its own
assert kinds["stolen"][0].get("fill") not in {r.get("fill") for r in kinds["own"]}
summary = [t for t in root.iter(ns + "text") if t.get("class") == "summary"][0].text
for word in ("synthetic", "auto", "2 workers", "10.000 ms", "imbalance 2.9%"):
    assert word in summary, (word, summary)
ticks = [l for l in root.iter(ns + "line") if l.get("class") == "tick"]
assert len(ticks) >= 5, "time axis ticks"
EOF

# --- Chrome trace events ------------------------------------------------------------
check "--chrome writes trace events" 0 "$SHARC" report "$T1" --chrome "$TMP/t1.json"
out_empty
pycheck "Chrome JSON: one X event per chunk with exact ts and dur" - "$TMP/t1.json" "$T1" <<'EOF'
import json, sys
doc = json.load(open(sys.argv[1]))
events = [e for e in doc["traceEvents"] if e["ph"] == "X"]
chunks = [l.split() for l in open(sys.argv[2]) if l.startswith("c ")]
assert len(events) == len(chunks) == 5, len(events)
want = {}
for c in chunks:
    w, s, e, b, en, v, srch = map(int, c[1:])
    want["[%d,%d)" % (b, en)] = (w, s / 1000, (e - s) / 1000, v, srch)
for ev in events:
    w, ts, dur, v, srch = want.pop(ev["name"])
    assert (ev["tid"], ev["pid"]) == (w, 0), ev
    assert abs(ev["ts"] - ts) < 1e-9 and abs(ev["dur"] - dur) < 1e-9, ev
    assert ev["args"]["victim"] == v and ev["args"]["search_ns"] == srch, ev
assert not want
EOF

check "--svg and --chrome together" 0 "$SHARC" report "$T1" --svg "$TMP/b.svg" --chrome "$TMP/b.json"
if [ -s "$TMP/b.svg" ] && [ -s "$TMP/b.json" ]; then ok; else bad "both files written"; fi

# --- outputs replace nothing but a regular file; a FIFO is never waited on -----------
mkfifo "$TMP/out.fifo"
ln -s "$TMP/target.txt" "$TMP/out.link"
echo "keep me" >"$TMP/target.txt"
mkdir "$TMP/out.dir"
fails "--svg onto a FIFO is refused" 1 report "$T1" --svg "$TMP/out.fifo"
err_has "not a regular file"
fails "--svg onto a symbolic link is refused" 1 report "$T1" --svg "$TMP/out.link"
err_has "symbolic link"
if [ "$(cat "$TMP/target.txt")" = "keep me" ] && [ -L "$TMP/out.link" ] &&
   [ -p "$TMP/out.fifo" ]; then ok; else bad "a refused output was touched"; fi
fails "--chrome onto a directory is refused" 1 report "$T1" --chrome "$TMP/out.dir"
err_has "is a directory"
echo old >"$TMP/old.svg"
check "--svg replaces a regular file" 0 "$SHARC" report "$T1" --svg "$TMP/old.svg"
if grep -q "<svg" "$TMP/old.svg"; then ok; else bad "old.svg not replaced"; fi
if ! ls "$TMP" | grep -q "sharc-tmp"; then ok; else bad "temporary files left"; fi
check "a FIFO as the trace is refused at once" 1 timeout 20 "$SHARC" report "$TMP/out.fifo"
err_has "not a regular file"

# --- a huge trace: sub-pixel chunks merged, the SVG stays small ---------------------
"$PY" - "$TMP/big.trace" <<'EOF'
import sys
W, per = 8, 40000  # 320k chunks of 100 ns, 1000 indices each
with open(sys.argv[1], "w") as f:
    f.write("# sharc trace 1\nkernel empty\nn %d\nworkers %d\nschedule dynamic:1000\n"
            "makespan_ns %d\n" % (W * per * 1000, W, per * 100 + 100))
    for w in range(W):
        for k in range(per):
            i = (w * per + k) * 1000
            f.write("c %d %d %d %d %d -1 0\n" % (w, k * 100 + 50, k * 100 + 100, i, i + 1000))
EOF
check "a huge trace draws quickly" 0 "$SHARC" report "$TMP/big.trace" --svg "$TMP/big.svg"
pycheck "huge-trace SVG is well-formed, merged and under 4 MB" - "$TMP/big.svg" <<'EOF'
import os, sys, xml.etree.ElementTree as ET
size = os.path.getsize(sys.argv[1])
assert size < 4 << 20, size
root = ET.parse(sys.argv[1]).getroot()
merged = [r for r in root.iter("{http://www.w3.org/2000/svg}rect") if r.get("class") == "merged"]
assert merged, "sub-pixel chunks are merged"
EOF
check "a huge trace summarizes" 0 "$SHARC" report "$TMP/big.trace"
out_line "chunks:    320000, 0 stolen"

# --- bad input: exit 1, one line naming the file and the line -----------------------
bad_trace() { # LINES...: the bad trace, one argument per line
  printf '%s\n' "$@" >"$TMP/bad.trace"
}

bad_trace "# sharc trace 2" "n 10" "workers 1"
check "an unknown header is refused" 1 "$SHARC" report "$TMP/bad.trace"
out_empty
err_starts "sharc report: $TMP/bad.trace:1: not a sharc trace"

bad_trace "n 10" "workers 1"
check "a file without the header is refused" 1 "$SHARC" report "$TMP/bad.trace"
err_starts "sharc report: $TMP/bad.trace:1: "

bad_trace "# sharc trace 1" "n 10" "workers 2" "c 0 0 5 0 5 -1 0" "c 2 0 5 5 10 -1 0"
check "worker out of range" 1 "$SHARC" report "$TMP/bad.trace"
out_empty
err_is "sharc report: $TMP/bad.trace:5: worker 2 is out of range (the trace has 2 workers)"

bad_trace "# sharc trace 1" "n 10" "workers 2" "c 0 0 5 6 5 -1 0"
check "END below BEGIN" 1 "$SHARC" report "$TMP/bad.trace"
err_starts "sharc report: $TMP/bad.trace:4: index range [6, 5) is empty or reversed"

bad_trace "# sharc trace 1" "n 10" "workers 2" "c 0 0 5 5 5 -1 0"
check "an empty range" 1 "$SHARC" report "$TMP/bad.trace"
err_starts "sharc report: $TMP/bad.trace:4: index range [5, 5)"

bad_trace "# sharc trace 1" "n 10" "workers 2" "c 0 9 5 0 5 -1 0"
check "END_NS before START_NS" 1 "$SHARC" report "$TMP/bad.trace"
err_is "sharc report: $TMP/bad.trace:4: END_NS 5 is before START_NS 9"

bad_trace "# sharc trace 1" "n 10" "workers 2" "c 0 0 5 0 5 -1 0" "c 1 0 5 5"
check "a truncated chunk line" 1 "$SHARC" report "$TMP/bad.trace"
err_starts "sharc report: $TMP/bad.trace:5: a chunk line has 7 numbers"

printf '# sharc trace 1\nn 10\nworkers 2\nc 1 0 5 0 5 -1 0\nc 0 0 5 5 1' >"$TMP/bad.trace"
check "a file cut in the middle of its last line" 1 "$SHARC" report "$TMP/bad.trace"
err_starts "sharc report: $TMP/bad.trace:5: a chunk line has 7 numbers"

bad_trace "# sharc trace 1" "n 10" "workers 2" "c 0 0 5 0 11 -1 0"
check "END beyond n" 1 "$SHARC" report "$TMP/bad.trace"
err_is "sharc report: $TMP/bad.trace:4: END 11 is beyond n = 10"

bad_trace "# sharc trace 1" "n 10" "workers 2" "c 0 0 5 0 5 x 0"
check "a word where a number belongs" 1 "$SHARC" report "$TMP/bad.trace"
err_starts "sharc report: $TMP/bad.trace:4: VICTIM 'x' is not a number"

bad_trace "# sharc trace 1" "n 10" "workers 2" "c 0 0 5 0 5 -1 0" "c 1 0 5 5 10 7 0"
check "victim out of range" 1 "$SHARC" report "$TMP/bad.trace"
err_starts "sharc report: $TMP/bad.trace:5: victim 7 is out of range"

bad_trace "# sharc trace 1" "n 10" "workers 99999999"
check "a worker count beyond the bound" 1 "$SHARC" report "$TMP/bad.trace"
err_starts "sharc report: $TMP/bad.trace:3: 'workers' takes one number"

bad_trace "# sharc trace 1" "n 10" "workers 2" "c 0 0 5 0 5 -1 0" "bogus 3"
check "an unknown key after the chunks" 1 "$SHARC" report "$TMP/bad.trace"
err_starts "sharc report: $TMP/bad.trace:5: unknown key 'bogus'"

bad_trace "# sharc trace 1" "n 10" "c 0 0 5 0 5 -1 0"
check "no worker count" 1 "$SHARC" report "$TMP/bad.trace"
err_starts "sharc report: $TMP/bad.trace:3: the trace never gives 'workers'"

bad_trace "# sharc trace 1" "n 10" "workers 2" "makespan_ns 4" "c 0 0 5 0 5 -1 0"
check "a chunk after the makespan" 1 "$SHARC" report "$TMP/bad.trace"
err_starts "sharc report: $TMP/bad.trace:5: END_NS 5 is after makespan_ns 4"

: >"$TMP/empty.trace"
check "an empty file" 1 "$SHARC" report "$TMP/empty.trace"
err_starts "sharc report: $TMP/empty.trace:1: empty file"

check "a missing file" 1 "$SHARC" report "$TMP/nonexistent.trace"
err_is "sharc report: $TMP/nonexistent.trace: No such file or directory"

check "an unwritable output" 1 "$SHARC" report "$T1" --svg "$TMP/no/such/dir/x.svg"
err_starts "sharc report: cannot write $TMP/no/such/dir/x.svg"

# --- usage errors: exit 2 ---------------------------------------------------------
check "no file" 2 "$SHARC" report
out_empty
err_starts "sharc report: expected one trace FILE"
check "two files" 2 "$SHARC" report "$T1" "$T1"
err_starts "sharc report: expected one trace FILE"
check "an unknown option" 2 "$SHARC" report "$T1" --frobnicate
err_starts "sharc report: unknown or incomplete option '--frobnicate'"
check "--svg without a file" 2 "$SHARC" report "$T1" --svg
err_starts "sharc report: unknown or incomplete option"

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
