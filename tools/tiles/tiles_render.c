/* The kernels of the tiles pipeline that need GDAL or libpng: the top
 * zooms (shade, warp, sample, encode, write, unit by unit) and the lower
 * zooms. See tiles_render.h. */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include <gdal.h>
#include <gdal_alg.h>

#include <sharc.h>

#include "tiles_png.h"
#include "tiles_render.h"

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* --- per-worker scratch memory ---------------------------------------------
 * A worker's buffers live in its own memory, allocated once and reused from
 * unit to unit, and are asked for as huge pages: on the virtual machines
 * measured, first touching a 4 KiB page costs about 10 us, so 256 MiB of
 * fresh small pages cost more than shading them. */
typedef struct scratch {
  void *p;
  size_t cap;
} scratch;

static void *scratch_get(scratch *s, size_t need) {
  if (need <= s->cap)
    return s->p;
  const size_t huge = (size_t)2 << 20;
  size_t cap = (need + huge - 1) / huge * huge;
  void *p = NULL;
  if (posix_memalign(&p, huge, cap) != 0)
    return NULL;
#ifdef MADV_HUGEPAGE
  madvise(p, cap, MADV_HUGEPAGE); /* advice: failing is harmless */
#endif
  free(s->p);
  s->p = p;
  s->cap = cap;
  return p;
}

/* --- the transformer ------------------------------------------------------ */

/* This worker's transformer, made at its first unit of a job and kept
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

/* --- sampling and averaging ----------------------------------------------- */

/* Per worker: the tile being made, the PNG buffer. */
static uint8_t g_tile[TILE * TILE * 4];
static uint8_t g_pack[TILE * TILE * 4];
static tiles_buf g_png;

/* The 4 query samples of one tile pixel along an axis, as distinct grid
 * indices with their multiplicities: near the data's own resolution the 4
 * samples mostly fall on one or two grid pixels, so a pixel costs 1-4
 * reads instead of 16. */
typedef struct runs {
  int n;
  unsigned w[4];
  int64_t idx[4];
} runs;
static runs g_crun[TILE], g_rrun[TILE];

/* idx: global grid indices (or -1); the runs hold them less off. */
static void make_runs(const int64_t *idx, int64_t off, runs *r) {
  for (int i = 0; i < TILE; i++) {
    runs *x = &r[i];
    x->n = 0;
    for (int d = 0; d < 4; d++) {
      int64_t c = idx[4 * i + d];
      if (c < 0)
        continue;
      c -= off;
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
 * reference keeps tiles comparable pixel for pixel. Returns whether any
 * sample falls on the grid, with their least and greatest index. */
static int query_axis(double lo, double hi, double origin, double step,
                      uint64_t size, int64_t *idx, int64_t *min,
                      int64_t *max) {
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
      if (!any || c < *min)
        *min = c;
      if (!any || c > *max)
        *max = c;
      any = 1;
    }
  }
  return any;
}

/* A window of the warped grid in a worker's memory: grid pixel (x, y) at
 * px[((y - y0) * w + x - x0) * bpp]. */
typedef struct grid_win {
  const uint8_t *px;
  int64_t x0, y0;
  uint64_t w;
  int bpp;
} grid_win;

/* The runs of one axis as two (index, weight) pairs, the second weight 0
 * (and its index the first's) where the 4 samples hit one grid pixel.
 * Returns 0 when some pixel's samples hit more than two grid pixels or
 * none. */
static int two_runs(const runs *r, int64_t *i0, int64_t *i1, unsigned *w0,
                    unsigned *w1) {
  for (int i = 0; i < TILE; i++) {
    if (r[i].n < 1 || r[i].n > 2)
      return 0;
    i0[i] = r[i].idx[0];
    w0[i] = r[i].w[0];
    i1[i] = r[i].n == 2 ? r[i].idx[1] : r[i].idx[0];
    w1[i] = r[i].n == 2 ? r[i].w[1] : 0;
  }
  return 1;
}

/* Hot path of grey tiles where every tile pixel's samples fall on at most
 * 2x2 grid pixels (a top zoom at or below the grid's resolution): four
 * reads a pixel, no branch. The same sums as base_tile(). */
static int base_tile_grey2(const grid_win *g, uint64_t *covered) {
  static int64_t ci0[TILE], ci1[TILE], ri0[TILE], ri1[TILE];
  static unsigned cw0[TILE], cw1[TILE], rw0[TILE], rw1[TILE];
  if (!two_runs(g_crun, ci0, ci1, cw0, cw1) ||
      !two_runs(g_rrun, ri0, ri1, rw0, rw1))
    return 0;
  uint64_t n = 0;
  for (int j = 0; j < TILE; j++) {
    const uint8_t *a = g->px + (uint64_t)ri0[j] * g->w;
    const uint8_t *b = g->px + (uint64_t)ri1[j] * g->w;
    unsigned wa = rw0[j], wb = rw1[j];
    uint8_t *o = g_tile + (size_t)j * TILE * 2;
    for (int i = 0; i < TILE; i++) {
      unsigned a0 = a[ci0[i]], a1 = a[ci1[i]], b0 = b[ci0[i]], b1 = b[ci1[i]];
      unsigned x0 = cw0[i], x1 = cw1[i];
      unsigned sum = wa * (x0 * a0 + x1 * a1) + wb * (x0 * b0 + x1 * b1);
      unsigned sa = wa * (x0 * (a0 != 0) + x1 * (a1 != 0)) +
                    wb * (x0 * (b0 != 0) + x1 * (b1 != 0));
      unsigned grey = sa == 16  ? (sum + 8) >> 4
                      : sa == 0 ? 0
                                : (2 * sum + sa) / (2 * sa);
      unsigned alpha = (sa * 255 + 8) >> 4;
      o[2 * i] = (uint8_t)grey;
      o[2 * i + 1] = (uint8_t)alpha;
      n += alpha != 0;
    }
  }
  *covered = n;
  return 1;
}

/* A top-zoom tile: the 1024x1024 nearest-neighbour query of the grid (the
 * indices cidx, ridx from query_axis) averaged over 4x4 blocks, as
 * gdal2tiles' default (average) does, into g_tile (mbpp bytes a pixel).
 * Returns the count of pixels with some alpha. */
static uint64_t base_tile(const grid_win *g, const int64_t *cidx,
                          const int64_t *ridx, int mbpp) {
  make_runs(cidx, g->x0, g_crun);
  make_runs(ridx, g->y0, g_rrun);
  uint64_t covered = 0;
  if (g->bpp == 1 && mbpp == 2 && base_tile_grey2(g, &covered))
    return covered;
  memset(g_tile, 0, sizeof g_tile);
  size_t bpp = (size_t)g->bpp, stride = g->w * bpp;
  for (int j = 0; j < TILE; j++) {
    const runs *rr = &g_rrun[j];
    if (!rr->n)
      continue;
    uint8_t *o = g_tile + (size_t)j * TILE * mbpp;
    for (int i = 0; i < TILE; i++, o += mbpp) {
      const runs *cr = &g_crun[i];
      unsigned sum[3] = {0, 0, 0}, sa = 0;
      for (int y = 0; y < rr->n; y++) {
        const uint8_t *row = g->px + (uint64_t)rr->idx[y] * stride;
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
      covered += store(o, sum, sa, 16, mbpp - 1) != 0;
    }
  }
  return covered;
}

/* A mosaic of one zoom's tiles: tile (x, y) of rect at pixel rows
 * (y - rect.y0) * 256 of px, flags[(y - y0) * nx + x - x0] saying whether
 * it has anything. */
typedef struct mosaic {
  const uint8_t *px;
  const uint8_t *flags;
  tiles_rect rect;
} mosaic;

/* An overview tile: 2x2 averages of the zoom above (its mosaic c), into
 * g_tile. */
static uint64_t overview_tile(const mosaic *c, int bpp, int64_t tx,
                              int64_t ty) {
  memset(g_tile, 0, sizeof g_tile);
  int any = 0;
  for (int d = 0; d < 4; d++) {
    int64_t cx = 2 * tx + (d & 1) - c->rect.x0,
            cy = 2 * ty + (d >> 1) - c->rect.y0;
    if (cx >= 0 && cy >= 0 && cx < (int64_t)c->rect.nx &&
        cy < (int64_t)c->rect.ny &&
        c->flags[(uint64_t)cy * c->rect.nx + (uint64_t)cx])
      any = 1;
  }
  if (!any)
    return 0;
  int ch = bpp - 1;
  const uint8_t *child = c->px;
  int64_t cminx = c->rect.x0, cminy = c->rect.y0;
  uint64_t cw = c->rect.nx * TILE, chh = c->rect.ny * TILE, covered = 0;
  for (int j = 0; j < TILE; j++) {
    uint8_t *o = g_tile + (size_t)j * TILE * bpp;
    int64_t gy0 = 2 * (ty * TILE + j) - cminy * TILE;
    int64_t gx0 = 2 * (tx * TILE) - cminx * TILE;
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
        int64_t gx = 2 * (tx * TILE + i) + (d & 1) - cminx * TILE;
        int64_t gy = 2 * (ty * TILE + j) + (d >> 1) - cminy * TILE;
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

/* Encodes g_tile (dropping alpha when the tile is opaque) and writes it
 * as dir/z/x/y.png. */
static int emit(const char *dir, int zoom, int mbpp, int png_level,
                int64_t tx, int64_t ty, uint64_t covered, double *st) {
  int bpp = mbpp, channels = bpp;
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
  if (tiles_png_encode(pix, TILE, channels, png_level, &g_png))
    return SHARC_ENOMEM;
  double t1 = now();
  char path[2200];
  snprintf(path, sizeof path, "%s/%d/%lld/%lld.png", dir, zoom, (long long)tx,
           (long long)ty);
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

static void put_tile(uint8_t *dst, uint64_t stride, int mbpp) {
  for (int r = 0; r < TILE; r++)
    memcpy(dst + (uint64_t)r * stride, g_tile + (size_t)r * TILE * mbpp,
           (size_t)TILE * (size_t)mbpp);
}

static int in_rect(const tiles_rect *r, int64_t x, int64_t y) {
  return x >= r->x0 && y >= r->y0 && x < r->x0 + (int64_t)r->nx &&
         y < r->y0 + (int64_t)r->ny;
}

/* --- tiles_top ------------------------------------------------------------ */

/* Per worker: the query indices of the unit's top-zoom tile columns and
 * rows, and its buffers. */
#define UNIT_SIDE (1 << TILES_MAX_UNIT_LEVELS)
static int64_t g_ucol[UNIT_SIDE][4 * TILE], g_urow[UNIT_SIDE][4 * TILE];
static int g_ucol_any[UNIT_SIDE], g_urow_any[UNIT_SIDE];
static scratch g_xy, g_pos, g_shaded, g_grid;
static scratch g_umosaic[TILES_MAX_UNIT_LEVELS + 1];
static uint8_t g_uflags[TILES_MAX_UNIT_LEVELS + 1][UNIT_SIDE * UNIT_SIDE];

typedef struct top_ctx {
  const tiles_top_args *a;
  const float *dem; /* the whole DEM, or NULL: read windows from ds */
  GDALRasterBandH band;
  const void *shade_args;
  void *tr;
  uint8_t *flags;
  double *st;
} top_ctx;

/* This worker's handle on the DEM file, kept from unit to unit and from
 * job to job while the path stays the same. */
static GDALDatasetH g_dem_ds;
static char *g_dem_path;
static scratch g_demwin;

static GDALRasterBandH dem_band(const char *path) {
  if (g_dem_ds && !strcmp(g_dem_path, path))
    return GDALGetRasterBand(g_dem_ds, 1);
  if (g_dem_ds)
    GDALClose(g_dem_ds);
  free(g_dem_path);
  g_dem_path = strdup(path);
  g_dem_ds = g_dem_path ? GDALOpen(path, GA_ReadOnly) : NULL;
  return g_dem_ds ? GDALGetRasterBand(g_dem_ds, 1) : NULL;
}

/* Shades the DEM's window [c0, c1) x [r0, r1) into out (bpp a pixel),
 * reading the window and its 1-pixel halo from the file first when the
 * DEM is not in memory. */
static int shade_window(const top_ctx *c, uint8_t *out, uint64_t c0,
                        uint64_t c1, uint64_t r0, uint64_t r1) {
  const tiles_warp_args *w = &c->a->warp;
  const float *dem = c->dem;
  uint64_t stride = w->src_w, dr0 = 0, dc0 = 0;
  if (!dem) {
    double t0 = now();
    dc0 = c0 > 0 ? c0 - 1 : 0;
    dr0 = r0 > 0 ? r0 - 1 : 0;
    uint64_t dc1 = c1 < w->src_w ? c1 + 1 : c1;
    uint64_t dr1 = r1 < w->src_h ? r1 + 1 : r1;
    stride = dc1 - dc0;
    float *buf = scratch_get(&g_demwin, stride * (dr1 - dr0) * sizeof *buf);
    if (!buf)
      return SHARC_ENOMEM;
    if (GDALRasterIO(c->band, GF_Read, (int)dc0, (int)dr0, (int)stride,
                     (int)(dr1 - dr0), buf, (int)stride, (int)(dr1 - dr0),
                     GDT_Float32, 0, 0) != CE_None)
      return SHARC_EFORMAT;
    dem = buf;
    c->st[TILES_STAT_READ] += now() - t0;
  }
  if (c->a->shading == TILES_SHADE_HILLSHADE) {
    sharc_hillshade_window(c->shade_args, dem, stride, dr0, dc0, out, c1 - c0,
                           r0, r1, c0, c1);
    return 0;
  }
  for (uint64_t r = r0; r < r1; r++) {
    const float *row = dem + (r - dr0) * stride;
    uint8_t *o = out + (r - r0) * (c1 - c0) * 4;
    for (uint64_t x = c0; x < c1; x++, o += 4)
      sharc_relief_color(c->shade_args, row[x - dc0], o);
  }
  return 0;
}

/* The unit's grid window [gx0, gx1) x [gy0, gy1): each pixel centre through
 * the transformer to a DEM pixel, the DEM shaded over just the pixels hit,
 * then gathered. Returns 0, 1 when no pixel falls on the DEM, or an error. */
static int warp_window(const top_ctx *c, int64_t gx0, int64_t gx1, int64_t gy0,
                       int64_t gy1, grid_win *g) {
  const tiles_warp_args *w = &c->a->warp;
  size_t gw = (size_t)(gx1 - gx0), gh = (size_t)(gy1 - gy0),
         bpp = (size_t)w->bpp;
  double t0 = now();
  double *x = scratch_get(&g_xy, 3 * gw * sizeof *x + gw * sizeof(int));
  int32_t *pos = scratch_get(&g_pos, 2 * gw * gh * sizeof *pos);
  uint8_t *grid = scratch_get(&g_grid, gw * gh * bpp);
  if (!x || !pos || !grid)
    return SHARC_ENOMEM;
  double *y = x + gw, *z = y + gw;
  int *ok = (int *)(z + gw);
  int64_t sx0 = INT64_MAX, sx1 = -1, sy0 = INT64_MAX, sy1 = -1;
  for (size_t r = 0; r < gh; r++) {
    for (size_t i = 0; i < gw; i++) {
      x[i] = (double)(gx0 + (int64_t)i) + 0.5;
      y[i] = (double)(gy0 + (int64_t)r) + 0.5;
      z[i] = 0;
    }
    GDALApproxTransform(c->tr, TRUE, (int)gw, x, y, z, ok);
    int32_t *pr = pos + 2 * r * gw;
    for (size_t i = 0; i < gw; i++) {
      /* inside the DEM the coordinates are >= 0: truncation is floor */
      if (!ok[i] || !(x[i] >= 0) || !(y[i] >= 0) || x[i] >= (double)w->src_w ||
          y[i] >= (double)w->src_h) {
        pr[2 * i] = -1;
        continue;
      }
      int64_t ix = (int64_t)x[i], iy = (int64_t)y[i];
      pr[2 * i] = (int32_t)ix;
      pr[2 * i + 1] = (int32_t)iy;
      sx0 = ix < sx0 ? ix : sx0;
      sx1 = ix > sx1 ? ix : sx1;
      sy0 = iy < sy0 ? iy : sy0;
      sy1 = iy > sy1 ? iy : sy1;
    }
  }
  double t1 = now();
  c->st[TILES_STAT_WARP] += t1 - t0;
  if (sx1 < 0)
    return 1;
  uint64_t sw = (uint64_t)(sx1 - sx0 + 1), sh = (uint64_t)(sy1 - sy0 + 1);
  uint8_t *shaded = scratch_get(&g_shaded, sw * sh * bpp);
  if (!shaded)
    return SHARC_ENOMEM;
  double r0 = c->st[TILES_STAT_READ];
  int e = shade_window(c, shaded, (uint64_t)sx0, (uint64_t)sx1 + 1,
                       (uint64_t)sy0, (uint64_t)sy1 + 1);
  if (e)
    return e;
  double t2 = now();
  c->st[TILES_STAT_SHADE] += t2 - t1 - (c->st[TILES_STAT_READ] - r0);
  for (size_t r = 0; r < gh; r++) {
    const int32_t *pr = pos + 2 * r * gw;
    uint8_t *o = grid + r * gw * bpp;
    for (size_t i = 0; i < gw; i++) {
      if (pr[2 * i] < 0) {
        memset(o + i * bpp, 0, bpp);
        continue;
      }
      uint64_t k = (uint64_t)(pr[2 * i + 1] - sy0) * sw +
                   (uint64_t)(pr[2 * i] - sx0);
      /* Fixed-size copies: no library call per pixel. */
      if (bpp == 1) {
        o[i] = shaded[k];
      } else {
        uint32_t v;
        memcpy(&v, shaded + 4 * k, 4);
        memcpy(o + 4 * i, &v, 4);
      }
    }
  }
  c->st[TILES_STAT_WARP] += now() - t2;
  g->px = grid;
  g->x0 = gx0;
  g->y0 = gy0;
  g->w = gw;
  g->bpp = w->bpp;
  return 0;
}

/* One unit: the tile (ux, uy) of rect[0] and the tiles under it down to
 * the top zoom. Each zoom's tiles of the unit are made into the unit's own
 * mosaic of that zoom (the worker's memory), encoded and written when not
 * empty; the unit's tile goes to the shared mosaic for the lower zooms.
 * Its loops over pixels (shading, the gather, sampling, averaging) are the
 * hot paths; the buffers are allocated at a worker's first unit only. */
static int unit(const top_ctx *c, int64_t ux, int64_t uy, uint8_t *out_mosaic) {
  const tiles_top_args *a = c->a;
  int L = a->levels, mbpp = a->mbpp, n = 1 << L;
  int zt = a->zoom + L;
  double res = MERC_RES0 / ldexp(1.0, zt);
  int64_t tx0 = ux * n, ty0 = uy * n;
  int64_t gx0 = 0, gx1 = -1, gy0 = 0, gy1 = -1;
  int any_col = 0, any_row = 0;
  for (int k = 0; k < n; k++) {
    double x0 = -MERC_ORIGIN + (double)(tx0 + k) * TILE * res;
    double y0 = MERC_ORIGIN - (double)(ty0 + k) * TILE * res;
    int64_t lo = 0, hi = 0;
    g_ucol_any[k] = query_axis(x0, x0 + TILE * res, a->warp.dst_gt[0],
                               a->warp.dst_gt[1], a->warp.dst_w, g_ucol[k],
                               &lo, &hi);
    if (g_ucol_any[k]) {
      gx0 = any_col && gx0 < lo ? gx0 : lo;
      gx1 = any_col && gx1 > hi + 1 ? gx1 : hi + 1;
      any_col = 1;
    }
    g_urow_any[k] = query_axis(y0, y0 - TILE * res, a->warp.dst_gt[3],
                               a->warp.dst_gt[5], a->warp.dst_h, g_urow[k],
                               &lo, &hi);
    if (g_urow_any[k]) {
      gy0 = any_row && gy0 < lo ? gy0 : lo;
      gy1 = any_row && gy1 > hi + 1 ? gy1 : hi + 1;
      any_row = 1;
    }
  }
  grid_win g = {NULL, 0, 0, 0, 1};
  int e = any_col && any_row ? warp_window(c, gx0, gx1, gy0, gy1, &g) : 1;
  if (e < 0)
    return e;
  int empty = e == 1;
  for (int d = L; d >= 0; d--) {
    int side = 1 << d, z = a->zoom + d;
    const tiles_rect *rect = &a->rect[d];
    uint64_t stride = (uint64_t)side * TILE * (uint64_t)mbpp;
    uint8_t *um = d > 0 ? scratch_get(&g_umosaic[d], stride * (uint64_t)side *
                                                         TILE)
                        : NULL;
    if (d > 0 && !um)
      return SHARC_ENOMEM;
    /* the unit's tiles one zoom deeper, made just before */
    mosaic child = {d < L ? g_umosaic[d + 1].p : NULL,
                    d < L ? g_uflags[d + 1] : NULL,
                    {ux << (d + 1), uy << (d + 1), (uint64_t)2 * side,
                     (uint64_t)2 * side, 0}};
    for (int k = 0; k < side * side; k++) {
      int kx = k % side, ky = k / side;
      int64_t tx = (ux << d) + kx, ty = (uy << d) + ky;
      double t0 = now();
      uint64_t covered = 0;
      if (!empty && in_rect(rect, tx, ty)) {
        if (d == L) {
          int64_t cx = tx - tx0, cy = ty - ty0;
          covered = g_ucol_any[cx] && g_urow_any[cy]
                        ? base_tile(&g, g_ucol[cx], g_urow[cy], mbpp)
                        : (memset(g_tile, 0, sizeof g_tile), 0);
        } else {
          covered = overview_tile(&child, mbpp, tx, ty);
        }
      } else {
        memset(g_tile, 0, sizeof g_tile);
      }
      if (d > 0)
        put_tile(um + (uint64_t)ky * TILE * stride + (uint64_t)kx * TILE * mbpp,
                 stride, mbpp);
      else if (covered && out_mosaic) /* the shared mosaic starts zeroed */
        put_tile(out_mosaic, (uint64_t)a->rect[0].nx * TILE * mbpp, mbpp);
      c->st[TILES_STAT_SAMPLE] += now() - t0;
      g_uflags[d][k] = covered != 0;
      if (!in_rect(rect, tx, ty))
        continue;
      c->flags[rect->flag0 + (uint64_t)(ty - rect->y0) * rect->nx +
               (uint64_t)(tx - rect->x0)] = covered != 0;
      if (covered) {
        int err = emit(a->dir, z, mbpp, a->png_level, tx, ty, covered, c->st);
        if (err)
          return err;
      }
    }
  }
  return 0;
}

static int tiles_top(const sharc_task *t, uint64_t begin, uint64_t end) {
  size_t len = 0;
  const tiles_top_args *a = sharc_task_args(t, &len);
  top_ctx c = {a, NULL, NULL, sharc_task_array(t, 5), NULL,
               sharc_task_array(t, 2), NULL};
  const char *src = sharc_task_array(t, 0);
  uint64_t src_len = sharc_task_array_size(t, 0);
  uint8_t *mosaic_px = sharc_task_array(t, 1);
  double *stats = sharc_task_array(t, 3);
  const char *wkts = sharc_task_array(t, 4);
  uint64_t wlen = sharc_task_array_size(t, 4);
  if (!a || len != sizeof *a || !src || !c.shade_args || !mosaic_px ||
      !c.flags || !stats || !wkts || wlen < 2 || wkts[wlen - 1] != '\0' ||
      strlen(wkts) + 1 >= wlen || a->levels < 0 ||
      a->levels > TILES_MAX_UNIT_LEVELS || (a->mbpp != 2 && a->mbpp != 4) ||
      a->warp.bpp != (a->mbpp == 2 ? 1 : 4) ||
      end > a->rect[0].nx * a->rect[0].ny ||
      (a->from_file ? src_len < 2 || src[src_len - 1] != '\0'
                    : src_len != a->warp.src_w * a->warp.src_h) ||
      sharc_task_array_size(t, 3) !=
          TILES_MAX_STATS_WORKERS * TILES_STAT_COUNT ||
      sharc_task_array_size(t, 5) !=
          (a->shading == TILES_SHADE_HILLSHADE ? sizeof(sharc_hillshade_args)
                                               : sizeof(sharc_relief_args)))
    return SHARC_EINVAL;
  uint64_t flags_n = a->rect[a->levels].flag0 +
                     a->rect[a->levels].nx * a->rect[a->levels].ny;
  uint64_t msize = a->rect[0].nx * a->rect[0].ny * TILE * TILE * a->mbpp;
  if (sharc_task_array_size(t, 2) != flags_n ||
      (a->has_mosaic && sharc_task_array_size(t, 1) != msize))
    return SHARC_EINVAL;
  c.tr = warp_transformer(&a->warp, wkts, wlen);
  if (!c.tr)
    return SHARC_EFORMAT;
  if (a->from_file) {
    c.band = dem_band(src);
    if (!c.band)
      return SHARC_ENOENT;
  } else {
    c.dem = (const float *)(const void *)src;
  }
  unsigned w = sharc_task_worker(t);
  c.st = stats + (size_t)(w % TILES_MAX_STATS_WORKERS) * TILES_STAT_COUNT;
  uint64_t mstride = a->rect[0].nx * TILE * (uint64_t)a->mbpp;
  for (uint64_t k = begin; k < end; k++) {
    uint64_t ix = k % a->rect[0].nx, iy = k / a->rect[0].nx;
    uint8_t *m = a->has_mosaic ? mosaic_px + iy * TILE * mstride +
                                     ix * TILE * (uint64_t)a->mbpp
                               : NULL;
    int e = unit(&c, a->rect[0].x0 + (int64_t)ix, a->rect[0].y0 + (int64_t)iy,
                 m);
    if (e)
      return e;
  }
  return 0;
}
SHARC_KERNEL(tiles_top)

/* --- tiles_level ---------------------------------------------------------- */

static int tiles_level(const sharc_task *t, uint64_t begin, uint64_t end) {
  size_t len = 0;
  const tiles_level_args *a = sharc_task_args(t, &len);
  const uint8_t *src = sharc_task_array(t, 0);
  uint8_t *mosaic_px = sharc_task_array(t, 1);
  uint8_t *flags = sharc_task_array(t, 2);
  double *stats = sharc_task_array(t, 3);
  const uint8_t *cflags = sharc_task_array(t, 4);
  if (!a || len != sizeof *a || !src || !mosaic_px || !flags || !stats ||
      !cflags || (a->mbpp != 2 && a->mbpp != 4) ||
      end > a->rect.nx * a->rect.ny ||
      sharc_task_array_size(t, 1) !=
          a->rect.nx * a->rect.ny * TILE * TILE * a->mbpp ||
      sharc_task_array_size(t, 2) != a->rect.nx * a->rect.ny ||
      sharc_task_array_size(t, 3) !=
          TILES_MAX_STATS_WORKERS * TILES_STAT_COUNT ||
      sharc_task_array_size(t, 4) != a->child.nx * a->child.ny ||
      sharc_task_array_size(t, 0) !=
          a->child.nx * a->child.ny * TILE * TILE * a->mbpp)
    return SHARC_EINVAL;
  unsigned w = sharc_task_worker(t);
  double *st = stats + (size_t)(w % TILES_MAX_STATS_WORKERS) * TILES_STAT_COUNT;
  uint64_t stride = a->rect.nx * TILE * (uint64_t)a->mbpp;
  mosaic child = {src, cflags, a->child};
  for (uint64_t k = begin; k < end; k++) {
    int64_t ix = (int64_t)(k % a->rect.nx), iy = (int64_t)(k / a->rect.nx);
    int64_t tx = a->rect.x0 + ix, ty = a->rect.y0 + iy;
    double t0 = now();
    uint64_t covered = overview_tile(&child, a->mbpp, tx, ty);
    if (covered)
      put_tile(mosaic_px + (uint64_t)iy * TILE * stride +
                   (uint64_t)ix * TILE * (uint64_t)a->mbpp,
               stride, a->mbpp);
    st[TILES_STAT_SAMPLE] += now() - t0;
    flags[k] = covered != 0;
    if (covered) {
      int e = emit(a->dir, a->zoom, a->mbpp, a->png_level, tx, ty, covered, st);
      if (e)
        return e;
    }
  }
  return 0;
}
SHARC_KERNEL(tiles_level)
