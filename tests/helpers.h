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

#endif
