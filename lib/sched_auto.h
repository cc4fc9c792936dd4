/* Internal: the auto schedule, adaptive, with no chunk size to choose.
 * Each worker owns a contiguous range of the job (the static split, so
 * pages first touched by their owner stay near it) in a range word of its
 * own, lo << 32 | hi in blocks of `scale` units, and takes chunks from its
 * front sized to last about target_ns by the cost it measured so far,
 * never more than half of what it has left; an idle worker steals the
 * upper half of another's remainder, from the same L3 cache first, then
 * the same NUMA node, then any. Claims touch only the owner's word unless
 * it steals. */
#ifndef SHARC_LIB_SCHED_AUTO_H
#define SHARC_LIB_SCHED_AUTO_H

#include "claim.h"

/* Once chunks are sized by their measured time (no longer by the twofold
 * growth limit), the worker times spans of this many chunks, not every
 * chunk: a clock read and the estimate it feeds cost several claims. A
 * span then lasts about 16 x the target, short enough to follow costs that
 * change along the range (ramps, hot bands). */
#define SHARC__AUTO_SPAN 16u
/* Range words hold 32-bit block numbers. */
#define SHARC__AUTO_MAX_BLOCKS UINT64_C(0xffffffff)

static inline uint64_t sharc__pack(uint64_t lo, uint64_t hi) {
  return lo << 32 | hi;
}

/* How many units one block holds, so that blocks fit in 32 bits. */
static inline uint64_t sharc__auto_scale(uint64_t n) {
  return n <= SHARC__AUTO_MAX_BLOCKS
             ? 1
             : n / SHARC__AUTO_MAX_BLOCKS + (n % SHARC__AUTO_MAX_BLOCKS != 0);
}

/* The coordinator, before posting an auto job: every worker's range. */
void sharc__auto_post(sharc__range *ranges, sharc__slot *slots, unsigned nw,
                      uint64_t units);
void sharc__auto_setup(sharc__claim *c);
/* Every range word's unclaimed blocks, clamped to the job. */
void sharc__auto_unclaimed(const sharc__sched_end *s, sharc__unclaimed_fn *emit,
                           void *arg);

/* auto: the unclaimed part of worker v's range. A word scribbled past the
 * job's blocks is clamped, so no worker ever runs an index >= n. */
static inline uint64_t sharc__auto_left(const sharc__claim *c, uint64_t word,
                                        uint64_t *lo, uint64_t *hi) {
  *lo = word >> 32;
  *hi = word & 0xffffffffu;
  if (*hi > c->blocks)
    *hi = c->blocks;
  return *hi > *lo ? *hi - *lo : 0;
}

/* auto: how near worker v is: 0 same L3 cache, 1 same NUMA node, 2 other. */
static inline unsigned sharc__auto_distance(const sharc__claim *c, unsigned v) {
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
    uint64_t w = atomic_load_explicit(&c->ranges[v].word, memory_order_relaxed);
    uint64_t lo, hi, left = sharc__auto_left(c, w, &lo, &hi);
    if (left == 0)
      continue;
    for (unsigned d = sharc__auto_distance(c, v); d < 3; d++) {
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
static inline int sharc__auto_steal(sharc__claim *c) {
  for (;;) {
    uint64_t w;
    int v = sharc__auto_pick(c, &w);
    if (v < 0)
      return 0;
    uint64_t lo, hi, left = sharc__auto_left(c, w, &lo, &hi);
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
static inline uint64_t sharc__auto_size(const sharc__claim *c, uint64_t left) {
  uint64_t q = c->want, half = left / 2;
  if (q > half)
    q = half;
  if (q < c->least)
    q = c->least;
  return q < left ? q : left;
}

/* auto: [lo, end) of the word's blocks is this worker's chunk. */
static inline int sharc__auto_took(sharc__claim *c, uint64_t lo, uint64_t end,
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
static inline int sharc__auto_claim(sharc__claim *c, uint64_t *b, uint64_t *e) {
  _Atomic uint64_t *mine = &c->ranges[c->worker].word;
  for (;;) {
    uint64_t left = c->hi > c->lo ? c->hi - c->lo : 0;
    uint64_t q = sharc__auto_size(c, left);
    if (left != 0 && left >= 4 * q) {
      uint64_t w =
          atomic_fetch_add_explicit(mine, q << 32, memory_order_relaxed);
      uint64_t lo, hi;
      sharc__auto_left(c, w, &lo, &hi);
      uint64_t end = lo + q < hi ? lo + q : hi;
      c->lo = lo + q;
      c->hi = hi;
      if (end > lo)
        return sharc__auto_took(c, lo, end, b, e);
      continue; /* emptied by thieves meanwhile */
    }
    uint64_t w = atomic_load_explicit(mine, memory_order_relaxed);
    for (;;) {
      left = sharc__auto_left(c, w, &c->lo, &c->hi);
      if (left == 0)
        break;
      q = sharc__auto_size(c, left);
      if (atomic_compare_exchange_weak_explicit(
              mine, &w, sharc__pack(c->lo + q, c->hi), memory_order_relaxed,
              memory_order_relaxed)) {
        c->lo += q;
        return sharc__auto_took(c, c->lo - q, c->lo, b, e);
      }
    }
    /* Empty: steal, which stores the stolen range into the word (read on
     * the next turn), or the job is done. */
    if (!sharc__auto_steal(c))
      return 0;
  }
}

/* The last `units` units claimed (the chunk just run, or the c->every
 * chunks since the last timed one) took ns, claims included. The next
 * chunk aims for the target time at the cost measured so far (mean of the
 * last estimate and this span), growing at most twofold per chunk so that
 * one cheap chunk cannot buy a huge one; while that limit holds, every
 * chunk is timed. */
static inline void sharc__auto_span(sharc__claim *c, uint64_t ns,
                                    uint64_t units) {
  double per = (double)ns / (double)units;
  c->ns_per = c->ns_per > 0 ? 0.5 * (c->ns_per + per) : per;
  uint64_t grow = 2 * c->took_blocks;
  double q = c->ns_per > 0 ? c->target_ns / (c->ns_per * (double)c->scale)
                           : (double)grow;
  c->every = q >= (double)grow ? 1 : SHARC__AUTO_SPAN;
  c->want = q >= (double)grow ? grow : q < 1 ? 1 : (uint64_t)q;
}

#endif
