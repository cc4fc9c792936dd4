/* Faults in jobs run as handles, beyond the fork start method and plain
 * arrays: crashing and streamed jobs on pools whose workers come from the
 * fork server or are spawned sharc-worker processes; a hang cut short by
 * a timeout relative to the job's typical chunk time; journals of
 * submitted jobs that quarantined an index or were cancelled, and the
 * resumed jobs that finish them. Every fault is caused for real; every
 * check is on exact index sets, counts, codes and bytes. Jobs that must
 * stay running are held by gate words in a shared array the kernel reads,
 * and the test waits on shared counters: no sleeps.
 *
 * Built twice: as the test, and (SHARC_TEST_KERNELS_ONLY) as the module
 * test_handle_faults_start_kernels.so that spawned workers load. */
#include <sched.h>
#include <sharc.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

/* ---- the kernels ----------------------------------------------------------
 *
 * hfs_kernel: array 0 (u64) the output, out[i] = mix(i); array 1 (u8) what
 * index i does; array 2 (u64) control words; array 3 (u32) per index, how
 * many times a kernel call computed it. Every chunk first waits for the
 * gate; then the chunk's indices are looked at before any is written, so
 * an index left out keeps its 0 and its count. */
enum { P_OK = 0, P_SEGV, P_ABORT, P_HANG, P_HOLD, P_ONCE };
enum { C_GATE = 0, C_HANGS, C_HELD, C_RELEASE, C_HANG_NS, C_ONCE, C_WORDS = 8 };

static uint64_t mix(uint64_t i) {
  i ^= i >> 31;
  i *= UINT64_C(0x7fb5d329728ea185);
  return (i ^ (i >> 27)) | 1; /* never 0: 0 means "not computed" */
}

static uint64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int hfs_kernel(const sharc_task *t, uint64_t b, uint64_t e) {
  uint64_t *out = sharc_task_array(t, 0);
  const uint8_t *what = sharc_task_array(t, 1);
  _Atomic uint64_t *c = sharc_task_array(t, 2);
  _Atomic uint32_t *calls = sharc_task_array(t, 3);
  while (atomic_load(&c[C_GATE]) == 0)
    sched_yield();
  int held = 0;
  for (uint64_t i = b; i < e; i++) {
    switch (what[i]) {
    case P_SEGV:
      raise(SIGSEGV);
      break;
    case P_ABORT:
      abort();
    case P_HANG: /* until the watchdog's SIGTERM; the first says when */
      if (atomic_fetch_add(&c[C_HANGS], 1) == 0)
        atomic_store(&c[C_HANG_NS], now_ns());
      for (;;)
        pause();
    case P_ONCE: /* the first call to meet it dies; then it computes */
      if (atomic_exchange(&c[C_ONCE], 1) == 0)
        raise(SIGSEGV);
      break;
    case P_HOLD: /* counted once per call, then waits for the release */
      if (!held)
        atomic_fetch_add(&c[C_HELD], 1);
      held = 1;
      while (atomic_load(&c[C_RELEASE]) == 0)
        sched_yield();
      break;
    default:
      break;
    }
  }
  for (uint64_t i = b; i < e; i++) {
    out[i] = mix(i);
    atomic_fetch_add(&calls[i], 1);
  }
  return 0;
}
SHARC_KERNEL(hfs_kernel)

/* A clean job for the queue behind a faulty one: out[i] = 3i + 1. */
static int hfs_fill(const sharc_task *t, uint64_t b, uint64_t e) {
  uint64_t *out = sharc_task_array(t, 0);
  for (uint64_t i = b; i < e; i++)
    out[i] = 3 * i + 1;
  return 0;
}
SHARC_KERNEL(hfs_fill)

#ifndef SHARC_TEST_KERNELS_ONLY
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "helpers.h"

/* Spawned workers are told by ASAN_OPTIONS (spawn_env). */
TEST_SEGV_KILLS_WORKERS()

#define MODULE SHARC_TEST_BINARY_DIR "/test_handle_faults_start_kernels.so"

static const char *method_name(sharc_start_method m) {
  return m == SHARC_START_FORK         ? "fork"
         : m == SHARC_START_FORKSERVER ? "forkserver"
                                       : "spawn";
}

/* Spawned workers inherit the environment: under AddressSanitizer their
 * segfaults must kill them too (ignored by builds without it). */
static void spawn_env(void) {
  const char *old = getenv("ASAN_OPTIONS");
  if (old != NULL && strstr(old, "handle_segv=0") != NULL)
    return;
  char buf[1024];
  snprintf(buf, sizeof buf, "%s%shandle_segv=0", old ? old : "",
           old && *old ? ":" : "");
  cr_assert_eq(setenv("ASAN_OPTIONS", buf, 1), 0);
}

static sharc_pool *method_pool(sharc_start_method m, unsigned w) {
  sharc_pool_opts o = SHARC_POOL_OPTS_INIT;
  o.workers = w;
  o.start = m;
  if (m == SHARC_START_SPAWN) {
    spawn_env();
    o.kernel_libs = MODULE;
  }
  sharc_pool *p = NULL;
  char msg[512];
  int rc = sharc_pool_create(&p, &o, msg, sizeof msg);
  cr_assert_eq(rc, 0, "%s: sharc_pool_create(%u): %s (%s)", method_name(m), w,
               sharc_strerror(rc), msg);
  return p;
}

/* The parent pid of pid, from /proc. */
static int parent_of(int pid) {
  char path[64], buf[512];
  snprintf(path, sizeof path, "/proc/%d/stat", pid);
  FILE *f = fopen(path, "r");
  cr_assert_not_null(f, "no process %d", pid);
  size_t got = fread(buf, 1, sizeof buf - 1, f);
  fclose(f);
  buf[got] = '\0';
  const char *rp = strrchr(buf, ')');
  int ppid = -1;
  cr_assert(rp != NULL && sscanf(rp + 2, "%*c %d", &ppid) == 1, "%s", buf);
  return ppid;
}

static void exe_of(int pid, char *out, size_t cap) {
  char path[64];
  snprintf(path, sizeof path, "/proc/%d/exe", pid);
  ssize_t got = readlink(path, out, cap - 1);
  cr_assert_gt(got, 0, "readlink %s", path);
  out[got] = '\0';
}

/* Every worker of p now is what start method m makes: a child of the fork
 * server running this program (forkserver), or a child of this process
 * running sharc-worker (spawn). */
static void expect_workers_of(sharc_pool *p, sharc_start_method m,
                              const char *what) {
  char self[4096], exe[4096];
  exe_of(getpid(), self, sizeof self);
  for (unsigned w = 0; w < sharc_pool_size(p); w++) {
    int pid = sharc_pool_worker_pid(p, w);
    cr_assert_gt(pid, 0, "%s: worker %u has no process", what, w);
    int ppid = parent_of(pid);
    exe_of(pid, exe, sizeof exe);
    if (m == SHARC_START_FORKSERVER) {
      cr_assert_neq(ppid, getpid(),
                    "%s: worker %u (pid %d) is a child of "
                    "the coordinator, not of the fork server",
                    what, w, pid);
      cr_assert_str_eq(exe, self, "%s: worker %u runs %s", what, w, exe);
    } else {
      cr_assert_eq(ppid, getpid(), "%s: worker %u (pid %d): parent %d", what, w,
                   pid, ppid);
      const char *base = strrchr(exe, '/');
      cr_assert(base != NULL && strcmp(base, "/sharc-worker") == 0,
                "%s: worker %u runs %s, not sharc-worker", what, w, exe);
    }
  }
}

/* ---- the fixture ----------------------------------------------------------
 */

typedef struct fx {
  sharc_pool *p;
  uint64_t n;
  sharc_array *out, *what, *ctl, *calls, *out2;
  sharc_array *list[4], *list2[1];
  uint64_t *o, *o2;
  uint8_t *w;
  _Atomic uint64_t *c;
  _Atomic uint32_t *k;
} fx;

static sharc_array *mem_array(sharc_pool *p, sharc_dtype dt, uint64_t n) {
  uint64_t shape[1] = {n};
  sharc_array *a = NULL;
  int rc = sharc_array_create(p, dt, 1, shape, NULL, &a);
  cr_assert_eq(rc, 0, "sharc_array_create: %s (%s)", sharc_strerror(rc),
               sharc_pool_errmsg(p));
  return a;
}

/* A raw u64 file of n elements at path, mapped read-write (created when
 * create is set). */
static sharc_array *file_array(sharc_pool *p, const char *path, uint64_t n,
                               int create) {
  uint64_t shape[1] = {n};
  sharc_array *a = NULL;
  int rc = sharc_array_open_raw(p, path,
                                create ? SHARC_RDWR | SHARC_CREATE : SHARC_RDWR,
                                SHARC_U64, 1, shape, 0, &a);
  cr_assert_eq(rc, 0, "%s: %s (%s)", path, sharc_strerror(rc),
               sharc_pool_errmsg(p));
  return a;
}

/* The arrays of the fixture on pool p; the output is the file at out_path
 * (created) if given, else memory. */
static void fx_make(fx *f, sharc_pool *p, uint64_t n, const char *out_path) {
  memset(f, 0, sizeof *f);
  f->p = p;
  f->n = n;
  f->out =
      out_path ? file_array(p, out_path, n, 1) : mem_array(p, SHARC_U64, n);
  f->what = mem_array(p, SHARC_U8, n);
  f->ctl = mem_array(p, SHARC_U64, C_WORDS);
  f->calls = mem_array(p, SHARC_U32, n);
  f->out2 = mem_array(p, SHARC_U64, n);
  f->list[0] = f->out;
  f->list[1] = f->what;
  f->list[2] = f->ctl;
  f->list[3] = f->calls;
  f->list2[0] = f->out2;
  f->o = sharc_array_data(f->out);
  f->o2 = sharc_array_data(f->out2);
  f->w = sharc_array_data(f->what);
  f->c = sharc_array_data(f->ctl);
  f->k = sharc_array_data(f->calls);
}

static void fx_reset_calls(fx *f) {
  for (uint64_t i = 0; i < f->n; i++)
    atomic_store_explicit(&f->k[i], 0, memory_order_relaxed);
}

/* Every index healthy, counts and control words reset, the gate open. */
static void fx_reset_control(fx *f) {
  memset(f->w, 0, f->n);
  fx_reset_calls(f);
  for (int k = 0; k < C_WORDS; k++)
    atomic_store(&f->c[k], 0);
  atomic_store(&f->c[C_GATE], 1);
}

/* The same, and the outputs zeroed. */
static void fx_reset(fx *f) {
  memset(f->o, 0, f->n * sizeof *f->o);
  memset(f->o2, 0, f->n * sizeof *f->o2);
  fx_reset_control(f);
}

static sharc_job_opts fx_opts(fx *f, const char *sched, unsigned retries) {
  sharc_job_opts o = SHARC_JOB_OPTS_INIT;
  o.arrays = f->list;
  o.narrays = 4;
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
  return test_submit(f->p, "hfs_fill", f->n, &o, NULL);
}

static void expect_fill_done(fx *f, sharc_job *j, const char *what) {
  test_expect_clean(j, f->o2, f->n, what);
}

static int always_fails(uint8_t kind) {
  return kind == P_SEGV || kind == P_ABORT || kind == P_HANG;
}

/* The report's quarantined ranges are exactly the indices that always
 * fail, one index each, with the signal that index causes and the given
 * attempts. Also checks every other index was computed and the failing
 * ones were not. */
static void expect_exact_quarantine(fx *f, const sharc_report *rep,
                                    unsigned attempts, const char *what) {
  uint64_t want = 0;
  for (uint64_t i = 0; i < f->n; i++)
    want += always_fails(f->w[i]);
  cr_assert_eq(rep->nquarantined, want, "%s: %u quarantined, %llu poison", what,
               rep->nquarantined, (unsigned long long)want);
  uint64_t last = 0;
  for (unsigned k = 0; k < rep->nquarantined; k++) {
    const sharc_quarantined *q = &rep->quarantined[k];
    cr_assert_eq(q->end, q->begin + 1, "%s: [%llu, %llu) is not one index",
                 what, (unsigned long long)q->begin,
                 (unsigned long long)q->end);
    cr_assert_lt(q->begin, f->n);
    cr_assert(k == 0 || q->begin > last,
              "%s: quarantined out of order or "
              "twice at %llu",
              what, (unsigned long long)q->begin);
    last = q->begin;
    uint8_t kind = f->w[q->begin];
    cr_assert(always_fails(kind), "%s: healthy index %llu quarantined", what,
              (unsigned long long)q->begin);
    cr_assert_eq(q->attempts, attempts, "%s: index %llu: %u attempts", what,
                 (unsigned long long)q->begin, q->attempts);
    int sig = kind == P_SEGV ? SIGSEGV : kind == P_ABORT ? SIGABRT : SIGTERM;
    cr_assert_eq(q->signal, sig, "%s: index %llu: signal %d", what,
                 (unsigned long long)q->begin, q->signal);
    cr_assert_eq(q->code, 0, "%s: index %llu: code %d", what,
                 (unsigned long long)q->begin, q->code);
    cr_assert_eq(q->timed_out, kind == P_HANG, "%s: index %llu", what,
                 (unsigned long long)q->begin);
  }
  cr_assert_eq(rep->indices, f->n - want, "%s: %llu indices reported", what,
               (unsigned long long)rep->indices);
  for (uint64_t i = 0; i < f->n; i++) {
    int bad = always_fails(f->w[i]);
    cr_assert_eq(f->o[i], bad ? 0 : mix(i), "%s: index %llu", what,
                 (unsigned long long)i);
    if (bad)
      cr_assert_eq(atomic_load(&f->k[i]), 0, "%s: poison index %llu counted",
                   what, (unsigned long long)i);
    else
      cr_assert_geq(atomic_load(&f->k[i]), 1, "%s: index %llu never counted",
                    what, (unsigned long long)i);
  }
}

/* ---- 1. crashing jobs ahead of a clean one, forkserver and spawn ----------
 */

static void crash_ahead_of_clean(sharc_start_method m) {
  fx f;
  fx_make(&f, method_pool(m, 2), 20000, NULL);
  int first[2] = {sharc_pool_worker_pid(f.p, 0), sharc_pool_worker_pid(f.p, 1)};
  expect_workers_of(f.p, m, method_name(m));
  const char *sch[] = {"dynamic:64", "auto", "static"};
  const uint64_t poison[] = {0, 3, 4999, 5000, 12345, 19999};
  const size_t np = sizeof poison / sizeof poison[0];
  for (size_t s = 0; s < sizeof sch / sizeof sch[0]; s++) {
    char what[64];
    snprintf(what, sizeof what, "%s %s", method_name(m), sch[s]);
    fx_reset(&f);
    for (size_t k = 0; k < np; k++)
      f.w[poison[k]] = k % 2 ? P_ABORT : P_SEGV;
    atomic_store(&f.c[C_GATE], 0); /* the faulty job waits at the gate */
    sharc_job_opts o = fx_opts(&f, sch[s], 2);
    sharc_job *a = test_submit(f.p, "hfs_kernel", f.n, &o, NULL);
    until_running(a);
    sharc_job *b = submit_fill(&f);
    sharc_progress pr = SHARC_PROGRESS_INIT;
    cr_assert_eq(sharc_job_progress(b, &pr), 0);
    cr_assert_eq(pr.state, SHARC_JOB_QUEUED, "%s", what);
    atomic_store(&f.c[C_GATE], 1);
    int rc = sharc_job_wait(a, -1);
    cr_assert_eq(rc, SHARC_EQUARANTINED, "%s: rc %s (%s)", what,
                 sharc_err_name(rc), sharc_job_errmsg(a));
    const sharc_report *rep = sharc_job_report(a);
    cr_assert_not_null(rep);
    cr_assert_eq(rep->status, SHARC_EQUARANTINED, "%s", what);
    expect_exact_quarantine(&f, rep, 3, what);
    /* each poison index killed a worker alone three times at least */
    cr_assert_geq(rep->deaths, 3 * np, "%s: %u deaths", what, rep->deaths);
    cr_assert_gt(rep->replace_s, 0, "%s: no replacement timed", what);
    /* the clean job behind it runs in full on the replacements */
    expect_fill_done(&f, b, what);
    expect_workers_of(f.p, m, what);
    sharc_job_free(a);
    sharc_job_free(b);
  }
  int now[2] = {sharc_pool_worker_pid(f.p, 0), sharc_pool_worker_pid(f.p, 1)};
  cr_assert(now[0] != first[0] || now[1] != first[1],
            "%s: no worker was replaced", method_name(m));
  sharc_pool_destroy(f.p);
}

Test(
    handle_faults_start,
    forkserver_crashing_job_ahead_in_the_queue_quarantines_exactly_and_the_next_runs,
    .timeout = 300) {
  cr_assert_eq(sharc_init(), 0);
  crash_ahead_of_clean(SHARC_START_FORKSERVER);
}

Test(
    handle_faults_start,
    spawn_crashing_job_ahead_in_the_queue_quarantines_exactly_and_the_next_runs,
    .timeout = 300) {
  crash_ahead_of_clean(SHARC_START_SPAWN);
}

/* ---- 2. streams of crashing jobs, forkserver and spawn ---------------------
 */

typedef struct ranges_seen {
  uint8_t *count; /* per index: how many on_range calls named it */
} ranges_seen;

static void on_range(sharc_job *j, uint64_t b, uint64_t e, void *arg) {
  (void)j;
  ranges_seen *s = arg;
  for (uint64_t i = b; i < e; i++)
    if (s->count[i] < 255)
      s->count[i]++;
}

/* test_drain_streams (helpers.h) with this file's values. */
static uint64_t drain_streams(sharc_job *j, uint64_t n, const uint8_t *missing,
                              const uint64_t *out, const char *what) {
  return test_drain_streams(j, n, missing, out, mix, what);
}

static void stream_with_poison(sharc_start_method m) {
  fx f;
  fx_make(&f, method_pool(m, 2), 50000, NULL);
  const char *sch[] = {"auto", "dynamic:100", "static"};
  for (size_t s = 0; s < sizeof sch / sizeof sch[0]; s++) {
    char what[64];
    snprintf(what, sizeof what, "%s %s", method_name(m), sch[s]);
    fx_reset(&f);
    f.w[4242] = P_SEGV;
    f.w[4243] = P_ABORT;
    f.w[30001] = P_SEGV;
    f.w[49999] = P_ABORT;
    uint8_t *missing = calloc(f.n, 1);
    ranges_seen rs = {calloc(f.n, 1)};
    cr_assert(missing != NULL && rs.count != NULL);
    for (uint64_t i = 0; i < f.n; i++)
      missing[i] = always_fails(f.w[i]);
    sharc_job_opts o = fx_opts(&f, sch[s], 1);
    sharc_submit_opts so = SHARC_SUBMIT_OPTS_INIT;
    so.stream = 1;
    so.on_range = on_range;
    so.on_range_arg = &rs;
    sharc_job *j = test_submit(f.p, "hfs_kernel", f.n, &o, &so);
    uint64_t given = drain_streams(j, f.n, missing, f.o, what);
    int rc = sharc_job_wait(j, 0); /* the streams ended: so did the job */
    cr_assert_eq(rc, SHARC_EQUARANTINED, "%s: rc %s (%s)", what,
                 sharc_err_name(rc), sharc_job_errmsg(j));
    const sharc_report *rep = sharc_job_report(j);
    expect_exact_quarantine(&f, rep, 2, what);
    cr_assert_geq(rep->deaths, 2 * 4, "%s: %u deaths", what, rep->deaths);
    cr_assert_eq(given, rep->indices, "%s", what);
    for (uint64_t i = 0; i < f.n; i++)
      cr_assert_eq(rs.count[i], missing[i] ? 0 : 1,
                   "%s: index %llu in %u on_range calls", what,
                   (unsigned long long)i, rs.count[i]);
    sharc_progress pr = SHARC_PROGRESS_INIT;
    cr_assert_eq(sharc_job_progress(j, &pr), 0);
    cr_assert_eq(pr.state, SHARC_JOB_DONE, "%s", what);
    cr_assert_eq(pr.live, 1, "%s", what);
    cr_assert_eq(pr.done, rep->indices, "%s", what);
    sharc_job_free(j);
    free(rs.count);
    free(missing);
    expect_workers_of(f.p, m, what);
  }
  sharc_pool_destroy(f.p);
}

Test(handle_faults_start,
     forkserver_stream_gives_every_completed_index_once_never_a_quarantined_one,
     .timeout = 300) {
  cr_assert_eq(sharc_init(), 0);
  stream_with_poison(SHARC_START_FORKSERVER);
}

Test(handle_faults_start,
     spawn_stream_gives_every_completed_index_once_never_a_quarantined_one,
     .timeout = 300) {
  stream_with_poison(SHARC_START_SPAWN);
}

/* ---- 3. a hang cut short by timeout_x ------------------------------------ */

/* The hard limit, timeout_s, is far beyond what timeout_x gives for chunks
 * of microseconds (its floor, 10 ms): a job that ends sooner than half of
 * it after its hang began was cut by timeout_x (by timeout_s, the first
 * hang alone would have lasted all of it). */
#define HARD_LIMIT_S 60.0

static void hang_cut_by_timeout_x(sharc_start_method m) {
  fx f;
  fx_make(&f, method_pool(m, 2), 4000, NULL);
  fx_reset(&f);
  /* chunk 62 of dynamic:16: its worker or the other one has ended a chunk
   * before it, so the job has a typical chunk time when the hang begins */
  f.w[1000] = P_HANG;
  sharc_job_opts o = fx_opts(&f, "dynamic:16", 1);
  o.fault.timeout_x = 50;
  o.fault.timeout_s = HARD_LIMIT_S;
  sharc_job *a = test_submit(f.p, "hfs_kernel", f.n, &o, NULL);
  sharc_job *b = submit_fill(&f);
  int rc = sharc_job_wait(a, -1);
  uint64_t end_ns = now_ns();
  cr_assert_eq(rc, SHARC_EQUARANTINED, "%s: rc %s (%s)", method_name(m),
               sharc_err_name(rc), sharc_job_errmsg(a));
  const sharc_report *rep = sharc_job_report(a);
  expect_exact_quarantine(&f, rep, 2, method_name(m));
  /* The chunk, the index among single blocks, the index alone again. */
  cr_assert_eq(atomic_load(&f.c[C_HANGS]), 3, "%s: %llu hangs", method_name(m),
               (unsigned long long)atomic_load(&f.c[C_HANGS]));
  cr_assert_eq(rep->deaths, 3, "%s: %u deaths", method_name(m), rep->deaths);
  double took = (double)(end_ns - atomic_load(&f.c[C_HANG_NS])) * 1e-9;
  cr_assert_lt(took, HARD_LIMIT_S / 2,
               "%s: %.1f s from the first hang to "
               "the job's end: timeout_x did not cut it",
               method_name(m), took);
  /* Nor sooner than three limits of at least 10 ms each (the first hang
   * began microseconds after its chunk). */
  cr_assert_geq(took, 0.025, "%s: three timeouts in %.3f s", method_name(m),
                took);
  cr_assert(strstr(sharc_job_errmsg(a), "[1000, 1001)") != NULL, "%s",
            sharc_job_errmsg(a));
  cr_assert(strstr(sharc_job_errmsg(a), "timeout") != NULL, "%s",
            sharc_job_errmsg(a));
  expect_fill_done(&f, b, method_name(m));
  cr_log_info("%s: three timeouts in %.3f s", method_name(m), took);
  sharc_job_free(a);
  sharc_job_free(b);
  sharc_pool_destroy(f.p);
}

Test(handle_faults_start,
     a_submitted_hang_is_cut_by_timeout_x_quarantined_and_the_next_job_runs,
     .timeout = 300) {
  cr_assert_eq(sharc_init(), 0);
  hang_cut_by_timeout_x(SHARC_START_FORK);
  hang_cut_by_timeout_x(SHARC_START_FORKSERVER);
  hang_cut_by_timeout_x(SHARC_START_SPAWN);
}

/* ---- 4. journals of submitted jobs ----------------------------------------
 */

/* A journal as written on disk (lib/journal.c): a 128-byte header (magic
 * "SHARCJN1", version 1, n, block, nblocks, ...), then one bit per block
 * in 64-bit little-endian words, nblocks / 64 + 1 of them. */
typedef struct journal {
  uint64_t n, block, nblocks;
  uint64_t *bits;
} journal;

static void journal_read(const char *path, journal *j) {
  int fd = open(path, O_RDONLY);
  cr_assert_geq(fd, 0, "no journal at %s", path);
  struct stat st;
  cr_assert_eq(fstat(fd, &st), 0);
  unsigned char h[128];
  cr_assert_eq(pread(fd, h, sizeof h, 0), (ssize_t)sizeof h);
  cr_assert_eq(memcmp(h, "SHARCJN1", 8), 0, "%s: magic", path);
  uint32_t version;
  memcpy(&version, h + 8, 4);
  cr_assert_eq(version, 1, "%s: version %u", path, version);
  memcpy(&j->n, h + 16, 8);
  memcpy(&j->block, h + 24, 8);
  memcpy(&j->nblocks, h + 32, 8);
  uint64_t words = j->nblocks / 64 + 1;
  cr_assert_eq((uint64_t)st.st_size, 128 + words * 8, "%s: %lld bytes", path,
               (long long)st.st_size);
  j->bits = malloc(words * 8);
  cr_assert_not_null(j->bits);
  cr_assert_eq(pread(fd, j->bits, words * 8, 128), (ssize_t)(words * 8));
  close(fd);
}

static int journal_done(const journal *j, uint64_t k) {
  return (int)(j->bits[k / 64] >> (k % 64) & 1);
}

/* The journal at path is for n indices in blocks of n / 2^20 rounded up,
 * and marks done exactly the blocks [b, e) for which done_block says so. */
static void expect_journal(const char *path, uint64_t n,
                           int (*done_block)(void *, uint64_t, uint64_t),
                           void *arg, journal *j, const char *what) {
  journal_read(path, j);
  uint64_t block = n / (UINT64_C(1) << 20) + (n % (UINT64_C(1) << 20) != 0);
  cr_assert_eq(j->n, n, "%s: journal n %llu", what, (unsigned long long)j->n);
  cr_assert_eq(j->block, block, "%s: block %llu", what,
               (unsigned long long)j->block);
  cr_assert_eq(j->nblocks, n / block + (n % block != 0), "%s", what);
  for (uint64_t k = 0; k < j->nblocks; k++) {
    uint64_t b = k * block, e = b + block < n ? b + block : n;
    cr_assert_eq(journal_done(j, k), done_block(arg, b, e),
                 "%s: block %llu ([%llu, %llu)) marked %d", what,
                 (unsigned long long)k, (unsigned long long)b,
                 (unsigned long long)e, journal_done(j, k));
  }
  uint64_t words = j->nblocks / 64 + 1;
  if (j->nblocks % 64)
    cr_assert_eq(j->bits[words - 1] >> (j->nblocks % 64), 0,
                 "%s: bits past the last block", what);
  else
    cr_assert_eq(j->bits[words - 1], 0, "%s: bits past the last block", what);
}

static int all_done(void *arg, uint64_t b, uint64_t e) {
  (void)arg, (void)b, (void)e;
  return 1;
}

/* Blocks with no poison index are done. */
static int no_poison_in(void *arg, uint64_t b, uint64_t e) {
  const fx *f = arg;
  for (uint64_t i = b; i < e; i++)
    if (always_fails(f->w[i]))
      return 0;
  return 1;
}

static void slurp(const char *path, uint64_t n, uint64_t *buf) {
  int fd = open(path, O_RDONLY);
  cr_assert_geq(fd, 0, "%s", path);
  size_t want = n * sizeof *buf, got = 0;
  while (got < want) {
    ssize_t r = read(fd, (char *)buf + got, want - got);
    cr_assert_gt(r, 0, "%s: short read", path);
    got += (size_t)r;
  }
  char extra;
  cr_assert_eq(read(fd, &extra, 1), 0, "%s: longer than %zu bytes", path, want);
  close(fd);
}

/* The file at path holds exactly what an uninterrupted job writes: that
 * job is run over a new file beside it, the two are compared byte for
 * byte, and every value is checked. */
static void expect_as_uninterrupted(fx *f, const char *dir, const char *path,
                                    const char *what) {
  char ref[256];
  snprintf(ref, sizeof ref, "%s/ref.u64", dir);
  sharc_array *r = file_array(f->p, ref, f->n, 1);
  fx_reset_control(f);
  sharc_job_opts o = fx_opts(f, "auto", 0);
  sharc_array *list[4] = {r, f->what, f->ctl, f->calls};
  o.arrays = list;
  sharc_job *j = test_submit(f->p, "hfs_kernel", f->n, &o, NULL);
  int rc = sharc_job_wait(j, -1);
  cr_assert_eq(rc, 0, "%s: the uninterrupted job: %s (%s)", what,
               sharc_err_name(rc), sharc_job_errmsg(j));
  sharc_job_free(j);
  sharc_array_destroy(r);
  uint64_t *got = malloc(f->n * sizeof *got),
           *want = malloc(f->n * sizeof *want);
  cr_assert(got != NULL && want != NULL);
  slurp(path, f->n, got);
  slurp(ref, f->n, want);
  for (uint64_t i = 0; i < f->n; i++)
    cr_assert_eq(got[i], want[i],
                 "%s: index %llu differs from the "
                 "uninterrupted run",
                 what, (unsigned long long)i);
  cr_assert_eq(memcmp(got, want, f->n * sizeof *got), 0, "%s", what);
  for (uint64_t i = 0; i < f->n; i++)
    cr_assert_eq(got[i], mix(i), "%s: index %llu", what, (unsigned long long)i);
  free(got);
  free(want);
  unlink(ref);
}

/* A submitted job with a journal quarantines its poison: the journal marks
 * exactly the blocks without a poison index. With the cause gone, a
 * resumed submitted job runs exactly the blocks the journal lacks, each
 * index once, and the file ends up as an uninterrupted run's. */
static void journal_quarantine_resume(uint64_t n, const uint64_t *poison,
                                      size_t np, const char *sched) {
  char dir[] = "/tmp/sharc-hfs-XXXXXX";
  cr_assert_not_null(mkdtemp(dir));
  char path[128], jpath[160], what[96];
  snprintf(path, sizeof path, "%s/out.u64", dir);
  snprintf(jpath, sizeof jpath, "%s.journal", path);
  snprintf(what, sizeof what, "n %llu %s", (unsigned long long)n, sched);
  fx f;
  fx_make(&f, test_pool(2), n, path);
  fx_reset(&f);
  for (size_t k = 0; k < np; k++)
    f.w[poison[k]] = k % 2 ? P_ABORT : P_SEGV;
  sharc_job_opts o = fx_opts(&f, sched, 2);
  o.journal_path = jpath;
  sharc_job *a = test_submit(f.p, "hfs_kernel", n, &o, NULL);
  sharc_job *b = submit_fill(&f);
  int rc = sharc_job_wait(a, -1);
  cr_assert_eq(rc, SHARC_EQUARANTINED, "%s: rc %s (%s)", what,
               sharc_err_name(rc), sharc_job_errmsg(a));
  expect_exact_quarantine(&f, sharc_job_report(a), 3, what);
  expect_fill_done(&f, b, what);
  sharc_job_free(a);
  sharc_job_free(b);
  journal j;
  expect_journal(jpath, n, no_poison_in, &f, &j, what);

  /* The cause is gone; the resume runs only what the journal lacks. */
  for (size_t k = 0; k < np; k++)
    f.w[poison[k]] = P_OK;
  fx_reset_calls(&f);
  sharc_job_opts r = fx_opts(&f, sched, 0);
  r.journal_path = jpath;
  r.resume = 1;
  a = test_submit(f.p, "hfs_kernel", n, &r, NULL);
  rc = sharc_job_wait(a, -1);
  cr_assert_eq(rc, 0, "%s: resume: rc %s (%s)", what, sharc_err_name(rc),
               sharc_job_errmsg(a));
  uint64_t missing = 0;
  for (uint64_t i = 0; i < n; i++) {
    int run = !journal_done(&j, i / j.block);
    missing += run;
    cr_assert_eq(atomic_load(&f.k[i]), (uint32_t)run,
                 "%s: the resume computed index %llu %u times", what,
                 (unsigned long long)i, atomic_load(&f.k[i]));
  }
  const sharc_report *rep = sharc_job_report(a);
  cr_assert_eq(rep->indices, missing,
               "%s: the resume reports %llu indices, "
               "%llu were missing",
               what, (unsigned long long)rep->indices,
               (unsigned long long)missing);
  cr_assert_eq(rep->nquarantined, 0, "%s", what);
  sharc_job_free(a);
  free(j.bits);
  /* Now the journal marks every block. */
  expect_journal(jpath, n, all_done, NULL, &j, what);
  free(j.bits);
  expect_as_uninterrupted(&f, dir, path, what);
  sharc_pool_destroy(f.p);
  unlink(path);
  unlink(jpath);
  cr_assert_eq(rmdir(dir), 0, "%s: files left in %s", what, dir);
}

Test(
    handle_faults_start,
    a_quarantining_submitted_job_journals_exactly_its_done_blocks_and_a_resume_runs_the_rest,
    .timeout = 300) {
  const uint64_t poison[] = {7, 5000, 12345, 19999};
  journal_quarantine_resume(20000, poison, 4, "dynamic:64");
}

/* More than 2^20 indices: a journal block holds 3 of them, and the
 * retries narrow failures down inside blocks. */
Test(handle_faults_start,
     over_2_pow_20_indices_the_journal_marks_exactly_the_blocks_without_poison,
     .timeout = 300) {
  const uint64_t n = (UINT64_C(1) << 21) + 5;
  const uint64_t poison[] = {1000001, 1500000, n - 1};
  journal_quarantine_resume(n, poison, 3, "dynamic:999");
}

/* A job over 2^20 indices whose worker dies once, inside a journal block:
 * the retries complete that block in pieces, and the job returns 0. Its
 * journal then marks every block, and resuming it computes nothing. */
Test(handle_faults_start,
     a_job_completed_by_retries_inside_journal_blocks_journals_every_block,
     .timeout = 300) {
  char dir[] = "/tmp/sharc-hfs-XXXXXX";
  cr_assert_not_null(mkdtemp(dir));
  char path[128], jpath[160];
  snprintf(path, sizeof path, "%s/out.u64", dir);
  snprintf(jpath, sizeof jpath, "%s.journal", path);
  const uint64_t n = (UINT64_C(1) << 21) + 5; /* blocks of 3 */
  fx f;
  fx_make(&f, test_pool(2), n, path);
  fx_reset(&f);
  f.w[1000001] = P_ONCE; /* the middle of block 333333 */
  sharc_job_opts o = fx_opts(&f, "dynamic:999", 1);
  o.journal_path = jpath;
  sharc_job *a = test_submit(f.p, "hfs_kernel", n, &o, NULL);
  int rc = sharc_job_wait(a, -1);
  cr_assert_eq(rc, 0, "rc %s (%s)", sharc_err_name(rc), sharc_job_errmsg(a));
  const sharc_report *rep = sharc_job_report(a);
  cr_assert_eq(rep->deaths, 1, "%u deaths", rep->deaths);
  cr_assert_eq(rep->indices, n);
  cr_assert_eq(atomic_load(&f.c[C_ONCE]), 1);
  sharc_job_free(a);
  journal j;
  expect_journal(jpath, n, all_done, NULL, &j, "completed by retries");
  free(j.bits);
  fx_reset_calls(&f);
  sharc_job_opts r = fx_opts(&f, "dynamic:999", 0);
  r.journal_path = jpath;
  r.resume = 1;
  a = test_submit(f.p, "hfs_kernel", n, &r, NULL);
  rc = sharc_job_wait(a, -1);
  cr_assert_eq(rc, 0, "resume: rc %s (%s)", sharc_err_name(rc),
               sharc_job_errmsg(a));
  cr_assert_eq(sharc_job_report(a)->indices, 0, "the resume computed %llu",
               (unsigned long long)sharc_job_report(a)->indices);
  for (uint64_t i = 0; i < n; i++)
    cr_assert_eq(atomic_load(&f.k[i]), 0, "the resume computed index %llu",
                 (unsigned long long)i);
  sharc_job_free(a);
  for (uint64_t i = 0; i < n; i++)
    cr_assert_eq(f.o[i], mix(i), "index %llu", (unsigned long long)i);
  sharc_array_destroy(f.out);
  sharc_pool_destroy(f.p);
  unlink(path);
  unlink(jpath);
  cr_assert_eq(rmdir(dir), 0, "files left in %s", dir);
}

/* A submitted job with a journal, held at index H by the gate (every chunk
 * from H on waits for the release), is cancelled once both workers are
 * held: everything before H was done and nothing after, and the journal
 * says exactly that. A second submitted job resumes it over the file
 * opened again: it computes exactly [H, n), once each, and the file ends
 * up as an uninterrupted run's. */
static int below_h(void *arg, uint64_t b, uint64_t e) {
  (void)b;
  return e <= *(const uint64_t *)arg;
}

Test(
    handle_faults_start,
    a_cancelled_submitted_job_journals_what_it_did_and_a_resumed_one_finishes_it,
    .timeout = 300) {
  char dir[] = "/tmp/sharc-hfs-XXXXXX";
  cr_assert_not_null(mkdtemp(dir));
  char path[128], jpath[160];
  snprintf(path, sizeof path, "%s/out.u64", dir);
  snprintf(jpath, sizeof jpath, "%s.journal", path);
  const uint64_t n = 100000, H = 37000; /* H: a chunk boundary */
  fx f;
  fx_make(&f, test_pool(2), n, path);
  fx_reset(&f);
  for (uint64_t i = H; i < n; i++)
    f.w[i] = P_HOLD;
  sharc_job_opts o = fx_opts(&f, "dynamic:100", 0);
  o.journal_path = jpath;
  sharc_job *a = test_submit(f.p, "hfs_kernel", n, &o, NULL);
  /* Dynamic chunks are claimed in order and a worker claims its next one
   * only after its last ended: with both held, every chunk before H has
   * ended and none after has begun. */
  while (atomic_load(&f.c[C_HELD]) < 2)
    sched_yield();
  sharc_progress pr = SHARC_PROGRESS_INIT;
  cr_assert_eq(sharc_job_progress(a, &pr), 0);
  cr_assert_eq(pr.state, SHARC_JOB_RUNNING);
  cr_assert_eq(sharc_job_cancel(a), 0);
  int rc = sharc_job_wait(a, -1);
  cr_assert_eq(rc, SHARC_ECANCELED, "rc %s (%s)", sharc_err_name(rc),
               sharc_job_errmsg(a));
  const sharc_report *rep = sharc_job_report(a);
  cr_assert_eq(rep->status, SHARC_ECANCELED);
  /* The workers were killed in their held chunks, before publishing
   * their counts: the report and the progress may count less than was
   * done (what was done is checked below), never more. */
  cr_assert_leq(rep->indices, H, "the cancelled job reports %llu indices",
                (unsigned long long)rep->indices);
  cr_assert_eq(sharc_job_progress(a, &pr), 0);
  cr_assert_eq(pr.state, SHARC_JOB_DONE);
  cr_assert_leq(pr.done, H, "progress: %llu done", (unsigned long long)pr.done);
  cr_assert_eq(atomic_load(&f.c[C_HELD]), 2, "a third chunk was held");
  for (uint64_t i = 0; i < n; i++) {
    cr_assert_eq(atomic_load(&f.k[i]), i < H ? 1u : 0u,
                 "index %llu computed %u times", (unsigned long long)i,
                 atomic_load(&f.k[i]));
    cr_assert_eq(f.o[i], i < H ? mix(i) : 0, "index %llu",
                 (unsigned long long)i);
  }
  sharc_job_free(a);
  journal j;
  uint64_t h = H;
  expect_journal(jpath, n, below_h, &h, &j, "cancelled");
  free(j.bits);

  /* The same job again, resumed, over the file mapped anew; the gate is
   * open for good. */
  sharc_array_destroy(f.out);
  f.out = file_array(f.p, path, n, 0);
  f.list[0] = f.out;
  f.o = sharc_array_data(f.out);
  fx_reset_calls(&f);
  atomic_store(&f.c[C_RELEASE], 1);
  sharc_job_opts r = fx_opts(&f, "dynamic:100", 0);
  r.journal_path = jpath;
  r.resume = 1;
  a = test_submit(f.p, "hfs_kernel", n, &r, NULL);
  sharc_job *b = submit_fill(&f);
  rc = sharc_job_wait(a, -1);
  cr_assert_eq(rc, 0, "resume: rc %s (%s)", sharc_err_name(rc),
               sharc_job_errmsg(a));
  rep = sharc_job_report(a);
  cr_assert_eq(rep->indices, n - H, "the resume reports %llu indices",
               (unsigned long long)rep->indices);
  for (uint64_t i = 0; i < n; i++)
    cr_assert_eq(atomic_load(&f.k[i]), i < H ? 0u : 1u,
                 "the resume computed index %llu %u times",
                 (unsigned long long)i, atomic_load(&f.k[i]));
  expect_fill_done(&f, b, "behind the resume");
  sharc_job_free(a);
  sharc_job_free(b);
  expect_journal(jpath, n, all_done, NULL, &j, "resumed");
  free(j.bits);
  expect_as_uninterrupted(&f, dir, path, "cancelled and resumed");
  sharc_pool_destroy(f.p);
  unlink(path);
  unlink(jpath);
  cr_assert_eq(rmdir(dir), 0, "files left in %s", dir);
}

#endif
