#!/usr/bin/env bash
# sharc run with each start method (--start and SHARC_START): the same
# result bit for bit, with --verify; a bad method is a usage error; a
# spawned worker that cannot be found or cannot load its kernels fails the
# run with one line naming what was missing.
#
# usage: bash tests/e2e/start.sh PATH_TO_SHARC_BINARY
set -u

if [ $# -ne 1 ]; then
  echo "usage: $0 PATH_TO_SHARC_BINARY" >&2
  exit 2
fi
SHARC=$1
# shellcheck source=tests/e2e/harness.bash
. "$(dirname "$0")/harness.bash"
e2e_tmp start
trap e2e_cleanup EXIT
unset SHARC_START SHARC_WORKER SHARC_KERNEL_PATH

first=
for m in fork forkserver spawn; do
  check "run pi --start $m --verify" 0 "$SHARC" run pi --n 200000 --workers 2 \
    --start "$m" --verify
  out_has "job 'pi': n=200000"
  line=$(grep '^pi ~=' "$OUT")
  if [ -z "$first" ]; then first=$line; elif [ "$line" = "$first" ]; then ok; else
    bad "--start $m gives '$line', fork gave '$first'"
  fi
  check "SHARC_START=$m run triad --verify" 0 env SHARC_START="$m" \
    "$SHARC" run triad --n 100000 --workers 2 --verify
done

fails "--start with an unknown method" 2 run pi --start thread
err_has "'thread' is not fork, forkserver or spawn"
check "SHARC_START with an unknown method" 2 env SHARC_START=vfork \
  "$SHARC" run pi --n 1000
err_one_line "sharc run: SHARC_START: 'vfork'"

check "spawn with SHARC_WORKER naming nothing" 1 env \
  SHARC_WORKER="$TMP/no-such-worker" "$SHARC" run pi --n 1000 --start spawn
err_one_line "sharc run: cannot start workers: "
err_has "$TMP/no-such-worker"

echo 'not a library' >"$TMP/broken.so"
check "spawn with a kernel library that does not load" 1 env \
  SHARC_KERNEL_PATH="$TMP/broken.so" "$SHARC" run pi --n 1000 --start spawn
err_one_line "sharc run: cannot start workers: "
err_has "$TMP/broken.so"

finish
