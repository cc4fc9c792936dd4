/* Raster kernels over shared arrays: a synthetic DEM, hillshade and colour
 * relief with the conventions of gdaldem (GDAL 3.6). Pure compute: no GDAL,
 * no I/O. Each kernel's index is one raster row, so a job over [0, height)
 * covers the raster; a row reads its neighbours (the 3x3 halo) straight
 * from the shared input, so block and chunk edges need no copies. */
#ifndef SHARC_KERNELS_DEM_H
#define SHARC_KERNELS_DEM_H

#include <stddef.h>
#include <stdint.h>

#include <sharc.h>

/* --- synthetic terrain: kernel "dem_synth" --------------------------------
 * Array 0: float32 [height][width], written. Deterministic for (seed, width,
 * height): fractal value noise with sea (nodata), plains and mountains. */
typedef struct sharc_dem_synth_args {
  uint64_t width, height;
  uint64_t seed;
  float nodata; /* written where the terrain is below sea level */
  float pad;
} sharc_dem_synth_args;

/* The elevation at (col, row), or NAN for sea. Pure; for tests. */
double sharc_dem_synth_at(const sharc_dem_synth_args *a, uint64_t col,
                          uint64_t row);

/* --- hillshade: kernel "hillshade" ----------------------------------------
 * Array 0: float32 DEM [height][width]; array 1: uint8 [height][width],
 * written. Output 1..255, 0 = nodata (and, without compute_edges, the
 * 1-pixel frame), exactly as gdaldem hillshade writes its Byte band. */
enum {
  SHARC_HILLSHADE_PLAIN = 0,
  SHARC_HILLSHADE_COMBINED = 1,
  SHARC_HILLSHADE_MULTIDIRECTIONAL = 2,
  SHARC_HILLSHADE_IGOR = 3 /* -igor: shadows only, from slope and aspect */
};

/* The gradient (-alg): Horn's 3x3 weights (the default) or Zevenbergen and
 * Thorne's 4 neighbours. */
enum { SHARC_GRADIENT_HORN = 0, SHARC_GRADIENT_ZEVENBERGEN_THORNE = 1 };

typedef struct sharc_hillshade_args {
  uint64_t width, height;
  double ewres;    /* geotransform[1] */
  double nsres;    /* -geotransform[5]: positive for a north-up raster */
  double z;        /* vertical exaggeration (-z) */
  double xscale;   /* horizontal units per vertical unit, east-west (-s) */
  double yscale;   /* the same north-south */
  double azimuth;  /* degrees clockwise from north (-az) */
  double altitude; /* degrees above the horizon (-alt) */
  int mode;        /* SHARC_HILLSHADE_* */
  int compute_edges;
  int has_nodata;
  float nodata;
  int gradient; /* SHARC_GRADIENT_* */
  int pad;
} sharc_hillshade_args;

/* Default options of gdaldem hillshade for a raster of the given size and
 * pixel size. */
void sharc_hillshade_defaults(sharc_hillshade_args *a, uint64_t width,
                              uint64_t height, double ewres, double nsres);

/* Shades rows [r0, r1) of dem into out. Pure; the kernel calls it. */
void sharc_hillshade_rows(const sharc_hillshade_args *a, const float *dem,
                          uint8_t *out, uint64_t r0, uint64_t r1);

/* Shades the window rows [r0, r1) x columns [c0, c1) of the raster into
 * out, pixel (r, c) at out[(r - r0) * out_stride + c - c0]. dem holds only
 * part of the raster, pixel (r, c) at dem[(r - dem_r0) * dem_stride + c -
 * dem_c0], and must cover the window and its 1-pixel halo (clipped to the
 * raster): the result is then the same as sharc_hillshade_rows() gives over
 * the whole raster, so tiles can shade just what they need. Pure. */
void sharc_hillshade_window(const sharc_hillshade_args *a, const float *dem,
                            size_t dem_stride, uint64_t dem_r0,
                            uint64_t dem_c0, uint8_t *out, size_t out_stride,
                            uint64_t r0, uint64_t r1, uint64_t c0,
                            uint64_t c1);

/* --- colour relief: kernel "color_relief" ---------------------------------
 * Array 0: float32 DEM [height][width]; array 1: uint8 [height][width][4]
 * (RGBA), written. */
#define SHARC_RELIEF_MAX_ENTRIES 160

enum {
  SHARC_RELIEF_INTERPOLATE = 0,
  SHARC_RELIEF_EXACT = 1,
  SHARC_RELIEF_NEAREST = 2
};

typedef struct sharc_relief_entry {
  double value;
  uint8_t rgba[4];
  int kind; /* 0 absolute, 1 percent (value in 0..100), 2 nv */
} sharc_relief_entry;

typedef struct sharc_relief_table {
  unsigned n;
  sharc_relief_entry e[SHARC_RELIEF_MAX_ENTRIES];
} sharc_relief_table;

typedef struct sharc_relief_args {
  uint64_t width, height;
  int mode; /* SHARC_RELIEF_* */
  int has_nodata;
  float nodata;
  int has_nv; /* the table has an nv entry and the DEM a nodata */
  uint8_t nv_rgba[4];
  unsigned n; /* sorted absolute entries */
  double value[SHARC_RELIEF_MAX_ENTRIES];
  uint8_t rgba[SHARC_RELIEF_MAX_ENTRIES][4];
} sharc_relief_args;

/* Parses a colour table in the format of gdaldem color-relief from text.
 * On error returns SHARC_EFORMAT and writes "line N: what" to msg. */
int sharc_relief_parse(const char *text, sharc_relief_table *t, char *msg,
                       size_t msglen);

/* Builds the kernel's arguments: resolves percentages against [min, max]
 * (the valid data's range), sorts, and drops nv when the DEM has no nodata.
 * Returns 0 or SHARC_EINVAL (no usable entry; msg says so). */
int sharc_relief_prepare(const sharc_relief_table *t, double min, double max,
                         int has_nodata, float nodata, int mode, uint64_t width,
                         uint64_t height, sharc_relief_args *out, char *msg,
                         size_t msglen);

/* The colour of one value. Pure; the kernel calls it. */
void sharc_relief_color(const sharc_relief_args *a, float v, uint8_t rgba[4]);

/* Is v the nodata value, as GDAL compares them (NaN equals NaN; floats
 * within 2 FLT_EPSILON relative)? */
int sharc_dem_is_nodata(float v, float nodata);

#endif
