/* sharc: jobs — a kernel run over the index space [0, n) by a pool.
 *
 * Claiming a chunk of indices is one atomic operation on the pool's shared
 * control block: no system call, lock or message. */
#ifndef SHARC_JOB_H
#define SHARC_JOB_H

#include "array.h"
#include "reduce.h"
#include "report.h"
#include "schedule.h"

#ifdef __cplusplus
extern "C" {
#endif

#define SHARC_MAX_JOB_ARRAYS 16
#define SHARC_MAX_ARGS 4096

/* What to do with an index that keeps failing once retries are used up. */
typedef enum {
  SHARC_POISON_QUARANTINE = 0, /* leave it out, finish the rest, report it */
  SHARC_POISON_STOP = 1        /* fail the job, naming it */
} sharc_poison_action;

/* Fault policy. retries = 0 (the default): a worker that dies or a kernel
 * that returns an error fails the job (SHARC_EWORKER, SHARC_EKERNEL).
 * retries = r > 0, for kernels that may run an index again with the same
 * effect (idempotent): a range whose worker died (its claimed range and, for
 * static schedules, what it had not reached) or whose kernel call returned
 * an error is run again after the pass, on fresh workers; a failing range
 * of more than one index is split in halves, so repeated failures narrow
 * down to the exact indices; an index that fails alone r + 1 times is
 * poison, handled by on_poison. With a grain g, ranges split down to g
 * indices and a block of g is quarantined whole. */
typedef struct sharc_fault_policy {
  unsigned retries;
  sharc_poison_action on_poison;
  /* Per-chunk timeouts for kernels that hang: a chunk running longer than
   * timeout_s seconds (0: no limit), or longer than timeout_x times the
   * typical chunk time of the job so far (the median of the workers'
   * running medians, never below 10 ms; it applies once some chunk of the
   * job has ended, so give timeout_s too for a hard limit on the very
   * first chunks; 0: no limit), gets its worker SIGTERM, then SIGKILL
   * after a grace of a tenth of the limit (at least 50 ms); the chunk then
   * counts as failed, like a crash (retried and narrowed down with
   * retries > 0, else the job fails with SHARC_EWORKER). Watching costs a
   * clock read per chunk and a look at the slots every quarter of the
   * limit (at most every 100 ms). */
  double timeout_s;
  double timeout_x;
  /* Worker recycling, for kernels that leak or fragment memory: a worker
   * that has run recycle_chunks chunks in its life (0: no limit), or whose
   * private resident memory has grown by more than recycle_rss bytes since
   * the worker started (0: no limit; looked at once per millisecond of work
   * at most; memory it shares copy-on-write with the coordinator since the
   * fork is not its growth), finishes that chunk and exits. A fresh worker
   * takes its place at once and joins the running job (under static
   * schedules, whose ranges belong to their workers, after the pass, and
   * what it had not reached runs in the next pass). Recycling is not a
   * failure: it needs no retries and never makes work larger. auto's
   * chunks last about SHARC_AUTO_TARGET_NS once a worker has measured the
   * cost, so recycle_chunks under auto is a measure of time: 100 chunks is
   * about 2 ms of work. A fresh worker starts at one index per chunk and
   * learns the cost over its first chunks (a cold first chunk can keep it
   * at single indices for 16 more): well below 100, workers are recycled
   * before their chunks grow and the job crawls at a fork per few indices.
   * For a few calls per worker (Python's maxtasksperchild), give a fixed
   * chunk (dynamic:k) or recycle by memory (recycle_rss). */
  uint64_t recycle_chunks;
  uint64_t recycle_rss;
} sharc_fault_policy;

#ifndef __cplusplus
#define SHARC_FAULT_POLICY_INIT                                                \
  {.retries = 0, .on_poison = SHARC_POISON_QUARANTINE, .timeout_s = 0.0,       \
   .timeout_x = 0.0, .recycle_chunks = 0, .recycle_rss = 0}
#else /* C++17 has no designated initializers: the same, by position */
#define SHARC_FAULT_POLICY_INIT {0, SHARC_POISON_QUARANTINE, 0.0, 0.0, 0, 0}
#endif

typedef struct sharc_job_opts {
  /* sizeof(sharc_job_opts), as SHARC_JOB_OPTS_INIT sets it: the library
   * checks it (SHARC_EINVAL naming both sizes), so a program built
   * against other headers is told, not misread. Make options with
   * SHARC_JOB_OPTS_INIT and set the fields you need. */
  size_t size;
  sharc_schedule schedule; /* default auto: no chunk size to choose */
  const void *args; /* argument bytes for the kernel, copied once per job */
  size_t args_len;  /* at most SHARC_MAX_ARGS */
  /* The arrays the kernel sees, sharc_task_array(t, i) being arrays[i]:
   * narrays of them, at most SHARC_MAX_JOB_ARRAYS (one fewer in a job with
   * reductions). The list is the caller's; sharc_run() and sharc_submit()
   * read it (sharc_submit() keeps a copy), so it need not outlive the call.
   *   sharc_array *in_out[] = {x, y};
   *   o.arrays = in_out; o.narrays = 2; */
  sharc_array *const *arrays;
  unsigned narrays;
  /* 1: measure per-worker CPU time and peak RSS during the job (two small
   * /proc accesses per worker per job); 0: skip, for the lowest latency. */
  int measure_rusage;
  /* 0 or 1: chunks may start at any index. g > 1: every chunk boundary is
   * a multiple of g (the last chunk ends at n), whatever the schedule and
   * worker count, so a kernel can keep per-block state that does not
   * depend on how the work was split (deterministic reductions). */
  uint64_t grain;
  /* Reductions (sharc/reduce.h): nreduce declarations, at most
   * SHARC_MAX_JOB_REDUCTIONS; the kernel adds to reduction r with
   * sharc_task_reduce(t, r, ...) and its result goes to reduce_out[r]. The
   * declarations are read like the arrays (sharc_submit() copies them);
   * the results, and what a declaration points to (bins, sums, counts, a
   * custom state), are the caller's and must stay valid until the job is
   * over (sharc_run() returned, or sharc_job_wait() said so). */
  const sharc_reduce_spec *reduce;
  sharc_reduce_result *reduce_out;
  unsigned nreduce;
  uint64_t reduce_block; /* 0: the default block size (sharc/reduce.h) */
  /* A file to write the job's trace to: every chunk with its worker, start
   * and end time and index range, and for stolen ranges whom they came
   * from (format below). Written after the job, also after a failure, under
   * a temporary name renamed into place, only over nothing or a regular
   * file: a symbolic link (-ELOOP), a directory (-EISDIR) or a FIFO or
   * device (-EEXIST) at the path is left as it is and the job fails with
   * that code, naming it. NULL: no trace. Tracing times
   * every chunk (two clock reads each) and records at most
   * SHARC_TRACE_MAX_RECORDS chunks in all (at least 4096 per worker); the
   * rest are counted as dropped. */
  const char *trace_path;
  sharc_fault_policy fault; /* retries, poison (above) */
  /* A journal of completed ranges, for jobs that write into file-backed
   * arrays: the job marks each block of indices it has finished in a shared
   * bitmap and writes it to journal_path (beside the output, by convention
   * OUTPUT.journal) every 200 ms and at its end, after syncing the job's
   * file-backed arrays (msync), so the journal never claims data that is
   * not in the file. A new journal is written whole under a temporary
   * name and renamed into place, like a trace (only over nothing or a
   * regular file), before the job starts. NULL: no journal. With resume = 1
   * the job reads the
   * journal first (it must be the same kernel, n, argument bytes and array
   * sizes, or SHARC_EINVAL names what differs) and runs only the blocks it
   * does not mark done (the journal must be a regular file, not a
   * symbolic link; a missing one gives -ENOENT): after the coordinator
   * died, the output ends up
   * identical to an uninterrupted run's. Not with reductions (their
   * partials die with the coordinator). */
  const char *journal_path;
  int resume;
  /* 1: after the job, count where the pages of each of its arrays are
   * (sharc_array_page_census(), per node too) into the report's census,
   * to check that first touch and binding did what the plan says. Costs
   * one pass of move_pages(2) over the arrays' pages after the job (about
   * 1 ms per 100,000 pages here); 0: none. */
  int census;
} sharc_job_opts;

/* Fields not named are 0 or NULL. */
#ifndef __cplusplus
#define SHARC_JOB_OPTS_INIT                                                    \
  {.size = sizeof(sharc_job_opts), .schedule = SHARC_SCHEDULE_DEFAULT,         \
   .measure_rusage = 1, .fault = SHARC_FAULT_POLICY_INIT}
#else /* C++17 has no designated initializers: the same, by position */
#define SHARC_JOB_OPTS_INIT                                                    \
  {sizeof(sharc_job_opts), SHARC_SCHEDULE_DEFAULT, NULL, 0, NULL, 0, 1, 0,     \
   NULL, NULL, 0, 0, NULL, SHARC_FAULT_POLICY_INIT, NULL, 0, 0}
#endif

/* The trace format, one text line per item:
 *   # sharc trace 1
 *   kernel NAME
 *   n N
 *   workers W
 *   schedule SCHED
 *   status NAME          (ok, or the error's name)
 *   makespan_ns T        (from posting the job to its last worker's end)
 *   dropped D            (chunks not recorded)
 *   c WORKER START_NS END_NS BEGIN END VICTIM SEARCH_NS
 * one c line per chunk: times in ns since the job was posted, the index
 * range [BEGIN, END), VICTIM the worker its range was stolen from or -1,
 * SEARCH_NS the time spent finding it (stealing) just before the chunk.
 * Lines starting with # are comments; readers ignore keys they do not
 * know. `sharc report FILE` summarises and draws it. */
#define SHARC_TRACE_MAX_RECORDS (UINT64_C(1) << 20)

/* Runs kernel over [0, n) on every worker of the pool and waits for it.
 * opts may be NULL (defaults). rep may be NULL; otherwise it is filled (also
 * on failure, as far as the job got) and must be released with
 * sharc_report_free().
 *
 * What 0 proves: every index of [0, n) was run by a kernel call that
 * returned 0, and the workers' own records of the ranges they completed
 * (count, sum and sum of squares of the indices, kept by each worker in
 * its slot) add up to exactly [0, n), once. With a fault policy each pass
 * is held to the same account: what the workers completed, what the next
 * pass runs and what was quarantined must add up to exactly what the pass
 * was meant to run, or the pass runs again (three times at most in a row,
 * then SHARC_ECORRUPT). A kernel that scribbles on sharc's claim counters
 * or range words makes workers skip or repeat indices, which these records
 * show: it can fail a job, never make it return 0 with an index missing.
 * A record forged to match on purpose is beyond what is checked. Retried
 * indices ran more than once in all, but once in a call that returned 0.
 *
 * SHARC_EQUARANTINED: the job finished but the report's quarantined
 * ranges (each exactly the failing indices, down to the job's grain) were
 * left out; every other index was computed.
 * Errors: SHARC_ENOKERNEL (no such kernel; nothing runs), SHARC_EINVAL
 * (also: called from a process forked from the pool's creator),
 * SHARC_EKERNEL (a kernel returned an error: the message names the worker,
 * range and code), SHARC_EWORKER (a worker died: the message names it, its
 * signal and the range it held, and says "input truncated" naming the file
 * when a mapped file shrank, or "read-only" when the kernel wrote into the
 * job descriptor, both failing the job at once under any fault policy; a
 * fresh worker takes its place so the pool stays usable), SHARC_ECORRUPT (a
 * worker wrote nonsense into the control block, or the records of
 * completed ranges do not add up: the message says which; the workers are
 * restarted), SHARC_ECANCELED.
 * Details: sharc_pool_errmsg() (sharc_job_errmsg() for a queued job, see
 * below). Blocks. Thread-safe: it is sharc_submit() + sharc_job_wait() when
 * the pool is busy, and runs in the calling thread when nothing is queued
 * or running. SHARC_ECLOSED after sharc_pool_close(). In a process forked
 * from the pool's creator: refused (SHARC_EINVAL). */
SHARC_API int sharc_run(sharc_pool *pool, const char *kernel, uint64_t n,
                        const sharc_job_opts *opts, sharc_report *rep);

/* --- Jobs as handles ------------------------------------------------------
 *
 * sharc_submit() queues a job and returns its handle at once; the pool's
 * driver thread (started by the first submit; it lives as long as the
 * pool, with every signal blocked) runs queued jobs one after another, in
 * submission order. sharc_run() is submit + wait; it runs the job in the
 * calling thread when nothing is queued or running.
 *
 * Thread-safety: every function below may be called from any thread, on
 * the same pool or job, concurrently. Fork: in a process forked from the
 * pool's creator they return SHARC_EINVAL (sharc_job_free() only releases
 * the child's copy of the handle's memory).
 *
 * What a job uses must outlive it: the arrays in its options and the
 * results its reductions write (reduce_out) are the caller's until the job
 * is done (sharc_job_wait() returned something other than
 * SHARC_ETIMEDOUT). The rest of the options is copied by sharc_submit():
 * argument bytes, trace and journal paths. */

#ifndef SHARC__JOB_TYPEDEF /* C99 and C++98 reject a repeated typedef */
#define SHARC__JOB_TYPEDEF
typedef struct sharc_job sharc_job;
#endif

/* Called in the pool's driver thread with each range of indices the job
 * completed (at the granularity of its done map, see `stream`), as they
 * complete, in no particular order; every index the job completes is in
 * exactly one call. It must not wait for its own job or submit blocking
 * into a full queue (the driver would wait for itself). */
typedef void (*sharc_range_fn)(sharc_job *job, uint64_t begin, uint64_t end,
                               void *arg);

typedef struct sharc_submit_opts {
  /* sizeof(sharc_submit_opts), as SHARC_SUBMIT_OPTS_INIT sets it: the
   * library checks it, so that fields added later are told apart. */
  size_t size;
  /* 0: sharc_submit() blocks while the pool's queue is full; 1: it
   * returns SHARC_EAGAIN at once (backpressure either way). */
  int nowait;
  /* 1: the job keeps a done map, one bit per block of indices (n / 2^20
   * rounded up, a multiple of the grain; the block becomes the job's
   * grain), marked by workers as chunks complete (one atomic OR each, and
   * the plain fast loop is not used): it feeds sharc_job_next(),
   * sharc_job_next_ordered(), on_range and live progress counts. If the
   * coordinator runs out of memory keeping the ranges not yet given, the
   * job ends with SHARC_ENOMEM, never as if every range had been given. */
  int stream;
  sharc_range_fn on_range; /* NULL: none; else implies stream */
  void *on_range_arg;
} sharc_submit_opts;

#ifndef __cplusplus
#define SHARC_SUBMIT_OPTS_INIT {.size = sizeof(sharc_submit_opts)}
#else /* C++17 has no designated initializers: the same, by position */
#define SHARC_SUBMIT_OPTS_INIT {sizeof(sharc_submit_opts), 0, 0, NULL, NULL}
#endif

/* Queues kernel over [0, n) with opts (NULL: defaults) and sopts (NULL:
 * defaults) and sets *out to the job's handle, owned by the caller
 * (sharc_job_free()). Errors: SHARC_EINVAL (NULL pool or out, kernel name
 * missing or too long, argument bytes too long, opts->size or
 * sopts->size not the size of the struct (not made by its _INIT macro), a
 * forked child), SHARC_ECLOSED (the pool was closed or terminated),
 * SHARC_EAGAIN (the queue is full and sopts->nowait), SHARC_ENOMEM.
 * Everything else about the job (an unknown kernel, a bad schedule) is
 * the job's status, given by sharc_job_wait(). Blocks only while the queue
 * is full (not with nowait). */
SHARC_API int sharc_submit(sharc_pool *pool, const char *kernel, uint64_t n,
                           const sharc_job_opts *opts,
                           const sharc_submit_opts *sopts, sharc_job **out);

/* Waits up to timeout_s seconds (< 0: for ever; 0: just looks) for the job
 * to end. Returns SHARC_ETIMEDOUT if it has not, else the job's status, as
 * sharc_run() would have returned it (SHARC_ECANCELED for a job cancelled
 * while queued). May be called again, from any thread. */
SHARC_API int sharc_job_wait(sharc_job *job, double timeout_s);

/* The job's report once it has ended (owned by the job, valid until
 * sharc_job_free()), or NULL while it is queued or running. */
SHARC_API const sharc_report *sharc_job_report(const sharc_job *job);

/* The job's error message once it has ended ("" on success), or "". Owned
 * by the job. With several threads using one pool, read this rather than
 * sharc_pool_errmsg(). */
SHARC_API const char *sharc_job_errmsg(const sharc_job *job);

/* Cancels the job: a queued job is taken off the queue (its status is
 * SHARC_ECANCELED); a running one is cancelled as by sharc_pool_cancel()
 * (chunks running get 100 ms); an ended one is left as it is. Returns 0,
 * or SHARC_EINVAL. Does not wait: sharc_job_wait() does. Not
 * async-signal-safe (it takes the pool's lock): from a signal handler use
 * sharc_pool_cancel(). */
SHARC_API int sharc_job_cancel(sharc_job *job);

/* Releases the handle. A job still queued or running is not stopped: it
 * runs to its end and is released then (use sharc_job_cancel() first to
 * stop it). NULL is a no-op. After sharc_pool_destroy() (which cancels
 * what was queued or running) a handle still gives its final status
 * (sharc_job_wait()), report and message; sharc_job_cancel() and
 * sharc_job_progress() say SHARC_EINVAL. */
SHARC_API void sharc_job_free(sharc_job *job);

/* A file descriptor (an eventfd, owned by the job, closed by
 * sharc_job_free()) that becomes readable when the job has progress to
 * give (a completed range for a stream) or has ended: for poll, epoll,
 * select or libuv's uv_poll. Read 8 bytes from it to clear it; it is
 * non-blocking. Returns -1 for NULL. */
SHARC_API int sharc_job_fd(const sharc_job *job);

typedef enum {
  SHARC_JOB_QUEUED = 0,
  SHARC_JOB_RUNNING = 1,
  SHARC_JOB_DONE = 2
} sharc_job_state;

typedef struct sharc_progress {
  /* sizeof(sharc_progress), as SHARC_PROGRESS_INIT sets it: checked, so
   * that a program built with a smaller struct is refused, not overrun. */
  size_t size;
  sharc_job_state state;
  uint64_t n;
  /* Indices completed so far: for a stream, from its done map (looked at
   * every millisecond at most); otherwise what the workers have counted in
   * their slots, looked at whenever the coordinator wakes (at least every
   * 100 ms); exact once the job has ended, but for a job cancelled with
   * chunks still running: a worker killed after the grace has not said
   * what it did, and its indices are not counted (a lower bound then; a
   * journal records what such workers completed). */
  uint64_t done;
  int live;            /* 1: done comes from a done map (a stream) */
  unsigned passes;     /* passes run so far (retry passes with a policy) */
  unsigned failures;   /* worker deaths and kernel errors so far */
  double elapsed_s;    /* since the job started running (0 while queued) */
} sharc_progress;

#ifndef __cplusplus
#define SHARC_PROGRESS_INIT {.size = sizeof(sharc_progress)}
#else /* C++17 has no designated initializers: the same, by position */
#define SHARC_PROGRESS_INIT                                                    \
  {sizeof(sharc_progress), SHARC_JOB_QUEUED, 0, 0, 0, 0, 0, 0.0}
#endif

/* The job's progress counters into *p, made with SHARC_PROGRESS_INIT:
 *   sharc_progress pr = SHARC_PROGRESS_INIT;
 *   sharc_job_progress(job, &pr);
 * Returns 0, or SHARC_EINVAL (NULL job or p, a job whose pool was
 * destroyed, p->size not the size of the struct). Never blocks on the job
 * (only on the pool's lock, briefly); thread-safe; in a child forked from
 * the pool's creator, SHARC_EINVAL. */
SHARC_API int sharc_job_progress(const sharc_job *job, sharc_progress *p);

/* The unordered stream (like Python's imap_unordered): waits up to
 * timeout_s (< 0: for ever) for a range of indices the job completed that
 * this stream has not given yet, and returns 1 with it in [*begin, *end);
 * ranges come as chunks complete and together cover every index the job
 * completed, once. One exception: retry passes narrow failing ranges down
 * below a done-map block (n > 2^20), and a block completed in such pieces
 * is given when the job ends with 0 or SHARC_EQUARANTINED (less its
 * quarantined indices), but left out if the job is cancelled or fails.
 * Returns 0 when the job has ended and every range was given,
 * SHARC_ETIMEDOUT, or SHARC_EINVAL (no stream was asked for). */
SHARC_API int sharc_job_next(sharc_job *job, uint64_t *begin, uint64_t *end,
                             double timeout_s);

/* The ordered stream (like Python's imap): waits up to timeout_s (< 0: for
 * ever) until the completed prefix [0, *upto) of the index space is longer
 * than this stream last gave, and returns 1 with its new end in *upto.
 * Returns 0 when the job has ended and the prefix will grow no more (it
 * ends at n, or at the first index that did not complete: quarantined, or
 * the job failed), SHARC_ETIMEDOUT, or SHARC_EINVAL (no stream). */
SHARC_API int sharc_job_next_ordered(sharc_job *job, uint64_t *upto,
                                     double timeout_s);

#ifdef __cplusplus
}
#endif
#endif
