/* Option parsing shared by the tool's commands. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "opts.h"

static int parse_digits(const char *text, uint64_t *out) {
  if (text[0] < '0' || text[0] > '9')
    return -1;
  char *end = NULL;
  errno = 0;
  unsigned long long v = strtoull(text, &end, 10);
  if (errno != 0 || *end != '\0')
    return -1;
  *out = v;
  return 0;
}

int tool_parse_u64(const char *text, uint64_t *out) {
  uint64_t base, exp;
  const char *sep;
  if ((sep = strstr(text, "^")) != NULL && sep - text == 1 && text[0] == '2') {
    if (parse_digits(sep + 1, &exp) != 0 || exp > 63)
      return -1;
    *out = UINT64_C(1) << exp;
    return 0;
  }
  if ((sep = strchr(text, 'e')) != NULL) {
    char head[32];
    size_t len = (size_t)(sep - text);
    if (len == 0 || len >= sizeof head)
      return -1;
    memcpy(head, text, len);
    head[len] = '\0';
    if (parse_digits(head, &base) != 0 || parse_digits(sep + 1, &exp) != 0 ||
        exp > 19)
      return -1;
    for (uint64_t i = 0; i < exp; i++) {
      if (__builtin_mul_overflow(base, 10, &base))
        return -1;
    }
    *out = base;
    return 0;
  }
  return parse_digits(text, out);
}

int tool_fail(const char *cmd, int status, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fprintf(stderr, "sharc %s: ", cmd);
  vfprintf(stderr, fmt, ap);
  fputc('\n', stderr);
  va_end(ap);
  return status;
}

const char tool_fault_help[] =
    "  --retries R     run ranges whose worker died or whose kernel failed\n"
    "                  again (the kernel must be idempotent), narrowing them\n"
    "                  down to the failing indices; an index failing alone "
    "R+1\n"
    "                  times is poison (default 0: the first failure fails)\n"
    "  --on-poison A   quarantine (leave it out, finish, exit 1 listing it;\n"
    "                  the default) or stop (fail at once, naming it)\n"
    "  --timeout S     a chunk running over S seconds gets its worker "
    "SIGTERM,\n"
    "                  then SIGKILL, and counts as failed\n"
    "  --timeout-x X   the same over X times the typical chunk time "
    "(>= 10 ms)\n";

int tool_is_fault_opt(int c) {
  return c == TOOL_OPT_RETRIES || c == TOOL_OPT_ON_POISON ||
         c == TOOL_OPT_TIMEOUT || c == TOOL_OPT_TIMEOUT_X;
}

int tool_parse_fault(const char *cmd, int c, const char *arg,
                     sharc_fault_policy *f) {
  uint64_t v;
  char *end = NULL;
  double d;
  switch (c) {
  case TOOL_OPT_RETRIES:
    if (tool_parse_u64(arg, &v) != 0 || v > 1000)
      return tool_fail(cmd, 2, "--retries: '%s' is not 0..1000", arg);
    f->retries = (unsigned)v;
    return 0;
  case TOOL_OPT_ON_POISON:
    if (strcmp(arg, "quarantine") == 0)
      f->on_poison = SHARC_POISON_QUARANTINE;
    else if (strcmp(arg, "stop") == 0)
      f->on_poison = SHARC_POISON_STOP;
    else
      return tool_fail(cmd, 2, "--on-poison: '%s' is not quarantine or stop",
                       arg);
    return 0;
  default:
    d = strtod(arg, &end);
    if (end == arg || *end != '\0' || !(d > 0 && d < 1e9))
      return tool_fail(cmd, 2, "%s: '%s' is not a positive number",
                       c == TOOL_OPT_TIMEOUT ? "--timeout" : "--timeout-x",
                       arg);
    if (c == TOOL_OPT_TIMEOUT)
      f->timeout_s = d;
    else
      f->timeout_x = d;
    return 0;
  }
}

int tool_add_params(const char *cmd, const char **params, const char *more,
                    char *buf, size_t len) {
  if (*params == NULL) {
    *params = more;
    return 0;
  }
  char joined[4096];
  int n = snprintf(joined, sizeof joined, "%s,%s", *params, more);
  if (n < 0 || (size_t)n >= sizeof joined || (size_t)n >= len)
    return tool_fail(cmd, 2, "-p: parameters too long");
  memcpy(buf, joined, (size_t)n + 1);
  *params = buf;
  return 0;
}

#ifndef SHARC_BIN_TO_MODULE
#define SHARC_BIN_TO_MODULE "../lib/sharc/sharc-kernels.so"
#endif

/* The kernels as a module: beside the tool (the build tree), else where
 * the install put it relative to the tool. */
static void kernel_module(char *buf, size_t len) {
  char exe[4096];
  ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
  buf[0] = '\0';
  if (n <= 0)
    return;
  exe[n] = '\0';
  char *slash = strrchr(exe, '/');
  if (slash == NULL)
    return;
  *slash = '\0';
  snprintf(buf, len, "%.4000s/sharc-kernels.so", exe);
  if (access(buf, R_OK) != 0)
    snprintf(buf, len, "%.3000s/%.1000s", exe, SHARC_BIN_TO_MODULE);
}

int tool_parse_start(const char *cmd, const char *text, sharc_pool_opts *po,
                     char *buf, size_t len) {
  const char *how = "--start";
  if (text == NULL) {
    text = getenv("SHARC_START");
    how = "SHARC_START";
    if (text == NULL || *text == '\0')
      return 0;
  }
  if (strcmp(text, "fork") == 0)
    po->start = SHARC_START_FORK;
  else if (strcmp(text, "forkserver") == 0)
    po->start = SHARC_START_FORKSERVER;
  else if (strcmp(text, "spawn") == 0)
    po->start = SHARC_START_SPAWN;
  else
    return tool_fail(cmd, 2, "%s: '%s' is not fork, forkserver or spawn", how,
                     text);
  if (po->start == SHARC_START_SPAWN) {
    kernel_module(buf, len);
    po->kernel_libs = buf[0] ? buf : NULL;
  }
  return 0;
}
