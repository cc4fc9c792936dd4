/* synthetic: indices of known, controllable cost, for scheduling
 * benchmarks. The cost model is documented in synthetic.h.
 *
 * Each index runs a chain of dependent floating-point additions as long as
 * its cost and writes the chain's final value to out[i]: the value proves
 * the work was done and depends only on (i, cost), never on the worker. */
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <Random123/philox.h>

#include "apps.h"
#include "ranges.h"
#include "synthetic.h"

/* Pareto factors above this are cut (see synthetic.h). */
#define SYNTH_PARETO_CAP 0x1p20
/* The largest mean accepted: keeps every cost, even capped Pareto ones,
 * far from overflowing uint64. */
#define SYNTH_WORK_MAX 0x1p40

static const char *const synth_dist_names[] = {
    "uniform",   "exponential", "pareto", "ramp_up",
    "ramp_down", "hot_band",    NULL};

const char *sharc_synthetic_dist_name(unsigned dist) {
  return dist < SHARC_SYNTH_COUNT ? synth_dist_names[dist] : NULL;
}

/* A uniform draw in [0, 1) for index i: 53 bits of Philox4x32-10. The third
 * counter word is a constant so these draws never coincide with pi's. */
static double synth_unit(uint64_t seed, uint64_t i) {
  philox4x32_key_t key = {{(uint32_t)seed, (uint32_t)(seed >> 32)}};
  philox4x32_ctr_t ctr = {{(uint32_t)i, (uint32_t)(i >> 32), 0x53594e54u, 0}};
  philox4x32_ctr_t r = philox4x32(ctr, key);
  uint64_t bits = (((uint64_t)r.v[0] << 32) | r.v[1]) >> 11;
  return (double)bits * 0x1.0p-53;
}

/* Round half up; x >= 0. Arithmetic in this file is one operation per
 * statement so no compiler may fuse a multiply-add (FMA) in one inlined
 * copy and not another: costs must agree in every process. */
static uint64_t synth_round(double x) {
  double h = x + 0.5;
  return (uint64_t)floor(h);
}

static uint64_t synth_exponential(const sharc_synthetic_args *a, uint64_t i) {
  double u = synth_unit(a->seed, i);
  double e = -log1p(-u); /* u < 1, so e is finite */
  double x = e * (double)a->work;
  return synth_round(x);
}

static uint64_t synth_pareto(const sharc_synthetic_args *a, uint64_t i) {
  double u = synth_unit(a->seed, i);
  double f = pow(1.0 - u, -1.0 / a->alpha); /* 1 - u in (0, 1] */
  if (f > SYNTH_PARETO_CAP)
    f = SYNTH_PARETO_CAP;
  double scale = (double)a->work * (a->alpha - 1.0);
  scale = scale / a->alpha;
  double x = scale * f;
  return synth_round(x);
}

static uint64_t synth_ramp_up(const sharc_synthetic_args *a, uint64_t i) {
  /* 2 work (i + 1/2) / n: every step is monotone in i, so costs are too. */
  double twice = 2.0 * (double)i;
  double mid = twice + 1.0;
  double x = (double)a->work * mid;
  x = x / (double)a->n;
  return synth_round(x);
}

static uint64_t synth_hot_band(const sharc_synthetic_args *a, uint64_t i) {
  uint64_t width = a->n / 10;
  uint64_t lo = (a->n - width) / 2;
  /* round(work * 10 / 19): 0.9 base + 0.1 * 10 base = work. */
  uint64_t base = (a->work * 20 + 19) / 38;
  return i >= lo && i < lo + width ? 10 * base : base;
}

uint64_t sharc_synthetic_cost(const sharc_synthetic_args *a, uint64_t i) {
  switch (a->dist) {
  case SHARC_SYNTH_UNIFORM:
    return a->work;
  case SHARC_SYNTH_EXPONENTIAL:
    return synth_exponential(a, i);
  case SHARC_SYNTH_PARETO:
    return synth_pareto(a, i);
  case SHARC_SYNTH_RAMP_UP:
    return synth_ramp_up(a, i);
  case SHARC_SYNTH_RAMP_DOWN:
    return synth_ramp_up(a, a->n - 1 - i);
  case SHARC_SYNTH_HOT_BAND:
    return synth_hot_band(a, i);
  }
  return 0;
}

uint64_t sharc_synthetic_total(const sharc_synthetic_args *a) {
  uint64_t total = 0;
  for (uint64_t i = 0; i < a->n; i++)
    total += sharc_synthetic_cost(a, i);
  return total;
}

/* Hot path: one call per chunk; no allocation or system call. */
static int synthetic_kernel(const sharc_task *t, uint64_t begin, uint64_t end) {
  sharc_synthetic_args a;
  double *out = sharc_task_array(t, 0);
  if (sharc_app_task_args(t, &a, sizeof a) || !out ||
      end > sharc_task_array_size(t, 0) || end > a.n)
    return SHARC_EINVAL;
  if (a.abort_at >= begin && a.abort_at < end)
    abort();
  if (a.hang_at >= begin && a.hang_at < end)
    for (;;)
      pause();
  sharc_synthetic_range(&a, out, begin, end, sharc_task_worker(t));
  return 0;
}
SHARC_KERNEL_NAMED("synthetic", synthetic_kernel)

int sharc_synthetic_args_parse(const char *params, uint64_t n,
                               sharc_synthetic_args *out, char *msg,
                               size_t msglen) {
  sharc_synthetic_args a;
  memset(&a, 0, sizeof a); /* padding travels with the argument bytes */
  a.n = n;
  a.dist = SHARC_SYNTH_UNIFORM;
  a.work = 1000;
  a.alpha = 1.5;
  a.seed = 42;
  a.slow = SHARC_SYNTHETIC_NO_SLOW;
  a.abort_at = a.hang_at = UINT64_MAX;
  const sharc_app_param spec[] = {
      {"dist", SHARC_APP_PARAM_CHOICE, &a.dist, 0, 0, synth_dist_names, NULL},
      {"work", SHARC_APP_PARAM_U64, &a.work, 0, SYNTH_WORK_MAX, NULL, NULL},
      {"alpha", SHARC_APP_PARAM_F64, &a.alpha, 1.01, 100.0, NULL, NULL},
      {"seed", SHARC_APP_PARAM_U64, &a.seed, 0, 0x1p64, NULL, NULL},
      {"slow", SHARC_APP_PARAM_U64, &a.slow, 0, 65535, NULL, "none"},
      {"abort_at", SHARC_APP_PARAM_U64, &a.abort_at, 0, 0x1p62, NULL,
       "none"},
      {"hang_at", SHARC_APP_PARAM_U64, &a.hang_at, 0, 0x1p62, NULL, "none"}};
  int rc = sharc_app_params_parse("synthetic", params, spec,
                                  sizeof spec / sizeof spec[0], msg, msglen);
  if (rc)
    return rc;
  *out = a;
  return 0;
}

typedef struct synth_state {
  sharc_synthetic_args args; /* the job's argument bytes point here */
  sharc_array *out;
} synth_state;

static void synth_teardown(void *state) {
  synth_state *s = state;
  if (!s)
    return;
  sharc_array_destroy(s->out);
  free(s);
}

static int synth_setup(sharc_pool *pool, uint64_t n, const char *params,
                       sharc_job_opts *o, void **state, char *msg,
                       size_t msglen) {
  *state = NULL;
  sharc_synthetic_args args;
  int rc = sharc_synthetic_args_parse(params, n, &args, msg, msglen);
  if (rc)
    return rc;
  unsigned workers = pool ? sharc_pool_size(pool) : 0;
  if (args.slow != SHARC_SYNTHETIC_NO_SLOW && args.slow >= workers) {
    sharc_app_msg(msg, msglen,
                  "synthetic: bad value '%" PRIu64 "' for slow (the pool has "
                  "%u workers)",
                  args.slow, workers);
    return SHARC_EINVAL;
  }
  synth_state *s = calloc(1, sizeof *s);
  if (!s)
    return SHARC_ENOMEM;
  s->args = args;
  o->narrays = 0;
  rc = sharc_app_add_array(pool, "synthetic", "out", SHARC_F64, 1, &n, o, 0,
                           &s->out, msg, msglen);
  if (rc) {
    synth_teardown(s);
    return rc;
  }
  o->args = &s->args;
  o->args_len = sizeof s->args;
  *state = s;
  return 0;
}

static void synth_json(const sharc_synthetic_args *a, uint64_t total,
                       double rate, FILE *out) {
  fprintf(out,
          "{\"app\":\"synthetic\",\"n\":%" PRIu64 ",\"dist\":\"%s\""
          ",\"work\":%" PRIu64 ",\"alpha\":%.17g,\"seed\":%" PRIu64,
          a->n, sharc_synthetic_dist_name(a->dist), a->work, a->alpha, a->seed);
  if (a->slow == SHARC_SYNTHETIC_NO_SLOW)
    fprintf(out, ",\"slow\":null");
  else
    fprintf(out, ",\"slow\":%" PRIu64, a->slow);
  fprintf(out, ",\"total_work\":%" PRIu64 ",\"indices_per_s\":%.6g}", total,
          rate);
}

static int synth_result(void *state, const sharc_report *rep, FILE *out,
                        int json) {
  const synth_state *s = state;
  const sharc_synthetic_args *a = &s->args;
  uint64_t total = sharc_synthetic_total(a);
  double rate = sharc_app_rate((double)a->n, rep);
  if (json) {
    synth_json(a, total, rate, out);
    return 0;
  }
  fprintf(out,
          "synthetic: %s, n = %" PRIu64 ", mean work %" PRIu64
          ", total work %" PRIu64 " iterations\n",
          sharc_synthetic_dist_name(a->dist), a->n, a->work, total);
  fprintf(out, "%.4g indices/s\n", rate);
  return 0;
}

static int synth_verify(void *state, char *msg, size_t msglen) {
  const synth_state *s = state;
  const double *out = sharc_array_data(s->out);
  for (uint64_t i = 0; i < s->args.n; i++) {
    if (i == s->args.abort_at || i == s->args.hang_at)
      continue; /* never computed: quarantined, or the job failed */
    double want = sharc_synthetic_chain(i, sharc_synthetic_cost(&s->args, i));
    if (memcmp(&out[i], &want, sizeof want) != 0) {
      sharc_app_msg(msg, msglen,
                    "synthetic: out[%" PRIu64 "] is %.17g, expected %.17g", i,
                    out[i], want);
      return SHARC_ECORRUPT;
    }
  }
  return 0;
}

const sharc_app sharc_app_synthetic = {
    .name = "synthetic",
    .kernel = "synthetic",
    .summary = "indices of controlled cost, for scheduling benchmarks",
    .params = "dist=uniform|exponential|pareto|ramp_up|ramp_down|hot_band "
              "(default uniform), work=MEAN iterations per index (default "
              "1000), alpha=A (pareto, default 1.5), seed=S (default 42), "
              "slow=WORKER|none (that worker runs at half speed), "
              "abort_at=INDEX|none (the worker reaching it aborts), "
              "hang_at=INDEX|none (the worker reaching it hangs)",
    .default_n = UINT64_C(1) << 20,
    .setup = synth_setup,
    .result = synth_result,
    .verify = synth_verify,
    .teardown = synth_teardown,
};
