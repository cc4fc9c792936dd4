/* libFuzzer target for the .npy header reader: the input is a whole file,
 * parsed in memory by the same code that reads files (lib/npy.c).
 *
 * Beyond not crashing under ASan and UBSan, every outcome must be one the
 * reader promises: 0 or SHARC_EFORMAT (memory cannot fail to read), a
 * one-line message naming the file, and on success an info that agrees with
 * itself and with the input's size. A broken promise aborts, which libFuzzer
 * reports as a crash with the input that caused it.
 *
 *   fuzz_npy CORPUS_DIR -runs=0          replay the corpus
 *   fuzz_npy -max_total_time=60 SCRATCH  fuzz (new inputs go to SCRATCH) */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_npy.h"
#include "npy.h"

static void broken(const char *what, int rc, const char *msg) {
  fprintf(stderr, "fuzz_npy: %s (rc %d, message '%s')\n", what, rc, msg);
  abort();
}

int sharc__fuzz_npy_check(const uint8_t *data, size_t size,
                          sharc__npy_meta *info, char *msg, size_t msglen) {
  memset(msg, '#', msglen);
  int rc = sharc__npy_parse_mem(data, size, "fz.npy", info, msg, msglen);
  if (rc != 0 && rc != SHARC_EFORMAT)
    broken("result is neither 0 nor SHARC_EFORMAT", rc, "");
  if (memchr(msg, '\0', msglen) == NULL)
    broken("message is not terminated", rc, "");
  if (strchr(msg, '\n') != NULL || strncmp(msg, "fz.npy: ", 8) != 0)
    broken("message is not one line starting with the file's name", rc, msg);
  if (rc != 0)
    return rc;
  if (info->file_size != size)
    broken("file_size is not the input's size", rc, msg);
  if (info->version_major < 1 || info->version_major > 3 ||
      info->version_minor != 0)
    broken("version outside 1.0, 2.0, 3.0 accepted", rc, msg);
  if (info->ndim < 0 || info->ndim > SHARC_MAX_DIMS)
    broken("ndim out of range", rc, msg);
  if (info->data_offset > size || info->nbytes > size - info->data_offset)
    broken("payload extends beyond the input", rc, msg);
  if (info->mappable != (info->why_not == 0))
    broken("mappable disagrees with why_not", rc, msg);
  if (info->why_not != 0 && info->why_not != SHARC_EDTYPE &&
      info->why_not != SHARC_EFORMAT)
    broken("why_not is neither SHARC_EDTYPE nor SHARC_EFORMAT", rc, msg);
  if (memchr(info->descr, '\0', sizeof info->descr) == NULL)
    broken("descr is not terminated", rc, msg);
  if (info->mappable) {
    size_t item = sharc_dtype_size(info->dtype);
    uint64_t count = 1;
    for (int i = 0; i < info->ndim; i++)
      count *= info->shape[i]; /* the reader refused overflowing shapes */
    if (item == 0 || info->data_offset % item != 0)
      broken("mappable with a bad dtype or misaligned data", rc, msg);
    if (count * item != info->nbytes)
      broken("nbytes is not the element count times the item size", rc, msg);
  }
  return rc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  sharc__npy_meta info;
  char msg[256];
  sharc__fuzz_npy_check(data, size, &info, msg, sizeof msg);
  return 0;
}
