/* Start-up under failure injection: failing the Nth system call of creating
 * a pool and its arrays, for every N in turn, gives a clean error naming
 * that call and leaves no process, descriptor or shared object behind. */
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "helpers.h"
#include "inject.h"

/* What each injectable call fails with, as sharc returns it. The /proc
 * reads are best effort: failing them must not fail anything. */
static const struct {
  const char *what;
  int rc; /* 0: tolerated */
} calls[] = {
    {"fork", SHARC_EAGAIN},         {"mmap", SHARC_ENOMEM},
    {"memfd_create", SHARC_EMFILE}, {"pidfd_open", SHARC_EMFILE},
    {"socketpair", SHARC_EMFILE},   {"eventfd", SHARC_EMFILE},
    {"ftruncate", SHARC_ENOMEM},    {"posix_fallocate", SHARC_ENOSPC},
    {"shm_open", SHARC_EMFILE},     {"calloc", SHARC_ENOMEM},
    {"strdup", SHARC_ENOMEM},       {"open /proc/meminfo", 0},
    {"open /proc/PID/stat", 0},
};
#define NCALLS (sizeof calls / sizeof calls[0])

static size_t call_index(const char *what) {
  for (size_t i = 0; i < NCALLS; i++)
    if (strcmp(calls[i].what, what) == 0)
      return i;
  cr_assert_fail("injected call '%s' is not in the test's table", what);
  return 0;
}

static int count_fds(void) {
  DIR *d = opendir("/proc/self/fd");
  cr_assert_not_null(d);
  int n = 0;
  struct dirent *e;
  while ((e = readdir(d)) != NULL)
    n += e->d_name[0] != '.';
  closedir(d);
  return n - 1; /* the directory's own descriptor */
}

/* No child at all, running or zombie. */
static int no_children(void) {
  return waitpid(-1, NULL, WNOHANG) == -1 && errno == ECHILD;
}

/* Objects in /dev/shm named after this process. */
static int own_shm_objects(void) {
  char prefix[32];
  snprintf(prefix, sizeof prefix, "sharc-%ld-", (long)getpid());
  DIR *d = opendir("/dev/shm");
  cr_assert_not_null(d);
  int n = 0;
  struct dirent *e;
  while ((e = readdir(d)) != NULL)
    n += strncmp(e->d_name, prefix, strlen(prefix)) == 0;
  closedir(d);
  return n;
}

static int fill(const sharc_task *t, uint64_t b, uint64_t e) {
  double *x = sharc_task_array(t, 0);
  double *y = sharc_task_array(t, 1);
  for (uint64_t i = b; i < e; i++)
    x[i] = y[i] = (double)i;
  return 0;
}
SHARC_KERNEL(fill)

/* A pool of two workers with an anonymous and a named array, and a job
 * over both. Returns 0 or the first error, with its message in msg. */
static int start_up(char *msg, size_t len) {
  sharc_pool_opts o = SHARC_POOL_OPTS_INIT;
  o.workers = 2;
  sharc_pool *p;
  int rc = sharc_pool_create(&p, &o, msg, len);
  if (rc != 0)
    return rc;
  uint64_t n = 1000;
  sharc_array_opts named = SHARC_ARRAY_OPTS_INIT;
  named.backing = SHARC_BACKING_SHM;
  sharc_array *x = NULL, *y = NULL;
  rc = sharc_array_create(p, SHARC_F64, 1, &n, NULL, &x);
  if (rc == 0)
    rc = sharc_array_create(p, SHARC_F64, 1, &n, &named, &y);
  if (rc != 0) {
    snprintf(msg, len, "%s", sharc_pool_errmsg(p));
    sharc_pool_destroy(p);
    return rc;
  }
  sharc_job_opts jo = SHARC_JOB_OPTS_INIT;
  jo.arrays = (sharc_array *[]){x, y};
  jo.narrays = 2;
  rc = sharc_run(p, "fill", n, &jo, NULL);
  snprintf(msg, len, "%s", sharc_pool_errmsg(p));
  const double *xd = sharc_array_data(x), *yd = sharc_array_data(y);
  for (uint64_t i = 0; rc == 0 && i < n; i++)
    cr_assert(xd[i] == (double)i && yd[i] == (double)i, "index %llu",
              (unsigned long long)i);
  cr_assert_eq(sharc_shm_remove(sharc_array_name(y)), 0);
  sharc_pool_destroy(p);
  return rc;
}

Test(inject, every_failing_startup_call_is_a_clean_error_and_leaks_nothing) {
  int fds = count_fds();
  char msg[512];
  cr_assert_eq(start_up(msg, sizeof msg), 0, "without injection: %s", msg);
  cr_assert_eq(count_fds(), fds);
  int hit[NCALLS] = {0};
  unsigned long n;
  for (n = 1; n < 1000; n++) {
    sharc__inject_arm(n);
    int rc = start_up(msg, sizeof msg);
    const char *failed = sharc__inject_failed();
    unsigned long made = sharc__inject_calls();
    sharc__inject_arm(0);
    if (failed == NULL) {
      cr_assert_eq(rc, 0, "N=%lu: nothing injected, yet: %s", n, msg);
      cr_assert_lt(made, n);
      break;
    }
    size_t i = call_index(failed);
    hit[i]++;
    cr_assert_eq(rc, calls[i].rc, "N=%lu (%s): returned %s, expected %s: %s", n,
                 failed, sharc_err_name(rc), sharc_err_name(calls[i].rc), msg);
    if (rc != 0)
      cr_assert(strstr(msg, failed) != NULL,
                "N=%lu: the message does not name %s: %s", n, failed, msg);
    cr_assert(no_children(), "N=%lu (%s): a worker is left", n, failed);
    cr_assert_eq(count_fds(), fds, "N=%lu (%s): descriptors leaked", n, failed);
    cr_assert_eq(own_shm_objects(), 0, "N=%lu (%s): /dev/shm object left", n,
                 failed);
    cr_assert_eq(start_up(msg, sizeof msg), 0, "after N=%lu (%s): %s", n,
                 failed, msg);
  }
  cr_assert_lt(n, 1000, "start-up never ran out of injectable calls");
  for (size_t i = 0; i < NCALLS; i++)
    cr_assert_gt(hit[i], 0, "%s was never failed", calls[i].what);
  /* Per worker one socketpair, fork and pidfd_open. */
  cr_assert_eq(hit[call_index("fork")], 2);
  cr_assert_eq(hit[call_index("pidfd_open")], 2);
}

Test(inject, disarmed_hook_fails_nothing_and_counts_nothing) {
  sharc__inject_arm(0);
  char msg[512];
  cr_assert_eq(start_up(msg, sizeof msg), 0, "%s", msg);
  cr_assert_eq(sharc__inject_calls(), 0);
  cr_assert_null(sharc__inject_failed());
}

/* A forked worker inherits the armed hook but never counts: the Nth call is
 * the coordinator's whatever the workers do. */
Test(inject, only_the_arming_process_counts) {
  sharc__inject_arm(1000000);
  char msg[512];
  cr_assert_eq(start_up(msg, sizeof msg), 0, "%s", msg);
  unsigned long first = sharc__inject_calls();
  sharc__inject_arm(1000000);
  cr_assert_eq(start_up(msg, sizeof msg), 0, "%s", msg);
  cr_assert_eq(sharc__inject_calls(), first);
  pid_t pid = fork();
  if (pid == 0)
    _exit(sharc__inject_fail("fork") != 0 || sharc__inject_calls() != first);
  int st;
  cr_assert_eq(waitpid(pid, &st, 0), pid);
  cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
  sharc__inject_arm(0);
}

static int noop(const sharc_task *t, uint64_t b, uint64_t e) {
  (void)t;
  (void)b;
  (void)e;
  return 0;
}
SHARC_KERNEL(noop)

/* Replacing a dead worker starts one the same way: when that fails, the
 * job still reports the death, later jobs are refused, and destroying the
 * pool leaves nothing behind. */
Test(inject, failing_worker_replacement_breaks_the_pool_cleanly) {
  int fds = count_fds();
  unsigned long n;
  int broke = 0;
  for (n = 1; n < 100; n++) {
    sharc_pool *p = test_pool(2);
    pid_t victim = sharc_pool_worker_pid(p, 0);
    cr_assert_eq(kill(victim, SIGKILL), 0);
    sharc__inject_arm(n);
    int rc = sharc_run(p, "noop", 1000, NULL, NULL);
    const char *failed = sharc__inject_failed();
    sharc__inject_arm(0);
    cr_assert_eq(rc, SHARC_EWORKER, "N=%lu: %s", n, sharc_pool_errmsg(p));
    rc = sharc_run(p, "noop", 1000, NULL, NULL);
    if (failed == NULL) {
      cr_assert_eq(rc, 0, "N=%lu: %s", n, sharc_pool_errmsg(p));
      cr_assert_neq(sharc_pool_worker_pid(p, 0), victim);
      sharc_pool_destroy(p);
      break;
    }
    broke++;
    cr_assert_eq(rc, SHARC_ECLOSED, "N=%lu (%s): %s", n, failed,
                 sharc_pool_errmsg(p));
    sharc_pool_destroy(p);
    cr_assert(no_children(), "N=%lu (%s): a worker is left", n, failed);
    cr_assert_eq(count_fds(), fds, "N=%lu (%s): descriptors leaked", n, failed);
  }
  /* socketpair, fork, pidfd_open */
  cr_assert_eq(broke, 3);
  cr_assert(no_children());
  cr_assert_eq(count_fds(), fds);
}
