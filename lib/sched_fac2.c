/* Factoring's cold parts: the batch table and what is left unclaimed. The
 * claim is in sched_fac2.h. */
#include "claim.h"

void sharc__fac2_setup(sharc__claim *c) {
  sharc__claim_clamp_chunk(c);
  uint64_t start = 0, w = c->nworkers;
  c->nbatches = 0;
  while (start < c->n && c->nbatches < SHARC__FAC2_BATCHES) {
    uint64_t rem = c->n - start;
    uint64_t q = rem / (2 * w) + (rem % (2 * w) != 0);
    if (q < c->chunk)
      q = c->chunk;
    c->bstart[c->nbatches] = start;
    c->bchunk[c->nbatches] = q;
    c->nbatches++;
    start = q > rem / w ? c->n : start + q * w;
  }
}

void sharc__fac2_post(sharc__range *ranges, sharc__slot *slots, unsigned nw,
                      uint64_t units) {
  (void)ranges, (void)slots, (void)nw, (void)units;
}

/* The counter is the number of the first chunk nobody claimed; chunks are
 * handed out in index order, so everything from its start on is left. */
void sharc__fac2_unclaimed(const sharc__sched_end *s, sharc__unclaimed_fn *emit,
                           void *arg) {
  sharc__claim c;
  sharc__claim_ctx ctx = {0};
  sharc__claim_init(&c, SHARC_SCHED_FAC2, s->units, s->chunk, 0, s->nworkers,
                    &ctx);
  uint64_t start, q;
  if (sharc__fac2_chunk(&c, s->next, &start, &q))
    emit(arg, start, s->units);
}
