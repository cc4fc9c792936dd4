#!/usr/bin/env bash
# Edges of the tool's file handling and options: a FIFO named as input is
# refused at once (every such command runs under `timeout`, so a hang fails
# instead of blocking the suite); --trace replaces only a regular file; an
# output left by a run that died before its first journal write can be
# resumed, and the error for it names the command to run; `sharc mc` takes
# the fault-policy options of `sharc run`; a parameter given twice is a
# usage error naming it.
#
# usage: bash tests/e2e/edges.sh PATH_TO_SHARC_BINARY
set -u

if [ $# -ne 1 ]; then
  echo "usage: $0 PATH_TO_SHARC_BINARY" >&2
  exit 2
fi
SHARC=$1
# shellcheck source=tests/e2e/harness.bash
. "$(dirname "$0")/harness.bash"
e2e_tmp edges
trap e2e_cleanup EXIT

# kind_is PATH TEST: `test TEST PATH` holds (-p FIFO, -L link, -d, -f).
kind_is() {
  if test "$2" "$1"; then ok; else bad "$1 is no longer what it was ($2)"; fi
}

# --- a FIFO as input ----------------------------------------------------------

fifo=$TMP/f.npy
mkfifo "$fifo"
check "info on a FIFO returns at once" 1 timeout 20 "$SHARC" info "$fifo"
err_one_line "sharc info: "
err_has "$fifo: is a FIFO, not a regular file"
out_empty
kind_is "$fifo" -p

# --- --trace replaces only a regular file ------------------------------------

tfifo=$TMP/t.fifo
mkfifo "$tfifo"
check "run --trace onto a FIFO is refused" 1 timeout 60 "$SHARC" run pi --n 1000 --workers 2 --trace "$tfifo"
err_one_line "sharc run: "
err_has "$tfifo: is a FIFO, not a regular file"
out_empty
kind_is "$tfifo" -p

echo "keep me" >"$TMP/target"
ln -s "$TMP/target" "$TMP/t.link"
check "run --trace onto a symbolic link is refused" 1 timeout 60 "$SHARC" run pi --n 1000 --workers 2 --trace "$TMP/t.link"
err_one_line "sharc run: "
err_has "$TMP/t.link: is a symbolic link"
kind_is "$TMP/t.link" -L
if [ "$(cat "$TMP/target")" = "keep me" ]; then ok; else bad "the link's target was written"; fi

mkdir "$TMP/t.dir"
check "run --trace onto a directory is refused" 1 timeout 60 "$SHARC" run pi --n 1000 --workers 2 --trace "$TMP/t.dir"
err_one_line "sharc run: "
err_has "is a directory"
kind_is "$TMP/t.dir" -d

echo "old" >"$TMP/t.old"
check "run --trace over a regular file replaces it" 0 timeout 60 "$SHARC" run pi --n 1000 --workers 2 --trace "$TMP/t.old"
if [ "$(head -n 1 "$TMP/t.old")" = "# sharc trace 1" ]; then ok; else bad "$TMP/t.old is not a trace"; fi
if ls "$TMP" | grep -q tmp; then bad "a temporary file was left: $(ls "$TMP")"; else ok; fi

# --- an output whose run died before its first journal write ------------------

# The state such a run leaves: the output file made, no journal beside it
# (or, from an older sharc, an empty one).
RUN=(run synthetic --n 20000 --workers 2 -p work=20)
ref=$TMP/ref.f64
part=$TMP/part.f64
check "run --out" 0 timeout 60 "$SHARC" "${RUN[@]}" --out "$ref"
for journal_state in missing empty; do
  rm -f "$part" "$part.journal"
  check "run --out ($journal_state journal)" 0 timeout 60 "$SHARC" "${RUN[@]}" --out "$part"
  printf 'garbage' | dd of="$part" bs=1 seek=800 conv=notrunc status=none
  if [ "$journal_state" = missing ]; then rm "$part.journal"; else : >"$part.journal"; fi

  fails "run --out onto the output of a dead run ($journal_state journal)" 1 "${RUN[@]}" --out "$part"
  err_has "$part: already exists; to continue the interrupted run that wrote it: sharc "
  # The command the message names, run as it is: it finishes the output.
  cmd=$(sed -n 's/.*that wrote it: sharc \(.*\) (or remove .*/\1/p' "$ERR")
  if [ -n "$cmd" ]; then ok; else bad "no command in the message"; fi
  NAME="the named command ($journal_state journal)"
  CMDLINE="sharc $cmd"
  eval "timeout 60 \"\$SHARC\" $cmd --json" >"$OUT" 2>"$ERR" </dev/null
  STATUS=$?
  strip_progress
  if [ "$STATUS" -eq 0 ]; then ok; else bad "exit status $STATUS, expected 0"; fi
  err_one_line "sharc run: $part: no journal $part.journal"
  pycheck "the resume computed every index" -c 'import json,sys
r = json.load(open(sys.argv[1]))["report"]
assert r["indices"] == 20000, r["indices"]' "$OUT"
  if cmp -s "$ref" "$part"; then ok; else bad "the resumed file differs from an uninterrupted run's"; fi
  if [ -s "$part.journal" ]; then ok; else bad "no journal after the resume"; fi
done

check "run --out --resume when the output is finished does nothing" 0 timeout 60 "$SHARC" "${RUN[@]}" --out "$part" --resume --json
pycheck "nothing left to do" -c 'import json,sys
r = json.load(open(sys.argv[1]))["report"]
assert r["indices"] == 0, r["indices"]' "$OUT"
err_empty

fails "run --resume without the output file" 1 "${RUN[@]}" --out "$TMP/absent.f64" --resume
err_has "$TMP/absent.f64: does not exist, so there is nothing to resume (run without --resume to start)"
head -c 8 "$ref" >"$TMP/short.f64"
fails "run --resume onto a file of another size, no journal" 1 "${RUN[@]}" --out "$TMP/short.f64" --resume

# --- mc: fault-policy options ------------------------------------------------

check "mc without fault options" 0 timeout 60 "$SHARC" mc european --paths 20000 --seed 5 --workers 2
head -n -1 "$OUT" >"$TMP/mc_plain"
check "mc --retries --on-poison --timeout --timeout-x" 0 timeout 60 "$SHARC" mc european --paths 20000 --seed 5 --workers 2 \
  --retries 2 --on-poison stop --timeout 30 --timeout-x 1000
head -n -1 "$OUT" >"$TMP/mc_fault"
if cmp -s "$TMP/mc_plain" "$TMP/mc_fault"; then ok; else bad "the estimate changed with a fault policy"; fi
err_empty
fails "mc --retries bad" 2 mc european --retries many
err_has "--retries: 'many' is not 0..1000"
fails "mc --on-poison bad" 2 mc european --on-poison ignore
err_has "--on-poison: 'ignore'"
fails "mc --timeout bad" 2 mc european --timeout 0
err_has "--timeout: '0'"
check "mc --help lists --retries" 0 "$SHARC" mc --help
out_has "--retries R"
out_has "--on-poison A"
out_has "--timeout S"

# --- a parameter given twice -------------------------------------------------

fails "mc -p seed=1,seed=2" 2 mc walk -p seed=1,seed=2
err_has "parameter 'seed' given twice"
fails "mc -p k=90,k=95" 2 mc european -p k=90,k=95
err_has "parameter 'k' given twice"
fails "mc -p k=90 -p k=95" 2 mc european -p k=90 -p k=95
err_has "parameter 'k' given twice"
fails "run -p seed=1,seed=2" 2 run pi --n 1000 -p seed=1,seed=2
err_has "parameter 'seed' given twice"
check "run -p twice with different keys joins them" 0 timeout 60 "$SHARC" run synthetic --n 2000 --workers 2 -p work=10 -p dist=pareto --json
pycheck "both parameters applied" -c 'import json,sys
r = json.load(open(sys.argv[1]))["result"]
assert r["work"] == 10 and r["dist"] == "pareto", r' "$OUT"

finish
