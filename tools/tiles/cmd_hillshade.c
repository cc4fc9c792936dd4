/* sharc dem, sharc hillshade, sharc color-relief: full-resolution rasters
 * written as GeoTIFF with the input's georeferencing, so that they compare
 * pixel for pixel with gdaldem. Options take gdaldem's spellings (-z, -s,
 * -az, -alt, -combined, -multidirectional, -compute_edges, -alpha,
 * -exact_color_entry, -nearest_color_entry); --workers W picks the pool. */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sharc.h>

#include "dem.h"
#include "opts.h"
#include "tiles_cmd.h"
#include "tiles_raster.h"

static int parse_double_opt(const char *cmd, const char *name, const char *s,
                            double lo, double hi, double *out) {
  char *end = NULL;
  double v = strtod(s, &end);
  if (!*s || *end || !isfinite(v) || v < lo || v > hi)
    return tool_fail(cmd, 2, "%s: '%s' is not a number in %g..%g", name, s, lo,
                     hi);
  *out = v;
  return 0;
}

static int parse_workers(const char *cmd, const char *s, unsigned *out) {
  uint64_t v;
  if (tool_parse_u64(s, &v) || v == 0 || v > 4096)
    return tool_fail(cmd, 2, "--workers: '%s' is not a count in 1..4096", s);
  *out = (unsigned)v;
  return 0;
}

static int start_pool(const char *cmd, unsigned workers, sharc_pool **pool) {
  sharc_pool_opts po = SHARC_POOL_OPTS_INIT;
  po.workers = workers;
  char msg[512];
  if (sharc_pool_create(pool, &po, msg, sizeof msg) != 0)
    return tool_fail(cmd, 1, "cannot start workers: %s", msg);
  return 0;
}

/* --- sharc dem ------------------------------------------------------------ */

static void dem_usage(FILE *out) {
  fprintf(out, "usage: sharc dem OUT.tif [--size N] [--geographic] [--seed S] "
               "[--workers W]\n\n"
               "Writes the built-in synthetic terrain (fractal, with sea as "
               "nodata -9999,\n"
               "plains and mountains) as a Float32 GeoTIFF: N x N pixels "
               "(default 2048)\n"
               "in UTM zone 33N, or in WGS84 degrees with --geographic.\n");
}

int sharc_tiles_cmd_dem(int argc, char **argv) {
  static const struct option longs[] = {
      {"size", required_argument, NULL, 'n'},
      {"geographic", no_argument, NULL, 'g'},
      {"seed", required_argument, NULL, 's'},
      {"workers", required_argument, NULL, 'w'},
      {"help", no_argument, NULL, 'h'},
      {NULL, 0, NULL, 0}};
  uint64_t size = 2048, seed = 1;
  unsigned workers = 0;
  int geographic = 0, c;
  optind = 1;
  opterr = 0;
  while ((c = getopt_long_only(argc, argv, "", longs, NULL)) != -1) {
    if (c == 'h') {
      dem_usage(stdout);
      return 0;
    }
    if (c == '?')
      return tool_fail("dem", 2, "unknown or incomplete option '%s'",
                       argv[optind - 1]);
    if (c == 'g')
      geographic = 1;
    else if (c == 'w' && parse_workers("dem", optarg, &workers))
      return 2;
    else if (c == 'n' &&
             (tool_parse_u64(optarg, &size) || size < 3 || size > 65536))
      return tool_fail("dem", 2, "--size: '%s' is not a count in 3..65536",
                       optarg);
    else if (c == 's' && tool_parse_u64(optarg, &seed))
      return tool_fail("dem", 2, "--seed: '%s' is not a count", optarg);
  }
  if (optind + 1 != argc)
    return tool_fail("dem", 2, "expected one output file (try --help)");
  tiles_gdal_init();
  sharc_pool *pool = NULL;
  if (start_pool("dem", workers, &pool))
    return 1;
  tiles_dem dem;
  char msg[1024];
  int rc =
      tiles_dem_synthetic(pool, size, geographic, seed, &dem, msg, sizeof msg);
  if (!rc) {
    rc = tiles_write_gtiff(argv[optind], &dem, sharc_array_data(dem.data), 1, 1,
                           1, 1, msg, sizeof msg);
    tiles_dem_free(&dem);
  }
  sharc_pool_destroy(pool);
  return rc ? tool_fail("dem", 1, "%s", msg) : 0;
}

/* --- sharc hillshade ------------------------------------------------------ */

static void hs_usage(FILE *out) {
  fprintf(out,
          "usage: sharc hillshade DEM OUT.tif [-z Z] [-s SCALE] [-az DEG] "
          "[-alt DEG]\n"
          "                       [-combined | -multidirectional | -igor] "
          "[-alg Horn|ZevenbergenThorne]\n"
          "                       [-compute_edges] [--workers W]\n"
          "                       [--raw-size WxH] [--geotransform "
          "a,b,c,d,e,f] [--crs CRS] [--nodata V]\n\n"
          "Shades DEM (any raster GDAL reads, band 1) with Horn's method as "
          "gdaldem\n"
          "hillshade does, with the same options and defaults (z 1, scale 1, "
          "azimuth\n"
          "315, altitude 45), and writes a Byte GeoTIFF (0 = nodata) with the "
          "DEM's\n"
          "georeferencing. For a DEM in degrees give -s 111120 (metres) as "
          "with gdaldem.\n"
          "A .npy file (float32, 2-D) or a raw float32 file (--raw-size) is "
          "mapped in\n"
          "place, not read, and needs --geotransform and --crs (and "
          "--nodata if any).\n");
}

int sharc_tiles_cmd_hillshade(int argc, char **argv) {
  static const struct option longs[] = {
      {"z", required_argument, NULL, 'z'},
      {"s", required_argument, NULL, 's'},
      {"scale", required_argument, NULL, 's'},
      {"az", required_argument, NULL, 'a'},
      {"azimuth", required_argument, NULL, 'a'},
      {"alt", required_argument, NULL, 'l'},
      {"altitude", required_argument, NULL, 'l'},
      {"combined", no_argument, NULL, 'c'},
      {"multidirectional", no_argument, NULL, 'm'},
      {"igor", no_argument, NULL, 'i'},
      {"alg", required_argument, NULL, 'g'},
      {"compute_edges", no_argument, NULL, 'e'},
      {"raw-size", required_argument, NULL, 'R'},
      {"geotransform", required_argument, NULL, 'G'},
      {"crs", required_argument, NULL, 'K'},
      {"nodata", required_argument, NULL, 'N'},
      {"workers", required_argument, NULL, 'w'},
      {"help", no_argument, NULL, 'h'},
      {NULL, 0, NULL, 0}};
  double z = 1, s = 1, az = 315, alt = 45;
  tiles_input input;
  memset(&input, 0, sizeof input);
  int mode = SHARC_HILLSHADE_PLAIN, gradient = SHARC_GRADIENT_HORN,
      edges = 0, alt_given = 0, c;
  unsigned workers = 0;
  optind = 1;
  opterr = 0;
  while ((c = getopt_long_only(argc, argv, "", longs, NULL)) != -1) {
    int bad = 0;
    switch (c) {
    case 'h':
      hs_usage(stdout);
      return 0;
    case 'z':
      bad = parse_double_opt("hillshade", "-z", optarg, -1e12, 1e12, &z);
      break;
    case 's':
      bad = parse_double_opt("hillshade", "-s", optarg, 1e-12, 1e12, &s);
      break;
    case 'a':
      bad = parse_double_opt("hillshade", "-az", optarg, -360, 720, &az);
      break;
    case 'l':
      bad = parse_double_opt("hillshade", "-alt", optarg, -90, 90, &alt);
      alt_given = 1;
      break;
    case 'c':
      mode = SHARC_HILLSHADE_COMBINED;
      break;
    case 'm':
      mode = SHARC_HILLSHADE_MULTIDIRECTIONAL;
      break;
    case 'i':
      mode = SHARC_HILLSHADE_IGOR;
      break;
    case 'g':
      bad = tiles_parse_gradient("hillshade", optarg, &gradient);
      break;
    case 'e':
      edges = 1;
      break;
    case 'w':
      bad = parse_workers("hillshade", optarg, &workers);
      break;
    case 'R':
    case 'G':
    case 'K':
    case 'N':
      bad = tiles_input_option("hillshade", TILES_INPUT_LETTER_NAME(c), optarg,
                               &input);
      break;
    default:
      return tool_fail("hillshade", 2, "unknown or incomplete option '%s'",
                       argv[optind - 1]);
    }
    if (bad)
      return bad;
  }
  if (optind + 2 != argc)
    return tool_fail("hillshade", 2,
                     "expected a DEM and an output file (try --help)");
  /* as gdaldem: -igor has no light altitude */
  if (mode == SHARC_HILLSHADE_IGOR && alt_given)
    return tool_fail("hillshade", 2, "-igor and -alt cannot be used together");
  const char *in = argv[optind], *outp = argv[optind + 1];
  tiles_gdal_init();
  sharc_pool *pool = NULL;
  if (start_pool("hillshade", workers, &pool))
    return 1;
  tiles_dem dem;
  char msg[1024];
  sharc_array *out = NULL;
  int rc = tiles_dem_load(pool, in, &input, 0, &dem, msg, sizeof msg);
  if (rc) {
    sharc_pool_destroy(pool);
    return tool_fail("hillshade", 1, "%s", msg);
  }
  uint64_t shape[2] = {dem.height, dem.width};
  sharc_hillshade_args a;
  sharc_hillshade_defaults(&a, dem.width, dem.height, dem.gt[1], -dem.gt[5]);
  a.z = z;
  a.xscale = a.yscale = s;
  a.azimuth = az;
  a.altitude = alt;
  a.mode = mode;
  a.gradient = gradient;
  a.compute_edges = edges;
  a.has_nodata = dem.has_nodata;
  a.nodata = dem.nodata;
  int e = sharc_array_create(pool, SHARC_U8, 2, shape, NULL, &out);
  if (!e) {
    sharc_job_opts o = SHARC_JOB_OPTS_INIT;
    o.args = &a;
    o.args_len = sizeof a;
    o.arrays = (sharc_array *[]){dem.data, out};
    o.narrays = 2;
    e = sharc_run(pool, "hillshade", dem.height, &o, NULL);
  }
  if (e) {
    snprintf(msg, sizeof msg, "%s: %s", in, sharc_pool_errmsg(pool));
    rc = 1;
  } else {
    rc = tiles_write_gtiff(outp, &dem, sharc_array_data(out), 1, 1, 1, 0, msg,
                           sizeof msg);
  }
  sharc_array_destroy(out);
  tiles_dem_free(&dem);
  sharc_pool_destroy(pool);
  return rc ? tool_fail("hillshade", 1, "%s", msg) : 0;
}

/* --- sharc color-relief --------------------------------------------------- */

static void cr_usage(FILE *out) {
  fprintf(out,
          "usage: sharc color-relief DEM TABLE OUT.tif [-alpha] "
          "[-exact_color_entry |\n"
          "                          -nearest_color_entry] [--workers W]\n\n"
          "Colours DEM by TABLE in the format of gdaldem color-relief: one "
          "entry per\n"
          "line, 'VALUE R G B [A]' or 'VALUE NAME [A]', VALUE a number, N%% "
          "of the data\n"
          "range or nv (nodata); values in between are interpolated. Writes "
          "an RGB\n"
          "GeoTIFF, or RGBA with -alpha.\n");
}

/* Reads a whole small text file; NULL with msg on failure. */
char *tiles_read_text(const char *path, char *msg, size_t msglen) {
  FILE *f = fopen(path, "rb");
  if (!f) {
    snprintf(msg, msglen, "%s: %s", path, strerror(errno));
    return NULL;
  }
  size_t cap = 4096, len = 0;
  char *buf = malloc(cap);
  while (buf) {
    size_t got = fread(buf + len, 1, cap - len - 1, f);
    len += got;
    if (got == 0)
      break;
    if (len + 1 == cap) {
      if (cap > (1u << 24)) {
        free(buf);
        buf = NULL;
        break;
      }
      char *nb = realloc(buf, cap *= 2);
      if (!nb)
        free(buf);
      buf = nb;
    }
  }
  int err = ferror(f);
  fclose(f);
  if (!buf || err) {
    free(buf);
    snprintf(msg, msglen, "%s: cannot read the file", path);
    return NULL;
  }
  buf[len] = '\0';
  if (memchr(buf, '\0', len)) {
    free(buf);
    snprintf(msg, msglen, "%s: not a text file", path);
    return NULL;
  }
  return buf;
}

int tiles_load_table(const char *path, sharc_relief_table *t, char *msg,
                     size_t msglen) {
  char *text = tiles_read_text(path, msg, msglen);
  if (!text)
    return 1;
  char why[256];
  int e = sharc_relief_parse(text, t, why, sizeof why);
  free(text);
  if (e) {
    snprintf(msg, msglen, "%s: %s", path, why);
    return 1;
  }
  return 0;
}

int sharc_tiles_cmd_color_relief(int argc, char **argv) {
  static const struct option longs[] = {
      {"alpha", no_argument, NULL, 'a'},
      {"exact_color_entry", no_argument, NULL, 'x'},
      {"nearest_color_entry", no_argument, NULL, 'n'},
      {"raw-size", required_argument, NULL, 'R'},
      {"geotransform", required_argument, NULL, 'G'},
      {"crs", required_argument, NULL, 'K'},
      {"nodata", required_argument, NULL, 'N'},
      {"workers", required_argument, NULL, 'w'},
      {"help", no_argument, NULL, 'h'},
      {NULL, 0, NULL, 0}};
  int alpha = 0, mode = SHARC_RELIEF_INTERPOLATE, c;
  tiles_input input;
  memset(&input, 0, sizeof input);
  unsigned workers = 0;
  optind = 1;
  opterr = 0;
  while ((c = getopt_long_only(argc, argv, "", longs, NULL)) != -1) {
    if (c == 'h') {
      cr_usage(stdout);
      return 0;
    }
    if (c == 'a')
      alpha = 1;
    else if (c == 'x')
      mode = SHARC_RELIEF_EXACT;
    else if (c == 'n')
      mode = SHARC_RELIEF_NEAREST;
    else if (c == 'w') {
      if (parse_workers("color-relief", optarg, &workers))
        return 2;
    } else if (c == 'R' || c == 'G' || c == 'K' || c == 'N') {
      if (tiles_input_option("color-relief", TILES_INPUT_LETTER_NAME(c), optarg,
                             &input))
        return 2;
    } else
      return tool_fail("color-relief", 2, "unknown or incomplete option '%s'",
                       argv[optind - 1]);
  }
  if (optind + 3 != argc)
    return tool_fail("color-relief", 2,
                     "expected a DEM, a colour table and an output file "
                     "(try --help)");
  const char *in = argv[optind], *tpath = argv[optind + 1],
             *outp = argv[optind + 2];
  char msg[1024];
  sharc_relief_table *table = malloc(sizeof *table);
  if (!table)
    return tool_fail("color-relief", 1, "out of memory");
  if (tiles_load_table(tpath, table, msg, sizeof msg)) {
    free(table);
    return tool_fail("color-relief", 1, "%s", msg);
  }
  tiles_gdal_init();
  sharc_pool *pool = NULL;
  if (start_pool("color-relief", workers, &pool)) {
    free(table);
    return 1;
  }
  tiles_dem dem;
  int rc = tiles_dem_load(pool, in, &input, 0, &dem, msg, sizeof msg);
  if (rc) {
    free(table);
    sharc_pool_destroy(pool);
    return tool_fail("color-relief", 1, "%s", msg);
  }
  double lo, hi;
  tiles_dem_range(&dem, &lo, &hi);
  sharc_relief_args *a = malloc(sizeof *a);
  sharc_array *out = NULL;
  char why[256];
  rc = 1;
  if (!a) {
    snprintf(msg, sizeof msg, "out of memory");
  } else if (sharc_relief_prepare(table, lo, hi, dem.has_nodata, dem.nodata,
                                  mode, dem.width, dem.height, a, why,
                                  sizeof why)) {
    snprintf(msg, sizeof msg, "%s: %s", tpath, why);
  } else {
    uint64_t shape[3] = {dem.height, dem.width, 4};
    int e = sharc_array_create(pool, SHARC_U8, 3, shape, NULL, &out);
    if (!e) {
      sharc_job_opts o = SHARC_JOB_OPTS_INIT;
      o.args = a;
      o.args_len = sizeof *a;
      o.arrays = (sharc_array *[]){dem.data, out};
      o.narrays = 2;
      e = sharc_run(pool, "color_relief", dem.height, &o, NULL);
    }
    if (e)
      snprintf(msg, sizeof msg, "%s: %s", in, sharc_pool_errmsg(pool));
    else
      rc = tiles_write_gtiff(outp, &dem, sharc_array_data(out), 4,
                             alpha ? 4 : 3, 0, 0, msg, sizeof msg);
  }
  free(a);
  free(table);
  sharc_array_destroy(out);
  tiles_dem_free(&dem);
  sharc_pool_destroy(pool);
  return rc ? tool_fail("color-relief", 1, "%s", msg) : 0;
}
