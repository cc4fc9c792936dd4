/* Internal: the .npy format, parsing and writing headers. */
#ifndef SHARC_LIB_NPY_H
#define SHARC_LIB_NPY_H

#include <stddef.h>
#include <stdint.h>

#include "sharc/npy.h"

/* What the reader finds in a header: the fields of the public
 * sharc_npy_info, with the descr and shape held here in fixed arrays, where
 * no program's layout depends on them. descr is printable ASCII (other
 * bytes as '?'), cut to 28 bytes and "..." when longer. */
typedef struct sharc__npy_meta {
  int version_major;
  int version_minor;
  sharc_dtype dtype;
  char descr[32];
  int fortran_order;
  int ndim;
  uint64_t shape[SHARC_MAX_DIMS];
  uint64_t data_offset;
  uint64_t nbytes;
  uint64_t file_size;
  int mappable;
  int why_not;
} sharc__npy_meta;

/* Reads and validates the .npy header of the open file fd (path is used in
 * messages only), with pread: never through a mapping, so a short file cannot
 * raise SIGBUS. Semantics as sharc_npy_probe(), into the caller's *info. */
int sharc__npy_read_fd(int fd, const char *path, sharc__npy_meta *info,
                       char *msg, size_t msglen);

/* The same checks on a whole file held in memory: data[0..len) is the file
 * (len is its size), name is used in messages only. No I/O, no mapping;
 * the fuzzer's entry point. */
int sharc__npy_parse_mem(const void *data, size_t len, const char *name,
                         sharc__npy_meta *info, char *msg, size_t msglen);

/* Writes the complete .npy prefix (magic, version, header length, header
 * dictionary, padding, newline) for an array into buf; the total length is a
 * multiple of 64. Uses version 1.0 when the header fits, else 2.0. Returns
 * the prefix length, or a negative code (SHARC_ERANGE if buflen is too small;
 * SHARC_EINVAL for a bad dtype or ndim). With buf == NULL and buflen == 0
 * returns the length it would write. */
long sharc__npy_format_header(sharc_dtype dt, int fortran_order, int ndim,
                              const uint64_t *shape, char *buf, size_t buflen);

#endif
