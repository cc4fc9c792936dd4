/* The Monte Carlo kernels (kernels/mc.c) against exact values:
 *
 * - European call: the Black-Scholes price lies inside the 95% interval,
 *   and the interval is tight (half-width under 0.5% of the price).
 * - Geometric-average Asian call (discrete fixings): the exact lognormal
 *   closed form lies inside the interval; for continuous averaging that
 *   form is Kemna & Vorst, "A pricing method for options based on average
 *   asset values", J. Banking & Finance 14 (1990) 113-129.
 * - Arithmetic-average Asian call: V. Linetsky, "Spectral expansions for
 *   Asian (average price) options", Operations Research 52(6) (2004)
 *   856-867, the first of its seven test cases: S0 = 2, K = 2, r = 0.02, sigma
 * = 0.1, T = 1, continuous averaging, price 0.0559860415. The kernel monitors
 * at 250 dates, which biases the price by about as much as it biases the
 *   geometric-average price, whose discrete and continuous values are both
 *   exact here; the tolerance is 4 standard errors plus that whole bias.
 * - Random walk to absorption (gambler's ruin): the probability of ending
 *   at the barrier, the mean duration and (p = 1/2) its variance, exact.
 *
 * Tolerances follow from the sample: an estimate must lie within 4 or 5 of
 * its standard errors. Seeds are fixed, so every outcome is exact. */
#include <criterion/criterion.h>
#include <math.h>
#include <string.h>

#include <sharc.h>

#include "helpers.h"
#include "mc.h"

typedef struct est {
  sharc_reduce_result q[MC_MAX_QUANTITIES + 1];
} est;

static void run_model(sharc_pool *pool, const char *name, const char *params,
                      uint64_t seed, uint64_t paths, const char *sched,
                      void *args, est *out) {
  const mc_model *m = mc_model_find(name);
  cr_assert_not_null(m, "no model %s", name);
  char msg[256] = "";
  cr_assert_eq(m->parse(params, seed, args, msg, sizeof msg), 0, "%s", msg);
  sharc_job_opts o = SHARC_JOB_OPTS_INIT;
  cr_assert_eq(sharc_schedule_parse(sched, &o.schedule), 0);
  o.args = args;
  o.args_len = m->args_size;
  sharc_reduce_spec specs[MC_MAX_QUANTITIES + 1];
  cr_assert_eq(mc_model_declare(m, &o, specs, out->q), 0);
  int rc = sharc_run(pool, m->kernel, paths, &o, NULL);
  cr_assert_eq(rc, 0, "%s: %s", name, sharc_pool_errmsg(pool));
  cr_assert_eq(out->q[0].count, paths);
}

static void assert_inside(const sharc_reduce_result *r, double exact,
                          double nsem, const char *what) {
  cr_assert_gt(r->sem, 0.0, "%s: no spread", what);
  cr_assert_leq(fabs(r->mean - exact), nsem * r->sem,
                "%s: estimate %.10g, exact %.10g, %.3g standard errors off "
                "(sem %.3g)",
                what, r->mean, exact, fabs(r->mean - exact) / r->sem, r->sem);
}

Test(mc, european_call_interval_holds_black_scholes_and_is_tight) {
  sharc_pool *pool = test_pool(2);
  mc_option_args a;
  est e;
  run_model(pool, "european", "s0=100,k=100,r=0.05,sigma=0.2,t=1", 42,
            UINT64_C(1) << 19, "guided", &a, &e);
  double bs = mc_black_scholes_call(100, 100, 0.05, 0.2, 1);
  /* The textbook value 10.4506 (computed independently to 15 digits). */
  cr_assert_lt(fabs(bs - 10.450583572185565), 1e-9, "bs %.15g", bs);
  double half = SHARC_Z95 * e.q[0].sem;
  cr_assert_leq(fabs(e.q[0].mean - bs), half, "price %.6f +- %.6f, BS %.6f",
                e.q[0].mean, half, bs);
  cr_assert_lt(half, 0.005 * bs, "half-width %.4g is not under 0.5%%", half);
  /* The payoff's spread is what theory says (about 14.7 here), so the
   * interval is neither too narrow nor too wide for its path count. */
  double sd = sqrt(e.q[0].var);
  cr_assert(sd > 14 && sd < 15.5, "payoff sd %.4g", sd);
  sharc_pool_destroy(pool);
}

Test(mc, estimates_are_bit_identical_for_every_worker_count_and_schedule) {
  static const char *const scheds[] = {"static",   "static:3", "dynamic:7",
                                       "guided:4", "auto",     "wf"};
  est first, e;
  mc_walk_args w;
  mc_option_args a;
  int have = 0;
  for (unsigned workers = 1; workers <= 3; workers++) {
    sharc_pool *pool = test_pool(workers);
    for (size_t s = 0; s < sizeof scheds / sizeof scheds[0]; s++) {
      est both;
      run_model(pool, "asian", "steps=8", 5, 30000, scheds[s], &a, &e);
      run_model(pool, "walk", "start=5,barrier=20", 5, 20000, scheds[s], &w,
                &both);
      e.q[1] = both.q[0];
      e.q[2] = both.q[1];
      e.q[3] = both.q[2];
      if (!have) {
        first = e;
        have = 1;
      }
      for (int q = 0; q < 4; q++) {
        cr_assert(
            memcmp(&e.q[q].mean, &first.q[q].mean, sizeof(double)) == 0 &&
                memcmp(&e.q[q].m2, &first.q[q].m2, sizeof(double)) == 0 &&
                memcmp(&e.q[q].value, &first.q[q].value, sizeof(double)) == 0 &&
                e.q[q].index == first.q[q].index,
            "%u workers, %s: quantity %d differs", workers, scheds[s], q);
      }
    }
    sharc_pool_destroy(pool);
  }
}

Test(mc, geometric_asian_interval_holds_the_exact_discrete_price) {
  sharc_pool *pool = test_pool(2);
  mc_option_args a;
  est e;
  run_model(pool, "asian", "average=geom,steps=12", 7, UINT64_C(1) << 17,
            "dynamic:5", &a, &e);
  double exact = mc_geometric_asian_call(100, 100, 0.05, 0.2, 1, 12);
  assert_inside(&e.q[0], exact, 4, "geometric asian, 12 fixings");
  /* Many fixings approach Kemna-Vorst's continuous formula. */
  double cont = mc_geometric_asian_call(100, 100, 0.05, 0.2, 1, 0);
  double many = mc_geometric_asian_call(100, 100, 0.05, 0.2, 1, 1000000);
  cr_assert_lt(fabs(many - cont), 1e-5, "%.10g vs %.10g", many, cont);
  cr_assert_gt(exact, cont); /* discrete fixings end later on average */
  sharc_pool_destroy(pool);
}

Test(mc, arithmetic_asian_matches_linetsky_2004_case_1) {
  sharc_pool *pool = test_pool(2);
  const double linetsky = 0.0559860415;
  const uint64_t steps = 250;
  double bias = mc_geometric_asian_call(2, 2, 0.02, 0.1, 1, steps) -
                mc_geometric_asian_call(2, 2, 0.02, 0.1, 1, 0);
  cr_assert(bias > 0 && bias < 0.005 * linetsky, "bias %.3g", bias);
  mc_option_args a;
  est cv, plain;
  run_model(pool, "asian", "s0=2,k=2,r=0.02,sigma=0.1,t=1,steps=250,control=1",
            11, UINT64_C(1) << 15, "guided", &a, &cv);
  double tol = 4 * cv.q[0].sem + bias;
  cr_assert_leq(fabs(cv.q[0].mean - (linetsky + bias)), tol,
                "arithmetic asian %.8f (sem %.2g), Linetsky %.8f + bias %.2g",
                cv.q[0].mean, cv.q[0].sem, linetsky, bias);
  cr_assert_lt(tol, 0.01 * linetsky, "tolerance %.3g too loose to mean much",
               tol);
  /* The plain estimator agrees, with a far wider interval. */
  run_model(pool, "asian", "s0=2,k=2,r=0.02,sigma=0.1,t=1,steps=250", 11,
            UINT64_C(1) << 15, "guided", &a, &plain);
  cr_assert_gt(plain.q[0].sem, 5 * cv.q[0].sem);
  assert_inside(&plain.q[0], cv.q[0].mean, 4, "plain vs control");
  sharc_pool_destroy(pool);
}

/* (steps - E[steps])^2 per walk: its mean is the variance, with a standard
 * error that the sample itself gives. */
typedef struct sq_args {
  mc_walk_args w;
  double mean;
} sq_args;

static int walk_sq_kernel(const sharc_task *t, uint64_t begin, uint64_t end) {
  const sq_args *a = sharc_task_args(t, NULL);
  for (uint64_t i = begin; i < end; i++) {
    int hit;
    double d = (double)mc_walk_path(&a->w, i, &hit) - a->mean;
    if (sharc_task_welford(t, 0, i, d * d))
      return SHARC_EINVAL;
  }
  return 0;
}
SHARC_KERNEL_NAMED("test_walk_sq", walk_sq_kernel)

Test(mc, random_walk_matches_gamblers_ruin) {
  sharc_pool *pool = test_pool(2);
  mc_walk_args w;
  est e;
  run_model(pool, "walk", "start=5,barrier=20", 3, UINT64_C(1) << 16,
            "dynamic:1", &w, &e);
  cr_assert_eq(mc_walk_mean_steps(&w), 75.0);
  cr_assert_eq(mc_walk_p_barrier(&w), 0.25);
  assert_inside(&e.q[0], 75.0, 5, "mean steps");
  assert_inside(&e.q[1], 0.25, 5, "P(barrier)");
  /* The longest walk: recomputed here, it has the steps reported. */
  int hit;
  cr_assert_lt(e.q[2].index, UINT64_C(1) << 16);
  cr_assert_eq((double)mc_walk_path(&w, e.q[2].index, &hit), e.q[2].value);
  cr_assert_gt(e.q[2].value, 10 * 75.0, "the longest walk is short");

  sq_args sq = {w, 75.0};
  sharc_job_opts o = SHARC_JOB_OPTS_INIT;
  sharc_reduce_spec s = SHARC_REDUCE_SPEC_INIT(SHARC_REDUCE_MEANVAR);
  sharc_reduce_result var;
  o.reduce = &s;
  o.reduce_out = &var;
  o.nreduce = 1;
  o.args = &sq;
  o.args_len = sizeof sq;
  cr_assert_eq(sharc_run(pool, "test_walk_sq", UINT64_C(1) << 16, &o, NULL), 0);
  cr_assert_eq(mc_walk_var_steps_symmetric(&w), 6200.0);
  assert_inside(&var, 6200.0, 5, "variance of steps");

  /* A biased walk: p = 0.45 from 10 of 20. */
  run_model(pool, "walk", "start=10,barrier=20,p=0.45", 4, UINT64_C(1) << 16,
            "guided", &w, &e);
  assert_inside(&e.q[0], mc_walk_mean_steps(&w), 5, "mean steps, p = 0.45");
  assert_inside(&e.q[1], mc_walk_p_barrier(&w), 5, "P(barrier), p = 0.45");
  cr_assert(fabs(mc_walk_p_barrier(&w) - 0.1185) < 1e-3, "%.6f",
            mc_walk_p_barrier(&w));
  sharc_pool_destroy(pool);
}

Test(mc, bad_parameters_are_refused_naming_the_key) {
  char msg[256];
  mc_option_args a;
  mc_walk_args w;
  const mc_model *eu = mc_model_find("european"), *as = mc_model_find("asian"),
                 *wk = mc_model_find("walk");
  cr_assert(eu && as && wk && !mc_model_find("nope"));
  cr_assert_eq(eu->parse("sigma=-1", 1, &a, msg, sizeof msg), SHARC_EINVAL);
  cr_assert(strstr(msg, "sigma"), "%s", msg);
  cr_assert_eq(eu->parse("steps=5", 1, &a, msg, sizeof msg), SHARC_EINVAL);
  cr_assert(strstr(msg, "unknown parameter 'steps'"), "%s", msg);
  cr_assert_eq(as->parse("average=geom,control=1", 1, &a, msg, sizeof msg),
               SHARC_EINVAL);
  cr_assert(strstr(msg, "control"), "%s", msg);
  cr_assert_eq(as->parse("average=median", 1, &a, msg, sizeof msg),
               SHARC_EINVAL);
  cr_assert_eq(wk->parse("start=20,barrier=20", 1, &w, msg, sizeof msg),
               SHARC_EINVAL);
  cr_assert(strstr(msg, "barrier"), "%s", msg);
  cr_assert_eq(wk->parse("p=1", 1, &w, msg, sizeof msg), SHARC_EINVAL);
  cr_assert_eq(as->parse(NULL, 9, &a, msg, sizeof msg), 0);
  cr_assert(a.seed == 9 && a.steps == 12 && a.s0 == 100);
}
