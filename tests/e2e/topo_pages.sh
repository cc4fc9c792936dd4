#!/usr/bin/env bash
# `sharc topo` with libnuma: the node distance matrix, and --check-pages,
# which has a pool's workers write an array and then asks the kernel where
# each page is: every page accounted for, on the plan's nodes.
#
# usage: bash tests/e2e/topo_pages.sh PATH_TO_SHARC_BINARY
set -u
SHARC=$1
# shellcheck source=tests/e2e/harness.bash
. "$(dirname "$0")/harness.bash"
e2e_tmp topo_pages
trap e2e_cleanup EXIT

nodes=$(find /sys/devices/system/node -maxdepth 1 -name 'node[0-9]*' 2>/dev/null | wc -l)

check "distances" 0 "$SHARC" topo --workers 2
out_has "NUMA distances (10: local):"
# The diagonal is 10 for every node.
diag=$(awk '/^NUMA distances/ { d = 1; getline; next } d && NF == 0 { d = 0 } d { print $($1 + 2) }' "$OUT" | sort -u)
if [ "$diag" = "10" ]; then ok; else bad "the distance of every node to itself is 10 (got '$diag')"; fi
rows=$(awk '/^NUMA distances/ { d = 1; getline; next } d && NF == 0 { d = 0 } d' "$OUT" | wc -l)
if [ "$rows" -eq "$nodes" ] || [ "$nodes" -eq 0 ]; then ok; else
  bad "one distance row per node in /sys ($nodes), got $rows"
fi

check "check pages" 0 "$SHARC" topo --workers 2 --check-pages 8
out_has "pages: 8 MiB array written by 2 workers"
pages=$(sed -n 's/^pages: .* workers, \([0-9]*\) pages of \([0-9]*\) bytes$/\1/p' "$OUT")
psize=$(sed -n 's/^pages: .* pages of \([0-9]*\) bytes$/\1/p' "$OUT")
if [ "$psize" = "$(getconf PAGESIZE)" ]; then ok; else bad "page size $psize is getconf PAGESIZE"; fi
# 8 MiB of data spans 8 MiB / page, or one page more when not aligned.
want=$((8 * 1024 * 1024 / $(getconf PAGESIZE)))
if [ "$pages" = "$want" ] || [ "$pages" = "$((want + 1))" ]; then ok; else
  bad "$pages pages, expected $want or $((want + 1))"
fi
on_nodes=$(awk '/^  node [0-9]+: [0-9]+ pages$/ { s += $3 } END { print s + 0 }' "$OUT")
if [ "$on_nodes" = "$pages" ]; then ok; else bad "the node lines count every page ($on_nodes of $pages)"; fi
out_has "as planned: $pages, elsewhere: 0, not in memory: 0"
if [ "$nodes" -eq 1 ]; then out_has "  node 0: $pages pages"; fi

# The same census in a job's report: `sharc run --pages`. pi's array 0 is
# its hits (u16), written by the workers.
check "run --pages" 0 "$SHARC" run pi --n 100000 --workers 2 --pages -q
line=$(grep '^  pages of array 0: ' "$OUT")
jpages=$(echo "$line" | sed -n 's/^  pages of array 0: \([0-9]*\), as planned \([0-9]*\), elsewhere 0, not in memory 0 |.*/\1 \2/p')
set -- $jpages
if [ $# -eq 2 ] && [ "$1" -gt 0 ] && [ "$1" = "$2" ]; then ok; else
  bad "every page of pi's array as planned and in memory: '$line'"
fi
pernode=$(echo "$line" | awk -F'|' '{ n = split($2, w, " "); s = 0; for (i = 3; i <= n; i += 3) s += w[i]; print s }')
if [ "${1:-x}" = "$pernode" ]; then ok; else bad "the node counts add up to the pages ($pernode of ${1:-?})"; fi
check "run --pages --json" 0 "$SHARC" run pi --n 100000 --workers 2 --pages --json -q
pycheck "the JSON report has the census" -c '
import json, sys
p = json.load(open(sys.argv[1]))["report"]["pages"]
assert len(p) == 1 and p[0]["array"] == 0, p
assert p[0]["pages"] > 0 and p[0]["as_planned"] == p[0]["pages"], p
assert sum(p[0]["on_node"]) == p[0]["pages"], p
' "$OUT"

check "size zero" 2 "$SHARC" topo --check-pages 0
err_has "bad size in MiB '0'"
check "synthetic" 2 "$SHARC" topo --check-pages 4 --synthetic "pack:2 core:1 pu:1"
err_has "--check-pages needs this machine"
finish
