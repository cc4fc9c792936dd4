/* Internal: the placement rule the page census checks, a pure function so
 * that it is tested on synthetic plans. */
#ifndef SHARC_LIB_NUMA_INT_H
#define SHARC_LIB_NUMA_INT_H

#include <stdint.h>

#include "sharc/topo.h"

/* The worker whose block of the static split of n indices over w workers
 * holds index i (i < n): the first n % w blocks are one index longer. */
unsigned sharc__static_owner(uint64_t n, unsigned w, uint64_t i);

/* 1 if a page holding the elements [e0, e1) of an n-element array may be
 * on `node` by the plan: the node of a worker owning one of them, or any
 * node when such a worker's node is unknown (-1); else 0. */
int sharc__page_planned(const sharc_plan *plan, uint64_t n, uint64_t e0,
                        uint64_t e1, int node);

#endif
