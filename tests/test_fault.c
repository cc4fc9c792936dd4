/* Fault policy: crashing, failing and randomly killed workers cost a retry,
 * never the job. Every fault here is caused for real: kernels segfault,
 * abort and return errors on chosen indices, and a thread SIGKILLs random
 * workers during long jobs. */
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "fault.h"
#include "helpers.h"

TEST_SEGV_KILLS_WORKERS()

/* out[i] = mix(i); indices 137 and 4242 crash the worker (SIGSEGV and
 * SIGABRT), index 77 returns -EIO when args[0] says so. */
static uint64_t mix(uint64_t i) {
  i ^= i >> 31;
  i *= UINT64_C(0x7fb5d329728ea185);
  return i ^ (i >> 27);
}

typedef struct poison_args {
  int crash;   /* 137 segfaults, 4242 aborts */
  int fail_77; /* 77 returns -EIO */
} poison_args;

static int poison(const sharc_task *t, uint64_t b, uint64_t e) {
  uint64_t *out = sharc_task_array(t, 0);
  const poison_args *a = sharc_task_args(t, NULL);
  for (uint64_t i = b; i < e; i++) {
    if (a->crash && i == 137)
      raise(SIGSEGV);
    if (a->crash && i == 4242)
      abort();
    if (a->fail_77 && i == 77)
      return -EIO;
  }
  for (uint64_t i = b; i < e; i++)
    out[i] = mix(i);
  return 0;
}
SHARC_KERNEL(poison)

static const char *scheds[] = {"static", "static:3", "dynamic:7", "guided",
                               "auto",   "fac2",     "wf"};

static sharc_report run_poison(sharc_pool *p, sharc_array *a, const char *s,
                               poison_args *pa, unsigned retries, int stop,
                               int *rc) {
  uint64_t n = sharc_array_size(a);
  uint64_t *out = sharc_array_data(a);
  for (uint64_t i = 0; i < n; i++)
    out[i] = 0;
  sharc_job_opts o = SHARC_JOB_OPTS_INIT;
  o.arrays = (sharc_array *[]){a};
  o.narrays = 1;
  cr_assert_eq(sharc_schedule_parse(s, &o.schedule), 0);
  o.args = pa;
  o.args_len = sizeof *pa;
  o.fault.retries = retries;
  o.fault.on_poison = stop ? SHARC_POISON_STOP : SHARC_POISON_QUARANTINE;
  sharc_report rep = SHARC_REPORT_INIT;
  *rc = sharc_run(p, "poison", n, &o, &rep);
  return rep;
}

Test(fault, crashing_indices_are_quarantined_and_everything_else_computed) {
  uint64_t n = 10000, shape[1] = {n};
  for (unsigned nw = 2; nw <= 3; nw++) {
    sharc_pool *p = test_pool(nw);
    sharc_array *a;
    cr_assert_eq(sharc_array_create(p, SHARC_U64, 1, shape, NULL, &a), 0);
    for (size_t s = 0; s < sizeof scheds / sizeof scheds[0]; s++) {
      poison_args pa = {1, 0};
      int rc;
      sharc_report rep = run_poison(p, a, scheds[s], &pa, 2, 0, &rc);
      cr_assert_eq(rc, SHARC_EQUARANTINED, "W=%u %s: rc %d (%s)", nw, scheds[s],
                   rc, sharc_pool_errmsg(p));
      cr_assert_eq(rep.nquarantined, 2, "W=%u %s: %u quarantined", nw,
                   scheds[s], rep.nquarantined);
      /* In index order, whichever the passes found first; the message
       * names the lowest. */
      const sharc_quarantined *q = rep.quarantined;
      int first = 0;
      cr_assert(strstr(sharc_pool_errmsg(p), "the first [137, 138)") != NULL,
                "W=%u %s: %s", nw, scheds[s], sharc_pool_errmsg(p));
      cr_assert_eq(q[first].begin, 137);
      cr_assert_eq(q[first].end, 138);
      cr_assert_eq(q[first].signal, SIGSEGV);
      cr_assert_eq(q[first].attempts, 3);
      cr_assert_eq(q[1 - first].begin, 4242);
      cr_assert_eq(q[1 - first].end, 4243);
      cr_assert_eq(q[1 - first].signal, SIGABRT);
      cr_assert_eq(q[1 - first].attempts, 3);
      cr_assert_geq(rep.deaths, 6, "W=%u %s: %u deaths", nw, scheds[s],
                    rep.deaths);
      cr_assert_eq(rep.indices, n - 2);
      const uint64_t *out = sharc_array_data(a);
      for (uint64_t i = 0; i < n; i++) {
        uint64_t want = (i == 137 || i == 4242) ? 0 : mix(i);
        cr_assert_eq(out[i], want, "W=%u %s: index %llu", nw, scheds[s],
                     (unsigned long long)i);
      }
      sharc_report_free(&rep);
    }
    /* The pool is whole again: a clean job runs. */
    poison_args clean = {0, 0};
    int rc;
    sharc_report rep = run_poison(p, a, "dynamic:7", &clean, 0, 0, &rc);
    cr_assert_eq(rc, 0, "%s", sharc_pool_errmsg(p));
    sharc_report_free(&rep);
    sharc_pool_destroy(p);
  }
}

Test(fault, a_failing_record_is_reported_with_its_index_and_code) {
  uint64_t n = 1000, shape[1] = {n};
  sharc_pool *p = test_pool(2);
  sharc_array *a;
  cr_assert_eq(sharc_array_create(p, SHARC_U64, 1, shape, NULL, &a), 0);
  for (size_t s = 0; s < sizeof scheds / sizeof scheds[0]; s++) {
    poison_args pa = {0, 1};
    int rc;
    sharc_report rep = run_poison(p, a, scheds[s], &pa, 1, 0, &rc);
    cr_assert_eq(rc, SHARC_EQUARANTINED, "%s: rc %d (%s)", scheds[s], rc,
                 sharc_pool_errmsg(p));
    cr_assert_eq(rep.nquarantined, 1);
    cr_assert_eq(rep.quarantined[0].begin, 77);
    cr_assert_eq(rep.quarantined[0].end, 78);
    cr_assert_eq(rep.quarantined[0].code, -EIO);
    cr_assert_eq(rep.quarantined[0].signal, 0);
    cr_assert_eq(rep.quarantined[0].attempts, 2);
    cr_assert_eq(rep.deaths, 0, "no worker died for a returned error");
    cr_assert(strstr(sharc_pool_errmsg(p), "[77, 78)") != NULL, "%s",
              sharc_pool_errmsg(p));
    const uint64_t *out = sharc_array_data(a);
    for (uint64_t i = 0; i < n; i++)
      cr_assert_eq(out[i], i == 77 ? 0 : mix(i), "%s: index %llu", scheds[s],
                   (unsigned long long)i);
    sharc_report_free(&rep);
  }
  sharc_pool_destroy(p);
}

Test(fault, the_stop_policy_fails_the_job_naming_the_index) {
  uint64_t n = 5000, shape[1] = {n};
  sharc_pool *p = test_pool(2);
  sharc_array *a;
  cr_assert_eq(sharc_array_create(p, SHARC_U64, 1, shape, NULL, &a), 0);
  poison_args pa = {1, 0};
  int rc;
  sharc_report rep = run_poison(p, a, "dynamic:64", &pa, 1, 1, &rc);
  cr_assert_eq(rc, SHARC_EWORKER, "rc %d (%s)", rc, sharc_pool_errmsg(p));
  /* Whichever poison index is isolated first stops the job. */
  const char *m = sharc_pool_errmsg(p);
  cr_assert((strstr(m, "[137, 138)") && strstr(m, "signal 11")) ||
                (strstr(m, "[4242, 4243)") && strstr(m, "signal 6")),
            "%s", m);
  cr_assert_eq(rep.status, SHARC_EWORKER);
  sharc_report_free(&rep);
  /* Without a policy the first death fails the job, as before. */
  rep = run_poison(p, a, "dynamic:64", &pa, 0, 0, &rc);
  cr_assert_eq(rc, SHARC_EWORKER, "rc %d", rc);
  sharc_report_free(&rep);
  sharc_pool_destroy(p);
}

/* ---- chaos: random SIGKILLs throughout long jobs ------------------------ */

typedef struct chaos {
  sharc_pool *pool;
  atomic_int stop;
  atomic_uint kills;
  unsigned seed;
} chaos;

static void *killer(void *arg) {
  chaos *c = arg;
  while (!atomic_load(&c->stop)) {
    struct timespec ts = {0, 4000000 + rand_r(&c->seed) % 8000000};
    nanosleep(&ts, NULL);
    unsigned w = (unsigned)rand_r(&c->seed) % sharc_pool_size(c->pool);
    int pid = sharc_pool_worker_pid(c->pool, w);
    if (pid > 0 && kill(pid, SIGKILL) == 0)
      atomic_fetch_add(&c->kills, 1);
  }
  return NULL;
}

/* out[i] = mix(i) after about 2 us of work, so a job lasts about 40 ms on
 * three workers and random kills (every 4-12 ms) land inside claims,
 * chunks and start-ups. */
static int slow_mix(const sharc_task *t, uint64_t b, uint64_t e) {
  uint64_t *out = sharc_task_array(t, 0);
  for (uint64_t i = b; i < e; i++) {
    uint64_t x = i;
    for (int k = 0; k < 200; k++)
      x = mix(x + (uint64_t)k);
    out[i] = x;
  }
  return 0;
}
SHARC_KERNEL(slow_mix)

Test(fault, chaos_every_run_completes_with_identical_output, .timeout = 280) {
  uint64_t n = 60000, shape[1] = {n};
  sharc_pool *p = test_pool(3);
  sharc_array *a;
  cr_assert_eq(sharc_array_create(p, SHARC_U64, 1, shape, NULL, &a), 0);
  sharc_job_opts o = SHARC_JOB_OPTS_INIT;
  o.arrays = (sharc_array *[]){a};
  o.narrays = 1;
  cr_assert_eq(sharc_run(p, "slow_mix", n, &o, NULL), 0);
  uint64_t *clean = malloc(n * sizeof *clean);
  memcpy(clean, sharc_array_data(a), n * sizeof *clean);
  unsigned runs = 0, deaths = 0, passes = 0;
  chaos c = {p, 0, 0, 12345};
  for (unsigned run = 0; run < 60; run++) {
    memset(sharc_array_data(a), 0, n * sizeof *clean);
    sharc_job_opts co = SHARC_JOB_OPTS_INIT;
    co.arrays = (sharc_array *[]){a};
    co.narrays = 1;
    cr_assert_eq(sharc_schedule_parse(scheds[run % 7], &co.schedule), 0);
    co.fault.retries = 20;
    atomic_store(&c.stop, 0);
    pthread_t th;
    cr_assert_eq(pthread_create(&th, NULL, killer, &c), 0);
    sharc_report rep = SHARC_REPORT_INIT;
    int rc = sharc_run(p, "slow_mix", n, &co, &rep);
    atomic_store(&c.stop, 1);
    pthread_join(th, NULL);
    cr_assert_eq(rc, 0, "run %u (%s): rc %d (%s)", run, scheds[run % 7], rc,
                 sharc_pool_errmsg(p));
    cr_assert_eq(memcmp(sharc_array_data(a), clean, n * sizeof *clean), 0,
                 "run %u (%s): output differs from the clean run", run,
                 scheds[run % 7]);
    runs++;
    deaths += rep.deaths;
    passes += rep.passes;
    sharc_report_free(&rep);
    /* Kills between jobs leave dead workers for the next job to find:
     * a clean job with no policy may fail, so look before each run. */
    sharc_job_opts probe = SHARC_JOB_OPTS_INIT;
    probe.fault.retries = 20;
    cr_assert_eq(sharc_run(p, "slow_mix", 0, &probe, NULL), 0, "%s",
                 sharc_pool_errmsg(p));
  }
  cr_log_info("chaos: %u runs, %u kills, %u deaths seen in jobs, %u passes",
              runs, atomic_load(&c.kills), deaths, passes);
  cr_assert_eq(runs, 60);
  cr_assert_gt(deaths, 20, "only %u deaths: the chaos did not bite", deaths);
  free(clean);
  sharc_pool_destroy(p);
}

/* ---- the bookkeeping on its own ------------------------------------------ */

Test(fault, bisection_narrows_a_range_to_its_poison_block) {
  sharc__faults f;
  sharc__faults_init(&f, 1000, 1, 4, 2, 0);
  /* pass 1: worker 1 died on [0, 256) under dynamic:256 */
  sharc__wstate s = {
      .worker = 1, .started = 1, .died = 1, .signal = SIGSEGV, .cur_end = 256};
  sharc__faults_first(&f, SHARC_SCHED_DYNAMIC, 256, &s);
  cr_assert_eq(sharc__faults_advance(&f, 1), 2);
  cr_assert_eq(f.items[0].it.begin, 0);
  cr_assert_eq(f.items[0].it.end, 128);
  cr_assert_eq(f.items[1].it.begin, 128);
  cr_assert_eq(f.items[1].it.end, 256);
  /* The poison is index 100: each pass halves the range holding it. */
  uint64_t b = 0, e = 128, passes = 1;
  while (e - b > 1) {
    s = (sharc__wstate){.worker = 0,
                        .started = 1,
                        .died = 1,
                        .signal = SIGSEGV,
                        .cur_begin = b,
                        .cur_end = e};
    sharc__faults_retry(&f, &s);
    size_t k = sharc__faults_advance(&f, 0);
    cr_assert_eq(k, 2, "pass %llu: %zu items", (unsigned long long)passes, k);
    uint64_t m = b + (e - b) / 2;
    if (100 < m)
      e = m;
    else
      b = m;
    passes++;
  }
  cr_assert_eq(b, 100);
  /* Now alone: two more failures are retried, the third quarantines. */
  for (unsigned fail = 1; fail <= 3; fail++) {
    s = (sharc__wstate){.worker = 0,
                        .started = 1,
                        .died = 1,
                        .signal = SIGSEGV,
                        .cur_begin = 100,
                        .cur_end = 101};
    sharc__faults_retry(&f, &s);
    size_t k = sharc__faults_advance(&f, 0);
    cr_assert_eq(k, fail < 3 ? 1 : 0, "failure %u: %zu items", fail, k);
    if (fail < 3)
      cr_assert_eq(f.items[0].fails, fail);
  }
  cr_assert_eq(f.nq, 1);
  cr_assert_eq(f.q[0].begin, 100);
  cr_assert_eq(f.q[0].attempts, 3);
  cr_assert_eq(f.q[0].signal, SIGSEGV);
  sharc__faults_free(&f);
}

/* The pass's items cover exactly [b, e), each index once. */
static void expect_cover(const sharc__faults *f, uint64_t b, uint64_t e) {
  unsigned char seen[128] = {0};
  for (size_t k = 0; k < f->nitems; k++) {
    const sharc__item *it = &f->items[k].it;
    for (uint64_t i = 0; i < it->count; i++)
      for (uint64_t x = it->begin + i * it->stride;
           x < it->end + i * it->stride && x < f->n; x++)
        seen[x]++;
  }
  for (uint64_t x = 0; x < f->n; x++)
    cr_assert_eq(seen[x], x >= b && x < e, "index %llu in %d items",
                 (unsigned long long)x, seen[x]);
}

Test(fault, a_dead_static_worker_leaves_the_rest_of_its_chunks) {
  sharc__faults f;
  /* static:10 over 100 indices, 3 workers: worker 1 runs chunks 1, 4, 7
   * and died in chunk 4 ([40, 50)). */
  sharc__faults_init(&f, 100, 1, 3, 1, 0);
  sharc__wstate s = {.worker = 1,
                     .started = 1,
                     .died = 1,
                     .signal = SIGKILL,
                     .cur_begin = 40,
                     .cur_end = 50};
  sharc__faults_first(&f, SHARC_SCHED_STATIC, 10, &s);
  cr_assert_eq(sharc__faults_advance(&f, 1), 3);
  /* [40, 45) and [45, 50) (the failed chunk, split), then chunk 7 */
  cr_assert_eq(f.items[0].it.begin, 40);
  cr_assert_eq(f.items[0].it.end, 45);
  cr_assert_eq(f.items[1].it.begin, 45);
  cr_assert_eq(f.items[2].it.begin, 70);
  cr_assert_eq(f.items[2].it.end, 80);
  cr_assert_eq(f.items[2].it.count, 1);
  sharc__faults_free(&f);
  /* A worker that died before its first chunk leaves its whole share, in
   * pieces for the workers of the next pass. */
  sharc__faults_init(&f, 100, 1, 3, 1, 0);
  s = (sharc__wstate){.worker = 2, .died = 1, .signal = SIGKILL};
  sharc__faults_first(&f, SHARC_SCHED_STATIC, 0, &s);
  cr_assert_gt(sharc__faults_advance(&f, 1), 3);
  expect_cover(&f, 67, 100);
  sharc__faults_free(&f);
  /* A death in the middle of a shared claim: the pass is run again. */
  sharc__faults_init(&f, 100, 1, 3, 1, 0);
  s = (sharc__wstate){.worker = 0,
                      .started = 1,
                      .died = 1,
                      .claiming = 1,
                      .signal = SIGKILL,
                      .cur_end = 5};
  sharc__faults_first(&f, SHARC_SCHED_DYNAMIC, 5, &s);
  cr_assert_geq(sharc__faults_advance(&f, 1), 12);
  expect_cover(&f, 0, 100);
  sharc__faults_free(&f);
}

/* ---- reductions survive crashes bit for bit ----------------------------- */

/* Sums 1 / (i + 1); the first time any worker reaches index 5000 it is
 * killed (a flag in a shared array records that it happened). */
static int crash_once_sum(const sharc_task *t, uint64_t b, uint64_t e) {
  _Atomic uint32_t *flag = sharc_task_array(t, 0);
  for (uint64_t i = b; i < e; i++) {
    if (i == 5000 && atomic_exchange(flag, 1) == 0)
      raise(SIGKILL);
    sharc_task_sum(t, 0, i, 1.0 / (double)(i + 1));
  }
  return 0;
}
SHARC_KERNEL(crash_once_sum)

Test(fault, a_reduction_is_bit_identical_across_a_crash) {
  uint64_t n = 100000, one[1] = {1};
  double want = 0;
  for (unsigned nw = 1; nw <= 3; nw++) {
    sharc_pool *p = test_pool(nw);
    sharc_array *flag;
    cr_assert_eq(sharc_array_create(p, SHARC_U32, 1, one, NULL, &flag), 0);
    for (int crash = 0; crash < 2; crash++) {
      *(uint32_t *)sharc_array_data(flag) = crash ? 0 : 1;
      sharc_job_opts o = SHARC_JOB_OPTS_INIT;
      o.arrays = (sharc_array *[]){flag};
      o.narrays = 1;
      o.schedule = (sharc_schedule){SHARC_SCHED_AUTO, 1};
      o.fault.retries = 1;
      sharc_reduce_spec spec = SHARC_REDUCE_SPEC_INIT(SHARC_REDUCE_SUM);
      sharc_reduce_result res;
      o.reduce = &spec;
      o.reduce_out = &res;
      o.nreduce = 1;
      sharc_report rep = SHARC_REPORT_INIT;
      cr_assert_eq(sharc_run(p, "crash_once_sum", n, &o, &rep), 0,
                   "W=%u crash=%d: %s", nw, crash, sharc_pool_errmsg(p));
      cr_assert_eq(rep.deaths, (unsigned)crash, "W=%u", nw);
      if (nw == 1 && crash == 0)
        want = res.sum;
      cr_assert(memcmp(&res.sum, &want, sizeof want) == 0,
                "W=%u crash=%d: %.17g != %.17g", nw, crash, res.sum, want);
      sharc_report_free(&rep);
    }
    sharc_pool_destroy(p);
  }
}

/* ---- hangs -----------------------------------------------------------------
 */

/* out[i] = mix(i) after ~20 us; index 321 hangs (ignoring SIGTERM when
 * args[0] says so). */
static int hang_at(const sharc_task *t, uint64_t b, uint64_t e) {
  uint64_t *out = sharc_task_array(t, 0);
  const int *ignore_term = sharc_task_args(t, NULL);
  for (uint64_t i = b; i < e; i++) {
    if (i == 321) {
      if (*ignore_term)
        signal(SIGTERM, SIG_IGN);
      for (;;)
        pause();
    }
    test_spin_ns(20000);
    out[i] = mix(i);
  }
  return 0;
}
SHARC_KERNEL(hang_at)

static int run_hang(sharc_pool *p, sharc_array *a, int ignore_term,
                    double timeout_s, double timeout_x, unsigned retries,
                    sharc_report *rep) {
  uint64_t n = sharc_array_size(a);
  memset(sharc_array_data(a), 0, n * sizeof(uint64_t));
  sharc_job_opts o = SHARC_JOB_OPTS_INIT;
  o.arrays = (sharc_array *[]){a};
  o.narrays = 1;
  o.schedule = (sharc_schedule){SHARC_SCHED_DYNAMIC, 16};
  o.args = &ignore_term;
  o.args_len = sizeof ignore_term;
  o.fault.retries = retries;
  o.fault.timeout_s = timeout_s;
  o.fault.timeout_x = timeout_x;
  return sharc_run(p, "hang_at", n, &o, rep);
}

static void expect_hang_quarantined(sharc_pool *p, sharc_array *a, int rc,
                                    const sharc_report *rep, int sig) {
  cr_assert_eq(rc, SHARC_EQUARANTINED, "rc %d: %s", rc, sharc_pool_errmsg(p));
  cr_assert_eq(rep->nquarantined, 1);
  const sharc_quarantined *q = &rep->quarantined[0];
  cr_assert_eq(q->begin, 321);
  cr_assert_eq(q->end, 322);
  cr_assert_eq(q->timed_out, 1);
  cr_assert_eq(q->signal, sig, "signal %d, expected %d", q->signal, sig);
  cr_assert_eq(q->attempts, 2);
  const uint64_t *out = sharc_array_data(a);
  for (uint64_t i = 0; i < sharc_array_size(a); i++)
    cr_assert_eq(out[i], i == 321 ? 0 : mix(i), "index %llu",
                 (unsigned long long)i);
}

Test(fault, a_hanging_chunk_is_terminated_and_narrowed_down) {
  uint64_t shape[1] = {2000};
  sharc_pool *p = test_pool(2);
  sharc_array *a;
  cr_assert_eq(sharc_array_create(p, SHARC_U64, 1, shape, NULL, &a), 0);
  sharc_report rep = SHARC_REPORT_INIT;
  int rc = run_hang(p, a, 0, 0.1, 0, 1, &rep);
  expect_hang_quarantined(p, a, rc, &rep, SIGTERM);
  sharc_report_free(&rep);
  /* A kernel that ignores SIGTERM gets SIGKILL after the grace period. */
  rc = run_hang(p, a, 1, 0.1, 0, 1, &rep);
  expect_hang_quarantined(p, a, rc, &rep, SIGKILL);
  sharc_report_free(&rep);
  /* Relative to the typical chunk (~0.3 ms here): 30x, floored at 10 ms. */
  rc = run_hang(p, a, 0, 0, 30, 1, &rep);
  expect_hang_quarantined(p, a, rc, &rep, SIGTERM);
  sharc_report_free(&rep);
  /* Without retries the job fails, saying why. */
  rc = run_hang(p, a, 0, 0.1, 0, 0, &rep);
  cr_assert_eq(rc, SHARC_EWORKER, "rc %d", rc);
  cr_assert(strstr(sharc_pool_errmsg(p), "(timeout)") != NULL, "%s",
            sharc_pool_errmsg(p));
  sharc_report_free(&rep);
  /* Bad limits are refused. */
  sharc_job_opts o = SHARC_JOB_OPTS_INIT;
  o.fault.timeout_s = -1;
  cr_assert_eq(sharc_run(p, "hang_at", 0, &o, NULL), SHARC_EINVAL);
  sharc_pool_destroy(p);
}

/* Isolating a hang: the timed-out chunk's blocks run one at a time in the
 * next pass, so the hanging index costs one more timeout, not one per
 * halving of a 4096-index chunk (12 passes). */
Test(fault, a_hang_in_a_large_chunk_is_isolated_in_two_timeouts) {
  uint64_t shape[1] = {20000};
  sharc_pool *p = test_pool(2);
  sharc_array *a;
  cr_assert_eq(sharc_array_create(p, SHARC_U64, 1, shape, NULL, &a), 0);
  memset(sharc_array_data(a), 0, sizeof(uint64_t) * shape[0]);
  int ignore_term = 0;
  sharc_job_opts o = SHARC_JOB_OPTS_INIT;
  o.arrays = (sharc_array *[]){a};
  o.narrays = 1;
  o.schedule = (sharc_schedule){SHARC_SCHED_DYNAMIC, 4096};
  o.args = &ignore_term;
  o.args_len = sizeof ignore_term;
  o.fault.retries = 1;
  o.fault.timeout_s = 0.2;
  sharc_report rep = SHARC_REPORT_INIT;
  int rc = sharc_run(p, "hang_at", shape[0], &o, &rep);
  cr_assert_eq(rc, SHARC_EQUARANTINED, "rc %d: %s", rc, sharc_pool_errmsg(p));
  cr_assert_eq(rep.nquarantined, 1);
  cr_assert_eq(rep.quarantined[0].begin, 321);
  cr_assert_eq(rep.quarantined[0].end, 322);
  cr_assert_eq(rep.quarantined[0].timed_out, 1);
  /* The chunk, the index among single blocks, the index alone again. */
  cr_assert_eq(rep.deaths, 3, "%u deaths: one timeout per pass", rep.deaths);
  cr_assert_leq(rep.passes, 4, "%u passes", rep.passes);
  const uint64_t *out = sharc_array_data(a);
  for (uint64_t i = 0; i < shape[0]; i++)
    cr_assert_eq(out[i], i == 321 ? 0 : mix(i), "index %llu",
                 (unsigned long long)i);
  sharc_report_free(&rep);
  sharc_pool_destroy(p);
}

/* out[i] = mix(i) after 20 ms of this thread's own CPU time. */
static int cpu_20ms(const sharc_task *t, uint64_t b, uint64_t e) {
  uint64_t *out = sharc_task_array(t, 0);
  for (uint64_t i = b; i < e; i++) {
    struct timespec t0, now;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t0);
    do
      clock_gettime(CLOCK_THREAD_CPUTIME_ID, &now);
    while ((now.tv_sec - t0.tv_sec) * 1000000000L + now.tv_nsec - t0.tv_nsec <
           20000000L);
    out[i] = mix(i);
  }
  return 0;
}
SHARC_KERNEL(cpu_20ms)

/* Four CPU-bound processes share the two workers' CPUs, so 20 ms of CPU
 * takes about 60 ms and more of wall time: a timeout of 60 ms must still
 * not fire, since the chunks were waiting for a CPU, not hanging. */
Test(fault, a_timeout_never_fires_on_a_chunk_that_waited_for_a_cpu,
     .timeout = 200) {
  uint64_t n = 40, shape[1] = {n};
  sharc_pool *p = test_pool(2);
  sharc_array *a;
  cr_assert_eq(sharc_array_create(p, SHARC_U64, 1, shape, NULL, &a), 0);
  pid_t hogs[4];
  for (int k = 0; k < 4; k++) {
    hogs[k] = fork();
    cr_assert_geq(hogs[k], 0);
    if (hogs[k] == 0) {
      prctl(PR_SET_PDEATHSIG, SIGKILL); /* gone with the test, whatever */
      volatile uint64_t x = 0;
      for (;;)
        x++;
    }
  }
  for (int round = 0; round < 2; round++) {
    sharc_job_opts o = SHARC_JOB_OPTS_INIT;
    o.arrays = (sharc_array *[]){a};
    o.narrays = 1;
    o.schedule = (sharc_schedule){SHARC_SCHED_DYNAMIC, 1};
    if (round == 0)
      o.fault.timeout_s = 0.06;
    else
      o.fault.timeout_x = 1.5; /* of a typical chunk that waited as well */
    sharc_report rep = SHARC_REPORT_INIT;
    int rc = sharc_run(p, "cpu_20ms", n, &o, &rep);
    cr_assert_eq(rc, 0, "round %d: rc %d: %s", round, rc, sharc_pool_errmsg(p));
    cr_assert_eq(rep.deaths, 0);
    sharc_report_free(&rep);
  }
  for (int k = 0; k < 4; k++) {
    kill(hogs[k], SIGKILL);
    waitpid(hogs[k], NULL, 0);
  }
  const uint64_t *out = sharc_array_data(a);
  for (uint64_t i = 0; i < n; i++)
    cr_assert_eq(out[i], mix(i));
  sharc_pool_destroy(p);
}

/* ---- inputs truncated under the mapping ------------------------------------
 */

static int sum_input(const sharc_task *t, uint64_t b, uint64_t e) {
  const double *in = sharc_task_array(t, 0);
  double *out = sharc_task_array(t, 1);
  for (uint64_t i = b; i < e; i++)
    out[i] = in[i] * 2;
  return 0;
}
SHARC_KERNEL(sum_input)

Test(fault, a_file_truncated_while_mapped_is_reported_as_such) {
  char path[] = "/tmp/sharc-trunc-XXXXXX";
  int fd = mkstemp(path);
  cr_assert_geq(fd, 0);
  close(fd);
  unlink(path); /* sharc_array_open_raw creates it, exclusively */
  sharc_pool *p = test_pool(2);
  uint64_t n = 1 << 16, shape[1] = {n};
  sharc_array *in, *out;
  cr_assert_eq(sharc_array_open_raw(p, path, SHARC_RDWR | SHARC_CREATE,
                                    SHARC_F64, 1, shape, 0, &in),
               0, "%s", sharc_pool_errmsg(p));
  cr_assert_eq(sharc_array_create(p, SHARC_F64, 1, shape, NULL, &out), 0);
  sharc_job_opts o = SHARC_JOB_OPTS_INIT;
  o.arrays = (sharc_array *[]){in, out};
  o.narrays = 2;
  cr_assert_eq(sharc_run(p, "sum_input", n, &o, NULL), 0, "%s",
               sharc_pool_errmsg(p));
  /* Another program cuts the file to a quarter while it is mapped. */
  cr_assert_eq(truncate(path, (off_t)(n / 4 * sizeof(double))), 0);
  int rc = sharc_run(p, "sum_input", n, &o, NULL);
  cr_assert_eq(rc, SHARC_EWORKER, "rc %d: %s", rc, sharc_pool_errmsg(p));
  const char *m = sharc_pool_errmsg(p);
  cr_assert(strstr(m, "input truncated") != NULL, "%s", m);
  cr_assert(strstr(m, path) != NULL, "%s", m);
  cr_assert(strstr(m, "signal 7") != NULL, "%s", m);
  /* Under a fault policy too: not a property of any index, so no
   * bisection, no quarantine, one death and the same message. */
  sharc_job_opts op = o;
  op.fault.retries = 2;
  sharc_report rep = SHARC_REPORT_INIT;
  rc = sharc_run(p, "sum_input", n, &op, &rep);
  cr_assert_eq(rc, SHARC_EWORKER, "rc %d: %s", rc, sharc_pool_errmsg(p));
  m = sharc_pool_errmsg(p);
  cr_assert(strstr(m, "input truncated") != NULL, "%s", m);
  cr_assert(strstr(m, path) != NULL, "%s", m);
  cr_assert_eq(rep.nquarantined, 0);
  cr_assert_leq(rep.passes, 1, "%u passes", rep.passes);
  sharc_report_free(&rep);
  sharc_array_destroy(in);
  unlink(path);
  /* The pool works on. */
  sharc_job_opts o2 = SHARC_JOB_OPTS_INIT;
  cr_assert_eq(sharc_run(p, "hang_at", 0, &o2, NULL), 0);
  sharc_pool_destroy(p);
}

/* ---- cancellation -----------------------------------------------------------
 */

typedef struct canceller {
  sharc_pool *pool;
  unsigned delay_ms;
  double at; /* CLOCK_MONOTONIC seconds when it cancelled */
} canceller;

static double mono_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void *cancel_later(void *arg) {
  canceller *c = arg;
  struct timespec ts = {c->delay_ms / 1000,
                        (long)(c->delay_ms % 1000) * 1000000L};
  nanosleep(&ts, NULL);
  c->at = mono_s();
  sharc_pool_cancel(c->pool);
  return NULL;
}

Test(fault, a_cancelled_job_stops_within_100_ms_and_the_pool_works_on) {
  uint64_t n = 2000000, shape[1] = {n};
  sharc_pool *p = test_pool(2);
  sharc_array *a;
  cr_assert_eq(sharc_array_create(p, SHARC_U64, 1, shape, NULL, &a), 0);
  /* Short chunks (auto): workers stop at their next claim. A chunk of a
   * million indices (static): its worker is killed after the grace. */
  const char *scheds[] = {"auto", "static"};
  for (int k = 0; k < 2; k++) {
    sharc_job_opts o = SHARC_JOB_OPTS_INIT;
    o.arrays = (sharc_array *[]){a};
    o.narrays = 1;
    cr_assert_eq(sharc_schedule_parse(scheds[k], &o.schedule), 0);
    canceller c = {p, 100, 0};
    pthread_t th;
    cr_assert_eq(pthread_create(&th, NULL, cancel_later, &c), 0);
    sharc_report rep = SHARC_REPORT_INIT;
    int rc = sharc_run(p, "slow_mix", n, &o, &rep);
    double ended = mono_s();
    pthread_join(th, NULL);
    cr_assert_eq(rc, SHARC_ECANCELED, "%s: rc %d (%s)", scheds[k], rc,
                 sharc_pool_errmsg(p));
    cr_assert_eq(rep.status, SHARC_ECANCELED);
    /* Chunks get 100 ms to end after a cancel; the rest of the second is
     * margin for a machine busy with other work, still far below the
     * job's own length (rep.indices < n shows it was cut short). */
    cr_assert_lt(ended - c.at, 1.0, "%s: returned %.3f s after the cancel",
                 scheds[k], ended - c.at);
    cr_assert_lt(rep.indices, n);
    /* What the report counts as done really was. */
    const uint64_t *out = sharc_array_data(a);
    uint64_t done = 0;
    for (uint64_t i = 0; i < n; i++)
      done += out[i] != 0;
    cr_assert_geq(done, rep.indices, "%s", scheds[k]);
    sharc_report_free(&rep);
    memset(sharc_array_data(a), 0, n * sizeof(uint64_t));
    /* The next job runs in full. */
    sharc_job_opts ok = SHARC_JOB_OPTS_INIT;
    ok.arrays = (sharc_array *[]){a};
    ok.narrays = 1;
    cr_assert_eq(sharc_run(p, "slow_mix", 1000, &ok, NULL), 0, "%s",
                 sharc_pool_errmsg(p));
  }
  /* A cancel with no job running cancels the next one, once. */
  cr_assert_eq(sharc_pool_cancel(p), 0);
  cr_assert_eq(sharc_run(p, "slow_mix", 10, NULL, NULL), SHARC_ECANCELED);
  sharc_job_opts ok = SHARC_JOB_OPTS_INIT;
  ok.arrays = (sharc_array *[]){a};
  ok.narrays = 1;
  cr_assert_eq(sharc_run(p, "slow_mix", 10, &ok, NULL), 0);
  cr_assert_eq(sharc_pool_cancel(NULL), SHARC_EINVAL);
  sharc_pool_destroy(p);
}

/* ---- recycling -------------------------------------------------------------
 */

static uint64_t private_resident(void) {
  FILE *f = fopen("/proc/self/statm", "r");
  unsigned long long size = 0, res = 0, shared = 0;
  if (f != NULL) {
    if (fscanf(f, "%llu %llu %llu", &size, &res, &shared) != 3)
      res = shared = 0;
    fclose(f);
  }
  return (res - shared) * (uint64_t)sysconf(_SC_PAGESIZE);
}

/* Leaks args[0] bytes per index (never freed, every page touched) and
 * records the worker's private resident bytes after each. */
static int leaky(const sharc_task *t, uint64_t b, uint64_t e) {
  uint64_t *out = sharc_task_array(t, 0);
  const uint64_t *leak = sharc_task_args(t, NULL);
  for (uint64_t i = b; i < e; i++) {
    if (*leak) {
      char *p = malloc(*leak);
      if (p == NULL)
        return -ENOMEM;
      memset(p, 1, *leak);
      __asm__ __volatile__("" : : "r"(p) : "memory"); /* keep it */
    }
    out[i] = private_resident();
  }
  return 0;
}
SHARC_KERNEL(leaky)

Test(fault, a_leaking_kernel_is_recycled_and_memory_stays_bounded) {
  uint64_t n = 300, shape[1] = {n}, mib = 1 << 20;
  sharc_pool *p = test_pool(2);
  sharc_array *a;
  cr_assert_eq(sharc_array_create(p, SHARC_U64, 1, shape, NULL, &a), 0);
  /* What a worker holds without leaking sets the ceiling. */
  uint64_t none = 0;
  sharc_job_opts o = SHARC_JOB_OPTS_INIT;
  o.arrays = (sharc_array *[]){a};
  o.narrays = 1;
  o.schedule = (sharc_schedule){SHARC_SCHED_DYNAMIC, 1};
  o.args = &none;
  o.args_len = sizeof none;
  cr_assert_eq(sharc_run(p, "leaky", n, &o, NULL), 0);
  uint64_t base = 0;
  const uint64_t *out = sharc_array_data(a);
  for (uint64_t i = 0; i < n; i++)
    base = out[i] > base ? out[i] : base;
  uint64_t ceiling = base + 32 * mib;
  /* 1 MiB per index, 150 MiB per worker unchecked; recycle_rss is growth
   * since a worker started, whose memory then was at most `base`. */
  uint64_t leak = mib;
  o.args = &leak;
  o.fault.recycle_rss = 32 * mib;
  memset(sharc_array_data(a), 0, n * sizeof(uint64_t));
  sharc_report rep = SHARC_REPORT_INIT;
  int rc = sharc_run(p, "leaky", n, &o, &rep);
  cr_assert_eq(rc, 0, "rc %d: %s", rc, sharc_pool_errmsg(p));
  cr_assert_geq(rep.recycled, 4, "%u recycled", rep.recycled);
  cr_assert_eq(rep.deaths, 0);
  uint64_t peak = 0;
  for (uint64_t i = 0; i < n; i++) {
    cr_assert_gt(out[i], 0, "index %llu not computed", (unsigned long long)i);
    peak = out[i] > peak ? out[i] : peak;
  }
  /* Looked at once a millisecond, after a chunk: a few MiB over at most. */
  cr_assert_leq(peak, ceiling + 8 * mib, "peak %llu MiB, ceiling %llu MiB",
                (unsigned long long)(peak / mib),
                (unsigned long long)(ceiling / mib));
  sharc_report_free(&rep);
  sharc_pool_destroy(p);
}

Test(fault, workers_recycled_after_n_chunks_leave_nothing_undone) {
  uint64_t n = 200, shape[1] = {n};
  sharc_pool *p = test_pool(2);
  sharc_array *a;
  cr_assert_eq(sharc_array_create(p, SHARC_U64, 1, shape, NULL, &a), 0);
  const char *sch[] = {"static", "static:5", "dynamic:3", "auto", "fac2"};
  for (size_t k = 0; k < sizeof sch / sizeof sch[0]; k++) {
    memset(sharc_array_data(a), 0, n * sizeof(uint64_t));
    sharc_job_opts o = SHARC_JOB_OPTS_INIT;
    o.arrays = (sharc_array *[]){a};
    o.narrays = 1;
    cr_assert_eq(sharc_schedule_parse(sch[k], &o.schedule), 0);
    poison_args pa = {0, 0};
    o.args = &pa;
    o.args_len = sizeof pa;
    o.fault.recycle_chunks = 7;
    sharc_report rep = SHARC_REPORT_INIT;
    int rc = sharc_run(p, "poison", n, &o, &rep);
    cr_assert_eq(rc, 0, "%s: rc %d: %s", sch[k], rc, sharc_pool_errmsg(p));
    const uint64_t *out = sharc_array_data(a);
    for (uint64_t i = 0; i < n; i++)
      cr_assert_eq(out[i], mix(i), "%s: index %llu", sch[k],
                   (unsigned long long)i);
    if (k != 0) /* static: one chunk per worker, never 7 */
      cr_assert_gt(rep.recycled, 0, "%s", sch[k]);
    sharc_report_free(&rep);
  }
  /* Recycling without retries: a real crash still fails the job. */
  sharc_job_opts o = SHARC_JOB_OPTS_INIT;
  o.arrays = (sharc_array *[]){a};
  o.narrays = 1;
  poison_args crash = {1, 0};
  o.args = &crash;
  o.args_len = sizeof crash;
  o.fault.recycle_chunks = 7;
  cr_assert_eq(sharc_run(p, "poison", n, &o, NULL), SHARC_EWORKER);
  cr_assert(strstr(sharc_pool_errmsg(p), "signal") != NULL, "%s",
            sharc_pool_errmsg(p));
  sharc_pool_destroy(p);
}
