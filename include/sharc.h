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

#ifdef __cplusplus
extern "C" {
#endif

/* Starts the fork server that pools with start method SHARC_START_FORKSERVER
 * fork their workers from (sharc/pool.h). Call it at the top of main,
 * before starting threads, an OpenMP runtime or MPI_Init: the server is a
 * fork of the program as it is then, single-threaded, and its workers know
 * the kernels registered by then. Without it the first such pool starts
 * the server itself, from whatever the program has become.
 *
 * Returns 0 (also when the server runs already) or a negative code. Blocks
 * only for a fork. Thread-safe. The server dies with the thread that
 * called this (PR_SET_PDEATHSIG): call it from the main thread. Owns
 * nothing the caller frees; the server ends with the program. In a child
 * forked from the caller, the parent's server is not used: the child's
 * first forkserver pool (or sharc_init) starts its own. The server is a
 * child process of the caller that lives until the caller exits: a
 * program that waits for all its children (wait(), waitpid(-1, ...))
 * would wait for it too. Between requests it sleeps in poll(); it uses
 * CPU only to fork workers and reap them. If something kills it, the next forkserver pool
 * starts a new one (pools using the old one lose their workers). */
SHARC_API int sharc_init(void);

#ifdef __cplusplus
}
#endif

#endif
