/* sharc: pools of pinned worker processes.
 *
 * A pool starts W worker processes, pins each to a PU by a placement plan
 * (sharc/topo.h) and keeps them warm between jobs: after a job they spin
 * briefly, then sleep on a futex in the control block. Workers close every
 * inherited descriptor they do not need, die with the coordinator
 * (PR_SET_PDEATHSIG), and are watched through pidfds, so the coordinator
 * sees a worker die while it waits for a job.
 *
 * Caveat: PR_SET_PDEATHSIG fires when the *thread* that created the pool
 * exits. Create the pool from a thread that lives as long as the pool.
 *
 * Signals: workers ignore SIGINT and SIGQUIT, which a terminal sends to the
 * whole foreground process group: Ctrl-C is the coordinator's to handle
 * (sharc_pool_cancel from its handler); other signals keep their default
 * actions in workers.
 *
 * Fork: a pool belongs to the process that created it. In a child forked
 * from that process (by the host program, not a worker), the inherited
 * pool and its arrays may only be destroyed: sharc_pool_destroy() and
 * sharc_array_destroy() there release the child's own copies of the
 * mappings and descriptors and write nothing shared (no shutdown, no
 * messages to workers, no file removed), so the creator's pool works on;
 * sharc_run() and sharc_pool_cancel() there return SHARC_EINVAL. As with
 * libuv's loops, a child that wants a pool creates its own.
 *
 * Forked workers: nothing in this header may be called from a kernel. */
#ifndef SHARC_POOL_H
#define SHARC_POOL_H

#include "common.h"
#include "topo.h"

#ifdef __cplusplus
extern "C" {
#endif

#ifndef SHARC__POOL_TYPEDEF /* C99 and C++98 reject a repeated typedef */
#define SHARC__POOL_TYPEDEF
typedef struct sharc_pool sharc_pool;
#endif

/* How workers start (docs/guide.md, "Start methods"):
 *
 * FORK: fork the coordinator. Fastest; workers inherit everything (arrays
 *   mapped, kernels and hooks wherever registered, init_arg's memory). Not
 *   for a coordinator that already runs threads holding locks, an OpenMP
 *   runtime or MPI: a forked copy of those may deadlock or break.
 *
 * FORKSERVER: fork from the fork server, a single-threaded copy of the
 *   program made by sharc_init() (include/sharc.h) early in main, or at the
 *   first such pool if sharc_init() was not called (less safe: the server
 *   is then a fork of whatever the program runs by then). Workers know the
 *   kernels registered when the server was made (SHARC_KERNEL
 *   constructors); a job naming one registered later fails with
 *   SHARC_ENOKERNEL saying so. They inherit no mappings: every array
 *   reaches them as a descriptor over their socket. init and fini hooks
 *   must be functions loaded when the server was made; init_arg is passed
 *   as a value and read in the server's memory as of then (point it at
 *   static data, or at nothing). Workers are the server's children; they
 *   die with it and it dies with the coordinator (the thread that made it,
 *   see the caveat above).
 *
 * SPAWN: posix_spawn the sharc-worker executable (opts.worker_path, else
 *   $SHARC_WORKER, else beside the running program, else in the bin
 *   directory beside libsharc's, else where it was installed), which loads the kernel libraries listed in opts.kernel_libs and
 *   $SHARC_KERNEL_PATH (':'-separated; a directory means every *.so in
 *   it) and knows the kernels their SHARC_KERNEL constructors register;
 *   the coordinator need not have them. Nothing of the coordinator crosses
 *   exec: hooks are named (init_name, fini_name below) and found in those
 *   libraries; hook pointers and init_arg are refused (SHARC_ENOTSUP). The
 *   slowest start, and the safest from a threaded or MPI program. */
typedef enum {
  SHARC_START_FORK = 0,
  SHARC_START_FORKSERVER = 1,
  SHARC_START_SPAWN = 2
} sharc_start_method;

/* Per-worker hooks, the way to keep per-worker state (a file opened or a
 * table loaded once per worker, scratch buffers): init runs in each worker
 * when it starts, before its first job (also in workers started to replace
 * dead or recycled ones), with the worker's id and init_arg; what it stores
 * in *local is what sharc_task_local() returns in that worker's kernel
 * calls. A nonzero return stops the worker: sharc_pool_create() (or the
 * job that needed the replacement) fails naming the worker and the code.
 * fini runs when a worker leaves normally (sharc_pool_destroy, or recycled
 * after its chunk), with the same local; not after a crash or a kill.
 * Both run in the worker process, so what they touch of the coordinator's
 * memory is the worker's own copy-on-write copy; init_arg is passed as is
 * (pointing into memory shared before sharc_pool_create, e.g. a MAP_SHARED
 * mapping, it reaches the coordinator). With SHARC_START_FORKSERVER the
 * worker is a copy of the fork server, so the hooks must be functions
 * loaded when it was made (sharc_pool_create() fails naming them
 * otherwise) and init_arg is read in the program's memory as of
 * sharc_init(); SHARC_START_SPAWN refuses hook pointers (SHARC_ENOTSUP):
 * name the hooks there instead.
 *
 * Hooks by name (init_name, fini_name), as kernels are named, work with
 * every start method; give a hook either as a pointer or by name, not both
 * (SHARC_EINVAL). The name is a symbol of a function of the type below:
 *   - FORK, FORKSERVER: looked up in the coordinator when the pool is
 *     created, with dlsym(RTLD_DEFAULT): the program and the libraries it
 *     loaded RTLD_GLOBAL (a function in the executable must be exported:
 *     link it with -rdynamic, or put it in a shared library). Then as the
 *     pointer it resolves to, with the FORKSERVER rule above.
 *   - SPAWN: looked up in each worker after it loaded its kernel libraries
 *     (opts.kernel_libs, then $SHARC_KERNEL_PATH, in that order; the first
 *     that has it wins), then in the worker executable itself (one that is
 *     its own worker, see sharc_worker_main). The hooks' arg is NULL there:
 *     init_arg must be NULL (SHARC_ENOTSUP otherwise), as memory does not
 *     cross exec.
 * A name found nowhere fails sharc_pool_create() with SHARC_ENOENT and a
 * message naming the hook and where it was looked for; nothing is left
 * running. The hook must be an exported C symbol:
 *   __attribute__((visibility("default"))) int
 *   my_init(unsigned w, void **local, void *arg) { ... }
 * (the attribute matters only where the code is built with
 * -fvisibility=hidden). Resolving takes a dlsym per library, at start. */
typedef int (*sharc_worker_init_fn)(unsigned worker, void **local, void *arg);
typedef void (*sharc_worker_fini_fn)(unsigned worker, void *local, void *arg);

typedef struct sharc_pool_opts {
  /* sizeof(sharc_pool_opts), as SHARC_POOL_OPTS_INIT sets it: checked by
   * sharc_pool_create (SHARC_EINVAL naming both sizes), so options from
   * other headers are refused, not misread. */
  size_t size;
  unsigned workers;         /* 0: the environment's SHARC_WORKERS if set,
                               else one per usable PU */
  sharc_start_method start; /* SHARC_START_FORK */
  int pin;                  /* 1: pin each worker to its planned PU */
  unsigned spin_us;         /* how long an idle worker spins before sleeping */
  sharc_worker_init_fn init; /* NULL: none (see above) */
  sharc_worker_fini_fn fini; /* NULL: none */
  void *init_arg;            /* passed to both */
  /* SPAWN only; both are copied at sharc_pool_create(), the caller keeps
   * its strings. */
  const char *worker_path; /* NULL: $SHARC_WORKER, else sharc-worker found
                              as SPAWN above */
  const char *kernel_libs; /* ':'-separated shared libraries (or
                              directories of them) workers load, before
                              those in $SHARC_KERNEL_PATH; NULL: none */
  /* Hooks by name (see above), any start method; NULL or "": none. Copied
   * at sharc_pool_create(); at most 255 bytes each (SHARC_EINVAL). */
  const char *init_name;
  const char *fini_name;
} sharc_pool_opts;

/* Fields not named are 0 or NULL. */
#ifndef __cplusplus
#define SHARC_POOL_OPTS_INIT                                                   \
  {.size = sizeof(sharc_pool_opts), .start = SHARC_START_FORK, .pin = 1,       \
   .spin_us = 100}
#else /* C++17 has no designated initializers: the same, by position */
#define SHARC_POOL_OPTS_INIT                                                   \
  {sizeof(sharc_pool_opts), 0, SHARC_START_FORK, 1, 100, NULL, NULL, NULL,     \
   NULL, NULL, NULL, NULL}
#endif

/* Starts a pool. opts may be NULL. On success *out is the pool, owned by the
 * caller; on failure *out is NULL, every process and object made so far is
 * gone, and msg (if not NULL) explains. Blocks until every worker runs.
 * Safe from several threads on different pools. */
SHARC_API int sharc_pool_create(sharc_pool **out, const sharc_pool_opts *opts,
                                char *msg, size_t msglen);

/* Stops and reaps every worker (SIGKILL after 1 s for a worker that does not
 * stop), unmaps the control block and the pool's anonymous arrays. Arrays
 * not yet destroyed are destroyed. NULL is a no-op. Blocks while workers
 * stop. In a forked child: releases only that process's mappings and
 * descriptors (see above). */
SHARC_API void sharc_pool_destroy(sharc_pool *pool);

SHARC_API unsigned sharc_pool_size(const sharc_pool *pool);
/* The pid of worker w, or -1 if w is out of range. */
SHARC_API int sharc_pool_worker_pid(const sharc_pool *pool, unsigned w);
/* The plan the workers were placed by; owned by the pool. */
SHARC_API const sharc_plan *sharc_pool_plan(const sharc_pool *pool);
/* Seconds sharc_pool_create() took to start every worker. */
SHARC_API double sharc_pool_startup_seconds(const sharc_pool *pool);
/* Cancels the pool's running job, or the next one if none runs: workers
 * stop claiming chunks, chunks already running get 100 ms to finish before
 * their workers are killed (replaced when the next job starts), and
 * sharc_run() returns SHARC_ECANCELED with the report of what was done
 * (a killed worker's indices are not in its counts: they are a lower
 * bound; a journal records every block that was completed).
 * Async-signal-safe: call it from a SIGINT or SIGTERM handler (sharc run
 * does). Returns 0, or SHARC_EINVAL for NULL or in a forked child. */
SHARC_API int sharc_pool_cancel(sharc_pool *pool);

/* --- Closing, terminating, joining (as Python's multiprocessing.Pool) ----
 *
 * close: no new jobs (sharc_submit and sharc_run return SHARC_ECLOSED);
 * the queued and running jobs go on. terminate: close, and stop now: queued
 * jobs end with SHARC_ECANCELED, the running job is cancelled with no
 * grace (workers still in a chunk are killed; the next job, if any, would
 * replace them). join: wait until every queued and running job has ended;
 * only after close or terminate (else SHARC_EINVAL), as in Python.
 * sharc_pool_destroy() terminates, joins and then stops the workers.
 * Thread-safe; in a forked child they return SHARC_EINVAL. */
SHARC_API int sharc_pool_close(sharc_pool *pool);
SHARC_API int sharc_pool_terminate(sharc_pool *pool);
/* Blocks up to timeout_s (< 0: for ever); SHARC_ETIMEDOUT if jobs remain. */
SHARC_API int sharc_pool_join(sharc_pool *pool, double timeout_s);
/* How many jobs may wait in the queue (the running one aside) before
 * sharc_submit() blocks or returns SHARC_EAGAIN; default 64, at least 1.
 * Returns 0, or SHARC_EINVAL. */
SHARC_API int sharc_pool_set_queue_max(sharc_pool *pool, unsigned max);

/* The message for the last failing call on this pool, or "". Array
 * functions, sharc_pipeline_run()'s option checks and a sharc_run() that
 * waited in the queue keep theirs in the calling thread: there this
 * returns it until that thread's next message on the pool (a job run in
 * it, or a call that fails writing the pool's). With several threads, a
 * job's message is sharc_job_errmsg(). The string is the library's, valid
 * until the next call on the pool from this thread. */
SHARC_API const char *sharc_pool_errmsg(const sharc_pool *pool);

/* The body of the sharc-worker executable (start method SPAWN): main()
 * there is `return sharc_worker_main(argc, argv);`. A program that wants
 * to be its own worker executable (its kernels linked in, no libraries to
 * load) may do the same when started with the arguments a pool gives
 * (one: a descriptor number) and name itself in opts.worker_path. Does not
 * return when started by a pool; returns 2 with a message on stderr
 * otherwise. Call it from main before anything else, in a process that
 * has nothing else to do. */
SHARC_API int sharc_worker_main(int argc, char **argv);

#ifdef __cplusplus
}
#endif
#endif
