/* Internal: every schedule, listed once. Each row names the public kind
 * (SHARC_SCHED_<KIND>, include/sharc/schedule.h), the unit's name (its
 * text form, and its files lib/sched_<name>.h and .c) and what kind of
 * schedule it is. Everything that differs by schedule is derived from this
 * list: the names and the parser (sched.c), the kind check of a job, the
 * claim dispatch, setup, posting, and what is left unclaimed after every
 * worker died. Adding a schedule is a row here and a unit:
 *
 *   sched_<name>.h  static inline int sharc__<name>_claim(c, &b, &e)
 *                   (the hot path, inlined into the worker's loop)
 *   sched_<name>.c  sharc__<name>_setup(c)      per worker, per job
 *                   sharc__<name>_post(...)     coordinator, before posting
 *                   sharc__<name>_unclaimed(...) after a pass
 *   adaptive ones also sharc__<name>_span(c, ns, units) in the header.
 *
 * Flags:
 *   SHARC__SCHED_OWNED   a worker's chunks are fixed before the job runs:
 *                        what a dead worker left is its own
 *                        (sharc__static_rest), nothing is shared
 *   SHARC__SCHED_COUNTER claims go through the shared counter (cb->next)
 *   SHARC__SCHED_ADAPTS  sizes chunks from their measured times: the loop
 *                        times spans of c->every chunks and hands them to
 *                        sharc__<name>_span, c->took units each
 *   SHARC__SCHED_SIZES   sizes its own chunks: k is only the smallest, and
 *                        k = 1 is written without it
 *   SHARC__SCHED_BLOCKS  chunk 0 is a schedule of its own (one block per
 *                        worker) and is what the bare name means
 *   SHARC__SCHED_STEALS  a worker out of work takes from another's range
 *                        word (c->steals, c->victim say when and whom) */
#ifndef SHARC_LIB_SCHED_TABLE_H
#define SHARC_LIB_SCHED_TABLE_H

#define SHARC__SCHED_OWNED 1u
#define SHARC__SCHED_COUNTER 2u
#define SHARC__SCHED_ADAPTS 4u
#define SHARC__SCHED_SIZES 8u
#define SHARC__SCHED_BLOCKS 16u
#define SHARC__SCHED_STEALS 32u

#define SHARC__SCHEDULES(X)                                                    \
  X(STATIC, static, SHARC__SCHED_OWNED | SHARC__SCHED_BLOCKS)                  \
  X(DYNAMIC, dynamic, SHARC__SCHED_COUNTER)                                    \
  X(GUIDED, guided, SHARC__SCHED_COUNTER)                                      \
  X(AUTO, auto,                                                                \
    SHARC__SCHED_ADAPTS | SHARC__SCHED_SIZES | SHARC__SCHED_STEALS)            \
  X(FAC2, fac2, SHARC__SCHED_COUNTER | SHARC__SCHED_SIZES)                     \
  X(WF, wf, SHARC__SCHED_COUNTER | SHARC__SCHED_ADAPTS | SHARC__SCHED_SIZES)

#include "sched_auto.h"
#include "sched_dynamic.h"
#include "sched_fac2.h"
#include "sched_guided.h"
#include "sched_items.h"
#include "sched_static.h"
#include "sched_wf.h"

/* Units without a span of their own: nothing to do. */
static inline void sharc__sched_no_span(sharc__claim *c, uint64_t ns,
                                        uint64_t units) {
  (void)c, (void)ns, (void)units;
}
#define sharc__static_span sharc__sched_no_span
#define sharc__dynamic_span sharc__sched_no_span
#define sharc__guided_span sharc__sched_no_span
#define sharc__fac2_span sharc__sched_no_span

/* The text form of each kind, NULL past the last. */
extern const char *const sharc__sched_names[];

/* Whether kind is one of the table's. */
static inline int sharc__sched_known(uint32_t kind) {
  switch (kind) {
#define SHARC__X(K, name, flags) case SHARC_SCHED_##K:
    SHARC__SCHEDULES(SHARC__X)
#undef SHARC__X
    return 1;
  default:
    return 0;
  }
}

/* The kind's flags, 0 for a kind not in the table (retry items). A
 * constant where kind is one. */
static inline unsigned sharc__sched_flags(uint32_t kind) {
  switch (kind) {
#define SHARC__X(K, name, flags)                                               \
  case SHARC_SCHED_##K:                                                        \
    return flags;
    SHARC__SCHEDULES(SHARC__X)
#undef SHARC__X
  default:
    return 0;
  }
}

static inline int sharc__sched_adapts(uint32_t kind) {
  return (sharc__sched_flags(kind) & SHARC__SCHED_ADAPTS) != 0;
}

/* Worker `worker` of nworkers starts a job of schedule (kind, chunk) over
 * n units. */
void sharc__claim_init(sharc__claim *c, uint32_t kind, uint64_t n,
                       uint64_t chunk, unsigned worker, unsigned nworkers,
                       const sharc__claim_ctx *ctx);

/* The coordinator, before posting a job: the schedule's shared words. */
void sharc__sched_post(uint32_t kind, sharc__range *ranges, sharc__slot *slots,
                       unsigned nworkers, uint64_t units);

/* After a pass of schedule s->... kind: every unclaimed range, in units. */
void sharc__sched_unclaimed(uint32_t kind, const sharc__sched_end *s,
                            sharc__unclaimed_fn *emit, void *arg);

/* The claim of schedule `kind` (c->kind, or the same value as a constant
 * where a caller's loop is made once per schedule, so that only that
 * schedule's claim is left in it). */
static inline int sharc__claim_kind(sharc__claim *c, uint32_t kind,
                                    uint64_t *begin, uint64_t *end) {
  switch (kind) {
#define SHARC__X(K, name, flags)                                               \
  case SHARC_SCHED_##K:                                                        \
    return sharc__##name##_claim(c, begin, end);
    SHARC__SCHEDULES(SHARC__X)
#undef SHARC__X
  case SHARC__SCHED_ITEMS:
    return sharc__items_claim(c, begin, end);
  default:
    return 0;
  }
}

static inline int sharc__claim_next(sharc__claim *c, uint64_t *begin,
                                    uint64_t *end) {
  return sharc__claim_kind(c, c->kind, begin, end);
}

/* Whether the schedule sizes chunks from their measured times. */
static inline int sharc__claim_adapts(const sharc__claim *c) {
  return sharc__sched_adapts(c->kind);
}

/* The last `units` units claimed (the chunk just run, or the c->every
 * chunks of a span) took ns, claims included. */
static inline void sharc__claim_span_kind(sharc__claim *c, uint32_t kind,
                                          uint64_t ns, uint64_t units) {
  if (units == 0)
    return;
  switch (kind) {
#define SHARC__X(K, name, flags)                                               \
  case SHARC_SCHED_##K:                                                        \
    sharc__##name##_span(c, ns, units);                                        \
    return;
    SHARC__SCHEDULES(SHARC__X)
#undef SHARC__X
  default:
    return;
  }
}

static inline void sharc__claim_span(sharc__claim *c, uint64_t ns,
                                     uint64_t units) {
  sharc__claim_span_kind(c, c->kind, ns, units);
}

/* The chunk just claimed took ns. */
static inline void sharc__claim_done(sharc__claim *c, uint64_t ns) {
  sharc__claim_span(c, ns, c->took);
}

#endif
