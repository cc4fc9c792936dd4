/* Helpers shared by the test files. */
#ifndef SHARC_TEST_HELPERS_H
#define SHARC_TEST_HELPERS_H

#include <criterion/criterion.h>
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

#endif
