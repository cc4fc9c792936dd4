/* One workload of the scheduling suite as every runtime sees it: which
 * kernel, its arguments and where its arrays lie. Shared by the C harness
 * (sharc, OpenMP, the sequential loop) and the oneTBB part (C++), so both
 * run the very same per-range code from kernels/ranges.h. */
#ifndef SHARC_BENCH_SCHED_WORK_H
#define SHARC_BENCH_SCHED_WORK_H

#include <stdint.h>

/* The kernels' headers are plain C: their functions keep C linkage. */
#ifdef __cplusplus
extern "C" {
#endif

#include "ranges.h"

typedef enum {
  SCHED_WORK_SYNTHETIC = 0,
  SCHED_WORK_MANDEL_ROWS,
  SCHED_WORK_MANDEL_PIXELS,
  SCHED_WORK_TRIAD
} sched_work_kind;

typedef struct sched_work {
  sched_work_kind kind;
  uint64_t n;
  sharc_synthetic_args syn; /* SYNTHETIC */
  double *out;
  sharc_mandelbrot_args man; /* MANDEL_*: man.height rows of man.width */
  uint32_t *image;
  sharc_triad_args triad; /* TRIAD: a = b + scalar * c */
  double *a;
  const double *b, *c;
} sched_work;

/* Worker id that is never the slow one: the sequential loop's. */
#define SCHED_NOT_SLOW (UINT64_MAX - 1)

/* Indices [begin, end) of w, run as worker `worker` (it matters only to
 * the synthetic kernel's slow worker). */
static inline void sched_work_range(const sched_work *w, uint64_t begin,
                                    uint64_t end, uint64_t worker) {
  switch (w->kind) {
  case SCHED_WORK_SYNTHETIC:
    sharc_synthetic_range(&w->syn, w->out, begin, end, worker);
    break;
  case SCHED_WORK_MANDEL_ROWS:
    sharc_mandelbrot_rows(w->man.width, w->man.height, (uint32_t)w->man.maxiter,
                          w->image, begin, end);
    break;
  case SCHED_WORK_MANDEL_PIXELS:
    sharc_mandelbrot_pixels(w->man.width, w->man.height,
                            (uint32_t)w->man.maxiter, w->image, begin, end);
    break;
  case SCHED_WORK_TRIAD:
    sharc_triad_range(w->a, w->b, w->c, w->triad.scalar, begin, end);
    break;
  }
}

/* oneTBB (sched_tbb.cpp, or a stub when oneTBB is missing). */

/* 1 if this build has the oneTBB runner. */
int sched_tbb_available(void);

/* Sets up a task arena of `workers` threads, thread t pinned to pus[t] (a
 * negative PU: not pinned). Returns 0, or -1 if oneTBB is missing. */
int sched_tbb_init(unsigned workers, const int *pus);

/* Runs w with parallel_for over blocked_range [0, n) and auto_partitioner
 * in the arena. Writes the wall time to *makespan and each arena slot's
 * summed chunk time to busy[0..workers). Returns 0, or -1. */
int sched_tbb_run(const sched_work *w, double *makespan, double *busy);

void sched_tbb_fini(void);

#ifdef __cplusplus
}
#endif
#endif
