/* The fault policy's passes: after the first pass, what failed or was
 * never reached runs again, narrowed down, until nothing is left or a
 * poison index stops the job (the bookkeeping is fault.c's). */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "job_int.h"
#include "report_int.h"

/* --- fault policy: retry passes ------------------------------------------ */

static int by_begin(const void *a, const void *b) {
  uint64_t x = ((const sharc_quarantined *)a)->begin;
  uint64_t y = ((const sharc_quarantined *)b)->begin;
  return (x > y) - (x < y);
}

/* What the slots say about the pass just run, for each worker that died or
 * whose kernel failed. */
static int collect(sharc_pool *pool, job_state *js, int first) {
  sharc__faults *f = js->faults;
  const sharc_job_opts *o = js->o;
  /* A file that shrank under its mapping fails every index past its new
   * end, whoever runs it, and a kernel that writes into the job descriptor
   * would do it again: the job stops, naming the cause. */
  if (js->fatal_why[0] != '\0')
    return sharc__fail(pool, SHARC_EWORKER, "%s, while running '%s'",
                       js->fatal_why, js->kernel);
  for (unsigned w = 0; w < pool->nworkers; w++) {
    const sharc__slot *sl = &pool->cb->slots[w];
    sharc__wstate st = js->ws[w];
    st.worker = w;
    if (!st.died) {
      if (sl->err == 0)
        continue;
      if (sl->err == SHARC_ENOKERNEL)
        return sharc__fail(pool, SHARC_ENOKERNEL,
                           "worker %u does not know kernel '%s'", w,
                           js->kernel);
      st.code = sl->err;
    }
    /* Recycling alone (no retries): a real failure still fails the job. */
    if (f->retries == 0 && st.corrupt)
      return sharc__fail(pool, SHARC_ECORRUPT,
                         "control block: worker %u wrote nonsense into its "
                         "slot and was killed", w);
    if (f->retries == 0 && !st.recycled) {
      int sane = sl->cur_begin <= sl->cur_end && sl->cur_end <= js->n;
      unsigned long long b = sane ? sl->cur_begin : 0,
                         e = sane ? sl->cur_end : 0;
      if (st.died && st.signal)
        return sharc__fail(pool, SHARC_EWORKER,
                           "worker %u was killed by signal %d (%s)%s while "
                           "running '%s' on indices [%llu, %llu)", w,
                           st.signal, strsignal(st.signal),
                           st.timed_out ? " after a timeout" : "", js->kernel,
                           b, e);
      if (st.died)
        return sharc__fail(pool, SHARC_EWORKER,
                           "worker %u exited while running '%s' on indices "
                           "[%llu, %llu)", w, js->kernel, b, e);
      return sharc__fail(pool, SHARC_EKERNEL,
                         "worker %u: kernel '%s' returned %d (%s) on indices "
                         "[%llu, %llu)", w, js->kernel, st.code,
                         sharc_strerror(st.code), b, e);
    }
    st.started = sl->started_seq == js->seq;
    st.claiming = atomic_load(&sl->claiming) != 0;
    st.cur_begin = sl->cur_begin;
    st.cur_end = sl->cur_end;
    st.cur_done = sl->cur_done == 1;
    if (first)
      sharc__faults_first(f, (uint32_t)o->schedule.kind, o->schedule.chunk,
                          &st);
    else
      sharc__faults_retry(f, &st);
  }
  return f->nomem ? sharc__fail(pool, SHARC_ENOMEM, "retry list: out of memory")
                  : 0;
}

/* Unclaimed units [b, e) of the first pass: indices to run next. */
static void unclaimed_units(void *arg, uint64_t b, uint64_t e) {
  sharc__faults *f = arg;
  uint64_t g = f->grain;
  sharc__faults_unclaimed(f, b * g, e < f->units ? e * g : f->n);
}

/* What no worker claimed in the pass just run: a shared schedule leaves
 * work unclaimed only when every worker died before the end, but then it
 * must not be lost. The counter and range words come from the control
 * block: clamped by the schedule's unit, they can only make the next pass
 * larger. */
static void unclaimed(sharc_pool *pool, const job_state *js, int first) {
  sharc__faults *f = js->faults;
  const sharc_job_opts *o = js->o;
  sharc__cb *cb = pool->cb;
  uint64_t next = atomic_load(&cb->next);
  if (!first) {
    /* Items nobody claimed go to the next pass as they are: re-splitting
     * them would make each pass larger than the last. */
    for (uint64_t k = next; k < f->nitems; k++)
      sharc__faults_requeue(f, k);
    return;
  }
  sharc__sched_end end = {f->units, o->schedule.chunk, pool->nworkers, next,
                          sharc__cb_ranges(cb, pool->nworkers)};
  sharc__sched_unclaimed((uint32_t)o->schedule.kind, &end, unclaimed_units, f);
}

/* Hands the pass's items to the workers in a shared array, kept in the pool
 * for later passes and jobs while it is large enough. */
static int post_items(sharc_pool *pool, job_state *js) {
  const sharc__faults *f = js->faults;
  uint64_t need = f->nitems * (sizeof(sharc__item) / 8);
  if (pool->items == NULL || sharc_array_size(pool->items) < need) {
    sharc_array_destroy(pool->items);
    pool->items = NULL;
    uint64_t shape[1] = {need < 1024 ? 1024 : 2 * need};
    int rc = sharc__array_create(pool, SHARC_U64, 1, shape, &pool->items);
    if (rc != 0)
      return sharc__fail(pool, rc, "retry items: %s", sharc_strerror(rc));
    pool->items->worker_ro = 1; /* before any worker maps it */
  }
  sharc__item *dst = sharc_array_data(pool->items);
  for (size_t k = 0; k < f->nitems; k++)
    dst[k] = f->items[k].it;
  for (unsigned w = 0; w < pool->nworkers; w++) {
    if (!pool->items->known[w]) {
      int rc = sharc__send_array(pool, js, pool->items, w);
      if (rc != 0)
        return rc;
    }
  }
  js->items_id = pool->items->id;
  js->nitems = f->nitems;
  return 0;
}

static void count_failures(sharc_pool *pool, job_state *js) {
  sharc__fault_run *fr = &js->fr;
  fr->recycled += js->recycled_mid;
  fr->deaths += js->deaths_mid;
  js->recycled_mid = js->deaths_mid = 0;
  for (unsigned w = 0; w < pool->nworkers; w++) {
    if (js->ws[w].recycled)
      fr->recycled++;
    else if (js->ws[w].died)
      fr->deaths++;
    else if (pool->cb->slots[w].err != 0)
      fr->kernel_errors++;
  }
}

static void replace_timed(sharc_pool *pool, job_state *js) {
  sharc__fault_run *fr = &js->fr;
  if (js->ndead == 0)
    return;
  uint64_t t0 = sharc__now_ns();
  sharc__replace_dead(pool);
  fr->replace_s += (double)(sharc__now_ns() - t0) * 1e-9;
  fr->replaced += js->ndead;
}

/* After the first pass: run the failed and unreached ranges again until
 * none is left, or a poison index stops the job. */
int sharc__fault_passes(job_state *js, int resumed) {
  sharc_pool *pool = js->pool;
  sharc__faults *f = js->faults;
  sharc__fault_run *fr = &js->fr;
  int rc = 0;
  size_t left = f->nitems; /* resumed: the journal's missing blocks */
  sharc__tally meant = {0, 0, 0};
  if (!resumed) {
    count_failures(pool, js);
    rc = collect(pool, js, 1);
    unclaimed(pool, js, 1);
    sharc__tally_add(&meant, 0, js->n);
    if (rc == 0)
      rc = sharc__verify_pass(js, &meant);
    left = rc == 0 ? sharc__faults_advance(f, 1) : 0;
    fr->passes = 1;
  }
  while (rc == 0 && left > 0) {
    replace_timed(pool, js);
    if (pool->broken)
      return sharc__fail(pool, SHARC_ECLOSED,
                         "a worker died and could not be replaced");
    if (fr->passes >= SHARC__MAX_PASSES)
      return sharc__fail(pool, SHARC_EWORKER,
                         "'%s': still failing after %u passes", js->kernel,
                         fr->passes);
    rc = post_items(pool, js);
    if (rc != 0)
      return rc;
    fr->retried += f->nitems;
    meant = (sharc__tally){0, 0, 0};
    sharc__items_tally(&meant, f->items, f->nitems, f->n);
    f->nq_pass = f->nq; /* what the pass quarantines comes after */
    memset(js->ws, 0, pool->nworkers * sizeof *js->ws);
    if (js->watch != NULL)
      memset(js->watch, 0, pool->nworkers * sizeof *js->watch);
    js->ndead = 0;
    js->first_dead = -1;
    sharc__post_job(js);
    rc = sharc__wait_pass(js);
    js->done_ns = sharc__now_ns();
    if (rc == 0)
      rc = sharc__check_all(js);
    if (rc == 0 && sharc__cancel_seen(js))
      rc = sharc__cancelled(js);
    if (rc != 0)
      return rc;
    count_failures(pool, js);
    sharc__report_pass(pool, js->rep, js->seq);
    rc = collect(pool, js, 0);
    unclaimed(pool, js, 0);
    if (rc == 0)
      rc = sharc__verify_pass(js, &meant);
    left = rc == 0 ? sharc__faults_advance(f, 0) : 0;
    fr->passes++;
  }
  replace_timed(pool, js);
  js->ndead = 0;
  if (rc != 0)
    return rc;
  if (f->nq == 0)
    return 0;
  /* Found in the order passes narrowed them down; reported in index order,
   * so that the first is the lowest index (a pipeline names it). */
  if (!f->poisoned)
    qsort(f->q, f->nq, sizeof *f->q, by_begin);
  const sharc_quarantined *q = &f->q[0];
  char what[96];
  if (q->signal && q->timed_out)
    snprintf(what, sizeof what, "ran past its timeout (its worker then "
             "killed by signal %d, %s)", q->signal, strsignal(q->signal));
  else if (q->signal)
    snprintf(what, sizeof what, "killed its worker by signal %d (%s)",
             q->signal, strsignal(q->signal));
  else
    snprintf(what, sizeof what, "returned %d (%s)", q->code,
             sharc_strerror(q->code));
  if (f->poisoned)
    return sharc__fail(pool, q->signal ? SHARC_EWORKER : SHARC_EKERNEL,
                       "'%s' on indices [%llu, %llu) %s %u times; job "
                       "stopped (fault policy)", js->kernel,
                       (unsigned long long)q->begin,
                       (unsigned long long)q->end, what, q->attempts);
  return sharc__fail(pool, SHARC_EQUARANTINED,
                     "'%s': %zu range(s) quarantined, the first [%llu, "
                     "%llu) %s %u times; every other index was computed",
                     js->kernel, f->nq, (unsigned long long)q->begin,
                     (unsigned long long)q->end, what, q->attempts);
}

/* The retry passes' figures, over the report of the first pass. */
void sharc__report_faults(const job_state *js, int rc, double wall_s) {
  sharc_report *rep = js->rep;
  const sharc__faults *f = js->faults;
  const sharc__fault_run *fr = &js->fr;
  const char *msg = js->pool->msg;
  if (rep == NULL)
    return;
  sharc__report_whole(rep, wall_s);
  rep->status = rc;
  sharc__text_set(&rep->error, "%s", rc ? msg : "");
  rep->deaths = fr->deaths;
  rep->recycled = fr->recycled;
  rep->kernel_errors = fr->kernel_errors;
  rep->passes = fr->passes;
  rep->retried = fr->retried;
  rep->replace_s = fr->replaced ? fr->replace_s / fr->replaced : 0;
  uint64_t left_out = 0;
  if (f->nq > 0) {
    rep->quarantined = malloc(f->nq * sizeof *rep->quarantined);
    if (rep->quarantined != NULL) {
      memcpy(rep->quarantined, f->q, f->nq * sizeof *f->q);
      rep->nquarantined = (unsigned)f->nq;
    }
    for (size_t k = 0; k < f->nq; k++)
      left_out += f->q[k].end - f->q[k].begin;
  }
  if (rc == 0 || rc == SHARC_EQUARANTINED)
    rep->indices = rep->n - left_out;
}

/* The journal's last write, also after a failure: it then says how far the
 * job got, which is what a resume needs. */
