/* The built-in apps (kernels/): every app computes exactly what its
 * sequential verify() recomputes, for every worker count and schedule; the
 * parameters are checked; and the synthetic cost model has the shape it
 * promises. Worker counts go past this machine's cores on purpose:
 * oversubscription must change timings only, never results. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sharc.h>

#include "apps.h"
#include "synthetic.h"

static const unsigned k_workers[] = {1, 2, 3, 5, 8};
static const char *const k_schedules[] = {"static",     "static:7", "dynamic:1",
                                          "dynamic:13", "guided",   "guided:5"};
#define NWORKERS (sizeof k_workers / sizeof k_workers[0])
#define NSCHEDULES (sizeof k_schedules / sizeof k_schedules[0])

/* Called with the app's state after a verified job, before teardown. */
typedef void (*inspect_fn)(const void *state, const char *what, void *ctx);

static sharc_pool *make_pool(unsigned workers) {
  sharc_pool_opts po = SHARC_POOL_OPTS_INIT;
  po.workers = workers;
  sharc_pool *pool = NULL;
  char msg[256] = "";
  int rc = sharc_pool_create(&pool, &po, msg, sizeof msg);
  cr_assert_eq(rc, 0, "sharc_pool_create(%u workers): %s: %s", workers,
               sharc_strerror(rc), msg);
  cr_assert_eq(sharc_pool_size(pool), workers);
  return pool;
}

/* result() must write something in both forms; JSON as a single object. */
static void check_result(const sharc_app *app, void *state,
                         const sharc_report *rep, const char *what) {
  for (int json = 0; json <= 1; json++) {
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    cr_assert_not_null(f);
    cr_assert_eq(app->result(state, rep, f, json), 0, "%s: result()", what);
    fclose(f);
    cr_assert_gt(len, 0, "%s: result(json=%d) wrote nothing", what, json);
    if (json)
      cr_assert(buf[0] == '{' && buf[len - 1] == '}',
                "%s: result() JSON is not one object: %s", what, buf);
    free(buf);
  }
}

static void check_report(const sharc_report *rep, uint64_t n, unsigned workers,
                         sharc_schedule sched, const char *what) {
  cr_assert_eq(rep->indices, n, "%s: report says %llu indices", what,
               (unsigned long long)rep->indices);
  cr_assert_eq(rep->nworkers, workers, "%s: report has %u workers", what,
               rep->nworkers);
  cr_assert_not_null(rep->workers, "%s: no per-worker reports", what);
  uint64_t sum = 0;
  for (unsigned w = 0; w < rep->nworkers; w++)
    sum += rep->workers[w].indices;
  cr_assert_eq(sum, n, "%s: per-worker indices sum to %llu", what,
               (unsigned long long)sum);
  if (sched.kind == SHARC_SCHED_DYNAMIC) {
    uint64_t k = sched.chunk ? sched.chunk : 1;
    uint64_t want = (n + k - 1) / k;
    cr_assert_eq(rep->chunks, want, "%s: %llu chunks, expected %llu", what,
                 (unsigned long long)rep->chunks, (unsigned long long)want);
  }
}

/* One job of app on pool: setup, run, verify, check the report. */
static void run_one(sharc_pool *pool, const sharc_app *app, uint64_t n,
                    const char *params, const char *sched_text,
                    inspect_fn inspect, void *ctx) {
  unsigned workers = sharc_pool_size(pool);
  char what[160];
  snprintf(what, sizeof what, "%s(%s) n=%llu workers=%u schedule=%s", app->name,
           params ? params : "", (unsigned long long)n, workers, sched_text);
  sharc_job_opts o = SHARC_JOB_OPTS_INIT;
  cr_assert_eq(sharc_schedule_parse(sched_text, &o.schedule), 0);
  void *state = NULL;
  char msg[256] = "";
  int rc = app->setup(pool, n, params, &o, &state, msg, sizeof msg);
  cr_assert_eq(rc, 0, "%s: setup: %s", what, msg);

  sharc_report rep = SHARC_REPORT_INIT;
  rc = sharc_run(pool, app->kernel, n, &o, &rep);
  cr_assert_eq(rc, 0, "%s: sharc_run: %s: %s", what, sharc_strerror(rc),
               sharc_pool_errmsg(pool));
  rc = app->verify(state, msg, sizeof msg);
  cr_assert_eq(rc, 0, "%s: verify: %s", what, msg);
  check_report(&rep, n, workers, o.schedule, what);
  check_result(app, state, &rep, what);
  if (inspect)
    inspect(state, what, ctx);
  sharc_report_free(&rep);
  app->teardown(state);
}

/* Every worker count times every schedule; one pool per worker count,
 * since starting a pool costs far more than a small job. */
static void run_matrix(const char *name, uint64_t n, const char *params,
                       inspect_fn inspect, void *ctx) {
  const sharc_app *app = sharc_app_find(name);
  cr_assert_not_null(app, "no app %s", name);
  for (size_t w = 0; w < NWORKERS; w++) {
    sharc_pool *pool = make_pool(k_workers[w]);
    for (size_t s = 0; s < NSCHEDULES; s++)
      run_one(pool, app, n, params, k_schedules[s], inspect, ctx);
    sharc_pool_destroy(pool);
  }
}

/* --- registry ------------------------------------------------------------ */

Test(kernels, registry_lists_five_apps_each_with_a_registered_kernel) {
  const char *names[] = {"pi", "triad", "mandelbrot", "synthetic", "empty"};
  unsigned count = 0;
  while (sharc_apps[count])
    count++;
  cr_assert_eq(count, 5);
  for (unsigned i = 0; i < 5; i++) {
    const sharc_app *app = sharc_app_find(names[i]);
    cr_assert_not_null(app, "no app %s", names[i]);
    cr_assert_str_eq(app->name, names[i]);
    cr_assert_not_null(sharc_kernel_find(app->kernel), "kernel %s",
                       app->kernel);
    cr_assert(app->setup && app->result && app->verify && app->teardown);
    cr_assert(app->summary && app->params && app->default_n > 0);
  }
  cr_assert_null(sharc_app_find("nope"));
  cr_assert_null(sharc_app_find(NULL));
}

/* --- every app, every worker count, every schedule ----------------------- */

typedef struct pi_seen {
  int have;
  double estimate, se;
  char first[160];
} pi_seen;

static void pi_inspect(const void *state, const char *what, void *ctx) {
  pi_seen *seen = ctx;
  double est = 0, se = 0;
  cr_assert_eq(sharc_app_pi_estimate(state, &est, &se), 0);
  if (!seen->have) {
    seen->have = 1;
    seen->estimate = est;
    seen->se = se;
    snprintf(seen->first, sizeof seen->first, "%s", what);
    return;
  }
  cr_assert(memcmp(&est, &seen->estimate, sizeof est) == 0,
            "%s: estimate %.17g differs from %.17g (%s)", what, est,
            seen->estimate, seen->first);
}

Test(kernels,
     pi_estimate_is_bit_identical_for_every_worker_count_and_schedule) {
  pi_seen seen = {0};
  run_matrix("pi", 3000, NULL, pi_inspect, &seen);
  cr_assert(seen.have);
  /* 768000 samples: the estimate lies within a few standard errors. */
  cr_assert_gt(seen.se, 0.0);
  cr_assert_lt(fabs(seen.estimate - M_PI), 5 * seen.se, "estimate %.10f",
               seen.estimate);
}

Test(kernels, triad_matches_sequential_for_every_worker_count_and_schedule) {
  run_matrix("triad", 5000, "scalar=2.5", NULL, NULL);
}

Test(kernels,
     mandelbrot_matches_sequential_for_every_worker_count_and_schedule) {
  run_matrix("mandelbrot", 150, "width=64,maxiter=200", NULL, NULL);
}

Test(kernels,
     synthetic_matches_sequential_for_every_worker_count_and_schedule) {
  /* Worker 0 exists in every pool; it repeats its chains yet must write
   * the same values as everyone else. */
  run_matrix("synthetic", 3000, "dist=pareto,work=100,slow=0", NULL, NULL);
}

Test(kernels, empty_processes_every_index_for_every_worker_count_and_schedule) {
  run_matrix("empty", 20000, NULL, NULL, NULL);
}

Test(kernels,
     synthetic_every_distribution_matches_sequential_with_a_slow_worker) {
  const sharc_app *app = sharc_app_find("synthetic");
  sharc_pool *pool = make_pool(3);
  for (unsigned d = 0; d < SHARC_SYNTH_COUNT; d++) {
    char params[128];
    snprintf(params, sizeof params, "dist=%s,work=300,seed=%u,slow=2",
             sharc_synthetic_dist_name(d), d + 1);
    run_one(pool, app, 2001, params, "dynamic:13", NULL, NULL);
    run_one(pool, app, 2001, params, "static", NULL, NULL);
  }
  sharc_pool_destroy(pool);
}

/* --- parameters ---------------------------------------------------------- */

/* Parameters are checked before anything is created, so no pool is needed:
 * a NULL pool also proves nothing was. */
static void expect_param_error(const char *name, const char *params,
                               const char *key) {
  const sharc_app *app = sharc_app_find(name);
  cr_assert_not_null(app);
  sharc_job_opts o = SHARC_JOB_OPTS_INIT;
  void *state = (void *)&o;
  char msg[256] = "";
  int rc = app->setup(NULL, 100, params, &o, &state, msg, sizeof msg);
  cr_assert_eq(rc, SHARC_EINVAL, "%s(%s): rc %d (%s)", name, params, rc, msg);
  cr_assert_null(state, "%s(%s): state left set", name, params);
  cr_assert_not_null(strstr(msg, key), "%s(%s): message does not name %s: %s",
                     name, params, key, msg);
  cr_assert_not_null(strstr(msg, name),
                     "%s(%s): message does not name the app: %s", name, params,
                     msg);
}

Test(kernels, unknown_parameter_is_rejected_naming_the_key) {
  for (unsigned i = 0; sharc_apps[i]; i++)
    expect_param_error(sharc_apps[i]->name, "bogus=1", "bogus");
  expect_param_error("pi", "seed=1,frobnicate=2", "frobnicate");
}

Test(kernels, bad_parameter_value_is_rejected_naming_the_key) {
  expect_param_error("pi", "seed=abc", "seed");
  expect_param_error("pi", "seed=-1", "seed");
  expect_param_error("pi", "seed=", "seed");
  expect_param_error("pi", "seed", "seed");
  expect_param_error("pi", "seed=99999999999999999999999", "seed");
  expect_param_error("triad", "scalar=x", "scalar");
  expect_param_error("triad", "scalar=nan", "scalar");
  expect_param_error("mandelbrot", "width=0", "width");
  expect_param_error("mandelbrot", "width=64,maxiter=1x", "maxiter");
  expect_param_error("synthetic", "dist=zipf", "dist");
  expect_param_error("synthetic", "alpha=1", "alpha");
  expect_param_error("synthetic", "work=", "work");
  expect_param_error("synthetic", "slow=fast", "slow");
  /* slow names a worker: with no pool there is none. */
  expect_param_error("synthetic", "slow=0", "slow");
}

Test(kernels, synthetic_parse_gives_documented_defaults) {
  sharc_synthetic_args a;
  char msg[256] = "";
  cr_assert_eq(sharc_synthetic_args_parse(NULL, 77, &a, msg, sizeof msg), 0,
               "%s", msg);
  cr_assert_eq(a.n, 77);
  cr_assert_eq(a.dist, SHARC_SYNTH_UNIFORM);
  cr_assert_eq(a.work, 1000);
  cr_assert_eq(a.alpha, 1.5);
  cr_assert_eq(a.seed, 42);
  cr_assert_eq(a.slow, SHARC_SYNTHETIC_NO_SLOW);
  cr_assert_eq(sharc_synthetic_args_parse(
                   "dist=hot_band,work=7,alpha=2.5,seed=9,slow=3,", 5, &a, msg,
                   sizeof msg),
               0, "%s", msg);
  cr_assert_eq(a.dist, SHARC_SYNTH_HOT_BAND);
  cr_assert_eq(a.work, 7);
  cr_assert_eq(a.alpha, 2.5);
  cr_assert_eq(a.seed, 9);
  cr_assert_eq(a.slow, 3);
  cr_assert_eq(sharc_synthetic_args_parse("slow=none", 5, &a, msg, sizeof msg),
               0);
  cr_assert_eq(a.slow, SHARC_SYNTHETIC_NO_SLOW);
}

/* --- the synthetic cost model -------------------------------------------- */

static sharc_synthetic_args synth(const char *params, uint64_t n) {
  sharc_synthetic_args a;
  char msg[256] = "";
  cr_assert_eq(sharc_synthetic_args_parse(params, n, &a, msg, sizeof msg), 0,
               "%s: %s", params, msg);
  return a;
}

static int cmp_u64(const void *x, const void *y) {
  uint64_t a = *(const uint64_t *)x, b = *(const uint64_t *)y;
  return a < b ? -1 : a > b;
}

/* Costs of [0, n), sorted, for quantiles. Caller frees. */
static uint64_t *sorted_costs(const sharc_synthetic_args *a) {
  uint64_t *c = malloc(a->n * sizeof *c);
  cr_assert_not_null(c);
  for (uint64_t i = 0; i < a->n; i++)
    c[i] = sharc_synthetic_cost(a, i);
  qsort(c, a->n, sizeof *c, cmp_u64);
  return c;
}

static double mean_cost(const sharc_synthetic_args *a) {
  return (double)sharc_synthetic_total(a) / (double)a->n;
}

/* Fraction of indices costing more than x. */
static double tail_fraction(const uint64_t *sorted, uint64_t n, double x) {
  uint64_t k = 0;
  while (k < n && (double)sorted[k] <= x)
    k++;
  return (double)(n - k) / (double)n;
}

static void assert_near(double got, double want, double rel, const char *what) {
  cr_assert_leq(fabs(got - want), rel * want,
                "%s: %.6g, expected %.6g +/- %g%%", what, got, want, rel * 100);
}

Test(kernels, synthetic_uniform_costs_exactly_work) {
  sharc_synthetic_args a = synth("dist=uniform,work=1234", 5000);
  for (uint64_t i = 0; i < a.n; i++)
    cr_assert_eq(sharc_synthetic_cost(&a, i), 1234);
  cr_assert_eq(sharc_synthetic_total(&a), 5000 * 1234);
}

Test(kernels, synthetic_hot_band_is_the_middle_tenth_at_exactly_ten_times) {
  /* work 1900 makes the base exactly 1000: round(1900 * 10 / 19). */
  sharc_synthetic_args a = synth("dist=hot_band,work=1900", 1000);
  for (uint64_t i = 0; i < a.n; i++) {
    uint64_t want = i >= 450 && i < 550 ? 10000 : 1000;
    cr_assert_eq(sharc_synthetic_cost(&a, i), want, "cost(%llu)",
                 (unsigned long long)i);
  }
  cr_assert_eq(sharc_synthetic_total(&a), 1000 * 1900); /* mean is work */

  /* n not a multiple of 10: the band is n/10 wide and centred. */
  a = synth("dist=hot_band,work=1000", 1003);
  uint64_t base = sharc_synthetic_cost(&a, 0), hot = 0, first = 0;
  for (uint64_t i = 0; i < a.n; i++) {
    uint64_t c = sharc_synthetic_cost(&a, i);
    cr_assert(c == base || c == 10 * base, "cost(%llu) = %llu",
              (unsigned long long)i, (unsigned long long)c);
    if (c == 10 * base && hot++ == 0)
      first = i;
  }
  cr_assert_eq(base, 526); /* round(1000 * 10 / 19) */
  cr_assert_eq(hot, 100);
  cr_assert_eq(first, 451); /* (1003 - 100) / 2 */
}

Test(kernels, synthetic_ramps_are_linear_monotone_and_mirrored) {
  /* work == n makes ramp_up(i) = round(2i + 1) exactly. */
  sharc_synthetic_args up = synth("dist=ramp_up,work=1000", 1000);
  sharc_synthetic_args down = synth("dist=ramp_down,work=1000", 1000);
  for (uint64_t i = 0; i < up.n; i++) {
    cr_assert_eq(sharc_synthetic_cost(&up, i), 2 * i + 1);
    cr_assert_eq(sharc_synthetic_cost(&down, i), 2 * (up.n - 1 - i) + 1);
  }
  cr_assert_eq(sharc_synthetic_total(&up), 1000 * 1000);

  /* Any n and work: ramp_up never decreases, ramp_down is its mirror. */
  up = synth("dist=ramp_up,work=777", 12345);
  down = synth("dist=ramp_down,work=777", 12345);
  for (uint64_t i = 0; i < up.n; i++) {
    if (i > 0)
      cr_assert_geq(sharc_synthetic_cost(&up, i),
                    sharc_synthetic_cost(&up, i - 1));
    cr_assert_eq(sharc_synthetic_cost(&down, i),
                 sharc_synthetic_cost(&up, up.n - 1 - i));
  }
  cr_assert_eq(sharc_synthetic_cost(&up, 0), 0);           /* round(0.063) */
  cr_assert_eq(sharc_synthetic_cost(&up, up.n - 1), 1554); /* round(1553.9) */
  assert_near(mean_cost(&up), 777, 0.001, "ramp_up mean");
}

Test(kernels, synthetic_exponential_has_mean_work_and_median_work_ln2) {
  sharc_synthetic_args a = synth("dist=exponential,work=1000", 1 << 16);
  uint64_t *c = sorted_costs(&a);
  /* Costs are fixed by the seed, so these bounds pass or fail for good; each
   * is about 3 sampling standard errors wide: mean 0.4%, median 0.56%,
   * tail fraction 1.7%. */
  assert_near(mean_cost(&a), 1000, 0.015, "exponential mean");
  assert_near((double)c[a.n / 2], 1000 * log(2.0), 0.02, "exponential median");
  assert_near(tail_fraction(c, a.n, 3000), exp(-3.0), 0.06,
              "exponential P(cost > 3 work)");
  free(c);
}

Test(kernels, synthetic_pareto_has_its_scale_quantiles_and_mean) {
  sharc_synthetic_args a = synth("dist=pareto,work=1000,alpha=1.5", 1 << 18);
  uint64_t *c = sorted_costs(&a);
  double scale = 1000 * 0.5 / 1.5; /* work (alpha - 1) / alpha */
  cr_assert_eq(c[0], 333, "smallest cost %llu", (unsigned long long)c[0]);
  assert_near((double)c[a.n / 2], scale * pow(2.0, 1 / 1.5), 0.005,
              "pareto median");
  /* P(X > k scale) = k^-alpha. Bounds are about 3 sampling standard errors
   * (median 0.13%, P(> 10 scale) 1.1%, P(> 100 scale) 6%). */
  assert_near(tail_fraction(c, a.n, 10 * scale), pow(10.0, -1.5), 0.035,
              "pareto P(cost > 10 scale)");
  assert_near(tail_fraction(c, a.n, 100 * scale), pow(100.0, -1.5), 0.20,
              "pareto P(cost > 100 scale)");
  /* The mean of a heavy tail converges slowly (error ~ n^(1/alpha - 1)). */
  assert_near(mean_cost(&a), 1000, 0.10, "pareto mean");
  /* The cut at 2^20 scale holds. */
  cr_assert_leq(c[a.n - 1], (uint64_t)(scale * 0x1p20) + 1);
  free(c);
}

Test(kernels, synthetic_costs_depend_only_on_seed_and_index) {
  sharc_synthetic_args a = synth("dist=exponential,seed=1", 4096);
  sharc_synthetic_args b = synth("dist=exponential,seed=1", 4096);
  sharc_synthetic_args c = synth("dist=exponential,seed=2", 4096);
  uint64_t same = 0;
  for (uint64_t i = 0; i < a.n; i++) {
    cr_assert_eq(sharc_synthetic_cost(&a, i), sharc_synthetic_cost(&b, i));
    same += sharc_synthetic_cost(&a, i) == sharc_synthetic_cost(&c, i);
  }
  cr_assert_lt(same, a.n / 100, "seeds 1 and 2 agree on %llu of %llu",
               (unsigned long long)same, (unsigned long long)a.n);
  /* The slow worker is no part of the cost model. */
  sharc_synthetic_args d = synth("dist=exponential,seed=1,slow=3", 4096);
  for (uint64_t i = 0; i < a.n; i++)
    cr_assert_eq(sharc_synthetic_cost(&a, i), sharc_synthetic_cost(&d, i));
}

/* --- verify() catches what it should ------------------------------------- */

/* A job over only the first 60 of 100 indices leaves the rest zero: verify
 * must fail and name index 60, the first one the job did not compute. */
Test(kernels, verify_names_the_first_index_the_job_did_not_compute) {
  static const struct {
    const char *app, *params, *needle;
  } cases[] = {{"pi", NULL, "hits[60]"},
               {"triad", NULL, "a[60]"},
               {"mandelbrot", "width=16,maxiter=50", "row 60 "},
               {"synthetic", "work=10", "out[60]"}};
  sharc_pool *pool = make_pool(2);
  for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
    const sharc_app *app = sharc_app_find(cases[c].app);
    sharc_job_opts o = SHARC_JOB_OPTS_INIT;
    void *state = NULL;
    char msg[256] = "";
    cr_assert_eq(
        app->setup(pool, 100, cases[c].params, &o, &state, msg, sizeof msg), 0,
        "%s: %s", cases[c].app, msg);
    int rc = sharc_run(pool, app->kernel, 60, &o, NULL);
    cr_assert_eq(rc, 0, "%s: %s", cases[c].app, sharc_pool_errmsg(pool));
    msg[0] = '\0';
    cr_assert_eq(app->verify(state, msg, sizeof msg), SHARC_ECORRUPT,
                 "%s: verify passed", cases[c].app);
    cr_assert_not_null(strstr(msg, cases[c].needle), "%s: %s", cases[c].app,
                       msg);
    app->teardown(state);
  }
  sharc_pool_destroy(pool);
}
