/* Schedules: their text form. How chunks are claimed is in claim.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

static const char *const kind_names[] = {"static", "dynamic", "guided",
                                         "auto",   "fac2",    "wf"};
#define NKINDS (sizeof kind_names / sizeof kind_names[0])

int sharc_schedule_parse(const char *text, sharc_schedule *out) {
  if (text == NULL || out == NULL)
    return SHARC_EINVAL;
  const char *colon = strchr(text, ':');
  size_t len = colon ? (size_t)(colon - text) : strlen(text);
  for (unsigned k = 0; k < NKINDS; k++) {
    if (strlen(kind_names[k]) != len || strncmp(text, kind_names[k], len) != 0)
      continue;
    sharc_schedule s = {(sharc_sched_kind)k, k == SHARC_SCHED_STATIC ? 0 : 1};
    if (colon != NULL) {
      char *end = NULL;
      if (colon[1] < '1' || colon[1] > '9')
        return SHARC_EINVAL;
      unsigned long long v = strtoull(colon + 1, &end, 10);
      if (*end != '\0' || v == 0 || v == ~0ull)
        return SHARC_EINVAL;
      s.chunk = v;
    }
    *out = s;
    return 0;
  }
  return SHARC_EINVAL;
}

int sharc_schedule_format(sharc_schedule s, char *buf, size_t len) {
  if ((unsigned)s.kind >= NKINDS)
    return snprintf(buf, len, "invalid");
  if (s.kind == SHARC_SCHED_STATIC && s.chunk == 0)
    return snprintf(buf, len, "static");
  /* Schedules that size their own chunks: a smallest chunk of 1 is no
   * choice at all. */
  if (s.kind >= SHARC_SCHED_AUTO && s.chunk <= 1)
    return snprintf(buf, len, "%s", kind_names[s.kind]);
  return snprintf(buf, len, "%s:%llu", kind_names[s.kind],
                  (unsigned long long)(s.chunk ? s.chunk : 1));
}
