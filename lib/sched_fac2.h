/* Internal: factoring (Hummel, Schonberg and Flynn): batches of one chunk
 * per worker, each chunk ceil(remaining / 2W) at the start of its batch,
 * at least k. Every worker computes the same batch table at setup, so a
 * claim is one fetch-and-add on the chunk number. */
#ifndef SHARC_LIB_SCHED_FAC2_H
#define SHARC_LIB_SCHED_FAC2_H

#include "claim.h"

/* Where chunk number k lies: [start, start + q) clamped to n. Returns 0
 * past the last batch. */
static inline int sharc__fac2_chunk(const sharc__claim *c, uint64_t k,
                                    uint64_t *start, uint64_t *q) {
  uint64_t j = k / c->nworkers;
  if (j >= c->nbatches)
    return 0;
  *q = c->bchunk[j];
  *start = c->bstart[j] + (k % c->nworkers) * *q;
  return *start < c->n;
}

/* Hot path: one fetch-and-add on the chunk number. */
static inline int sharc__fac2_claim(sharc__claim *c, uint64_t *b, uint64_t *e) {
  uint64_t k = atomic_fetch_add_explicit(c->next, 1, memory_order_relaxed);
  uint64_t start, q;
  if (!sharc__fac2_chunk(c, k, &start, &q))
    return 0;
  *b = start;
  *e = c->n - start > q ? start + q : c->n;
  return 1;
}

void sharc__fac2_setup(sharc__claim *c);
void sharc__fac2_post(sharc__range *ranges, sharc__slot *slots, unsigned nw,
                      uint64_t units);
void sharc__fac2_unclaimed(const sharc__sched_end *s, sharc__unclaimed_fn *emit,
                           void *arg);

#endif
