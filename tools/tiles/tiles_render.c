/* The kernels of the tiles pipeline that need GDAL or libpng: the warp to
 * Web Mercator and the pyramid levels. See tiles_render.h. */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <gdal_alg.h>

#include <sharc.h>

#include "tiles_png.h"
#include "tiles_render.h"

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* --- tiles_warp -------------------------------------------------------- */

/* This worker's transformer, made at its first chunk of a job and kept
 * while the job's arguments and CRSs stay the same. */
static void *g_gen, *g_approx;
static tiles_warp_args g_warp_key;
static char *g_wkt_key;
static size_t g_wkt_len;

static void *warp_transformer(const tiles_warp_args *a, const char *wkts,
                              size_t len) {
  if (g_approx && !memcmp(&g_warp_key, a, sizeof *a) && g_wkt_len == len &&
      !memcmp(g_wkt_key, wkts, len))
    return g_approx;
  if (g_approx)
    GDALDestroyApproxTransformer(g_approx);
  if (g_gen)
    GDALDestroyGenImgProjTransformer(g_gen);
  g_approx = g_gen = NULL;
  free(g_wkt_key);
  g_wkt_key = NULL;
  const char *src = wkts, *dst = wkts + strlen(wkts) + 1;
  g_gen = GDALCreateGenImgProjTransformer3(src, a->src_gt, dst, a->dst_gt);
  if (!g_gen)
    return NULL;
  /* gdalwarp's default error threshold: an eighth of a pixel. */
  g_approx = GDALCreateApproxTransformer(GDALGenImgProjTransform, g_gen, 0.125);
  g_wkt_key = malloc(len);
  if (!g_approx || !g_wkt_key)
    return NULL;
  memcpy(g_wkt_key, wkts, len);
  g_wkt_len = len;
  g_warp_key = *a;
  return g_approx;
}

static int tiles_warp(const sharc_task *t, uint64_t begin, uint64_t end) {
  size_t len = 0;
  const tiles_warp_args *a = sharc_task_args(t, &len);
  const uint8_t *src = sharc_task_array(t, 0);
  uint8_t *dst = sharc_task_array(t, 1);
  const char *wkts = sharc_task_array(t, 2);
  uint64_t wlen = sharc_task_array_size(t, 2);
  if (!a || len != sizeof *a || !src || !dst || !wkts || wlen < 2 ||
      wkts[wlen - 1] != '\0' || strlen(wkts) + 1 >= wlen ||
      (a->bpp != 1 && a->bpp != 4) || end > a->dst_h ||
      sharc_task_array_size(t, 0) != a->src_w * a->src_h * (uint64_t)a->bpp ||
      sharc_task_array_size(t, 1) != a->dst_w * a->dst_h * (uint64_t)a->bpp)
    return SHARC_EINVAL;
  void *tr = warp_transformer(a, wkts, wlen);
  if (!tr)
    return SHARC_EFORMAT;
  size_t n = a->dst_w, bpp = (size_t)a->bpp;
  double *x = malloc(3 * n * sizeof *x);
  int *ok = malloc(n * sizeof *ok);
  if (!x || !ok) {
    free(x);
    free(ok);
    return SHARC_ENOMEM;
  }
  double *y = x + n, *z = y + n;
  for (uint64_t r = begin; r < end; r++) {
    for (size_t i = 0; i < n; i++) {
      x[i] = (double)i + 0.5;
      y[i] = (double)r + 0.5;
      z[i] = 0;
    }
    GDALApproxTransform(tr, TRUE, (int)n, x, y, z, ok);
    uint8_t *row = dst + r * n * bpp;
    for (size_t i = 0; i < n; i++) {
      double sx = floor(x[i]), sy = floor(y[i]);
      int in = ok[i] && sx >= 0 && sy >= 0 && sx < (double)a->src_w &&
               sy < (double)a->src_h;
      uint64_t k = in ? (uint64_t)sy * a->src_w + (uint64_t)sx : 0;
      /* Fixed-size copies: no library call per pixel. */
      if (bpp == 1) {
        row[i] = in ? src[k] : 0;
      } else {
        uint32_t v = 0;
        if (in)
          memcpy(&v, src + 4 * k, 4);
        memcpy(row + 4 * i, &v, 4);
      }
    }
  }
  free(x);
  free(ok);
  return 0;
}
SHARC_KERNEL(tiles_warp)

/* --- tiles_level -----------------------------------------------------------
 */

/* Per worker: the tile being made, the PNG buffer, the sample indices. */
static uint8_t g_tile[TILE * TILE * 4];
static uint8_t g_pack[TILE * TILE * 4];
static tiles_buf g_png;
static int64_t g_col[4 * TILE], g_row[4 * TILE];

/* The 4 query samples of one tile pixel along an axis, as distinct source
 * indices with their multiplicities: near the data's own resolution the 4
 * samples mostly fall on one or two source pixels, so a pixel costs 1-4
 * reads instead of 16. */
typedef struct runs {
  int n;
  unsigned w[4];
  int64_t idx[4];
} runs;
static runs g_crun[TILE], g_rrun[TILE];

static void make_runs(const int64_t *idx, runs *r) {
  for (int i = 0; i < TILE; i++) {
    runs *x = &r[i];
    x->n = 0;
    for (int d = 0; d < 4; d++) {
      int64_t c = idx[4 * i + d];
      if (c < 0)
        continue;
      if (x->n && x->idx[x->n - 1] == c) {
        x->w[x->n - 1]++;
      } else {
        x->idx[x->n] = c;
        x->w[x->n] = 1;
        x->n++;
      }
    }
  }
}

/* Accumulates one sample: premultiplied colour and alpha. */
static inline void acc(const uint8_t *p, int bpp, unsigned *sum, unsigned *sa,
                       int channels) {
  if (bpp == 1) {
    if (p[0]) {
      sum[0] += p[0] * 255u;
      *sa += 255;
    }
    return;
  }
  unsigned al = bpp == 2 ? p[1] : p[3];
  if (!al)
    return;
  for (int k = 0; k < channels; k++)
    sum[k] += p[k] * al;
  *sa += al;
}

/* Stores the average of n samples: alpha rounded half up as GDAL's box
 * average does, colour weighted by alpha (so transparent samples do not
 * darken the edge). Returns the alpha. */
static inline unsigned store(uint8_t *o, const unsigned *sum, unsigned sa,
                             unsigned n, int channels) {
  unsigned alpha = (sa + n / 2) / n;
  for (int k = 0; k < channels; k++)
    o[k] = sa ? (uint8_t)((2 * (uint64_t)sum[k] + sa) / (2 * (uint64_t)sa)) : 0;
  o[channels] = (uint8_t)alpha;
  return alpha;
}

/* gdal2tiles' geo_query along one axis: the source window [r, r + rsize)
 * and the part [w, w + wsize) of the 1024-sample query it fills, clipped to
 * the grid, then nearest-neighbour indices as GDAL's RasterIO picks them
 * (the centre of each query sample). Sampling the same positions as the
 * reference keeps tiles comparable pixel for pixel. */
static int query_axis(double lo, double hi, double origin, double step,
                      uint64_t size, int64_t *idx) {
  const int q = 4 * TILE;
  int64_t r = (int64_t)((lo - origin) / step + 0.001);
  int64_t rsize = (int64_t)((hi - lo) / step + 0.5);
  if (rsize < 1)
    rsize = 1;
  int64_t w = 0, wsize = q;
  if (r < 0) {
    int64_t shift = -r;
    w = (int64_t)((double)wsize * ((double)shift / (double)rsize));
    wsize -= w;
    rsize -= (int64_t)((double)rsize * ((double)shift / (double)rsize));
    r = 0;
  }
  if (r + rsize > (int64_t)size) {
    wsize = (int64_t)((double)wsize *
                      ((double)((int64_t)size - r) / (double)rsize));
    rsize = (int64_t)size - r;
  }
  int any = 0;
  for (int s = 0; s < q; s++) {
    idx[s] = -1;
    if (rsize <= 0 || wsize <= 0 || s < w || s >= w + wsize)
      continue;
    int64_t c = r + (int64_t)floor(((double)(s - w) + 0.5) * (double)rsize /
                                   (double)wsize);
    if (c >= 0 && c < (int64_t)size) {
      idx[s] = c;
      any = 1;
    }
  }
  return any;
}

/* The base level: a 1024x1024 nearest-neighbour query of the warped grid
 * over the tile, then 4x4 averages, as gdal2tiles' default (average) does.
 * Returns the count of pixels with some alpha. */
static uint64_t base_tile(const tiles_level_args *a, const uint8_t *grid,
                          int64_t tx, int64_t ty) {
  double res = MERC_RES0 / ldexp(1.0, a->zoom);
  double x0 = -MERC_ORIGIN + (double)tx * TILE * res;
  double y0 = MERC_ORIGIN - (double)ty * TILE * res;
  int any_col = query_axis(x0, x0 + TILE * res, a->dst_gt[0], a->dst_gt[1],
                           a->dst_w, g_col);
  int any_row = query_axis(y0, y0 - TILE * res, a->dst_gt[3], a->dst_gt[5],
                           a->dst_h, g_row);
  memset(g_tile, 0, sizeof g_tile);
  if (!any_col || !any_row)
    return 0;
  make_runs(g_col, g_crun);
  make_runs(g_row, g_rrun);
  uint64_t covered = 0;
  size_t bpp = (size_t)a->src_bpp, stride = a->dst_w * bpp;
  for (int j = 0; j < TILE; j++) {
    const runs *rr = &g_rrun[j];
    if (!rr->n)
      continue;
    uint8_t *o = g_tile + (size_t)j * TILE * a->mbpp;
    for (int i = 0; i < TILE; i++, o += a->mbpp) {
      const runs *cr = &g_crun[i];
      unsigned sum[3] = {0, 0, 0}, sa = 0;
      for (int y = 0; y < rr->n; y++) {
        const uint8_t *row = grid + (uint64_t)rr->idx[y] * stride;
        for (int x = 0; x < cr->n; x++) {
          const uint8_t *px = row + (uint64_t)cr->idx[x] * bpp;
          unsigned w = rr->w[y] * cr->w[x];
          if (bpp == 1) {
            /* grey: sum and weight of the valid samples, scaled below */
            unsigned valid = px[0] ? w : 0u;
            sum[0] += px[0] * valid;
            sa += valid;
          } else {
            unsigned al = px[3] * w;
            sum[0] += px[0] * al;
            sum[1] += px[1] * al;
            sum[2] += px[2] * al;
            sa += al;
          }
        }
      }
      if (bpp == 1) {
        /* 16 valid samples is the common case: no division */
        unsigned grey = sa == 16  ? (sum[0] + 8) >> 4
                        : sa == 0 ? 0
                                  : (2 * sum[0] + sa) / (2 * sa);
        unsigned alpha = (sa * 255 + 8) >> 4;
        o[0] = (uint8_t)grey;
        o[1] = (uint8_t)alpha;
        covered += alpha != 0;
        continue;
      }
      covered += store(o, sum, sa, 16, a->mbpp - 1) != 0;
    }
  }
  return covered;
}

/* An overview tile: 2x2 averages of the level above (its mosaic). */
static uint64_t overview_tile(const tiles_level_args *a, const uint8_t *child,
                              const uint8_t *cflags, int64_t tx, int64_t ty) {
  memset(g_tile, 0, sizeof g_tile);
  int any = 0;
  for (int d = 0; d < 4; d++) {
    int64_t cx = 2 * tx + (d & 1) - a->cminx, cy = 2 * ty + (d >> 1) - a->cminy;
    if (cx >= 0 && cy >= 0 && cx < (int64_t)a->cnx && cy < (int64_t)a->cny &&
        cflags[(uint64_t)cy * a->cnx + (uint64_t)cx])
      any = 1;
  }
  if (!any)
    return 0;
  int bpp = a->mbpp, ch = bpp - 1;
  uint64_t cw = a->cnx * TILE, chh = a->cny * TILE, covered = 0;
  for (int j = 0; j < TILE; j++) {
    uint8_t *o = g_tile + (size_t)j * TILE * bpp;
    int64_t gy0 = 2 * (ty * TILE + j) - a->cminy * TILE;
    int64_t gx0 = 2 * (tx * TILE) - a->cminx * TILE;
    int rows_in = gy0 >= 0 && (uint64_t)gy0 + 1 < chh;
    for (int i = 0; i < TILE; i++, o += bpp) {
      if (bpp == 2 && rows_in && gx0 + 2 * i >= 0 &&
          (uint64_t)(gx0 + 2 * i) + 1 < cw) {
        /* Hot path: four opaque grey samples average with no division. */
        const uint8_t *p0 =
            child + ((uint64_t)gy0 * cw + (uint64_t)(gx0 + 2 * i)) * 2;
        const uint8_t *p1 = p0 + cw * 2;
        if ((p0[1] & p0[3] & p1[1] & p1[3]) == 255) {
          o[0] = (uint8_t)((p0[0] + p0[2] + p1[0] + p1[2] + 2) >> 2);
          o[1] = 255;
          covered++;
          continue;
        }
      }
      unsigned sum[3] = {0, 0, 0}, sa = 0;
      for (int d = 0; d < 4; d++) {
        int64_t gx = 2 * (tx * TILE + i) + (d & 1) - a->cminx * TILE;
        int64_t gy = 2 * (ty * TILE + j) + (d >> 1) - a->cminy * TILE;
        if (gx < 0 || gy < 0 || (uint64_t)gx >= cw || (uint64_t)gy >= chh)
          continue;
        acc(child + ((uint64_t)gy * cw + (uint64_t)gx) * bpp, bpp, sum, &sa,
            ch);
      }
      covered += store(o, sum, sa, 4, ch) != 0;
    }
  }
  return covered;
}

/* Encodes g_tile (dropping alpha when the tile is opaque) and writes it. */
static int emit(const tiles_level_args *a, int64_t tx, int64_t ty,
                uint64_t covered, double *st) {
  int bpp = a->mbpp, channels = bpp;
  const uint8_t *pix = g_tile;
  if (covered == (uint64_t)TILE * TILE) {
    int opaque = 1;
    for (size_t i = 0; i < (size_t)TILE * TILE && opaque; i++)
      opaque = g_tile[i * bpp + bpp - 1] == 255;
    if (opaque) {
      channels = bpp - 1;
      for (size_t i = 0; i < (size_t)TILE * TILE; i++) {
        g_pack[i * channels] = g_tile[i * bpp];
        if (channels == 3) {
          g_pack[i * 3 + 1] = g_tile[i * 4 + 1];
          g_pack[i * 3 + 2] = g_tile[i * 4 + 2];
        }
      }
      pix = g_pack;
    }
  }
  double t0 = now();
  if (tiles_png_encode(pix, TILE, channels, a->png_level, &g_png))
    return SHARC_ENOMEM;
  double t1 = now();
  char path[2200];
  snprintf(path, sizeof path, "%s/%d/%lld/%lld.png", a->dir, a->zoom,
           (long long)tx, (long long)ty);
  int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0)
    return -errno;
  size_t off = 0;
  while (off < g_png.len) {
    ssize_t w = write(fd, g_png.data + off, g_png.len - off);
    if (w < 0) {
      int e = errno;
      close(fd);
      return -e;
    }
    off += (size_t)w;
  }
  if (close(fd) != 0)
    return -errno;
  st[TILES_STAT_ENCODE] += t1 - t0;
  st[TILES_STAT_WRITE] += now() - t1;
  st[TILES_STAT_BYTES] += (double)g_png.len;
  return 0;
}

static int tiles_level(const sharc_task *t, uint64_t begin, uint64_t end) {
  size_t len = 0;
  const tiles_level_args *a = sharc_task_args(t, &len);
  const uint8_t *src = sharc_task_array(t, 0);
  uint8_t *mosaic = sharc_task_array(t, 1);
  uint8_t *flags = sharc_task_array(t, 2);
  double *stats = sharc_task_array(t, 3);
  const uint8_t *cflags = sharc_task_array(t, 4);
  if (!a || len != sizeof *a || !src || !mosaic || !flags || !stats ||
      (a->mbpp != 2 && a->mbpp != 4) || end > a->nx * a->ny ||
      sharc_task_array_size(t, 1) != a->nx * a->ny * TILE * TILE * a->mbpp ||
      sharc_task_array_size(t, 2) != a->nx * a->ny ||
      sharc_task_array_size(t, 3) != TILES_MAX_STATS_WORKERS * TILES_STAT_COUNT)
    return SHARC_EINVAL;
  if (a->overview
          ? (!cflags || sharc_task_array_size(t, 4) != a->cnx * a->cny ||
             sharc_task_array_size(t, 0) !=
                 a->cnx * a->cny * TILE * TILE * a->mbpp)
          : sharc_task_array_size(t, 0) !=
                a->dst_w * a->dst_h * (uint64_t)a->src_bpp)
    return SHARC_EINVAL;
  unsigned w = sharc_task_worker(t);
  double *st = stats + (size_t)(w % TILES_MAX_STATS_WORKERS) * TILES_STAT_COUNT;
  uint64_t stride = a->nx * TILE * (uint64_t)a->mbpp;
  for (uint64_t k = begin; k < end; k++) {
    int64_t ix = (int64_t)(k % a->nx), iy = (int64_t)(k / a->nx);
    int64_t tx = a->tminx + ix, ty = a->tminy + iy;
    double t0 = now();
    uint64_t covered = a->overview ? overview_tile(a, src, cflags, tx, ty)
                                   : base_tile(a, src, tx, ty);
    uint8_t *m = mosaic + (uint64_t)iy * TILE * stride +
                 (uint64_t)ix * TILE * (uint64_t)a->mbpp;
    for (int r = 0; r < TILE; r++)
      memcpy(m + (uint64_t)r * stride, g_tile + (size_t)r * TILE * a->mbpp,
             (size_t)TILE * (size_t)a->mbpp);
    st[TILES_STAT_SAMPLE] += now() - t0;
    flags[k] = covered != 0;
    if (covered) {
      int e = emit(a, tx, ty, covered, st);
      if (e)
        return e;
    }
  }
  return 0;
}
SHARC_KERNEL(tiles_level)
