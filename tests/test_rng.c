/* The random streams of sharc/rng.h: the generator is Random123's
 * Philox4x32-10 bit for bit; a draw depends on (seed, stream, index, draw
 * number) only; uniform doubles stay inside their documented intervals; and
 * uniform, normal and exponential draws have the moments and distribution
 * they claim.
 *
 * Statistical checks use tolerances derived from the sample size: a raw
 * moment E[X^k] estimated from N draws must lie within 5 standard errors,
 * sqrt((E[X^2k] - E[X^k]^2) / N), of its exact value; the Kolmogorov-Smirnov
 * distance must stay below 1.95 / sqrt(N), the asymptotic 0.1% critical
 * value. The seeds are fixed, so each outcome is exact and reproducible; the
 * negative controls show that each check rejects a generator that is off by
 * a small, known amount, so it cannot pass vacuously. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <Random123/philox.h>
#include <sharc.h>

#define NSAMPLES (1u << 20)

/* --- the generator ------------------------------------------------------- */

static void kat(uint32_t c0, uint32_t c1, uint32_t c2, uint32_t c3, uint32_t k0,
                uint32_t k1, uint32_t r0, uint32_t r1, uint32_t r2,
                uint32_t r3) {
  const uint32_t ctr[4] = {c0, c1, c2, c3}, key[2] = {k0, k1};
  uint32_t out[4];
  sharc_philox4x32(ctr, key, out);
  cr_assert(out[0] == r0 && out[1] == r1 && out[2] == r2 && out[3] == r3,
            "philox4x32(%08x %08x %08x %08x, %08x %08x) = %08x %08x %08x "
            "%08x, expected %08x %08x %08x %08x",
            c0, c1, c2, c3, k0, k1, out[0], out[1], out[2], out[3], r0, r1, r2,
            r3);
}

/* Random123's kat_vectors file, the philox4x32 10 lines. */
Test(rng, philox_matches_random123_known_answer_vectors) {
  kat(0, 0, 0, 0, 0, 0, 0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8);
  kat(0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff,
      0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd);
  kat(0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344, 0xa4093822, 0x299f31d0,
      0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1);
}

static uint64_t splitmix(uint64_t *s) {
  uint64_t z = (*s += UINT64_C(0x9E3779B97F4A7C15));
  z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
  z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
  return z ^ (z >> 31);
}

Test(rng, philox_equals_random123_philox4x32_on_100000_inputs) {
  uint64_t s = 1;
  for (int i = 0; i < 100000; i++) {
    uint64_t a = splitmix(&s), b = splitmix(&s), k = splitmix(&s);
    philox4x32_ctr_t c = {
        {(uint32_t)a, (uint32_t)(a >> 32), (uint32_t)b, (uint32_t)(b >> 32)}};
    philox4x32_key_t key = {{(uint32_t)k, (uint32_t)(k >> 32)}};
    philox4x32_ctr_t want = philox4x32(c, key);
    uint32_t got[4];
    sharc_philox4x32(c.v, key.v, got);
    cr_assert(memcmp(got, want.v, sizeof got) == 0, "input %d differs", i);
  }
}

Test(rng, stream_words_are_philox_blocks_of_seed_stream_index_and_block) {
  uint64_t seed = UINT64_C(0x0123456789abcdef), index = UINT64_C(0xfeedface42);
  sharc_rng r = sharc_rng_at(seed, 7, index);
  for (uint32_t blk = 0; blk < 3; blk++) {
    philox4x32_ctr_t c = {{(uint32_t)index, (uint32_t)(index >> 32), 7, blk}};
    philox4x32_key_t k = {{(uint32_t)seed, (uint32_t)(seed >> 32)}};
    philox4x32_ctr_t want = philox4x32(c, k);
    for (int w = 0; w < 4; w++)
      cr_assert_eq(sharc_rng_u32(&r), want.v[w], "block %u word %d", blk, w);
  }
}

Test(rng, draws_depend_only_on_seed_stream_index_and_draw_number) {
  sharc_rng a = sharc_rng_at(42, 0, 1000), b = sharc_rng_at(42, 0, 1000);
  for (int i = 0; i < 100; i++) {
    double x = sharc_rng_normal(&a), y = sharc_rng_normal(&b);
    cr_assert(memcmp(&x, &y, sizeof x) == 0, "draw %d differs", i);
  }
  /* Seeking to block 5 gives what drawing 20 words first would. */
  sharc_rng s = sharc_rng_at(42, 3, 9), t = sharc_rng_at(42, 3, 9);
  for (int i = 0; i < 20; i++)
    (void)sharc_rng_u32(&s);
  sharc_rng_seek(&t, 5);
  for (int i = 0; i < 8; i++)
    cr_assert_eq(sharc_rng_u32(&s), sharc_rng_u32(&t));
  /* Any change of seed, stream or index gives another stream. */
  sharc_rng o0 = sharc_rng_at(42, 0, 1000);
  uint64_t base = sharc_rng_u64(&o0);
  sharc_rng o1 = sharc_rng_at(43, 0, 1000), o2 = sharc_rng_at(42, 1, 1000),
            o3 = sharc_rng_at(42, 0, 1001),
            o4 = sharc_rng_at(42 + (UINT64_C(1) << 32), 0, 1000),
            o5 = sharc_rng_at(42, 0, 1000 + (UINT64_C(1) << 32));
  cr_assert_neq(sharc_rng_u64(&o1), base);
  cr_assert_neq(sharc_rng_u64(&o2), base);
  cr_assert_neq(sharc_rng_u64(&o3), base);
  cr_assert_neq(sharc_rng_u64(&o4), base);
  cr_assert_neq(sharc_rng_u64(&o5), base);
}

Test(rng, normal_pairs_come_from_one_block_and_the_second_is_kept) {
  sharc_rng a = sharc_rng_at(5, 0, 6), b = sharc_rng_at(5, 0, 6);
  double z0, z1;
  sharc_rng_normal2(&a, &z0, &z1);
  double y0 = sharc_rng_normal(&b), y1 = sharc_rng_normal(&b);
  cr_assert(memcmp(&z0, &y0, sizeof z0) == 0 &&
            memcmp(&z1, &y1, sizeof z1) == 0);
  /* The pair used exactly one block: the next word is block 1's first. */
  sharc_rng c = sharc_rng_at(5, 0, 6);
  sharc_rng_seek(&c, 1);
  cr_assert_eq(sharc_rng_u32(&a), sharc_rng_u32(&c));
}

/* --- the intervals ------------------------------------------------------- */

Test(rng, uniform_is_in_0_1_and_uniform_pos_in_0_1_exactly_at_the_edges) {
  cr_assert_eq(sharc_rng_bits_to_unit(0), 0.0);
  cr_assert_eq(sharc_rng_bits_to_unit(UINT64_MAX), 1.0 - 0x1.0p-53);
  cr_assert_lt(sharc_rng_bits_to_unit(UINT64_MAX), 1.0);
  cr_assert_eq(sharc_rng_bits_to_unit_pos(0), 0x1.0p-53);
  cr_assert_eq(sharc_rng_bits_to_unit_pos(UINT64_MAX), 1.0);
  /* 53 bits: the lowest 11 bits of the word do not matter, bit 11 does. */
  cr_assert_eq(sharc_rng_bits_to_unit(0x7ff), 0.0);
  cr_assert_eq(sharc_rng_bits_to_unit(0x800), 0x1.0p-53);
  /* The extremes keep everything built on them finite. */
  cr_assert(isfinite(-log(sharc_rng_bits_to_unit_pos(0))));
  cr_assert_eq(-log(sharc_rng_bits_to_unit_pos(UINT64_MAX)), 0.0);
}

/* --- distributions ------------------------------------------------------- */

typedef double (*draw_fn)(sharc_rng *r);
typedef double (*cdf_fn)(double x);

typedef struct dist {
  const char *name;
  draw_fn draw;
  cdf_fn cdf;
  double raw[9]; /* raw[k] = E[X^k], k = 0..8 */
} dist;

static double d_uniform(sharc_rng *r) { return sharc_rng_uniform(r); }
static double d_uniform_pos(sharc_rng *r) { return sharc_rng_uniform_pos(r); }
static double d_normal(sharc_rng *r) { return sharc_rng_normal(r); }
static double d_exp(sharc_rng *r) { return sharc_rng_exponential(r, 1.0); }
static double d_exp4(sharc_rng *r) {
  return 4.0 * sharc_rng_exponential(r, 4.0);
}
static double c_uniform(double x) { return x < 0 ? 0 : x > 1 ? 1 : x; }
static double c_normal(double x) { return 0.5 * erfc(-x / sqrt(2.0)); }
static double c_exp(double x) { return x < 0 ? 0 : -expm1(-x); }

/* Flawed generators for the negative controls. */
static double d_uniform_skewed(sharc_rng *r) {
  return pow(sharc_rng_uniform(r), 1.01);
}
static double d_normal_wide(sharc_rng *r) { return 1.01 * sharc_rng_normal(r); }
static double d_normal_shifted(sharc_rng *r) {
  return sharc_rng_normal(r) + 0.01;
}

static const dist k_uniform = {"uniform",
                               d_uniform,
                               c_uniform,
                               {1, 1.0 / 2, 1.0 / 3, 1.0 / 4, 1.0 / 5, 1.0 / 6,
                                1.0 / 7, 1.0 / 8, 1.0 / 9}};
static const dist k_normal = {
    "normal", d_normal, c_normal, {1, 0, 1, 0, 3, 0, 15, 0, 105}};
static const dist k_exp = {
    "exponential", d_exp, c_exp, {1, 1, 2, 6, 24, 120, 720, 5040, 40320}};

static int cmp(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

/* Returns the first failing check's description in why, or 0 if all pass:
 * one stream per index (as kernels use them), draws from the stream of
 * index i / 16, so streams and positions within them both count. */
static int check_dist(const dist *d, draw_fn draw, uint64_t seed, char *why,
                      size_t len) {
  double *x = malloc(NSAMPLES * sizeof *x);
  cr_assert_not_null(x);
  double sum[5] = {0};
  sharc_rng r = sharc_rng_at(seed, 0, 0);
  for (uint32_t i = 0; i < NSAMPLES; i++) {
    if (i % 16 == 0)
      r = sharc_rng_at(seed, 0, i / 16);
    x[i] = draw(&r);
    double p = 1;
    for (int k = 1; k <= 4; k++)
      sum[k] += (p *= x[i]);
  }
  int bad = 0;
  for (int k = 1; k <= 4 && !bad; k++) {
    double m = sum[k] / NSAMPLES;
    double se = sqrt((d->raw[2 * k] - d->raw[k] * d->raw[k]) / NSAMPLES);
    if (fabs(m - d->raw[k]) > 5 * se) {
      snprintf(why, len, "%s: E[X^%d] = %.8g, expected %.8g +- 5 * %.3g",
               d->name, k, m, d->raw[k], se);
      bad = 1;
    }
  }
  if (!bad) {
    qsort(x, NSAMPLES, sizeof *x, cmp);
    double dmax = 0;
    for (uint32_t i = 0; i < NSAMPLES; i++) {
      double f = d->cdf(x[i]);
      double lo = f - (double)i / NSAMPLES, hi = (double)(i + 1) / NSAMPLES - f;
      dmax = fmax(dmax, fmax(lo, hi));
    }
    double crit = 1.95 / sqrt((double)NSAMPLES);
    if (dmax > crit) {
      snprintf(why, len, "%s: KS distance %.5g above %.5g", d->name, dmax,
               crit);
      bad = 1;
    }
  }
  free(x);
  return bad;
}

Test(rng, uniform_has_the_moments_and_distribution_of_u_0_1) {
  char why[256] = "";
  cr_assert_eq(check_dist(&k_uniform, d_uniform, 1, why, sizeof why), 0, "%s",
               why);
  cr_assert_eq(check_dist(&k_uniform, d_uniform_pos, 2, why, sizeof why), 0,
               "%s", why);
}

Test(rng, normal_has_the_moments_and_distribution_of_n_0_1) {
  char why[256] = "";
  cr_assert_eq(check_dist(&k_normal, d_normal, 3, why, sizeof why), 0, "%s",
               why);
}

Test(rng, exponential_has_the_moments_and_distribution_of_exp_1) {
  char why[256] = "";
  cr_assert_eq(check_dist(&k_exp, d_exp, 4, why, sizeof why), 0, "%s", why);
  /* Rate 4 scaled back by 4 is Exp(1) again. */
  cr_assert_eq(check_dist(&k_exp, d_exp4, 5, why, sizeof why), 0, "%s", why);
}

Test(rng, checks_reject_generators_off_by_one_percent) {
  char why[256] = "";
  cr_assert_eq(check_dist(&k_uniform, d_uniform_skewed, 1, why, sizeof why), 1,
               "u^1.01 passed as uniform");
  cr_assert_eq(check_dist(&k_normal, d_normal_wide, 3, why, sizeof why), 1,
               "N(0, 1.01^2) passed as N(0, 1)");
  cr_assert_eq(check_dist(&k_normal, d_normal_shifted, 3, why, sizeof why), 1,
               "N(0.01, 1) passed as N(0, 1)");
}

Test(rng, neighbouring_index_streams_are_uncorrelated) {
  /* Pearson correlation of the first uniform of index i and of i + 1:
   * under independence its standard error is 1 / sqrt(N). */
  const uint32_t n = 1u << 18;
  double sx = 0, sy = 0, sxx = 0, syy = 0, sxy = 0;
  sharc_rng r0 = sharc_rng_at(11, 0, 0);
  double prev = sharc_rng_uniform(&r0);
  for (uint32_t i = 1; i <= n; i++) {
    sharc_rng r = sharc_rng_at(11, 0, i);
    double cur = sharc_rng_uniform(&r);
    sx += prev, sy += cur, sxx += prev * prev, syy += cur * cur;
    sxy += prev * cur;
    prev = cur;
  }
  double cov = sxy / n - (sx / n) * (sy / n);
  double corr = cov / sqrt((sxx / n - (sx / n) * (sx / n)) *
                           (syy / n - (sy / n) * (sy / n)));
  cr_assert_lt(fabs(corr), 5 / sqrt((double)n), "correlation %.5g", corr);
}
