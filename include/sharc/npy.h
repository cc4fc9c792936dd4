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

/* What sharc_npy_probe() found in a header. The library allocates it and
 * owns what descr and shape point to, in the same block; release it with
 * sharc_npy_info_free(). Later versions may add fields at the end, so use
 * the pointer sharc_npy_probe() gives, never a copy of the struct. */
typedef struct sharc_npy_info {
  int version_major;   /* 1, 2 or 3 */
  int version_minor;   /* 0 */
  sharc_dtype dtype;   /* valid only when mappable */
  /* the descr string as written, e.g. "<f8": printable ASCII (other bytes
   * as '?'), cut to 28 bytes and "..." when longer */
  const char *descr;
  int fortran_order;   /* 0 or 1 */
  int ndim;            /* 0..SHARC_MAX_DIMS */
  const uint64_t *shape; /* ndim sizes; NULL when ndim is 0 */
  uint64_t data_offset; /* byte offset of the payload */
  uint64_t nbytes;      /* payload size: product(shape) * itemsize */
  uint64_t file_size;   /* size of the file */
  int mappable;         /* 1 if sharc_array_open_npy() would accept it */
  int why_not;          /* 0, or the error it would return when not mappable */
} sharc_npy_info;

/* Reads and validates the header of the .npy file at path. Returns 0 and
 * sets *info to a new sharc_npy_info, owned by the caller (release it with
 * sharc_npy_info_free()), when the header is well-formed, even if the dtype
 * cannot be mapped (then (*info)->mappable == 0, why_not says why and msg
 * explains). A malformed file (bad magic or version, header length beyond
 * the file, bad dictionary, shape whose size overflows, data shorter than
 * the shape says) or a path that is not a regular file (a FIFO is opened
 * without waiting for a writer, then refused) returns SHARC_EFORMAT; a
 * directory -EISDIR; an unreadable file the negated errno; no memory
 * SHARC_ENOMEM. On any error *info is NULL. In every case msg (if not NULL)
 * receives a one-line explanation naming the file and the field. Blocks on
 * file I/O; thread-safe; nothing is kept across fork. */
SHARC_API int sharc_npy_probe(const char *path, sharc_npy_info **info,
                              char *msg, size_t msglen);

/* Releases what sharc_npy_probe() gave. NULL is a no-op. Thread-safe. */
SHARC_API void sharc_npy_info_free(sharc_npy_info *info);

#ifdef __cplusplus
}
#endif
#endif
