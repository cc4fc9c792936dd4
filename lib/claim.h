/* Internal: claiming chunks — the hot path, inlined into the worker's
 * loop. Pure logic over the control block's shared counter: no system call,
 * no lock, at most one atomic operation per claim. */
#ifndef SHARC_LIB_CLAIM_H
#define SHARC_LIB_CLAIM_H

#include <stdatomic.h>
#include <stdint.h>

#include "sharc/schedule.h"

typedef struct sharc__claim {
  uint32_t kind;
  uint64_t n, chunk;
  unsigned worker, nworkers;
  uint64_t k;             /* static: next chunk number for this worker */
  _Atomic uint64_t *next; /* dynamic/guided: the shared counter */
} sharc__claim;

static inline void sharc__claim_init(sharc__claim *c, uint32_t kind, uint64_t n,
                                     uint64_t chunk, unsigned worker,
                                     unsigned nworkers,
                                     _Atomic uint64_t *next) {
  c->kind = kind;
  c->n = n;
  c->chunk = chunk;
  c->worker = worker;
  c->nworkers = nworkers;
  c->k = 0;
  c->next = next;
  if (kind == SHARC_SCHED_STATIC && chunk == 0)
    return; /* one block per worker */
  /* A chunk larger than n means the same as n, and the shared counter may
   * run past n by at most W chunks: keep n + W * chunk below 2^64. */
  uint64_t max_chunk = (UINT64_MAX - n) / (nworkers ? nworkers : 1);
  if (c->chunk == 0)
    c->chunk = 1;
  if (n > 0 && c->chunk > n)
    c->chunk = n;
  if (c->chunk > max_chunk && max_chunk > 0)
    c->chunk = max_chunk;
}

/* static, no chunk: one contiguous block per worker, the first n % W
 * workers one index larger. Claimed once, without touching shared memory. */
static inline int claim_static_block(sharc__claim *c, uint64_t *b,
                                     uint64_t *e) {
  if (c->k++ > 0)
    return 0;
  uint64_t base = c->n / c->nworkers, rem = c->n % c->nworkers;
  uint64_t w = c->worker;
  *b = w * base + (w < rem ? w : rem);
  *e = *b + base + (w < rem ? 1 : 0);
  return *b < *e;
}

/* static, chunk k: chunks dealt round-robin, chunk j to worker j % W. */
static inline int claim_static_chunk(sharc__claim *c, uint64_t *b,
                                     uint64_t *e) {
  uint64_t j = c->k * c->nworkers + c->worker;
  if (j >= (c->n + c->chunk - 1) / c->chunk)
    return 0;
  c->k++;
  *b = j * c->chunk;
  *e = *b + c->chunk < c->n ? *b + c->chunk : c->n;
  return 1;
}

/* Hot path: one fetch-and-add. The counter can run past n by at most
 * W * chunk, which sharc__claim_init keeps far from overflow. */
static inline int claim_dynamic(sharc__claim *c, uint64_t *b, uint64_t *e) {
  uint64_t start =
      atomic_fetch_add_explicit(c->next, c->chunk, memory_order_relaxed);
  if (start >= c->n)
    return 0;
  *b = start;
  *e = c->n - start > c->chunk ? start + c->chunk : c->n;
  return 1;
}

/* Hot path: guided, as libgomp does it: ceil(remaining / W), at least the
 * minimum chunk, taken with one compare-and-swap (retried only when another
 * worker claimed in between). */
static inline int claim_guided(sharc__claim *c, uint64_t *b, uint64_t *e) {
  uint64_t cur = atomic_load_explicit(c->next, memory_order_relaxed);
  for (;;) {
    if (cur >= c->n)
      return 0;
    uint64_t rem = c->n - cur;
    uint64_t q = (rem + c->nworkers - 1) / c->nworkers;
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

static inline int sharc__claim_next(sharc__claim *c, uint64_t *begin,
                                    uint64_t *end) {
  switch (c->kind) {
  case SHARC_SCHED_STATIC:
    return c->chunk == 0 ? claim_static_block(c, begin, end)
                         : claim_static_chunk(c, begin, end);
  case SHARC_SCHED_DYNAMIC:
    return claim_dynamic(c, begin, end);
  case SHARC_SCHED_GUIDED:
    return claim_guided(c, begin, end);
  default:
    return 0;
  }
}

#endif
