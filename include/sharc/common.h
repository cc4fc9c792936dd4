/* sharc: common definitions shared by every public header. */
#ifndef SHARC_COMMON_H
#define SHARC_COMMON_H

#include <stddef.h>
#include <stdint.h>

#if defined(__GNUC__)
#define SHARC_API __attribute__((visibility("default")))
#else
#define SHARC_API
#endif

#include "sharc/version.h" /* generated: the build's or the installed one */

#ifdef __cplusplus
extern "C" {
#endif

/* The library's version as "MAJOR.MINOR.PATCH". Static string; thread-safe. */
SHARC_API const char *sharc_version(void);
/* The library's version as SHARC_VERSION_NUMBER computes it: a program can
 * compare the library it runs with (this) and the headers it was built
 * with (SHARC_VERSION_NUMBER); the shared library's SONAME changes with
 * MAJOR. Thread-safe. */
SHARC_API unsigned sharc_version_number(void);

#ifdef __cplusplus
}
#endif
#endif
