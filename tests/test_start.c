/* Start methods: workers forked from the coordinator, from the fork server
 * (sharc_init), or spawned as sharc-worker processes run the same jobs:
 * arrays made before and after a worker started, reductions, a worker
 * killed and replaced, from a host running threads and OpenMP; unknown
 * kernels are named with where they were looked for; a destroyed pool
 * leaves no process and nothing in /dev/shm.
 *
 * Built twice: as the test, and (SHARC_TEST_KERNELS_ONLY) as the module
 * test_start_kernels.so that spawned workers load. */
#include <fcntl.h>
#include <sharc.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

/* a[i] = i * 3 + 1 (array 0, u64) */
static int start_fill(const sharc_task *t, uint64_t b, uint64_t e) {
  uint64_t *a = sharc_task_array(t, 0);
  for (uint64_t i = b; i < e; i++)
    a[i] = i * 3 + 1;
  return 0;
}
SHARC_KERNEL(start_fill)

/* out[i] = in[i] + i (array 0 in, array 1 out) */
static int start_add(const sharc_task *t, uint64_t b, uint64_t e) {
  const uint64_t *in = sharc_task_array(t, 0);
  uint64_t *out = sharc_task_array(t, 1);
  for (uint64_t i = b; i < e; i++)
    out[i] = in[i] + i;
  return 0;
}
SHARC_KERNEL(start_add)

/* Sums i; the first worker to reach index 5000 with the flag (array 0)
 * clear is killed with SIGKILL. */
static int start_sum(const sharc_task *t, uint64_t b, uint64_t e) {
  _Atomic uint32_t *flag = sharc_task_array(t, 0);
  for (uint64_t i = b; i < e; i++) {
    if (i == 5000 && atomic_exchange(flag, 1) == 0)
      raise(SIGKILL);
    sharc_task_sum(t, 0, i, (double)i);
  }
  return 0;
}
SHARC_KERNEL(start_sum)

/* What the init hook stored, into array 0 (i64) at the worker's id. */
static int start_local(const sharc_task *t, uint64_t b, uint64_t e) {
  int64_t *a = sharc_task_array(t, 0);
  for (uint64_t i = b; i < e; i++)
    a[i] = (int64_t)(intptr_t)sharc_task_local(t);
  return 0;
}
SHARC_KERNEL(start_local)

/* A hook only the module has: loaded after sharc_init(), the fork server
 * cannot call it. */
__attribute__((visibility("default"))) int
start_module_init(unsigned w, void **local, void *arg) {
  (void)w, (void)arg;
  *local = NULL;
  return 0;
}

/* Hooks by name: spawned workers find them in this module; a fork pool
 * finds them once the module is loaded RTLD_GLOBAL (the test executable
 * does not export its own copies). init stores 200 + the worker's id, plus
 * 1000 when given an arg; fini leaves a file fini-<id>-<local> in
 * $SHARC_TEST_FINI_DIR, which reaches spawned workers with the
 * environment. */
__attribute__((visibility("default"))) int
start_named_init(unsigned w, void **local, void *arg) {
  *local = (void *)(intptr_t)(200 + w + (arg != NULL ? 1000 : 0));
  return 0;
}

__attribute__((visibility("default"))) void
start_named_fini(unsigned w, void *local, void *arg) {
  (void)arg;
  const char *dir = getenv("SHARC_TEST_FINI_DIR");
  char path[512];
  if (dir == NULL)
    return;
  snprintf(path, sizeof path, "%s/fini-%u-%ld", dir, w, (long)(intptr_t)local);
  int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd >= 0)
    close(fd);
}

#ifndef SHARC_TEST_KERNELS_ONLY
#include <dirent.h>
#include <dlfcn.h>
#include <poll.h>
#include <pthread.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#ifdef SHARC_TEST_OPENMP
#include <omp.h>
#endif

#include "helpers.h"

#define MODULE SHARC_TEST_BINARY_DIR "/test_start_kernels.so"

static const char *method_name(sharc_start_method m) {
  return m == SHARC_START_FORK         ? "fork"
         : m == SHARC_START_FORKSERVER ? "forkserver"
                                       : "spawn";
}

static sharc_pool *start_pool(sharc_start_method m, unsigned w) {
  sharc_pool_opts o = SHARC_POOL_OPTS_INIT;
  o.workers = w;
  o.start = m;
  o.kernel_libs = MODULE;
  sharc_pool *p = NULL;
  char msg[512];
  int rc = sharc_pool_create(&p, &o, msg, sizeof msg);
  cr_assert_eq(rc, 0, "%s: sharc_pool_create(%u): %s (%s)", method_name(m), w,
               sharc_strerror(rc), msg);
  return p;
}

static sharc_array *u64_array(sharc_pool *p, uint64_t n) {
  sharc_array *a;
  uint64_t shape[1] = {n};
  cr_assert_eq(sharc_array_create(p, SHARC_U64, 1, shape, NULL, &a), 0);
  return a;
}

static void run_ok(sharc_pool *p, const char *k, uint64_t n, sharc_job_opts *o,
                   sharc_report *rep) {
  int rc = sharc_run(p, k, n, o, rep);
  cr_assert_eq(rc, 0, "%s: %s (%s)", k, sharc_strerror(rc),
               sharc_pool_errmsg(p));
}

/* Fills an array made before the job, kills worker 0 between jobs, then
 * adds into an array made after its replacement started; sums under a
 * policy while a worker kills itself mid-job. */
static void jobs_run(sharc_start_method m) {
  const uint64_t n = 100000;
  sharc_pool *p = start_pool(m, 2);
  sharc_array *a = u64_array(p, n);
  sharc_job_opts o = SHARC_JOB_OPTS_INIT;
  o.arrays = (sharc_array *[]){a};
  o.narrays = 1;
  sharc_report rep = SHARC_REPORT_INIT;
  run_ok(p, "start_fill", n, &o, &rep);
  sharc_report_free(&rep);
  const uint64_t *av = sharc_array_data(a);
  for (uint64_t i = 0; i < n; i++)
    cr_assert_eq(av[i], i * 3 + 1, "%s: a[%llu]", method_name(m),
                 (unsigned long long)i);

  /* kill -9 between jobs: the next job sees it dead and replaces it; the
   * replacement receives array a as it starts */
  int old = sharc_pool_worker_pid(p, 0);
  cr_assert_eq(kill(old, SIGKILL), 0);
  sharc_array *b = u64_array(p, n);
  sharc_job_opts o2 = SHARC_JOB_OPTS_INIT;
  o2.arrays = (sharc_array *[]){a, b};
  o2.narrays = 2;
  o2.fault.retries = 1;
  run_ok(p, "start_add", n, &o2, &rep);
  sharc_report_free(&rep);
  cr_assert_neq(sharc_pool_worker_pid(p, 0), old, "%s: worker 0 replaced",
                method_name(m));
  const uint64_t *bv = sharc_array_data(b);
  for (uint64_t i = 0; i < n; i++)
    cr_assert_eq(bv[i], i * 4 + 1, "%s: b[%llu]", method_name(m),
                 (unsigned long long)i);

  /* a worker killed in the middle of a reduction: retried, exact sum */
  uint64_t one[1] = {1};
  sharc_array *flag;
  cr_assert_eq(sharc_array_create(p, SHARC_U32, 1, one, NULL, &flag), 0);
  sharc_job_opts o3 = SHARC_JOB_OPTS_INIT;
  o3.arrays = (sharc_array *[]){flag};
  o3.narrays = 1;
  o3.fault.retries = 1;
  sharc_reduce_spec spec = SHARC_REDUCE_SPEC_INIT(SHARC_REDUCE_SUM);
  sharc_reduce_result res;
  o3.reduce = &spec;
  o3.reduce_out = &res;
  o3.nreduce = 1;
  run_ok(p, "start_sum", n, &o3, &rep);
  cr_assert_eq(rep.deaths, 1u, "%s: one death", method_name(m));
  sharc_report_free(&rep);
  cr_assert_eq(res.sum, (double)n * (double)(n - 1) / 2, "%s: sum %.17g",
               method_name(m), res.sum);
  sharc_pool_destroy(p);
}

Test(start, fork_runs_jobs_arrays_reductions_and_replaces_a_killed_worker) {
  jobs_run(SHARC_START_FORK);
}

Test(start,
     forkserver_runs_jobs_arrays_reductions_and_replaces_a_killed_worker) {
  cr_assert_eq(sharc_init(), 0);
  jobs_run(SHARC_START_FORKSERVER);
}

Test(start, forkserver_started_lazily_by_the_first_pool_runs_jobs) {
  jobs_run(SHARC_START_FORKSERVER);
}

Test(start, spawn_runs_jobs_arrays_reductions_and_replaces_a_killed_worker) {
  jobs_run(SHARC_START_SPAWN);
}

/* --- nothing left behind ------------------------------------------------- */

/* Entries of /dev/shm naming this process (named objects carry the
 * creator's pid). */
static unsigned shm_of_mine(void) {
  char pid[32];
  snprintf(pid, sizeof pid, "%d", (int)getpid());
  DIR *d = opendir("/dev/shm");
  unsigned n = 0;
  struct dirent *e;
  while (d != NULL && (e = readdir(d)) != NULL)
    n += strstr(e->d_name, pid) != NULL;
  if (d != NULL)
    closedir(d);
  return n;
}

static void destroy_leaves_nothing(sharc_start_method m) {
  unsigned shm0 = shm_of_mine();
  sharc_pool *p = start_pool(m, 3);
  sharc_array *a = u64_array(p, 1000);
  sharc_job_opts o = SHARC_JOB_OPTS_INIT;
  o.arrays = (sharc_array *[]){a};
  o.narrays = 1;
  sharc_report rep = SHARC_REPORT_INIT;
  run_ok(p, "start_fill", 1000, &o, &rep);
  sharc_report_free(&rep);
  int pids[3];
  for (unsigned w = 0; w < 3; w++)
    pids[w] = sharc_pool_worker_pid(p, w);
  sharc_pool_destroy(p);
  for (unsigned w = 0; w < 3; w++)
    cr_assert(test_pid_gone(pids[w]) && kill(pids[w], 0) != 0,
              "%s: worker %u (pid %d) is still there (or a zombie)",
              method_name(m), w, pids[w]);
  cr_assert_eq(shm_of_mine(), shm0, "%s: /dev/shm", method_name(m));
}

Test(start, fork_pool_destroy_leaves_no_process_and_nothing_in_dev_shm) {
  destroy_leaves_nothing(SHARC_START_FORK);
}

Test(start, forkserver_pool_destroy_leaves_no_process_and_nothing_in_dev_shm) {
  cr_assert_eq(sharc_init(), 0);
  destroy_leaves_nothing(SHARC_START_FORKSERVER);
}

/* CPU time (utime + stime, in clock ticks) of this process's only child,
 * the fork server once its pools are gone; its pid in *pid. */
static uint64_t child_cpu_ticks(pid_t *pid) {
  DIR *d = opendir("/proc");
  cr_assert_not_null(d);
  struct dirent *e;
  uint64_t ticks = 0;
  unsigned found = 0;
  while ((e = readdir(d)) != NULL) {
    if (e->d_name[0] < '0' || e->d_name[0] > '9')
      continue;
    char path[300], buf[1024];
    snprintf(path, sizeof path, "/proc/%s/stat", e->d_name);
    FILE *f = fopen(path, "r");
    if (f == NULL)
      continue;
    size_t got = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[got] = '\0';
    const char *rest = strrchr(buf, ')'); /* the name may hold spaces */
    int ppid;
    unsigned long long ut, st;
    if (rest == NULL ||
        sscanf(rest + 2, "%*c %d %*s %*s %*s %*s %*s %*s %*s %*s %*s %llu %llu",
               &ppid, &ut, &st) != 3 ||
        ppid != getpid())
      continue;
    *pid = (pid_t)atoi(e->d_name);
    ticks = ut + st;
    found++;
  }
  closedir(d);
  cr_assert_eq(found, 1, "%u children of the test process, expected the "
               "fork server alone", found);
  return ticks;
}

static uint64_t own_cpu_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* A destroyed pool closes its connection to the fork server; the server
 * must then go back to sleeping in poll, not poll the hung-up socket in a
 * loop that takes a PU for the rest of the program (it did). Its CPU time
 * is read before and after this process spends 300 ms of CPU of its own:
 * a server spinning beside it gets a large share of that time even on a
 * busy machine, a sleeping one none. */
Test(start, forkserver_sleeps_once_its_pools_are_destroyed) {
  cr_assert_eq(sharc_init(), 0);
  destroy_leaves_nothing(SHARC_START_FORKSERVER);
  destroy_leaves_nothing(SHARC_START_FORKSERVER);
  pid_t srv = -1;
  uint64_t before = child_cpu_ticks(&srv);
  /* reading the process's CPU clock is a system call: the loop burns */
  for (uint64_t t0 = own_cpu_ns(); own_cpu_ns() - t0 < 300000000u;) {
  }
  pid_t again = -1;
  uint64_t after = child_cpu_ticks(&again);
  cr_assert_eq(again, srv);
  cr_assert_leq(after - before, 2,
                "the fork server (pid %d) used %llu clock ticks of CPU "
                "while idle", (int)srv, (unsigned long long)(after - before));
}

Test(start, spawn_pool_destroy_leaves_no_process_and_nothing_in_dev_shm) {
  destroy_leaves_nothing(SHARC_START_SPAWN);
}

/* --- workers die with the coordinator ----------------------------------- */

/* A forked coordinator starts a pool and is killed with SIGKILL: its
 * workers (the fork server's children, or spawned) end too. Waited for on
 * pidfds, which work for any process; as a subreaper the test reaps them. */
static void die_with_coordinator(sharc_start_method m) {
  prctl(PR_SET_CHILD_SUBREAPER, 1);
  int fds[2];
  cr_assert_eq(pipe(fds), 0);
  pid_t coord = fork();
  if (coord == 0) {
    close(fds[0]);
    if (m == SHARC_START_FORKSERVER && sharc_init() != 0)
      _exit(1);
    sharc_pool *p = start_pool(m, 2);
    int pids[2] = {sharc_pool_worker_pid(p, 0), sharc_pool_worker_pid(p, 1)};
    if (write(fds[1], pids, sizeof pids) != sizeof pids)
      _exit(1);
    for (;;)
      pause();
  }
  close(fds[1]);
  int pids[2];
  cr_assert_eq(read(fds[0], pids, sizeof pids), (ssize_t)sizeof pids);
  int pfd[2];
  for (int i = 0; i < 2; i++) {
    pfd[i] = (int)syscall(SYS_pidfd_open, pids[i], 0);
    cr_assert_geq(pfd[i], 0);
  }
  kill(coord, SIGKILL);
  waitpid(coord, NULL, 0);
  for (int i = 0; i < 2; i++) {
    struct pollfd p = {pfd[i], POLLIN, 0};
    cr_assert_eq(poll(&p, 1, 5000), 1,
                 "%s: worker %d still runs 5 s after its coordinator died",
                 method_name(m), pids[i]);
    close(pfd[i]);
  }
  while (waitpid(-1, NULL, WNOHANG) > 0) {
  }
}

Test(start, forkserver_workers_die_with_a_killed_coordinator) {
  die_with_coordinator(SHARC_START_FORKSERVER);
}

Test(start, spawned_workers_die_with_a_killed_coordinator) {
  die_with_coordinator(SHARC_START_SPAWN);
}

/* --- a multithreaded host ------------------------------------------------ */

static atomic_int stop_threads;

static void *busy_thread(void *arg) {
  (void)arg;
  while (!atomic_load(&stop_threads))
    sched_yield();
  return NULL;
}

/* Threads running (and an OpenMP runtime with its pool of threads, where
 * the build has OpenMP) while pools start and run. */
static void threaded_host(sharc_start_method m) {
  pthread_t th[3];
  atomic_store(&stop_threads, 0);
  for (int i = 0; i < 3; i++)
    cr_assert_eq(pthread_create(&th[i], NULL, busy_thread, NULL), 0);
#ifdef SHARC_TEST_OPENMP
  int threads = 0;
#pragma omp parallel num_threads(2)
  {
#pragma omp atomic
    threads++;
  }
  cr_assert_eq(threads, 2, "OpenMP started its threads");
#endif
  jobs_run(m);
  atomic_store(&stop_threads, 1);
  for (int i = 0; i < 3; i++)
    pthread_join(th[i], NULL);
}

Test(start, forkserver_works_from_a_host_running_threads_and_openmp) {
  cr_assert_eq(sharc_init(), 0); /* before the threads, as documented */
  threaded_host(SHARC_START_FORKSERVER);
}

Test(start, spawn_works_from_a_host_running_threads_and_openmp) {
  threaded_host(SHARC_START_SPAWN);
}

/* --- kernels a start method cannot resolve -------------------------------- */

static int late_kernel(const sharc_task *t, uint64_t b, uint64_t e) {
  (void)t, (void)b, (void)e;
  return 0;
}

Test(start, forkserver_names_a_kernel_registered_after_sharc_init) {
  cr_assert_eq(sharc_init(), 0);
  cr_assert_eq(sharc_kernel_register("start_late", late_kernel), 0);
  sharc_pool *p = start_pool(SHARC_START_FORKSERVER, 1);
  sharc_job_opts o = SHARC_JOB_OPTS_INIT;
  sharc_report rep = SHARC_REPORT_INIT;
  cr_assert_eq(sharc_run(p, "start_late", 10, &o, &rep), SHARC_ENOKERNEL);
  const char *msg = sharc_pool_errmsg(p);
  cr_assert(strstr(msg, "'start_late'") && strstr(msg, "forkserver") &&
                strstr(msg, "sharc_init"),
            "%s", msg);
  cr_assert_str_eq(rep.error, msg, "the report carries the message");
  sharc_report_free(&rep);
  sharc_pool_destroy(p);
  /* the fork method knows it */
  p = start_pool(SHARC_START_FORK, 1);
  run_ok(p, "start_late", 10, &o, &rep);
  sharc_report_free(&rep);
  sharc_pool_destroy(p);
}

Test(start, spawn_names_an_unknown_kernel_and_the_libraries_searched) {
  sharc_pool *p = start_pool(SHARC_START_SPAWN, 1);
  sharc_job_opts o = SHARC_JOB_OPTS_INIT;
  sharc_report rep = SHARC_REPORT_INIT;
  cr_assert_eq(sharc_run(p, "no_such_kernel", 10, &o, &rep), SHARC_ENOKERNEL);
  const char *msg = sharc_pool_errmsg(p);
  cr_assert(strstr(msg, "'no_such_kernel'") && strstr(msg, "spawn") &&
                strstr(msg, MODULE),
            "%s", msg);
  sharc_report_free(&rep);
  sharc_pool_destroy(p);
}

Test(start, spawn_names_a_kernel_library_it_cannot_load) {
  sharc_pool_opts o = SHARC_POOL_OPTS_INIT;
  o.workers = 1;
  o.start = SHARC_START_SPAWN;
  o.kernel_libs = SHARC_TEST_BINARY_DIR "/no-such-library.so";
  sharc_pool *p = NULL;
  char msg[512];
  cr_assert_eq(sharc_pool_create(&p, &o, msg, sizeof msg), SHARC_ENOKERNEL,
               "%s", msg);
  cr_assert_null(p);
  cr_assert(strstr(msg, "no-such-library.so") != NULL, "%s", msg);
}

/* --- hooks ------------------------------------------------------------- */

static int start_init(unsigned w, void **local, void *arg) {
  *local = (void *)(intptr_t)(w + 100 + (intptr_t)arg);
  return 0;
}

Test(start, spawn_refuses_init_hooks) {
  sharc_pool_opts o = SHARC_POOL_OPTS_INIT;
  o.workers = 1;
  o.start = SHARC_START_SPAWN;
  o.init = start_init;
  sharc_pool *p = NULL;
  char msg[512];
  cr_assert_eq(sharc_pool_create(&p, &o, msg, sizeof msg), SHARC_ENOTSUP);
  cr_assert(strstr(msg, "spawn") && strstr(msg, "hook"), "%s", msg);
}

Test(start, forkserver_runs_init_hooks_known_to_the_server) {
  cr_assert_eq(sharc_init(), 0);
  sharc_pool_opts po = SHARC_POOL_OPTS_INIT;
  po.workers = 2;
  po.start = SHARC_START_FORKSERVER;
  po.init = start_init;
  po.init_arg = (void *)(intptr_t)7;
  sharc_pool *p = NULL;
  char msg[512];
  cr_assert_eq(sharc_pool_create(&p, &po, msg, sizeof msg), 0, "%s", msg);
  sharc_array *a;
  uint64_t shape[1] = {2};
  cr_assert_eq(sharc_array_create(p, SHARC_I64, 1, shape, NULL, &a), 0);
  sharc_job_opts o = SHARC_JOB_OPTS_INIT;
  o.arrays = (sharc_array *[]){a};
  o.narrays = 1;
  o.schedule = (sharc_schedule){SHARC_SCHED_STATIC, 1};
  sharc_report rep = SHARC_REPORT_INIT;
  run_ok(p, "start_local", 2, &o, &rep);
  sharc_report_free(&rep);
  const int64_t *v = sharc_array_data(a);
  cr_assert(v[0] >= 107 && v[0] <= 108 && v[1] >= 107 && v[1] <= 108,
            "%lld %lld", (long long)v[0], (long long)v[1]);
  sharc_pool_destroy(p);
}

Test(start, forkserver_refuses_a_hook_loaded_after_sharc_init) {
  cr_assert_eq(sharc_init(), 0);
  void *lib = dlopen(MODULE, RTLD_NOW | RTLD_LOCAL);
  cr_assert_not_null(lib, "%s", dlerror());
  sharc_pool_opts po = SHARC_POOL_OPTS_INIT;
  po.workers = 1;
  po.start = SHARC_START_FORKSERVER;
  *(void **)&po.init = dlsym(lib, "start_module_init");
  cr_assert_not_null(po.init);
  sharc_pool *p = NULL;
  char msg[512];
  cr_assert_eq(sharc_pool_create(&p, &po, msg, sizeof msg), SHARC_ENOTSUP, "%s",
               msg);
  cr_assert_null(p);
  cr_assert(strstr(msg, "hook") && strstr(msg, "sharc_init"), "%s", msg);
}

/* --- hooks by name ------------------------------------------------------ */

/* Runs start_local on a pool of 2 with one index per worker (static:1:
 * index w goes to worker w) and returns what each worker's init stored. */
static void locals_of(sharc_pool *p, int64_t out[2]) {
  sharc_array *a;
  uint64_t shape[1] = {2};
  cr_assert_eq(sharc_array_create(p, SHARC_I64, 1, shape, NULL, &a), 0);
  sharc_job_opts o = SHARC_JOB_OPTS_INIT;
  o.arrays = &a;
  o.narrays = 1;
  o.schedule = (sharc_schedule){SHARC_SCHED_STATIC, 1};
  o.fault.retries = 1; /* a worker killed before the job is replaced */
  sharc_report rep = SHARC_REPORT_INIT;
  run_ok(p, "start_local", 2, &o, &rep);
  sharc_report_free(&rep);
  memcpy(out, sharc_array_data(a), 2 * sizeof *out);
  sharc_array_destroy(a);
}

static int file_there(const char *dir, const char *name) {
  char path[512];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  int there = access(path, F_OK) == 0;
  if (there)
    unlink(path);
  return there;
}

Test(start, spawn_runs_init_and_fini_hooks_named_in_a_kernel_library_also_in_a_replacement) {
  char dir[] = "/tmp/sharc-test-fini-XXXXXX";
  cr_assert_not_null(mkdtemp(dir));
  cr_assert_eq(setenv("SHARC_TEST_FINI_DIR", dir, 1), 0);
  sharc_pool_opts po = SHARC_POOL_OPTS_INIT;
  po.workers = 2;
  po.start = SHARC_START_SPAWN;
  po.kernel_libs = MODULE;
  po.init_name = "start_named_init";
  po.fini_name = "start_named_fini";
  sharc_pool *p = NULL;
  char msg[512];
  cr_assert_eq(sharc_pool_create(&p, &po, msg, sizeof msg), 0, "%s", msg);
  int64_t v[2];
  locals_of(p, v);
  cr_assert_eq(v[0], 200, "worker 0's local: %lld", (long long)v[0]);
  cr_assert_eq(v[1], 201, "worker 1's local: %lld", (long long)v[1]);
  /* a replacement worker finds and runs the hook too (the killed one
   * runs no fini) */
  int old = sharc_pool_worker_pid(p, 0);
  cr_assert_eq(kill(old, SIGKILL), 0);
  locals_of(p, v); /* finds it dead and replaces it; who ran what varies */
  cr_assert_neq(sharc_pool_worker_pid(p, 0), old, "worker 0 replaced");
  cr_assert(v[0] >= 200 && v[0] <= 201 && v[1] >= 200 && v[1] <= 201,
            "%lld %lld", (long long)v[0], (long long)v[1]);
  locals_of(p, v);
  cr_assert_eq(v[0], 200, "replacement worker 0's local: %lld", (long long)v[0]);
  cr_assert_eq(v[1], 201, "worker 1's local: %lld", (long long)v[1]);
  sharc_pool_destroy(p); /* returns once the workers are gone */
  cr_assert(file_there(dir, "fini-0-200"), "worker 0 ran fini with its local");
  cr_assert(file_there(dir, "fini-1-201"), "worker 1 ran fini with its local");
  cr_assert_eq(rmdir(dir), 0, "nothing else in %s", dir);
}

Test(start, spawn_names_a_missing_hook_and_where_it_looked) {
  const char *which[2] = {"init", "fini"};
  for (int i = 0; i < 2; i++) {
    sharc_pool_opts po = SHARC_POOL_OPTS_INIT;
    po.workers = 2;
    po.start = SHARC_START_SPAWN;
    po.kernel_libs = MODULE;
    if (i == 0)
      po.init_name = "no_such_hook";
    else
      po.fini_name = "no_such_hook";
    sharc_pool *p = NULL;
    char msg[512];
    cr_assert_eq(sharc_pool_create(&p, &po, msg, sizeof msg), SHARC_ENOENT,
                 "%s", msg);
    cr_assert_null(p);
    char what[32];
    snprintf(what, sizeof what, "%s hook 'no_such_hook'", which[i]);
    cr_assert(strstr(msg, what) && strstr(msg, MODULE) &&
                  strstr(msg, "sharc-worker"),
              "%s", msg);
  }
}

Test(start, spawn_refuses_init_arg_with_named_hooks) {
  sharc_pool_opts po = SHARC_POOL_OPTS_INIT;
  po.workers = 1;
  po.start = SHARC_START_SPAWN;
  po.kernel_libs = MODULE;
  po.init_name = "start_named_init";
  po.init_arg = (void *)(intptr_t)1;
  sharc_pool *p = NULL;
  char msg[512];
  cr_assert_eq(sharc_pool_create(&p, &po, msg, sizeof msg), SHARC_ENOTSUP);
  cr_assert_null(p);
  cr_assert(strstr(msg, "init_arg") != NULL, "%s", msg);
}

Test(start, a_hook_given_both_as_pointer_and_by_name_is_refused) {
  sharc_pool_opts po = SHARC_POOL_OPTS_INIT;
  po.workers = 1;
  po.init = start_init;
  po.init_name = "start_named_init";
  sharc_pool *p = NULL;
  char msg[512];
  cr_assert_eq(sharc_pool_create(&p, &po, msg, sizeof msg), SHARC_EINVAL);
  cr_assert_null(p);
  cr_assert(strstr(msg, "init hook") && strstr(msg, "start_named_init"), "%s",
            msg);
}

Test(start, fork_finds_a_named_hook_in_a_global_library_and_names_a_missing_one) {
  sharc_pool_opts po = SHARC_POOL_OPTS_INIT;
  po.workers = 2;
  po.init_name = "start_named_init";
  po.init_arg = (void *)(intptr_t)1;
  sharc_pool *p = NULL;
  char msg[512];
  /* the test executable does not export its copy */
  cr_assert_eq(sharc_pool_create(&p, &po, msg, sizeof msg), SHARC_ENOENT,
               "%s", msg);
  cr_assert_null(p);
  cr_assert(strstr(msg, "init hook 'start_named_init'") &&
                strstr(msg, "-rdynamic"),
            "%s", msg);
  cr_assert_not_null(dlopen(MODULE, RTLD_NOW | RTLD_GLOBAL), "%s", dlerror());
  cr_assert_eq(sharc_pool_create(&p, &po, msg, sizeof msg), 0, "%s", msg);
  int64_t v[2];
  locals_of(p, v);
  cr_assert_eq(v[0], 1200, "worker 0's local: %lld", (long long)v[0]);
  cr_assert_eq(v[1], 1201, "worker 1's local: %lld", (long long)v[1]);
  sharc_pool_destroy(p);
}

Test(start, forkserver_runs_a_named_hook_loaded_before_sharc_init) {
  cr_assert_not_null(dlopen(MODULE, RTLD_NOW | RTLD_GLOBAL), "%s", dlerror());
  cr_assert_eq(sharc_init(), 0);
  sharc_pool_opts po = SHARC_POOL_OPTS_INIT;
  po.workers = 2;
  po.start = SHARC_START_FORKSERVER;
  po.init_name = "start_named_init";
  sharc_pool *p = NULL;
  char msg[512];
  cr_assert_eq(sharc_pool_create(&p, &po, msg, sizeof msg), 0, "%s", msg);
  int64_t v[2];
  locals_of(p, v);
  cr_assert_eq(v[0], 200, "worker 0's local: %lld", (long long)v[0]);
  cr_assert_eq(v[1], 201, "worker 1's local: %lld", (long long)v[1]);
  sharc_pool_destroy(p);
}

#endif
