/* PNG encoding with libpng into a growing memory buffer. gdal2tiles leaves
 * libpng at its defaults (zlib 6, adaptive filters), where most of its time
 * goes; one filter (UP) with zlib's run-length strategy was 6-8x faster
 * for files 7-25% larger (docs/tiles.md has the trade measured). */
#include <png.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "tiles_png.h"

static void write_fn(png_structp png, png_bytep data, png_size_t len) {
  tiles_buf *b = png_get_io_ptr(png);
  if (b->len + len > b->cap) {
    size_t cap = b->cap ? b->cap : 65536;
    while (cap < b->len + len)
      cap *= 2;
    uint8_t *nd = realloc(b->data, cap);
    if (!nd)
      png_error(png, "out of memory");
    b->data = nd;
    b->cap = cap;
  }
  memcpy(b->data + b->len, data, len);
  b->len += len;
}

static void flush_fn(png_structp png) { (void)png; }

int tiles_png_encode(const uint8_t *pix, unsigned size, int channels, int level,
                     tiles_buf *buf) {
  static const int types[5] = {0, PNG_COLOR_TYPE_GRAY,
                               PNG_COLOR_TYPE_GRAY_ALPHA, PNG_COLOR_TYPE_RGB,
                               PNG_COLOR_TYPE_RGB_ALPHA};
  if (channels < 1 || channels > 4)
    return -1;
  png_structp png =
      png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
  if (!png)
    return -1;
  png_infop info = png_create_info_struct(png);
  if (!info) {
    png_destroy_write_struct(&png, NULL);
    return -1;
  }
  buf->len = 0;
  if (setjmp(png_jmpbuf(png))) {
    png_destroy_write_struct(&png, &info);
    return -1;
  }
  png_set_write_fn(png, buf, write_fn, flush_fn);
  png_set_compression_level(png, level);
  if (level < 6)
    png_set_filter(png, 0, level == 0 ? PNG_FILTER_NONE : PNG_FILTER_UP);
  /* After the UP filter, flat and evenly sloping ground is runs of one
   * byte: on hillshade and colour-relief tiles Z_RLE was as fast as zlib
   * level 1 or faster, and 20-25% smaller. */
  if (level == 1)
    png_set_compression_strategy(png, Z_RLE);
  png_set_IHDR(png, info, size, size, 8, types[channels], PNG_INTERLACE_NONE,
               PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
  png_write_info(png, info);
  for (unsigned r = 0; r < size; r++)
    png_write_row(png, (png_const_bytep)(pix + (size_t)r * size * channels));
  png_write_end(png, info);
  png_destroy_write_struct(&png, &info);
  return 0;
}
