/* Internal: weighted factoring: a chunk is ceil(remaining / 2W) times this
 * worker's speed relative to the mean speed, both measured during the job
 * (each worker publishes its ns per unit in its slot), at least k. */
#ifndef SHARC_LIB_SCHED_WF_H
#define SHARC_LIB_SCHED_WF_H

#include "claim.h"
#include "sched_guided.h"

/* This worker's speed relative to the mean of those measured so far,
 * bounded to [1/8, 8]. Refreshed every 8 claims: reading every slot costs
 * a cache miss each. */
static inline double sharc__wf_weight(sharc__claim *c) {
  if ((c->k++ & 7) != 0)
    return c->weight;
  double mine = 0, sum = 0;
  unsigned m = 0;
  for (unsigned v = 0; v < c->nworkers; v++) {
    uint64_t bits =
        atomic_load_explicit(&c->slots[v].cost_bits, memory_order_relaxed);
    double cost;
    memcpy(&cost, &bits, sizeof cost);
    if (!(cost > 0 && cost < 1e18)) /* unmeasured, or scribbled */
      continue;
    sum += 1.0 / cost;
    m++;
    if (v == c->worker)
      mine = 1.0 / cost;
  }
  double w = (mine > 0 && m > 0) ? mine / (sum / m) : 1.0;
  c->weight = w < 0.125 ? 0.125 : w > 8 ? 8 : w;
  return c->weight;
}

static inline int sharc__wf_claim(sharc__claim *c, uint64_t *b, uint64_t *e) {
  if (!sharc__claim_share(c, 2 * (uint64_t)c->nworkers, sharc__wf_weight(c), b,
                          e))
    return 0;
  c->took = *e - *b;
  return 1;
}

/* The last `units` units took ns: publish this worker's cost. */
static inline void sharc__wf_span(sharc__claim *c, uint64_t ns,
                                  uint64_t units) {
  c->done_units += units;
  c->done_ns += ns;
  double cost = (double)c->done_ns / (double)c->done_units;
  uint64_t bits;
  memcpy(&bits, &cost, sizeof bits);
  atomic_store_explicit(&c->slots[c->worker].cost_bits, bits,
                        memory_order_relaxed);
}

void sharc__wf_setup(sharc__claim *c);
void sharc__wf_post(sharc__range *ranges, sharc__slot *slots, unsigned nw,
                    uint64_t units);
void sharc__wf_unclaimed(const sharc__sched_end *s, sharc__unclaimed_fn *emit,
                         void *arg);

#endif
