/* PNG encoding of 256x256 tiles into memory with libpng. */
#ifndef SHARC_TOOL_TILES_PNG_H
#define SHARC_TOOL_TILES_PNG_H

#include <stddef.h>
#include <stdint.h>

typedef struct tiles_buf {
  uint8_t *data;
  size_t len, cap;
} tiles_buf;

/* Encodes a size x size image of `channels` interleaved bytes per pixel (1
 * grey, 2 grey+alpha, 3 RGB, 4 RGBA) at zlib `level` (0..9) with one filter
 * (UP) for level < 6 (at level 1 with zlib's Z_RLE strategy), libpng's
 * adaptive filtering from 6 up. The buffer is
 * reused: buf->len is set, buf->data grows as needed. Returns 0 or -1. */
int tiles_png_encode(const uint8_t *pix, unsigned size, int channels, int level,
                     tiles_buf *buf);

#endif
