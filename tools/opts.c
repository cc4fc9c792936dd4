/* Option parsing shared by the tool's commands. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
