/* The tiles pipeline's jobs after shading: the warp to a Web Mercator grid
 * (GDAL's transformer, in every worker) and the pyramid levels (sampling,
 * averaging, PNG encoding and writing, one index per tile). Kernels
 * registered by the tool, since they call GDAL and libpng. */
#ifndef SHARC_TOOL_TILES_RENDER_H
#define SHARC_TOOL_TILES_RENDER_H

#include <stdint.h>

#define TILE 256
/* Web Mercator: the half-width of the world in metres, and the resolution
 * of zoom 0 in metres per pixel. */
#define MERC_ORIGIN 20037508.342789244
#define MERC_RES0 156543.03392804097
/* Most workers whose per-phase times are kept. */
#define TILES_MAX_STATS_WORKERS 256

/* tiles_warp: array 0 the shaded source (src_h x src_w x bpp bytes), array
 * 1 the warped grid (dst_h x dst_w x bpp, written; 0 / alpha 0 outside),
 * array 2 the source WKT then the destination WKT, each NUL-terminated.
 * One index per destination row; nearest neighbour at pixel centres, as
 * gdal2tiles' warped VRT samples. */
typedef struct tiles_warp_args {
  uint64_t src_w, src_h, dst_w, dst_h;
  double src_gt[6], dst_gt[6];
  int bpp; /* 1: grey with 0 = nodata; 4: RGBA */
  int pad;
} tiles_warp_args;

/* Per-worker seconds and bytes, array 3 of the level jobs: F64
 * [TILES_MAX_STATS_WORKERS][TILES_STAT_COUNT]. */
enum {
  TILES_STAT_SAMPLE = 0, /* warp-grid sampling and averaging */
  TILES_STAT_ENCODE = 1, /* PNG encoding */
  TILES_STAT_WRITE = 2,  /* writing files */
  TILES_STAT_BYTES = 3,  /* PNG bytes written */
  TILES_STAT_COUNT = 4
};

/* tiles_level: one index per tile of the level's rectangle (row-major, XYZ
 * numbering). Arrays: 0 the source (base level: the warped grid; overview:
 * the child level's mosaic), 1 this level's mosaic (ny*256 x nx*256 x mbpp,
 * written), 2 this level's flags (one byte per tile: 1 written, 0 empty),
 * 3 stats, 4 (overview) the child level's flags. */
typedef struct tiles_level_args {
  int zoom;
  int overview; /* 0: from the warped grid; 1: from the level above */
  int src_bpp;  /* base: 1 or 4 */
  int mbpp;     /* mosaic bytes per pixel: 2 (grey+alpha) or 4 (RGBA) */
  int png_level;
  int pad;
  int64_t tminx, tminy; /* this level's first tile, XYZ */
  uint64_t nx, ny;
  int64_t cminx, cminy; /* overview: the child level's rectangle */
  uint64_t cnx, cny;
  uint64_t dst_w, dst_h; /* base: the warped grid */
  double dst_gt[6];
  char dir[2048]; /* where z/x/y.png go (directories made already) */
} tiles_level_args;

#endif
