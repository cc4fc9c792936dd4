#!/usr/bin/env bash
# The sharc tool end to end: every command's output and exit status,
# including the error exits, which must print exactly one line on stderr
# ("sharc CMD: ...") and nothing on stdout.
#
# usage: bash tests/e2e/cli.sh PATH_TO_SHARC_BINARY
# Needs /usr/bin/python3 with NumPy (the python3 first on PATH may lack it).
set -u

if [ $# -ne 1 ]; then
  echo "usage: $0 PATH_TO_SHARC_BINARY" >&2
  exit 2
fi
SHARC=$1
# shellcheck source=tests/e2e/harness.bash
. "$(dirname "$0")/harness.bash"
e2e_tmp cli
trap e2e_cleanup EXIT

if ! "$PY" -c 'import json, numpy' 2>/dev/null; then
  NAME=setup
  STATUS=-
  bad "$PY cannot import json and numpy"
  echo "$pass passed, $fail failed"
  exit 1
fi

# --- top level --------------------------------------------------------------

check "sharc --help lists every command" 0 "$SHARC" --help
out_has "usage: sharc COMMAND"
for c in demo run topo info; do out_has "  $c "; done
err_empty

check "sharc -h is --help" 0 "$SHARC" -h
out_has "usage: sharc COMMAND"

check "sharc alone is a usage error" 2 "$SHARC"
out_empty
err_has "usage: sharc COMMAND"

check "unknown command is a usage error" 2 "$SHARC" frobnicate
err_one_line "sharc: "
err_has "frobnicate"
out_empty

check "--version prints the version" 0 "$SHARC" --version
if grep -qxE 'sharc [0-9]+\.[0-9]+\.[0-9]+' "$OUT" && [ "$(wc -l <"$OUT")" -eq 1 ]; then
  ok
else
  bad "stdout is not one line 'sharc X.Y.Z'"
fi
err_empty

for c in demo run topo info; do
  for h in --help -h; do
    check "sharc $c $h prints its usage" 0 "$SHARC" "$c" "$h"
    if head -n 1 "$OUT" | grep -q "^usage: sharc $c"; then ok; else bad "stdout does not start with 'usage: sharc $c'"; fi
    err_empty
  done
done
check "sharc run --help lists every kernel" 0 "$SHARC" run --help
for k in pi triad mandelbrot synthetic empty; do out_has "  $k "; done

# --- run: every kernel, verified, text and JSON -----------------------------

# Checks one `sharc run --json` document against what was asked for and
# against the schedule's documented chunking (include/sharc/schedule.h).
cat >"$TMP/check_run.py" <<'EOF'
import json, sys

path, kernel, n, workers, sched, verified = sys.argv[1:7]
n, workers = int(n), int(workers)
problems = []

def expect(cond, what):
    if not cond:
        problems.append(what)

try:
    with open(path) as f:
        doc = json.load(f)
except ValueError as e:
    sys.exit("stdout is not one JSON document: %s" % e)

res, rep = doc.get("result"), doc.get("report")
if not isinstance(rep, dict):
    sys.exit("no report object")
expect(isinstance(res, dict) and res.get("app") == kernel,
       "result object for %s missing: %r" % (kernel, res))
expect(doc.get("verified") is (verified == "1"), "verified is %r" % doc.get("verified"))
expect(rep.get("kernel") == kernel, "report.kernel %r" % rep.get("kernel"))
expect(rep.get("n") == n, "report.n %r != %d" % (rep.get("n"), n))
expect(rep.get("status") == 0 and rep.get("status_name") == "SHARC_OK",
       "status %r %r" % (rep.get("status"), rep.get("status_name")))
expect(rep.get("error") == "", "error %r" % rep.get("error"))
expect(rep.get("workers") == workers, "report.workers %r" % rep.get("workers"))
expect(rep.get("indices") == n, "report.indices %r != %d" % (rep.get("indices"), n))

pw = rep.get("per_worker", [])
expect(len(pw) == workers, "per_worker has %d entries" % len(pw))
expect([w.get("worker") for w in pw] == list(range(len(pw))), "worker ids not 0..W-1")
pids = [w.get("pid") for w in pw]
expect(all(isinstance(p, int) and p > 0 for p in pids) and len(set(pids)) == len(pids),
       "worker pids not distinct: %r" % pids)
idx = [w.get("indices", 0) for w in pw]
chunks = [w.get("chunks", 0) for w in pw]
expect(sum(idx) == n, "per-worker indices sum to %d, not %d" % (sum(idx), n))
expect(sum(chunks) == rep.get("chunks"),
       "per-worker chunks sum to %d, report.chunks %r" % (sum(chunks), rep.get("chunks")))

kind, _, k = sched.partition(":")
k = int(k) if k else 0
# Schedules that size their own chunks print no smallest chunk of 1.
if (kind == "static" and k == 0) or (kind in ("auto", "fac2", "wf") and k <= 1):
    want_name = kind
else:
    want_name = "%s:%d" % (kind, max(k, 1))
expect(rep.get("schedule") == want_name, "schedule %r, expected %r" % (rep.get("schedule"), want_name))
if kind == "auto":
    # Chunks follow measured times (and a fast worker may steal a slow
    # one's whole share): only bounds are fixed. No chunk is empty.
    lo = min(n, 1)
    expect(lo <= rep.get("chunks") <= n,
           "auto made %r chunks, expected %d..%d" % (rep.get("chunks"), lo, n))
elif kind == "dynamic":
    c = -(-n // max(k, 1))
    expect(rep.get("chunks") == c, "dynamic:%d made %r chunks, expected %d" % (k, rep.get("chunks"), c))
elif kind == "static" and k == 0:
    # One contiguous block per worker: sizes differ by at most one.
    c = min(n, workers)
    expect(rep.get("chunks") == c, "static made %r chunks, expected %d" % (rep.get("chunks"), c))
    expect(all(x <= 1 for x in chunks), "static gave a worker several chunks: %r" % chunks)
    expect(all(x in (n // workers, -(-n // workers)) for x in idx), "static blocks uneven: %r" % idx)
elif kind == "static":
    # Blocks of k dealt round-robin: block j goes to worker j % W.
    c = -(-n // k)
    want_chunks = [len(range(w, c, workers)) for w in range(workers)]
    want_idx = [sum(min(k, n - j * k) for j in range(w, c, workers)) for w in range(workers)]
    expect(rep.get("chunks") == c, "static:%d made %r chunks, expected %d" % (k, rep.get("chunks"), c))
    expect(chunks == want_chunks, "static:%d chunks per worker %r, expected %r" % (k, chunks, want_chunks))
    expect(idx == want_idx, "static:%d indices per worker %r, expected %r" % (k, idx, want_idx))
else:
    # Guided: chunks of ceil(remaining / W), at least k: the count is fixed.
    c, rem = 0, n
    while rem > 0:
        rem -= min(rem, max(-(-rem // workers), max(k, 1)))
        c += 1
    expect(rep.get("chunks") == c, "%s made %r chunks, expected %d" % (sched, rep.get("chunks"), c))

if problems:
    sys.exit("; ".join(problems))
EOF

# Small per-kernel work so that the whole matrix takes a few seconds.
declare -A N=([pi]=300 [triad]=1000 [mandelbrot]=24 [synthetic]=400 [empty]=1000)
declare -A P=([pi]="seed=7" [triad]="scalar=2.5" [mandelbrot]="width=64,maxiter=40"
  [synthetic]="dist=exponential,work=50" [empty]="")

# run_args KERNEL: the kernel, its n and its parameters as arguments.
run_args() {
  local k=$1
  RUN=("$SHARC" run "$k" --n "${N[$k]}")
  if [ -n "${P[$k]}" ]; then RUN+=(-p "${P[$k]}"); fi
}

for k in pi triad mandelbrot synthetic empty; do
  run_args "$k"
  n=${N[$k]}
  for w in 2 3; do
    check "run $k text, $w workers, verified" 0 "${RUN[@]}" --workers "$w" --schedule dynamic:7 --verify
    out_has "verified: identical to a sequential run"
    out_has "job '$k': n=$n schedule=dynamic:7 workers=$w "
    out_has "(array payloads: 0 B)"
    err_empty
    for s in auto auto:4 static static:5 dynamic:7 guided guided:3; do
      check "run $k --json, $w workers, $s, verified" 0 "${RUN[@]}" --workers "$w" --schedule "$s" --verify --json
      pycheck "JSON report" "$TMP/check_run.py" "$OUT" "$k" "$n" "$w" "$s" 1
      err_empty
    done
  done
done

check "run without --verify says verified false" 0 "$SHARC" run empty --n 50 --workers 2 --json
pycheck "JSON report" "$TMP/check_run.py" "$OUT" empty 50 2 auto 0
check "run without --verify prints no verified line" 0 "$SHARC" run empty --n 50 --workers 2
if grep -q '^verified' "$OUT"; then bad "stdout has a verified line"; else ok; fi

check "run n=0 is an empty, successful job" 0 "$SHARC" run pi --n 0 --workers 2 --verify --json
pycheck "JSON report" "$TMP/check_run.py" "$OUT" pi 0 2 auto 1
check "run with fewer indices than workers" 0 "$SHARC" run pi --n 2 --workers 3 --schedule static --verify --json
pycheck "JSON report" "$TMP/check_run.py" "$OUT" pi 2 3 static 1
check "run --n 1e3 means 1000" 0 "$SHARC" run empty --n 1e3 --workers 2 --schedule dynamic:100 --json
pycheck "JSON report" "$TMP/check_run.py" "$OUT" empty 1000 2 dynamic:100 0
check "run --n 2^10 means 1024" 0 "$SHARC" run empty --n 2^10 --workers 2 --schedule dynamic:100 --json
pycheck "JSON report" "$TMP/check_run.py" "$OUT" empty 1024 2 dynamic:100 0
check "run --workers=3 --n=64 (long options with =)" 0 "$SHARC" run empty --workers=3 --n=64 --schedule=dynamic:8 --json
pycheck "JSON report" "$TMP/check_run.py" "$OUT" empty 64 3 dynamic:8 0

# --- run: pi does not depend on workers or schedule -------------------------
# Every index draws its own Philox stream, so the estimate must be the same
# text whichever worker computes which index.

# estimate: the fields of the JSON result that must not change (the report
# after it has timings and pids).
estimate() {
  sed 's/,"verified":.*//' "$OUT" | grep -oE '"(samples|estimate|stderr|error)":[^,}]*' | tr '\n' ' '
}
check "pi reference run, 1 worker, static" 0 "$SHARC" run pi --n 1500 --workers 1 --schedule static --json
ref=$(estimate)
if [[ $ref == *'"estimate":'* ]]; then ok; else bad "no estimate in the JSON result"; fi
for w in 1 2 5; do
  for s in static dynamic:3 guided; do
    check "pi, $w workers, $s" 0 "$SHARC" run pi --n 1500 --workers "$w" --schedule "$s" --json
    got=$(estimate)
    if [ "$got" = "$ref" ]; then ok; else bad "result '$got' differs from '$ref'"; fi
  done
done
check "pi seed parameter changes the estimate" 0 "$SHARC" run pi --n 1500 --workers 2 -p seed=43 --json
if [ "$(estimate)" != "$ref" ]; then ok; else bad "seed=43 gave the seed=42 estimate"; fi

# --- run: error exits -------------------------------------------------------

fails "run unknown kernel" 2 run nosuchkernel --n 10
err_has "nosuchkernel"
fails "run bad --schedule" 2 run pi --n 10 --schedule sometimes
err_has "sometimes"
fails "run --schedule dynamic:0" 2 run pi --n 10 --schedule dynamic:0
fails "run --schedule static: (empty K)" 2 run pi --n 10 --schedule static:
fails "run --workers 0" 2 run pi --n 10 --workers 0
fails "run --workers abc" 2 run pi --n 10 --workers abc
fails "run --n abc" 2 run pi --n abc
err_has "abc"
fails "run --n -5" 2 run pi --n -5
fails "run --n without a value" 2 run pi --n
fails "run unknown option" 2 run pi --n 10 --frobnicate
err_has "--frobnicate"
fails "run missing KERNEL" 2 run --n 10
fails "run two KERNELs" 2 run pi triad --n 10
fails "run pi unknown parameter" 1 run pi --n 10 --workers 2 -p nope=1
err_has "nope"
fails "run pi bad seed" 1 run pi --n 10 --workers 2 -p seed=abc
err_has "seed"
fails "run triad bad scalar" 1 run triad --n 10 --workers 2 -p scalar=x
err_has "scalar"
fails "run mandelbrot width=0" 1 run mandelbrot --n 10 --workers 2 -p width=0
err_has "width"
fails "run synthetic bad dist" 1 run synthetic --n 10 --workers 2 -p dist=zipf
err_has "dist"
fails "run empty takes no parameters" 1 run empty --n 10 --workers 2 --param x=1
err_has "'x'"

# --- topo -------------------------------------------------------------------

# table_rows: the worker table's rows, "WORKER PU CORE NUMA L3" per line.
table_rows() {
  awk 'seen && NF == 5 { print } $1 == "worker" && $2 == "PU" { seen = 1 }' "$OUT"
}

check "topo on this machine" 0 "$SHARC" topo
out_has "Machine"
out_has "placement:"
err_empty
rows=$(table_rows | wc -l)
planned=$(sed -n 's/^placement: \([0-9]*\) worker.*/\1/p' "$OUT")
if [ "$rows" -ge 1 ] && [ "$rows" = "$planned" ]; then ok; else bad "table has $rows rows, placement line says '$planned'"; fi

check "topo --workers 3 on this machine" 0 "$SHARC" topo --workers 3
out_has "placement: 3 workers"
if [ "$(table_rows | awk '{print $1}' | tr '\n' ' ')" = "0 1 2 " ]; then ok; else bad "table rows are not workers 0 1 2"; fi

SYN="pack:2 numa:2 core:8 pu:1"
check "topo synthetic, 4 workers on 4 nodes" 0 "$SHARC" topo --synthetic "$SYN" --workers 4
out_has "placement: 4 workers on 32 usable PUs in 4 NUMA nodes"
out_count "NUMA node P#" 4
err_empty
# One worker per node, in node order; in this topology PU p is core p and
# lies in node p / 8.
got=$(table_rows | awk '{ printf "%s:%s ", $1, $4; if ($3 != $2 || int($2 / 8) != $4) bad = 1 }
  END { if (bad) printf "inconsistent" }')
if [ "$got" = "0:0 1:1 2:2 3:3 " ]; then ok; else bad "worker:NUMA rows are '$got', expected '0:0 1:1 2:2 3:3 '"; fi
pus=$(table_rows | awk '{print $2}' | sort -u | wc -l)
if [ "$pus" -eq 4 ]; then ok; else bad "4 workers share $pus distinct PUs"; fi

check "topo synthetic, 8 workers: two per node, compact" 0 "$SHARC" topo -s "$SYN" -w 8
got=$(table_rows | awk '{ printf "%s:%s ", $2, $4 }')
if [ "$got" = "0:0 1:0 8:1 9:1 16:2 17:2 24:3 25:3 " ]; then ok; else bad "PU:NUMA rows are '$got'"; fi

check "topo synthetic SMT: one PU per core first" 0 "$SHARC" topo -s "pack:1 core:2 pu:2" -w 2
cores=$(table_rows | awk '{print $3}' | sort -u | wc -l)
if [ "$cores" -eq 2 ]; then ok; else bad "2 workers on $cores distinct cores"; fi

check "topo synthetic oversubscribed" 0 "$SHARC" topo -s "pack:1 core:2 pu:1" -w 3
out_has "oversubscribed: 3 workers share 2 PUs"

check "topo bad --synthetic" 1 "$SHARC" topo --synthetic "not a topology"
err_one_line "sharc topo: "
out_empty
fails "topo --workers abc" 2 topo --workers abc
fails "topo --workers -1" 2 topo --workers -1
fails "topo --workers without a value" 2 topo --workers
fails "topo unknown option" 2 topo --frobnicate
fails "topo stray argument" 2 topo extra

# --- info -------------------------------------------------------------------
# NumPy writes the files and says what each header holds: dtype.str, shape,
# order, version, data offset and file size, one tab-separated line per file
# (descr may hold '|'), for the tool's output to be compared against.

NPY=$TMP/npy
mkdir "$NPY"
cat >"$TMP/make_npy.py" <<'EOF'
import os, struct, sys
import numpy as np

d = sys.argv[1]
fmt = np.lib.format

def write(name, a, version=None):
    path = os.path.join(d, name)
    with open(path, "wb") as f:
        fmt.write_array(f, a, version=version, allow_pickle=True)
    with open(path, "rb") as f:
        v = fmt.read_magic(f)
        # 3.0 differs from 2.0 only in allowing UTF-8 in the header.
        read = fmt.read_array_header_1_0 if v == (1, 0) else fmt.read_array_header_2_0
        shape, fortran, dtype = read(f)
        offset = f.tell()
    shape_text = str(tuple(shape))  # Python's spelling: (), (5,), (2, 0, 3)
    print("\t".join([name, dtype.str, shape_text, "Fortran" if fortran else "C",
                    "%d.%d" % v, str(offset), str(os.path.getsize(path))]))

write("f64_c_2d.npy", np.arange(12.0).reshape(3, 4))
write("i16_fortran.npy", np.asfortranarray(np.arange(6, dtype=np.int16).reshape(2, 3)))
write("zero_d.npy", np.array(2.5))
write("empty_1d.npy", np.zeros(0, dtype=np.uint8))
write("empty_3d.npy", np.zeros((2, 0, 3), dtype=np.float32))
write("v2.npy", np.arange(5, dtype=np.int32), version=(2, 0))
write("v3.npy", np.arange(4, dtype=np.complex128).reshape(2, 2), version=(3, 0))
write("object.npy", np.array([1, "a", None], dtype=object))
write("big_endian.npy", np.arange(3, dtype=">f4"))

good = open(os.path.join(d, "f64_c_2d.npy"), "rb").read()
def bad(name, data):
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)
bad("bad_magic.npy", b"\x93NUMPZ" + good[6:])
bad("text.npy", b"hello, world\n" * 20)
bad("empty_file.npy", b"")
bad("truncated_header.npy", good[:40])
bad("truncated_data.npy", good[:-8])
bad("header_len_lies.npy", good[:8] + struct.pack("<H", 60000) + good[10:])
hdr = b"not a python dict".ljust(118 - 1) + b"\n"
bad("header_not_dict.npy", good[:10] + hdr + good[128:])
bad("bad_version.npy", good[:6] + b"\x09\x00" + good[8:])
EOF
if "$PY" "$TMP/make_npy.py" "$NPY" >"$TMP/npy.list" 2>"$TMP/npy.err"; then
  ok
else
  NAME="make .npy files with NumPy"
  STATUS=-
  bad "$(cat "$TMP/npy.err")"
fi

# The well-formed, mappable files: every field as NumPy has it.
while IFS=$'\t' read -r file descr shape order version offset size; do
  case $file in object.npy | big_endian.npy) continue ;; esac
  check "info $file" 0 "$SHARC" info "$NPY/$file"
  out_has "file:        $NPY/$file"
  out_has "('$descr')"
  out_has "shape:       $shape"
  out_has "order:       $order"
  out_has "version:     $version"
  out_has "data offset: $offset"
  out_has "file size:   $size"
  out_has "mappable:    yes"
  err_empty
done <"$TMP/npy.list"

check "info float64 names the dtype" 0 "$SHARC" info "$NPY/f64_c_2d.npy"
out_has "dtype:       float64 ('<f8')"
out_has "elements:    12"
out_has "byte size:   96"
check "info int16 Fortran names the dtype" 0 "$SHARC" info "$NPY/i16_fortran.npy"
out_has "dtype:       int16 ('<i2')"
out_has "order:       Fortran"
check "info 0-d array has one element" 0 "$SHARC" info "$NPY/zero_d.npy"
out_has "shape:       ()"
out_has "elements:    1"
out_has "byte size:   8"
check "info empty array has no elements" 0 "$SHARC" info "$NPY/empty_3d.npy"
out_has "shape:       (2, 0, 3)"
out_has "elements:    0"
out_has "byte size:   0"

# Well-formed but not mappable: described (status 0), with the reason.
check "info object dtype: described, not mappable" 0 "$SHARC" info "$NPY/object.npy"
out_has "dtype:       unsupported ('|O')"
out_has "shape:       (3,)"
out_has "byte size:   unknown"
out_has "mappable:    no: "
out_has "object dtype"
err_empty
check "info big-endian: described, not mappable" 0 "$SHARC" info "$NPY/big_endian.npy"
out_has "('>f4')"
out_has "mappable:    no: "
out_has "big-endian"

# Malformed: status 1, one line naming the file, nothing on stdout.
for f in bad_magic text empty_file truncated_header truncated_data header_len_lies \
  header_not_dict bad_version; do
  fails "info malformed $f.npy" 1 info "$NPY/$f.npy"
  err_has "$f.npy"
done
fails "info missing file" 1 info "$NPY/does_not_exist.npy"
err_has "does_not_exist.npy"
fails "info on a directory" 1 info "$NPY"
fails "info with no FILE" 2 info
fails "info with two FILEs" 2 info "$NPY/v2.npy" "$NPY/v3.npy"
fails "info unknown option" 2 info --frobnicate "$NPY/v2.npy"

# --- demo -------------------------------------------------------------------

check "demo, small, 2 workers" 0 "$SHARC" demo --pi-n 2000 --triad-n 100000 --repeats 1 --workers 2
out_count "speed-up:" 2
out_has "2 workers on "
out_has "  worker 0: pid "
out_has "  worker 1: pid "
out_has "== pi:"
out_has "== triad:"
out_has "pi ~= "
err_empty
fails "demo unknown option" 2 demo --frobnicate
fails "demo --workers 0" 2 demo --workers 0
fails "demo --repeats 1000" 2 demo --repeats 1000
fails "demo --pi-n abc" 2 demo --pi-n abc
fails "demo stray argument" 2 demo extra

# --- fault policy -----------------------------------------------------------

for sched in static dynamic:16 auto; do
  check "run --retries with a poison index ($sched)" 1 "$SHARC" run synthetic --n 20000 --workers 2 --schedule "$sched" -p abort_at=12345,work=50 --retries 2 --verify
  out_has "quarantined: index 12345 (signal 6, Aborted; 3 attempts)"
  out_has "verified: identical to a sequential run"
  err_one_line "sharc run: "
  err_has "1 range(s) quarantined, the first [12345, 12346)"
done
check "run --retries --json lists the quarantined index" 1 "$SHARC" run synthetic --n 5000 --workers 2 -p abort_at=77,work=50 --retries 1 --json
pycheck "quarantined in JSON" -c 'import json,sys
r = json.load(open(sys.argv[1]))["report"]
q = r["quarantined"]
assert r["status_name"] == "SHARC_EQUARANTINED", r["status_name"]
assert [(x["begin"], x["end"], x["signal"], x["attempts"]) for x in q] == [(77, 78, 6, 2)], q
assert r["deaths"] >= 2 and r["passes"] >= 2, (r["deaths"], r["passes"])
assert r["indices"] == 4999, r["indices"]' "$OUT"
check "run --on-poison stop" 1 "$SHARC" run synthetic --n 5000 --workers 2 -p abort_at=77,work=50 --retries 1 --on-poison stop
err_one_line "sharc run: "
err_has "[77, 78)"
err_has "job stopped"
check "run without retries fails at the first death" 1 "$SHARC" run synthetic --n 5000 --workers 2 -p abort_at=77,work=50
err_has "signal 6"
check "run --timeout with a hanging index" 1 "$SHARC" run synthetic --n 3000 --workers 2 --schedule dynamic:32 -p hang_at=2999,work=50 --retries 1 --timeout 0.2
out_has "quarantined: index 2999 (timed out, then killed by signal 15, Terminated; 2 attempts)"
err_has "[2999, 3000)"
check "run --timeout without retries" 1 "$SHARC" run synthetic --n 3000 --workers 2 -p hang_at=5,work=50 --timeout 0.2
err_has "(timeout)"
fails "run --timeout bad" 2 run synthetic --timeout -3
fails "run --timeout-x bad" 2 run synthetic --timeout-x abc
# Ctrl-C and SIGTERM: the job stops within 100 ms of the signal (plus the
# tool's exit; the bound leaves room for a busy machine), the partial
# report is printed, the exit status is 128+SIG. Ctrl-C goes, as from a
# terminal, to the whole process group: the workers must not die of it.
for sig in INT TERM; do
  NAME="run interrupted by SIG$sig"
  CMDLINE="sharc run synthetic --n 4000000 --schedule auto (SIG$sig after 0.5 s)"
  setsid "$SHARC" run synthetic --n 4000000 --workers 2 --schedule auto >"$OUT" 2>"$ERR" </dev/null &
  pid=$!
  sleep 0.5
  t0=$(date +%s%N)
  if [ "$sig" = INT ]; then kill -INT -- "-$pid"; else kill "-$sig" "$pid"; fi
  wait "$pid"
  STATUS=$?
  strip_progress
  ms=$((($(date +%s%N) - t0) / 1000000))
  want=$((128 + $(kill -l "$sig")))
  if [ "$STATUS" -eq "$want" ]; then ok; else bad "exit status $STATUS, expected $want"; fi
  if [ "$ms" -lt 2000 ]; then ok; else bad "took $ms ms to stop"; fi
  out_has "SHARC_ECANCELED"
  err_one_line "sharc run: interrupted by signal $(kill -l "$sig")"
  if grep -Eq "cancelled: [1-9][0-9]* of 4000000 indices done" "$ERR" &&
     ! grep -q "died" "$ERR"; then ok; else bad "partial report: $(cat "$ERR")"; fi
  left=
  for wpid in $(awk '$1 ~ /^[0-9]+$/ && $2 ~ /^[0-9]+$/ && $2 > 0 { print $2 }' "$OUT"); do
    [ -e "/proc/$wpid" ] && left="$left $wpid"
  done
  if [ -z "$left" ]; then ok; else bad "workers outlived the tool:$left"; fi
done
check "run --recycle-chunks" 0 "$SHARC" run synthetic --n 20000 --workers 2 --schedule dynamic:100 -p work=50 --recycle-chunks 25 --verify
out_has "verified: identical to a sequential run"
out_has " recycled,"
fails "run --recycle-chunks 0" 2 run synthetic --recycle-chunks 0
fails "run --recycle-rss bad" 2 run synthetic --recycle-rss lots
# --out and --resume: a run SIGKILLed mid-job, then resumed, leaves the
# same file as an uninterrupted run. The kill comes as soon as the journal
# (a 128-byte header, then the bitmap of done blocks) marks a block done:
# a handshake with the run, not a guess at how fast the machine is.
ref=$TMP/ref.f64
part=$TMP/part.f64
check "run --out" 0 "$SHARC" run synthetic --n 1000000 --workers 2 --schedule auto -p work=3000 --out "$ref"
if [ -s "$ref.journal" ]; then ok; else bad "no journal beside $ref"; fi
NAME="run --out killed mid-job"
"$SHARC" run synthetic --n 1000000 --workers 2 --schedule auto -p work=3000 --out "$part" >/dev/null 2>&1 &
pid=$!
until [ -s "$part.journal" ] &&
      "$PY" -c 'import sys; sys.exit(not any(open(sys.argv[1], "rb").read()[128:]))' "$part.journal"; do
  kill -0 "$pid" 2>/dev/null || break
  sleep 0.01
done
kill -9 "$pid"
wait "$pid" 2>/dev/null
STATUS=$?
if [ "$STATUS" -eq 137 ]; then ok; else bad "exit status $STATUS: the run ended before the kill"; fi
check "run --out --resume" 0 "$SHARC" run synthetic --n 1000000 --workers 2 --schedule auto -p work=3000 --out "$part" --resume --json
pycheck "resume computed part of the job" -c 'import json,sys
r = json.load(open(sys.argv[1]))["report"]
assert 0 < r["indices"] < 1000000, r["indices"]' "$OUT"
if cmp -s "$ref" "$part"; then ok; else bad "the resumed file differs from the uninterrupted one"; fi
fails "run --out onto an existing file" 1 run synthetic --n 1000 --out "$ref"
fails "run --resume without --out" 2 run synthetic --resume
fails "run --resume with other parameters" 1 run synthetic --n 1000000 --workers 2 -p work=3001 --out "$part" --resume
fails "run --retries bad" 2 run synthetic --retries many
fails "run --on-poison bad" 2 run synthetic --retries 1 --on-poison ignore
fails "run abort_at out of range" 1 run synthetic -p abort_at=-1

finish
