/* Internal: the tally, a record of which indices completed that the
 * coordinator checks against what it handed out.
 *
 * A worker adds every range [b, e) whose kernel call returned 0 as three
 * sums: the count of indices, the sum of the indices and the sum of their
 * squares, each modulo 2^64. The coordinator knows what a pass was meant
 * to run and what it hands to the next pass, and accepts the pass only
 * when the workers' tallies and the next pass's ranges add up to exactly
 * what was meant. A claim word or counter that a kernel scribbled on makes
 * workers skip or repeat indices: skipping lowers the count, repeating
 * raises it, and both at once leave the count equal only if the skipped
 * and the repeated indices also have equal sums and equal sums of squares,
 * which no random or claim-word scribble arranges by accident. */
#ifndef SHARC_LIB_TALLY_H
#define SHARC_LIB_TALLY_H

#include <stdint.h>

typedef struct sharc__tally {
  uint64_t count, s1, s2;
} sharc__tally;

/* The sum of the indices [0, x), modulo 2^64: x (x - 1) / 2, halving the
 * even factor first so that nothing is lost to the wrap. */
static inline uint64_t sharc__tally_s1(uint64_t x) {
  if (x == 0)
    return 0;
  return (x & 1) ? x * ((x - 1) / 2) : (x / 2) * (x - 1);
}

/* The sum of the squares of [0, x), modulo 2^64: (x-1) x (2x-1) / 6, the
 * factors 2 and 3 divided out exactly before the wrapping products. */
static inline uint64_t sharc__tally_s2(uint64_t x) {
  if (x == 0)
    return 0;
  uint64_t a = x - 1, b = x, c = 2 * x - 1; /* c wraps only past 2^63 */
  if (a % 2 == 0)
    a /= 2;
  else
    b /= 2;
  if (a % 3 == 0)
    a /= 3;
  else if (b % 3 == 0)
    b /= 3;
  else
    c /= 3;
  return a * b * c;
}

static inline void sharc__tally_add(sharc__tally *t, uint64_t b, uint64_t e) {
  t->count += e - b;
  t->s1 += sharc__tally_s1(e) - sharc__tally_s1(b);
  t->s2 += sharc__tally_s2(e) - sharc__tally_s2(b);
}

static inline void sharc__tally_sum(sharc__tally *t, const sharc__tally *u) {
  t->count += u->count;
  t->s1 += u->s1;
  t->s2 += u->s2;
}

static inline int sharc__tally_eq(const sharc__tally *t,
                                  const sharc__tally *u) {
  return t->count == u->count && t->s1 == u->s1 && t->s2 == u->s2;
}

/* dynamic:k keeps only the sums of its chunks' first indices (bsum) and of
 * their squares (bsq) in the loop; k chunks of c indices each then tally
 * as c*bsum + k*S1(c) and c*bsq + 2*S1(c)*bsum + k*S2(c). */
static inline sharc__tally sharc__tally_chunks(uint64_t k, uint64_t c,
                                               uint64_t bsum, uint64_t bsq) {
  uint64_t t1 = sharc__tally_s1(c);
  return (sharc__tally){k * c, c * bsum + k * t1,
                        c * bsq + 2 * t1 * bsum + k * sharc__tally_s2(c)};
}

#endif
