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
  SHARC_SCHED_GUIDED = 2,  /* chunks of ceil(remaining / workers), at least k */
  SHARC_SCHED_AUTO = 3,    /* adaptive, no chunk size to choose: each worker
                              owns a contiguous block (the static split, so
                              pages first touched by their owner stay near
                              it) and takes chunks from it sized to last
                              about SHARC_AUTO_TARGET_NS by the cost it
                              measured so far, never more than half of what
                              it has left; an idle worker steals the upper
                              half of another's remainder, from the same L3
                              cache first, then the same NUMA node, then any.
                              Claims touch only the owner's own word; k is
                              the smallest chunk */
  SHARC_SCHED_FAC2 = 4,    /* factoring: batches of one chunk per worker,
                              each chunk ceil(remaining / (2 workers)) at the
                              start of its batch, at least k */
  SHARC_SCHED_WF = 5       /* weighted factoring: a chunk is
                              ceil(remaining / (2 workers)) times this
                              worker's speed relative to the mean speed,
                              both measured during the job; at least k */
} sharc_sched_kind;

/* The time an auto chunk aims to last: long enough that claiming costs
 * about 0.1% of it, short enough that the last chunks leave no straggler. */
#define SHARC_AUTO_TARGET_NS 20000

typedef struct sharc_schedule {
  sharc_sched_kind kind;
  uint64_t chunk; /* see above; 0 means 1 for all but static */
} sharc_schedule;

/* The default: auto, which needs no chunk size (docs/performance.md has
 * the measurements against OpenMP's schedules). A job whose schedule is
 * left at this value (auto with chunk 0, which sharc_schedule_parse never
 * returns) runs the schedule in the environment variable SHARC_SCHEDULE
 * when it is set (same syntax as sharc_schedule_parse; a bad value fails
 * the job with SHARC_EINVAL naming it), as OMP_SCHEDULE is for OpenMP, and
 * auto otherwise. Any schedule the program sets explicitly, auto included,
 * is used as it is. */
#define SHARC_SCHEDULE_DEFAULT {SHARC_SCHED_AUTO, 0}

/* Parses "NAME" or "NAME:K" (K >= 1) for NAME one of static, dynamic,
 * guided, auto, fac2, wf. Returns 0 or SHARC_EINVAL. */
SHARC_API int sharc_schedule_parse(const char *text, sharc_schedule *out);
/* Writes the same syntax to buf (at most len bytes, NUL-terminated).
 * Returns the length that was needed, as snprintf does. */
SHARC_API int sharc_schedule_format(sharc_schedule s, char *buf, size_t len);

#ifdef __cplusplus
}
#endif
#endif
