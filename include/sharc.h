/* sharc — shared-array compute.
 *
 * Umbrella header. The topic headers under sharc/ are the API reference:
 *   sharc/error.h     error codes, sharc_strerror()
 *   sharc/pool.h      pools of pinned worker processes
 *   sharc/array.h     typed n-d arrays in shared mappings (memfd, shm, files)
 *   sharc/npy.h       NumPy .npy header inspection
 *   sharc/kernel.h    kernels, their registry and the task handle
 *   sharc/schedule.h  loop schedules: auto (the default), static, dynamic,
 *                     guided, factoring
 *   sharc/job.h       running a kernel over [0, n)
 *   sharc/reduce.h    deterministic reductions declared per job
 *   sharc/report.h    what a job did and what it cost
 *   sharc/topo.h      topology and placement plans
 *   sharc/rng.h       counter-based random streams (Philox4x32-10)
 *   sharc/numa.h      where pages are (NUMA nodes), checked against plans
 *   sharc/ffi.h       calls for bindings from other languages (Fortran) */
#ifndef SHARC_H
#define SHARC_H

#include "sharc/common.h"
#include "sharc/error.h"
#include "sharc/array.h"
#include "sharc/npy.h"
#include "sharc/kernel.h"
#include "sharc/schedule.h"
#include "sharc/report.h"
#include "sharc/reduce.h"
#include "sharc/job.h"
#include "sharc/pipeline.h"
#include "sharc/pool.h"
#include "sharc/topo.h"
#include "sharc/rng.h"
#include "sharc/numa.h"
#include "sharc/ffi.h"

#endif
