/* The tiles pipeline's jobs after the DEM is in memory: the top zooms (each
 * unit of work shades the part of the DEM it needs, warps it to Web
 * Mercator with GDAL's transformer, samples and averages its tiles, PNG
 * encodes and writes them) and the lower zooms (averages of the zoom
 * above). Kernels registered by the tool, since they call GDAL and libpng. */
#ifndef SHARC_TOOL_TILES_RENDER_H
#define SHARC_TOOL_TILES_RENDER_H

#include <stdint.h>

#include "dem.h"

#define TILE 256
/* Web Mercator: the half-width of the world in metres, and the resolution
 * of zoom 0 in metres per pixel. */
#define MERC_ORIGIN 20037508.342789244
#define MERC_RES0 156543.03392804097
/* Most workers whose per-phase times are kept. */
#define TILES_MAX_STATS_WORKERS 256
/* Most zooms one unit of the top job makes below its own (a unit of 2
 * makes 1 + 4 + 16 tiles). */
#define TILES_MAX_UNIT_LEVELS 2

/* The warp: the DEM (src) and the Web Mercator grid gdal2tiles warps to
 * (dst, GDALSuggestedWarpOutput), nearest neighbour at pixel centres, as
 * gdal2tiles' warped VRT samples. */
typedef struct tiles_warp_args {
  uint64_t src_w, src_h, dst_w, dst_h;
  double src_gt[6], dst_gt[6];
  int bpp; /* shaded bytes per pixel. 1: grey with 0 = nodata; 4: RGBA */
  int pad;
} tiles_warp_args;

/* Per-worker seconds and bytes, array 3 of both jobs: F64
 * [TILES_MAX_STATS_WORKERS][TILES_STAT_COUNT]. */
enum {
  TILES_STAT_SAMPLE = 0, /* sampling the grid and averaging */
  TILES_STAT_ENCODE = 1, /* PNG encoding */
  TILES_STAT_WRITE = 2,  /* writing files */
  TILES_STAT_BYTES = 3,  /* PNG bytes written */
  TILES_STAT_SHADE = 4,  /* hillshade or colour relief of the DEM */
  TILES_STAT_WARP = 5,   /* the transformer and the nearest-pixel gather */
  TILES_STAT_READ = 6,   /* reading DEM windows from the file */
  TILES_STAT_COUNT = 7
};

enum { TILES_SHADE_HILLSHADE = 0, TILES_SHADE_RELIEF = 1 };

/* One zoom's rectangle of tiles (XYZ) and where its flags start. */
typedef struct tiles_rect {
  int64_t x0, y0;
  uint64_t nx, ny;
  uint64_t flag0; /* top job: offset of this zoom's flags in array 2 */
} tiles_rect;

/* tiles_top: one index per tile of rect[0] (zoom `zoom`, row-major), the
 * unit of work; a unit makes its tile and, `levels` zooms deeper, the
 * 4^levels tiles under it down to the top zoom, so the top zooms never go
 * through shared memory. Arrays: 0 the float32 DEM (src_h x src_w), or with
 * from_file the path of a raster GDAL reads (NUL-terminated; band 1 is the
 * DEM, each unit reads the window it needs), 1 the mosaic of rect[0] (ny*256 x nx*256 x mbpp, written; 1 byte when no lower
 * zoom needs it), 2 the flags of every zoom (one byte per tile: 1 written,
 * 0 empty), 3 stats, 4 the DEM's WKT then the grid's, each NUL-terminated,
 * 5 the shading's arguments (sharc_hillshade_args or sharc_relief_args). */
typedef struct tiles_top_args {
  tiles_warp_args warp;
  int shading; /* TILES_SHADE_* */
  int zoom;    /* the unit's zoom; the top zoom is zoom + levels */
  int levels;  /* 0..TILES_MAX_UNIT_LEVELS */
  int mbpp;    /* mosaic bytes per pixel: 2 (grey+alpha) or 4 (RGBA) */
  int png_level;
  int has_mosaic;
  int from_file;
  int pad;
  tiles_rect rect[TILES_MAX_UNIT_LEVELS + 1]; /* zoom + d */
  char dir[2048]; /* where z/x/y.png go (directories made already) */
} tiles_top_args;

/* tiles_level: an overview zoom from the zoom above, one index per tile of
 * its rectangle (row-major). Arrays: 0 the child zoom's mosaic, 1 this
 * zoom's mosaic (ny*256 x nx*256 x mbpp, written), 2 this zoom's flags, 3
 * stats, 4 the child zoom's flags. */
typedef struct tiles_level_args {
  int zoom;
  int mbpp;
  int png_level;
  int pad;
  tiles_rect rect, child;
  char dir[2048];
} tiles_level_args;

#endif
