/* The raster kernels of the tiles pipeline (kernels/hillshade.c,
 * color_relief.c, terrain.c): gdaldem's conventions on rasters whose answer
 * is known in closed form, halos across chunk edges (a pool run with
 * one-row chunks equals the sequential result byte for byte), and the
 * colour-table parser's errors naming the line. The comparison with gdaldem
 * itself is tests/e2e/tiles_gdaldem.sh. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <sharc.h>

#include "dem.h"
#include "helpers.h"

#define W 37
#define H 29

static void plane(float *dem, double gx, double gy) {
  /* z = gx * east + gy * north, 10 m pixels, row 0 north */
  for (int r = 0; r < H; r++)
    for (int c = 0; c < W; c++)
      dem[r * W + c] = (float)(gx * 10.0 * c + gy * 10.0 * (H - 1 - r));
}

Test(tiles_hillshade, flat_is_181_inside_a_zero_frame) {
  static float dem[W * H];
  static uint8_t out[W * H];
  plane(dem, 0, 0);
  sharc_hillshade_args a;
  sharc_hillshade_defaults(&a, W, H, 10, 10);
  sharc_hillshade_rows(&a, dem, out, 0, H);
  for (int r = 0; r < H; r++)
    for (int c = 0; c < W; c++) {
      int frame = r == 0 || c == 0 || r == H - 1 || c == W - 1;
      cr_assert_eq(out[r * W + c], frame ? 0 : 181, "(%d,%d) = %d", r, c,
                   out[r * W + c]);
    }
  a.compute_edges = 1;
  sharc_hillshade_rows(&a, dem, out, 0, H);
  for (int i = 0; i < W * H; i++)
    cr_assert_eq(out[i], 181);
}

Test(tiles_hillshade, a_plane_gets_the_lambert_value_everywhere) {
  static float dem[W * H];
  static uint8_t out[W * H];
  double p = 0.3, q = -0.2; /* rising east, falling north */
  plane(dem, p, q);
  sharc_hillshade_args a;
  sharc_hillshade_defaults(&a, W, H, 10, 10);
  a.compute_edges = 1; /* extrapolation of a plane is exact... */
  sharc_hillshade_rows(&a, dem, out, 0, H);
  double A = 315 * M_PI / 180, Hh = 45 * M_PI / 180;
  for (int r = 0; r < H; r++)
    for (int c = 0; c < W; c++) {
      /* ...but gdaldem clamps the missing column at the four corners,
       * which halves the east-west gradient there */
      int corner = (r == 0 || r == H - 1) && (c == 0 || c == W - 1);
      double pp = corner ? p / 2 : p;
      double cang = (sin(Hh) - cos(Hh) * (pp * sin(A) + q * cos(A))) /
                    sqrt(1 + pp * pp + q * q);
      int want = (int)floor(1 + 254 * cang + 0.5);
      cr_assert_eq(out[r * W + c], want, "(%d,%d) = %d, expected %d", r, c,
                   out[r * W + c], want);
    }
}

Test(tiles_hillshade, nodata_grows_by_one_pixel_or_takes_the_centre) {
  static float dem[W * H];
  static uint8_t out[W * H];
  plane(dem, 0, 0);
  dem[10 * W + 10] = -9999;
  sharc_hillshade_args a;
  sharc_hillshade_defaults(&a, W, H, 10, 10);
  a.has_nodata = 1;
  a.nodata = -9999;
  sharc_hillshade_rows(&a, dem, out, 0, H);
  for (int r = 1; r < H - 1; r++)
    for (int c = 1; c < W - 1; c++) {
      int near = abs(r - 10) <= 1 && abs(c - 10) <= 1;
      cr_assert_eq(out[r * W + c], near ? 0 : 181);
    }
  a.compute_edges = 1;
  sharc_hillshade_rows(&a, dem, out, 0, H);
  for (int i = 0; i < W * H; i++)
    cr_assert_eq(out[i], i == 10 * W + 10 ? 0 : 181);
}

/* Windows, each shaded from a copy of just the DEM it covers plus a
 * 1-pixel halo, equal the whole raster shaded at once: the tiles job shades
 * windows of the DEM it reads piece by piece. */
Test(tiles_hillshade, windows_from_a_halo_copy_equal_the_whole_raster) {
  static float dem[W * H], part[W * H];
  static uint8_t whole[W * H], win[W * H];
  for (int r = 0; r < H; r++)
    for (int c = 0; c < W; c++)
      dem[r * W + c] = (float)(40.0 * sin(0.3 * c) * cos(0.23 * r) + 3.0 * c);
  dem[5 * W + 7] = -9999; /* nodata inside, on an edge, at a corner */
  dem[0 * W + 20] = -9999;
  dem[(H - 1) * W + W - 1] = -9999;
  static const int wins[][4] = {{0, W, 0, H},  {0, 9, 0, 7},   {5, 20, 3, 11},
                                {30, W, 20, H}, {0, W, 28, H}, {36, W, 0, H}};
  for (int edges = 0; edges < 2; edges++) {
    sharc_hillshade_args a;
    sharc_hillshade_defaults(&a, W, H, 10, 10);
    a.has_nodata = 1;
    a.nodata = -9999;
    a.compute_edges = edges;
    sharc_hillshade_rows(&a, dem, whole, 0, H);
    for (size_t k = 0; k < sizeof wins / sizeof wins[0]; k++) {
      int c0 = wins[k][0], c1 = wins[k][1], r0 = wins[k][2], r1 = wins[k][3];
      int dc0 = c0 > 0 ? c0 - 1 : 0, dc1 = c1 < W ? c1 + 1 : W;
      int dr0 = r0 > 0 ? r0 - 1 : 0, dr1 = r1 < H ? r1 + 1 : H;
      int stride = dc1 - dc0;
      for (int r = dr0; r < dr1; r++)
        memcpy(part + (r - dr0) * stride, dem + r * W + dc0,
               (size_t)stride * sizeof *part);
      memset(win, 0xee, sizeof win);
      sharc_hillshade_window(&a, part, (size_t)stride, (uint64_t)dr0,
                             (uint64_t)dc0, win, (size_t)(c1 - c0),
                             (uint64_t)r0, (uint64_t)r1, (uint64_t)c0,
                             (uint64_t)c1);
      for (int r = r0; r < r1; r++)
        for (int c = c0; c < c1; c++)
          cr_assert_eq(win[(r - r0) * (c1 - c0) + c - c0], whole[r * W + c],
                       "edges %d window %zu (%d,%d)", edges, k, r, c);
    }
  }
}

Test(tiles_hillshade, pool_with_one_row_chunks_equals_sequential) {
  enum { N = 300 };
  sharc_pool *pool = test_pool(2);
  uint64_t shape[2] = {N, N};
  sharc_array *dem = NULL, *out = NULL;
  cr_assert_eq(sharc_array_create(pool, SHARC_F32, 2, shape, NULL, &dem), 0);
  cr_assert_eq(sharc_array_create(pool, SHARC_U8, 2, shape, NULL, &out), 0);
  sharc_dem_synth_args s = {N, N, 7, -9999.0f, 0};
  sharc_job_opts o = SHARC_JOB_OPTS_INIT;
  o.args = &s;
  o.args_len = sizeof s;
  o.arrays = (sharc_array *[]){dem};
  o.narrays = 1;
  cr_assert_eq(sharc_run(pool, "dem_synth", N, &o, NULL), 0);
  const float *d = sharc_array_data(dem);
  for (uint64_t r = 0; r < N; r += 37)
    for (uint64_t c = 0; c < N; c += 41) {
      double e = sharc_dem_synth_at(&s, c, r);
      cr_assert_eq(d[r * N + c], isnan(e) ? -9999.0f : (float)e);
    }
  sharc_hillshade_args a;
  sharc_hillshade_defaults(&a, N, N, 30, 30);
  a.has_nodata = 1;
  a.nodata = -9999;
  a.mode = SHARC_HILLSHADE_MULTIDIRECTIONAL;
  a.compute_edges = 1;
  sharc_job_opts h = SHARC_JOB_OPTS_INIT;
  cr_assert_eq(sharc_schedule_parse("dynamic:1", &h.schedule), 0);
  h.args = &a;
  h.args_len = sizeof a;
  h.arrays = (sharc_array *[]){dem, out};
  h.narrays = 2;
  cr_assert_eq(sharc_run(pool, "hillshade", N, &h, NULL), 0);
  uint8_t *seq = malloc(N * N);
  sharc_hillshade_rows(&a, d, seq, 0, N);
  cr_assert_eq(memcmp(seq, sharc_array_data(out), N * N), 0);
  size_t zeros = 0;
  for (int i = 0; i < N * N; i++)
    zeros += seq[i] == 0;
  cr_assert(zeros > 0 && zeros < N * N, "sea and land both present");
  free(seq);
  sharc_array_destroy(dem);
  sharc_array_destroy(out);
  sharc_pool_destroy(pool);
}

static sharc_relief_args *prepared(const char *text, int mode) {
  static sharc_relief_table t;
  static sharc_relief_args a;
  char msg[256];
  cr_assert_eq(sharc_relief_parse(text, &t, msg, sizeof msg), 0, "%s", msg);
  cr_assert_eq(
      sharc_relief_prepare(&t, 0, 1000, 1, -1, mode, 1, 1, &a, msg, sizeof msg),
      0, "%s", msg);
  return &a;
}

Test(tiles_relief, interpolates_with_gdaldems_rounding) {
  sharc_relief_args *a =
      prepared("100 0 0 0\n0 10 20 30 40\n50% white\nnv 1 2 3 4\n", 0);
  cr_assert_eq(a->n, 3);
  cr_assert_eq(a->value[2], 500.0, "50%% of 0..1000");
  uint8_t c[4];
  sharc_relief_color(a, 50, c); /* halfway 10..0: 5 + 0.45 -> 5 */
  cr_assert(c[0] == 5 && c[1] == 10 && c[2] == 15 && c[3] == 147, "%d %d %d %d",
            c[0], c[1], c[2], c[3]);
  sharc_relief_color(a, 300, c); /* halfway 0..255: 127.5 + 0.45 -> 127 */
  cr_assert(c[0] == 127 && c[3] == 255);
  sharc_relief_color(a, -5, c);
  cr_assert(c[0] == 10 && c[3] == 40, "below the first entry: its colour");
  sharc_relief_color(a, 1e6, c);
  cr_assert(c[0] == 255, "above the last entry: its colour");
  sharc_relief_color(a, -1, c);
  cr_assert(c[0] == 1 && c[3] == 4, "nodata takes nv");
}

Test(tiles_relief, nearest_and_exact_entries) {
  uint8_t c[4];
  sharc_relief_args *a = prepared("0 0 0 0\n10 100 100 100\n", 2);
  sharc_relief_color(a, 4.9f, c);
  cr_assert_eq(c[0], 0);
  sharc_relief_color(a, 5, c);
  cr_assert_eq(c[0], 100, "a tie goes to the upper entry");
  a = prepared("0 0 0 0\n10 100 100 100\n", 1);
  sharc_relief_color(a, 10, c);
  cr_assert(c[0] == 100 && c[3] == 255);
  sharc_relief_color(a, 5, c);
  cr_assert(c[0] == 0 && c[3] == 0, "not an entry: transparent");
}

Test(tiles_relief, a_malformed_line_is_named) {
  static sharc_relief_table t;
  char msg[256];
  static const struct {
    const char *text;
    const char *want;
  } bad[] = {
      {"0 0 0 0\n\n# c\n10 1 2\n", "line 4: "},
      {"0 0 0 0\nx 1 2 3\n", "line 2: "},
      {"0 0 0 0 0 0\n", "line 1: "},
      {"5 chartreuse\n", "line 1: "},
      {"5 1 2 256\n", "line 1: "},
      {"120% red\n", "line 1: "},
      {"# only comments\n", "no colour entries"},
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    msg[0] = '\0';
    cr_assert_eq(sharc_relief_parse(bad[i].text, &t, msg, sizeof msg),
                 SHARC_EFORMAT, "case %zu", i);
    cr_assert(strstr(msg, bad[i].want), "case %zu: '%s'", i, msg);
  }
}
