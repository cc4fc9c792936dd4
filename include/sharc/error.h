/* sharc: error codes.
 *
 * Every function that returns int returns 0 on success or a negative code.
 * System failures are the negated errno (SHARC_ENOMEM == -ENOMEM, ...); the
 * codes below -3000 are sharc's own. Handles (pools) also keep a detailed
 * message naming the file, field or index concerned: sharc_pool_errmsg(). */
#ifndef SHARC_ERROR_H
#define SHARC_ERROR_H

#include <errno.h>

#include "common.h"

#ifdef __cplusplus
extern "C" {
#endif

/* X(name, value, message): builds the enum and both string tables. */
#define SHARC_ERRNO_MAP(X)                                                     \
  X(EINVAL, -EINVAL, "invalid argument")                                       \
  X(ENOMEM, -ENOMEM, "out of memory")                                          \
  X(ENOENT, -ENOENT, "no such file or directory")                              \
  X(EEXIST, -EEXIST, "already exists")                                         \
  X(EACCES, -EACCES, "permission denied")                                      \
  X(EPERM, -EPERM, "operation not permitted")                                  \
  X(ENOSPC, -ENOSPC, "no space left on device")                                \
  X(EOVERFLOW, -EOVERFLOW, "value too large")                                  \
  X(ENOTSUP, -ENOTSUP, "not supported")                                        \
  X(EMFILE, -EMFILE, "too many open files")                                    \
  X(EAGAIN, -EAGAIN, "resource temporarily unavailable")                       \
  X(EBUSY, -EBUSY, "in use")                                                   \
  X(ERANGE, -ERANGE, "index or count out of range")                            \
  X(EFORMAT, -3001, "malformed file")                                          \
  X(EDTYPE, -3002, "unsupported dtype")                                        \
  X(ENOKERNEL, -3003, "no kernel by that name")                                \
  X(EWORKER, -3004, "a worker process died")                                   \
  X(ECORRUPT, -3005, "control block corrupted")                                \
  X(EKERNEL, -3006, "kernel returned an error")                                \
  X(ECLOSED, -3007, "pool is shut down")                                       \
  X(EQUARANTINED, -3008, "job finished, some indices quarantined")           \
  X(ECANCELED, -3009, "job cancelled")

typedef enum {
#define SHARC__ERR_ENUM(name, value, msg) SHARC_##name = (value),
  SHARC_ERRNO_MAP(SHARC__ERR_ENUM)
#undef SHARC__ERR_ENUM
      SHARC_OK = 0
} sharc_errno;

/* A short description of code: one of the messages above, strerror() for
 * other negated errno values, or "unknown error". Static storage; thread-safe. */
SHARC_API const char *sharc_strerror(int code);

/* The symbolic name of code ("SHARC_EFORMAT", "SHARC_ENOMEM", ...), or
 * "SHARC_UNKNOWN". Static storage; thread-safe. */
SHARC_API const char *sharc_err_name(int code);

#ifdef __cplusplus
}
#endif
#endif
