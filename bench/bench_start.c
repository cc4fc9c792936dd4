/* Pool start time for each start method (fork, forkserver, spawn) and 1, 2
 * and 8 workers, against Python's multiprocessing.Pool with the same three
 * methods, in one run. Both sides time the same thing: from asking for a
 * pool of W workers to the end of a first job in which every worker took
 * part (sharc: sharc_pool_create and one empty job over W indices, static
 * schedule; Python: Pool(W) and a map of W items, chunksize 1). Teardown is
 * not timed. Medians of --repeats runs; Python first, then sharc, never at
 * the same time.
 *
 *   bench_start [--repeats R] [--python PATH] [--no-python]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

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
  sharc_report rep;
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

int main(int argc, char **argv) {
  /* First, as a program using the fork server should: before any thread. */
  if (sharc_init() != 0) {
    fprintf(stderr, "bench_start: sharc_init failed\n");
    return 1;
  }
  unsigned repeats = 9;
  const char *python = "/usr/bin/python3";
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--repeats") == 0 && i + 1 < argc)
      repeats = (unsigned)strtoul(argv[++i], NULL, 10);
    else if (strcmp(argv[i], "--python") == 0 && i + 1 < argc)
      python = argv[++i];
    else if (strcmp(argv[i], "--no-python") == 0)
      python = NULL;
    else {
      fprintf(stderr, "usage: bench_start [--repeats R] [--python PATH] "
                      "[--no-python]\n");
      return 2;
    }
  }
  if (repeats < 1 || repeats > 1000)
    repeats = 9;

  double py[3][NCOUNTS] = {{0}};
  if (python != NULL) {
    char cmd[4096];
    snprintf(cmd, sizeof cmd, "%s %s %u 1 2 8", python, BENCH_PY_SCRIPT,
             repeats);
    FILE *f = popen(cmd, "r");
    char method[32];
    unsigned w;
    double ms;
    while (f != NULL && fscanf(f, "%31s %u %lf", method, &w, &ms) == 3) {
      for (unsigned m = 0; m < 3; m++)
        for (unsigned k = 0; k < NCOUNTS; k++)
          if (strcmp(method, names[m]) == 0 && w == counts[k])
            py[m][k] = ms;
    }
    if (f == NULL || pclose(f) != 0)
      fprintf(stderr, "bench_start: %s failed; no Python figures\n", cmd);
  }

  double *v = malloc(repeats * sizeof *v), *c = malloc(repeats * sizeof *c);
  if (v == NULL || c == NULL)
    return 1;
  printf("pool start to the end of a first job on every worker, median of %u "
         "runs (ms)\n",
         repeats);
  printf("%-11s %3s %10s %10s %12s %9s\n", "method", "W", "sharc", "(create)",
         "python mp", "ratio");
  for (unsigned m = 0; m < 3; m++) {
    for (unsigned k = 0; k < NCOUNTS; k++) {
      /* one start not counted: page cache, the worker binary's libraries */
      double skip;
      if (one_start((sharc_start_method)m, counts[k], &skip) < 0)
        return 1;
      for (unsigned r = 0; r < repeats; r++) {
        v[r] = one_start((sharc_start_method)m, counts[k], &c[r]);
        if (v[r] < 0)
          return 1;
      }
      double ms = median(v, repeats) * 1e3, cms = median(c, repeats) * 1e3;
      if (py[m][k] > 0)
        printf("%-11s %3u %10.3f %10.3f %12.3f %8.1fx\n", names[m], counts[k],
               ms, cms, py[m][k], py[m][k] / ms);
      else
        printf("%-11s %3u %10.3f %10.3f %12s %9s\n", names[m], counts[k], ms,
               cms, "-", "-");
    }
  }
  free(v);
  free(c);
  return 0;
}
