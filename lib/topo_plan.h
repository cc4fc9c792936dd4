/* Internal: placement planning as a pure function of a loaded topology. */
#ifndef SHARC_LIB_TOPO_PLAN_H
#define SHARC_LIB_TOPO_PLAN_H

#include <hwloc.h>

#include "sharc/topo.h"

/* Plans `workers` workers (0: one per usable PU) over the PUs of topo that
 * are in `usable`, following the policy in sharc/topo.h. No system calls
 * beyond hwloc queries on the loaded topology. Returns 0 or a negative code
 * (SHARC_EINVAL when usable holds no PU of topo) and writes msg. */
int sharc__plan_from_topology(hwloc_topology_t topo, hwloc_const_cpuset_t usable,
                              unsigned workers, sharc_plan *out, char *msg,
                              size_t msglen);

/* Loads this machine's topology (synthetic == NULL) or a synthetic one into
 * *topo and sets *usable (caller frees both): for this machine the process's
 * CPU binding within hwloc's allowed cpuset, for a synthetic one every PU. */
int sharc__topo_load(const char *synthetic, hwloc_topology_t *topo,
                     hwloc_bitmap_t *usable, char *msg, size_t msglen);

#endif
