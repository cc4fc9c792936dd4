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

check "size zero" 2 "$SHARC" topo --check-pages 0
err_has "bad size in MiB '0'"
check "synthetic" 2 "$SHARC" topo --check-pages 4 --synthetic "pack:2 core:1 pu:1"
err_has "--check-pages needs this machine"
finish
