/* The guided schedule's cold parts; the claim is in sched_guided.h. */
#include "claim.h"

void sharc__guided_setup(sharc__claim *c) { sharc__claim_clamp_chunk(c); }

void sharc__guided_post(sharc__range *ranges, sharc__slot *slots, unsigned nw,
                        uint64_t units) {
  (void)ranges, (void)slots, (void)nw, (void)units;
}

void sharc__guided_unclaimed(const sharc__sched_end *s,
                             sharc__unclaimed_fn *emit, void *arg) {
  sharc__counter_unclaimed(s, emit, arg);
}
