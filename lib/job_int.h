/* Internal: a job as the coordinator runs it. The lifecycle is in job.c
 * (prepare -> post -> wait -> passes -> finish -> report); each part of it
 * has a file of its own:
 *   wait.c      waiting for a pass: spinning, sleeping on the eventfd and
 *               pidfds, cancellation
 *   watchdog.c  per-chunk timeouts (fault.timeout_s, timeout_x)
 *   deaths.c    a worker that died: how, what it held, its replacement
 *   verify.c    the control block read as untrusted input, and the tallies
 *               that prove every index ran
 *   passes.c    the fault policy's retry passes (bookkeeping in fault.c)
 *   reduce.c, journal.c, trace.c, report.c: the job's options of those
 *               names. */
#ifndef SHARC_LIB_JOB_INT_H
#define SHARC_LIB_JOB_INT_H

#include "fault.h"
#include "internal.h"
#include "journal.h"

/* The largest n: keeps the shared claim counter far from overflow. */
#define SHARC__MAX_N (UINT64_C(1) << 62)
/* How often the coordinator looks at the slots even without a wake-up: the
 * words that decide wake-ups (sleepers, coord_waiting) live in the control
 * block, which a worker may corrupt. */
#define SHARC__POLL_MS 100
/* How long the coordinator spins for a job to finish before it sleeps. */
#define SHARC__COORD_SPIN_NS 50000u
/* How often a running job writes its journal. */
#define SHARC__JOURNAL_EVERY_NS 200000000u
/* How long chunks already running may go on after a cancel. */
#define SHARC__CANCEL_GRACE_NS 100000000u
/* How often a job that reports progress looks at its done map at most. */
#define SHARC__PROGRESS_NS 1000000u
/* A job gives up on retrying after this many passes (each pass halves the
 * failing ranges, so a poison index is isolated in about 64). */
#define SHARC__MAX_PASSES 1000

/* Timeouts: what the coordinator knows of one worker's running chunk. */
typedef struct sharc__watch {
  uint64_t start;   /* the chunk start the signals were for */
  uint64_t term_ns; /* when SIGTERM went, 0: not yet */
  uint64_t limit;   /* the limit it broke */
  int timed_out;
  uint64_t seen;        /* the chunk start last seen running */
  uint64_t cpu0, wait0; /* the worker's CPU and run-queue wait times
                           when the coordinator first saw it */
} sharc__watch;

/* What the retry passes add up to, for the report. */
typedef struct sharc__fault_run {
  unsigned passes, deaths, kernel_errors, recycled;
  uint64_t retried;
  double replace_s;
  unsigned replaced;
} sharc__fault_run;

struct job_state;
/* What a job submitted as a handle (handle.c) adds to the lifecycle. */
typedef struct sharc__job_hooks {
  int done_map; /* keep a done map: the journal's bitmap, without a file */
  /* Called in the coordinator after each wake-up while a pass runs, and
   * once before the done map goes, with the job and arg. */
  void (*progress)(const struct job_state *js, void *arg);
  void *arg;
  /* A part of a larger index space (subrange.c): the kernel sees base + i,
   * sharc_task_n() says global_n, and the reductions' block partials go to
   * partials_out instead of being combined. All 0 otherwise. */
  uint64_t base, global_n;
  void *partials_out;
} sharc__job_hooks;

typedef struct job_state {
  sharc_pool *pool;
  const sharc__job_hooks *hooks; /* NULL: none (sharc_run) */
  const char *kernel;
  uint64_t n;
  const sharc_job_opts *o; /* the options as run: SHARC_SCHEDULE applied,
                              grain set by reductions or the journal */
  uint32_t seq;
  uint64_t post_ns, done_ns;
  unsigned ndead;
  int first_dead;      /* lowest dead worker, or -1 */
  char dead_why[352];  /* how it died */
  uint64_t dead_range[2];
  uint32_t trace_id; /* 0: no trace */
  uint64_t trace_cap;
  uint32_t items_id; /* retry passes: the items array, else 0 */
  uint64_t nitems;
  sharc__wstate *ws; /* with a fault policy: who died, and how */
  sharc__watch *watch; /* timeouts: NULL when not watching */
  double timeout_s, timeout_x;
  uint64_t typical_ns; /* the last typical chunk time seen in this job */
  int poll_ms;
  uint64_t cancel_at; /* a cancel was seen: in-flight chunks end by then */
  int canceled;
  sharc__journal *journal;     /* NULL: no journal */
  uint32_t sched_kind;         /* the pass's schedule (SHARC__SCHED_ITEMS) */
  sharc__tally harvest; /* what workers replaced during the pass tallied */
  unsigned recycled_mid; /* workers recycled and replaced during the pass */
  unsigned deaths_mid;   /* workers that died and were replaced during it */
  uint64_t chunk;        /* the first pass's schedule chunk */
  unsigned mismatches;   /* passes in a row whose tallies did not add up */
  char fatal_why[352];   /* a worker died of a fault that is no property of
                            its indices (a truncated input, a write into
                            read-only job memory): how; fails the job */
  sharc__faults *faults; /* with a fault policy: the passes' bookkeeping */
  sharc__fault_run fr;   /* and what they added up to */
  sharc_report *rep;     /* NULL: none wanted */
  uint64_t first_post_ns; /* when the job's first pass was posted */
  uint64_t progress_ns;   /* the progress hook runs again from then */
  uint64_t base, global_n; /* a part of a larger index space (hooks) */
} job_state;

/* job.c */
/* The whole job (see job.c). Blocks until it ends. */
int sharc__job_execute(sharc_pool *pool, const char *kernel, uint64_t n,
                       const sharc_job_opts *o, sharc_report *rep,
                       const sharc__job_hooks *hooks);

/* handle.c */
/* Runs the job in the calling thread when the pool is idle (nothing queued
 * or running), as sharc_run() does; *ran = 0 and nothing done otherwise. */
int sharc__run_if_idle(sharc_pool *pool, const char *kernel, uint64_t n,
                       const sharc_job_opts *o, sharc_report *rep,
                       const sharc__job_hooks *hooks, int *ran);
void sharc__post_job(job_state *js);
int sharc__send_array(sharc_pool *pool, job_state *js, sharc_array *a,
                      unsigned w);

/* wait.c */
/* How long running chunks may go on after a cancel (handle.c: none once
 * the pool is terminated). */
uint64_t sharc__cancel_grace_ns(const sharc_pool *pool);
int sharc__wait_pass(job_state *js);
int sharc__cancel_seen(const job_state *js);
int sharc__cancelled(job_state *js);

/* watchdog.c */
void sharc__watchdog(job_state *js);
void sharc__signal_worker(sharc_pool *pool, unsigned w, int sig);

/* deaths.c */
void sharc__record_death(job_state *js, unsigned w);
void sharc__replace_dead(sharc_pool *pool);

/* verify.c */
int sharc__check_all(job_state *js);
int sharc__job_status(const job_state *js);
void sharc__items_tally(sharc__tally *t, const sharc__fitem *fi, size_t k,
                        uint64_t n);
int sharc__verify_pass(job_state *js, const sharc__tally *meant);

/* passes.c */
int sharc__fault_passes(job_state *js, int resumed);
void sharc__report_faults(const job_state *js, int rc, double wall_s);

#endif
