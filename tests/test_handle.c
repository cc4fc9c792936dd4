/* Jobs as handles: submit, wait, cancel, free; the queue's order and
 * bounds; close, terminate, join; streams of completed ranges, callbacks,
 * progress and the job's eventfd. Jobs that must stay running are held by
 * a gate word in a shared array that the test opens: no sleeps. */
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <string.h>

#include "helpers.h"

/* Array 0 (u64): [0] the gate (0: wait), [1] a ticket counter; each index
 * i writes a ticket to array 1 at i (its order of completion). */
static int gated(const sharc_task *t, uint64_t b, uint64_t e) {
  _Atomic uint64_t *ctl = sharc_task_array(t, 0);
  uint64_t *out = sharc_task_array(t, 1);
  while (atomic_load(&ctl[0]) == 0)
    sched_yield();
  for (uint64_t i = b; i < e; i++)
    out[i] = atomic_fetch_add(&ctl[1], 1) + 1;
  return 0;
}
SHARC_KERNEL(gated)

/* Writes i + 1 at i in array 0 (u64). */
static int mark(const sharc_task *t, uint64_t b, uint64_t e) {
  uint64_t *out = sharc_task_array(t, 0);
  for (uint64_t i = b; i < e; i++)
    out[i] = i + 1;
  return 0;
}
SHARC_KERNEL(mark)

typedef struct rig {
  sharc_pool *pool;
  sharc_array *ctl, *out[4];
  sharc_array *lists[4][2]; /* job k's arrays: ctl, out[k] */
  _Atomic uint64_t *gate;
} rig;

static rig rig_make(unsigned workers, uint64_t n) {
  rig r;
  memset(&r, 0, sizeof r);
  r.pool = test_pool(workers);
  uint64_t two[1] = {2}, shape[1] = {n};
  cr_assert_eq(sharc_array_create(r.pool, SHARC_U64, 1, two, NULL, &r.ctl), 0);
  r.gate = sharc_array_data(r.ctl);
  for (int k = 0; k < 4; k++)
    cr_assert_eq(
        sharc_array_create(r.pool, SHARC_U64, 1, shape, NULL, &r.out[k]), 0);
  return r;
}

/* The lists live in the rig: the rig is not moved once the options are
 * made. */
static sharc_job_opts gated_opts(rig *r, int k) {
  sharc_job_opts o = SHARC_JOB_OPTS_INIT;
  r->lists[k][0] = r->ctl;
  r->lists[k][1] = r->out[k];
  o.arrays = r->lists[k];
  o.narrays = 2;
  return o;
}

Test(handle, jobs_run_in_submission_order_and_wait_times_out_while_gated) {
  rig r = rig_make(2, 1000);
  sharc_job_opts o[3] = {gated_opts(&r, 0), gated_opts(&r, 1),
                         gated_opts(&r, 2)};
  sharc_job *j[3];
  for (int k = 0; k < 3; k++)
    j[k] = test_submit(r.pool, "gated", 1000, &o[k], NULL);
  cr_assert_eq(sharc_job_wait(j[0], 0), SHARC_ETIMEDOUT);
  cr_assert_eq(sharc_job_wait(j[2], 0.01), SHARC_ETIMEDOUT);
  cr_assert_null(sharc_job_report(j[0]));
  atomic_store(r.gate, 1);
  for (int k = 2; k >= 0; k--)
    cr_assert_eq(sharc_job_wait(j[k], -1), 0, "job %d: %s", k,
                 sharc_job_errmsg(j[k]));
  /* Every ticket of job k is smaller than every ticket of job k + 1. */
  uint64_t lo[3], hi[3];
  for (int k = 0; k < 3; k++) {
    const uint64_t *t = sharc_array_data(r.out[k]);
    lo[k] = UINT64_MAX;
    hi[k] = 0;
    for (int i = 0; i < 1000; i++) {
      cr_assert_neq(t[i], 0, "job %d index %d did not run", k, i);
      lo[k] = t[i] < lo[k] ? t[i] : lo[k];
      hi[k] = t[i] > hi[k] ? t[i] : hi[k];
    }
  }
  cr_assert_lt(hi[0], lo[1]);
  cr_assert_lt(hi[1], lo[2]);
  const sharc_report *rep = sharc_job_report(j[1]);
  cr_assert_not_null(rep);
  cr_assert_eq(rep->indices, 1000);
  cr_assert_str_eq(rep->kernel, "gated");
  for (int k = 0; k < 3; k++)
    sharc_job_free(j[k]);
  sharc_pool_destroy(r.pool);
}

Test(handle, a_full_queue_blocks_or_says_eagain_and_cancel_takes_a_queued_job_off) {
  rig r = rig_make(2, 100);
  cr_assert_eq(sharc_pool_set_queue_max(r.pool, 1), 0);
  cr_assert_eq(sharc_pool_set_queue_max(r.pool, 0), SHARC_EINVAL);
  sharc_job_opts o0 = gated_opts(&r, 0), o1 = gated_opts(&r, 1),
                 o2 = gated_opts(&r, 2);
  sharc_job *a = test_submit(r.pool, "gated", 100, &o0, NULL);
  until_running(a);
  sharc_job *b = test_submit(r.pool, "gated", 100, &o1, NULL);
  sharc_submit_opts now = SHARC_SUBMIT_OPTS_INIT;
  now.nowait = 1;
  sharc_job *c = NULL;
  cr_assert_eq(sharc_submit(r.pool, "gated", 100, &o2, &now, &c),
               SHARC_EAGAIN);
  cr_assert_null(c);
  /* b is cancelled while queued: it never runs. */
  cr_assert_eq(sharc_job_cancel(b), 0);
  cr_assert_eq(sharc_job_wait(b, 0), SHARC_ECANCELED);
  cr_assert_str_eq(sharc_job_errmsg(b), "'gated' cancelled while queued");
  c = test_submit(r.pool, "gated", 100, &o2, &now); /* room again */
  atomic_store(r.gate, 1);
  cr_assert_eq(sharc_job_wait(a, -1), 0);
  cr_assert_eq(sharc_job_wait(c, -1), 0);
  const uint64_t *tb = sharc_array_data(r.out[1]);
  for (int i = 0; i < 100; i++)
    cr_assert_eq(tb[i], 0, "the cancelled job ran index %d", i);
  sharc_job_free(a);
  sharc_job_free(b);
  sharc_job_free(c);
  sharc_pool_destroy(r.pool);
}

typedef struct blocker {
  sharc_pool *pool;
  sharc_job_opts *o;
  sharc_job *job;
  _Atomic int started, returned;
} blocker;

static void *submit_blocking(void *arg) {
  blocker *bl = arg;
  atomic_store(&bl->started, 1);
  int rc = sharc_submit(bl->pool, "gated", 100, bl->o, NULL, &bl->job);
  atomic_store(&bl->returned, rc == 0 ? 1 : 2);
  return NULL;
}

Test(handle, a_submit_blocks_while_the_queue_is_full_until_a_job_starts) {
  rig r = rig_make(2, 100);
  cr_assert_eq(sharc_pool_set_queue_max(r.pool, 1), 0);
  sharc_job_opts o0 = gated_opts(&r, 0), o1 = gated_opts(&r, 1),
                 o2 = gated_opts(&r, 2);
  sharc_job *a = test_submit(r.pool, "gated", 100, &o0, NULL);
  until_running(a);
  sharc_job *b = test_submit(r.pool, "gated", 100, &o1, NULL);
  blocker bl = {r.pool, &o2, NULL, 0, 0};
  pthread_t t;
  cr_assert_eq(pthread_create(&t, NULL, submit_blocking, &bl), 0);
  while (!atomic_load(&bl.started))
    sched_yield();
  /* While the gate holds a, b stays queued and the queue full: the
   * submit cannot have returned. */
  sharc_progress pr = SHARC_PROGRESS_INIT;
  cr_assert_eq(sharc_job_progress(b, &pr), 0);
  cr_assert_eq(pr.state, SHARC_JOB_QUEUED);
  cr_assert_eq(atomic_load(&bl.returned), 0);
  atomic_store(r.gate, 1);
  pthread_join(t, NULL);
  cr_assert_eq(atomic_load(&bl.returned), 1);
  cr_assert_eq(sharc_job_wait(bl.job, -1), 0);
  cr_assert_eq(sharc_job_wait(a, 0), 0);
  cr_assert_eq(sharc_job_wait(b, 0), 0);
  sharc_job_free(a);
  sharc_job_free(b);
  sharc_job_free(bl.job);
  sharc_pool_destroy(r.pool);
}

Test(handle, close_refuses_new_jobs_and_join_waits_for_the_queued_ones) {
  rig r = rig_make(2, 100);
  cr_assert_eq(sharc_pool_join(r.pool, 0), SHARC_EINVAL); /* not closed */
  sharc_job_opts o0 = gated_opts(&r, 0), o1 = gated_opts(&r, 1);
  sharc_job *a = test_submit(r.pool, "gated", 100, &o0, NULL);
  sharc_job *b = test_submit(r.pool, "gated", 100, &o1, NULL);
  cr_assert_eq(sharc_pool_close(r.pool), 0);
  sharc_job *c = NULL;
  cr_assert_eq(sharc_submit(r.pool, "gated", 100, &o1, NULL, &c),
               SHARC_ECLOSED);
  cr_assert_eq(sharc_run(r.pool, "mark", 10, NULL, NULL), SHARC_ECLOSED);
  cr_assert_eq(sharc_pool_join(r.pool, 0.01), SHARC_ETIMEDOUT);
  sharc_job_free(a); /* released: it runs on and is freed at its end */
  atomic_store(r.gate, 1);
  cr_assert_eq(sharc_pool_join(r.pool, -1), 0);
  cr_assert_eq(sharc_job_wait(b, 0), 0);
  const uint64_t *ta = sharc_array_data(r.out[0]);
  for (int i = 0; i < 100; i++)
    cr_assert_neq(ta[i], 0, "the released job skipped index %d", i);
  sharc_job_free(b);
  sharc_pool_destroy(r.pool);
}

Test(handle, terminate_cancels_the_queue_and_stops_the_running_job_at_once) {
  rig r = rig_make(2, 100);
  sharc_job_opts o0 = gated_opts(&r, 0), o1 = gated_opts(&r, 1);
  sharc_job *a = test_submit(r.pool, "gated", 100, &o0, NULL);
  sharc_job *b = test_submit(r.pool, "gated", 100, &o1, NULL);
  until_running(a);
  cr_assert_eq(sharc_pool_terminate(r.pool), 0);
  cr_assert_eq(sharc_pool_join(r.pool, -1), 0);
  cr_assert_eq(sharc_job_wait(a, 0), SHARC_ECANCELED, "%s",
               sharc_job_errmsg(a));
  cr_assert_eq(sharc_job_wait(b, 0), SHARC_ECANCELED);
  sharc_job_free(a);
  sharc_job_free(b);
  sharc_pool_destroy(r.pool);
}

Test(handle, a_running_job_cancelled_by_its_handle_does_not_cancel_the_next) {
  rig r = rig_make(2, 100);
  sharc_job_opts o0 = gated_opts(&r, 0);
  sharc_job *a = test_submit(r.pool, "gated", 100, &o0, NULL);
  until_running(a);
  cr_assert_eq(sharc_job_cancel(a), 0);
  cr_assert_eq(sharc_job_wait(a, -1), SHARC_ECANCELED);
  sharc_job_opts o = SHARC_JOB_OPTS_INIT;
  o.arrays = (sharc_array *[]){r.out[1]};
  o.narrays = 1;
  sharc_job *b = test_submit(r.pool, "mark", 100, &o, NULL);
  cr_assert_eq(sharc_job_wait(b, -1), 0, "%s", sharc_job_errmsg(b));
  cr_assert_eq(sharc_job_cancel(b), 0); /* ended: nothing to do */
  cr_assert_eq(sharc_run(r.pool, "mark", 100, &o, NULL), 0,
               "%s", sharc_pool_errmsg(r.pool));
  sharc_job_free(a);
  sharc_job_free(b);
  sharc_pool_destroy(r.pool);
}

typedef struct seen {
  unsigned char *hit;
  uint64_t calls, indices;
  pthread_t caller;
  int other_thread;
} seen;

static void on_range(sharc_job *j, uint64_t b, uint64_t e, void *arg) {
  (void)j;
  seen *s = arg;
  s->calls++;
  s->indices += e - b;
  s->other_thread |= !pthread_equal(pthread_self(), s->caller);
}

Test(handle, streams_give_every_completed_index_once_in_both_orders) {
  const uint64_t n = 3000000;
  sharc_pool *p = test_pool(2);
  sharc_array *out;
  uint64_t shape[1] = {n};
  cr_assert_eq(sharc_array_create(p, SHARC_U64, 1, shape, NULL, &out), 0);
  sharc_job_opts o = SHARC_JOB_OPTS_INIT;
  o.arrays = (sharc_array *[]){out};
  o.narrays = 1;
  seen cb = {NULL, 0, 0, pthread_self(), 0};
  sharc_submit_opts so = SHARC_SUBMIT_OPTS_INIT;
  so.on_range = on_range;
  so.on_range_arg = &cb;
  sharc_job *j = test_submit(p, "mark", n, &o, &so);
  unsigned char *hit = calloc(n, 1);
  uint64_t b, e, upto = 0, last = 0, got = 0;
  int rc;
  /* The ordered stream first, to its end; then the unordered one, whose
   * ranges wait for it. */
  while ((rc = sharc_job_next_ordered(j, &upto, -1)) == 1) {
    cr_assert_gt(upto, last);
    for (uint64_t i = last; i < upto; i++)
      cr_assert_eq(((uint64_t *)sharc_array_data(out))[i], i + 1,
                   "index %llu is in the prefix but not written",
                   (unsigned long long)i);
    last = upto;
  }
  cr_assert_eq(rc, 0);
  cr_assert_eq(last, n);
  while ((rc = sharc_job_next(j, &b, &e, -1)) == 1) {
    cr_assert(b < e && e <= n);
    for (uint64_t i = b; i < e; i++) {
      cr_assert_eq(hit[i], 0, "index %llu given twice", (unsigned long long)i);
      hit[i] = 1;
    }
    got += e - b;
  }
  cr_assert_eq(rc, 0);
  cr_assert_eq(got, n);
  cr_assert_eq(sharc_job_wait(j, 0), 0);
  cr_assert_eq(cb.indices, n);
  cr_assert_geq(cb.calls, 1);
  cr_assert(cb.other_thread, "on_range ran in the caller's thread");
  /* The fd says the job has something to give (it ended). */
  struct pollfd pfd = {sharc_job_fd(j), POLLIN, 0};
  cr_assert_eq(poll(&pfd, 1, -1), 1);
  sharc_progress pr = SHARC_PROGRESS_INIT;
  cr_assert_eq(sharc_job_progress(j, &pr), 0);
  cr_assert_eq(pr.state, SHARC_JOB_DONE);
  cr_assert_eq(pr.done, n);
  cr_assert_eq(pr.live, 1);
  free(hit);
  sharc_job_free(j);
  sharc_pool_destroy(p);
}

Test(handle, a_job_without_a_stream_refuses_next_and_an_unknown_kernel_fails_at_wait) {
  sharc_pool *p = test_pool(1);
  sharc_job *j = test_submit(p, "no_such_kernel", 10, NULL, NULL);
  uint64_t b, e;
  cr_assert_eq(sharc_job_next(j, &b, &e, 0), SHARC_EINVAL);
  cr_assert_eq(sharc_job_next_ordered(j, &b, 0), SHARC_EINVAL);
  cr_assert_eq(sharc_job_wait(j, -1), SHARC_ENOKERNEL);
  cr_assert(strstr(sharc_job_errmsg(j), "no_such_kernel") != NULL, "%s",
            sharc_job_errmsg(j));
  sharc_submit_opts bad = SHARC_SUBMIT_OPTS_INIT;
  bad.size = 8;
  sharc_job *k = NULL;
  cr_assert_eq(sharc_submit(p, "mark", 10, NULL, &bad, &k), SHARC_EINVAL);
  cr_assert_eq(sharc_submit(p, NULL, 10, NULL, NULL, &k), SHARC_EINVAL);
  sharc_job_free(j);
  sharc_pool_destroy(p);
}

Test(handle, handles_outlive_the_pool_and_a_queued_job_is_cancelled_by_destroy) {
  rig r = rig_make(1, 10);
  sharc_job_opts o0 = gated_opts(&r, 0), o1 = gated_opts(&r, 1);
  sharc_job *a = test_submit(r.pool, "gated", 10, &o0, NULL);
  sharc_job *b = test_submit(r.pool, "gated", 10, &o1, NULL);
  until_running(a);
  sharc_pool_destroy(r.pool); /* terminate, join, stop */
  cr_assert_eq(sharc_job_wait(a, 0), SHARC_ECANCELED);
  cr_assert_eq(sharc_job_wait(b, 0), SHARC_ECANCELED);
  cr_assert_eq(sharc_job_cancel(a), SHARC_EINVAL);
  sharc_job_free(a);
  sharc_job_free(b);
}

typedef struct many {
  sharc_pool *pool;
  sharc_array *out;
  int rc;
} many;

static void *run_many(void *arg) {
  many *m = arg;
  sharc_job_opts o = SHARC_JOB_OPTS_INIT;
  o.arrays = (sharc_array *[]){m->out};
  o.narrays = 1;
  for (int k = 0; k < 50 && m->rc == 0; k++)
    m->rc = sharc_run(m->pool, "mark", 5000, &o, NULL);
  return NULL;
}

Test(handle, sharc_run_from_several_threads_at_once) {
  sharc_pool *p = test_pool(2);
  many m[3];
  pthread_t t[3];
  for (int k = 0; k < 3; k++) {
    uint64_t shape[1] = {5000};
    m[k] = (many){p, NULL, 0};
    cr_assert_eq(sharc_array_create(p, SHARC_U64, 1, shape, NULL, &m[k].out),
                 0);
  }
  for (int k = 0; k < 3; k++)
    pthread_create(&t[k], NULL, run_many, &m[k]);
  for (int k = 0; k < 3; k++) {
    pthread_join(t[k], NULL);
    cr_assert_eq(m[k].rc, 0, "thread %d: %s", k, sharc_strerror(m[k].rc));
    const uint64_t *v = sharc_array_data(m[k].out);
    for (int i = 0; i < 5000; i++)
      cr_assert_eq(v[i], (uint64_t)i + 1);
  }
  sharc_pool_destroy(p);
}

Test(handle, options_of_another_size_are_refused_by_name) {
  sharc_pool *p = test_pool(1);
  sharc_job_opts o = SHARC_JOB_OPTS_INIT;
  o.size = sizeof o - 8; /* as a program built against older headers */
  cr_assert_eq(sharc_run(p, "mark", 10, &o, NULL), SHARC_EINVAL);
  cr_assert(strstr(sharc_pool_errmsg(p), "size field") != NULL, "%s",
            sharc_pool_errmsg(p));
  sharc_job *j = NULL;
  cr_assert_eq(sharc_submit(p, "mark", 10, &o, NULL, &j), SHARC_EINVAL);
  cr_assert_null(j);
  o.size = sizeof o;
  cr_assert_eq(sharc_run(p, "mark", 0, &o, NULL), 0, "%s",
               sharc_pool_errmsg(p));
  /* Progress is written into the caller's struct: one of another size is
   * refused, never overrun. */
  j = test_submit(p, "mark", 0, &o, NULL);
  sharc_progress pr = SHARC_PROGRESS_INIT;
  cr_assert_eq(sharc_job_wait(j, -1), 0);
  pr.size = sizeof pr - 8;
  cr_assert_eq(sharc_job_progress(j, &pr), SHARC_EINVAL);
  pr.size = sizeof pr;
  cr_assert_eq(sharc_job_progress(j, &pr), 0);
  cr_assert_eq(pr.state, SHARC_JOB_DONE);
  sharc_job_free(j);
  sharc_pool_destroy(p);
}

Test(handle, a_report_of_another_size_is_refused_and_a_freed_one_reused) {
  sharc_pool *p = test_pool(1);
  sharc_report rep = SHARC_REPORT_INIT;
  rep.size = sizeof rep + 16; /* as a program built against newer headers */
  cr_assert_eq(sharc_run(p, "mark", 10, NULL, &rep), SHARC_EINVAL);
  cr_assert(strstr(sharc_pool_errmsg(p), "report: size field") != NULL, "%s",
            sharc_pool_errmsg(p));
  cr_assert_eq(rep.size, sizeof rep + 16, "a refused report is not written");
  rep.size = sizeof rep;
  /* A failing job fills the report, its strings included... */
  cr_assert_eq(sharc_run(p, "no_such_kernel", 10, NULL, &rep),
               SHARC_ENOKERNEL);
  cr_assert_str_eq(rep.kernel, "no_such_kernel");
  cr_assert_str_eq(rep.error, sharc_pool_errmsg(p));
  cr_assert_str_eq(rep.advice, "");
  /* ...and once freed, the same report takes the next job. */
  sharc_report_free(&rep);
  cr_assert_eq(rep.size, sizeof rep);
  cr_assert_null(rep.error);
  sharc_array *out;
  uint64_t shape[1] = {10};
  cr_assert_eq(sharc_array_create(p, SHARC_U64, 1, shape, NULL, &out), 0);
  sharc_job_opts o = SHARC_JOB_OPTS_INIT;
  o.arrays = &out;
  o.narrays = 1;
  cr_assert_eq(sharc_run(p, "mark", 10, &o, &rep), 0, "%s",
               sharc_pool_errmsg(p));
  cr_assert_str_eq(rep.kernel, "mark");
  cr_assert_str_eq(rep.error, "");
  cr_assert_eq(rep.indices, 10);
  sharc_report_free(&rep);
  sharc_pool_destroy(p);
}

Test(handle, a_submitted_job_keeps_its_own_copy_of_the_lists) {
  rig r = rig_make(1, 100);
  /* Job 0 waits at the gate; job 1 is queued behind it with a list that
   * the caller then overwrites and a declaration it then spoils. */
  sharc_job_opts o0 = gated_opts(&r, 0);
  sharc_job *a = test_submit(r.pool, "gated", 100, &o0, NULL);
  sharc_array *list[2] = {r.ctl, r.out[1]};
  sharc_reduce_spec spec = SHARC_REDUCE_SPEC_INIT(SHARC_REDUCE_COUNT);
  sharc_reduce_result res;
  sharc_job_opts o1 = SHARC_JOB_OPTS_INIT;
  o1.arrays = list;
  o1.narrays = 2;
  o1.reduce = &spec;
  o1.reduce_out = &res;
  o1.nreduce = 1;
  sharc_job *b = test_submit(r.pool, "gated", 100, &o1, NULL);
  list[1] = r.out[2];
  spec.kind = (sharc_reduce_kind)0;
  atomic_store(r.gate, 1);
  cr_assert_eq(sharc_job_wait(a, -1), 0, "%s", sharc_job_errmsg(a));
  cr_assert_eq(sharc_job_wait(b, -1), 0, "%s", sharc_job_errmsg(b));
  const uint64_t *t1 = sharc_array_data(r.out[1]);
  const uint64_t *t2 = sharc_array_data(r.out[2]);
  for (int i = 0; i < 100; i++) {
    cr_assert_neq(t1[i], 0, "index %d did not reach the array submitted", i);
    cr_assert_eq(t2[i], 0, "index %d reached the array put in later", i);
  }
  cr_assert_eq(res.kind, SHARC_REDUCE_COUNT, "the declaration submitted ran");
  sharc_job_free(a);
  sharc_job_free(b);
  sharc_pool_destroy(r.pool);
}
