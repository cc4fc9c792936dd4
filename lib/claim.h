/* Internal: claiming chunks — the hot path, inlined into the worker's
 * loop. Pure logic over words in the control block: no system call, no
 * lock, at most one atomic read-modify-write per claim (a steal reads the
 * other workers' range words, then takes one of them with one). */
#ifndef SHARC_LIB_CLAIM_H
#define SHARC_LIB_CLAIM_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "cb.h"
#include "sharc/schedule.h"
#include "sharc/topo.h"

/* fac2: batches until the remainder is gone; each batch at least halves
 * it, so 2^62 units need at most 64. */
#define SHARC__FAC2_BATCHES 66
/* auto: once chunks are sized by their measured time (no longer by the
 * twofold growth limit), the worker times spans of this many chunks, not
 * every chunk: a clock read and the estimate it feeds cost several claims.
 * A span then lasts about 16 x SHARC_AUTO_TARGET_NS, short enough to follow
 * costs that change along the range (ramps, hot bands). */
#define SHARC__AUTO_SPAN 16u
/* auto: range words hold 32-bit block numbers. */
#define SHARC__AUTO_MAX_BLOCKS UINT64_C(0xffffffff)

typedef struct sharc__claim {
  uint32_t kind;
  uint64_t n, chunk;
  unsigned worker, nworkers;
  uint64_t k;             /* static: next chunk; wf: claims so far */
  _Atomic uint64_t *next; /* dynamic/guided/wf: next unit; fac2: next chunk */
  /* auto */
  sharc__range *ranges;         /* one per worker */
  const sharc_placement *place; /* for steal order; NULL: no locality */
  uint64_t scale;               /* units per block */
  uint64_t blocks;              /* ceil(n / scale) <= 2^32 - 1 */
  uint64_t want;                /* blocks the next own chunk aims for */
  uint64_t least;               /* the minimum chunk in blocks */
  uint64_t lo, hi;              /* the owner's view of its own range */
  uint64_t took;                /* units in the chunk just claimed */
  uint64_t took_blocks;         /* and in blocks */
  double ns_per;                /* measured ns per unit, 0: none yet */
  unsigned every;               /* chunks per timed span (auto) */
  int victim;                   /* who the current range came from, or -1 */
  uint64_t steals;
  /* wf */
  sharc__slot *slots;
  double weight;
  uint64_t done_units, done_ns;
  /* fac2 */
  unsigned nbatches;
  uint64_t bstart[SHARC__FAC2_BATCHES], bchunk[SHARC__FAC2_BATCHES];
} sharc__claim;

/* What a worker needs to claim: the job's schedule over n units and the
 * shared words. */
typedef struct sharc__claim_ctx {
  _Atomic uint64_t *next;
  sharc__range *ranges;
  sharc__slot *slots;
  const sharc_placement *place;
} sharc__claim_ctx;

static inline uint64_t sharc__pack(uint64_t lo, uint64_t hi) {
  return lo << 32 | hi;
}

/* auto: how many units one block holds, so that blocks fit in 32 bits. */
static inline uint64_t sharc__auto_scale(uint64_t n) {
  return n <= SHARC__AUTO_MAX_BLOCKS
             ? 1
             : n / SHARC__AUTO_MAX_BLOCKS + (n % SHARC__AUTO_MAX_BLOCKS != 0);
}

/* auto: the static split of the blocks, worker w's share [lo, hi). */
static inline void sharc__auto_share(uint64_t blocks, unsigned w, unsigned nw,
                                     uint64_t *lo, uint64_t *hi) {
  uint64_t base = blocks / nw, rem = blocks % nw;
  *lo = w * base + (w < rem ? w : rem);
  *hi = *lo + base + (w < rem ? 1 : 0);
}

/* The coordinator, before posting an auto job: every worker's range. */
static inline void sharc__auto_post(sharc__range *ranges, unsigned nw,
                                    uint64_t n) {
  uint64_t scale = sharc__auto_scale(n);
  uint64_t blocks = n / scale + (n % scale != 0);
  for (unsigned w = 0; w < nw; w++) {
    uint64_t lo, hi;
    sharc__auto_share(blocks, w, nw, &lo, &hi);
    atomic_store_explicit(&ranges[w].word, sharc__pack(lo, hi),
                          memory_order_relaxed);
  }
}

static inline void fac2_table(sharc__claim *c) {
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

static inline void sharc__claim_init(sharc__claim *c, uint32_t kind,
                                     uint64_t n, uint64_t chunk,
                                     unsigned worker, unsigned nworkers,
                                     const sharc__claim_ctx *ctx) {
  memset(c, 0, offsetof(sharc__claim, bstart));
  c->kind = kind;
  c->n = n;
  c->chunk = chunk;
  c->worker = worker;
  c->nworkers = nworkers ? nworkers : 1;
  c->next = ctx->next;
  c->ranges = ctx->ranges;
  c->slots = ctx->slots;
  c->place = ctx->place;
  c->victim = -1;
  c->weight = 1.0;
  c->every = 1;
  if (kind == SHARC_SCHED_STATIC && chunk == 0)
    return; /* one block per worker */
  /* A chunk larger than n means the same as n, and the shared counter may
   * run past n by at most W chunks: keep n + W * chunk below 2^64. */
  uint64_t max_chunk = (UINT64_MAX - n) / c->nworkers;
  if (c->chunk == 0)
    c->chunk = 1;
  if (n > 0 && c->chunk > n)
    c->chunk = n;
  if (c->chunk > max_chunk && max_chunk > 0)
    c->chunk = max_chunk;
  if (kind == SHARC_SCHED_AUTO) {
    c->scale = sharc__auto_scale(n);
    c->blocks = n / c->scale + (n % c->scale != 0);
    c->want = c->chunk / c->scale + (c->chunk % c->scale != 0);
    c->least = c->want;
  } else if (kind == SHARC_SCHED_FAC2) {
    fac2_table(c);
  }
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

/* Takes ceil(remaining / div) scaled by weight, at least the minimum chunk,
 * with one compare-and-swap (retried only when another worker claimed in
 * between). guided: div = W, as libgomp does it; wf: div = 2W. */
static inline int claim_share(sharc__claim *c, uint64_t div, double weight,
                              uint64_t *b, uint64_t *e) {
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

/* fac2: one fetch-and-add on the chunk number; the batch table says where
 * that chunk lies. */
static inline int claim_fac2(sharc__claim *c, uint64_t *b, uint64_t *e) {
  uint64_t k = atomic_fetch_add_explicit(c->next, 1, memory_order_relaxed);
  uint64_t j = k / c->nworkers;
  if (j >= c->nbatches)
    return 0;
  uint64_t q = c->bchunk[j];
  uint64_t start = c->bstart[j] + (k % c->nworkers) * q;
  if (start >= c->n)
    return 0;
  *b = start;
  *e = c->n - start > q ? start + q : c->n;
  return 1;
}

/* wf: this worker's speed relative to the mean of those measured so far
 * (ns per unit published in the slots), bounded to [1/8, 8]. Refreshed
 * every 8 claims: reading every slot costs a cache miss each. */
static inline double wf_weight(sharc__claim *c) {
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

/* auto: the unclaimed part of worker v's range. A word scribbled past the
 * job's blocks is clamped, so no worker ever runs an index >= n. */
static inline uint64_t auto_left(const sharc__claim *c, uint64_t word,
                                 uint64_t *lo, uint64_t *hi) {
  *lo = word >> 32;
  *hi = word & 0xffffffffu;
  if (*hi > c->blocks)
    *hi = c->blocks;
  return *hi > *lo ? *hi - *lo : 0;
}

/* auto: how near worker v is: 0 same L3 cache, 1 same NUMA node, 2 other. */
static inline unsigned auto_distance(const sharc__claim *c, unsigned v) {
  if (c->place == NULL)
    return 2;
  const sharc_placement *me = &c->place[c->worker], *them = &c->place[v];
  if (me->l3 >= 0 && me->l3 == them->l3 && me->numa == them->numa)
    return 0;
  if (me->numa >= 0 && me->numa == them->numa)
    return 1;
  return 2;
}

/* auto: pick a victim. The nearest level whose largest remainder is at
 * least a quarter of the largest anywhere: locality, but never at the price
 * of leaving most of the work to one far-away worker. Returns -1 if every
 * range is empty. Pure logic, so tests can drive it with any placement. */
static inline int sharc__auto_pick(const sharc__claim *c, uint64_t *word) {
  uint64_t best_left[3] = {0, 0, 0}, best_word[3] = {0, 0, 0};
  int best[3] = {-1, -1, -1};
  for (unsigned v = 0; v < c->nworkers; v++) {
    if (v == c->worker)
      continue;
    uint64_t w = atomic_load_explicit(&c->ranges[v].word,
                                      memory_order_relaxed);
    uint64_t lo, hi, left = auto_left(c, w, &lo, &hi);
    if (left == 0)
      continue;
    for (unsigned d = auto_distance(c, v); d < 3; d++) {
      if (left > best_left[d]) {
        best_left[d] = left;
        best_word[d] = w;
        best[d] = (int)v;
      }
    }
  }
  for (unsigned d = 0; d < 3; d++) {
    if (best[d] >= 0 && best_left[d] * 4 >= best_left[2]) {
      *word = best_word[d];
      return best[d];
    }
  }
  return -1;
}

/* auto: takes the upper half (rounded up) of a victim's remainder and makes
 * it this worker's range. Only the owner stores into its own word while it
 * is empty; thieves only ever shrink non-empty words, and an index is in
 * one range at a time, so a word never returns to an old value (no ABA). */
static inline int auto_steal(sharc__claim *c) {
  for (;;) {
    uint64_t w;
    int v = sharc__auto_pick(c, &w);
    if (v < 0)
      return 0;
    uint64_t lo, hi, left = auto_left(c, w, &lo, &hi);
    uint64_t take = left - left / 2;
    if (atomic_compare_exchange_strong_explicit(
            &c->ranges[v].word, &w, sharc__pack(lo, hi - take),
            memory_order_relaxed, memory_order_relaxed)) {
      atomic_store_explicit(&c->ranges[c->worker].word,
                            sharc__pack(hi - take, hi), memory_order_relaxed);
      c->victim = v;
      c->steals++;
      return 1;
    }
  }
}

/* auto: the chunk for `left` blocks left: what the measured cost says
 * lasts SHARC_AUTO_TARGET_NS, at most half of what is left (so a thief
 * always finds the other half), at least the minimum chunk. */
static inline uint64_t auto_size(const sharc__claim *c, uint64_t left) {
  uint64_t q = c->want, half = left / 2;
  if (q > half)
    q = half;
  if (q < c->least)
    q = c->least;
  return q < left ? q : left;
}

/* auto: [lo, end) of the word's blocks is this worker's chunk. */
static inline int auto_took(sharc__claim *c, uint64_t lo, uint64_t end,
                            uint64_t *b, uint64_t *e) {
  *b = lo * c->scale;
  *e = end * c->scale < c->n ? end * c->scale : c->n;
  c->took = *e - *b;
  c->took_blocks = end - lo;
  return 1;
}

/* auto, hot path: one atomic operation on this worker's own word, a line no
 * other worker writes unless it steals.
 *
 * While much is left the chunk is sized from the owner's own view of its
 * range (c->lo, c->hi) and taken with a fetch-and-add, which waits for no
 * load of the shared word: only the owner moves lo, and thieves only lower
 * hi, so the view's hi is never below the word's. The add returns the word
 * as it was; where thieves took more than the view allowed for, the chunk
 * ends at their new hi and the word is left with lo above hi, which every
 * reader treats as empty. What the add returns, not the view, says where
 * the chunk begins: a scribbled word then shows up as indices run twice,
 * which the coordinator's counts catch. lo + q never passes the view's hi,
 * at most the job's blocks, so the add cannot carry out of the lo field of
 * an honest word.
 *
 * Near the end of the range (less than four chunks left in the view) a
 * chunk sized from a view that a thief has halved could take all that is
 * left instead of half, leaving the thief nothing and the end of the job
 * to one worker: there the owner reads the word and takes its chunk with a
 * compare-and-swap, sized from what is really left. Further from the end a
 * view halved once still leaves twice the chunk; only a view halved two or
 * more times between two claims lets one chunk take more than half of the
 * rest, and never more than the chunk the owner aimed for. */
static inline int claim_auto(sharc__claim *c, uint64_t *b, uint64_t *e) {
  _Atomic uint64_t *mine = &c->ranges[c->worker].word;
  for (;;) {
    uint64_t left = c->hi > c->lo ? c->hi - c->lo : 0;
    uint64_t q = auto_size(c, left);
    if (left != 0 && left >= 4 * q) {
      uint64_t w =
          atomic_fetch_add_explicit(mine, q << 32, memory_order_relaxed);
      uint64_t lo, hi;
      auto_left(c, w, &lo, &hi);
      uint64_t end = lo + q < hi ? lo + q : hi;
      c->lo = lo + q;
      c->hi = hi;
      if (end > lo)
        return auto_took(c, lo, end, b, e);
      continue; /* emptied by thieves meanwhile */
    }
    uint64_t w = atomic_load_explicit(mine, memory_order_relaxed);
    for (;;) {
      left = auto_left(c, w, &c->lo, &c->hi);
      if (left == 0)
        break;
      q = auto_size(c, left);
      if (atomic_compare_exchange_weak_explicit(
              mine, &w, sharc__pack(c->lo + q, c->hi), memory_order_relaxed,
              memory_order_relaxed)) {
        c->lo += q;
        return auto_took(c, c->lo - q, c->lo, b, e);
      }
    }
    /* Empty: steal, which stores the stolen range into the word (read on
     * the next turn), or the job is done. */
    if (!auto_steal(c))
      return 0;
  }
}

/* The claim of schedule `kind` (c->kind, or the same value as a constant
 * where a caller's loop is made once per schedule). */
static inline int sharc__claim_kind(sharc__claim *c, uint32_t kind,
                                    uint64_t *begin, uint64_t *end) {
  switch (kind) {
  case SHARC_SCHED_STATIC:
    return c->chunk == 0 ? claim_static_block(c, begin, end)
                         : claim_static_chunk(c, begin, end);
  case SHARC_SCHED_DYNAMIC:
    return claim_dynamic(c, begin, end);
  case SHARC_SCHED_GUIDED:
    return claim_share(c, c->nworkers, 1.0, begin, end);
  case SHARC_SCHED_AUTO:
    return claim_auto(c, begin, end);
  case SHARC_SCHED_FAC2:
    return claim_fac2(c, begin, end);
  case SHARC_SCHED_WF:
    if (!claim_share(c, 2 * (uint64_t)c->nworkers, wf_weight(c), begin, end))
      return 0;
    c->took = *end - *begin;
    return 1;
  default:
    return 0;
  }
}

static inline int sharc__claim_next(sharc__claim *c, uint64_t *begin,
                                    uint64_t *end) {
  return sharc__claim_kind(c, c->kind, begin, end);
}

/* Whether the schedule sizes chunks from their measured times: then chunks
 * are timed (every one for wf; spans of c->every for auto) and the times
 * handed to sharc__claim_span. */
static inline int sharc__claim_adapts(const sharc__claim *c) {
  return c->kind == SHARC_SCHED_AUTO || c->kind == SHARC_SCHED_WF;
}

/* The last `units` units claimed (the chunk just run, or for auto the
 * c->every chunks since the last timed one) took ns, claims included.
 * auto: the next chunk aims for the target time at the cost measured so
 * far (mean of the last estimate and this span), growing at most twofold
 * per chunk so that one cheap chunk cannot buy a huge one; while that
 * limit holds, every chunk is timed. wf: publish this worker's cost. */
static inline void sharc__claim_span(sharc__claim *c, uint64_t ns,
                                     uint64_t units) {
  if (units == 0)
    return;
  double per = (double)ns / (double)units;
  if (c->kind == SHARC_SCHED_WF) {
    c->done_units += units;
    c->done_ns += ns;
    double cost = (double)c->done_ns / (double)c->done_units;
    uint64_t bits;
    memcpy(&bits, &cost, sizeof bits);
    atomic_store_explicit(&c->slots[c->worker].cost_bits, bits,
                          memory_order_relaxed);
    return;
  }
  c->ns_per = c->ns_per > 0 ? 0.5 * (c->ns_per + per) : per;
  uint64_t grow = 2 * c->took_blocks;
  double q = c->ns_per > 0 ? SHARC_AUTO_TARGET_NS / (c->ns_per * c->scale)
                           : (double)grow;
  c->every = q >= (double)grow ? 1 : SHARC__AUTO_SPAN;
  c->want = q >= (double)grow ? grow : q < 1 ? 1 : (uint64_t)q;
}

/* The chunk just claimed took ns. */
static inline void sharc__claim_done(sharc__claim *c, uint64_t ns) {
  sharc__claim_span(c, ns, c->took);
}

#endif
