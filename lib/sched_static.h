/* Internal: the static schedule. chunk 0: one contiguous block per worker
 * (sharc__split), claimed once without touching shared memory; chunk k:
 * chunks of k dealt round-robin, chunk j to worker j % W. A worker's
 * chunks are fixed before the job starts, so what a dead worker did not
 * reach is worked out from its last range alone (sharc__static_rest). */
#ifndef SHARC_LIB_SCHED_STATIC_H
#define SHARC_LIB_SCHED_STATIC_H

#include "claim.h"

/* Hot path: local arithmetic only. */
static inline int sharc__static_claim(sharc__claim *c, uint64_t *b,
                                      uint64_t *e) {
  if (c->chunk == 0) {
    if (c->k++ > 0)
      return 0;
    sharc__split(c->n, c->worker, c->nworkers, b, e);
    return *b < *e;
  }
  uint64_t j = c->k * c->nworkers + c->worker;
  if (j >= (c->n + c->chunk - 1) / c->chunk)
    return 0;
  c->k++;
  *b = j * c->chunk;
  *e = *b + c->chunk < c->n ? *b + c->chunk : c->n;
  return 1;
}

/* What worker w of a static job never reached: `count` chunks [begin +
 * i stride, end + i stride), in units. */
typedef struct sharc__static_left {
  uint64_t begin, end, stride, count;
} sharc__static_left;

/* Worker w's chunks after the one that began at unit `at` (all of them if
 * ran is 0), over `units` units in chunks of `chunk` (0: one block each).
 * Returns 0 if `at` does not begin one of w's chunks. */
int sharc__static_rest(uint64_t units, uint64_t chunk, unsigned nworkers,
                       unsigned w, int ran, uint64_t at,
                       sharc__static_left *left);

void sharc__static_setup(sharc__claim *c);
void sharc__static_post(sharc__range *ranges, sharc__slot *slots, unsigned nw,
                        uint64_t units);
void sharc__static_unclaimed(const sharc__sched_end *s,
                             sharc__unclaimed_fn *emit, void *arg);

#endif
