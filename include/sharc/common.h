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

#define SHARC_VERSION_MAJOR 0
#define SHARC_VERSION_MINOR 1
#define SHARC_VERSION_PATCH 0
#define SHARC_VERSION_STRING "0.1.0"

#ifdef __cplusplus
extern "C" {
#endif

/* The library's version as "MAJOR.MINOR.PATCH". Static string; thread-safe. */
SHARC_API const char *sharc_version(void);

#ifdef __cplusplus
}
#endif
#endif
