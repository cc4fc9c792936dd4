/* The per-range computations of the built-in kernels, for code that runs
 * them outside a sharc worker: the benchmarks run the very same loops under
 * OpenMP, oneTBB and Python (through a small shared library), so every
 * runtime is compared on identical kernel code.
 *
 * The registered kernels (synthetic.c, mandelbrot.c, triad.c) are thin
 * wrappers that unpack their task and call these. Defined inline so that a
 * caller handing out one index at a time (an OpenMP loop) pays no call per
 * index, exactly as a sharc kernel pays none inside its chunk. Each product
 * and sum is its own statement so that no compiler may fuse a multiply-add
 * in one copy and not another: results agree bit for bit. */
#ifndef SHARC_KERNELS_RANGES_H
#define SHARC_KERNELS_RANGES_H

#include <stdint.h>

#include "synthetic.h"

/* --- synthetic ------------------------------------------------------------ */

/* A chain of iters dependent additions from a start fixed by i. The start is
 * read through a volatile so that a second call with the same arguments (the
 * slow worker's) cannot be merged with the first: it really runs. */
static inline double sharc_synthetic_chain(uint64_t i, uint64_t iters) {
  volatile double start = 1.0 + (double)(i & 0xffff) * 0x1p-16; /* exact */
  double x = start;
  for (uint64_t k = 0; k < iters; k++)
    x += 0x1p-20; /* no -ffast-math: the additions stay a serial chain */
  return x;
}

/* Indices [begin, end) of the synthetic kernel into out (n elements), as
 * worker `worker` runs them: the worker numbered a->slow runs every chain
 * twice (half speed). */
static inline void sharc_synthetic_range(const sharc_synthetic_args *a,
                                         double *out, uint64_t begin,
                                         uint64_t end, uint64_t worker) {
  unsigned reps = a->slow == worker ? 2 : 1;
  for (uint64_t i = begin; i < end; i++) {
    uint64_t cost = sharc_synthetic_cost(a, i);
    for (unsigned r = 0; r < reps; r++)
      out[i] = sharc_synthetic_chain(i, cost);
  }
}

/* --- mandelbrot ----------------------------------------------------------- */

/* The mandelbrot kernel's argument bytes: index y is image row y of width
 * pixels; the image has height (= n) rows. */
typedef struct sharc_mandelbrot_args {
  uint64_t width;
  uint64_t maxiter;
  uint64_t height;
} sharc_mandelbrot_args;

/* Escape-time count of c = cr + i ci, at most maxiter. Never inlined: the
 * point loop is where a Mandelbrot image spends its time, and inlined into
 * each caller it is laid out anew in each, so that runtimes calling the
 * same source ran machine code of different speeds (OpenMP's per-index loop
 * ran 7% faster than every range caller in one build, the sequential loop
 * 4% faster in another with loops aligned differently). One copy called
 * from everywhere costs a call per pixel, a few ns against hundreds of
 * iterations, and makes every runtime run the same instructions. */
static __attribute__((noinline, unused)) uint32_t
sharc_mandelbrot_point(double cr, double ci, uint32_t maxiter) {
  double zr = 0.0, zi = 0.0;
  uint32_t k = 0;
  for (; k < maxiter; k++) {
    double zr2 = zr * zr;
    double zi2 = zi * zi;
    double mag = zr2 + zi2;
    if (mag > 4.0)
      break;
    double zrzi = zr * zi;
    double re = zr2 - zi2;
    double im = zrzi + zrzi;
    zr = re + cr;
    zi = im + ci;
  }
  return k;
}

/* Pixel (x, y) of a width x height image over [-2, 1] x [-1.5, 1.5]. */
static inline uint32_t sharc_mandelbrot_pixel(uint64_t width, uint64_t height,
                                              uint32_t maxiter, uint64_t x,
                                              uint64_t y) {
  const double dx = 3.0 / (double)width;
  const double dy = 3.0 / (double)height;
  const double fy = (double)y * dy;
  const double ci = fy - 1.5;
  const double fx = (double)x * dx;
  return sharc_mandelbrot_point(fx - 2.0, ci, maxiter);
}

/* Rows [begin, end) of the image (row-major, width pixels per row). */
static inline void sharc_mandelbrot_rows(uint64_t width, uint64_t height,
                                         uint32_t maxiter, uint32_t *image,
                                         uint64_t begin, uint64_t end) {
  for (uint64_t y = begin; y < end; y++)
    for (uint64_t x = 0; x < width; x++)
      image[y * width + x] =
          sharc_mandelbrot_pixel(width, height, maxiter, x, y);
}

/* Pixels [begin, end) of the image in row-major order: the same image as
 * the rows, cut finer. */
static inline void sharc_mandelbrot_pixels(uint64_t width, uint64_t height,
                                           uint32_t maxiter, uint32_t *image,
                                           uint64_t begin, uint64_t end) {
  for (uint64_t p = begin; p < end; p++)
    image[p] =
        sharc_mandelbrot_pixel(width, height, maxiter, p % width, p / width);
}

/* --- triad ---------------------------------------------------------------- */

/* The triad kernel's argument bytes. */
typedef struct sharc_triad_args {
  double scalar;
} sharc_triad_args;

static inline double sharc_triad_at(double b, double c, double s) {
  double sc = s * c;
  return b + sc;
}

/* a[i] = b[i] + s * c[i] over [begin, end). */
static inline void sharc_triad_range(double *a, const double *b,
                                     const double *c, double s, uint64_t begin,
                                     uint64_t end) {
  for (uint64_t i = begin; i < end; i++)
    a[i] = sharc_triad_at(b[i], c[i], s);
}

#endif
