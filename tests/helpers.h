/* Helpers shared by the test files. */
#ifndef SHARC_TEST_HELPERS_H
#define SHARC_TEST_HELPERS_H

#include <criterion/criterion.h>
#include <sched.h>
#include <stdlib.h>
#include <time.h>
#include <sharc.h>

/* A pool of w workers; fails the test if it cannot start. */
static inline sharc_pool *test_pool(unsigned w) {
  sharc_pool_opts o = SHARC_POOL_OPTS_INIT;
  o.workers = w;
  sharc_pool *p = NULL;
  char msg[512];
  int rc = sharc_pool_create(&p, &o, msg, sizeof msg);
  cr_assert_eq(rc, 0, "sharc_pool_create(%u): %s (%s)", w, sharc_strerror(rc),
               msg);
  return p;
}

/* Busy for ns nanoseconds of wall time: a kernel's stand-in for work. */
static inline void test_spin_ns(long ns) {
  struct timespec t0, now;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  do
    clock_gettime(CLOCK_MONOTONIC, &now);
  while ((now.tv_sec - t0.tv_sec) * 1000000000L + now.tv_nsec - t0.tv_nsec <
         ns);
}

/* Is pid gone (no such process) or a zombie? */
static inline int test_pid_gone(int pid) {
  char path[64], buf[512];
  snprintf(path, sizeof path, "/proc/%d/stat", pid);
  FILE *f = fopen(path, "r");
  if (f == NULL)
    return 1;
  size_t got = fread(buf, 1, sizeof buf - 1, f);
  fclose(f);
  buf[got] = '\0';
  const char *rp = strrchr(buf, ')');
  return rp != NULL && rp[1] == ' ' && rp[2] == 'Z';
}

/* Under AddressSanitizer a segfault is caught and reported as a bug; in a
 * test whose kernels crash workers on purpose it is the fault under test.
 * This lets it kill the worker as it would without the sanitizer (other
 * reports still fail the suite). Once per test program, at file scope,
 * without a semicolon. Spawned workers are other executables: they need
 * handle_segv=0 in ASAN_OPTIONS. */
#define TEST_SEGV_KILLS_WORKERS()                                              \
  __attribute__((visibility("default"), used)) const char *                    \
  __asan_default_options(void);                                                \
  const char *__asan_default_options(void) { return "handle_segv=0"; }

/* sharc_submit that fails the test if the job is refused. */
static inline sharc_job *test_submit(sharc_pool *p, const char *kernel,
                                     uint64_t n, const sharc_job_opts *o,
                                     const sharc_submit_opts *so) {
  sharc_job *j = NULL;
  int rc = sharc_submit(p, kernel, n, o, so, &j);
  cr_assert_eq(rc, 0, "sharc_submit: %s (%s)", sharc_strerror(rc),
               sharc_pool_errmsg(p));
  return j;
}

/* A clean job (no policy) waited for: it must succeed in one pass with no
 * death, having written 3i + 1 at every index i of out[0, n). */
static inline void test_expect_clean(sharc_job *j, const uint64_t *out,
                                     uint64_t n, const char *what) {
  int rc = sharc_job_wait(j, -1);
  cr_assert_eq(rc, 0, "%s: the clean job: rc %s (%s)", what,
               sharc_err_name(rc), sharc_job_errmsg(j));
  const sharc_report *rep = sharc_job_report(j);
  cr_assert_not_null(rep);
  cr_assert_eq(rep->indices, n, "%s", what);
  cr_assert_eq(rep->deaths, 0, "%s: %u deaths in the clean job", what,
               rep->deaths);
  cr_assert_eq(rep->passes, 1, "%s: %u passes in a job without a policy",
               what, rep->passes);
  for (uint64_t i = 0; i < n; i++)
    cr_assert_eq(out[i], 3 * i + 1, "%s: the clean job's index %llu", what,
                 (unsigned long long)i);
}

/* Waits until the job is running (the driver took it off the queue). */
static inline void until_running(sharc_job *j) {
  sharc_progress pr = SHARC_PROGRESS_INIT;
  do {
    cr_assert_eq(sharc_job_progress(j, &pr), 0);
    sched_yield();
  } while (pr.state == SHARC_JOB_QUEUED);
}

/* Reads a streamed job's ordered stream to its end, then the unordered
 * one. The ordered prefix must end exactly at the first index that did not
 * complete (n if none), every index in it written (out[i] == value(i));
 * the unordered stream must give every index that completed (missing[i]
 * == 0) exactly once and no other, each one written. Returns the indices
 * the unordered stream gave. */
static inline uint64_t test_drain_streams(sharc_job *j, uint64_t n,
                                          const uint8_t *missing,
                                          const uint64_t *out,
                                          uint64_t (*value)(uint64_t),
                                          const char *what) {
  uint64_t first_missing = n;
  for (uint64_t i = 0; i < n; i++)
    if (missing[i]) {
      first_missing = i;
      break;
    }
  uint64_t upto = 0, last = 0;
  int rc;
  while ((rc = sharc_job_next_ordered(j, &upto, -1)) == 1) {
    cr_assert_gt(upto, last, "%s", what);
    cr_assert_leq(upto, first_missing,
                  "%s: the ordered prefix reached %llu past index %llu, "
                  "which did not complete",
                  what, (unsigned long long)upto,
                  (unsigned long long)first_missing);
    for (uint64_t i = last; i < upto; i++)
      cr_assert_eq(out[i], value(i), "%s: index %llu in the prefix, not written",
                   what, (unsigned long long)i);
    last = upto;
  }
  cr_assert_eq(rc, 0, "%s: next_ordered: %s", what, sharc_err_name(rc));
  cr_assert_eq(last, first_missing,
               "%s: the ordered stream ended at %llu, the first index not "
               "completed is %llu",
               what, (unsigned long long)last,
               (unsigned long long)first_missing);
  uint8_t *hit = calloc(n, 1);
  cr_assert_not_null(hit);
  uint64_t b, e, got = 0, want = 0;
  while ((rc = sharc_job_next(j, &b, &e, -1)) == 1) {
    cr_assert(b < e && e <= n, "%s: range [%llu, %llu)", what,
              (unsigned long long)b, (unsigned long long)e);
    for (uint64_t i = b; i < e; i++) {
      cr_assert_eq(missing[i], 0, "%s: index %llu given, it did not complete",
                   what, (unsigned long long)i);
      cr_assert_eq(hit[i], 0, "%s: index %llu given twice", what,
                   (unsigned long long)i);
      cr_assert_eq(out[i], value(i), "%s: index %llu given, not written", what,
                   (unsigned long long)i);
      hit[i] = 1;
    }
    got += e - b;
  }
  cr_assert_eq(rc, 0, "%s: next: %s", what, sharc_err_name(rc));
  for (uint64_t i = 0; i < n; i++) {
    want += missing[i] == 0;
    if (missing[i] == 0)
      cr_assert_eq(hit[i], 1, "%s: index %llu completed, never given", what,
                   (unsigned long long)i);
  }
  cr_assert_eq(got, want, "%s", what);
  free(hit);
  return got;
}

#endif
