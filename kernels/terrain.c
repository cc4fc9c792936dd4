/* dem_synth: reproducible fractal terrain for the tiles pipeline, so that
 * `sharc tiles` runs with no download. Value noise summed over octaves
 * (fBm), shaped so that a low-frequency "continent" term gives sea, the
 * coast rises into plains, and ridged high octaves make mountains inland.
 * Every sample depends only on (seed, col, row) scaled by the raster size,
 * so the terrain looks the same at any resolution and any worker count. */
#include <math.h>

#include "dem.h"

static uint64_t mix64(uint64_t x) {
  x ^= x >> 30;
  x *= UINT64_C(0xbf58476d1ce4e5b9);
  x ^= x >> 27;
  x *= UINT64_C(0x94d049bb133111eb);
  x ^= x >> 31;
  return x;
}

/* A value in [-1, 1] at integer lattice point (i, j) of octave o. */
static double lattice(uint64_t seed, unsigned o, int64_t i, int64_t j) {
  uint64_t h = mix64(seed ^ mix64(((uint64_t)o << 56) ^ mix64((uint64_t)i) ^
                                  (mix64((uint64_t)j) << 1)));
  return (double)(h >> 11) * (2.0 / 9007199254740992.0) - 1.0;
}

static double smooth(double t) { return t * t * t * (t * (t * 6 - 15) + 10); }

static double noise(uint64_t seed, unsigned o, double x, double y) {
  double fx = floor(x), fy = floor(y);
  int64_t i = (int64_t)fx, j = (int64_t)fy;
  double u = smooth(x - fx), v = smooth(y - fy);
  double a = lattice(seed, o, i, j), b = lattice(seed, o, i + 1, j);
  double c = lattice(seed, o, i, j + 1), d = lattice(seed, o, i + 1, j + 1);
  return (a + (b - a) * u) * (1 - v) + (c + (d - c) * u) * v;
}

double sharc_dem_synth_at(const sharc_dem_synth_args *a, uint64_t col,
                          uint64_t row) {
  /* Coordinates in units of the raster's longer side, so the landscape is
   * the same whatever the resolution. */
  double side = (double)(a->width > a->height ? a->width : a->height);
  double x = ((double)col + 0.5) / side, y = ((double)row + 0.5) / side;
  /* Continent: two broad octaves, offset so about a third is sea. */
  double land = 0.65 * noise(a->seed, 0, 2.5 * x, 2.5 * y) +
                0.35 * noise(a->seed, 1, 5 * x, 5 * y) + 0.18;
  /* Detail: fBm with ridges, stronger where the continent term is high. */
  double detail = 0, amp = 0.5, freq = 8;
  /* Octaves finer than two pixels would only alias: they stop there. */
  for (unsigned o = 2; o < 14 && freq < side / 2; o++) {
    double n = noise(a->seed, o, freq * x, freq * y);
    detail += amp * (o < 6 ? 1.0 - 2.0 * fabs(n) : n);
    amp *= 0.5;
    freq *= 2.03;
  }
  double e = land * 900.0;
  if (land > 0)
    e += 2600.0 * land * land * (0.6 + 0.4 * detail) + 120.0 * detail;
  else
    e += 60.0 * detail;
  return e < 0 ? NAN : e;
}

/* Hot path: one row per index, no allocation or system call. */
static int dem_synth(const sharc_task *t, uint64_t begin, uint64_t end) {
  size_t len = 0;
  const sharc_dem_synth_args *a = sharc_task_args(t, &len);
  float *dem = sharc_task_array(t, 0);
  if (!a || len != sizeof *a || !dem ||
      sharc_task_array_size(t, 0) != a->width * a->height || end > a->height)
    return SHARC_EINVAL;
  for (uint64_t r = begin; r < end; r++) {
    float *row = dem + r * a->width;
    for (uint64_t c = 0; c < a->width; c++) {
      double e = sharc_dem_synth_at(a, c, r);
      row[c] = isnan(e) ? a->nodata : (float)e;
    }
  }
  return 0;
}
SHARC_KERNEL(dem_synth)
