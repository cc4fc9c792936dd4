/* sharc: machine topology and worker placement plans (hwloc).
 *
 * A placement plan says which PU and NUMA node each worker runs on. It is a
 * pure function of a topology, the set of PUs the process may use and the
 * worker count, so it can be computed for hwloc synthetic topologies
 * ("pack:2 numa:2 core:8 pu:1") as well as for this machine.
 *
 * Policy: workers are spread across NUMA nodes in contiguous blocks (worker
 * ids 0..k-1 on the first node, and so on), each node getting a share in
 * proportion to its usable PUs; within a node they are compact: cores in
 * order, one PU per core first, SMT siblings only once every core of the
 * node has a worker. With more workers than PUs the plan wraps round-robin
 * over the same order and marks itself oversubscribed. */
#ifndef SHARC_TOPO_H
#define SHARC_TOPO_H

#include <stdio.h>

#include "common.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct sharc_placement {
  unsigned worker;
  int pu;      /* OS index of the PU (as in /proc/PID/status lists) */
  int core;    /* logical index of the core holding the PU, or -1 */
  int numa;    /* OS index of the NUMA node, or -1 if unknown */
  int l3;      /* logical index of the L3 cache above the PU, or -1 */
} sharc_placement;

/* A placement plan, made with SHARC_PLAN_INIT (size is checked) and filled
 * by sharc_plan_make(), or the pool's own (sharc_pool_plan()). */
typedef struct sharc_plan {
  size_t size;           /* sizeof(sharc_plan), as SHARC_PLAN_INIT sets it */
  unsigned nworkers;
  unsigned npus;         /* usable PUs the plan drew from */
  unsigned nnodes;       /* NUMA nodes holding at least one usable PU */
  int oversubscribed;    /* nworkers > npus */
  sharc_placement *w;    /* nworkers entries, owned by the plan */
} sharc_plan;

#ifndef __cplusplus
#define SHARC_PLAN_INIT {.size = sizeof(sharc_plan)}
#else /* C++17 has no designated initializers: the same, by position */
#define SHARC_PLAN_INIT {sizeof(sharc_plan), 0, 0, 0, 0, NULL}
#endif

/* Makes a placement plan for `workers` workers (0: one per usable PU).
 * synthetic: NULL for this machine (usable PUs: the process's CPU affinity
 * within hwloc's allowed cpuset), or an hwloc synthetic description (every
 * PU usable). *out must come from SHARC_PLAN_INIT: a size field that is
 * not sizeof(sharc_plan) is SHARC_EINVAL, the message naming both sizes.
 * On error returns a negative code and writes a message to msg (if not
 * NULL); *out then holds no placements. Release with sharc_plan_free(),
 * which leaves *out empty and ready for another sharc_plan_make().
 * Thread-safe; nothing is kept across fork. */
SHARC_API int sharc_plan_make(const char *synthetic, unsigned workers,
                              sharc_plan *out, char *msg, size_t msglen);

/* Frees the plan's entries and zeroes it. NULL is a no-op. */
SHARC_API void sharc_plan_free(sharc_plan *plan);

/* Prints the topology (packages, NUMA nodes with memory, caches, cores and
 * PUs, which PUs this process may use) in a compact tree for people.
 * synthetic as for sharc_plan_make(). Returns 0 or a negative code. */
SHARC_API int sharc_topo_print(FILE *out, const char *synthetic);

#ifdef __cplusplus
}
#endif
#endif
