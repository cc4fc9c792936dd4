/* Several threads on one pool at once, every outcome checked: streams
 * read to their end, sharc_run beside submitted jobs, cancels of running
 * and queued jobs, a crashing kernel quarantined in a retry pass, progress
 * read from another thread, a pipeline, and handles held past the pool's
 * destruction. It runs in the ordinary suite and, built with
 * -fsanitize=thread (SHARC_TSAN=ON), under ThreadSanitizer in CI, where
 * any data race between the caller's threads, the pool's driver thread
 * and the library's locks fails it.
 *
 *   threads_handles [ROUNDS [fork|forkserver]]
 * exits 0 when every check held. */
#define SHARC_EXPERIMENTAL_API /* pipelines */
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sharc.h>

static _Atomic int failed;

#define CHECK(cond, ...)                                                       \
  do {                                                                         \
    if (!(cond)) {                                                             \
      fprintf(stderr, "threads_handles: %s:%d: ", __FILE__, __LINE__);         \
      fprintf(stderr, __VA_ARGS__);                                            \
      fputc('\n', stderr);                                                     \
      atomic_store(&failed, 1);                                                \
    }                                                                          \
  } while (0)

/* Writes i + 1 + args[0] at i of array 0 (u64). */
static int stamp(const sharc_task *t, uint64_t b, uint64_t e) {
  uint64_t *out = sharc_task_array(t, 0);
  size_t len;
  const uint64_t *add = sharc_task_args(t, &len);
  uint64_t k = len == sizeof *add ? *add : 0;
  for (uint64_t i = b; i < e; i++)
    out[i] = i + 1 + k;
  return 0;
}
SHARC_KERNEL(stamp)

/* Waits while the u64 gate (array 0, [0]) is 0, then stamps array 1. A
 * cancel ends it by killing its worker once the 100 ms grace is over. */
static int held(const sharc_task *t, uint64_t b, uint64_t e) {
  _Atomic uint64_t *gate = sharc_task_array(t, 0);
  uint64_t *out = sharc_task_array(t, 1);
  while (atomic_load(gate) == 0)
    sched_yield();
  for (uint64_t i = b; i < e; i++)
    out[i] = i + 1;
  return 0;
}
SHARC_KERNEL(held)

/* Stamps array 0, and dies on every index that is a multiple of 997. */
static int crashy(const sharc_task *t, uint64_t b, uint64_t e) {
  uint64_t *out = sharc_task_array(t, 0);
  for (uint64_t i = b; i < e; i++) {
    if (i % 997 == 0 && i > 0)
      raise(SIGKILL);
    out[i] = i + 1;
  }
  return 0;
}
SHARC_KERNEL(crashy)

/* The pipeline's transform: x -> 2x + 1. */
static int twice(const sharc_task *t, uint64_t b, uint64_t e) {
  uint64_t *x = sharc_pipeline_slot(t);
  for (uint64_t i = b; i < e; i++)
    x[i] = 2 * x[i] + 1;
  return 0;
}
SHARC_KERNEL(twice)

/* Array functions are not thread-safe on one pool (sharc/array.h): the
 * threads' arrays are made before the threads start. */
typedef struct rig {
  sharc_pool *pool;
  unsigned rounds;
  sharc_array *stream_out, *run_out, *gate, *cancel_out, *crash_out;
} rig;

enum { STREAM_N = 300000, RUN_N = 50000, CANCEL_N = 1000, CRASH_N = 5000 };

static sharc_array *array_u64(sharc_pool *p, uint64_t n) {
  sharc_array *a = NULL;
  int rc = sharc_array_create(p, SHARC_U64, 1, &n, NULL, &a);
  CHECK(rc == 0, "array of %llu: %s", (unsigned long long)n,
        sharc_strerror(rc));
  return a;
}

/* Every index of out[0, n) holds i + 1 + k. */
static void expect_stamped(sharc_array *a, uint64_t n, uint64_t k,
                           const char *who) {
  const uint64_t *v = sharc_array_data(a);
  for (uint64_t i = 0; i < n; i++)
    if (v[i] != i + 1 + k) {
      CHECK(0, "%s: index %llu holds %llu, not %llu", who,
            (unsigned long long)i, (unsigned long long)v[i],
            (unsigned long long)(i + 1 + k));
      return;
    }
}

/* Streams: every completed index once, in both orders. */
static void *streams(void *arg) {
  rig *r = arg;
  const uint64_t n = STREAM_N;
  sharc_array *out = r->stream_out;
  unsigned char *seen = calloc(n, 1);
  for (unsigned round = 0; round < r->rounds && out && seen; round++) {
    uint64_t k = round;
    sharc_job_opts o = SHARC_JOB_OPTS_INIT;
    o.arrays = &out;
    o.narrays = 1;
    o.args = &k;
    o.args_len = sizeof k;
    sharc_submit_opts so = SHARC_SUBMIT_OPTS_INIT;
    so.stream = 1;
    sharc_job *j = NULL;
    int rc = sharc_submit(r->pool, "stamp", n, &o, &so, &j);
    CHECK(rc == 0, "stream submit: %s", sharc_strerror(rc));
    if (rc != 0)
      break;
    memset(seen, 0, n);
    uint64_t b, e, given = 0, upto = 0;
    if (round % 2 == 0) {
      while ((rc = sharc_job_next(j, &b, &e, -1)) == 1) {
        CHECK(b < e && e <= n, "range [%llu, %llu)", (unsigned long long)b,
              (unsigned long long)e);
        for (uint64_t i = b; i < e && e <= n; i++) {
          CHECK(!seen[i], "index %llu given twice", (unsigned long long)i);
          seen[i] = 1;
        }
        given += e - b;
      }
    } else {
      uint64_t last = 0;
      while ((rc = sharc_job_next_ordered(j, &upto, -1)) == 1) {
        CHECK(upto > last && upto <= n, "prefix %llu after %llu",
              (unsigned long long)upto, (unsigned long long)last);
        last = upto;
      }
      given = last;
    }
    CHECK(rc == 0, "stream ended with %s", sharc_strerror(rc));
    CHECK(given == n, "stream gave %llu of %llu indices",
          (unsigned long long)given, (unsigned long long)n);
    rc = sharc_job_wait(j, -1);
    CHECK(rc == 0, "stream job: %s (%s)", sharc_strerror(rc),
          sharc_job_errmsg(j));
    expect_stamped(out, n, k, "stream");
    sharc_job_free(j);
  }
  free(seen);
  return NULL;
}

/* sharc_run in this thread while the driver runs submitted jobs. */
static void *runs(void *arg) {
  rig *r = arg;
  const uint64_t n = RUN_N;
  sharc_array *out = r->run_out;
  for (unsigned round = 0; round < 2 * r->rounds && out; round++) {
    uint64_t k = 1000 + round;
    sharc_job_opts o = SHARC_JOB_OPTS_INIT;
    o.arrays = &out;
    o.narrays = 1;
    o.args = &k;
    o.args_len = sizeof k;
    int rc = sharc_run(r->pool, "stamp", n, &o, NULL);
    CHECK(rc == 0, "sharc_run: %s", sharc_strerror(rc));
    expect_stamped(out, n, k, "sharc_run");
  }
  return NULL;
}

/* A held job cancelled while it runs, one cancelled while queued behind
 * it, and progress read meanwhile. */
static void *cancels(void *arg) {
  rig *r = arg;
  const uint64_t n = CANCEL_N;
  sharc_array *gate = r->gate, *out = r->cancel_out;
  for (unsigned round = 0; round < r->rounds && gate && out; round++) {
    *(uint64_t *)sharc_array_data(gate) = 0;
    sharc_array *lists[2] = {gate, out};
    sharc_job_opts o = SHARC_JOB_OPTS_INIT;
    o.arrays = lists;
    o.narrays = 2;
    sharc_job *running = NULL, *queued = NULL;
    int rc = sharc_submit(r->pool, "held", n, &o, NULL, &running);
    CHECK(rc == 0, "submit held: %s", sharc_strerror(rc));
    if (rc != 0)
      break;
    rc = sharc_submit(r->pool, "held", n, &o, NULL, &queued);
    CHECK(rc == 0, "submit queued: %s", sharc_strerror(rc));
    if (rc != 0) {
      sharc_job_cancel(running);
      sharc_job_wait(running, -1);
      sharc_job_free(running);
      break;
    }
    sharc_progress pr = SHARC_PROGRESS_INIT;
    do {
      rc = sharc_job_progress(running, &pr);
      CHECK(rc == 0, "progress: %s", sharc_strerror(rc));
      sched_yield();
    } while (rc == 0 && pr.state == SHARC_JOB_QUEUED);
    CHECK(sharc_job_cancel(queued) == 0, "cancel queued");
    CHECK(sharc_job_cancel(running) == 0, "cancel running");
    rc = sharc_job_wait(queued, -1);
    CHECK(rc == SHARC_ECANCELED, "queued job ended with %s",
          sharc_strerror(rc));
    rc = sharc_job_wait(running, -1);
    /* The gate stays shut: only the cancel ends it. */
    CHECK(rc == SHARC_ECANCELED, "running job ended with %s",
          sharc_strerror(rc));
    sharc_job_free(queued);
    sharc_job_free(running);
  }
  return NULL;
}

/* A kernel that kills its worker on every multiple of 997: with retries
 * the job ends SHARC_EQUARANTINED, naming exactly those indices. */
static void *crashes(void *arg) {
  rig *r = arg;
  const uint64_t n = CRASH_N;
  sharc_array *out = r->crash_out;
  for (unsigned round = 0; round < 2 && out; round++) {
    memset(sharc_array_data(out), 0, n * sizeof(uint64_t));
    sharc_job_opts o = SHARC_JOB_OPTS_INIT;
    o.arrays = &out;
    o.narrays = 1;
    o.fault.retries = 1;
    sharc_job *j = NULL;
    int rc = sharc_submit(r->pool, "crashy", n, &o, NULL, &j);
    CHECK(rc == 0, "submit crashy: %s", sharc_strerror(rc));
    if (rc != 0)
      break;
    rc = sharc_job_wait(j, -1);
    CHECK(rc == SHARC_EQUARANTINED, "crashy ended with %s (%s)",
          sharc_strerror(rc), sharc_job_errmsg(j));
    const sharc_report *rep = sharc_job_report(j);
    CHECK(rep != NULL, "no report");
    uint64_t want = (n - 1) / 997;
    if (rep != NULL) {
      CHECK(rep->nquarantined == want, "%u quarantined, want %llu",
            rep->nquarantined, (unsigned long long)want);
      for (unsigned q = 0; q < rep->nquarantined; q++)
        CHECK(rep->quarantined[q].begin == 997 * (q + 1) &&
                  rep->quarantined[q].end == 997 * (q + 1) + 1,
              "quarantined [%llu, %llu)",
              (unsigned long long)rep->quarantined[q].begin,
              (unsigned long long)rep->quarantined[q].end);
    }
    const uint64_t *v = sharc_array_data(out);
    for (uint64_t i = 0; i < n; i++)
      if (v[i] != ((i % 997 == 0 && i > 0) ? 0 : i + 1)) {
        CHECK(0, "crashy: index %llu holds %llu", (unsigned long long)i,
              (unsigned long long)v[i]);
        break;
      }
    sharc_job_free(j);
  }
  return NULL;
}

typedef struct feed {
  uint64_t total, next, expect;
  int order_ok;
} feed;

static int64_t feed_read(void *slot, uint64_t cap, uint64_t seq, void *arg) {
  (void)seq;
  feed *f = arg;
  uint64_t *x = slot, k = 0;
  for (; k < cap && f->next < f->total; k++)
    x[k] = f->next++;
  return (int64_t)k;
}

static int feed_write(const void *slot, uint64_t items, uint64_t seq,
                      void *arg) {
  (void)seq;
  feed *f = arg;
  const uint64_t *x = slot;
  for (uint64_t k = 0; k < items; k++, f->expect++)
    f->order_ok &= x[k] == 2 * f->expect + 1;
  return 0;
}

static void *pipeline(void *arg) {
  rig *r = arg;
  for (unsigned round = 0; round < 2; round++) {
    feed f = {.total = 100000, .order_ok = 1};
    sharc_pipeline_opts o = SHARC_PIPELINE_OPTS_INIT;
    o.kernel = "twice";
    o.item_bytes = sizeof(uint64_t);
    o.slot_items = 4096;
    o.slots = 4;
    o.read = feed_read;
    o.write = feed_write;
    o.arg = &f;
    sharc_pipeline_result res = SHARC_PIPELINE_RESULT_INIT;
    int rc = sharc_pipeline_run(r->pool, &o, &res);
    CHECK(rc == 0, "pipeline: %s (%s)", sharc_strerror(rc),
          res.error != NULL ? res.error : "");
    CHECK(f.order_ok && f.expect == f.total && res.items == f.total,
          "pipeline wrote %llu of %llu items, in order: %d",
          (unsigned long long)res.items, (unsigned long long)f.total,
          f.order_ok);
    sharc_pipeline_result_free(&res);
  }
  return NULL;
}

int main(int argc, char **argv) {
  unsigned rounds = argc > 1 ? (unsigned)strtoul(argv[1], NULL, 10) : 6;
  sharc_pool_opts po = SHARC_POOL_OPTS_INIT;
  po.workers = 2;
  /* With the fork server, arrays reach workers over their sockets. */
  if (argc > 2 && strcmp(argv[2], "forkserver") == 0) {
    int rc = sharc_init();
    if (rc != 0) {
      fprintf(stderr, "threads_handles: sharc_init: %s\n", sharc_strerror(rc));
      return 1;
    }
    po.start = SHARC_START_FORKSERVER;
  } else if (argc > 2 && strcmp(argv[2], "fork") != 0) {
    fprintf(stderr, "threads_handles: start method fork or forkserver\n");
    return 2;
  }
  char msg[512];
  rig r = {.pool = NULL, .rounds = rounds};
  int rc = sharc_pool_create(&r.pool, &po, msg, sizeof msg);
  if (rc != 0) {
    fprintf(stderr, "threads_handles: %s\n", msg);
    return 1;
  }
  r.stream_out = array_u64(r.pool, STREAM_N);
  r.run_out = array_u64(r.pool, RUN_N);
  r.gate = array_u64(r.pool, 1);
  r.cancel_out = array_u64(r.pool, CANCEL_N);
  r.crash_out = array_u64(r.pool, CRASH_N);
  void *(*const fns[])(void *) = {streams, runs, cancels, crashes, pipeline};
  enum { NT = sizeof fns / sizeof fns[0] };
  pthread_t t[NT];
  for (unsigned i = 0; i < NT; i++)
    CHECK(pthread_create(&t[i], NULL, fns[i], &r) == 0, "pthread_create");
  for (unsigned i = 0; i < NT; i++)
    pthread_join(t[i], NULL);

  /* One thread making and dropping arrays while its submitted job runs
   * and the driver thread replaces the workers the job kills: allowed,
   * since the driver is the library's. */
  sharc_job_opts co = SHARC_JOB_OPTS_INIT;
  co.arrays = &r.crash_out;
  co.narrays = 1;
  co.fault.retries = 1;
  sharc_job *cj = NULL;
  rc = sharc_submit(r.pool, "crashy", CRASH_N, &co, NULL, &cj);
  CHECK(rc == 0, "submit crashy: %s", sharc_strerror(rc));
  unsigned made = 0;
  while (cj != NULL && (rc = sharc_job_wait(cj, 0)) == SHARC_ETIMEDOUT) {
    sharc_array *tmp = array_u64(r.pool, 4096);
    if (tmp == NULL)
      break;
    made++;
    sharc_array_destroy(tmp);
  }
  CHECK(sharc_job_wait(cj, -1) == SHARC_EQUARANTINED, "crashy beside arrays");
  sharc_job_free(cj);

  /* A handle held past the pool: a job left queued behind a held one is
   * cancelled by the destruction, and its handle still answers. */
  const uint64_t one = 1;
  sharc_array *gate = array_u64(r.pool, one), *out = array_u64(r.pool, 100);
  sharc_job *a = NULL, *b = NULL;
  if (gate != NULL && out != NULL) {
    sharc_array *lists[2] = {gate, out};
    sharc_job_opts o = SHARC_JOB_OPTS_INIT;
    o.arrays = lists;
    o.narrays = 2;
    CHECK(sharc_submit(r.pool, "held", 100, &o, NULL, &a) == 0, "submit a");
    CHECK(sharc_submit(r.pool, "held", 100, &o, NULL, &b) == 0, "submit b");
  }
  sharc_pool_destroy(r.pool);
  if (b != NULL) {
    rc = sharc_job_wait(b, 0);
    CHECK(rc == SHARC_ECANCELED, "queued job after destroy: %s",
          sharc_strerror(rc));
  }
  sharc_job_free(a);
  sharc_job_free(b);
  if (atomic_load(&failed))
    return 1;
  printf("threads_handles: %s, %u rounds, %u arrays made beside a job, "
         "every check held\n",
         po.start == SHARC_START_FORKSERVER ? "forkserver" : "fork", rounds,
         made);
  return 0;
}
