/* Jobs: the lifecycle of a kernel run over [0, n) by a pool, top to bottom
 * in job_execute(): prepare (check the options, set up each feature the
 * options ask for) -> post -> wait -> check -> the fault policy's passes ->
 * finish (each feature's end, in order) -> report. Each part has a file of
 * its own (job_int.h lists them). */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "job_int.h"
#include "report_int.h"

/* A job being run: its state, and what its features keep. */
typedef struct job {
  job_state js;
  sharc__opts opts;      /* the options as run (js.o points to opts.o) */
  sharc__reduce_job rj;  /* reductions (reduce.c) */
  sharc__journal jn;     /* the journal (journal.c), when js.journal */
  sharc__faults faults;  /* the fault policy (fault.c), when js.faults */
  int retrying;   /* the pass machinery runs: retries, recycling, resume */
  int resuming;   /* the journal's missing blocks run as a retry pass */
  uint64_t done_before; /* resuming: indices the journal marked done */
  int posted;     /* a pass was posted */
  int corrupt;    /* the control block was found scribbled on: the workers
                     are restarted at the end */
} job;

static int check_job(sharc_pool *pool, const char *kernel, uint64_t n,
                     const sharc_job_opts *o) {
  if (o->size != sizeof *o)
    return sharc__bad_size(pool, "job options", "sharc_job_opts",
                           "SHARC_JOB_OPTS_INIT", o->size);
  if (pool->broken)
    return sharc__fail(pool, SHARC_ECLOSED,
                       "the pool lost workers it could not replace");
  if (kernel == NULL || strlen(kernel) >= SHARC_KERNEL_NAME_MAX)
    return sharc__fail(pool, SHARC_EINVAL, "kernel name missing or too long");
  int known = sharc__kernel_check(pool, kernel);
  if (known != 0)
    return known;
  if (n > SHARC__MAX_N)
    return sharc__fail(pool, SHARC_ERANGE, "n = %llu exceeds 2^62",
                       (unsigned long long)n);
  if (!sharc__sched_known((uint32_t)o->schedule.kind))
    return sharc__fail(pool, SHARC_EINVAL, "unknown schedule kind %d",
                       (int)o->schedule.kind);
  if (!(o->fault.timeout_s >= 0 && o->fault.timeout_s < 1e9) ||
      !(o->fault.timeout_x >= 0 && o->fault.timeout_x < 1e12) ||
      (unsigned)o->fault.on_poison > SHARC_POISON_STOP)
    return sharc__fail(pool, SHARC_EINVAL,
                       "fault policy: timeouts must be >= 0 and finite, "
                       "on_poison quarantine or stop");
  if (o->grain > SHARC__MAX_N)
    return sharc__fail(pool, SHARC_EINVAL, "grain %llu exceeds 2^62",
                       (unsigned long long)o->grain);
  if (o->args_len > SHARC_MAX_ARGS || (o->args_len && o->args == NULL))
    return sharc__fail(pool, SHARC_EINVAL,
                       "argument bytes: %zu given, at most %d", o->args_len,
                       SHARC_MAX_ARGS);
  for (unsigned i = 0; i < o->narrays; i++) {
    if (o->arrays[i] == NULL || o->arrays[i]->pool != pool)
      return sharc__fail(pool, SHARC_EINVAL,
                         "array %u of the job is NULL or from another pool", i);
  }
  return 0;
}

/* A schedule left at SHARC_SCHEDULE_DEFAULT: SHARC_SCHEDULE if set, else
 * auto. */
static int schedule_from_env(sharc_pool *pool, sharc_schedule *s) {
  const char *env = getenv("SHARC_SCHEDULE");
  *s = (sharc_schedule){SHARC_SCHED_AUTO, 1};
  if (env == NULL || *env == '\0')
    return 0;
  if (sharc_schedule_parse(env, s) != 0)
    return sharc__fail(pool, SHARC_EINVAL,
                       "SHARC_SCHEDULE=%s: not a schedule (static, dynamic, "
                       "guided, auto, fac2 or wf, each optionally :K)", env);
  return 0;
}

/* Arrays made after a worker started reach it now, before the job is
 * posted, so they are waiting in its socket when it wakes. */
/* Sends array a to worker w. With a fault policy, a worker whose socket is
 * gone (it died since the last look) is reaped and counted as dead
 * instead: the pass runs without it and it is replaced after. */
int sharc__send_array(sharc_pool *pool, job_state *js, sharc_array *a,
                      unsigned w) {
  if (pool->w[w].pid <= 0)
    return 0;
  int rc = sharc__array_send(pool, a, w);
  if (rc == 0 || js->ws == NULL)
    return rc;
  sharc__worker_kill(pool, w);
  js->ndead++;
  js->ws[w].died = 1;
  js->ws[w].signal = SIGKILL;
  pool->msg[0] = '\0';
  return 0;
}

static int deliver_arrays(sharc_pool *pool, job_state *js,
                          const sharc_job_opts *o) {
  for (unsigned i = 0; i < o->narrays; i++) {
    sharc_array *a = o->arrays[i];
    for (unsigned w = 0; w < pool->nworkers; w++) {
      if (a->known[w])
        continue;
      int rc = sharc__send_array(pool, js, a, w);
      if (rc != 0)
        return rc;
    }
  }
  return 0;
}

void sharc__post_job(job_state *js) {
  sharc_pool *pool = js->pool;
  const sharc_job_opts *o = js->o;
  sharc__cb *cb = pool->cb;
  sharc__job_desc *d = &cb->job;
  memset(d->kernel, 0, sizeof d->kernel);
  strcpy(d->kernel, js->kernel);
  d->n = js->n;
  d->sched_kind = js->items_id ? SHARC__SCHED_ITEMS : (uint32_t)o->schedule.kind;
  js->sched_kind = d->sched_kind;
  js->chunk = o->schedule.chunk;
  js->harvest = (sharc__tally){0, 0, 0};
  d->watch = js->watch != NULL;
  d->retrying = js->ws != NULL;
  d->recycle_chunks = o->fault.recycle_chunks;
  d->recycle_rss = o->fault.recycle_rss;
  d->journal_id = js->journal ? js->journal->bits->id : 0;
  d->journal_block = js->journal ? js->journal->block : 0;
  d->journal_words = js->journal ? js->journal->words : 0;
  d->items_id = js->items_id;
  d->nitems = js->nitems;
  d->chunk = o->schedule.chunk;
  d->grain = o->grain > 1 ? o->grain : 1;
  d->nworkers = pool->nworkers;
  d->narrays = o->narrays;
  for (unsigned i = 0; i < o->narrays; i++)
    d->array_ids[i] = o->arrays[i]->id;
  d->args_len = (uint32_t)o->args_len;
  if (o->args_len)
    memcpy(d->args, o->args, o->args_len);
  d->measure_rusage = o->measure_rusage ? 1 : 0;
  d->trace_id = js->trace_id;
  d->trace_cap = js->trace_cap;
  d->base = js->base;
  d->global_n = js->global_n;
  sharc__arrays_lock(pool);
  d->mail = (uint32_t)pool->mail;
  pool->mail = 0;
  sharc__arrays_unlock(pool);
  atomic_store_explicit(&cb->next, 0, memory_order_relaxed);
  /* The schedule's shared words (auto: every worker's range; wf: no
   * speeds from an earlier job) are in place before any worker looks. */
  if (js->items_id == 0)
    sharc__sched_post((uint32_t)o->schedule.kind,
                      sharc__cb_ranges(cb, pool->nworkers), cb->slots,
                      pool->nworkers,
                      js->n / d->grain + (js->n % d->grain != 0));
  js->post_ns = sharc__now_ns();
  if (js->first_post_ns == 0)
    js->first_post_ns = js->post_ns;
  d->post_ns = js->post_ns;
  js->seq = atomic_load_explicit(&cb->seq, memory_order_relaxed) + 1;
  atomic_store(&cb->seq, js->seq);
  /* Skip the system call when every worker is still spinning (see the
   * sleepers protocol in worker.c). */
  if (atomic_load(&cb->sleepers) != 0)
    sharc__futex_wake_all(&cb->seq);
  SHARC__PROF("job-posted", js->seq);
}
/* --- prepare: the options, and what each feature needs before a post --- */

/* Workers killed by a cancel are replaced here, not by the job that was
 * cancelled (it returns as soon as it can); a cancel that came while no
 * job ran cancels this one. */
static int job_ready(job *jb) {
  job_state *js = &jb->js;
  sharc_pool *pool = js->pool;
  for (unsigned w = 0; w < pool->nworkers; w++) {
    if (pool->w[w].pid <= 0) {
      sharc__replace_dead(pool);
      if (pool->broken)
        return sharc__fail(pool, SHARC_ECLOSED,
                           "the pool lost workers it could not replace");
      break;
    }
  }
  if (atomic_load(&pool->cb->cancel)) {
    atomic_store(&pool->cb->cancel, 0);
    return sharc__fail(pool, SHARC_ECANCELED,
                       "'%s' cancelled before it started", js->kernel);
  }
  return 0;
}

/* The journal: its block becomes the grain, so that every chunk covers
 * whole blocks; failing ranges are still narrowed down to the job's own
 * grain. */
static int journal_prepare(job *jb) {
  job_state *js = &jb->js;
  sharc_job_opts *o = &jb->opts.o;
  int map = js->hooks != NULL && js->hooks->done_map;
  if (o->journal_path == NULL && !map)
    return 0;
  if (o->journal_path == NULL) { /* a done map alone: no file */
    jb->faults.sgrain = o->grain > 1 ? o->grain : 1;
    o->grain = sharc__journal_block(js->n, o->grain);
    js->journal = &jb->jn;
    return sharc__journal_map(js->pool, js->n, o->grain, &jb->jn);
  }
  if (o->nreduce > 0)
    return sharc__fail(js->pool, SHARC_EINVAL,
                       "%s: a job with reductions cannot keep a journal "
                       "(its partials end with the coordinator)",
                       o->journal_path);
  jb->faults.sgrain = o->grain > 1 ? o->grain : 1;
  o->grain = sharc__journal_block(js->n, o->grain);
  js->journal = &jb->jn;
  int rc = sharc__journal_open(js->pool, o, js->kernel, js->n, &jb->jn);
  if (rc == 0 && o->resume) {
    jb->done_before = sharc__journal_done(&jb->jn);
    jb->resuming = 1;
  }
  return rc;
}

/* Timeouts: the watchdog's records, and how often it looks. */
static int watch_prepare(job *jb) {
  job_state *js = &jb->js;
  const sharc_fault_policy *fp = &jb->opts.o.fault;
  if (fp->timeout_s <= 0 && fp->timeout_x <= 0)
    return 0;
  js->watch = calloc(js->pool->nworkers, sizeof *js->watch);
  if (js->watch == NULL)
    return sharc__fail(js->pool, SHARC_ENOMEM, "timeouts: out of memory");
  js->timeout_s = fp->timeout_s;
  js->timeout_x = fp->timeout_x;
  double q = fp->timeout_x > 0 ? 10.0 : fp->timeout_s * 250.0;
  js->poll_ms = q < 1 ? 1 : q > SHARC__POLL_MS ? SHARC__POLL_MS : (int)q;
  return 0;
}

/* The pass machinery serves retries, recycling and resumes alike. */
static int faults_prepare(job *jb) {
  job_state *js = &jb->js;
  const sharc_job_opts *o = &jb->opts.o;
  jb->retrying = o->fault.retries > 0 || o->fault.recycle_chunks > 0 ||
                 o->fault.recycle_rss > 0 || jb->resuming;
  if (!jb->retrying)
    return 0;
  uint64_t sgrain = jb->faults.sgrain; /* set by a journal */
  sharc__faults_init(&jb->faults, js->n, o->grain, js->pool->nworkers,
                     o->fault.retries, o->fault.on_poison == SHARC_POISON_STOP);
  if (sgrain != 0)
    jb->faults.sgrain = sgrain;
  js->faults = &jb->faults;
  js->ws = calloc(js->pool->nworkers, sizeof *js->ws);
  if (js->ws == NULL)
    return sharc__fail(js->pool, SHARC_ENOMEM, "fault policy: out of memory");
  return 0;
}

/* Arrays the job uses (and the journal's bitmap) reach every worker that
 * does not have them yet; the trace buffer is made. */
static int workers_prepare(job *jb) {
  job_state *js = &jb->js;
  sharc_pool *pool = js->pool;
  const sharc_job_opts *o = &jb->opts.o;
  int rc = deliver_arrays(pool, js, o);
  for (unsigned w = 0; rc == 0 && js->journal != NULL && w < pool->nworkers;
       w++) {
    if (!jb->jn.bits->known[w])
      rc = sharc__send_array(pool, js, jb->jn.bits, w);
  }
  if (rc == 0 && o->trace_path != NULL) {
    uint64_t g = o->grain > 1 ? o->grain : 1;
    rc = sharc__trace_prepare(pool, js->n / g + (js->n % g != 0),
                              &js->trace_id, &js->trace_cap);
  }
  return rc;
}

static int job_prepare(job *jb, const sharc_job_opts *o) {
  job_state *js = &jb->js;
  sharc_pool *pool = js->pool;
  /* A struct of another size is not read past its size field. */
  int rc = o->size == sizeof *o ? sharc__opts_copy(pool, &jb->opts, o)
                                : sharc__opts_copy(NULL, &jb->opts, NULL);
  if (rc == 0)
    rc = check_job(pool, js->kernel, js->n, o);
  if (rc == 0)
    rc = job_ready(jb);
  if (rc == 0 && o->schedule.kind == SHARC_SCHED_AUTO && o->schedule.chunk == 0)
    rc = schedule_from_env(pool, &jb->opts.o.schedule);
  if (rc == 0)
    rc = sharc__reduce_prepare(pool, js->n, &jb->opts, &jb->rj);
  if (rc == 0 && js->hooks != NULL && jb->rj.arr != NULL)
    jb->rj.export_to = js->hooks->partials_out;
  if (rc == 0)
    rc = journal_prepare(jb);
  if (rc == 0)
    rc = watch_prepare(jb);
  if (rc == 0)
    rc = faults_prepare(jb);
  if (rc == 0)
    rc = workers_prepare(jb);
  return rc;
}

/* --- run: the passes ----------------------------------------------------- */

/* One pass of the job's schedule over [0, n): post, wait, check what the
 * workers wrote. Without a fault policy its verdict is the job's. */
static int first_pass(job *jb) {
  job_state *js = &jb->js;
  sharc_pool *pool = js->pool;
  jb->posted = 1;
  sharc__post_job(js);
  int rc = sharc__wait_pass(js);
  js->done_ns = sharc__now_ns();
  if (rc == 0)
    rc = sharc__check_all(js);
  if (rc == 0 && sharc__cancel_seen(js))
    rc = sharc__cancelled(js);
  if (rc == 0 && !jb->retrying)
    rc = sharc__job_status(js);
  jb->corrupt = rc == SHARC_ECORRUPT;
  if (!jb->retrying)
    rc = sharc__reduce_finish(pool, &jb->rj, rc);
  return rc;
}

/* The trace covers the first pass; its error comes after the job's. */
static int trace_end(job *jb, int rc) {
  job_state *js = &jb->js;
  sharc_pool *pool = js->pool;
  if (jb->opts.o.trace_path == NULL)
    return rc;
  sharc__trace_info ti = {js->kernel, js->n,      jb->opts.o.schedule,
                          rc,         js->post_ns, js->done_ns};
  char keep[sizeof pool->msg];
  memcpy(keep, pool->msg, sizeof keep);
  int trc = sharc__trace_write(pool, jb->opts.o.trace_path, &ti);
  if (rc != 0)
    memcpy(pool->msg, keep, sizeof keep);
  return rc != 0 ? rc : trc;
}

static int run_passes(job *jb) {
  job_state *js = &jb->js;
  sharc_pool *pool = js->pool;
  int rc = first_pass(jb);
  rc = trace_end(jb, rc);
  uint64_t times[3] = {js->post_ns, js->done_ns, 0};
  sharc__report_fill(pool, js->rep, js->kernel, js->n, js->o, times, rc);
  if (!jb->retrying)
    return rc;
  if (rc == 0)
    rc = sharc__fault_passes(js, 0);
  jb->corrupt |= rc == SHARC_ECORRUPT;
  rc = sharc__reduce_finish(pool, &jb->rj, rc);
  sharc__report_faults(js, rc,
                       (double)(sharc__now_ns() - js->first_post_ns) * 1e-9);
  return rc;
}

/* A resumed job: only the blocks the journal does not mark done run, as a
 * retry pass; the report counts the indices this run computed. */
static int resume_passes(job *jb) {
  job_state *js = &jb->js;
  sharc_pool *pool = js->pool;
  js->post_ns = js->first_post_ns = sharc__now_ns();
  jb->posted = 1;
  sharc__journal_missing(js->journal, js->faults);
  sharc__faults_advance(js->faults, 1);
  int rc = js->faults->nomem
               ? sharc__fail(pool, SHARC_ENOMEM, "resume: out of memory")
               : sharc__fault_passes(js, 1);
  jb->corrupt = rc == SHARC_ECORRUPT;
  js->done_ns = sharc__now_ns();
  uint64_t times[3] = {js->first_post_ns, js->done_ns, 0};
  sharc_report *rep = js->rep;
  sharc__report_fill(pool, rep, js->kernel, js->n, js->o, times, rc);
  sharc__report_faults(js, rc,
                       (double)(js->done_ns - js->first_post_ns) * 1e-9);
  if (rep != NULL && (rc == 0 || rc == SHARC_EQUARANTINED))
    rep->indices -= jb->done_before < rep->indices ? jb->done_before
                                                   : rep->indices;
  return rc;
}

/* --- finish: one way out ------------------------------------------------- */

/* The journal's last write, also after a failure: it then says how far the
 * job got, which is what a resume needs. Nothing is written for a job that
 * never posted a pass. */
static int journal_end(job *jb, int rc) {
  job_state *js = &jb->js;
  sharc_pool *pool = js->pool;
  if (js->journal == NULL)
    return rc;
  if (jb->posted && js->hooks != NULL && js->hooks->progress != NULL)
    js->hooks->progress(js, js->hooks->arg); /* the map's last state */
  int jrc = 0;
  if (jb->posted) {
    char keep[sizeof pool->msg];
    memcpy(keep, pool->msg, sizeof keep);
    jrc = sharc__journal_flush(pool, js->o, js->journal);
    if (rc != 0)
      memcpy(pool->msg, keep, sizeof keep); /* the job's error comes first */
  }
  sharc__journal_close(js->journal);
  js->journal = NULL;
  return rc != 0 ? rc : jrc;
}

static int job_finish(job *jb, int rc) {
  job_state *js = &jb->js;
  sharc_pool *pool = js->pool;
  if (!jb->posted) { /* the job failed before it ran */
    rc = sharc__reduce_finish(pool, &jb->rj, rc);
    sharc__report_fill(pool, js->rep, js->kernel, js->n, js->o, NULL, rc);
  }
  /* Every index but the quarantined ones was computed: the blocks that
   * retries completed in pieces are done too, in a journal's file and in
   * a stream's done map alike (whose last look, in journal_end, gives
   * them to the streams). */
  if (js->journal != NULL && js->faults != NULL && jb->posted &&
      (rc == 0 || rc == SHARC_EQUARANTINED))
    sharc__journal_complete(js->journal, js->faults->q, js->faults->nq);
  if (js->faults != NULL)
    sharc__faults_free(js->faults);
  free(js->ws);
  free(js->watch);
  rc = journal_end(jb, rc);
  if (jb->posted && jb->opts.o.census && js->rep != NULL) /* the caller's */
    sharc__report_census(pool, js->rep, jb->opts.o.arrays,
                         jb->opts.o.narrays - (jb->rj.arr != NULL));
  if (jb->corrupt)
    (void)sharc__pool_restart(pool);
  else if (js->ndead > 0 && !js->canceled)
    sharc__replace_dead(pool); /* a cancelled job returns first: the next
                                  job replaces them */
  return rc;
}

/* The whole job, top to bottom. */
int sharc__job_execute(sharc_pool *pool, const char *kernel, uint64_t n,
                       const sharc_job_opts *o, sharc_report *rep,
                       const sharc__job_hooks *hooks) {
  job *jb = calloc(1, sizeof *jb); /* large: the options and the journal */
  if (jb == NULL)
    return sharc__fail(pool, SHARC_ENOMEM, "out of memory: the job's state");
  job_state *js = &jb->js;
  js->pool = pool;
  js->hooks = hooks;
  js->kernel = kernel;
  js->n = n;
  js->o = &jb->opts.o;
  js->rep = rep;
  js->first_dead = -1;
  if (hooks != NULL) {
    js->base = hooks->base;
    js->global_n = hooks->global_n;
  }
  jb->jn = (sharc__journal){-1, NULL, 0, 0, 0, 0, NULL, 0};
  int rc = job_prepare(jb, o);
  if (rc == 0 && jb->resuming)
    rc = resume_passes(jb);
  else if (rc == 0)
    rc = run_passes(jb);
  rc = job_finish(jb, rc);
  free(jb);
  return rc;
}

int sharc__run_entry(sharc_pool *pool, sharc_report *rep) {
  if (pool == NULL)
    return SHARC_EINVAL;
  int rc = sharc__report_begin(pool, rep);
  if (rc != 0)
    return rc;
  if (sharc__pool_foreign(pool))
    return sharc__fail(pool, SHARC_EINVAL,
                       "the pool belongs to process %d: a process forked from "
                       "its coordinator may only destroy it",
                       (int)pool->owner_pid);
  return 0;
}

int sharc_run(sharc_pool *pool, const char *kernel, uint64_t n,
              const sharc_job_opts *opts, sharc_report *rep) {
  static const sharc_job_opts defaults = SHARC_JOB_OPTS_INIT;
  int rc = sharc__run_entry(pool, rep);
  if (rc != 0)
    return rc;
  SHARC__PROF("run", 0);
  rc = sharc__run_or_queue(pool, kernel, n, opts ? opts : &defaults, rep);
  SHARC__PROF("ran", 0);
  return rc;
}

int sharc__opts_copy(sharc_pool *pool, sharc__opts *dst,
                     const sharc_job_opts *src) {
  static const sharc_job_opts defaults = SHARC_JOB_OPTS_INIT;
  dst->o = defaults;
  dst->o.arrays = dst->arrays;
  dst->o.reduce = dst->reduce;
  if (src == NULL)
    return 0;
  const char *bad = NULL;
  if (src->narrays > SHARC_MAX_JOB_ARRAYS)
    bad = "arrays: more than SHARC_MAX_JOB_ARRAYS";
  else if (src->narrays > 0 && src->arrays == NULL)
    bad = "arrays: narrays is set but arrays is NULL";
  else if (src->nreduce > SHARC_MAX_JOB_REDUCTIONS)
    bad = "reductions: more than SHARC_MAX_JOB_REDUCTIONS";
  else if (src->nreduce > 0 && (src->reduce == NULL || src->reduce_out == NULL))
    bad = "reductions: nreduce is set but reduce or reduce_out is NULL";
  if (bad != NULL)
    return pool ? sharc__fail(pool, SHARC_EINVAL, "job options: %s (%u arrays, "
                              "%u reductions; at most %d and %d)", bad,
                              src->narrays, src->nreduce, SHARC_MAX_JOB_ARRAYS,
                              SHARC_MAX_JOB_REDUCTIONS)
                : SHARC_EINVAL;
  dst->o = *src;
  dst->o.arrays = dst->arrays;
  dst->o.reduce = dst->reduce;
  for (unsigned i = 0; i < src->narrays; i++)
    dst->arrays[i] = src->arrays[i];
  for (unsigned r = 0; r < src->nreduce; r++)
    dst->reduce[r] = src->reduce[r];
  return 0;
}
