/* Option parsing shared by the tool's commands. */
#ifndef SHARC_TOOL_OPTS_H
#define SHARC_TOOL_OPTS_H

#include <stddef.h>
#include <stdint.h>

#include <sharc.h>

/* Parses a decimal count ("1000", "1e6", "1<<20" are accepted: plain digits,
 * a power of ten as 1eK, or a power of two as 2^K). Returns 0 or -1. */
int tool_parse_u64(const char *text, uint64_t *out);

/* The fault-policy options `sharc run` and `sharc mc` share, as getopt
 * long options returning these codes. */
enum {
  TOOL_OPT_RETRIES = 0x100,
  TOOL_OPT_ON_POISON,
  TOOL_OPT_TIMEOUT,
  TOOL_OPT_TIMEOUT_X
};
/* clang-format off */
#define TOOL_FAULT_LONGOPTS                                                    \
  {"retries", required_argument, NULL, TOOL_OPT_RETRIES},                      \
  {"on-poison", required_argument, NULL, TOOL_OPT_ON_POISON},                  \
  {"timeout", required_argument, NULL, TOOL_OPT_TIMEOUT},                      \
  {"timeout-x", required_argument, NULL, TOOL_OPT_TIMEOUT_X}
/* clang-format on */

/* Their help text, for usage(). */
extern const char tool_fault_help[];

/* Whether c is one of the codes above. */
int tool_is_fault_opt(int c);

/* Applies option c with its argument to f: --retries R (0..1000),
 * --on-poison quarantine|stop, --timeout S, --timeout-x X (positive
 * seconds or factor). Returns 0, or 2 after a one-line "sharc CMD: "
 * message naming the option. */
int tool_parse_fault(const char *cmd, int c, const char *arg,
                     sharc_fault_policy *f);

/* -p given again: *params becomes the comma-joined list, kept in buf.
 * Returns 0, or 2 after a message when buf is too small. */
int tool_add_params(const char *cmd, const char **params, const char *more,
                    char *buf, size_t len);

/* Prints "sharc CMD: message" to stderr and returns status. */
int tool_fail(const char *cmd, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* --start fork|forkserver|spawn (default: $SHARC_START, else fork) into
 * po; for spawn also names the kernel module built beside the tool, or
 * installed relative to it, in po->kernel_libs (buf holds the path).
 * Returns 0, or 2 after a one-line "sharc CMD: " message. */
int tool_parse_start(const char *cmd, const char *text, sharc_pool_opts *po,
                     char *buf, size_t len);

#endif
