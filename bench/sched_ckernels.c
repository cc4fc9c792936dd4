/* libsharc_sched_kernels: the kernels' per-range code (kernels/ranges.h)
 * behind a plain C interface, for Python's ctypes (bench/sched_py.py). Each
 * Python task calls one of these on a range of a multiprocessing
 * shared_memory array, so Python runs the same compiled kernel code as
 * sharc, OpenMP and oneTBB. */
#include <stdint.h>

#include "ranges.h"

#define EXPORT __attribute__((visibility("default")))

/* The synthetic kernel's arguments in this process, set by
 * sched_synthetic_init() (each pool process calls it once). */
static sharc_synthetic_args synth_args;

/* Parses the kernel's parameter text ("dist=pareto,work=1000,slow=0") for n
 * indices. Returns 0, or a negative sharc error code. */
EXPORT int sched_synthetic_init(const char *params, uint64_t n) {
  return sharc_synthetic_args_parse(params, n, &synth_args, NULL, 0);
}

EXPORT void sched_synthetic(double *out, uint64_t begin, uint64_t end,
                            uint64_t worker) {
  sharc_synthetic_range(&synth_args, out, begin, end, worker);
}

EXPORT void sched_mandel_rows(uint32_t *image, uint64_t width, uint64_t height,
                              uint64_t maxiter, uint64_t begin, uint64_t end) {
  sharc_mandelbrot_rows(width, height, (uint32_t)maxiter, image, begin, end);
}

EXPORT void sched_mandel_pixels(uint32_t *image, uint64_t width,
                                uint64_t height, uint64_t maxiter,
                                uint64_t begin, uint64_t end) {
  sharc_mandelbrot_pixels(width, height, (uint32_t)maxiter, image, begin, end);
}

EXPORT void sched_triad(double *a, const double *b, const double *c,
                        double scalar, uint64_t begin, uint64_t end) {
  sharc_triad_range(a, b, c, scalar, begin, end);
}
