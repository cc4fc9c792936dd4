/* The pool among the processes around it: a terminal's Ctrl-C reaches the
 * whole foreground process group, and programs fork children that inherit
 * the pool. Neither may cost work or wreck the coordinator's pool. */
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "helpers.h"

/* out[i] = i + 1, slowly; each chunk counts itself in array 1 (shared),
 * which the test polls as its handshake that the job runs. */
static int slow_fill(const sharc_task *t, uint64_t b, uint64_t e) {
  uint64_t *out = sharc_task_array(t, 0);
  _Atomic uint64_t *started = sharc_task_array(t, 1);
  atomic_fetch_add(started, 1);
  for (uint64_t i = b; i < e; i++) {
    volatile uint64_t x = i;
    for (int k = 0; k < 2000; k++)
      x = x * 3 + 1;
    out[i] = i + 1;
  }
  return 0;
}
SHARC_KERNEL(slow_fill)

static sharc_pool *interrupted_pool;
static void on_sigint(int sig) {
  (void)sig;
  sharc_pool_cancel(interrupted_pool); /* an atomic store and a write */
}

/* Waits until a few chunks have started, then interrupts. */
static void *interrupt_when_running(void *arg) {
  _Atomic uint64_t *started = arg;
  while (atomic_load(started) < 4) {
    struct timespec ts = {0, 1000000};
    nanosleep(&ts, NULL); /* polling the handshake word */
  }
  kill(0, SIGINT); /* as a terminal does: the whole process group */
  return NULL;
}

Test(process, ctrl_c_to_the_process_group_cancels_and_no_worker_dies,
     .timeout = 120) {
  /* A process group of our own, so that the signal reaches this process
   * and its workers only. */
  cr_assert(getpgrp() == getpid() || setpgid(0, 0) == 0,
            "no process group of its own");
  uint64_t n = 4000000, shape[1] = {n}, one[1] = {1};
  sharc_pool *p = test_pool(2);
  interrupted_pool = p;
  int pids[2] = {sharc_pool_worker_pid(p, 0), sharc_pool_worker_pid(p, 1)};
  sharc_array *out, *started;
  cr_assert_eq(sharc_array_create(p, SHARC_U64, 1, shape, NULL, &out), 0);
  cr_assert_eq(sharc_array_create(p, SHARC_U64, 1, one, NULL, &started), 0);
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_sigint;
  sigemptyset(&sa.sa_mask);
  cr_assert_eq(sigaction(SIGINT, &sa, NULL), 0);
  pthread_t th;
  cr_assert_eq(pthread_create(&th, NULL, interrupt_when_running,
                              sharc_array_data(started)),
               0);
  sharc_job_opts o = SHARC_JOB_OPTS_INIT;
  o.arrays = (sharc_array *[]){out, started};
  o.narrays = 2;
  sharc_report rep = SHARC_REPORT_INIT;
  int rc = sharc_run(p, "slow_fill", n, &o, &rep);
  pthread_join(th, NULL);
  cr_assert_eq(rc, SHARC_ECANCELED, "rc %d: %s", rc, sharc_pool_errmsg(p));
  /* The workers took no signal: the same processes, none replaced. */
  for (unsigned w = 0; w < 2; w++) {
    cr_assert_eq(sharc_pool_worker_pid(p, w), pids[w], "worker %u replaced", w);
    cr_assert(!test_pid_gone(pids[w]), "worker %u died of the interrupt", w);
  }
  cr_assert_eq(rep.deaths, 0);
  /* The partial report counts what was done, and it was. */
  const uint64_t *v = sharc_array_data(out);
  uint64_t done = 0;
  for (uint64_t i = 0; i < n; i++)
    done += v[i] == i + 1;
  cr_assert_gt(rep.indices, 0, "the report says nothing was done");
  cr_assert_leq(rep.indices, done);
  cr_assert_lt(rep.indices, n);
  sharc_report_free(&rep);
  signal(SIGINT, SIG_DFL);
  sharc_pool_destroy(p);
}

static int add_one(const sharc_task *t, uint64_t b, uint64_t e) {
  uint64_t *out = sharc_task_array(t, 0);
  for (uint64_t i = b; i < e; i++)
    out[i] += 1;
  return 0;
}
SHARC_KERNEL(add_one)

Test(process, a_forked_child_destroying_the_pool_leaves_the_parents_alone) {
  uint64_t n = 100000, shape[1] = {n};
  sharc_pool *p = test_pool(2);
  sharc_array *a;
  cr_assert_eq(sharc_array_create(p, SHARC_U64, 1, shape, NULL, &a), 0);
  sharc_job_opts o = SHARC_JOB_OPTS_INIT;
  o.arrays = (sharc_array *[]){a};
  o.narrays = 1;
  cr_assert_eq(sharc_run(p, "add_one", n, &o, NULL), 0, "%s",
               sharc_pool_errmsg(p));
  pid_t child = fork();
  cr_assert_geq(child, 0);
  if (child == 0) {
    /* What an atexit handler of the host program would do in a child;
     * a run or a cancel from here is refused. */
    int run = sharc_run(p, "add_one", n, &o, NULL);
    int cancel = sharc_pool_cancel(p);
    sharc_array_destroy(a);
    sharc_pool_destroy(p);
    _exit(run == SHARC_EINVAL && cancel == SHARC_EINVAL ? 0 : 1);
  }
  int status;
  cr_assert_eq(waitpid(child, &status, 0), child);
  cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0,
            "the child's run or cancel was not refused (status %d)", status);
  /* The parent's pool, workers and array are as they were. */
  cr_assert_eq(sharc_run(p, "add_one", n, &o, NULL), 0, "%s",
               sharc_pool_errmsg(p));
  const uint64_t *v = sharc_array_data(a);
  for (uint64_t i = 0; i < n; i++)
    cr_assert_eq(v[i], 2, "index %llu", (unsigned long long)i);
  sharc_pool_destroy(p);
}

/* SHARC_WORKERS is the worker count when the program does not choose one,
 * as OMP_NUM_THREADS is for OpenMP; a bad value is refused by name. */
Test(process, sharc_workers_applies_when_the_program_does_not_choose) {
  sharc_pool_opts o = SHARC_POOL_OPTS_INIT;
  sharc_pool *p;
  char msg[256];
  setenv("SHARC_WORKERS", "3", 1);
  cr_assert_eq(sharc_pool_create(&p, &o, msg, sizeof msg), 0, "%s", msg);
  cr_assert_eq(sharc_pool_size(p), 3);
  sharc_pool_destroy(p);
  o.workers = 2; /* the program's choice wins */
  cr_assert_eq(sharc_pool_create(&p, &o, msg, sizeof msg), 0, "%s", msg);
  cr_assert_eq(sharc_pool_size(p), 2);
  sharc_pool_destroy(p);
  const char *bad[] = {"0", "-1", "two", "3x", "99999999999"};
  o.workers = 0;
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    setenv("SHARC_WORKERS", bad[i], 1);
    cr_assert_eq(sharc_pool_create(&p, &o, msg, sizeof msg), SHARC_EINVAL,
                 "SHARC_WORKERS=%s accepted", bad[i]);
    cr_assert_null(p);
    cr_assert(strstr(msg, "SHARC_WORKERS") != NULL, "%s", msg);
  }
  unsetenv("SHARC_WORKERS");
}

/* ---- per-worker init and fini hooks ---------------------------------------- */

/* Shared with the workers before the pool starts: what each worker's fini
 * reports. */
typedef struct hook_board {
  _Atomic uint64_t inits, finis;
  _Atomic uint64_t chunks_seen[8]; /* by worker id, from fini */
  int fail_worker;                 /* init fails in this worker, or -1 */
} hook_board;

typedef struct worker_local {
  unsigned id;
  uint64_t chunks;
} worker_local;

static int hook_init(unsigned worker, void **local, void *arg) {
  hook_board *b = arg;
  if ((int)worker == b->fail_worker)
    return -EIO;
  worker_local *l = malloc(sizeof *l);
  if (l == NULL)
    return -ENOMEM;
  l->id = worker;
  l->chunks = 0;
  *local = l;
  atomic_fetch_add(&b->inits, 1);
  return 0;
}

static void hook_fini(unsigned worker, void *local, void *arg) {
  hook_board *b = arg;
  worker_local *l = local;
  atomic_fetch_add(&b->chunks_seen[worker % 8], l->chunks);
  atomic_fetch_add(&b->finis, 1);
  free(l);
}

/* Counts its chunks in the worker's own state; out[i] = worker id + 1. */
static int count_local(const sharc_task *t, uint64_t b, uint64_t e) {
  worker_local *l = sharc_task_local(t);
  uint64_t *out = sharc_task_array(t, 0);
  if (l == NULL || l->id != sharc_task_worker(t))
    return -EINVAL;
  l->chunks++;
  for (uint64_t i = b; i < e; i++)
    out[i] = l->id + 1;
  return 0;
}
SHARC_KERNEL(count_local)

static hook_board *new_board(int fail_worker) {
  hook_board *b = mmap(NULL, sizeof *b, PROT_READ | PROT_WRITE,
                       MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  cr_assert_neq(b, MAP_FAILED);
  memset(b, 0, sizeof *b);
  b->fail_worker = fail_worker;
  return b;
}

Test(process, init_and_fini_hooks_keep_per_worker_state) {
  hook_board *b = new_board(-1);
  sharc_pool_opts po = SHARC_POOL_OPTS_INIT;
  po.workers = 2;
  po.init = hook_init;
  po.fini = hook_fini;
  po.init_arg = b;
  sharc_pool *p;
  char msg[256];
  cr_assert_eq(sharc_pool_create(&p, &po, msg, sizeof msg), 0, "%s", msg);
  cr_assert_eq(atomic_load(&b->inits), 2);
  uint64_t n = 10000, shape[1] = {n};
  sharc_array *a;
  cr_assert_eq(sharc_array_create(p, SHARC_U64, 1, shape, NULL, &a), 0);
  sharc_job_opts o = SHARC_JOB_OPTS_INIT;
  o.arrays = (sharc_array *[]){a};
  o.narrays = 1;
  o.schedule = (sharc_schedule){SHARC_SCHED_DYNAMIC, 10};
  sharc_report rep = SHARC_REPORT_INIT;
  cr_assert_eq(sharc_run(p, "count_local", n, &o, &rep), 0, "%s",
               sharc_pool_errmsg(p));
  uint64_t chunks = rep.chunks;
  sharc_report_free(&rep);
  const uint64_t *v = sharc_array_data(a);
  for (uint64_t i = 0; i < n; i++)
    cr_assert(v[i] == 1 || v[i] == 2, "index %llu: %llu",
              (unsigned long long)i, (unsigned long long)v[i]);
  sharc_pool_destroy(p);
  /* Each worker's fini saw the chunks its own kernel calls counted. */
  cr_assert_eq(atomic_load(&b->finis), 2);
  cr_assert_eq(atomic_load(&b->chunks_seen[0]) + atomic_load(&b->chunks_seen[1]),
               chunks);
  cr_assert_eq(chunks, n / 10);
  munmap(b, sizeof *b);
}

Test(process, a_failing_init_hook_fails_pool_creation_by_name) {
  hook_board *b = new_board(1);
  sharc_pool_opts po = SHARC_POOL_OPTS_INIT;
  po.workers = 2;
  po.init = hook_init;
  po.fini = hook_fini;
  po.init_arg = b;
  sharc_pool *p;
  char msg[256];
  cr_assert_eq(sharc_pool_create(&p, &po, msg, sizeof msg), -EIO, "%s", msg);
  cr_assert_null(p);
  cr_assert(strstr(msg, "worker 1") != NULL && strstr(msg, "init") != NULL,
            "%s", msg);
  munmap(b, sizeof *b);
}
