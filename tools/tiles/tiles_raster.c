/* Reading DEMs through GDAL into shared arrays, in parallel by row blocks,
 * and writing GeoTIFFs. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <cpl_conv.h>
#include <cpl_error.h>
#include <cpl_string.h>
#include <gdal.h>
#include <ogr_srs_api.h>

#include "dem.h"
#include "opts.h"
#include "tiles_raster.h"

#define READ_BLOCK_ROWS 256

void tiles_gdal_init(void) {
  CPLSetErrorHandler(CPLQuietErrorHandler);
  /* Reading whole rows of an uncompressed GeoTIFF straight into the shared
   * array instead of through GDAL's block cache took reading from 4.6 s to
   * 1.6 s for an 8192x8192 Float32 DEM here; GDAL falls back to the usual
   * path for files where it does not apply. The user's setting wins. */
  if (!CPLGetConfigOption("GTIFF_DIRECT_IO", NULL))
    CPLSetConfigOption("GTIFF_DIRECT_IO", "YES");
  GDALAllRegister();
}

static const char *gdal_msg(void) {
  const char *m = CPLGetLastErrorMsg();
  return m && *m ? m : "GDAL failed";
}

/* --- parallel read: kernel "tiles_read" -----------------------------------
 * Array 0: the float32 DEM; array 1: the path, NUL-terminated bytes. Each
 * index is a block of READ_BLOCK_ROWS rows; each worker opens the file once
 * per job (its own GDAL handle: nothing is shared between processes). */
typedef struct read_args {
  uint64_t width, height;
} read_args;

static GDALDatasetH g_read_ds;
static char g_read_path[4096];

static int tiles_read(const sharc_task *t, uint64_t begin, uint64_t end) {
  size_t len = 0;
  const read_args *a = sharc_task_args(t, &len);
  float *dem = sharc_task_array(t, 0);
  const char *path = sharc_task_array(t, 1);
  uint64_t plen = sharc_task_array_size(t, 1);
  if (!a || len != sizeof *a || !dem || !path || plen == 0 ||
      plen > sizeof g_read_path || path[plen - 1] != '\0')
    return SHARC_EINVAL;
  if (!g_read_ds || strcmp(g_read_path, path)) {
    if (g_read_ds)
      GDALClose(g_read_ds);
    g_read_ds = GDALOpen(path, GA_ReadOnly);
    if (!g_read_ds)
      return SHARC_ENOENT;
    memcpy(g_read_path, path, plen);
  }
  GDALRasterBandH b = GDALGetRasterBand(g_read_ds, 1);
  for (uint64_t blk = begin; blk < end; blk++) {
    uint64_t r0 = blk * READ_BLOCK_ROWS;
    uint64_t r1 =
        r0 + READ_BLOCK_ROWS < a->height ? r0 + READ_BLOCK_ROWS : a->height;
    if (GDALRasterIO(b, GF_Read, 0, (int)r0, (int)a->width, (int)(r1 - r0),
                     dem + r0 * a->width, (int)a->width, (int)(r1 - r0),
                     GDT_Float32, 0, 0) != CE_None)
      return SHARC_EFORMAT;
  }
  return 0;
}
SHARC_KERNEL(tiles_read)

static int fail(char *msg, size_t msglen, const char *path, const char *what) {
  snprintf(msg, msglen, "%s: %s", path, what);
  return 1;
}

static int is_geographic(const char *wkt) {
  OGRSpatialReferenceH srs = OSRNewSpatialReference(NULL);
  int geo = 0;
  if (OSRImportFromWkt(srs, (char **)&wkt) == OGRERR_NONE)
    geo = OSRIsGeographic(srs);
  OSRDestroySpatialReference(srs);
  return geo;
}

/* Opens path and fills dem's size, georeferencing and nodata (no data).
 * Returns the dataset, or NULL with msg and dem freed. */
static GDALDatasetH open_meta(const char *path, tiles_dem *dem, char *msg,
                              size_t msglen) {
  memset(dem, 0, sizeof *dem);
  snprintf(dem->name, sizeof dem->name, "%s", path);
  /* A plain file gets the system's reason; GDAL's virtual paths (/vsi...)
   * are left to GDAL. */
  if (strncmp(path, "/vsi", 4) != 0 && access(path, R_OK) != 0) {
    fail(msg, msglen, path, strerror(errno));
    return NULL;
  }
  GDALDatasetH ds = GDALOpen(path, GA_ReadOnly);
  if (!ds) {
    fail(msg, msglen, path, "not a raster GDAL can read");
    return NULL;
  }
  const char *wkt = GDALGetProjectionRef(ds);
  if (GDALGetRasterCount(ds) < 1) {
    fail(msg, msglen, path, "has no raster band");
  } else if (GDALGetGeoTransform(ds, dem->gt) != CE_None || !wkt || !*wkt) {
    fail(msg, msglen, path,
         "has no georeferencing (a geotransform and a CRS are needed)");
  } else if (dem->gt[2] != 0.0 || dem->gt[4] != 0.0) {
    fail(msg, msglen, path,
         "is rotated (geotransform terms 2 and 4 must be 0)");
  } else {
    dem->width = (uint64_t)GDALGetRasterXSize(ds);
    dem->height = (uint64_t)GDALGetRasterYSize(ds);
    dem->wkt = strdup(wkt);
    dem->geographic = is_geographic(wkt);
    int has = 0;
    double nd = GDALGetRasterNoDataValue(GDALGetRasterBand(ds, 1), &has);
    dem->has_nodata = has;
    dem->nodata = (float)nd;
    if (dem->wkt)
      return ds;
    fail(msg, msglen, path, "out of memory");
  }
  GDALClose(ds);
  tiles_dem_free(dem);
  return NULL;
}

int tiles_dem_open(sharc_pool *pool, const char *path, tiles_dem *dem,
                   char *msg, size_t msglen) {
  GDALDatasetH ds = open_meta(path, dem, msg, msglen);
  if (!ds)
    return 1;
  int rc = 1;
  uint64_t shape[2] = {dem->height, dem->width};
  int e = sharc_array_create(pool, SHARC_F32, 2, shape, NULL, &dem->data);
  if (e) {
    fail(msg, msglen, path, sharc_strerror(e));
    goto out;
  }
  uint64_t plen = strlen(path) + 1;
  sharc_array *p = NULL;
  e = sharc_array_create(pool, SHARC_U8, 1, &plen, NULL, &p);
  if (e) {
    fail(msg, msglen, path, sharc_strerror(e));
    goto out;
  }
  memcpy(sharc_array_data(p), path, plen);
  read_args ra = {dem->width, dem->height};
  sharc_job_opts o = SHARC_JOB_OPTS_INIT;
  o.args = &ra;
  o.args_len = sizeof ra;
  o.arrays = (sharc_array *[]){dem->data, p};
  o.narrays = 2;
  uint64_t blocks = (dem->height + READ_BLOCK_ROWS - 1) / READ_BLOCK_ROWS;
  e = sharc_run(pool, "tiles_read", blocks, &o, NULL);
  sharc_array_destroy(p);
  if (e) {
    fail(msg, msglen, path, "cannot read the raster band");
    goto out;
  }
  rc = 0;
out:
  GDALClose(ds);
  if (rc)
    tiles_dem_free(dem);
  return rc;
}

int tiles_dem_synthetic(sharc_pool *pool, uint64_t size, int geographic,
                        uint64_t seed, tiles_dem *dem, char *msg,
                        size_t msglen) {
  memset(dem, 0, sizeof *dem);
  snprintf(dem->name, sizeof dem->name, "synthetic terrain");
  dem->width = dem->height = size;
  dem->has_nodata = 1;
  dem->nodata = -9999.0f;
  dem->geographic = geographic;
  /* The same ground whatever the size: 245.76 km square in UTM 33N, or
   * 2.2 x 2.2 degrees around 15.5 E, 37.5 N. */
  OGRSpatialReferenceH srs = OSRNewSpatialReference(NULL);
  OSRImportFromEPSG(srs, geographic ? 4326 : 32633);
  OSRSetAxisMappingStrategy(srs, OAMS_TRADITIONAL_GIS_ORDER);
  char *wkt = NULL;
  OSRExportToWkt(srs, &wkt);
  dem->wkt = strdup(wkt ? wkt : "");
  CPLFree(wkt);
  OSRDestroySpatialReference(srs);
  double extent = geographic ? 2.2 : 245760.0;
  double px = extent / (double)size;
  dem->gt[0] = geographic ? 14.4 : 380000.0;
  dem->gt[1] = px;
  dem->gt[3] = geographic ? 38.6 : 4250000.0;
  dem->gt[5] = -px;
  uint64_t shape[2] = {size, size};
  int e = sharc_array_create(pool, SHARC_F32, 2, shape, NULL, &dem->data);
  if (e) {
    snprintf(msg, msglen, "synthetic terrain: %s", sharc_strerror(e));
    tiles_dem_free(dem);
    return 1;
  }
  sharc_dem_synth_args a = {size, size, seed, dem->nodata, 0};
  sharc_job_opts o = SHARC_JOB_OPTS_INIT;
  o.args = &a;
  o.args_len = sizeof a;
  o.arrays = (sharc_array *[]){dem->data};
  o.narrays = 1;
  e = sharc_run(pool, "dem_synth", size, &o, NULL);
  if (e) {
    snprintf(msg, msglen, "synthetic terrain: %s", sharc_pool_errmsg(pool));
    tiles_dem_free(dem);
    return 1;
  }
  return 0;
}

void tiles_dem_free(tiles_dem *dem) {
  sharc_array_destroy(dem->data);
  free(dem->wkt);
  free(dem->path);
  dem->data = NULL;
  dem->wkt = NULL;
  dem->path = NULL;
}

int tiles_dem_range(const tiles_dem *dem, double *min, double *max) {
  const float *d = sharc_array_data(dem->data);
  uint64_t n = dem->width * dem->height;
  double lo = INFINITY, hi = -INFINITY;
  for (uint64_t i = 0; i < n; i++) {
    float v = d[i];
    if (isnan(v) || (dem->has_nodata && sharc_dem_is_nodata(v, dem->nodata)))
      continue;
    if (v < lo)
      lo = v;
    if (v > hi)
      hi = v;
  }
  if (lo > hi)
    lo = hi = 0;
  *min = lo;
  *max = hi;
  return 0;
}

int tiles_write_gtiff(const char *path, const tiles_dem *dem,
                      const uint8_t *pix, int bands, int bands_out, int nodata0,
                      int type_float, char *msg, size_t msglen) {
  GDALDriverH drv = GDALGetDriverByName("GTiff");
  CPLErrorReset();
  char tmp[4200];
  snprintf(tmp, sizeof tmp, "%s.tmp-%d", path, (int)getpid());
  char **co = CSLSetNameValue(NULL, "TILED", "YES");
  if (bands_out > 1)
    co = CSLSetNameValue(co, "INTERLEAVE", "PIXEL");
  GDALDatasetH ds =
      drv ? GDALCreate(drv, tmp, (int)dem->width, (int)dem->height, bands_out,
                       type_float ? GDT_Float32 : GDT_Byte, co)
          : NULL;
  CSLDestroy(co);
  if (!ds)
    return fail(msg, msglen, path, gdal_msg());
  GDALSetGeoTransform(ds, (double *)dem->gt);
  GDALSetProjection(ds, dem->wkt);
  int ok = 1;
  size_t item = type_float ? 4 : 1;
  for (int b = 0; b < bands_out && ok; b++) {
    GDALRasterBandH band = GDALGetRasterBand(ds, b + 1);
    if (nodata0)
      GDALSetRasterNoDataValue(band, type_float ? dem->nodata : 0.0);
    ok = GDALRasterIO(band, GF_Write, 0, 0, (int)dem->width, (int)dem->height,
                      (void *)(pix + (size_t)b * item), (int)dem->width,
                      (int)dem->height, type_float ? GDT_Float32 : GDT_Byte,
                      (int)(item * (size_t)bands),
                      (int)(item * (size_t)bands * dem->width)) == CE_None;
  }
  GDALFlushCache(ds);
  if (CPLGetLastErrorType() == CE_Failure)
    ok = 0;
  GDALClose(ds);
  if (!ok || rename(tmp, path) != 0) {
    int err = errno;
    unlink(tmp);
    return fail(msg, msglen, path, ok ? strerror(err) : gdal_msg());
  }
  return 0;
}

int tiles_parse_gradient(const char *cmd, const char *arg, int *gradient) {
  if (!strcasecmp(arg, "Horn"))
    *gradient = SHARC_GRADIENT_HORN;
  else if (!strcasecmp(arg, "ZevenbergenThorne"))
    *gradient = SHARC_GRADIENT_ZEVENBERGEN_THORNE;
  else
    return tool_fail(cmd, 2, "-alg: '%s' is not Horn or ZevenbergenThorne",
                     arg);
  return 0;
}

int tiles_input_option(const char *cmd, const char *opt, const char *arg,
                       tiles_input *in) {
  char *end = NULL;
  if (!strcmp(opt, "raw-size")) {
    unsigned long long w, h;
    char tail;
    if (sscanf(arg, "%llux%llu%c", &w, &h, &tail) != 2 || !w || !h ||
        w > (1ull << 31) || h > (1ull << 31)) {
      tool_fail(cmd, 2, "--raw-size: '%s' is not WIDTHxHEIGHT", arg);
      return 2;
    }
    in->raw_w = w;
    in->raw_h = h;
    return 0;
  }
  if (!strcmp(opt, "geotransform")) {
    const char *p = arg;
    for (int i = 0; i < 6; i++) {
      in->gt[i] = strtod(p, &end);
      if (end == p || !isfinite(in->gt[i]) || (i < 5 && *end != ',') ||
          (i == 5 && *end)) {
        tool_fail(cmd, 2, "--geotransform: '%s' is not six numbers a,b,c,d,e,f",
                  arg);
        return 2;
      }
      p = end + 1;
    }
    in->has_gt = 1;
    return 0;
  }
  if (!strcmp(opt, "crs")) {
    in->crs = arg;
    return 0;
  }
  if (!strcmp(opt, "nodata")) {
    double v = strtod(arg, &end);
    if (!*arg || *end) {
      tool_fail(cmd, 2, "--nodata: '%s' is not a number", arg);
      return 2;
    }
    in->has_nodata = 1;
    in->nodata = (float)v;
    return 0;
  }
  return 1;
}

static int ends_with(const char *s, const char *suffix) {
  size_t a = strlen(s), b = strlen(suffix);
  return a >= b && !strcmp(s + a - b, suffix);
}

int tiles_dem_load(sharc_pool *pool, const char *path, const tiles_input *in,
                   int lazy, tiles_dem *dem, char *msg, size_t msglen) {
  int npy = ends_with(path, ".npy");
  if (!npy && !in->raw_w && !lazy)
    return tiles_dem_open(pool, path, dem, msg, msglen);
  if (!npy && !in->raw_w) {
    GDALDatasetH ds = open_meta(path, dem, msg, msglen);
    if (!ds)
      return 1;
    GDALClose(ds);
    dem->path = strdup(path);
    if (dem->path)
      return 0;
    tiles_dem_free(dem);
    return fail(msg, msglen, path, "out of memory");
  }
  memset(dem, 0, sizeof *dem);
  snprintf(dem->name, sizeof dem->name, "%s", path);
  if (!in->has_gt || !in->crs)
    return fail(msg, msglen, path,
                "has no georeferencing (give --geotransform and --crs)");
  if (in->gt[2] != 0.0 || in->gt[4] != 0.0 || in->gt[1] <= 0 || in->gt[5] == 0)
    return fail(msg, msglen, path,
                "--geotransform: need a pixel width > 0, a height != 0 and "
                "no rotation");
  OGRSpatialReferenceH srs = OSRNewSpatialReference(NULL);
  char *wkt = NULL;
  if (OSRSetFromUserInput(srs, in->crs) != OGRERR_NONE ||
      OSRExportToWkt(srs, &wkt) != OGRERR_NONE) {
    OSRDestroySpatialReference(srs);
    CPLFree(wkt);
    snprintf(msg, msglen, "--crs: '%s' is not a CRS GDAL knows", in->crs);
    return 1;
  }
  dem->wkt = strdup(wkt);
  CPLFree(wkt);
  OSRDestroySpatialReference(srs);
  dem->geographic = is_geographic(dem->wkt);
  memcpy(dem->gt, in->gt, sizeof dem->gt);
  dem->has_nodata = in->has_nodata;
  dem->nodata = in->nodata;
  int e;
  if (npy) {
    e = sharc_array_open_npy(pool, path, SHARC_READ, &dem->data);
    if (!e && (sharc_array_dtype(dem->data) != SHARC_F32 ||
               sharc_array_ndim(dem->data) != 2 ||
               sharc_array_fortran_order(dem->data))) {
      tiles_dem_free(dem);
      return fail(msg, msglen, path, "is not a 2-D float32 array in C order");
    }
  } else {
    uint64_t shape[2] = {in->raw_h, in->raw_w};
    e = sharc_array_open_raw(pool, path, SHARC_READ, SHARC_F32, 2, shape, 0,
                             &dem->data);
  }
  if (e) {
    tiles_dem_free(dem);
    return fail(msg, msglen, path,
                e == SHARC_EFORMAT ? "is too short or malformed for the size"
                                   : sharc_strerror(e));
  }
  dem->height = sharc_array_shape(dem->data)[0];
  dem->width = sharc_array_shape(dem->data)[1];
  return 0;
}
