/* The tiles commands' raster side: a DEM in a shared float32 array with its
 * georeferencing (read through GDAL, or the built-in synthetic terrain),
 * and GeoTIFF output through GDAL. */
#ifndef SHARC_TOOL_TILES_RASTER_H
#define SHARC_TOOL_TILES_RASTER_H

#include <stddef.h>
#include <stdint.h>

#include <sharc.h>

typedef struct tiles_dem {
  sharc_array *data; /* float32 [height][width]; NULL when only path is */
  char *path;        /* a file GDAL reads, left unread (lazy); owned */
  uint64_t width, height;
  double gt[6];
  char *wkt;      /* the CRS, WKT; owned */
  int geographic; /* the CRS is geographic (degrees) */
  int has_nodata;
  float nodata;
  char name[256]; /* the file, or "synthetic terrain" */
} tiles_dem;

/* Silences GDAL's own stderr messages (errors are reported in one line by
 * the callers) and registers the drivers. Call once, before the pool. */
void tiles_gdal_init(void);

/* Reads band 1 of path into a shared array of pool, by blocks of rows in
 * parallel on the pool's workers. Returns 0, or 1 with "PATH: what" in msg
 * (not a raster, no georeferencing, unreadable). */
int tiles_dem_open(sharc_pool *pool, const char *path, tiles_dem *dem,
                   char *msg, size_t msglen);

/* How to read a DEM that GDAL does not open: .npy (float32, 2-D, C order)
 * or raw float32 files are mapped in place, not copied, with the size and
 * georeferencing given here. */
typedef struct tiles_input {
  uint64_t raw_w, raw_h; /* raw: required; .npy: from the header */
  int has_gt;
  double gt[6];
  const char *crs; /* anything OSRSetFromUserInput takes (EPSG:32633) */
  int has_nodata;
  float nodata;
} tiles_input;

/* Parses the tiles_input options (--raw-size WxH, --geotransform
 * a,b,c,d,e,f, --crs CRS, --nodata V). Returns 0 when opt is one of them
 * (consumed), 1 when it is not, 2 after printing a usage error for cmd. */
int tiles_input_option(const char *cmd, const char *opt, const char *arg,
                       tiles_input *in);

/* Parses gdaldem's -alg (Horn or ZevenbergenThorne, any case) into
 * SHARC_GRADIENT_*. Returns 0, or 2 after printing a usage error for cmd. */
int tiles_parse_gradient(const char *cmd, const char *arg, int *gradient);

/* The option letters the commands give those options in getopt. */
#define TILES_INPUT_LETTER_NAME(c)                                             \
  ((c) == 'R'   ? "raw-size"                                                   \
   : (c) == 'G' ? "geotransform"                                               \
   : (c) == 'K' ? "crs"                                                        \
   : (c) == 'N' ? "nodata"                                                     \
                : "")

/* Opens path: mapped in place when it ends in .npy or in->raw_w is set,
 * else through GDAL: read whole (tiles_dem_open), or with lazy only its
 * size, georeferencing and nodata, dem->data left NULL and dem->path set,
 * for a caller that reads the windows it needs. Returns 0 or 1 with msg. */
int tiles_dem_load(sharc_pool *pool, const char *path, const tiles_input *in,
                   int lazy, tiles_dem *dem, char *msg, size_t msglen);

/* The built-in synthetic terrain: size x size pixels over the same area
 * whatever the size (UTM zone 33N, 30 m at size 8192, or WGS84 degrees with
 * geographic), sea as nodata -9999. */
int tiles_dem_synthetic(sharc_pool *pool, uint64_t size, int geographic,
                        uint64_t seed, tiles_dem *dem, char *msg,
                        size_t msglen);

void tiles_dem_free(tiles_dem *dem);

/* Valid (non-nodata) minimum and maximum; 0 when there is no valid pixel. */
int tiles_dem_range(const tiles_dem *dem, double *min, double *max);

/* Writes a width x height raster of `bands` interleaved bytes per pixel as
 * a GeoTIFF with dem's georeferencing, under a temporary name renamed to
 * path when complete. bands 1 (with nodata 0 when nodata0), 3 or 4 (RGB,
 * RGBA; `bands_out` of them, the first ones, are written). Returns 0 or 1
 * with "PATH: what" in msg. */
int tiles_write_gtiff(const char *path, const tiles_dem *dem,
                      const uint8_t *pix, int bands, int bands_out, int nodata0,
                      int type_float, char *msg, size_t msglen);

/* Reads a whole text file (at most 16 MiB) into a NUL-terminated buffer
 * owned by the caller; NULL with "PATH: what" in msg. */
char *tiles_read_text(const char *path, char *msg, size_t msglen);

/* Loads a gdaldem colour table; 1 with "PATH: line N: what" in msg. */
struct sharc_relief_table;
int tiles_load_table(const char *path, struct sharc_relief_table *t, char *msg,
                     size_t msglen);

#endif
