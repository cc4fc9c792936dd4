/* sharc: loop schedules — how the index space is cut into chunks. */
#ifndef SHARC_SCHEDULE_H
#define SHARC_SCHEDULE_H

#include "common.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum {
  SHARC_SCHED_STATIC = 0,  /* chunk 0: one contiguous block per worker;
                              chunk k: blocks of k dealt round-robin */
  SHARC_SCHED_DYNAMIC = 1, /* chunks of k taken first come, first served */
  SHARC_SCHED_GUIDED = 2   /* chunks of ceil(remaining / workers), at least k */
} sharc_sched_kind;

typedef struct sharc_schedule {
  sharc_sched_kind kind;
  uint64_t chunk; /* see above; 0 means 1 for dynamic and guided */
} sharc_schedule;

#define SHARC_SCHEDULE_DEFAULT {SHARC_SCHED_GUIDED, 1}

/* Parses "static", "static:K", "dynamic", "dynamic:K", "guided",
 * "guided:K" (K >= 1). Returns 0 or SHARC_EINVAL. */
SHARC_API int sharc_schedule_parse(const char *text, sharc_schedule *out);
/* Writes the same syntax to buf (at most len bytes, NUL-terminated).
 * Returns the length that was needed, as snprintf does. */
SHARC_API int sharc_schedule_format(sharc_schedule s, char *buf, size_t len);

#ifdef __cplusplus
}
#endif
#endif
