/* The static schedule's cold parts: setup and the accounting of what dead
 * workers did not reach. The claim is in sched_static.h. */
#include "claim.h"

void sharc__static_setup(sharc__claim *c) {
  if (c->chunk != 0) /* 0: one block per worker */
    sharc__claim_clamp_chunk(c);
}

void sharc__static_post(sharc__range *ranges, sharc__slot *slots, unsigned nw,
                        uint64_t units) {
  (void)ranges, (void)slots, (void)nw, (void)units;
}

/* Nothing is shared: what a dead worker did not reach is its own, worked
 * out per worker by the fault policy (sharc__static_rest). */
void sharc__static_unclaimed(const sharc__sched_end *s,
                             sharc__unclaimed_fn *emit, void *arg) {
  (void)s, (void)emit, (void)arg;
}

int sharc__static_rest(uint64_t units, uint64_t chunk, unsigned nworkers,
                       unsigned w, int ran, uint64_t at,
                       sharc__static_left *left) {
  uint64_t W = nworkers ? nworkers : 1;
  *left = (sharc__static_left){0, 0, 0, 0};
  if (chunk == 0) {
    uint64_t lo, hi;
    sharc__split(units, w, (unsigned)W, &lo, &hi);
    if (ran)
      return at == lo; /* the block is one chunk: it ran */
    *left = (sharc__static_left){lo, hi, 0, 1};
    return 1;
  }
  uint64_t nchunks = units / chunk + (units % chunk != 0), j = w;
  if (ran) {
    if (at % chunk != 0)
      return 0;
    j = at / chunk;
    if (j % W != w)
      return 0;
    j += W;
  }
  if (j >= nchunks)
    return 1;
  *left = (sharc__static_left){j * chunk, (j + 1) * chunk, W * chunk,
                               (nchunks - 1 - j) / W + 1};
  return 1;
}
