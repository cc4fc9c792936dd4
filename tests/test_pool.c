/* Pools: warm workers, pinning, array hand-over, failures, clean-up. */
#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "helpers.h"

/* out[i] = pid of the worker that processed i */
static int write_pid(const sharc_task *t, uint64_t b, uint64_t e) {
  int32_t *out = sharc_task_array(t, 0);
  for (uint64_t i = b; i < e; i++)
    out[i] = (int32_t)getpid();
  return 0;
}
SHARC_KERNEL(write_pid)

/* out[i] = 3 i + args[0] */
static int affine(const sharc_task *t, uint64_t b, uint64_t e) {
  int64_t *out = sharc_task_array(t, 0);
  size_t len;
  const int64_t *add = sharc_task_args(t, &len);
  for (uint64_t i = b; i < e; i++)
    out[i] = 3 * (int64_t)i + (len ? add[0] : 0);
  return 0;
}
SHARC_KERNEL(affine)

static int die_at(const sharc_task *t, uint64_t b, uint64_t e) {
  size_t len;
  const int64_t *a = sharc_task_args(t, &len);
  for (uint64_t i = b; i < e; i++) {
    if ((int64_t)i == a[0]) {
      if (a[1] == SIGABRT)
        abort();
      raise((int)a[1]);
    }
  }
  return 0;
}
SHARC_KERNEL(die_at)

static int fail_at(const sharc_task *t, uint64_t b, uint64_t e) {
  (void)t;
  return (b <= 700 && 700 < e) ? -EIO : 0;
}
SHARC_KERNEL(fail_at)

static int nothing(const sharc_task *t, uint64_t b, uint64_t e) {
  (void)t, (void)b, (void)e;
  return 0;
}
SHARC_KERNEL(nothing)

static int pid_in_pool(sharc_pool *p, int pid) {
  for (unsigned w = 0; w < sharc_pool_size(p); w++)
    if (sharc_pool_worker_pid(p, w) == pid)
      return 1;
  return 0;
}

Test(pool, same_workers_serve_two_jobs_in_a_row) {
  sharc_pool *p = test_pool(3);
  int before[3];
  for (unsigned w = 0; w < 3; w++)
    before[w] = sharc_pool_worker_pid(p, w);
  uint64_t n = 3000, shape[1] = {n};
  sharc_array *a;
  cr_assert_eq(sharc_array_create(p, SHARC_I32, 1, shape, NULL, &a), 0);
  sharc_job_opts o = SHARC_JOB_OPTS_INIT;
  o.arrays = (sharc_array *[]){a};
  o.narrays = 1;
  o.schedule = (sharc_schedule){SHARC_SCHED_STATIC, 0};
  for (int job = 0; job < 2; job++) {
    memset(sharc_array_data(a), 0, n * 4);
    cr_assert_eq(sharc_run(p, "write_pid", n, &o, NULL), 0, "%s",
                 sharc_pool_errmsg(p));
    const int32_t *out = sharc_array_data(a);
    for (uint64_t i = 0; i < n; i++)
      cr_assert(pid_in_pool(p, out[i]), "index %llu done by pid %d",
                (unsigned long long)i, out[i]);
    /* static: block w belongs to worker w */
    for (unsigned w = 0; w < 3; w++)
      cr_assert_eq(out[w * 1000], before[w]);
  }
  for (unsigned w = 0; w < 3; w++)
    cr_assert_eq(sharc_pool_worker_pid(p, w), before[w]);
  sharc_pool_destroy(p);
}

static void read_cpus_allowed(int pid, char *buf, size_t len) {
  char path[64], line[256];
  snprintf(path, sizeof path, "/proc/%d/status", pid);
  FILE *f = fopen(path, "r");
  cr_assert_not_null(f);
  buf[0] = '\0';
  while (fgets(line, sizeof line, f) != NULL) {
    if (sscanf(line, "Cpus_allowed_list: %63s", buf) == 1)
      break;
  }
  fclose(f);
  (void)len;
}

Test(pool, each_worker_is_pinned_to_its_planned_pu) {
  for (unsigned nw = 1; nw <= 4; nw++) {
    sharc_pool *p = test_pool(nw);
    const sharc_plan *plan = sharc_pool_plan(p);
    cr_assert_eq(plan->nworkers, nw);
    for (unsigned w = 0; w < nw; w++) {
      char allowed[64], want[16];
      read_cpus_allowed(sharc_pool_worker_pid(p, w), allowed, sizeof allowed);
      snprintf(want, sizeof want, "%d", plan->w[w].pu);
      cr_assert_str_eq(allowed, want, "worker %u", w);
    }
    sharc_pool_destroy(p);
  }
}

Test(pool, arrays_made_after_start_reach_running_workers) {
  sharc_pool *p = test_pool(2);
  uint64_t n = 10000, shape[1] = {n};
  int before0 = sharc_pool_worker_pid(p, 0);
  /* Warm the workers first, so the arrays below cannot be inherited. */
  cr_assert_eq(sharc_run(p, "nothing", 100, NULL, NULL), 0);
  for (int round = 0; round < 3; round++) {
    sharc_array *a;
    cr_assert_eq(sharc_array_create(p, SHARC_I64, 1, shape, NULL, &a), 0);
    sharc_job_opts o = SHARC_JOB_OPTS_INIT;
    o.arrays = (sharc_array *[]){a};
    o.narrays = 1;
    int64_t add = 7 * round;
    o.args = &add;
    o.args_len = sizeof add;
    o.schedule = (sharc_schedule){SHARC_SCHED_DYNAMIC, 64};
    cr_assert_eq(sharc_run(p, "affine", n, &o, NULL), 0, "%s",
                 sharc_pool_errmsg(p));
    const int64_t *out = sharc_array_data(a);
    for (uint64_t i = 0; i < n; i++)
      cr_assert_eq(out[i], 3 * (int64_t)i + add, "round %d index %llu", round,
                   (unsigned long long)i);
    sharc_array_destroy(a);
  }
  cr_assert_eq(sharc_pool_worker_pid(p, 0), before0, "no worker restarted");
  sharc_pool_destroy(p);
}

Test(pool, dynamic_k_makes_ceil_n_over_k_chunks) {
  sharc_pool *p = test_pool(3);
  const uint64_t ns[] = {0, 1, 999, 1000, 1001, 12345};
  const uint64_t ks[] = {1, 7, 1000};
  for (size_t i = 0; i < sizeof ns / sizeof ns[0]; i++) {
    for (size_t j = 0; j < sizeof ks / sizeof ks[0]; j++) {
      sharc_job_opts o = SHARC_JOB_OPTS_INIT;
      o.schedule = (sharc_schedule){SHARC_SCHED_DYNAMIC, ks[j]};
      sharc_report rep = SHARC_REPORT_INIT;
      cr_assert_eq(sharc_run(p, "nothing", ns[i], &o, &rep), 0);
      uint64_t chunks = 0, indices = 0;
      for (unsigned w = 0; w < rep.nworkers; w++) {
        chunks += rep.workers[w].chunks;
        indices += rep.workers[w].indices;
      }
      cr_assert_eq(indices, ns[i]);
      cr_assert_eq(rep.indices, ns[i]);
      cr_assert_eq(chunks, (ns[i] + ks[j] - 1) / ks[j], "n=%llu k=%llu",
                   (unsigned long long)ns[i], (unsigned long long)ks[j]);
      cr_assert_eq(rep.chunks, chunks);
      sharc_report_free(&rep);
    }
  }
  sharc_pool_destroy(p);
}

Test(pool, static_makes_one_block_per_worker) {
  sharc_pool *p = test_pool(4);
  sharc_job_opts o = SHARC_JOB_OPTS_INIT;
  o.schedule = (sharc_schedule){SHARC_SCHED_STATIC, 0};
  sharc_report rep = SHARC_REPORT_INIT;
  cr_assert_eq(sharc_run(p, "nothing", 10, &o, &rep), 0);
  const uint64_t want[4] = {3, 3, 2, 2};
  for (unsigned w = 0; w < 4; w++) {
    cr_assert_eq(rep.workers[w].indices, want[w]);
    cr_assert_eq(rep.workers[w].chunks, 1);
  }
  sharc_report_free(&rep);
  sharc_pool_destroy(p);
}

static void expect_death(sharc_pool *p, int sig, const char *sigtext) {
  int64_t args[2] = {550, sig};
  sharc_job_opts o = SHARC_JOB_OPTS_INIT;
  o.args = args;
  o.args_len = sizeof args;
  o.schedule = (sharc_schedule){SHARC_SCHED_DYNAMIC, 100};
  sharc_report rep = SHARC_REPORT_INIT;
  int rc = sharc_run(p, "die_at", 2000, &o, &rep);
  cr_assert_eq(rc, SHARC_EWORKER, "rc %d", rc);
  const char *msg = sharc_pool_errmsg(p);
  cr_assert(strstr(msg, sigtext) != NULL, "message: %s", msg);
  cr_assert(strstr(msg, "[500, 600)") != NULL, "message: %s", msg);
  cr_assert(strstr(msg, "worker ") != NULL, "message: %s", msg);
  cr_assert_eq(rep.status, SHARC_EWORKER);
  cr_assert_str_eq(rep.error, msg);
  sharc_report_free(&rep);
}

Test(pool, a_dying_worker_fails_the_job_naming_it_and_is_replaced) {
  sharc_pool *p = test_pool(2);
  int pids[2] = {sharc_pool_worker_pid(p, 0), sharc_pool_worker_pid(p, 1)};
  expect_death(p, SIGKILL, "signal 9");
  expect_death(p, SIGABRT, "signal 6");
  int replaced = 0;
  for (unsigned w = 0; w < 2; w++) {
    int pid = sharc_pool_worker_pid(p, w);
    cr_assert_gt(pid, 0);
    replaced += pid != pids[w];
  }
  cr_assert_geq(replaced, 1);
  /* The pool is whole again: a job after the deaths succeeds. */
  sharc_report rep = SHARC_REPORT_INIT;
  cr_assert_eq(sharc_run(p, "nothing", 5000, NULL, &rep), 0, "%s",
               sharc_pool_errmsg(p));
  cr_assert_eq(rep.indices, 5000);
  sharc_report_free(&rep);
  sharc_pool_destroy(p);
}

Test(pool, kernel_errors_and_unknown_kernels_are_reported) {
  sharc_pool *p = test_pool(2);
  sharc_job_opts o = SHARC_JOB_OPTS_INIT;
  o.schedule = (sharc_schedule){SHARC_SCHED_DYNAMIC, 100};
  cr_assert_eq(sharc_run(p, "fail_at", 1000, &o, NULL), SHARC_EKERNEL);
  const char *msg = sharc_pool_errmsg(p);
  cr_assert(strstr(msg, "[700, 800)") != NULL, "message: %s", msg);
  cr_assert(strstr(msg, "returned -5") != NULL, "message: %s", msg);
  cr_assert_eq(sharc_run(p, "no_such_kernel", 10, NULL, NULL), SHARC_ENOKERNEL);
  cr_assert(strstr(sharc_pool_errmsg(p), "no_such_kernel") != NULL);
  cr_assert_eq(sharc_run(p, "nothing", 10, NULL, NULL), 0);
  sharc_pool_destroy(p);
}

/* The start methods themselves are tested in test_start.c. */
Test(pool, an_unknown_start_method_is_refused) {
  sharc_pool_opts o = SHARC_POOL_OPTS_INIT;
  o.start = (sharc_start_method)7;
  sharc_pool *p = (sharc_pool *)1;
  char msg[256];
  cr_assert_eq(sharc_pool_create(&p, &o, msg, sizeof msg), SHARC_EINVAL);
  cr_assert_null(p);
  cr_assert(strstr(msg, "unknown start method 7") != NULL, "%s", msg);
}

static unsigned count_shm(void) {
  DIR *d = opendir("/dev/shm");
  unsigned n = 0;
  struct dirent *e;
  while (d != NULL && (e = readdir(d)) != NULL)
    n += strncmp(e->d_name, "sharc-", 6) == 0;
  if (d != NULL)
    closedir(d);
  return n;
}

Test(pool, destroy_leaves_no_worker_and_no_object) {
  unsigned shm_before = count_shm();
  sharc_pool *p = test_pool(3);
  uint64_t shape[1] = {1 << 20};
  sharc_array *a;
  cr_assert_eq(sharc_array_create(p, SHARC_F64, 1, shape, NULL, &a), 0);
  cr_assert_eq(sharc_run(p, "nothing", 100, NULL, NULL), 0);
  int pids[3];
  for (unsigned w = 0; w < 3; w++)
    pids[w] = sharc_pool_worker_pid(p, w);
  sharc_pool_destroy(p);
  for (unsigned w = 0; w < 3; w++)
    cr_assert(test_pid_gone(pids[w]), "worker pid %d survived", pids[w]);
  cr_assert_eq(count_shm(), shm_before);
}

/* The coordinator dies by SIGKILL: its workers must follow within 1 s. */
Test(pool, workers_die_within_a_second_of_a_killed_coordinator) {
  prctl(PR_SET_CHILD_SUBREAPER, 1);
  int fds[2];
  cr_assert_eq(pipe(fds), 0);
  pid_t coord = fork();
  if (coord == 0) {
    close(fds[0]);
    sharc_pool *p = test_pool(3);
    int pids[3];
    for (unsigned w = 0; w < 3; w++)
      pids[w] = sharc_pool_worker_pid(p, w);
    if (write(fds[1], pids, sizeof pids) != sizeof pids)
      _exit(1);
    for (;;)
      pause();
  }
  close(fds[1]);
  int pids[3];
  cr_assert_eq(read(fds[0], pids, sizeof pids), (ssize_t)sizeof pids);
  kill(coord, SIGKILL);
  waitpid(coord, NULL, 0);
  int gone = 0;
  for (int tries = 0; tries < 100 && !gone; tries++) {
    usleep(10000);
    while (waitpid(-1, NULL, WNOHANG) > 0) {
    }
    gone = 1;
    for (unsigned w = 0; w < 3; w++)
      gone &= test_pid_gone(pids[w]);
  }
  cr_assert(gone, "workers still alive 1 s after the coordinator died");
}

Test(pool, idle_workers_sleep) {
  sharc_pool *p = test_pool(2);
  cr_assert_eq(sharc_run(p, "nothing", 100, NULL, NULL), 0);
  usleep(100000); /* past the spin phase */
  unsigned long long t0[2], t1[2];
  for (int pass = 0; pass < 2; pass++) {
    for (unsigned w = 0; w < 2; w++) {
      char path[64];
      snprintf(path, sizeof path, "/proc/%d/stat", sharc_pool_worker_pid(p, w));
      FILE *f = fopen(path, "r");
      cr_assert_not_null(f);
      unsigned long long ut, st;
      cr_assert_eq(fscanf(f, "%*d %*s %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u "
                             "%*u %llu %llu", &ut, &st), 2);
      fclose(f);
      (pass ? t1 : t0)[w] = ut + st;
    }
    if (pass == 0)
      sleep(1);
  }
  /* 1% of one second is one clock tick (100 Hz): allow no more. */
  for (unsigned w = 0; w < 2; w++)
    cr_assert_leq(t1[w] - t0[w], 1, "worker %u used %llu ticks while idle", w,
                  t1[w] - t0[w]);
  sharc_pool_destroy(p);
}

Test(pool, workers_do_not_hold_the_coordinators_descriptors) {
  int fd = open("/proc/self/exe", O_RDONLY); /* inheritable on purpose */
  cr_assert_geq(fd, 0);
  sharc_pool *p = test_pool(2);
  for (unsigned w = 0; w < 2; w++) {
    char dir[64];
    snprintf(dir, sizeof dir, "/proc/%d/fd", sharc_pool_worker_pid(p, w));
    DIR *d = opendir(dir);
    cr_assert_not_null(d);
    struct dirent *e;
    unsigned count = 0;
    while ((e = readdir(d)) != NULL) {
      if (e->d_name[0] == '.')
        continue;
      int num = atoi(e->d_name);
      count++;
      cr_assert(num != fd || fd <= 2, "worker %u holds fd %d", w, fd);
    }
    closedir(d);
    /* stdin/out/err, its socket, the eventfd, two /proc files */
    cr_assert_leq(count, 7, "worker %u has %u descriptors", w, count);
  }
  sharc_pool_destroy(p);
  close(fd);
}

/* Every schedule, every worker count from 1 to 8 (oversubscribed on small
 * machines), and index counts around the worker count: the output equals
 * the sequential loop's exactly. */
Test(pool, every_schedule_and_worker_count_matches_the_sequential_loop) {
  const char *scheds[] = {"static", "static:3", "dynamic", "dynamic:7",
                          "guided", "guided:4", "auto",      "auto:5",
                          "fac2",   "fac2:3",   "wf",        "wf:2"};
  const uint64_t ns[] = {0, 1, 5, 1003};
  uint64_t shape[1] = {1003};
  int64_t want[1003];
  for (int64_t i = 0; i < 1003; i++)
    want[i] = 3 * i + 11;
  for (unsigned nw = 1; nw <= 8; nw++) {
    sharc_pool *p = test_pool(nw);
    sharc_array *a;
    cr_assert_eq(sharc_array_create(p, SHARC_I64, 1, shape, NULL, &a), 0);
    int64_t add = 11;
    for (size_t s = 0; s < sizeof scheds / sizeof scheds[0]; s++) {
      for (size_t k = 0; k < sizeof ns / sizeof ns[0]; k++) {
        sharc_job_opts o = SHARC_JOB_OPTS_INIT;
        o.arrays = (sharc_array *[]){a};
        o.narrays = 1;
        o.args = &add;
        o.args_len = sizeof add;
        cr_assert_eq(sharc_schedule_parse(scheds[s], &o.schedule), 0);
        memset(sharc_array_data(a), 0xff, sizeof want);
        sharc_report rep = SHARC_REPORT_INIT;
        cr_assert_eq(sharc_run(p, "affine", ns[k], &o, &rep), 0, "%s",
                     sharc_pool_errmsg(p));
        cr_assert_eq(rep.indices, ns[k]);
        const int64_t *out = sharc_array_data(a);
        cr_assert_eq(memcmp(out, want, ns[k] * sizeof *out), 0,
                     "W=%u %s n=%llu", nw, scheds[s],
                     (unsigned long long)ns[k]);
        /* and nothing beyond n was touched */
        for (uint64_t i = ns[k]; i < 1003; i++)
          cr_assert_eq(out[i], -1);
        sharc_report_free(&rep);
      }
    }
    sharc_pool_destroy(p);
  }
}

/* out[i] = 1 if index i came in a chunk whose bounds are multiples of the
 * grain (args[0]) or end at n; 2 otherwise. */
static int mark_grain(const sharc_task *t, uint64_t b, uint64_t e) {
  uint8_t *out = sharc_task_array(t, 0);
  size_t len;
  const uint64_t *g = sharc_task_args(t, &len);
  int aligned = b % g[0] == 0 && (e % g[0] == 0 || e == sharc_task_n(t));
  for (uint64_t i = b; i < e; i++)
    out[i] += aligned ? 1 : 2;
  return 0;
}
SHARC_KERNEL(mark_grain)

/* With a grain, every schedule cuts only at multiples of it, and still
 * does every index once, also when n is not a multiple. */
Test(pool, chunks_fall_on_grain_boundaries_under_every_schedule) {
  const char *scheds[] = {"static", "static:3", "dynamic", "dynamic:2",
                          "guided", "guided:5", "auto",      "fac2",
                          "wf"};
  const uint64_t grains[] = {1, 7, 64, 5000};
  uint64_t n = 4099, shape[1] = {n};
  for (unsigned nw = 1; nw <= 3; nw++) {
    sharc_pool *p = test_pool(nw);
    sharc_array *a;
    cr_assert_eq(sharc_array_create(p, SHARC_U8, 1, shape, NULL, &a), 0);
    for (size_t s = 0; s < sizeof scheds / sizeof scheds[0]; s++) {
      for (size_t k = 0; k < sizeof grains / sizeof grains[0]; k++) {
        sharc_job_opts o = SHARC_JOB_OPTS_INIT;
        o.arrays = (sharc_array *[]){a};
        o.narrays = 1;
        o.grain = grains[k];
        o.args = &grains[k];
        o.args_len = sizeof grains[k];
        cr_assert_eq(sharc_schedule_parse(scheds[s], &o.schedule), 0);
        memset(sharc_array_data(a), 0, n);
        cr_assert_eq(sharc_run(p, "mark_grain", n, &o, NULL), 0, "%s",
                     sharc_pool_errmsg(p));
        const uint8_t *out = sharc_array_data(a);
        for (uint64_t i = 0; i < n; i++)
          cr_assert_eq(out[i], 1, "W=%u %s grain %llu: index %llu marked %d",
                       nw, scheds[s], (unsigned long long)grains[k],
                       (unsigned long long)i, out[i]);
      }
    }
    sharc_pool_destroy(p);
  }
}

Test(pool, options_of_another_size_are_refused_by_name) {
  sharc_pool_opts o = SHARC_POOL_OPTS_INIT;
  o.workers = 1;
  o.size = sizeof o + 8; /* as a program built against newer headers */
  sharc_pool *p = NULL;
  char msg[256];
  cr_assert_eq(sharc_pool_create(&p, &o, msg, sizeof msg), SHARC_EINVAL);
  cr_assert_null(p);
  cr_assert(strstr(msg, "size field") != NULL, "%s", msg);
  o.size = sizeof o;
  cr_assert_eq(sharc_pool_create(&p, &o, msg, sizeof msg), 0, "%s", msg);
  sharc_pool_destroy(p);
}
