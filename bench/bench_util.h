/* Helpers shared by the benchmarks that put sharc and OpenMP side by side:
 * option parsing, pinning OpenMP's threads to the sharc workers' PUs, and
 * waiting for quiet CPUs between measurements. Each program defines
 * BENCH_NAME (its name, for messages) before including this. */
#ifndef SHARC_BENCH_UTIL_H
#define SHARC_BENCH_UTIL_H

#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <omp.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sharc.h>

static inline double bench_now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* A whole number in [lo, hi] for option opt, or exit 2 saying so. */
static inline uint64_t bench_parse_u64(const char *opt, const char *text,
                                       uint64_t lo, uint64_t hi) {
  char *end = NULL;
  errno = 0;
  unsigned long long v = strtoull(text, &end, 10);
  if (errno || end == text || *end != '\0' || text[0] == '-' || v < lo ||
      v > hi) {
    fprintf(stderr,
            "%s: %s: '%s' is not a whole number in [%" PRIu64 ", %" PRIu64
            "]\n",
            BENCH_NAME, opt, text, lo, hi);
    exit(2);
  }
  return v;
}

static inline void bench_set_affinity(const cpu_set_t *set) {
  if (sched_setaffinity(0, sizeof *set, set) != 0) {
    fprintf(stderr, "%s: sched_setaffinity: %s\n", BENCH_NAME, strerror(errno));
    exit(1);
  }
}

/* Pins OpenMP thread t to PU pus[t] (the PU of sharc worker t), so both
 * runtimes run on the same PUs, and stores the master thread's new
 * affinity in *master. Not OMP_PROC_BIND/OMP_PLACES: libgomp reads those in
 * a constructor, before main, and pins the whole process to place 0 there;
 * the pool would then see one usable PU. */
static inline void bench_pin_omp_threads(const int *pus, unsigned w,
                                         cpu_set_t *master) {
  unsigned bad = 0;
#pragma omp parallel reduction(+ : bad)
  {
    unsigned t = (unsigned)omp_get_thread_num();
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(pus[t], &set);
    bad += (unsigned)omp_get_num_threads() != w || pus[t] < 0 ||
           sched_setaffinity(0, sizeof set, &set) != 0;
  }
  if (bad || sched_getaffinity(0, sizeof *master, master) != 0) {
    fprintf(stderr,
            "%s: cannot run and pin one OpenMP thread per sharc "
            "worker\n",
            BENCH_NAME);
    exit(1);
  }
}

/* Runs W OpenMP threads, thread t pinned to the PU of sharc worker t of
 * pool; a thread that cannot be pinned is left as it is, with a warning
 * (the comparison then says less, but still runs). */
static inline void bench_pin_omp_to_pool(const sharc_pool *pool, unsigned w) {
  const sharc_plan *plan = sharc_pool_plan(pool);
  unsigned bad = 0;
#pragma omp parallel num_threads(w) reduction(+ : bad)
  {
    unsigned t = (unsigned)omp_get_thread_num();
    cpu_set_t set;
    CPU_ZERO(&set);
    int pu = plan->w[t].pu;
    if (pu >= 0)
      CPU_SET(pu, &set);
    bad += pu < 0 || sched_setaffinity(0, sizeof set, &set) != 0;
  }
  if (bad)
    fprintf(stderr, "%s: warning: OpenMP threads left unpinned\n", BENCH_NAME);
}

/* 1 if the task whose stat file is at path is running or runnable. */
static inline int bench_task_running(const char *path) {
  char buf[512];
  FILE *f = fopen(path, "r");
  if (f == NULL)
    return 0; /* gone: not running */
  size_t got = fread(buf, 1, sizeof buf - 1, f);
  fclose(f);
  buf[got] = '\0';
  const char *paren = strrchr(buf, ')'); /* the name may hold spaces */
  return paren != NULL && paren[1] == ' ' && paren[2] == 'R';
}

/* 1 while another thread of this process (OpenMP's, oneTBB's) or one of
 * the pool's workers is still on a CPU: idle runtimes spin a while before
 * they sleep, and a measurement must not share the CPUs with them. */
static inline int bench_others_running(sharc_pool *pool) {
  char path[64];
  int busy = 0;
  DIR *d = opendir("/proc/self/task");
  for (struct dirent *e; d != NULL && !busy && (e = readdir(d)) != NULL;) {
    if (e->d_name[0] == '.' || atoi(e->d_name) == (int)gettid())
      continue;
    snprintf(path, sizeof path, "/proc/self/task/%.16s/stat", e->d_name);
    busy = bench_task_running(path);
  }
  if (d != NULL)
    closedir(d);
  for (unsigned w = 0; w < sharc_pool_size(pool) && !busy; w++) {
    snprintf(path, sizeof path, "/proc/%d/stat",
             sharc_pool_worker_pid(pool, w));
    busy = bench_task_running(path);
  }
  return busy;
}

static inline int bench_cmp_double(const void *x, const void *y) {
  double a = *(const double *)x, b = *(const double *)y;
  return (a > b) - (a < b);
}

static inline void bench_json_samples(FILE *f, const char *key, const double *v,
                                      unsigned count) {
  fprintf(f, "\"%s\":[", key);
  for (unsigned r = 0; r < count; r++)
    fprintf(f, "%s%.9g", r ? "," : "", v[r]);
  fputc(']', f);
}

#endif
