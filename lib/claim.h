/* Internal: claiming chunks — the hot path, inlined into the worker's
 * loop. What every schedule shares: the claim state a worker keeps for one
 * job, and the words of the control block it claims from. Each schedule's
 * own logic is a unit of its own, lib/sched_NAME.h (its claim, inlined)
 * and lib/sched_NAME.c (the rest), listed once in lib/sched_table.h.
 *
 * Pure logic over words in the control block: no system call, no lock, at
 * most one atomic read-modify-write per claim (an auto steal reads the
 * other workers' range words, then takes one of them with one). Nothing
 * here needs a process, so tests and the simulator (bench/sim) drive the
 * same code with as many workers as they like in ordinary memory. */
#ifndef SHARC_LIB_CLAIM_H
#define SHARC_LIB_CLAIM_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "cb.h"
#include "sharc/schedule.h"
#include "sharc/topo.h"

/* fac2: batches until the remainder is gone; each batch at least halves
 * it, so 2^62 units need at most 64. */
#define SHARC__FAC2_BATCHES 66

/* One worker's claim state for one job. The fields below `place` belong
 * to the schedule that uses them (sched_NAME.h); the rest to all. */
typedef struct sharc__claim {
  uint32_t kind;
  uint64_t n, chunk;
  unsigned worker, nworkers;
  uint64_t k;             /* static: next chunk; wf: claims so far */
  _Atomic uint64_t *next; /* the shared counter: dynamic/guided/wf: next
                             unit; fac2: next chunk; items: next item */
  uint64_t took;          /* units in the chunk just claimed (adaptive) */
  /* auto */
  sharc__range *ranges;         /* one per worker */
  const sharc_placement *place; /* for steal order; NULL: no locality */
  uint64_t scale;               /* units per block */
  uint64_t blocks;              /* ceil(n / scale) <= 2^32 - 1 */
  uint64_t want;                /* blocks the next own chunk aims for */
  uint64_t least;               /* the minimum chunk in blocks */
  uint64_t lo, hi;              /* the owner's view of its own range */
  uint64_t took_blocks;         /* blocks in the chunk just claimed */
  double target_ns;             /* what a chunk aims to last */
  double ns_per;                /* measured ns per unit, 0: none yet */
  unsigned every;               /* chunks per timed span */
  int victim;                   /* who the current range came from, or -1 */
  uint64_t steals;
  /* wf */
  sharc__slot *slots;
  double weight;
  uint64_t done_units, done_ns;
  /* items (retry passes) */
  const sharc__item *items;
  uint64_t nitems;
  sharc__item item; /* the item being run */
  uint64_t item_i;  /* its next range */
  /* fac2 */
  unsigned nbatches;
  uint64_t bstart[SHARC__FAC2_BATCHES], bchunk[SHARC__FAC2_BATCHES];
} sharc__claim;

/* What a worker needs to claim: the shared words of the job. */
typedef struct sharc__claim_ctx {
  _Atomic uint64_t *next;
  sharc__range *ranges;
  sharc__slot *slots;
  const sharc_placement *place;
  const sharc__item *items; /* retry passes */
  uint64_t nitems;
} sharc__claim_ctx;

/* What the control block says when a pass ended, for working out what no
 * worker claimed (sched_*_unclaimed). Every word is untrusted: a unit
 * clamps what it reads to [0, units). */
typedef struct sharc__sched_end {
  uint64_t units, chunk;
  unsigned nworkers;
  uint64_t next;        /* the shared counter */
  sharc__range *ranges; /* one per worker */
} sharc__sched_end;

/* Receives unclaimed units [b, e), e <= units. */
typedef void sharc__unclaimed_fn(void *arg, uint64_t b, uint64_t e);

/* The static split of `total` into nw contiguous shares, the first
 * total % nw one larger: worker w's share [lo, hi). static, auto's initial
 * ranges and the fault policy's accounting of static all use this one. */
static inline void sharc__split(uint64_t total, unsigned w, unsigned nw,
                                uint64_t *lo, uint64_t *hi) {
  uint64_t base = total / nw, rem = total % nw;
  *lo = w * base + (w < rem ? w : rem);
  *hi = *lo + base + (w < rem ? 1 : 0);
}

/* A chunk larger than n means the same as n, and a shared counter may run
 * past n by at most W chunks: keeps n + W * chunk below 2^64. */
static inline void sharc__claim_clamp_chunk(sharc__claim *c) {
  uint64_t max_chunk = (UINT64_MAX - c->n) / c->nworkers;
  if (c->chunk == 0)
    c->chunk = 1;
  if (c->n > 0 && c->chunk > c->n)
    c->chunk = c->n;
  if (c->chunk > max_chunk && max_chunk > 0)
    c->chunk = max_chunk;
}

/* Counter schedules (dynamic, guided, wf): the counter is the first unit
 * nobody claimed. */
static inline void sharc__counter_unclaimed(const sharc__sched_end *s,
                                            sharc__unclaimed_fn *emit,
                                            void *arg) {
  if (s->next < s->units)
    emit(arg, s->next, s->units);
}

#include "sched_table.h"

#endif
