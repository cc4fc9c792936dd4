/* Weighted factoring's cold parts; the claim is in sched_wf.h. */
#include "claim.h"

void sharc__wf_setup(sharc__claim *c) { sharc__claim_clamp_chunk(c); }

/* Speeds measured in an earlier job do not carry over. */
void sharc__wf_post(sharc__range *ranges, sharc__slot *slots, unsigned nw,
                    uint64_t units) {
  (void)ranges, (void)units;
  for (unsigned w = 0; w < nw; w++)
    atomic_store_explicit(&slots[w].cost_bits, 0, memory_order_relaxed);
}

void sharc__wf_unclaimed(const sharc__sched_end *s, sharc__unclaimed_fn *emit,
                         void *arg) {
  sharc__counter_unclaimed(s, emit, arg);
}
