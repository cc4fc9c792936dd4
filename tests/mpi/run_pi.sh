#!/usr/bin/env bash
# `mpirun -np N sharc run pi` end to end: the tool, started by an MPI
# launcher, loads libsharc_mpi, shares the index space among the ranks and
# prints one result and one combined report (rank 0's); the result is the
# single-process one, digit for digit, for 2 and 3 ranks, as text and as
# JSON; options an MPI run cannot honour are refused with one line.
#
# usage: bash tests/mpi/run_pi.sh PATH_TO_SHARC_BINARY PATH_TO_MPIRUN
# Registered by cmake/mpi_tests.cmake only when MPI was found.
set -u

if [ $# -ne 2 ]; then
  echo "usage: $0 PATH_TO_SHARC_BINARY PATH_TO_MPIRUN" >&2
  exit 2
fi
SHARC=$1
MPIRUN=$2
# shellcheck source=tests/e2e/harness.bash
. "$(dirname "$0")/../e2e/harness.bash"
e2e_tmp mpi
trap e2e_cleanup EXIT
mpirun() { "$MPIRUN" --oversubscribe --allow-run-as-root "$@"; }

N=60000
# The estimate line (hits counted from the shared output array).
check "one process" 0 "$SHARC" run pi --n $N --workers 1 -p seed=7 -q
want=$(grep '^pi ~= ' "$OUT")
if [ -n "$want" ]; then ok; else bad "no estimate line"; fi

for np in 2 3; do
  check "mpirun -np $np" 0 mpirun -np $np "$SHARC" run pi --n $N \
    --workers 1 -p seed=7 -q
  got=$(grep '^pi ~= ' "$OUT")
  if [ "$got" = "$want" ]; then ok; else
    bad "-np $np gave '$got', one process '$want'"
  fi
  out_count "pi ~= " 1
  out_count "mpi job 'pi': n=$N ranks=$np workers=$np  ok" 1
  out_has "indices $N |"
  err_empty
done

check "mpirun --json" 0 mpirun -np 2 "$SHARC" run pi --n $N --workers 1 \
  -p seed=7 -q --json --verify
pycheck "one JSON object with the combined report" -c '
import json, sys
lines = open(sys.argv[1]).read().splitlines()
assert len(lines) == 1, "%d lines" % len(lines)
d = json.loads(lines[0])
r = d["report"]
assert d["verified"] is True
assert r["nranks"] == 2 and r["indices"] == int(sys.argv[2]), r
assert sum(k["indices"] for k in r["ranks"]) == int(sys.argv[2])
' "$OUT" $N

check "--start fork under mpirun" 2 mpirun -np 2 "$SHARC" run pi --n 1000 \
  --start fork -q
err_has "sharc run: --start fork under MPI"
out_empty

# Without a launcher the tool does not touch MPI: the same binary runs
# with libsharc_mpi out of reach.
check "no launcher, no MPI" 0 env SHARC_MPI_LIB=/nonexistent "$SHARC" run pi \
  --n 1000 --workers 1 -q
out_has "pi ~= "

finish
