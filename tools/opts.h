/* Option parsing shared by the tool's commands. */
#ifndef SHARC_TOOL_OPTS_H
#define SHARC_TOOL_OPTS_H

#include <stdint.h>

/* Parses a decimal count ("1000", "1e6", "1<<20" are accepted: plain digits,
 * a power of ten as 1eK, or a power of two as 2^K). Returns 0 or -1. */
int tool_parse_u64(const char *text, uint64_t *out);

/* Prints "sharc CMD: message" to stderr and returns status. */
int tool_fail(const char *cmd, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
