/* Pool start time for each start method (fork, forkserver, spawn) and 1, 2
 * and 8 workers, against Python's multiprocessing.Pool with the same three
 * methods, in one run. Both sides time the same thing: from asking for a
 * pool of W workers to the end of a first job in which every worker took
 * part (sharc: sharc_pool_create and one empty job over W indices, static
 * schedule; Python: Pool(W) and a map of W items, chunksize 1). Teardown is
 * not timed. Medians of --repeats runs, interleaved: each repeat times
 * every case once with Python (bench/start_py.py --serve, one process kept
 * for the whole run) and once with sharc, one after the other, never at the
 * same time, so that the machine's drift touches both alike.
 *
 * The "os fork" column is the floor under the fork rows: the same process
 * forks W bare children, each writes one byte on a pipe and leaves, and
 * the time is until all W bytes are read (children reaped untimed). No
 * start by fork can beat it; Python / floor is the best ratio the machine
 * allows at that moment.
 *
 * With --back-to-back each case runs its R repeats in a row instead, one
 * side after the other (Python's R, sharc's R, the floor's R): what a
 * start costs when the previous one has just kept the PUs busy, against
 * the interleaved order, where each start follows the other side's.
 *
 *   bench_start [--repeats R] [--python PATH] [--no-python] [--back-to-back]
 */
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <sharc.h>

#ifndef BENCH_WORKER
#define BENCH_WORKER NULL
#endif
#ifndef BENCH_KERNELS
#define BENCH_KERNELS NULL
#endif
#ifndef BENCH_PY_SCRIPT
#define BENCH_PY_SCRIPT "start_py.py"
#endif

static const unsigned counts[] = {1, 2, 8};
#define NCOUNTS (sizeof counts / sizeof counts[0])
static const char *const names[] = {"fork", "forkserver", "spawn"};

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int cmp_double(const void *x, const void *y) {
  double a = *(const double *)x, b = *(const double *)y;
  return (a > b) - (a < b);
}

static double median(double *v, unsigned n) {
  qsort(v, n, sizeof *v, cmp_double);
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* One start: create, one empty job touching every worker; seconds, or a
 * negative value on failure. *create_s gets the create part alone. */
static double one_start(sharc_start_method m, unsigned w, double *create_s) {
  sharc_pool_opts o = SHARC_POOL_OPTS_INIT;
  o.workers = w;
  o.start = m;
  o.worker_path = BENCH_WORKER;
  o.kernel_libs = BENCH_KERNELS;
  sharc_pool *p;
  char msg[512];
  double t0 = now_s();
  if (sharc_pool_create(&p, &o, msg, sizeof msg) != 0) {
    fprintf(stderr, "bench_start: %s, %u workers: %s\n", names[m], w, msg);
    return -1;
  }
  double t1 = now_s();
  sharc_job_opts jo = SHARC_JOB_OPTS_INIT;
  jo.schedule = (sharc_schedule){SHARC_SCHED_STATIC, 1};
  sharc_report rep = SHARC_REPORT_INIT;
  int rc = sharc_run(p, "empty", w, &jo, &rep);
  double t2 = now_s();
  if (rc == 0)
    sharc_report_free(&rep);
  else
    fprintf(stderr, "bench_start: %s: %s\n", names[m], sharc_pool_errmsg(p));
  sharc_pool_destroy(p);
  *create_s = t1 - t0;
  return rc == 0 ? t2 - t0 : -1;
}

/* The OS floor: W bare forks heard from; seconds, or -1. */
static double fork_floor(unsigned w) {
  int fds[2];
  if (pipe(fds) != 0)
    return -1;
  pid_t pids[8];
  double t0 = now_s();
  unsigned n = 0;
  for (; n < w && n < 8; n++) {
    pids[n] = fork();
    if (pids[n] == 0) {
      char b = 1;
      _exit(write(fds[1], &b, 1) == 1 ? 0 : 1);
    }
    if (pids[n] < 0)
      break;
  }
  unsigned heard = 0;
  char b;
  while (heard < n && read(fds[0], &b, 1) == 1)
    heard++;
  double t = now_s() - t0;
  for (unsigned i = 0; i < n; i++)
    waitpid(pids[i], NULL, 0);
  close(fds[0]);
  close(fds[1]);
  return n == w && heard == w ? t : -1;
}

extern char **environ;

/* The Python side: start_py.py --serve on two pipes. */
typedef struct py {
  pid_t pid;
  FILE *to, *from;
} py;

static int py_start(py *p, const char *python) {
  int in[2], out[2];
  if (pipe(in) != 0 || pipe(out) != 0)
    return -1;
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, in[0], 0);
  posix_spawn_file_actions_adddup2(&fa, out[1], 1);
  posix_spawn_file_actions_addclose(&fa, in[1]);
  posix_spawn_file_actions_addclose(&fa, out[0]);
  char *argv[] = {(char *)python, (char *)BENCH_PY_SCRIPT, "--serve", NULL};
  int rc = posix_spawn(&p->pid, python, &fa, NULL, argv, environ);
  posix_spawn_file_actions_destroy(&fa);
  close(in[0]);
  close(out[1]);
  if (rc != 0) {
    close(in[1]);
    close(out[0]);
    return -1;
  }
  p->to = fdopen(in[1], "w");
  p->from = fdopen(out[0], "r");
  return p->to && p->from ? 0 : -1;
}

static double py_once(py *p, const char *method, unsigned w) {
  double ms;
  fprintf(p->to, "%s %u\n", method, w);
  fflush(p->to);
  return fscanf(p->from, "%lf", &ms) == 1 ? ms : -1;
}

static void py_stop(py *p) {
  fclose(p->to);
  fclose(p->from);
  waitpid(p->pid, NULL, 0);
}

/* Where the samples go: per case (method x worker count) and repeat. */
typedef struct times {
  double *sharc, *create, *python, *floor;
  unsigned repeats;
  py *py; /* NULL: no Python */
} times;

/* One sample of one side of case cs (method cs / NCOUNTS, worker count
 * cs % NCOUNTS) in repeat r: side 0 Python, 1 sharc, 2 the fork floor
 * (fork cases only). 0, or -1 on failure. */
static int measure(times *t, unsigned side, unsigned cs, unsigned r) {
  unsigned m = cs / NCOUNTS, k = cs % NCOUNTS, i = cs * t->repeats + r;
  if (side == 0) {
    t->python[i] = t->py != NULL ? py_once(t->py, names[m], counts[k]) : 0;
    return t->python[i] < 0 ? -1 : 0;
  }
  if (side == 1) {
    t->sharc[i] = one_start((sharc_start_method)m, counts[k], &t->create[i]);
    return t->sharc[i] < 0 ? -1 : 0;
  }
  if (m != SHARC_START_FORK)
    return 0;
  t->floor[k * t->repeats + r] = fork_floor(counts[k]);
  return t->floor[k * t->repeats + r] < 0 ? -1 : 0;
}

int main(int argc, char **argv) {
  /* First, as a program using the fork server should: before any thread. */
  if (sharc_init() != 0) {
    fprintf(stderr, "bench_start: sharc_init failed\n");
    return 1;
  }
  unsigned repeats = 9;
  const char *python = "/usr/bin/python3";
  int back_to_back = 0;
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--repeats") == 0 && i + 1 < argc)
      repeats = (unsigned)strtoul(argv[++i], NULL, 10);
    else if (strcmp(argv[i], "--python") == 0 && i + 1 < argc)
      python = argv[++i];
    else if (strcmp(argv[i], "--no-python") == 0)
      python = NULL;
    else if (strcmp(argv[i], "--back-to-back") == 0)
      back_to_back = 1;
    else {
      fprintf(stderr, "usage: bench_start [--repeats R] [--python PATH] "
                      "[--no-python] [--back-to-back]\n");
      return 2;
    }
  }
  if (repeats < 1 || repeats > 1000)
    repeats = 9;

  py p = {0};
  if (python != NULL && py_start(&p, python) != 0) {
    fprintf(stderr, "bench_start: cannot run %s %s\n", python, BENCH_PY_SCRIPT);
    return 1;
  }
  enum { CASES = 3 * NCOUNTS };
  double *v = malloc(CASES * repeats * sizeof *v);
  double *c = malloc(CASES * repeats * sizeof *c);
  double *q = malloc(CASES * repeats * sizeof *q);
  double *f = malloc(NCOUNTS * repeats * sizeof *f);
  if (v == NULL || c == NULL || q == NULL || f == NULL)
    return 1;
  /* one start of each not counted: page cache, the worker's libraries */
  for (unsigned m = 0; m < 3; m++) {
    for (unsigned k = 0; k < NCOUNTS; k++) {
      double skip;
      if (one_start((sharc_start_method)m, counts[k], &skip) < 0)
        return 1;
      if (python != NULL && py_once(&p, names[m], counts[k]) < 0)
        return 1;
    }
  }
  times t = {v, c, q, f, repeats, python != NULL ? &p : NULL};
  if (back_to_back) {
    for (unsigned cs = 0; cs < CASES; cs++)
      for (unsigned side = 0; side < 3; side++)
        for (unsigned r = 0; r < repeats; r++)
          if (measure(&t, side, cs, r) != 0)
            return 1;
  } else {
    for (unsigned r = 0; r < repeats; r++)
      for (unsigned cs = 0; cs < CASES; cs++)
        for (unsigned side = 0; side < 3; side++)
          if (measure(&t, side, cs, r) != 0)
            return 1;
  }
  if (python != NULL)
    py_stop(&p);
  printf("pool start to the end of a first job on every worker, median of %u "
         "%s runs (ms)\n",
         repeats, back_to_back ? "back-to-back" : "interleaved");
  printf("%-11s %3s %10s %10s %12s %9s %9s %12s\n", "method", "W", "sharc",
         "(create)", "python mp", "ratio", "os fork", "python/os");
  for (unsigned m = 0; m < 3; m++) {
    for (unsigned k = 0; k < NCOUNTS; k++) {
      unsigned i = (m * NCOUNTS + k) * repeats;
      double ms = median(v + i, repeats) * 1e3;
      double cms = median(c + i, repeats) * 1e3;
      double fms = m == SHARC_START_FORK ? median(f + k * repeats, repeats) * 1e3
                                         : 0;
      char fcol[16] = "-", fratio[16] = "-";
      if (m == SHARC_START_FORK)
        snprintf(fcol, sizeof fcol, "%.3f", fms);
      if (python != NULL) {
        double pms = median(q + i, repeats);
        if (m == SHARC_START_FORK)
          snprintf(fratio, sizeof fratio, "%.1fx", pms / fms);
        printf("%-11s %3u %10.3f %10.3f %12.3f %8.1fx %9s %12s\n", names[m],
               counts[k], ms, cms, pms, pms / ms, fcol, fratio);
      } else {
        printf("%-11s %3u %10.3f %10.3f %12s %9s %9s %12s\n", names[m],
               counts[k], ms, cms, "-", "-", fcol, fratio);
      }
    }
  }
  free(f);
  free(q);
  free(v);
  free(c);
  return 0;
}
