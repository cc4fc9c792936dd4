/* Internal: the pool, arrays and workers, shared by the library's units. */
#ifndef SHARC_LIB_INTERNAL_H
#define SHARC_LIB_INTERNAL_H

#include <hwloc.h>
#include <stdarg.h>
#include <stdint.h>
#include <sys/types.h>
#include <unistd.h>

#include <pthread.h>

#include "cb.h"
#include "sharc.h"

/* --- messages ------------------------------------------------------------ */

/* snprintf into the pool's message buffer; returns code, so a failing path
 * reads `return sharc__fail(pool, SHARC_EFORMAT, "%s: ...", path);`. */
int sharc__fail(sharc_pool *pool, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* A public struct whose size field is not this library's: SHARC_EINVAL,
 * the message naming the struct, both sizes and the macro that makes it
 * (`what`: "job options"; `type`: "sharc_job_opts"; `init`:
 * "SHARC_JOB_OPTS_INIT"). */
#define sharc__bad_size(pool, what, type, init, got)                           \
  sharc__fail((pool), SHARC_EINVAL,                                            \
              what ": size field %zu, but this library's " type " is %zu "    \
              "bytes (made without " init ", or with other headers)",          \
              (size_t)(got), sizeof(type))
void sharc__vmsg(char *buf, size_t len, const char *fmt, va_list ap);

#define SHARC__MSG_LEN 512
/* The pool's message buffer belongs to the job running (in the driver
 * thread, or in the thread of an inline sharc_run). A public call that may
 * run beside it from another thread, such as the array functions, keeps
 * its message in the calling thread instead: between sharc__own_msg_enter
 * and sharc__own_msg_leave, sharc__fail and sharc__msgbuf write there, and
 * sharc_pool_errmsg() in that thread returns it until the thread's next
 * message on the pool goes to the pool's buffer (sharc__own_msg_drop). */
void sharc__own_msg_enter(const sharc_pool *pool);
void sharc__own_msg_leave(void);
void sharc__own_msg_drop(const sharc_pool *pool);
/* Where a message about pool goes now (SHARC__MSG_LEN bytes). */
char *sharc__msgbuf(sharc_pool *pool);

/* --- time ---------------------------------------------------------------- */

/* CLOCK_MONOTONIC in nanoseconds: the vDSO, no system call. */
uint64_t sharc__now_ns(void);

/* The time-stamp counter, or 0 where there is none to read cheaply. */
static inline uint64_t sharc__ticks(void) {
#if defined(__x86_64__) || defined(__i386__)
  return __builtin_ia32_rdtsc();
#else
  return 0;
#endif
}

/* Whether the kernel keeps time with the TSC (so it is invariant and in
 * step across CPUs): only then may workers convert ticks to nanoseconds. */
int sharc__tsc_is_clock(void);

/* With a worker on every PU, waiting processes yield this many times
 * before they sleep: cheaper than a futex or poll wake-up when the process
 * they wait for shares their PU. */
#ifndef SHARC__YIELDS_MAX
#define SHARC__YIELDS_MAX 64
#endif

/* A pause for spin loops: eases the sibling hyperthread and the bus. */
static inline void sharc__cpu_relax(void) {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  __asm__ __volatile__("yield");
#endif
}

/* SHARC_START_PROFILE (startprof.c): a line on stderr per step of starting
 * and stopping a pool, stamped with CLOCK_MONOTONIC and the pid. */
int sharc__prof_on(void);
void sharc__prof_step(const char *what, unsigned arg);
#define SHARC__PROF(what, arg)                                                 \
  do {                                                                         \
    if (sharc__prof_on())                                                      \
      sharc__prof_step(what, arg);                                             \
  } while (0)

/* --- arrays -------------------------------------------------------------- */

struct sharc_array {
  sharc_pool *pool;
  sharc_array *next; /* the pool's list */
  uint32_t id;       /* unique within the pool */
  sharc_backing backing;
  sharc_dtype dtype;
  int ndim;
  int fortran_order;
  int prot;            /* PROT_READ or PROT_READ|PROT_WRITE */
  int interleaved;     /* pages spread over the workers' nodes (numa.c) */
  int worker_ro;       /* mapped read-only in workers (sharc's own arrays
                          that workers must only read: retry items) */
  uint64_t shape[SHARC_MAX_DIMS];
  int64_t strides[SHARC_MAX_DIMS];
  uint64_t size;       /* elements */
  uint64_t nbytes;     /* payload bytes */
  int fd;              /* kept open to hand to workers started later */
  void *base;          /* the mapping */
  uint64_t map_len;
  uint64_t data_off;   /* payload offset within the mapping */
  unsigned char *known; /* known[w]: worker w has it mapped */
  char *name;          /* shm name */
  char *path;          /* final path of a file */
  char *tmp_path;      /* uncommitted .npy output: its temporary name */
  long npy_hdr_len;    /* uncommitted .npy output: header length */
};

/* What a worker knows of an array: enough to build its task view. */
typedef struct sharc__wmap {
  uint32_t id;
  int ndim;
  sharc_dtype dtype;
  void *base;
  uint64_t map_len;
  void *data;
  uint64_t nbytes;
  uint64_t size;
  uint64_t shape[SHARC_MAX_DIMS];
  int ro; /* mapped read-only here */
} sharc__wmap;

/* A message on a worker's socket; MAP carries the fd (SCM_RIGHTS). */
enum { SHARC__MSG_MAP = 1, SHARC__MSG_DROP = 2 };
typedef struct sharc__msg {
  uint32_t op;
  uint32_t id;
  int32_t prot;
  int32_t ndim;
  int32_t dtype;
  uint32_t pad;
  uint64_t map_len;
  uint64_t data_off;
  uint64_t nbytes;
  uint64_t size;
  uint64_t shape[SHARC_MAX_DIMS];
} sharc__msg;

/* Sends array a to worker w (MAP with its fd). Returns 0 or negated errno. */
int sharc__array_send(sharc_pool *pool, sharc_array *a, unsigned w);
/* Marks every live array as known to worker w (a fresh fork inherits them). */
void sharc__arrays_inherited(sharc_pool *pool, unsigned w);
/* sharc_array_create for the library's own arrays made while a job runs
 * (journal, trace, retry items, reductions): the arrays lock, and the
 * message in the pool's buffer, the job's. */
int sharc__array_create(sharc_pool *pool, sharc_dtype dt, int ndim,
                        const uint64_t *shape, sharc_array **out);
/* Fills a worker-side map entry from an inherited array. */
void sharc__wmap_from_array(const sharc_array *a, sharc__wmap *m);

/* --- the task handle a kernel receives (worker side) -------------------- */

struct sharc_task {
  const sharc__job_desc *job;
  unsigned worker;
  unsigned nworkers;
  int numa;
  unsigned narrays;
  const sharc__wmap *arrays[SHARC_MAX_JOB_ARRAYS];
  /* The job's reductions, set per chunk by sharc__reduce_chunk(). */
  unsigned char *partials; /* NULL: the job has none */
  uint64_t red_begin, red_end; /* the chunk: the indices it may add to */
  uint64_t red_blk0; /* a part of a larger index space: its first block */
  sharc__reduce_desc red;      /* a private copy of the job's */
  void *local; /* what the worker's init hook stored */
};

/* Far more workers than any machine has PUs makes no sense and would make
 * the control block and poll sets unreasonably large. */
#define SHARC__MAX_WORKERS 4096

/* --- pool ---------------------------------------------------------------- */

typedef struct sharc__worker {
  pid_t pid;
  int pidfd;
  int sock; /* coordinator's end */
} sharc__worker;

struct sharc_pool {
  sharc_pool_opts opts;
  unsigned nworkers;
  sharc_plan plan;
  hwloc_topology_t topo; /* the process's, shared by its pools (pool.c) */
  int topo_is_this_system;
  sharc__cb *cb;
  uint64_t cb_len;
  int evfd;            /* workers signal job completion here */
  pid_t owner_pid;     /* the coordinator: workers check it after fork */
  sharc__worker *w;
  sharc_array *arrays;
  uint32_t next_array_id;
  double startup_s;
  int broken;          /* a worker could not be replaced: jobs refused */
  int tsc_clock;       /* the kernel's clocksource is the TSC: workers may
                          time chunks with it (worker.c) */
  int mail;            /* messages sent to workers since the last job */
  sharc_array *items;  /* retry passes' items, made by the first retry */
  sharc_array *trace;  /* the trace buffer, made by the first traced job */
  uint64_t trace_cap;  /* its records per worker */
  sharc_array *red_partials; /* reduce.c: kept for the next job's partials */
  struct sharc__queue *queue; /* handle.c: submitted jobs, the driver */
  /* Starting workers other than by fork (start_server.c, start_spawn.c). */
  int cb_fd;           /* the control block's memfd, for them to map; -1
                          with fork, whose workers inherit the mapping */
  int srv;             /* fork server: this pool's connection, or -1 */
  unsigned srv_kernels; /* fork server: kernels registered when it forked */
  struct sharc__exit *exits; /* fork server: statuses not yet asked for */
  unsigned nexits, exits_cap;
  char *worker_path;   /* spawn: the sharc-worker executable */
  char *kernel_libs;   /* spawn: the libraries workers load, ':'-separated */
  char (*knames)[SHARC_KERNEL_NAME_MAX]; /* spawn: kernels workers know */
  unsigned nknames;
  int knames_set;      /* a worker has said which kernels it knows */
  char *init_name;     /* hooks by name: the pool's copies (hooks.c) */
  char *fini_name;
  uint64_t id;         /* unique in the process: names the pool in
                          threads' own messages (util.c) */
  /* Held by the array functions and by whatever walks or changes the
   * arrays list, the arrays' known[] and mail: the caller's threads make
   * and drop arrays while the driver thread starts workers and posts jobs
   * (recursive: a start sends arrays with it held). */
  pthread_mutex_t arrays_mu;
  int arrays_mu_ok;
  char msg[SHARC__MSG_LEN];
};

void sharc__arrays_lock(sharc_pool *pool);
void sharc__arrays_unlock(sharc_pool *pool);

/* Whether the calling process is not the pool's creator (a child forked
 * from the coordinator): it then owns nothing of the pool but its own
 * copies of the mappings and descriptors. */
pid_t sharc__self_pid(void);
static inline int sharc__pool_foreign(const sharc_pool *pool) {
  return pool->owner_pid != sharc__self_pid();
}

/* Whether the coordinator shares a PU with a worker (a worker on every
 * usable PU): then waiting processes yield rather than spin. */
static inline int sharc__pool_shares_pu(const sharc_pool *pool) {
  return pool->plan.nworkers >= pool->plan.npus;
}

/* Starts worker w (fork, pin, handshake). Used at creation and to replace a
 * worker that died. Returns 0 or a negative code (message in the pool). */
int sharc__worker_start(sharc_pool *pool, unsigned w);
/* Starts a worker in place of w that joins job seq, which is running. */
int sharc__worker_join(sharc_pool *pool, unsigned w, uint32_t seq);
/* Waits until workers [first, last) have signalled ready or died. */
int sharc__workers_wait_ready(sharc_pool *pool, unsigned first, unsigned last);
/* SIGKILLs and reaps worker w; leaves its slot free for a restart. */
void sharc__worker_kill(sharc_pool *pool, unsigned w);
/* Kills and restarts every worker, resetting the control block. */
int sharc__pool_restart(sharc_pool *pool);
/* Reaps worker w after its pidfd became readable; describes how it died
 * into buf ("killed by signal 9 (Killed)", "exited with status 3").
 * Returns the signal that killed it, or 0. */
int sharc__worker_reap(sharc_pool *pool, unsigned w, char *buf, size_t len);

/* Binds the pages of [addr, addr+len) block by block to the NUMA node of
 * the worker that owns each block under a static split, so that reserving
 * them (fallocate) puts each block near its worker. No-op on one node. */
void sharc__place_pages(sharc_pool *pool, void *addr, uint64_t len);

/* --- traces -------------------------------------------------------------- */

/* Makes (or reuses) the trace buffer for a job of `units` claimable units
 * and hands it to every worker; *id and *per_worker go into the job
 * descriptor. Returns 0 or a negative code (message in the pool). */
int sharc__trace_prepare(sharc_pool *pool, uint64_t units, uint32_t *id,
                         uint64_t *per_worker);

typedef struct sharc__trace_info {
  const char *kernel;
  uint64_t n;
  sharc_schedule schedule;
  int status;
  uint64_t post_ns, done_ns;
} sharc__trace_info;

/* Writes the recorded chunks to path (temporary name, then rename),
 * checking every record. Returns 0 or a negative code. */
int sharc__trace_write(sharc_pool *pool, const char *path,
                       const sharc__trace_info *ti);

/* What a worker knows of its pool, however it was started: filled from the
 * pool in a child forked from the coordinator, from the fork server's or
 * the coordinator's messages otherwise (start_server.c, start_spawn.c). */
typedef struct sharc__wconf {
  sharc__cb *cb;          /* the control block as mapped in the worker */
  unsigned id, nworkers;
  int sock;               /* the worker's end of its socket */
  int evfd;               /* the pool's eventfd */
  uint32_t seen;          /* the last job it has seen */
  pid_t parent;           /* its parent: it leaves at once if that died */
  sharc_placement *plan;  /* nworkers entries */
  int pin;
  int tsc_clock;          /* see sharc_pool.tsc_clock */
  int share_pu;           /* see sharc__pool_shares_pu() */
  unsigned spin_us;
  sharc_worker_init_fn init; /* fork and fork server only */
  sharc_worker_fini_fn fini;
  void *init_arg;
  const sharc_array *inherited; /* fork: the coordinator's arrays, mapped */
  int fresh; /* inherited no mappings: every array waits on the socket */
} sharc__wconf;

/* A worker's configuration on the wire (fork server, spawn): this header,
 * nworkers placements, then libs_len bytes of ':'-separated library paths,
 * init_len and fini_len bytes of the hooks' names (spawn; no NULs). With it travel the control block's memfd and the eventfd, and
 * for the fork server the worker's socket (SCM_RIGHTS). */
#define SHARC__WIRE_MAGIC 0x57435253u /* "SRCW" */
typedef struct sharc__wire {
  uint32_t magic, id, nworkers, seen;
  int32_t parent, pin, tsc_clock, share_pu;
  uint32_t spin_us, libs_len, want_kernels, init_len;
  uint32_t fini_len, pad;
  uint64_t cb_len;
  uint64_t init, fini, init_arg; /* fork server: addresses in its image */
} sharc__wire;

/* The wire form of worker w's configuration, malloc'd; *len its size. */
void *sharc__wire_make(const sharc_pool *pool, unsigned w, uint32_t seen,
                       pid_t parent, size_t *len);
/* Checks a received configuration and maps the control block from cb_fd
 * into conf (plan points into buf). Returns 0 or a negative code. */
int sharc__wire_conf(const void *buf, size_t len, int cb_fd, int evfd,
                     int sock, sharc__wconf *conf);
/* sendmsg/recvmsg of one message with up to 4 descriptors (SCM_RIGHTS).
 * send returns 0 or negated errno; recv returns the bytes received (0 at
 * the end of the stream) or negated errno, received descriptors close on
 * exec and any beyond *nfds are closed. */
int sharc__send_fds(int sock, const void *buf, size_t len, const int *fds,
                    unsigned nfds);
ssize_t sharc__recv_fds(int sock, void *buf, size_t cap, int *fds,
                        unsigned *nfds, int flags);

/* Fork server (start_server.c): connects the pool to the server, starting
 * it if sharc_init() did not; starts worker w with the worker's end of its
 * socket; gives the status of a worker whose pidfd became readable (as
 * waitpid's; -1 if the server did not tell). */
int sharc__server_connect(sharc_pool *pool);
int sharc__server_fork(sharc_pool *pool, unsigned w, int sock, uint32_t seen,
                       pid_t *pid, int *pidfd);
int sharc__server_status(sharc_pool *pool, pid_t pid);

/* Spawn (start_spawn.c): finds the worker executable and the kernel
 * libraries; starts worker w; takes a started worker's first message (the
 * kernels it knows, or why it could not load its libraries) into the pool,
 * or its failure text into why. */
int sharc__spawn_prepare(sharc_pool *pool);
int sharc__spawn_worker(sharc_pool *pool, unsigned w, int sock, uint32_t seen,
                        pid_t *pid, int *pidfd);
int sharc__spawn_hello(sharc_pool *pool, unsigned w, char *why, size_t len);

/* Hooks by name (hooks.c). prepare, at pool creation: copies the names
 * into the pool (opts then points at the copies), refuses a hook given
 * both ways, and for workers that are copies of the coordinator (fork,
 * fork server) resolves the names into opts.init and opts.fini here.
 * find, in a spawned worker: the name in the loaded libraries, in order,
 * then in the executable; NULL if none has it. */
#define SHARC__HOOK_NAME_MAX 256
int sharc__hooks_prepare(sharc_pool *pool);
void *sharc__hook_find(void *const *libs, unsigned nlibs, const char *name);

/* Whether the pool's workers can run kernel `name`: 0, or a negative code
 * with the pool's message naming the kernel and the start method. */
int sharc__kernel_check(sharc_pool *pool, const char *name);
/* The kernel's registration index, or -1. */
int sharc__kernel_index(const char *name);

/* Binds process pid (0: the caller) to PU pu (an OS index; < 0: none),
 * best effort. The parent of a just-forked worker calls it before the
 * worker runs: moving a task that has not run yet is a runqueue change,
 * while a running task that binds itself away from its CPU waits for the
 * kernel's migration thread there. */
void sharc__pin_pid(pid_t pid, int pu);

/* The worker's main loop; never returns. */
_Noreturn void sharc__worker_main(const sharc__wconf *conf);
/* Fills the configuration of worker w from the pool (fork). */
void sharc__wconf_from_pool(const sharc_pool *pool, unsigned w, int sock,
                            uint32_t seen, sharc__wconf *conf);

#include "claim.h"

/* --- jobs as handles (handle.c) ----------------------------------------- */

/* The pool's queue and driver: made with the pool (no thread until the
 * first submit), stopped by sharc_pool_destroy before the workers. */
int sharc__queue_init(sharc_pool *pool);
void sharc__queue_stop(sharc_pool *pool);
/* A job's options as the library keeps them: the caller's lists copied
 * (a queued job runs after sharc_submit() returned, when the caller's
 * lists may be gone), with room for what the library adds (the partials
 * of a job with reductions). o points into the struct itself: made by
 * sharc__opts_copy, never copied by value. */
typedef struct sharc__opts {
  sharc_job_opts o;
  sharc_array *arrays[SHARC_MAX_JOB_ARRAYS];
  sharc_reduce_spec reduce[SHARC_MAX_JOB_REDUCTIONS];
} sharc__opts;

/* Copies src (whose size field was checked) into dst. SHARC_EINVAL, with
 * the pool's message when pool is not NULL, for a list longer than the
 * library takes or a count without its list; dst is then defaults. */
int sharc__opts_copy(sharc_pool *pool, sharc__opts *dst,
                     const sharc_job_opts *src);

/* Reports (report.c). begin: checks rep's size field (SHARC_EINVAL with
 * the pool's message) and empties it, its strings "" (NULL rep: 0). */
int sharc__report_begin(sharc_pool *pool, sharc_report *rep);
/* The strings of reports and results: set one (the old one freed; ""
 * when out of memory), or free one (NULL after). */
extern const char sharc__empty[];
void sharc__text_set(const char **field, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void sharc__text_free(const char **field);

/* What every call that runs a job checks first: a pool, a report of this
 * library's size (emptied), and not a process forked from the pool's
 * creator. Returns 0 or the code, with the pool's message. */
int sharc__run_entry(sharc_pool *pool, sharc_report *rep);

/* sharc_run's body: in this thread when the pool is idle, else queued. */
int sharc__run_or_queue(sharc_pool *pool, const char *kernel, uint64_t n,
                        const sharc_job_opts *o, sharc_report *rep);

/* --- futex on the shared mapping ---------------------------------------- */

void sharc__futex_wait(_Atomic uint32_t *addr, uint32_t expected);
void sharc__futex_wake_all(_Atomic uint32_t *addr);

#endif
