/* The auto schedule's cold parts: the initial ranges, setup and what is
 * left unclaimed. The claim and the steal are in sched_auto.h. */
#include "claim.h"

void sharc__auto_post(sharc__range *ranges, sharc__slot *slots, unsigned nw,
                      uint64_t units) {
  (void)slots;
  uint64_t scale = sharc__auto_scale(units);
  uint64_t blocks = units / scale + (units % scale != 0);
  for (unsigned w = 0; w < nw; w++) {
    uint64_t lo, hi;
    sharc__split(blocks, w, nw, &lo, &hi);
    atomic_store_explicit(&ranges[w].word, sharc__pack(lo, hi),
                          memory_order_relaxed);
  }
}

void sharc__auto_setup(sharc__claim *c) {
  sharc__claim_clamp_chunk(c);
  c->scale = sharc__auto_scale(c->n);
  c->blocks = c->n / c->scale + (c->n % c->scale != 0);
  c->want = c->chunk / c->scale + (c->chunk % c->scale != 0);
  c->least = c->want;
  c->target_ns = SHARC_AUTO_TARGET_NS;
}

void sharc__auto_unclaimed(const sharc__sched_end *s, sharc__unclaimed_fn *emit,
                           void *arg) {
  uint64_t scale = sharc__auto_scale(s->units);
  uint64_t blocks = s->units / scale + (s->units % scale != 0);
  for (unsigned w = 0; w < s->nworkers; w++) {
    uint64_t word =
        atomic_load_explicit(&s->ranges[w].word, memory_order_relaxed);
    uint64_t lo = word >> 32, hi = word & 0xffffffffu;
    if (hi > blocks)
      hi = blocks;
    if (lo < hi)
      emit(arg, lo * scale, hi * scale < s->units ? hi * scale : s->units);
  }
}
