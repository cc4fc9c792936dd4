/* Internal: the dynamic schedule: chunks of k taken first come, first
 * served from the shared counter. */
#ifndef SHARC_LIB_SCHED_DYNAMIC_H
#define SHARC_LIB_SCHED_DYNAMIC_H

#include "claim.h"

/* Hot path: one fetch-and-add. The counter can run past n by at most
 * W * chunk, which sharc__claim_clamp_chunk keeps far from overflow. */
static inline int sharc__dynamic_claim(sharc__claim *c, uint64_t *b,
                                       uint64_t *e) {
  uint64_t start =
      atomic_fetch_add_explicit(c->next, c->chunk, memory_order_relaxed);
  if (start >= c->n)
    return 0;
  *b = start;
  *e = c->n - start > c->chunk ? start + c->chunk : c->n;
  return 1;
}

void sharc__dynamic_setup(sharc__claim *c);
void sharc__dynamic_post(sharc__range *ranges, sharc__slot *slots, unsigned nw,
                         uint64_t units);
void sharc__dynamic_unclaimed(const sharc__sched_end *s,
                              sharc__unclaimed_fn *emit, void *arg);

#endif
