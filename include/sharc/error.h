/* sharc: error codes.
 *
 * Every function that returns int returns 0 on success or a negative code.
 * System failures are the negated errno (SHARC_ENOMEM == -ENOMEM, ...); the
 * codes below -3000 are sharc's own. Every Linux errno value has a name here,
 * SHARC_ plus the errno's name (SHARC_EISDIR == -EISDIR), except ECANCELED:
 * SHARC_ECANCELED is sharc's own -3009, and the library never returns
 * -ECANCELED. Handles (pools) also keep a detailed message naming the file,
 * field or index concerned: sharc_pool_errmsg(). */
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
  X(EQUARANTINED, -3008, "job finished, some indices quarantined")             \
  X(ECANCELED, -3009, "job cancelled")

/* X(name): every other Linux errno, named as errno names it; its message is
 * strerror()'s. Aliases (EWOULDBLOCK, EDEADLOCK, EOPNOTSUPP) share a value
 * with a name above and are left out. */
#define SHARC_SYSERR_MAP(X)                                                        \
  X(ESRCH)                                                                         \
  X(EINTR) X(EIO) X(ENXIO) X(E2BIG) X(ENOEXEC) X(EBADF) X(ECHILD) X(EFAULT) X(     \
      ENOTBLK) X(EXDEV) X(ENODEV) X(ENOTDIR) X(EISDIR) X(ENFILE) X(ENOTTY)         \
      X(ETXTBSY) X(EFBIG) X(ESPIPE) X(EROFS) X(EMLINK) X(EPIPE) X(EDOM) X(         \
          EDEADLK) X(ENAMETOOLONG) X(ENOLCK) X(ENOSYS) X(ENOTEMPTY) X(ELOOP)       \
          X(ENOMSG) X(EIDRM) X(ECHRNG) X(EL2NSYNC) X(EL3HLT) X(EL3RST) X(          \
              ELNRNG) X(EUNATCH) X(ENOCSI) X(EL2HLT) X(EBADE) X(EBADR)             \
              X(EXFULL) X(ENOANO) X(EBADRQC) X(EBADSLT) X(EBFONT) X(ENOSTR) X(     \
                  ENODATA) X(ETIME) X(ENOSR) X(ENONET) X(ENOPKG) X(EREMOTE)        \
                  X(ENOLINK) X(EADV) X(ESRMNT) X(ECOMM) X(EPROTO) X(               \
                      EMULTIHOP) X(EDOTDOT) X(EBADMSG) X(ENOTUNIQ) X(EBADFD)       \
                      X(EREMCHG) X(ELIBACC) X(ELIBBAD) X(ELIBSCN) X(ELIBMAX) X(    \
                          ELIBEXEC) X(EILSEQ) X(ERESTART) X(ESTRPIPE)              \
                          X(EUSERS) X(ENOTSOCK) X(EDESTADDRREQ) X(EMSGSIZE) X(     \
                              EPROTOTYPE) X(ENOPROTOOPT) X(EPROTONOSUPPORT)        \
                              X(ESOCKTNOSUPPORT) X(EPFNOSUPPORT) X(                \
                                  EAFNOSUPPORT) X(EADDRINUSE) X(EADDRNOTAVAIL)     \
                                  X(ENETDOWN) X(ENETUNREACH) X(ENETRESET) X(       \
                                      ECONNABORTED) X(ECONNRESET) X(ENOBUFS)       \
                                      X(EISCONN) X(ENOTCONN) X(ESHUTDOWN) X(       \
                                          ETOOMANYREFS) X(ETIMEDOUT)               \
                                          X(ECONNREFUSED) X(EHOSTDOWN) X(          \
                                              EHOSTUNREACH) X(EALREADY)            \
                                              X(EINPROGRESS) X(ESTALE) X(          \
                                                  EUCLEAN) X(ENOTNAM) X(ENAVAIL)   \
                                                  X(EISNAM) X(EREMOTEIO) X(        \
                                                      EDQUOT) X(ENOMEDIUM)         \
                                                      X(EMEDIUMTYPE) X(            \
                                                          ENOKEY) X(EKEYEXPIRED)   \
                                                          X(EKEYREVOKED) X(        \
                                                              EKEYREJECTED)        \
                                                              X(EOWNERDEAD) X(     \
                                                                  ENOTRECOVERABLE) \
                                                                  X(ERFKILL) X(    \
                                                                      EHWPOISON)

typedef enum {
#define SHARC__ERR_ENUM(name, value, msg) SHARC_##name = (value),
  SHARC_ERRNO_MAP(SHARC__ERR_ENUM)
#undef SHARC__ERR_ENUM
#define SHARC__SYSERR_ENUM(name) SHARC_##name = -(name),
      SHARC_SYSERR_MAP(SHARC__SYSERR_ENUM)
#undef SHARC__SYSERR_ENUM
          SHARC_OK = 0
} sharc_errno;

/* A short description of code: one of the messages above, strerror() for
 * other negated errno values, or "unknown error". Static storage; thread-safe.
 */
SHARC_API const char *sharc_strerror(int code);

/* The symbolic name of code ("SHARC_EFORMAT", "SHARC_ENOMEM",
 * "SHARC_EISDIR", ...): every code above and every negated Linux errno but
 * -ECANCELED has one; anything else gives "SHARC_UNKNOWN". Static storage;
 * thread-safe. */
SHARC_API const char *sharc_err_name(int code);

#ifdef __cplusplus
}
#endif
#endif
