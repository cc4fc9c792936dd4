/* Monte Carlo kernels: European and Asian calls under GBM, and a random
 * walk to absorption; their closed forms, parameters and the table the
 * `sharc mc` command runs them from. Written against the public API only. */
#include <stdio.h>
#include <string.h>

#include "apps.h"
#include "mc.h"

/* --- closed forms -------------------------------------------------------- */

static double norm_cdf(double x) { return 0.5 * erfc(-x / sqrt(2.0)); }

double mc_black_scholes_call(double s0, double k, double r, double sigma,
                             double t) {
  double sd = sigma * sqrt(t);
  double d1 = (log(s0 / k) + (r + 0.5 * sigma * sigma) * t) / sd;
  return s0 * norm_cdf(d1) - k * exp(-r * t) * norm_cdf(d1 - sd);
}

/* log G is normal with mean log s0 + (r - sigma^2/2) t (m+1)/(2m) and
 * variance sigma^2 t (m+1)(2m+1)/(6m^2): the mean of t_j = t j/m and
 * sum_ij min(t_i, t_j) / m^2. As m grows these tend to 1/2 and 1/3 of
 * (r - sigma^2/2) t and sigma^2 t, Kemna & Vorst's continuous case. */
double mc_geometric_asian_call(double s0, double k, double r, double sigma,
                               double t, uint64_t m) {
  double fm = (double)m;
  double mean_f = m ? (fm + 1) / (2 * fm) : 0.5;
  double var_f = m ? (fm + 1) * (2 * fm + 1) / (6 * fm * fm) : 1.0 / 3.0;
  double mu = log(s0) + (r - 0.5 * sigma * sigma) * t * mean_f;
  double sg = sigma * sqrt(t * var_f);
  double d2 = (mu - log(k)) / sg;
  return exp(-r * t) *
         (exp(mu + 0.5 * sg * sg) * norm_cdf(d2 + sg) - k * norm_cdf(d2));
}

double mc_walk_p_barrier(const mc_walk_args *a) {
  double k = (double)a->start, n = (double)a->barrier;
  if (a->p == 0.5)
    return k / n;
  double rho = (1 - a->p) / a->p;
  return (1 - pow(rho, k)) / (1 - pow(rho, n));
}

double mc_walk_mean_steps(const mc_walk_args *a) {
  double k = (double)a->start, n = (double)a->barrier;
  if (a->p == 0.5)
    return k * (n - k);
  double q = 1 - a->p;
  return k / (q - a->p) - n / (q - a->p) * mc_walk_p_barrier(a);
}

double mc_walk_var_steps_symmetric(const mc_walk_args *a) {
  double k = (double)a->start, n = (double)a->barrier;
  return k * (n - k) / 3 * ((n - k) * (n - k) + k * k - 2);
}

/* --- kernels ------------------------------------------------------------- */

/* Hot path: the paths of one reduction block into a local Welford
 * accumulator, merged into the block's partial once (sharc/reduce.h). */
static int welford_blocks(const sharc_task *t, uint64_t begin, uint64_t end,
                          const mc_option_args *a,
                          double (*path)(const mc_option_args *, uint64_t)) {
  uint64_t block = sharc_task_reduce_block(t);
  if (block == 0)
    return SHARC_EINVAL;
  for (uint64_t lo = begin; lo < end;) {
    uint64_t hi = (lo / block + 1) * block;
    hi = hi < end ? hi : end;
    sharc_welford w = SHARC_WELFORD_INIT;
    for (uint64_t i = lo; i < hi; i++)
      sharc_welford_add(&w, path(a, i));
    int rc = sharc_task_welford_merge(t, 0, lo, &w);
    if (rc)
      return rc;
    lo = hi;
  }
  return 0;
}

static double european_path(const mc_option_args *a, uint64_t i) {
  return mc_european_path(a, i);
}

static double asian_path(const mc_option_args *a, uint64_t i) {
  return mc_asian_path(a, i);
}

static int european_kernel(const sharc_task *t, uint64_t begin, uint64_t end) {
  mc_option_args a;
  if (sharc_app_task_args(t, &a, sizeof a))
    return SHARC_EINVAL;
  return welford_blocks(t, begin, end, &a, european_path);
}
SHARC_KERNEL_NAMED("mc_european", european_kernel)

static int asian_kernel(const sharc_task *t, uint64_t begin, uint64_t end) {
  mc_option_args a;
  if (sharc_app_task_args(t, &a, sizeof a) || a.steps == 0)
    return SHARC_EINVAL;
  return welford_blocks(t, begin, end, &a, asian_path);
}
SHARC_KERNEL_NAMED("mc_asian", asian_kernel)

static int walk_kernel(const sharc_task *t, uint64_t begin, uint64_t end) {
  mc_walk_args a;
  if (sharc_app_task_args(t, &a, sizeof a))
    return SHARC_EINVAL;
  for (uint64_t i = begin; i < end; i++) {
    int at_barrier;
    double steps = (double)mc_walk_path(&a, i, &at_barrier);
    int rc = sharc_task_welford(t, 0, i, steps);
    rc = rc ? rc : sharc_task_welford(t, 1, i, at_barrier);
    rc = rc ? rc : sharc_task_minmax(t, 2, i, steps);
    if (rc)
      return rc;
  }
  return 0;
}
SHARC_KERNEL_NAMED("mc_walk", walk_kernel)

/* --- parameters ---------------------------------------------------------- */

static int option_parse(const char *name, int asian, const char *text,
                        uint64_t seed, void *out, char *msg, size_t msglen) {
  static const char *const averages[] = {"arith", "geom", NULL};
  mc_option_args a = {seed, 100, 100, 0.05, 0.2, 1, 1, MC_AVG_ARITH, 0, 0};
  if (asian)
    a.steps = 12;
  uint64_t control = 0;
  unsigned average = MC_AVG_ARITH;
  const sharc_app_param spec[] = {
      {"s0", SHARC_APP_PARAM_F64, &a.s0, 1e-6, 1e9, NULL, NULL},
      {"k", SHARC_APP_PARAM_F64, &a.k, 1e-6, 1e9, NULL, NULL},
      {"r", SHARC_APP_PARAM_F64, &a.r, -1, 1, NULL, NULL},
      {"sigma", SHARC_APP_PARAM_F64, &a.sigma, 1e-4, 5, NULL, NULL},
      {"t", SHARC_APP_PARAM_F64, &a.t, 1e-4, 100, NULL, NULL},
      {"steps", SHARC_APP_PARAM_U64, &a.steps, 1, 100000, NULL, NULL},
      {"average", SHARC_APP_PARAM_CHOICE, &average, 0, 0, averages, NULL},
      {"control", SHARC_APP_PARAM_U64, &control, 0, 1, NULL, NULL}};
  int rc = sharc_app_params_parse(name, text, spec, asian ? 8 : 5, msg, msglen);
  if (rc)
    return rc;
  a.average = average;
  a.control = (uint32_t)control;
  if (a.control && a.average != MC_AVG_ARITH) {
    sharc_app_msg(msg, msglen,
                  "%s: control=1 needs average=arith (the control is the "
                  "geometric average)",
                  name);
    return SHARC_EINVAL;
  }
  if (a.control)
    a.control_price =
        mc_geometric_asian_call(a.s0, a.k, a.r, a.sigma, a.t, a.steps);
  memcpy(out, &a, sizeof a);
  return 0;
}

static int european_parse(const char *text, uint64_t seed, void *out, char *msg,
                          size_t msglen) {
  return option_parse("european", 0, text, seed, out, msg, msglen);
}

static int asian_parse(const char *text, uint64_t seed, void *out, char *msg,
                       size_t msglen) {
  return option_parse("asian", 1, text, seed, out, msg, msglen);
}

static int walk_parse(const char *text, uint64_t seed, void *out, char *msg,
                      size_t msglen) {
  mc_walk_args a = {seed, 10, 40, 0.5};
  const sharc_app_param spec[] = {
      {"start", SHARC_APP_PARAM_U64, &a.start, 1, 9999, NULL, NULL},
      {"barrier", SHARC_APP_PARAM_U64, &a.barrier, 2, 10000, NULL, NULL},
      {"p", SHARC_APP_PARAM_F64, &a.p, 0.01, 0.99, NULL, NULL}};
  int rc = sharc_app_params_parse("walk", text, spec, 3, msg, msglen);
  if (rc)
    return rc;
  if (a.start >= a.barrier) {
    sharc_app_msg(msg, msglen,
                  "walk: start (%llu) must lie below barrier "
                  "(%llu)",
                  (unsigned long long)a.start, (unsigned long long)a.barrier);
    return SHARC_EINVAL;
  }
  memcpy(out, &a, sizeof a);
  return 0;
}

/* --- references and descriptions ----------------------------------------- */

static int european_ref(const void *args, unsigned q, double *v,
                        const char **source) {
  const mc_option_args *a = args;
  if (q != 0)
    return 0;
  *v = mc_black_scholes_call(a->s0, a->k, a->r, a->sigma, a->t);
  *source = "Black-Scholes";
  return 1;
}

static int asian_ref(const void *args, unsigned q, double *v,
                     const char **source) {
  const mc_option_args *a = args;
  if (q != 0 || a->average != MC_AVG_GEOM)
    return 0;
  *v = mc_geometric_asian_call(a->s0, a->k, a->r, a->sigma, a->t, a->steps);
  *source = "geometric closed form";
  return 1;
}

static int walk_ref(const void *args, unsigned q, double *v,
                    const char **source) {
  const mc_walk_args *a = args;
  *source = "gambler's ruin";
  if (q == 0)
    *v = mc_walk_mean_steps(a);
  else if (q == 1)
    *v = mc_walk_p_barrier(a);
  return q <= 1;
}

static void option_describe(const void *args, char *buf, size_t len) {
  const mc_option_args *a = args;
  snprintf(buf, len, "S0=%g K=%g r=%g sigma=%g T=%g", a->s0, a->k, a->r,
           a->sigma, a->t);
}

static void asian_describe(const void *args, char *buf, size_t len) {
  const mc_option_args *a = args;
  snprintf(buf, len, "S0=%g K=%g r=%g sigma=%g T=%g steps=%llu average=%s%s",
           a->s0, a->k, a->r, a->sigma, a->t, (unsigned long long)a->steps,
           a->average == MC_AVG_GEOM ? "geom" : "arith",
           a->control ? " (geometric control variate)" : "");
}

static void walk_describe(const void *args, char *buf, size_t len) {
  const mc_walk_args *a = args;
  snprintf(buf, len, "start=%llu barrier=%llu p=%g",
           (unsigned long long)a->start, (unsigned long long)a->barrier, a->p);
}

/* --- the table ----------------------------------------------------------- */

static const mc_model european = {
    "european",
    "mc_european",
    "European call under GBM: discounted mean payoff",
    "s0=100,k=100,r=0.05,sigma=0.2,t=1",
    UINT64_C(1) << 20,
    sizeof(mc_option_args),
    1,
    {"price"},
    0,
    european_parse,
    european_ref,
    option_describe};

static const mc_model asian = {
    "asian",
    "mc_asian",
    "arithmetic- or geometric-average Asian call under GBM",
    "s0=100,k=100,r=0.05,sigma=0.2,t=1,steps=12,average=arith|geom,control=0|1",
    UINT64_C(1) << 18,
    sizeof(mc_option_args),
    1,
    {"price"},
    0,
    asian_parse,
    asian_ref,
    asian_describe};

static const mc_model walk = {"walk",
                              "mc_walk",
                              "random walk from start to absorption at 0 or "
                              "barrier (cost varies per path)",
                              "start=10,barrier=40,p=0.5",
                              UINT64_C(1) << 16,
                              sizeof(mc_walk_args),
                              2,
                              {"steps", "P(barrier)"},
                              1,
                              walk_parse,
                              walk_ref,
                              walk_describe};

const mc_model *const mc_models[] = {&european, &asian, &walk, NULL};

const mc_model *mc_model_find(const char *name) {
  for (unsigned i = 0; name && mc_models[i]; i++)
    if (strcmp(mc_models[i]->name, name) == 0)
      return mc_models[i];
  return NULL;
}

int mc_model_declare(const mc_model *m, sharc_job_opts *o,
                     sharc_reduce_spec *specs, sharc_reduce_result *results) {
  const sharc_reduce_spec mv = SHARC_REDUCE_SPEC_INIT(SHARC_REDUCE_MEANVAR);
  const sharc_reduce_spec mx = SHARC_REDUCE_SPEC_INIT(SHARC_REDUCE_MAX);
  if (m->nquant > MC_MAX_QUANTITIES)
    return SHARC_ERANGE;
  for (unsigned q = 0; q < m->nquant; q++)
    specs[q] = mv;
  if (m->longest)
    specs[m->nquant] = mx;
  o->reduce = specs;
  o->reduce_out = results;
  o->nreduce = m->nquant + (m->longest ? 1 : 0);
  return 0;
}
