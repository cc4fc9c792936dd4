/* sharc: NumPy .npy headers, read without a pool.
 *
 * sharc_array_open_npy() maps a file; this header only inspects one, for
 * tools that want to describe a file or check it before mapping. */
#ifndef SHARC_NPY_H
#define SHARC_NPY_H

#include "array.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct sharc_npy_info {
  int version_major;   /* 1, 2 or 3 */
  int version_minor;   /* 0 */
  sharc_dtype dtype;   /* valid only when mappable */
  char descr[32];      /* the descr string as written, e.g. "<f8" */
  int fortran_order;   /* 0 or 1 */
  int ndim;            /* 0..SHARC_MAX_DIMS */
  uint64_t shape[SHARC_MAX_DIMS];
  uint64_t data_offset; /* byte offset of the payload */
  uint64_t nbytes;      /* payload size: product(shape) * itemsize */
  uint64_t file_size;   /* size of the file */
  int mappable;         /* 1 if sharc_array_open_npy() would accept it */
  int why_not;          /* 0, or the error it would return when not mappable */
} sharc_npy_info;

/* Reads and validates the header of the .npy file at path. Returns 0 and
 * fills *info when the header is well-formed, even if the dtype cannot be
 * mapped (then info->mappable == 0, info->why_not says why and msg explains).
 * A malformed file (bad magic or version, header length beyond the file,
 * bad dictionary, shape whose size overflows, data shorter than the shape
 * says) or a path that is not a regular file (a FIFO is opened without
 * waiting for a writer, then refused) returns SHARC_EFORMAT; a directory
 * -EISDIR; an unreadable file the negated errno. In every
 * case msg (if not NULL) receives a one-line explanation naming the file
 * and the field. Blocks on file I/O; thread-safe. */
SHARC_API int sharc_npy_probe(const char *path, sharc_npy_info *info,
                              char *msg, size_t msglen);

#ifdef __cplusplus
}
#endif
#endif
