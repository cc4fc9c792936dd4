/* Internal: the guided schedule: chunks of ceil(remaining / W), at least
 * k, as libgomp does it. Its claim, a share of what is left, also serves
 * weighted factoring (sched_wf.h) with another divisor and a weight. */
#ifndef SHARC_LIB_SCHED_GUIDED_H
#define SHARC_LIB_SCHED_GUIDED_H

#include "claim.h"

/* Takes ceil(remaining / div) scaled by weight, at least the minimum chunk,
 * with one compare-and-swap (retried only when another worker claimed in
 * between). */
static inline int sharc__claim_share(sharc__claim *c, uint64_t div,
                                     double weight, uint64_t *b, uint64_t *e) {
  uint64_t cur = atomic_load_explicit(c->next, memory_order_relaxed);
  for (;;) {
    if (cur >= c->n)
      return 0;
    uint64_t rem = c->n - cur;
    uint64_t q = rem / div + (rem % div != 0);
    if (weight != 1.0)
      q = (uint64_t)((double)q * weight + 0.5);
    if (q < c->chunk)
      q = c->chunk;
    if (q > rem)
      q = rem;
    if (atomic_compare_exchange_weak_explicit(c->next, &cur, cur + q,
                                              memory_order_relaxed,
                                              memory_order_relaxed)) {
      *b = cur;
      *e = cur + q;
      return 1;
    }
  }
}

static inline int sharc__guided_claim(sharc__claim *c, uint64_t *b,
                                      uint64_t *e) {
  return sharc__claim_share(c, c->nworkers, 1.0, b, e);
}

void sharc__guided_setup(sharc__claim *c);
void sharc__guided_post(sharc__range *ranges, sharc__slot *slots, unsigned nw,
                        uint64_t units);
void sharc__guided_unclaimed(const sharc__sched_end *s,
                             sharc__unclaimed_fn *emit, void *arg);

#endif
