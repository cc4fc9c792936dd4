/* sharc tiles: a DEM to a web-map pyramid. The DEM is read into a shared
 * array (by blocks of rows in parallel), shaded or coloured row-parallel,
 * warped to a Web Mercator grid with GDAL's transformer (rows in parallel),
 * then each zoom level is one job over its rectangle of tiles: the top zoom
 * samples the grid, lower zooms average the level above; each tile is PNG
 * encoded and written by the worker that made it, and entirely empty tiles
 * are neither encoded nor written. Everything is built under a temporary
 * name and renamed into place last, so a failed run leaves nothing that
 * looks complete. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <libgen.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cpl_conv.h>
#include <cpl_string.h>
#include <gdal.h>
#include <gdal_alg.h>
#include <ogr_srs_api.h>
#include <sqlite3.h>

#include <sharc.h>

#include "dem.h"
#include "opts.h"
#include "progress.h"
#include "tiles_cmd.h"
#include "tiles_raster.h"
#include "tiles_render.h"

#define LEAFLET_DIR "/usr/share/javascript/leaflet"

typedef struct tiles_opts {
  const char *dem, *out, *table;
  int zmin, zmax; /* -1: automatic */
  unsigned workers;
  int mbtiles;
  int png_level;
  uint64_t size; /* synthetic DEM */
  double z, scale, az, alt;
  int shade_mode; /* SHARC_HILLSHADE_* */
  int gradient;   /* SHARC_GRADIENT_* */
  int quiet;
  tiles_input input;
} tiles_opts;

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static void usage(FILE *out) {
  fprintf(out,
          "usage: sharc tiles [DEM] OUT [--zoom MIN-MAX] [--hillshade | "
          "--color-relief TABLE]\n"
          "                   [--workers W] [--format xyz|mbtiles] "
          "[--png-level L]\n"
          "                   [-z Z] [-s SCALE] [-az DEG] [-alt DEG] "
          "[-combined | -multidirectional | -igor]\n"
          "                   [-alg Horn|ZevenbergenThorne]\n"
          "                   [--size N] [--quiet]\n"
          "                   [--raw-size WxH] [--geotransform a,b,c,d,e,f] "
          "[--crs CRS] [--nodata V]\n\n"
          "Renders DEM (any raster GDAL reads; default: the built-in "
          "synthetic terrain,\n"
          "N x N pixels, default 2048) into 256x256 PNG tiles in Web "
          "Mercator: an XYZ\n"
          "directory OUT/z/x/y.png with an index.html Leaflet viewer "
          "(default), or one\n"
          "MBTiles file OUT (--format mbtiles). The default zoom range is "
          "gdal2tiles':\n"
          "from the zoom where the DEM fits one tile to the one matching its "
          "resolution.\n\n"
          "  --hillshade        gdaldem hillshade (the default); -z, -s, -az, "
          "-alt,\n"
          "                     -combined, -multidirectional, -igor, -alg as "
          "gdaldem's\n"
          "                     (a geographic DEM gets -s 111120 unless "
          "given)\n"
          "  --color-relief T   gdaldem color-relief with table T\n"
          "  --png-level L      zlib level 0..9 (default 1: one filter and "
          "run-length\n"
          "                     coding; 6 and up: libpng's adaptive filters, "
          "as gdal2tiles)\n"
          "  --quiet            no progress on the terminal\n"
          "  DEM.npy (float32, 2-D) or a raw float32 DEM (--raw-size) is "
          "mapped in place;\n"
          "  it needs --geotransform and --crs (and --nodata if any).\n");
}

static int parse_zoom(const char *s, int *lo, int *hi) {
  char *end = NULL;
  long a = strtol(s, &end, 10), b;
  if (end == s || a < 0)
    return -1;
  if (*end == '\0') {
    b = a;
  } else {
    if (*end != '-')
      return -1;
    const char *t = end + 1;
    b = strtol(t, &end, 10);
    if (end == t || *end)
      return -1;
  }
  if (a > 30 || b > 30 || b < 0)
    return -1;
  *lo = (int)a;
  *hi = (int)b;
  return 0;
}

static int parse(int argc, char **argv, tiles_opts *o) {
  static const struct option longs[] = {
      {"zoom", required_argument, NULL, 'Z'},
      {"hillshade", no_argument, NULL, 'H'},
      {"color-relief", required_argument, NULL, 'C'},
      {"workers", required_argument, NULL, 'w'},
      {"format", required_argument, NULL, 'f'},
      {"png-level", required_argument, NULL, 'L'},
      {"size", required_argument, NULL, 'n'},
      {"z", required_argument, NULL, 'z'},
      {"s", required_argument, NULL, 's'},
      {"az", required_argument, NULL, 'a'},
      {"alt", required_argument, NULL, 'l'},
      {"combined", no_argument, NULL, 'c'},
      {"multidirectional", no_argument, NULL, 'm'},
      {"igor", no_argument, NULL, 'i'},
      {"alg", required_argument, NULL, 'g'},
      {"quiet", no_argument, NULL, 'q'},
      {"raw-size", required_argument, NULL, 'R'},
      {"geotransform", required_argument, NULL, 'G'},
      {"crs", required_argument, NULL, 'K'},
      {"nodata", required_argument, NULL, 'N'},

      {"help", no_argument, NULL, 'h'},
      {NULL, 0, NULL, 0}};
  int c;
  uint64_t v;
  optind = 1;
  opterr = 0;
  while ((c = getopt_long_only(argc, argv, "", longs, NULL)) != -1) {
    char *end = NULL;
    switch (c) {
    case 'h':
      usage(stdout);
      return -1;
    case 'Z':
      if (parse_zoom(optarg, &o->zmin, &o->zmax))
        return tool_fail("tiles", 2, "--zoom: '%s' is not MIN-MAX (0..30)",
                         optarg);
      if (o->zmin > o->zmax)
        return tool_fail("tiles", 2, "--zoom: the range %s is empty", optarg);
      break;
    case 'H':
      o->table = NULL;
      break;
    case 'C':
      o->table = optarg;
      break;
    case 'w':
      if (tool_parse_u64(optarg, &v) || v == 0 || v > 4096)
        return tool_fail("tiles", 2,
                         "--workers: '%s' is not a count in 1..4096", optarg);
      o->workers = (unsigned)v;
      break;
    case 'f':
      if (!strcmp(optarg, "xyz"))
        o->mbtiles = 0;
      else if (!strcmp(optarg, "mbtiles"))
        o->mbtiles = 1;
      else
        return tool_fail("tiles", 2, "--format: '%s' is not xyz or mbtiles",
                         optarg);
      break;
    case 'L':
      if (tool_parse_u64(optarg, &v) || v > 9)
        return tool_fail("tiles", 2, "--png-level: '%s' is not in 0..9",
                         optarg);
      o->png_level = (int)v;
      break;
    case 'n':
      if (tool_parse_u64(optarg, &v) || v < 16 || v > 65536)
        return tool_fail("tiles", 2, "--size: '%s' is not a count in 16..65536",
                         optarg);
      o->size = v;
      break;
    case 'z':
    case 's':
    case 'a':
    case 'l': {
      double d = strtod(optarg, &end);
      const char *name = c == 'z'   ? "-z"
                         : c == 's' ? "-s"
                         : c == 'a' ? "-az"
                                    : "-alt";
      if (!*optarg || *end || !isfinite(d) || (c == 's' && d <= 0) ||
          (c == 'l' && fabs(d) > 90))
        return tool_fail("tiles", 2, "%s: '%s' is not a valid number", name,
                         optarg);
      if (c == 'z')
        o->z = d;
      else if (c == 's')
        o->scale = d;
      else if (c == 'a')
        o->az = d;
      else
        o->alt = d;
      break;
    }
    case 'c':
      o->shade_mode = SHARC_HILLSHADE_COMBINED;
      break;
    case 'm':
      o->shade_mode = SHARC_HILLSHADE_MULTIDIRECTIONAL;
      break;
    case 'i':
      o->shade_mode = SHARC_HILLSHADE_IGOR;
      break;
    case 'g':
      if (tiles_parse_gradient("tiles", optarg, &o->gradient))
        return 2;
      break;
    case 'q':
      o->quiet = 1;
      break;
    case 'R':
    case 'G':
    case 'K':
    case 'N':
      if (tiles_input_option("tiles", TILES_INPUT_LETTER_NAME(c), optarg,
                             &o->input))
        return 2;
      break;
    default:
      return tool_fail("tiles", 2, "unknown or incomplete option '%s'",
                       argv[optind - 1]);
    }
  }
  /* as gdaldem: -igor has no light altitude */
  if (o->shade_mode == SHARC_HILLSHADE_IGOR && o->alt != 45.0)
    return tool_fail("tiles", 2, "-igor and -alt cannot be used together");
  int rest = argc - optind;
  if (rest == 1) {
    o->out = argv[optind];
  } else if (rest == 2) {
    o->dem = argv[optind];
    o->out = argv[optind + 1];
  } else {
    return tool_fail("tiles", 2, "expected [DEM] OUT (try --help)");
  }
  return 0;
}

/* --- the pipeline's state ---------------------------------------------------
 */

typedef struct phase_times {
  double read, grid, top, lower, finish;
  double st[TILES_STAT_COUNT]; /* summed over workers */
  uint64_t written, empty;
  double imbalance_top;
  int unit_zoom; /* the top job's unit */
} phase_times;

typedef struct pyramid {
  tiles_opts *o;
  sharc_pool *pool;
  tiles_dem dem;
  sharc_array *shading; /* sharc_hillshade_args or sharc_relief_args */
  int src_bpp;          /* shaded: 1 (grey) or 4 (RGBA) bytes per pixel */
  sharc_array *wkts;    /* the DEM's WKT then the grid's */
  uint64_t gw, gh;      /* the Web Mercator grid */
  double ggt[6];
  char *merc_wkt;
  char tmpdir[2048]; /* where tiles are written */
  char outtmp[2200]; /* mbtiles: the database under its temporary name */
  phase_times t;
  /* Which tiles were written, per zoom (the viewer asks only for those). */
  struct {
    int64_t x0, y0;
    uint64_t nx, ny;
    char *bits; /* '0' / '1' per tile, row-major, NUL-terminated */
  } have[31];
  char msg[2048];
} pyramid;

static int failf(pyramid *p, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static int failf(pyramid *p, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(p->msg, sizeof p->msg, fmt, ap);
  va_end(ap);
  return 1;
}

/* Runs a job of the pyramid, with a progress bar on a terminal (unless
 * --quiet); *imbalance (if not NULL) gets the report's. */
static int run_job(pyramid *p, const char *kernel, uint64_t n,
                   sharc_job_opts *jo, double *imbalance) {
  sharc_job *job;
  int quiet = p->o->quiet || !isatty(STDERR_FILENO);
  int e = tool_run_job("tiles", p->pool, kernel, n, jo, quiet, &job);
  if (e)
    failf(p, "%s: %s", p->dem.name,
          job ? sharc_job_errmsg(job) : sharc_strerror(e));
  else if (imbalance != NULL)
    *imbalance = sharc_job_report(job)->imbalance_pct;
  sharc_job_free(job);
  return e != 0;
}

/* The shading's arguments, in a shared array for the top job: gdaldem
 * hillshade's, or the colour table resolved against the DEM's range. */
static int prepare_shading(pyramid *p) {
  tiles_dem *d = &p->dem;
  if (!p->o->table) {
    uint64_t n = sizeof(sharc_hillshade_args);
    if (sharc_array_create(p->pool, SHARC_U8, 1, &n, NULL, &p->shading))
      return failf(p, "out of shared memory");
    sharc_hillshade_args *a = sharc_array_data(p->shading);
    sharc_hillshade_defaults(a, d->width, d->height, d->gt[1], -d->gt[5]);
    a->z = p->o->z;
    a->xscale = a->yscale = p->o->scale > 0 ? p->o->scale
                            : d->geographic ? 111120.0
                                            : 1.0;
    a->azimuth = p->o->az;
    a->altitude = p->o->alt;
    a->mode = p->o->shade_mode;
    a->gradient = p->o->gradient;
    a->has_nodata = d->has_nodata;
    a->nodata = d->nodata;
    p->src_bpp = 1;
    return 0;
  }
  sharc_relief_table *table = malloc(sizeof *table);
  int rc = 1;
  char why[256];
  uint64_t n = sizeof(sharc_relief_args);
  if (!table) {
    failf(p, "out of memory");
  } else if (tiles_load_table(p->o->table, table, p->msg, sizeof p->msg)) {
    /* msg names the file and line */
  } else if (sharc_array_create(p->pool, SHARC_U8, 1, &n, NULL,
                                &p->shading)) {
    failf(p, "out of shared memory");
  } else {
    double lo, hi;
    tiles_dem_range(d, &lo, &hi);
    if (sharc_relief_prepare(table, lo, hi, d->has_nodata, d->nodata,
                             SHARC_RELIEF_INTERPOLATE, d->width, d->height,
                             sharc_array_data(p->shading), why, sizeof why))
      failf(p, "%s: %s", p->o->table, why);
    else
      rc = 0;
    p->src_bpp = 4;
  }
  free(table);
  return rc;
}

/* The Web Mercator grid gdal2tiles warps to: GDAL's suggested output for
 * the DEM's extent and resolution. */
static int merc_grid(pyramid *p) {
  tiles_dem *d = &p->dem;
  OGRSpatialReferenceH merc = OSRNewSpatialReference(NULL);
  OSRImportFromEPSG(merc, 3857);
  OSRExportToWkt(merc, &p->merc_wkt);
  OSRDestroySpatialReference(merc);
  char spec[256];
  snprintf(spec, sizeof spec,
           "MEM:::DATAPOINTER=%p,PIXELS=%llu,LINES=%llu,BANDS=1,"
           "DATATYPE=Float32",
           d->data ? sharc_array_data(d->data) : NULL,
           (unsigned long long)d->width, (unsigned long long)d->height);
  GDALDatasetH mem = GDALOpen(d->data ? spec : d->path, GA_ReadOnly);
  if (!mem)
    return failf(p, "%s: cannot describe the raster to GDAL", d->name);
  if (d->data) {
    GDALSetGeoTransform(mem, d->gt);
    GDALSetProjection(mem, d->wkt);
  }
  void *tr = GDALCreateGenImgProjTransformer(mem, d->wkt, NULL, p->merc_wkt,
                                             FALSE, 0.0, 1);
  int w = 0, h = 0;
  int ok = tr && GDALSuggestedWarpOutput(mem, GDALGenImgProjTransform, tr,
                                         p->ggt, &w, &h) == CE_None;
  if (tr)
    GDALDestroyGenImgProjTransformer(tr);
  GDALClose(mem);
  if (!ok || w <= 0 || h <= 0)
    return failf(p, "%s: cannot be projected to Web Mercator (%s)", d->name,
                 CPLGetLastErrorMsg());
  p->gw = (uint64_t)w;
  p->gh = (uint64_t)h;
  size_t l1 = strlen(d->wkt) + 1, l2 = strlen(p->merc_wkt) + 1;
  uint64_t wl = l1 + l2;
  if (sharc_array_create(p->pool, SHARC_U8, 1, &wl, NULL, &p->wkts))
    return failf(p, "out of shared memory");
  memcpy(sharc_array_data(p->wkts), d->wkt, l1);
  memcpy((char *)sharc_array_data(p->wkts) + l1, p->merc_wkt, l2);
  return 0;
}

/* gdal2tiles' ZoomForPixelSize: the finest zoom whose pixels are still at
 * least as large as ps metres. */
static int zoom_for(double ps) {
  for (int z = 0; z < 31; z++)
    if (ps > MERC_RES0 / ldexp(1.0, z))
      return z > 0 ? z - 1 : 0;
  return 30;
}

/* The level's tile rectangle (XYZ) covering the warped grid exactly. */
static tiles_rect level_rect(const pyramid *p, int z) {
  double res = MERC_RES0 / ldexp(1.0, z), n = ldexp(1.0, z);
  double minx = p->ggt[0], maxx = p->ggt[0] + (double)p->gw * p->ggt[1];
  double maxy = p->ggt[3], miny = p->ggt[3] + (double)p->gh * p->ggt[5];
  double px0 = (minx + MERC_ORIGIN) / res / TILE;
  double px1 = (maxx + MERC_ORIGIN) / res / TILE;
  double py0 = (MERC_ORIGIN - maxy) / res / TILE; /* XYZ: from the north */
  double py1 = (MERC_ORIGIN - miny) / res / TILE;
  double a = fmax(0, floor(px0)), b = fmin(n - 1, ceil(px1) - 1);
  double c = fmax(0, floor(py0)), d = fmin(n - 1, ceil(py1) - 1);
  tiles_rect r = {(int64_t)a, (int64_t)c, b >= a ? (uint64_t)(b - a + 1) : 0,
                  d >= c ? (uint64_t)(d - c + 1) : 0, 0};
  return r;
}

static int make_dir(pyramid *p, const char *path) {
  if (mkdir(path, 0755) != 0 && errno != EEXIST)
    return failf(p, "%s: %s", path, strerror(errno));
  return 0;
}

static void progress(const pyramid *p, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void progress(const pyramid *p, const char *fmt, ...) {
  if (p->o->quiet || !isatty(STDERR_FILENO))
    return;
  va_list ap;
  va_start(ap, fmt);
  fputs("\r\033[K", stderr);
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  fflush(stderr);
}

static int make_zoom_dirs(pyramid *p, int z, const tiles_rect *r) {
  char path[2300];
  snprintf(path, sizeof path, "%s/%d", p->tmpdir, z);
  int rc = make_dir(p, path);
  for (uint64_t x = 0; !rc && x < r->nx; x++) {
    snprintf(path, sizeof path, "%s/%d/%lld", p->tmpdir, z,
             (long long)(r->x0 + (int64_t)x));
    rc = make_dir(p, path);
  }
  return rc;
}

/* Notes which tiles of zoom z were written (flags: one byte per tile). */
static void record_zoom(pyramid *p, int z, const tiles_rect *r,
                        const uint8_t *fl, double secs) {
  uint64_t n = r->nx * r->ny, written = 0;
  for (uint64_t k = 0; k < n; k++)
    written += fl[k];
  p->t.written += written;
  p->t.empty += n - written;
  p->have[z].x0 = r->x0;
  p->have[z].y0 = r->y0;
  p->have[z].nx = r->nx;
  p->have[z].ny = r->ny;
  p->have[z].bits = malloc(n + 1);
  if (p->have[z].bits) {
    for (uint64_t k = 0; k < n; k++)
      p->have[z].bits[k] = fl[k] ? '1' : '0';
    p->have[z].bits[n] = '\0';
  }
  progress(p, "zoom %d: %llu tiles written, %llu empty, %.2f s", z,
           (unsigned long long)written, (unsigned long long)(n - written),
           secs);
}

/* How many zooms one unit of the top job makes below its own: as many as
 * allowed while there are still 8 units a worker, so that the scheduler
 * can balance sea against mountains. More zooms a unit means fewer tiles
 * going through shared memory and fewer window edges read and shaded
 * twice. */
static int unit_levels(const pyramid *p) {
  int l = p->o->zmax - p->o->zmin;
  if (l > TILES_MAX_UNIT_LEVELS)
    l = TILES_MAX_UNIT_LEVELS;
  for (; l > 0; l--) {
    tiles_rect r = level_rect(p, p->o->zmax - l);
    if (r.nx * r.ny >= 8 * (uint64_t)sharc_pool_size(p->pool))
      break;
  }
  return l;
}

/* The top zooms in one job (see tiles_top in tiles_render.h); returns the
 * mosaic and flags of its units' zoom for the zooms below. */
static int top_zooms(pyramid *p, sharc_array *stats, sharc_array **mosaic,
                     sharc_array **flags) {
  tiles_top_args *a = calloc(1, sizeof *a);
  if (!a)
    return failf(p, "out of memory");
  int L = unit_levels(p), zb = p->o->zmax - L, rc = 0;
  uint64_t nflags = 0;
  for (int d = 0; d <= L && !rc; d++) {
    a->rect[d] = level_rect(p, zb + d);
    a->rect[d].flag0 = nflags;
    nflags += a->rect[d].nx * a->rect[d].ny;
    rc = make_zoom_dirs(p, zb + d, &a->rect[d]);
  }
  tiles_dem *d = &p->dem;
  a->warp.src_w = d->width;
  a->warp.src_h = d->height;
  a->warp.dst_w = p->gw;
  a->warp.dst_h = p->gh;
  memcpy(a->warp.src_gt, d->gt, sizeof a->warp.src_gt);
  memcpy(a->warp.dst_gt, p->ggt, sizeof a->warp.dst_gt);
  a->warp.bpp = p->src_bpp;
  a->shading = p->o->table ? TILES_SHADE_RELIEF : TILES_SHADE_HILLSHADE;
  a->zoom = zb;
  a->levels = L;
  a->mbpp = p->src_bpp == 1 ? 2 : 4;
  a->png_level = p->o->png_level;
  a->has_mosaic = zb > p->o->zmin;
  snprintf(a->dir, sizeof a->dir, "%s", p->tmpdir);
  p->t.unit_zoom = zb;
  uint64_t one = 1, n = a->rect[0].nx * a->rect[0].ny;
  uint64_t mshape[3] = {a->rect[0].ny * TILE, a->rect[0].nx * TILE,
                        (uint64_t)a->mbpp};
  sharc_array *fl = NULL, *m = NULL, *path = NULL;
  a->from_file = d->data == NULL;
  uint64_t plen = a->from_file ? strlen(d->path) + 1 : 0;
  if (!rc && a->from_file &&
      sharc_array_create(p->pool, SHARC_U8, 1, &plen, NULL, &path))
    rc = failf(p, "out of shared memory");
  if (path)
    memcpy(sharc_array_data(path), d->path, plen);
  if (!rc && (sharc_array_create(p->pool, SHARC_U8, 1, &nflags, NULL, &fl) ||
              (a->has_mosaic
                   ? sharc_array_create(p->pool, SHARC_U8, 3, mshape, NULL, &m)
                   : sharc_array_create(p->pool, SHARC_U8, 1, &one, NULL, &m))))
    rc = failf(p, "out of shared memory for zoom %d", zb);
  sharc_job_opts jo = SHARC_JOB_OPTS_INIT;
  jo.args = a;
  jo.args_len = sizeof *a;
  jo.arrays = (sharc_array *[]){a->from_file ? path : d->data, m, fl, stats, p->wkts, p->shading};
  jo.narrays = 6;
  double t0 = now();
  if (!rc && n)
    rc = run_job(p, "tiles_top", n, &jo, &p->t.imbalance_top);
  const uint8_t *f = fl ? sharc_array_data(fl) : NULL;
  for (int z = p->o->zmax; !rc && z >= zb; z--)
    record_zoom(p, z, &a->rect[z - zb], f + a->rect[z - zb].flag0,
                now() - t0);
  /* The units' zoom's flags on their own, as the zoom below reads them. */
  sharc_array *f0 = NULL;
  if (!rc && sharc_array_create(p->pool, SHARC_U8, 1, &n, NULL, &f0))
    rc = failf(p, "out of shared memory for zoom %d", zb);
  if (!rc)
    memcpy(sharc_array_data(f0), f, n);
  sharc_array_destroy(fl);
  sharc_array_destroy(path);
  free(a);
  if (rc) {
    sharc_array_destroy(m);
    sharc_array_destroy(f0);
    return rc;
  }
  *mosaic = m;
  *flags = f0;
  return 0;
}

/* The top zooms, then one job per lower zoom, from the top down; the zoom
 * above is kept as a mosaic in shared memory until the one below is made
 * from it. */
static int levels(pyramid *p) {
  sharc_array *stats = NULL, *cm = NULL, *cf = NULL;
  uint64_t sshape[2] = {TILES_MAX_STATS_WORKERS, TILES_STAT_COUNT};
  if (sharc_array_create(p->pool, SHARC_F64, 2, sshape, NULL, &stats))
    return failf(p, "out of shared memory");
  double t = now();
  int rc = top_zooms(p, stats, &cm, &cf);
  p->t.top = now() - t;
  t = now();
  tiles_level_args *a = calloc(1, sizeof *a);
  if (!rc && !a)
    rc = failf(p, "out of memory");
  if (!rc)
    a->child = level_rect(p, p->t.unit_zoom);
  for (int z = p->t.unit_zoom - 1; !rc && z >= p->o->zmin; z--) {
    a->zoom = z;
    a->mbpp = p->src_bpp == 1 ? 2 : 4;
    a->png_level = p->o->png_level;
    a->rect = level_rect(p, z);
    snprintf(a->dir, sizeof a->dir, "%s", p->tmpdir);
    sharc_array *m = NULL, *f = NULL;
    uint64_t mshape[3] = {a->rect.ny * TILE, a->rect.nx * TILE,
                          (uint64_t)a->mbpp};
    uint64_t n = a->rect.nx * a->rect.ny;
    if (sharc_array_create(p->pool, SHARC_U8, 3, mshape, NULL, &m) ||
        sharc_array_create(p->pool, SHARC_U8, 1, &n, NULL, &f)) {
      sharc_array_destroy(m);
      rc = failf(p, "out of shared memory for zoom %d", z);
      break;
    }
    rc = make_zoom_dirs(p, z, &a->rect);
    sharc_job_opts jo = SHARC_JOB_OPTS_INIT;
    jo.args = a;
    jo.args_len = sizeof *a;
    jo.arrays = (sharc_array *[]){cm, m, f, stats, cf};
    jo.narrays = 5;
    double t0 = now();
    if (!rc && n)
      rc = run_job(p, "tiles_level", n, &jo, NULL);
    if (!rc)
      record_zoom(p, z, &a->rect, sharc_array_data(f), now() - t0);
    sharc_array_destroy(cm);
    sharc_array_destroy(cf);
    cm = m;
    cf = f;
    a->child = a->rect;
  }
  p->t.lower = now() - t;
  progress(p, "%s", "");
  const double *st = sharc_array_data(stats);
  for (unsigned w = 0; w < TILES_MAX_STATS_WORKERS; w++)
    for (int k = 0; k < TILES_STAT_COUNT; k++)
      p->t.st[k] += st[w * TILES_STAT_COUNT + k];
  free(a);
  sharc_array_destroy(cm);
  sharc_array_destroy(cf);
  sharc_array_destroy(stats);
  return rc;
}

/* The data's bounds in degrees (west, south, east, north), from the warped
 * grid's corners through OGR. */
static void lonlat_bounds(const pyramid *p, double b[4]) {
  double x[2] = {p->ggt[0], p->ggt[0] + (double)p->gw * p->ggt[1]};
  double y[2] = {p->ggt[3] + (double)p->gh * p->ggt[5], p->ggt[3]};
  OGRSpatialReferenceH s = OSRNewSpatialReference(NULL);
  OGRSpatialReferenceH t = OSRNewSpatialReference(NULL);
  OSRImportFromEPSG(s, 3857);
  OSRImportFromEPSG(t, 4326);
  OSRSetAxisMappingStrategy(t, OAMS_TRADITIONAL_GIS_ORDER);
  OGRCoordinateTransformationH ct = OCTNewCoordinateTransformation(s, t);
  if (ct)
    OCTTransform(ct, 2, x, y, NULL);
  b[0] = x[0];
  b[1] = y[0];
  b[2] = x[1];
  b[3] = y[1];
  if (ct)
    OCTDestroyCoordinateTransformation(ct);
  OSRDestroySpatialReference(s);
  OSRDestroySpatialReference(t);
}

static int copy_file(pyramid *p, const char *from, const char *to) {
  FILE *in = fopen(from, "rb");
  if (!in)
    return failf(p, "%s: %s (install libjs-leaflet)", from, strerror(errno));
  FILE *out = fopen(to, "wb");
  if (!out) {
    fclose(in);
    return failf(p, "%s: %s", to, strerror(errno));
  }
  char buf[65536];
  size_t n;
  int ok = 1;
  while ((n = fread(buf, 1, sizeof buf, in)) > 0)
    ok &= fwrite(buf, 1, n, out) == n;
  ok &= !ferror(in);
  fclose(in);
  ok &= fclose(out) == 0;
  return ok ? 0 : failf(p, "%s: cannot write", to);
}

static int write_viewer(pyramid *p) {
  static const char *const files[] = {"leaflet.js",
                                      "leaflet.css",
                                      "images/layers.png",
                                      "images/layers-2x.png",
                                      "images/marker-icon.png",
                                      "images/marker-icon-2x.png",
                                      "images/marker-shadow.png"};
  char from[512], to[2400];
  snprintf(to, sizeof to, "%s/leaflet", p->tmpdir);
  if (make_dir(p, to))
    return 1;
  snprintf(to, sizeof to, "%s/leaflet/images", p->tmpdir);
  if (make_dir(p, to))
    return 1;
  for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
    snprintf(from, sizeof from, "%s/%s", LEAFLET_DIR, files[i]);
    snprintf(to, sizeof to, "%s/leaflet/%s", p->tmpdir, files[i]);
    if (copy_file(p, from, to))
      return 1;
  }
  double b[4];
  lonlat_bounds(p, b);
  snprintf(to, sizeof to, "%s/index.html", p->tmpdir);
  FILE *f = fopen(to, "w");
  if (!f)
    return failf(p, "%s: %s", to, strerror(errno));
  fprintf(f, "<!DOCTYPE html>\n<html>\n<head>\n<meta charset=\"utf-8\">\n"
             "<title>sharc tiles</title>\n"
             "<link rel=\"icon\" href=\"data:,\">\n"
             "<meta name=\"viewport\" content=\"width=device-width, "
             "initial-scale=1\">\n"
             "<link rel=\"stylesheet\" href=\"leaflet/leaflet.css\">\n"
             "<script src=\"leaflet/leaflet.js\"></script>\n"
             "<style>html, body, #map { height: 100%%; margin: 0; background: "
             "#8fb3d9; }</style>\n"
             "</head>\n<body>\n<div id=\"map\"></div>\n<script>\n"
             "// Tiles that were written, per zoom: [x0, y0, nx, ny, '0'/'1' "
             "row-major].\n"
             "// Empty tiles were skipped, so the map does not ask for them.\n"
             "var have = {\n");
  for (int z = p->o->zmin; z <= p->o->zmax; z++)
    if (p->have[z].bits)
      fprintf(f, "  %d: [%lld, %lld, %llu, %llu, '%s'],\n", z,
              (long long)p->have[z].x0, (long long)p->have[z].y0,
              (unsigned long long)p->have[z].nx,
              (unsigned long long)p->have[z].ny, p->have[z].bits);
  fprintf(f,
          "};\n"
          "function written(c) {\n"
          "  var h = have[c.z];\n"
          "  if (!h) return false;\n"
          "  var x = c.x - h[0], y = c.y - h[1];\n"
          "  return x >= 0 && y >= 0 && x < h[2] && y < h[3] && "
          "h[4].charAt(y * h[2] + x) === '1';\n"
          "}\n"
          "var Tiles = L.TileLayer.extend({\n"
          "  createTile: function (c, done) {\n"
          "    if (written(c))\n"
          "      return L.TileLayer.prototype.createTile.call(this, c, done);\n"
          "    var blank = document.createElement('div');\n"
          "    setTimeout(function () { done(null, blank); }, 0);\n"
          "    return blank;\n"
          "  }\n"
          "});\n"
          "var stats = {loaded: 0, failed: 0, errors: 0};\n"
          "function show() {\n"
          "  document.body.setAttribute('data-tiles-loaded', stats.loaded);\n"
          "  document.body.setAttribute('data-tiles-failed', stats.failed);\n"
          "  document.body.setAttribute('data-script-errors', stats.errors);\n"
          "}\n"
          "window.addEventListener('error', function () { stats.errors++; "
          "show(); });\n"
          "var bounds = L.latLngBounds([[%.8f, %.8f], [%.8f, %.8f]]);\n"
          "var map = L.map('map', {minZoom: %d, maxZoom: %d});\n"
          "var layer = new Tiles('{z}/{x}/{y}.png', {minZoom: %d, maxZoom: %d, "
          "maxNativeZoom: %d, minNativeZoom: %d, bounds: bounds, noWrap: true, "
          "tileSize: 256, attribution: 'rendered by sharc'});\n"
          "layer.on('tileload', function () { stats.loaded++; show(); });\n"
          "layer.on('tileerror', function () { stats.failed++; show(); });\n"
          "layer.addTo(map);\n"
          "map.fitBounds(bounds);\n"
          "show();\n"
          "</script>\n</body>\n</html>\n",
          b[1], b[0], b[3], b[2], p->o->zmin, p->o->zmax + 2, p->o->zmin,
          p->o->zmax + 2, p->o->zmax, p->o->zmin);
  return fclose(f) == 0 ? 0 : failf(p, "%s: cannot write", to);
}

/* Removes the temporary tree (only what this run made). */
static void remove_tree(const char *path) {
  DIR *d = opendir(path);
  if (!d) {
    unlink(path);
    return;
  }
  struct dirent *e;
  char sub[4096];
  while ((e = readdir(d)) != NULL) {
    if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
      continue;
    snprintf(sub, sizeof sub, "%s/%s", path, e->d_name);
    struct stat st;
    if (lstat(sub, &st) == 0 && S_ISDIR(st.st_mode))
      remove_tree(sub);
    else
      unlink(sub);
  }
  closedir(d);
  rmdir(path);
}

static int sql(pyramid *p, sqlite3 *db, const char *q) {
  char *err = NULL;
  if (sqlite3_exec(db, q, NULL, NULL, &err) != SQLITE_OK) {
    failf(p, "%s: %s", p->o->out, err ? err : "SQLite failed");
    sqlite3_free(err);
    return 1;
  }
  return 0;
}

static int insert_tile(pyramid *p, sqlite3_stmt *ins, int z, long long x,
                       long long y) {
  char path[2400];
  snprintf(path, sizeof path, "%s/%d/%lld/%lld.png", p->tmpdir, z, x, y);
  FILE *f = fopen(path, "rb");
  if (!f)
    return 0; /* an empty tile: not written */
  fseek(f, 0, SEEK_END);
  long len = ftell(f);
  fseek(f, 0, SEEK_SET);
  void *buf = len > 0 ? malloc((size_t)len) : NULL;
  int ok = buf && fread(buf, 1, (size_t)len, f) == (size_t)len;
  fclose(f);
  if (!ok) {
    free(buf);
    return failf(p, "%s: cannot read", path);
  }
  sqlite3_bind_int(ins, 1, z);
  sqlite3_bind_int64(ins, 2, x);
  sqlite3_bind_int64(ins, 3, (1LL << z) - 1 - y); /* TMS rows */
  sqlite3_bind_blob(ins, 4, buf, (int)len, free);
  int rc = sqlite3_step(ins);
  sqlite3_reset(ins);
  return rc == SQLITE_DONE ? 0 : failf(p, "%s: cannot insert tile", p->o->out);
}

/* MBTiles 1.3: metadata and tiles (TMS rows), written in one transaction
 * into a temporary file renamed into place when complete. */
static int write_mbtiles(pyramid *p) {
  snprintf(p->outtmp, sizeof p->outtmp, "%s.tmp-%d", p->o->out, (int)getpid());
  sqlite3 *db = NULL;
  if (sqlite3_open(p->outtmp, &db) != SQLITE_OK) {
    sqlite3_close(db);
    return failf(p, "%s: cannot create", p->o->out);
  }
  int rc = sql(p, db,
               "PRAGMA application_id = 1297105496;"
               "PRAGMA journal_mode = OFF; PRAGMA synchronous = OFF;"
               "BEGIN;"
               "CREATE TABLE metadata (name text, value text);"
               "CREATE UNIQUE INDEX name ON metadata (name);"
               "CREATE TABLE tiles (zoom_level integer, tile_column integer,"
               " tile_row integer, tile_data blob);"
               "CREATE UNIQUE INDEX tile_index ON tiles"
               " (zoom_level, tile_column, tile_row);");
  double b[4];
  lonlat_bounds(p, b);
  char meta[8][2][256];
  snprintf(meta[0][0], 256, "name");
  snprintf(meta[0][1], 256, "%.250s", p->dem.name);
  snprintf(meta[1][0], 256, "format");
  snprintf(meta[1][1], 256, "png");
  snprintf(meta[2][0], 256, "bounds");
  snprintf(meta[2][1], 256, "%.8f,%.8f,%.8f,%.8f", b[0], b[1], b[2], b[3]);
  snprintf(meta[3][0], 256, "center");
  snprintf(meta[3][1], 256, "%.8f,%.8f,%d", (b[0] + b[2]) / 2,
           (b[1] + b[3]) / 2, (p->o->zmin + p->o->zmax) / 2);
  snprintf(meta[4][0], 256, "minzoom");
  snprintf(meta[4][1], 256, "%d", p->o->zmin);
  snprintf(meta[5][0], 256, "maxzoom");
  snprintf(meta[5][1], 256, "%d", p->o->zmax);
  snprintf(meta[6][0], 256, "type");
  snprintf(meta[6][1], 256, "overlay");
  snprintf(meta[7][0], 256, "description");
  snprintf(meta[7][1], 256, "%s of %.200s, rendered by sharc",
           p->o->table ? "colour relief" : "hillshade", p->dem.name);
  sqlite3_stmt *st = NULL;
  if (!rc && sqlite3_prepare_v2(db, "INSERT INTO metadata VALUES (?, ?)", -1,
                                &st, NULL) != SQLITE_OK)
    rc = failf(p, "%s: %s", p->o->out, sqlite3_errmsg(db));
  for (int i = 0; !rc && i < 8; i++) {
    sqlite3_bind_text(st, 1, meta[i][0], -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, meta[i][1], -1, SQLITE_STATIC);
    if (sqlite3_step(st) != SQLITE_DONE)
      rc = failf(p, "%s: %s", p->o->out, sqlite3_errmsg(db));
    sqlite3_reset(st);
  }
  sqlite3_finalize(st);
  st = NULL;
  if (!rc && sqlite3_prepare_v2(db, "INSERT INTO tiles VALUES (?, ?, ?, ?)", -1,
                                &st, NULL) != SQLITE_OK)
    rc = failf(p, "%s: %s", p->o->out, sqlite3_errmsg(db));
  for (int z = p->o->zmin; !rc && z <= p->o->zmax; z++) {
    tiles_rect r = level_rect(p, z);
    for (uint64_t x = 0; !rc && x < r.nx; x++)
      for (uint64_t y = 0; !rc && y < r.ny; y++)
        rc = insert_tile(p, st, z, (long long)(r.x0 + (int64_t)x),
                         (long long)(r.y0 + (int64_t)y));
  }
  sqlite3_finalize(st);
  if (!rc)
    rc = sql(p, db, "COMMIT;");
  if (sqlite3_close(db) != SQLITE_OK && !rc)
    rc = failf(p, "%s: cannot close", p->o->out);
  if (!rc && rename(p->outtmp, p->o->out) != 0)
    rc = failf(p, "%s: %s", p->o->out, strerror(errno));
  if (rc)
    unlink(p->outtmp);
  return rc;
}

/* The temporary directory beside OUT; OUT itself must not exist or be an
 * empty directory (xyz), so that renaming into place cannot clobber. */
static int prepare_output(pyramid *p) {
  const char *out = p->o->out;
  struct stat st;
  if (!p->o->mbtiles && stat(out, &st) == 0) {
    DIR *d = S_ISDIR(st.st_mode) ? opendir(out) : NULL;
    int empty = d != NULL;
    struct dirent *e;
    while (d && (e = readdir(d)) != NULL)
      if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
        empty = 0;
    if (d)
      closedir(d);
    if (!empty)
      return failf(p, "%s: exists and is not an empty directory", out);
  }
  char copy[2048];
  if (strlen(out) > 1900)
    return failf(p, "%.100s...: path too long", out);
  snprintf(copy, sizeof copy, "%s", out);
  size_t l = strlen(copy);
  while (l > 1 && copy[l - 1] == '/')
    copy[--l] = '\0';
  snprintf(p->tmpdir, sizeof p->tmpdir, "%.1900s.partial-XXXXXX", copy);
  if (!mkdtemp(p->tmpdir)) {
    int e = errno;
    p->tmpdir[0] = '\0';
    return failf(p, "%s: cannot write there: %s", out, strerror(e));
  }
  return 0;
}

static int check_zooms(pyramid *p) {
  double ps = p->ggt[1];
  int native = zoom_for(ps);
  int fit = zoom_for(ps * (double)(p->gw > p->gh ? p->gw : p->gh) / TILE);
  if (p->o->zmin < 0) {
    /* A DEM smaller than a tile fits one tile only deeper than its own
     * resolution: gdal2tiles then makes that one zoom. */
    p->o->zmin = fit;
    p->o->zmax = native > fit ? native : fit;
  }
  /* Past two zooms beyond the data's resolution, every tile pixel would be
   * at least 16 copies of one warped pixel: refused as a likely mistake. */
  if (p->o->zmax > native + 2)
    return failf(p,
                 "%s: zoom %d is too deep for the data (%.3g m pixels in Web "
                 "Mercator: zoom %d at most)",
                 p->dem.name, p->o->zmax, ps, native + 2);
  return 0;
}

static void report(const pyramid *p, double total) {
  const phase_times *t = &p->t;
  printf("sharc tiles: %s -> %s (%s), zooms %d-%d, %u workers\n", p->dem.name,
         p->o->out, p->o->mbtiles ? "mbtiles" : "xyz", p->o->zmin, p->o->zmax,
         sharc_pool_size(p->pool));
  printf("tiles: %llu written, %llu empty skipped; %.1f MB of PNG\n",
         (unsigned long long)t->written, (unsigned long long)t->empty,
         t->st[TILES_STAT_BYTES] / 1e6);
  printf("time: %.3f s, %.0f tiles/s\n", total,
         total > 0 ? (double)t->written / total : 0.0);
  printf("wall: %s %.3f s, grid %.3f s, zooms %d-%d %.3f s, zooms %d-%d "
         "%.3f s, finish %.3f s\n",
         p->dem.data ? "read" : "open", t->read, t->grid, t->unit_zoom, p->o->zmax, t->top, p->o->zmin,
         t->unit_zoom - 1, t->lower, t->finish);
  printf("summed over workers: reading %.3f s, %s %.3f s, warping %.3f s, sampling %.3f s, "
         "PNG encoding %.3f s, writing %.3f s\n",
         t->st[TILES_STAT_READ], p->o->table ? "colour relief" : "hillshade",
         t->st[TILES_STAT_SHADE],
         t->st[TILES_STAT_WARP], t->st[TILES_STAT_SAMPLE],
         t->st[TILES_STAT_ENCODE], t->st[TILES_STAT_WRITE]);
  printf("zooms %d-%d imbalance: %.1f%%\n", t->unit_zoom, p->o->zmax,
         t->imbalance_top);
}

int sharc_tiles_cmd_tiles(int argc, char **argv) {
  tiles_opts o;
  memset(&o, 0, sizeof o);
  o.zmin = o.zmax = -1;
  o.png_level = 1;
  o.size = 2048;
  o.z = 1.0;
  o.az = 315.0;
  o.alt = 45.0;
  int rc = parse(argc, argv, &o);
  if (rc)
    return rc < 0 ? 0 : rc;
  pyramid *p = calloc(1, sizeof *p);
  if (!p)
    return tool_fail("tiles", 1, "out of memory");
  p->o = &o;
  double t0 = now();
  tiles_gdal_init();
  sharc_pool_opts po = SHARC_POOL_OPTS_INIT;
  po.workers = o.workers;
  char pmsg[512];
  if (sharc_pool_create(&p->pool, &po, pmsg, sizeof pmsg) != 0) {
    free(p);
    return tool_fail("tiles", 1, "cannot start workers: %s", pmsg);
  }
  double t = now();
  /* A hillshade reads the DEM's windows from the file in the top job, each
   * worker what it shades; a colour relief needs the whole DEM first for
   * its range (percentages in the table). */
  rc = o.dem ? tiles_dem_load(p->pool, o.dem, &o.input, !o.table, &p->dem,
                              p->msg, sizeof p->msg)
             : tiles_dem_synthetic(p->pool, o.size, 0, 1, &p->dem, p->msg,
                                   sizeof p->msg);
  int have_dem = !rc;
  p->t.read = now() - t;
  if (!rc)
    rc = prepare_shading(p);
  if (!rc) {
    t = now();
    rc = merc_grid(p);
    p->t.grid = now() - t;
  }
  if (!rc)
    rc = check_zooms(p);
  if (!rc)
    rc = prepare_output(p);
  if (!rc)
    rc = levels(p);
  if (!rc) {
    t = now();
    if (o.mbtiles) {
      rc = write_mbtiles(p);
    } else {
      rc = write_viewer(p);
      if (!rc) {
        rmdir(o.out); /* an empty directory may stand in the way */
        if (rename(p->tmpdir, o.out) != 0)
          rc = failf(p, "%s: %s", o.out, strerror(errno));
        else
          p->tmpdir[0] = '\0';
      }
    }
    p->t.finish = now() - t;
  }
  if (p->tmpdir[0])
    remove_tree(p->tmpdir);
  if (!rc)
    report(p, now() - t0);
  sharc_array_destroy(p->wkts);
  sharc_array_destroy(p->shading);
  if (have_dem)
    tiles_dem_free(&p->dem);
  CPLFree(p->merc_wkt);
  for (int z = 0; z < 31; z++)
    free(p->have[z].bits);
  sharc_pool_destroy(p->pool);
  if (rc)
    rc = tool_fail("tiles", 1, "%s", p->msg);
  free(p);
  return rc;
}
