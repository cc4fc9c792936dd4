/* sharc: counter-based random streams for Monte Carlo kernels.
 *
 * A draw is a pure function of (seed, stream, index, draw number): there is
 * no generator state to share, split or carry between chunks, so a result
 * cannot depend on the worker count, the schedule, which worker took which
 * chunk, or a chunk done again after a retry. The usual pattern is one
 * stream object per index, made on the spot:
 *
 *   for (uint64_t i = begin; i < end; i++) {
 *     sharc_rng r = sharc_rng_at(seed, 0, i);   // path i's own stream
 *     double z = sharc_rng_normal(&r);          // draw 0, 1, ... of path i
 *     ...
 *   }
 *
 * The generator is Philox4x32-10 (Salmon, Moraes, Dror, Shaw: "Parallel
 * random numbers: as easy as 1, 2, 3", SC'11), bit for bit the function
 * philox4x32() of the Random123 library (tests/test_rng.c checks it against
 * Random123 itself and its published known-answer vectors). It is written
 * out here so that including sharc.h needs no Random123.
 *
 * Mapping: key = (seed low 32 bits, seed high 32 bits); counter =
 * (index low 32, index high 32, stream, block). One Philox call gives a
 * block of four 32-bit words; a stream consumes words in order and moves to
 * the next block when they run out. A stream has 2^32 blocks (2^34 words),
 * far more than any path uses; past that it wraps.
 *
 * Everything here is header-only and inline: no library call, no system
 * call, no allocation; safe in kernels (hot paths) and in any thread. The
 * normal and exponential helpers call log, sqrt, cos and sin from libm (link
 * with -lm): they are deterministic for a given build, but their last bits
 * may change with another libm. Uniform draws never touch libm and are the
 * same everywhere. */
#ifndef SHARC_RNG_H
#define SHARC_RNG_H

#include <math.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* One Philox4x32-10 block: out = philox4x32(ctr, key). Pure function. */
static inline void sharc_philox4x32(const uint32_t ctr[4],
                                    const uint32_t key[2], uint32_t out[4]) {
  uint32_t c0 = ctr[0], c1 = ctr[1], c2 = ctr[2], c3 = ctr[3];
  uint32_t k0 = key[0], k1 = key[1];
  for (int round = 0; round < 10; round++) {
    if (round > 0) {
      k0 += UINT32_C(0x9E3779B9); /* the Weyl sequence of the key schedule */
      k1 += UINT32_C(0xBB67AE85);
    }
    uint64_t p0 = (uint64_t)UINT32_C(0xD2511F53) * c0;
    uint64_t p1 = (uint64_t)UINT32_C(0xCD9E8D57) * c2;
    uint32_t n0 = (uint32_t)(p1 >> 32) ^ c1 ^ k0;
    uint32_t n2 = (uint32_t)(p0 >> 32) ^ c3 ^ k1;
    c0 = n0;
    c1 = (uint32_t)p1;
    c2 = n2;
    c3 = (uint32_t)p0;
  }
  out[0] = c0;
  out[1] = c1;
  out[2] = c2;
  out[3] = c3;
}

/* A stream: the position of the next draw of (seed, stream, index). A plain
 * value: copy it, keep it on the stack, make one per index. */
typedef struct sharc_rng {
  uint32_t key[2];
  uint32_t ctr[4]; /* index lo, index hi, stream, next block */
  uint32_t buf[4]; /* the current block */
  unsigned used;   /* words of buf already drawn (4: none left) */
  int has_spare;   /* sharc_rng_normal(): the pair's second value waits */
  double spare;
} sharc_rng;

/* The stream (seed, stream, index), positioned at its first draw. stream
 * separates independent uses for one index (say 0 for the path, 1 for a
 * control variate); most kernels use 0. */
static inline sharc_rng sharc_rng_at(uint64_t seed, uint32_t stream,
                                     uint64_t index) {
  sharc_rng r;
  r.key[0] = (uint32_t)seed;
  r.key[1] = (uint32_t)(seed >> 32);
  r.ctr[0] = (uint32_t)index;
  r.ctr[1] = (uint32_t)(index >> 32);
  r.ctr[2] = stream;
  r.ctr[3] = 0;
  r.buf[0] = r.buf[1] = r.buf[2] = r.buf[3] = 0;
  r.used = 4;
  r.has_spare = 0;
  r.spare = 0.0;
  return r;
}

/* Moves the stream to the start of block `block` (word 4 * block): draws
 * can be addressed directly, without drawing what comes before. */
static inline void sharc_rng_seek(sharc_rng *r, uint32_t block) {
  r->ctr[3] = block;
  r->used = 4;
  r->has_spare = 0;
}

/* The next 32 random bits. */
static inline uint32_t sharc_rng_u32(sharc_rng *r) {
  if (r->used == 4) {
    sharc_philox4x32(r->ctr, r->key, r->buf);
    r->ctr[3]++;
    r->used = 0;
  }
  return r->buf[r->used++];
}

/* The next 64 random bits (two words, the first one high). */
static inline uint64_t sharc_rng_u64(sharc_rng *r) {
  uint64_t hi = sharc_rng_u32(r);
  return hi << 32 | sharc_rng_u32(r);
}

/* Bits to doubles, exposed so that their edges can be tested: the top 53
 * bits k of x give k / 2^53 in [0, 1), or (k + 1) / 2^53 in (0, 1]. Both
 * are exact (no rounding): every value is a multiple of 2^-53. */
static inline double sharc_rng_bits_to_unit(uint64_t x) {
  return (double)(x >> 11) * 0x1.0p-53;
}
static inline double sharc_rng_bits_to_unit_pos(uint64_t x) {
  return (double)((x >> 11) + 1) * 0x1.0p-53;
}

/* A uniform double in [0, 1): 53 random bits, 0 possible, 1 never. */
static inline double sharc_rng_uniform(sharc_rng *r) {
  return sharc_rng_bits_to_unit(sharc_rng_u64(r));
}

/* A uniform double in (0, 1]: 53 random bits, 0 never, 1 possible. Made for
 * logarithms: log of it is finite. */
static inline double sharc_rng_uniform_pos(sharc_rng *r) {
  return sharc_rng_bits_to_unit_pos(sharc_rng_u64(r));
}

/* Two independent standard normals from four words (one Philox block when
 * the stream is at a block boundary), by the Box-Muller transform:
 * sqrt(-2 log u1) * (cos, sin)(2 pi u2), u1 in (0, 1], u2 in [0, 1). Exact
 * in distribution; the largest value it can give is about 8.57. */
static inline void sharc_rng_normal2(sharc_rng *r, double *z0, double *z1) {
  double u1 = sharc_rng_uniform_pos(r);
  double u2 = sharc_rng_uniform(r);
  double rad = sqrt(-2.0 * log(u1));
  double ang = 6.283185307179586476925286766559 * u2;
  *z0 = rad * cos(ang);
  *z1 = rad * sin(ang);
}

/* One standard normal. Calls come in pairs: the first draws four words
 * and returns z0, the second returns the kept z1 without drawing. So the
 * k-th normal of a stream is fixed by the calls made on that stream
 * alone. */
static inline double sharc_rng_normal(sharc_rng *r) {
  if (r->has_spare) {
    r->has_spare = 0;
    return r->spare;
  }
  double z0;
  sharc_rng_normal2(r, &z0, &r->spare);
  r->has_spare = 1;
  return z0;
}

/* An exponential with rate lambda (> 0; mean 1 / lambda): -log(u) / lambda,
 * u in (0, 1], so the result is finite and >= 0. Two words. */
static inline double sharc_rng_exponential(sharc_rng *r, double lambda) {
  return -log(sharc_rng_uniform_pos(r)) / lambda;
}

#ifdef __cplusplus
}
#endif
#endif
