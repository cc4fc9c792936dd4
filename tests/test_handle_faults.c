/* Faults in jobs run as handles: kernels that crash, hang, fail or scribble
 * on the control block, under fault policies, in submitted, queued and
 * streamed jobs, under cancel and terminate, in pipelines, with recycling,
 * and in a coordinator holding a large heap. Every fault is caused for
 * real; every check is on exact index sets, counts and codes. Jobs that
 * must stay running are held by gate words in a shared array that the
 * test opens, or hand over by shared counters: no sleeps. */
#define SHARC_EXPERIMENTAL_API /* pipelines */
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "helpers.h"
#include "internal.h"

TEST_SEGV_KILLS_WORKERS()

static uint64_t mix(uint64_t i) {
  i ^= i >> 31;
  i *= UINT64_C(0x7fb5d329728ea185);
  return (i ^ (i >> 27)) | 1; /* never 0: 0 means "not computed" */
}

static uint64_t splitmix(uint64_t *s) {
  uint64_t z = (*s += UINT64_C(0x9e3779b97f4a7c15));
  z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
  z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
  return z ^ (z >> 31);
}

/* ---- the kernels ----------------------------------------------------------
 *
 * hf_kernel: array 0 (u64) the output, out[i] = mix(i); array 1 (u8) what
 * index i does; array 2 (u64) control words. Every chunk first waits for
 * the gate; then the chunk's indices are looked at before any is written,
 * so an index left out keeps its 0. */
enum { P_OK = 0, P_SEGV, P_ABORT, P_EIO, P_HANG, P_ONCE, P_HOLD };
enum { C_GATE = 0, C_ONCE, C_HELD, C_RELEASE, C_HANGS, C_WORDS = 8 };

static int hf_kernel(const sharc_task *t, uint64_t b, uint64_t e) {
  uint64_t *out = sharc_task_array(t, 0);
  const uint8_t *what = sharc_task_array(t, 1);
  _Atomic uint64_t *c = sharc_task_array(t, 2);
  while (atomic_load(&c[C_GATE]) == 0)
    sched_yield();
  for (uint64_t i = b; i < e; i++) {
    switch (what[i]) {
    case P_SEGV:
      raise(SIGSEGV);
      break;
    case P_ABORT:
      abort();
    case P_EIO:
      return -EIO;
    case P_HANG: /* until the watchdog's SIGTERM */
      atomic_fetch_add(&c[C_HANGS], 1);
      for (;;)
        pause();
    case P_ONCE: /* the first worker to meet it dies; then it computes */
      if (atomic_exchange(&c[C_ONCE], 1) == 0)
        raise(SIGSEGV);
      break;
    case P_HOLD: /* dies once, then its retry waits for the release */
      if (atomic_exchange(&c[C_ONCE], 1) == 0)
        raise(SIGSEGV);
      atomic_fetch_add(&c[C_HELD], 1);
      while (atomic_load(&c[C_RELEASE]) == 0)
        sched_yield();
      break;
    default:
      break;
    }
  }
  for (uint64_t i = b; i < e; i++)
    out[i] = mix(i);
  return 0;
}
SHARC_KERNEL(hf_kernel)

/* A clean job for the queue behind a faulty one: out[i] = 3i + 1. */
static int hf_fill(const sharc_task *t, uint64_t b, uint64_t e) {
  uint64_t *out = sharc_task_array(t, 0);
  for (uint64_t i = b; i < e; i++)
    out[i] = 3 * i + 1;
  return 0;
}
SHARC_KERNEL(hf_fill)

/* Does index kind k fail every time it runs? */
static int always_fails(uint8_t k) {
  return k == P_SEGV || k == P_ABORT || k == P_EIO || k == P_HANG;
}

/* ---- the fixture ----------------------------------------------------------
 */

typedef struct fx {
  sharc_pool *p;
  uint64_t n;
  sharc_array *out, *what, *ctl, *out2;
  sharc_array *list[3], *list2[1];
  uint64_t *o, *o2;
  uint8_t *w;
  _Atomic uint64_t *c;
} fx;

static void fx_make(fx *f, unsigned workers, uint64_t n) {
  memset(f, 0, sizeof *f);
  f->p = test_pool(workers);
  f->n = n;
  uint64_t shape[1] = {n}, words[1] = {C_WORDS};
  cr_assert_eq(sharc_array_create(f->p, SHARC_U64, 1, shape, NULL, &f->out), 0);
  cr_assert_eq(sharc_array_create(f->p, SHARC_U8, 1, shape, NULL, &f->what), 0);
  cr_assert_eq(sharc_array_create(f->p, SHARC_U64, 1, words, NULL, &f->ctl), 0);
  cr_assert_eq(sharc_array_create(f->p, SHARC_U64, 1, shape, NULL, &f->out2),
               0);
  f->list[0] = f->out;
  f->list[1] = f->what;
  f->list[2] = f->ctl;
  f->list2[0] = f->out2;
  f->o = sharc_array_data(f->out);
  f->o2 = sharc_array_data(f->out2);
  f->w = sharc_array_data(f->what);
  f->c = sharc_array_data(f->ctl);
}

/* Outputs zeroed, every index healthy, the gate open, counters reset. */
static void fx_reset(fx *f) {
  memset(f->o, 0, f->n * sizeof *f->o);
  memset(f->o2, 0, f->n * sizeof *f->o2);
  memset(f->w, 0, f->n);
  for (int k = 0; k < C_WORDS; k++)
    atomic_store(&f->c[k], 0);
  atomic_store(&f->c[C_GATE], 1);
}

static sharc_job_opts fx_opts(fx *f, const char *sched, unsigned retries) {
  sharc_job_opts o = SHARC_JOB_OPTS_INIT;
  o.arrays = f->list;
  o.narrays = 3;
  cr_assert_eq(sharc_schedule_parse(sched, &o.schedule), 0, "%s", sched);
  o.fault.retries = retries;
  o.fault.on_poison = SHARC_POISON_QUARANTINE;
  return o;
}

/* The clean job behind a faulty one, over out2. */
static sharc_job *submit_fill(fx *f) {
  sharc_job_opts o = SHARC_JOB_OPTS_INIT;
  o.arrays = f->list2;
  o.narrays = 1;
  return test_submit(f->p, "hf_fill", f->n, &o, NULL);
}

static void expect_fill_done(fx *f, sharc_job *j, const char *what) {
  test_expect_clean(j, f->o2, f->n, what);
}

/* The report's quarantined ranges are exactly the indices that always
 * fail, one index each, with the signal or code that index causes. Also
 * checks every other index was computed and nothing else written. */
static void expect_exact_quarantine(fx *f, const sharc_report *rep,
                                    unsigned attempts, const char *what) {
  uint64_t want = 0;
  for (uint64_t i = 0; i < f->n; i++)
    want += always_fails(f->w[i]);
  cr_assert_eq(rep->nquarantined, want, "%s: %u quarantined, %llu poison", what,
               rep->nquarantined, (unsigned long long)want);
  uint8_t *seen = calloc(f->n, 1);
  cr_assert_not_null(seen);
  for (unsigned k = 0; k < rep->nquarantined; k++) {
    const sharc_quarantined *q = &rep->quarantined[k];
    cr_assert_eq(q->end, q->begin + 1, "%s: [%llu, %llu) is not one index",
                 what, (unsigned long long)q->begin,
                 (unsigned long long)q->end);
    cr_assert_lt(q->begin, f->n);
    uint8_t kind = f->w[q->begin];
    cr_assert(always_fails(kind), "%s: healthy index %llu quarantined", what,
              (unsigned long long)q->begin);
    cr_assert_eq(seen[q->begin], 0, "%s: index %llu quarantined twice", what,
                 (unsigned long long)q->begin);
    seen[q->begin] = 1;
    cr_assert_eq(q->attempts, attempts, "%s: index %llu: %u attempts", what,
                 (unsigned long long)q->begin, q->attempts);
    int sig = kind == P_SEGV    ? SIGSEGV
              : kind == P_ABORT ? SIGABRT
              : kind == P_HANG  ? SIGTERM
                                : 0;
    cr_assert_eq(q->signal, sig, "%s: index %llu: signal %d", what,
                 (unsigned long long)q->begin, q->signal);
    cr_assert_eq(q->code, kind == P_EIO ? -EIO : 0, "%s: index %llu: code %d",
                 what, (unsigned long long)q->begin, q->code);
    cr_assert_eq(q->timed_out, kind == P_HANG, "%s: index %llu", what,
                 (unsigned long long)q->begin);
  }
  free(seen);
  cr_assert_eq(rep->indices, f->n - want, "%s: %llu indices reported", what,
               (unsigned long long)rep->indices);
  for (uint64_t i = 0; i < f->n; i++)
    cr_assert_eq(f->o[i], always_fails(f->w[i]) ? 0 : mix(i), "%s: index %llu",
                 what, (unsigned long long)i);
}

/* ---- streams, checked index by index --------------------------------------
 */

typedef struct ranges_seen {
  uint8_t *count; /* per index: how many on_range calls named it */
  _Atomic uint64_t calls;
} ranges_seen;

static void on_range(sharc_job *j, uint64_t b, uint64_t e, void *arg) {
  (void)j;
  ranges_seen *s = arg;
  atomic_fetch_add(&s->calls, 1);
  for (uint64_t i = b; i < e; i++)
    if (s->count[i] < 255)
      s->count[i]++;
}

/* test_drain_streams (helpers.h) with this file's values. */
static uint64_t drain_streams(sharc_job *j, uint64_t n, const uint8_t *missing,
                              const uint64_t *out, const char *what) {
  return test_drain_streams(j, n, missing, out, mix, what);
}

/* What the streams must leave out: the indices that always fail. */
static uint8_t *poison_set(const fx *f) {
  uint8_t *m = calloc(f->n, 1);
  cr_assert_not_null(m);
  for (uint64_t i = 0; i < f->n; i++)
    m[i] = always_fails(f->w[i]);
  return m;
}

/* ---- 1. a crashing job queued ahead of a clean one -------------------------
 */

Test(
    handle_faults,
    a_crashing_job_ahead_in_the_queue_quarantines_its_poison_and_the_next_runs_in_full,
    .timeout = 300) {
  fx f;
  fx_make(&f, 2, 20000);
  const char *sch[] = {"dynamic:64", "auto", "static", "guided", "static:9"};
  const uint64_t poison[] = {0, 3, 4999, 5000, 12345, 19999};
  for (size_t s = 0; s < sizeof sch / sizeof sch[0]; s++) {
    fx_reset(&f);
    for (size_t k = 0; k < sizeof poison / sizeof poison[0]; k++)
      f.w[poison[k]] = k % 2 ? P_ABORT : P_SEGV;
    atomic_store(&f.c[C_GATE], 0); /* the faulty job waits at the gate */
    sharc_job_opts o = fx_opts(&f, sch[s], 2);
    sharc_job *a = test_submit(f.p, "hf_kernel", f.n, &o, NULL);
    until_running(a);
    sharc_job *b = submit_fill(&f);
    sharc_progress pr = SHARC_PROGRESS_INIT;
    cr_assert_eq(sharc_job_progress(b, &pr), 0);
    cr_assert_eq(pr.state, SHARC_JOB_QUEUED, "%s", sch[s]);
    atomic_store(&f.c[C_GATE], 1);
    int rc = sharc_job_wait(a, -1);
    cr_assert_eq(rc, SHARC_EQUARANTINED, "%s: rc %s (%s)", sch[s],
                 sharc_err_name(rc), sharc_job_errmsg(a));
    const sharc_report *rep = sharc_job_report(a);
    cr_assert_not_null(rep);
    cr_assert_eq(rep->status, SHARC_EQUARANTINED);
    expect_exact_quarantine(&f, rep, 3, sch[s]);
    /* each poison index killed a worker alone three times at least */
    cr_assert_geq(rep->deaths, 3 * 6, "%s: %u deaths", sch[s], rep->deaths);
    cr_assert_geq(rep->passes, 3, "%s: %u passes", sch[s], rep->passes);
    cr_assert(strstr(sharc_job_errmsg(a), "quarantined") != NULL, "%s",
              sharc_job_errmsg(a));
    cr_assert_str_eq(rep->error, sharc_job_errmsg(a));
    cr_assert_eq(sharc_job_progress(a, &pr), 0);
    cr_assert_eq(pr.state, SHARC_JOB_DONE);
    cr_assert_eq(pr.done, f.n - 6);
    cr_assert_eq(pr.passes, rep->passes);
    cr_assert_eq(pr.failures, rep->deaths + rep->kernel_errors);
    expect_fill_done(&f, b, sch[s]);
    sharc_job_free(a);
    sharc_job_free(b);
  }
  sharc_pool_destroy(f.p);
}

Test(
    handle_faults,
    a_failing_record_in_a_submitted_job_with_the_stop_policy_names_it_and_the_queue_goes_on) {
  fx f;
  fx_make(&f, 2, 5000);
  fx_reset(&f);
  f.w[77] = P_EIO;
  sharc_job_opts o = fx_opts(&f, "dynamic:32", 1);
  o.fault.on_poison = SHARC_POISON_STOP;
  atomic_store(&f.c[C_GATE], 0);
  sharc_job *a = test_submit(f.p, "hf_kernel", f.n, &o, NULL);
  sharc_job *b = submit_fill(&f);
  atomic_store(&f.c[C_GATE], 1);
  int rc = sharc_job_wait(a, -1);
  cr_assert_eq(rc, SHARC_EKERNEL, "rc %s (%s)", sharc_err_name(rc),
               sharc_job_errmsg(a));
  cr_assert(strstr(sharc_job_errmsg(a), "[77, 78)") != NULL, "%s",
            sharc_job_errmsg(a));
  const sharc_report *rep = sharc_job_report(a);
  cr_assert_eq(rep->deaths, 0, "no worker dies for a returned error");
  cr_assert_geq(rep->kernel_errors, 2);
  expect_fill_done(&f, b, "after a stopped job");
  sharc_job_free(a);
  sharc_job_free(b);
  sharc_pool_destroy(f.p);
}

/* ---- 2. streams of a job with crashing indices -----------------------------
 */

static void stream_poison_run(fx *f, const char *sched, unsigned retries,
                              const char *what) {
  uint8_t *missing = poison_set(f);
  ranges_seen rs = {calloc(f->n, 1), 0};
  cr_assert_not_null(rs.count);
  sharc_job_opts o = fx_opts(f, sched, retries);
  sharc_submit_opts so = SHARC_SUBMIT_OPTS_INIT;
  so.stream = 1;
  so.on_range = on_range;
  so.on_range_arg = &rs;
  sharc_job *j = test_submit(f->p, "hf_kernel", f->n, &o, &so);
  uint64_t given = drain_streams(j, f->n, missing, f->o, what);
  int rc = sharc_job_wait(j, 0); /* the streams ended: so did the job */
  cr_assert_eq(rc, SHARC_EQUARANTINED, "%s: rc %s (%s)", what,
               sharc_err_name(rc), sharc_job_errmsg(j));
  const sharc_report *rep = sharc_job_report(j);
  expect_exact_quarantine(f, rep, retries + 1, what);
  cr_assert_eq(given, rep->indices, "%s", what);
  for (uint64_t i = 0; i < f->n; i++)
    cr_assert_eq(rs.count[i], missing[i] ? 0 : 1,
                 "%s: index %llu in %u on_range calls", what,
                 (unsigned long long)i, rs.count[i]);
  sharc_progress pr = SHARC_PROGRESS_INIT;
  cr_assert_eq(sharc_job_progress(j, &pr), 0);
  cr_assert_eq(pr.live, 1);
  cr_assert_eq(pr.done, rep->indices);
  sharc_job_free(j);
  free(rs.count);
  free(missing);
}

Test(handle_faults,
     a_stream_gives_every_completed_index_once_and_never_a_quarantined_one,
     .timeout = 300) {
  fx f;
  fx_make(&f, 2, 100000);
  const char *sch[] = {"auto", "dynamic:100", "static", "fac2"};
  for (size_t s = 0; s < sizeof sch / sizeof sch[0]; s++) {
    fx_reset(&f);
    f.w[4242] = P_SEGV;
    f.w[4243] = P_ABORT;
    f.w[70001] = P_SEGV;
    f.w[99999] = P_EIO;
    stream_poison_run(&f, sch[s], 1, sch[s]);
  }
  sharc_pool_destroy(f.p);
}

Test(handle_faults, a_stream_with_two_hundred_poison_indices_in_100k,
     .timeout = 600) {
  fx f;
  fx_make(&f, 2, 100000);
  fx_reset(&f);
  uint64_t seed = 2024;
  unsigned placed = 0;
  while (placed < 200) {
    uint64_t i = splitmix(&seed) % f.n;
    if (f.w[i] == P_OK) {
      f.w[i] = splitmix(&seed) % 4 == 0 ? P_ABORT : P_SEGV;
      placed++;
    }
  }
  stream_poison_run(&f, "dynamic:8", 1, "200 poison");
  sharc_pool_destroy(f.p);
}

/* More than 2^20 indices: the done map's block is 3 indices, and the job's
 * grain stays 1. A crash bisects a chunk at a point inside a block; once
 * the retries have run, every index completed (or all but the quarantined
 * one), and the streams must say so. */
Test(handle_faults, a_stream_of_3m_indices_covers_every_index_after_a_retry,
     .timeout = 300) {
  fx f;
  fx_make(&f, 2, 3000000);
  const char *sch[] = {"dynamic:9", "auto"};
  for (size_t s = 0; s < sizeof sch / sizeof sch[0]; s++) {
    for (int quarantine = 0; quarantine <= 1; quarantine++) {
      fx_reset(&f);
      f.w[1234567] = quarantine ? P_SEGV : P_ONCE;
      uint8_t *missing = poison_set(&f);
      sharc_job_opts o = fx_opts(&f, sch[s], 1);
      sharc_submit_opts so = SHARC_SUBMIT_OPTS_INIT;
      so.stream = 1;
      sharc_job *j = test_submit(f.p, "hf_kernel", f.n, &o, &so);
      char what[64];
      snprintf(what, sizeof what, "%s %s", sch[s],
               quarantine ? "quarantined" : "crash once");
      uint64_t given = drain_streams(j, f.n, missing, f.o, what);
      int rc = sharc_job_wait(j, -1);
      cr_assert_eq(rc, quarantine ? SHARC_EQUARANTINED : 0, "%s: rc %s (%s)",
                   what, sharc_err_name(rc), sharc_job_errmsg(j));
      const sharc_report *rep = sharc_job_report(j);
      expect_exact_quarantine(&f, rep, 2, what);
      cr_assert_eq(given, rep->indices);
      cr_assert_geq(rep->deaths, 1);
      sharc_job_free(j);
      free(missing);
    }
  }
  sharc_pool_destroy(f.p);
}

/* ---- 3. cancel and terminate during a retry pass ---------------------------
 */

/* Submits the holding job (index 777 dies once, its retry waits for the
 * release) and a clean one behind it, and returns once the retry is
 * holding and the job's progress shows the second pass and the death. */
static sharc_job *submit_held(fx *f, int stream, sharc_job **behind) {
  fx_reset(f);
  f->w[777] = P_HOLD;
  sharc_job_opts o = fx_opts(f, "dynamic:50", 2);
  sharc_submit_opts so = SHARC_SUBMIT_OPTS_INIT;
  so.stream = stream;
  sharc_job *a = test_submit(f->p, "hf_kernel", f->n, &o, &so);
  *behind = submit_fill(f);
  while (atomic_load(&f->c[C_HELD]) == 0)
    sched_yield();
  sharc_progress pr = SHARC_PROGRESS_INIT;
  do {
    cr_assert_eq(sharc_job_progress(a, &pr), 0);
    cr_assert_eq(pr.state, SHARC_JOB_RUNNING);
    sched_yield();
  } while (pr.passes < 2);
  cr_assert_geq(pr.failures, 1);
  cr_assert_eq(pr.n, f->n);
  sharc_progress pb = SHARC_PROGRESS_INIT;
  cr_assert_eq(sharc_job_progress(*behind, &pb), 0);
  cr_assert_eq(pb.state, SHARC_JOB_QUEUED);
  return a;
}

Test(handle_faults,
     a_job_cancelled_in_its_retry_pass_ends_cancelled_and_the_next_runs,
     .timeout = 120) {
  fx f;
  fx_make(&f, 2, 10000);
  for (int stream = 0; stream <= 1; stream++) {
    sharc_job *b;
    sharc_job *a = submit_held(&f, stream, &b);
    cr_assert_eq(sharc_job_cancel(a), 0);
    int rc = sharc_job_wait(a, -1);
    cr_assert_eq(rc, SHARC_ECANCELED, "stream %d: rc %s (%s)", stream,
                 sharc_err_name(rc), sharc_job_errmsg(a));
    cr_assert(strstr(sharc_job_errmsg(a), "cancelled") != NULL, "%s",
              sharc_job_errmsg(a));
    const sharc_report *rep = sharc_job_report(a);
    cr_assert_not_null(rep);
    cr_assert_eq(rep->status, SHARC_ECANCELED);
    cr_assert_eq(rep->nquarantined, 0);
    cr_assert_lt(rep->indices, f.n);
    if (stream) {
      /* What the streams give of a cancelled job completed, and they end. */
      uint64_t bb, ee, got = 0, upto = 0, last = 0;
      int src;
      while ((src = sharc_job_next_ordered(a, &upto, -1)) == 1) {
        for (uint64_t i = last; i < upto; i++)
          cr_assert_eq(f.o[i], mix(i), "index %llu", (unsigned long long)i);
        last = upto;
      }
      cr_assert_eq(src, 0);
      cr_assert_leq(last, 777);
      while ((src = sharc_job_next(a, &bb, &ee, -1)) == 1) {
        for (uint64_t i = bb; i < ee; i++) {
          cr_assert_neq(i, 777, "the held index was given");
          cr_assert_eq(f.o[i], mix(i), "index %llu", (unsigned long long)i);
        }
        got += ee - bb;
      }
      cr_assert_eq(src, 0);
      cr_assert_lt(got, f.n);
    }
    /* The cancel was this job's: the clean job behind it runs in full. */
    expect_fill_done(&f, b, "after a cancel in a retry pass");
    sharc_job_free(a);
    sharc_job_free(b);
    /* The held worker was killed: the pool has every worker again and the
     * job runs whole once the retry is let go. */
    fx_reset(&f);
    f.w[777] = P_HOLD;
    atomic_store(&f.c[C_RELEASE], 1);
    sharc_job_opts o = fx_opts(&f, "dynamic:50", 2);
    sharc_report r2 = SHARC_REPORT_INIT;
    rc = sharc_run(f.p, "hf_kernel", f.n, &o, &r2);
    cr_assert_eq(rc, 0, "rc %s (%s)", sharc_err_name(rc),
                 sharc_pool_errmsg(f.p));
    cr_assert_eq(r2.deaths, 1);
    for (uint64_t i = 0; i < f.n; i++)
      cr_assert_eq(f.o[i], mix(i), "index %llu", (unsigned long long)i);
    sharc_report_free(&r2);
  }
  sharc_pool_destroy(f.p);
}

Test(handle_faults, terminate_during_a_retry_pass_cancels_it_and_the_queue,
     .timeout = 120) {
  fx f;
  fx_make(&f, 2, 10000);
  sharc_job *b;
  sharc_job *a = submit_held(&f, 1, &b);
  cr_assert_eq(sharc_pool_terminate(f.p), 0);
  cr_assert_eq(sharc_pool_join(f.p, -1), 0);
  int rc = sharc_job_wait(a, 0);
  cr_assert_eq(rc, SHARC_ECANCELED, "rc %s (%s)", sharc_err_name(rc),
               sharc_job_errmsg(a));
  cr_assert_eq(sharc_job_report(a)->status, SHARC_ECANCELED);
  cr_assert_eq(sharc_job_wait(b, 0), SHARC_ECANCELED);
  cr_assert_str_eq(sharc_job_errmsg(b), "'hf_fill' cancelled while queued");
  for (uint64_t i = 0; i < f.n; i++)
    cr_assert_eq(f.o2[i], 0, "the cancelled clean job ran index %llu",
                 (unsigned long long)i);
  sharc_progress pr = SHARC_PROGRESS_INIT;
  cr_assert_eq(sharc_job_progress(a, &pr), 0);
  cr_assert_eq(pr.state, SHARC_JOB_DONE);
  cr_assert_eq(sharc_job_progress(b, &pr), 0);
  cr_assert_eq(pr.state, SHARC_JOB_DONE);
  /* The stream of the terminated job ends. */
  uint64_t bb, ee;
  while ((rc = sharc_job_next(a, &bb, &ee, -1)) == 1)
    for (uint64_t i = bb; i < ee; i++)
      cr_assert_neq(i, 777);
  cr_assert_eq(rc, 0);
  cr_assert_eq(sharc_job_cancel(a), 0); /* ended: left as it is */
  cr_assert_eq(sharc_job_wait(a, 0), SHARC_ECANCELED);
  sharc_job *c = NULL;
  cr_assert_eq(sharc_submit(f.p, "hf_fill", 10, NULL, NULL, &c), SHARC_ECLOSED);
  cr_assert_null(c);
  cr_assert_eq(sharc_run(f.p, "hf_fill", 10, NULL, NULL), SHARC_ECLOSED);
  cr_assert_eq(sharc_pool_join(f.p, 0), 0);
  sharc_pool_destroy(f.p);
  /* Handles outlive the pool: their status stays, freeing works. */
  cr_assert_eq(sharc_job_wait(a, 0), SHARC_ECANCELED);
  sharc_job_free(a);
  sharc_job_free(b);
}

/* ---- 4. a hanging kernel under a chunk timeout ------------------------------
 */

Test(handle_faults,
     a_submitted_job_with_a_hang_times_out_its_waits_then_names_the_index,
     .timeout = 120) {
  fx f;
  fx_make(&f, 2, 2000);
  fx_reset(&f);
  f.w[321] = P_HANG;
  sharc_job_opts o = fx_opts(&f, "dynamic:16", 1);
  /* The hang is killed after 0.5 s (wall time less CPU waits): the
   * job cannot end sooner than that after the hang began. */
  o.fault.timeout_s = 0.5;
  sharc_job *a = test_submit(f.p, "hf_kernel", f.n, &o, NULL);
  sharc_job *b = submit_fill(&f);
  while (atomic_load(&f.c[C_HANGS]) == 0)
    sched_yield();
  /* The first hang runs; the job needs its timeout and two more (the
   * index alone, twice) before it can end. */
  if (atomic_load(&f.c[C_HANGS]) == 1) {
    cr_assert_eq(sharc_job_wait(a, 0.02), SHARC_ETIMEDOUT);
    cr_assert_eq(sharc_job_wait(a, 0), SHARC_ETIMEDOUT);
    cr_assert_null(sharc_job_report(a));
    cr_assert_str_eq(sharc_job_errmsg(a), "");
  } else {
    cr_log_warn("the test thread was held past a timeout of 0.5 s: the "
                "waits that must time out were skipped");
  }
  int rc = sharc_job_wait(a, -1);
  cr_assert_eq(rc, SHARC_EQUARANTINED, "rc %s (%s)", sharc_err_name(rc),
               sharc_job_errmsg(a));
  const sharc_report *rep = sharc_job_report(a);
  expect_exact_quarantine(&f, rep, 2, "hang");
  /* The chunk, the index among single blocks, the index alone again. */
  cr_assert_eq(atomic_load(&f.c[C_HANGS]), 3, "%llu hangs",
               (unsigned long long)atomic_load(&f.c[C_HANGS]));
  cr_assert_eq(rep->deaths, 3, "%u deaths", rep->deaths);
  cr_assert(strstr(sharc_job_errmsg(a), "[321, 322)") != NULL, "%s",
            sharc_job_errmsg(a));
  cr_assert(strstr(sharc_job_errmsg(a), "timeout") != NULL, "%s",
            sharc_job_errmsg(a));
  expect_fill_done(&f, b, "after a hang");
  sharc_job_free(a);
  sharc_job_free(b);
  sharc_pool_destroy(f.p);
}

/* ---- 5. pipelines whose transform crashes -----------------------------------
 */

/* Item i of the input is the u64 i; the transform maps x to 3x + seq, and
 * an item equal to one of the u64 argument values crashes its worker. */
static int hf_triple(const sharc_task *t, uint64_t b, uint64_t e) {
  uint64_t *x = sharc_pipeline_slot(t);
  uint64_t seq = sharc_pipeline_seq(t);
  size_t len;
  const uint64_t *poison = sharc_pipeline_args(t, &len);
  if (x == NULL || e > sharc_pipeline_items(t))
    return SHARC_EINVAL;
  for (uint64_t i = b; i < e; i++)
    for (size_t k = 0; k < len / sizeof *poison; k++)
      if (x[i] == poison[k])
        raise(SIGSEGV);
  for (uint64_t i = b; i < e; i++)
    x[i] = 3 * x[i] + seq;
  return 0;
}
SHARC_KERNEL(hf_triple)

typedef struct pio {
  uint64_t total, next_in, expect, written, slots_seen;
  int order_ok;
} pio;

static int64_t pread_items(void *slot, uint64_t cap, uint64_t seq, void *arg) {
  (void)seq;
  pio *s = arg;
  uint64_t *x = slot, k = 0;
  for (; k < cap && s->next_in < s->total; k++)
    x[k] = s->next_in++;
  return (int64_t)k;
}

/* Slots are of 1000 items: item i is in slot i / 1000. */
static int pwrite_items(const void *slot, uint64_t items, uint64_t seq,
                        void *arg) {
  pio *s = arg;
  const uint64_t *x = slot;
  if (seq != s->slots_seen)
    s->order_ok = 0;
  s->slots_seen++;
  for (uint64_t k = 0; k < items; k++, s->expect++)
    if (x[k] != 3 * s->expect + s->expect / 1000)
      s->order_ok = 0;
  s->written += items;
  return 0;
}

static int run_pipe(sharc_pool *p, pio *s, const uint64_t *poison, size_t np,
                    const char *sched, const sharc_fault_policy *fp,
                    sharc_pipeline_result *res) {
  memset(s, 0, sizeof *s);
  s->total = 100000;
  s->order_ok = 1;
  sharc_pipeline_opts po = SHARC_PIPELINE_OPTS_INIT;
  po.kernel = "hf_triple";
  po.item_bytes = sizeof(uint64_t);
  po.slot_items = 1000;
  po.slots = 4;
  po.read = pread_items;
  po.write = pwrite_items;
  po.arg = s;
  po.job.args = poison;
  po.job.args_len = np * sizeof *poison;
  if (sched != NULL)
    cr_assert_eq(sharc_schedule_parse(sched, &po.job.schedule), 0);
  if (fp != NULL)
    po.job.fault = *fp;
  return sharc_pipeline_run(p, &po, res);
}

static void expect_pipe_failed_at(const pio *s,
                                  const sharc_pipeline_result *res,
                                  uint64_t seq, uint64_t index,
                                  const char *what) {
  cr_assert_str_eq(res->failed_stage, "transform", "%s", what);
  cr_assert_eq(res->failed_seq, seq, "%s: slot %llu", what,
               (unsigned long long)res->failed_seq);
  cr_assert_eq(res->failed_index, index, "%s: index %llu (%s)", what,
               (unsigned long long)res->failed_index, res->error);
  cr_assert_eq(res->slots_written, seq, "%s: every slot before, none after",
               what);
  cr_assert_eq(s->written, seq * 1000, "%s", what);
  cr_assert_eq(res->items, seq * 1000, "%s", what);
  cr_assert(s->order_ok, "%s: slots out of order or wrongly transformed", what);
  char want[32];
  snprintf(want, sizeof want, "slot %llu", (unsigned long long)seq);
  cr_assert(strstr(res->error, want) != NULL, "%s: %s", what, res->error);
}

Test(handle_faults, a_pipeline_whose_transform_crashes_names_slot_and_index,
     .timeout = 120) {
  sharc_pool *p = test_pool(2);
  pio s;
  sharc_pipeline_result res = SHARC_PIPELINE_RESULT_INIT;
  /* The pipeline's own policy: the index is narrowed down, the job stops. */
  uint64_t one = 54321; /* slot 54, index 321 */
  int rc = run_pipe(p, &s, &one, 1, NULL, NULL, &res);
  cr_assert_eq(rc, SHARC_EWORKER, "rc %s (%s)", sharc_err_name(rc), res.error);
  expect_pipe_failed_at(&s, &res, 54, 321, "own policy");
  cr_assert(strstr(res.error, "signal 11") != NULL, "%s", res.error);
  sharc_pipeline_result_free(&res);
  /* A quarantine policy of the transform's: the slot is incomplete, so it
   * fails the pipeline all the same, named exactly. */
  sharc_fault_policy fp = SHARC_FAULT_POLICY_INIT;
  fp.retries = 2;
  rc = run_pipe(p, &s, &one, 1, "dynamic:10", &fp, &res);
  cr_assert_eq(rc, SHARC_EQUARANTINED, "rc %s (%s)", sharc_err_name(rc),
               res.error);
  expect_pipe_failed_at(&s, &res, 54, 321, "quarantine policy");
  sharc_pipeline_result_free(&res);
  /* The pool works on. */
  rc = run_pipe(p, &s, NULL, 0, NULL, NULL, &res);
  cr_assert_eq(rc, 0, "%s", res.error);
  cr_assert_eq(s.written, s.total);
  cr_assert(s.order_ok);
  cr_assert_str_eq(res.error, "");
  sharc_pipeline_result_free(&res);
  sharc_pool_destroy(p);
}

/* ---- 6. kernels that scribble on the control block --------------------------
 */

enum { S_COUNTER_TO_N = 1, S_EMPTY_RANGES = 2, S_WRITE_JOB = 3 };

typedef struct scrib_args {
  uintptr_t cb; /* at the same address in every worker */
  uint32_t nslots;
  int mode;
} scrib_args;

/* out[i] = mix(i) (array 0); the first chunk of the job (a flag among the
 * control words, array 1) scribbles as mode says. */
static int hf_scribble(const sharc_task *t, uint64_t b, uint64_t e) {
  uint64_t *out = sharc_task_array(t, 0);
  _Atomic uint64_t *once = (_Atomic uint64_t *)sharc_task_array(t, 1) + C_ONCE;
  const scrib_args *a = sharc_task_args(t, NULL);
  sharc__cb *cb = (sharc__cb *)a->cb;
  uint64_t zero = 0;
  if (atomic_compare_exchange_strong(once, &zero, 1)) {
    if (a->mode == S_COUNTER_TO_N) {
      atomic_store(&cb->next, cb->job.n);
    } else if (a->mode == S_EMPTY_RANGES) {
      sharc__range *r = sharc__cb_ranges(cb, a->nslots);
      for (unsigned w = 0; w < a->nslots; w++)
        atomic_store(&r[w].word, 0);
    } else if (a->mode == S_WRITE_JOB) {
      volatile unsigned char *args = cb->job.args;
      args[0] ^= 1;
    }
  }
  for (uint64_t i = b; i < e; i++)
    out[i] = mix(i);
  return 0;
}
SHARC_KERNEL(hf_scribble)

Test(
    handle_faults,
    scribbled_claim_words_in_submitted_and_streamed_jobs_cost_a_pass_not_an_index,
    .timeout = 300) {
  fx f;
  fx_make(&f, 2, 40000);
  struct {
    const char *sched;
    int mode;
  } cases[] = {{"dynamic:13", S_COUNTER_TO_N},
               {"guided", S_COUNTER_TO_N},
               {"auto", S_EMPTY_RANGES}};
  uint8_t *none = calloc(f.n, 1);
  for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
    for (int stream = 0; stream <= 1; stream++) {
      fx_reset(&f);
      scrib_args sa = {(uintptr_t)f.p->cb, f.p->nworkers, cases[k].mode};
      sharc_job_opts o = SHARC_JOB_OPTS_INIT;
      o.arrays = (sharc_array *[]){f.out, f.ctl};
      o.narrays = 2;
      cr_assert_eq(sharc_schedule_parse(cases[k].sched, &o.schedule), 0);
      o.args = &sa;
      o.args_len = sizeof sa;
      o.fault.retries = 2;
      sharc_submit_opts so = SHARC_SUBMIT_OPTS_INIT;
      so.stream = stream;
      sharc_job *a = test_submit(f.p, "hf_scribble", f.n, &o, &so);
      sharc_job *b = submit_fill(&f);
      char what[64];
      snprintf(what, sizeof what, "%s mode %d stream %d", cases[k].sched,
               cases[k].mode, stream);
      if (stream)
        drain_streams(a, f.n, none, f.o, what);
      int rc = sharc_job_wait(a, -1);
      cr_assert_eq(rc, 0, "%s: rc %s (%s)", what, sharc_err_name(rc),
                   sharc_job_errmsg(a));
      cr_assert_eq(atomic_load(&f.c[C_ONCE]), 1, "%s: the scribble happened",
                   what);
      const sharc_report *rep = sharc_job_report(a);
      cr_assert_eq(rep->indices, f.n, "%s", what);
      cr_assert_geq(rep->passes, 2, "%s: the scribbled pass ran again", what);
      for (uint64_t i = 0; i < f.n; i++)
        cr_assert_eq(f.o[i], mix(i), "%s: index %llu", what,
                     (unsigned long long)i);
      expect_fill_done(&f, b, what);
      sharc_job_free(a);
      sharc_job_free(b);
    }
  }
  free(none);
  sharc_pool_destroy(f.p);
}

Test(
    handle_faults,
    a_submitted_job_writing_its_descriptor_fails_by_name_and_the_queue_goes_on) {
  fx f;
  fx_make(&f, 2, 1000);
  fx_reset(&f);
  scrib_args sa = {(uintptr_t)f.p->cb, f.p->nworkers, S_WRITE_JOB};
  sharc_job_opts o = SHARC_JOB_OPTS_INIT;
  o.arrays = (sharc_array *[]){f.out, f.ctl};
  o.narrays = 2;
  o.schedule = (sharc_schedule){SHARC_SCHED_DYNAMIC, 16};
  o.args = &sa;
  o.args_len = sizeof sa;
  o.fault.retries = 2;
  sharc_submit_opts so = SHARC_SUBMIT_OPTS_INIT;
  so.stream = 1;
  sharc_job *a = test_submit(f.p, "hf_scribble", f.n, &o, &so);
  sharc_job *b = submit_fill(&f);
  int rc = sharc_job_wait(a, -1);
  cr_assert_eq(rc, SHARC_EWORKER, "rc %s (%s)", sharc_err_name(rc),
               sharc_job_errmsg(a));
  cr_assert(strstr(sharc_job_errmsg(a), "read-only") != NULL, "%s",
            sharc_job_errmsg(a));
  cr_assert(strstr(sharc_job_errmsg(a), "job descriptor") != NULL, "%s",
            sharc_job_errmsg(a));
  const sharc_report *rep = sharc_job_report(a);
  cr_assert_eq(rep->nquarantined, 0, "no index is to blame");
  cr_assert_leq(rep->passes, 1, "%u passes", rep->passes);
  /* Its stream ends, giving only written indices. */
  uint64_t bb, ee;
  while ((rc = sharc_job_next(a, &bb, &ee, -1)) == 1)
    for (uint64_t i = bb; i < ee; i++)
      cr_assert_eq(f.o[i], mix(i), "index %llu", (unsigned long long)i);
  cr_assert_eq(rc, 0);
  expect_fill_done(&f, b, "after a descriptor write");
  sharc_job_free(a);
  sharc_job_free(b);
  sharc_pool_destroy(f.p);
}

/* ---- 7. a coordinator holding a large heap ----------------------------------
 */

Test(handle_faults,
     crashing_jobs_replace_workers_of_a_coordinator_holding_512_mib,
     .timeout = 300) {
  size_t big = (size_t)512 << 20;
  unsigned char *heap = malloc(big);
  cr_assert_not_null(heap);
  memset(heap, 0x5a, big);
  fx f;
  fx_make(&f, 2, 50000);
  unsigned deaths = 0;
  for (int round = 0; round < 3; round++) {
    fx_reset(&f);
    f.w[100 + (uint64_t)round] = P_SEGV;
    f.w[25000] = P_ABORT;
    f.w[49999 - (uint64_t)round] = P_SEGV;
    sharc_job_opts o = fx_opts(&f, round == 1 ? "auto" : "dynamic:128", 2);
    sharc_job *a = test_submit(f.p, "hf_kernel", f.n, &o, NULL);
    sharc_job *b = submit_fill(&f);
    /* The coordinator writes its heap while workers are forked from it. */
    memset(heap + (size_t)round * (big / 4), 0x30 + round, big / 4);
    int rc = sharc_job_wait(a, -1);
    cr_assert_eq(rc, SHARC_EQUARANTINED, "round %d: rc %s (%s)", round,
                 sharc_err_name(rc), sharc_job_errmsg(a));
    const sharc_report *rep = sharc_job_report(a);
    expect_exact_quarantine(&f, rep, 3, "large heap");
    cr_assert_geq(rep->deaths, 9);
    deaths += rep->deaths;
    expect_fill_done(&f, b, "large heap");
    sharc_job_free(a);
    sharc_job_free(b);
  }
  cr_log_info("large heap: %u workers replaced", deaths);
  sharc_pool_destroy(f.p);
  for (int round = 0; round < 3; round++)
    cr_assert_eq(heap[(size_t)round * (big / 4) + 12345],
                 (unsigned char)(0x30 + round));
  cr_assert_eq(heap[big - 1], 0x5a);
  free(heap);
}

/* ---- 8. recycling in a streamed job -----------------------------------------
 */

Test(handle_faults, recycled_workers_in_a_streamed_job_give_every_index_once,
     .timeout = 300) {
  fx f;
  fx_make(&f, 2, 50000);
  /* auto sizes a fresh worker's first chunks from a cold start: a life of
   * a few chunks would be a few indices, so it gets 100. */
  const char *sch[] = {"dynamic:64", "auto", "guided", "static:100"};
  const uint64_t every[] = {7, 100, 7, 7};
  for (size_t s = 0; s < sizeof sch / sizeof sch[0]; s++) {
    for (int poison = 0; poison <= 1; poison++) {
      fx_reset(&f);
      if (poison) {
        f.w[31337] = P_SEGV;
        f.w[45000] = P_EIO;
      }
      uint8_t *missing = poison_set(&f);
      sharc_job_opts o = fx_opts(&f, sch[s], poison ? 1 : 0);
      o.fault.recycle_chunks = every[s];
      sharc_submit_opts so = SHARC_SUBMIT_OPTS_INIT;
      so.stream = 1;
      sharc_job *j = test_submit(f.p, "hf_kernel", f.n, &o, &so);
      char what[64];
      snprintf(what, sizeof what, "%s poison %d", sch[s], poison);
      uint64_t given = drain_streams(j, f.n, missing, f.o, what);
      int rc = sharc_job_wait(j, -1);
      cr_assert_eq(rc, poison ? SHARC_EQUARANTINED : 0, "%s: rc %s (%s)", what,
                   sharc_err_name(rc), sharc_job_errmsg(j));
      const sharc_report *rep = sharc_job_report(j);
      expect_exact_quarantine(&f, rep, 2, what);
      cr_assert_eq(given, rep->indices, "%s", what);
      cr_assert_gt(rep->recycled, 0, "%s", what);
      if (!poison)
        cr_assert_eq(rep->deaths, 0, "%s: recycling is not a death", what);
      sharc_job_free(j);
      free(missing);
    }
  }
  sharc_pool_destroy(f.p);
}

/* Two failing items in one slot under the transform's quarantine policy:
 * the pipeline names the first of them, whichever the passes isolated
 * first. */
Test(handle_faults, a_pipeline_names_the_first_of_two_failing_items_of_a_slot,
     .timeout = 120) {
  sharc_pool *p = test_pool(2);
  pio s;
  sharc_pipeline_result res = SHARC_PIPELINE_RESULT_INIT;
  const char *sch[] = {"auto", "guided", "dynamic:300", "static", "fac2"};
  const uint64_t two[2] = {54990, 54100}; /* slot 54: items 990 and 100 */
  for (size_t k = 0; k < sizeof sch / sizeof sch[0]; k++) {
    sharc_fault_policy fp = SHARC_FAULT_POLICY_INIT;
    fp.retries = 2;
    int rc = run_pipe(p, &s, two, 2, sch[k], &fp, &res);
    cr_assert_eq(rc, SHARC_EQUARANTINED, "%s: rc %s (%s)", sch[k],
                 sharc_err_name(rc), res.error);
    expect_pipe_failed_at(&s, &res, 54, 100, sch[k]);
    sharc_pipeline_result_free(&res);
  }
  sharc_pool_destroy(p);
}
