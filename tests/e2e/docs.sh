#!/usr/bin/env bash
# The tutorials show the code the test suite builds: docs/montecarlo.md's
# complete program (the first ```c block after "## 3.") is exactly
# docs/examples/montecarlo.c, which ctest builds and runs.
#
# usage: bash tests/e2e/docs.sh PATH_TO_SHARC_BINARY (unused; e2e convention)
set -u
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
PAGE=$ROOT/docs/montecarlo.md
FILE=$ROOT/docs/examples/montecarlo.c
shown=$(awk '/^## 3\./ { s = 1 } s && /^```c$/ { b = 1; next } b && /^```$/ { exit } b' "$PAGE")
if [ -n "$shown" ] && [ "$shown" = "$(cat "$FILE")" ]; then
  echo "1 passed, 0 failed"
  exit 0
fi
echo "FAIL: $PAGE does not show $FILE exactly; differences:" >&2
diff <(echo "$shown") "$FILE" >&2
echo "0 passed, 1 failed"
exit 1
