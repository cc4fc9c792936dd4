/* pi: Monte Carlo estimate of pi.
 *
 * Index i is a batch of PI_BATCH points in the unit square; hits[i] counts
 * those inside the quarter circle. Point number d of batch i comes from
 * Philox4x32-10 with key = seed and counter = (i, d, i >> 32, 0): a pure
 * function of (seed, i, d), so the hits and the estimate are identical for
 * every schedule and worker count, and verify() can recompute them here. */
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>

#include <Random123/philox.h>

#include "apps.h"

#define PI_BATCH 256 /* points per index; hits fit a uint16 */

typedef struct pi_args {
  uint64_t seed;
} pi_args;

typedef struct pi_state {
  pi_args args; /* the job's argument bytes point here */
  uint64_t n;
  sharc_array *hits;
} pi_state;

/* 53 random bits from two words, scaled to [0, 1) exactly. */
static double pi_unit(uint32_t hi, uint32_t lo) {
  uint64_t bits = (((uint64_t)hi << 32) | lo) >> 11;
  return (double)bits * 0x1.0p-53;
}

/* The per-index computation, shared by the kernel and verify(). Squares are
 * separate statements so no compiler may fuse them into an FMA in one copy
 * and not the other. */
static uint16_t pi_batch(uint64_t seed, uint64_t i) {
  philox4x32_key_t key = {{(uint32_t)seed, (uint32_t)(seed >> 32)}};
  unsigned hits = 0;
  for (uint32_t d = 0; d < PI_BATCH; d++) {
    philox4x32_ctr_t ctr = {{(uint32_t)i, d, (uint32_t)(i >> 32), 0}};
    philox4x32_ctr_t r = philox4x32(ctr, key);
    double x = pi_unit(r.v[0], r.v[1]);
    double y = pi_unit(r.v[2], r.v[3]);
    double x2 = x * x;
    double y2 = y * y;
    hits += x2 + y2 < 1.0;
  }
  return (uint16_t)hits;
}

/* Hot path: one call per chunk; no allocation or system call. */
static int pi_kernel(const sharc_task *t, uint64_t begin, uint64_t end) {
  pi_args a;
  uint16_t *hits = sharc_task_array(t, 0);
  if (sharc_app_task_args(t, &a, sizeof a) || !hits ||
      end > sharc_task_array_size(t, 0))
    return SHARC_EINVAL;
  for (uint64_t i = begin; i < end; i++)
    hits[i] = pi_batch(a.seed, i);
  return 0;
}
SHARC_KERNEL_NAMED("pi", pi_kernel)

static void pi_teardown(void *state) {
  pi_state *s = state;
  if (!s)
    return;
  sharc_array_destroy(s->hits);
  free(s);
}

static int pi_setup(sharc_pool *pool, uint64_t n, const char *params,
                    sharc_job_opts *o, void **state, char *msg, size_t msglen) {
  *state = NULL;
  pi_args args = {42};
  const sharc_app_param spec[] = {
      {"seed", SHARC_APP_PARAM_U64, &args.seed, 0, 0x1p64, NULL, NULL}};
  int rc = sharc_app_params_parse("pi", params, spec, 1, msg, msglen);
  if (rc)
    return rc;
  pi_state *s = calloc(1, sizeof *s);
  if (!s)
    return SHARC_ENOMEM;
  s->args = args;
  s->n = n;
  o->narrays = 0;
  rc = sharc_app_add_array(pool, "pi", "hits", SHARC_U16, 1, &n, o, 0, &s->hits,
                           msg, msglen);
  if (rc) {
    pi_teardown(s);
    return rc;
  }
  o->args = &s->args;
  o->args_len = sizeof s->args;
  *state = s;
  return 0;
}

int sharc_app_pi_estimate(const void *state, double *estimate,
                          double *stderr_out) {
  const pi_state *s = state;
  if (!s || !s->hits)
    return SHARC_EINVAL;
  const uint16_t *hits = sharc_array_data(s->hits);
  uint64_t sum = 0;
  for (uint64_t i = 0; i < s->n; i++)
    sum += hits[i];
  double samples = (double)s->n * PI_BATCH;
  double p = samples > 0 ? (double)sum / samples : 0.0;
  *estimate = 4.0 * p;
  /* A hit is a Bernoulli trial with probability pi/4. */
  *stderr_out = samples > 0 ? 4.0 * sqrt(p * (1.0 - p) / samples) : 0.0;
  return 0;
}

static int pi_result(void *state, const sharc_report *rep, FILE *out,
                     int json) {
  const pi_state *s = state;
  double est = 0, se = 0;
  sharc_app_pi_estimate(s, &est, &se);
  uint64_t samples = s->n * PI_BATCH;
  double rate = sharc_app_rate((double)samples, rep);
  if (json) {
    fprintf(out,
            "{\"app\":\"pi\",\"n\":%" PRIu64 ",\"seed\":%" PRIu64
            ",\"samples\":%" PRIu64 ",\"estimate\":%.17g,\"stderr\":%.17g"
            ",\"error\":%.17g,\"samples_per_s\":%.6g}",
            s->n, s->args.seed, samples, est, se, est - M_PI, rate);
    return 0;
  }
  fprintf(out, "pi ~= %.10f +/- %.2g (error %.2g) from %" PRIu64 " samples\n",
          est, se, est - M_PI, samples);
  fprintf(out, "%.4g samples/s\n", rate);
  return 0;
}

static int pi_verify(void *state, char *msg, size_t msglen) {
  const pi_state *s = state;
  const uint16_t *hits = sharc_array_data(s->hits);
  for (uint64_t i = 0; i < s->n; i++) {
    uint16_t want = pi_batch(s->args.seed, i);
    if (hits[i] != want) {
      sharc_app_msg(msg, msglen, "pi: hits[%" PRIu64 "] is %u, expected %u", i,
                    (unsigned)hits[i], (unsigned)want);
      return SHARC_ECORRUPT;
    }
  }
  return 0;
}

const sharc_app sharc_app_pi = {
    .name = "pi",
    .kernel = "pi",
    .summary = "Monte Carlo estimate of pi (256 Philox samples per index)",
    .params = "seed=S (default 42)",
    .default_n = UINT64_C(1) << 20,
    .setup = pi_setup,
    .result = pi_result,
    .verify = pi_verify,
    .teardown = pi_teardown,
};
