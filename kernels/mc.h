/* Monte Carlo models: option prices under geometric Brownian motion and a
 * random walk to absorption. Each path is a pure function of (seed, path
 * index) through sharc/rng.h; its value goes into a deterministic Welford
 * reduction (sharc/reduce.h), so estimates and their confidence intervals
 * are bit-identical for every worker count and schedule.
 *
 * The per-path functions are inline here so that the kernels (mc.c), the
 * tests and the benchmarks (OpenMP, sequential) all run the same code. */
#ifndef SHARC_KERNELS_MC_H
#define SHARC_KERNELS_MC_H

#include <math.h>
#include <stddef.h>
#include <stdint.h>

#include <sharc.h>

/* --- options under GBM: dS = r S dt + sigma S dW ------------------------- */

enum { MC_AVG_ARITH = 0, MC_AVG_GEOM = 1 };

/* Argument bytes of the "mc_european" and "mc_asian" kernels. */
typedef struct mc_option_args {
  uint64_t seed;
  double s0, k, r, sigma, t; /* spot, strike, rate, volatility, maturity */
  uint64_t steps;            /* Asian: fixings at t * j / steps, j = 1..steps */
  uint32_t average;          /* Asian: MC_AVG_ARITH or MC_AVG_GEOM */
  uint32_t control;          /* Asian arithmetic: 1 = geometric control */
  double control_price;      /* the control's exact price (set by setup) */
} mc_option_args;

/* The discounted payoff of European call path i: S_T from one normal. */
static inline double mc_european_path(const mc_option_args *a, uint64_t i) {
  sharc_rng rng = sharc_rng_at(a->seed, 0, i);
  double z = sharc_rng_normal(&rng);
  double vol = a->sigma * sqrt(a->t);
  double st = a->s0 * exp((a->r - 0.5 * a->sigma * a->sigma) * a->t + vol * z);
  double pay = st > a->k ? st - a->k : 0.0;
  return exp(-a->r * a->t) * pay;
}

/* Asian call path i: `steps` log-normal increments; the discounted payoff
 * of the arithmetic or geometric average. With a control, the arithmetic
 * payoff minus the geometric one plus the geometric price: the same mean,
 * a far smaller variance. */
static inline double mc_asian_path(const mc_option_args *a, uint64_t i) {
  sharc_rng rng = sharc_rng_at(a->seed, 0, i);
  double dt = a->t / (double)a->steps;
  double drift = (a->r - 0.5 * a->sigma * a->sigma) * dt;
  double vol = a->sigma * sqrt(dt);
  double logs = log(a->s0), sum = 0.0, sumlog = 0.0;
  for (uint64_t j = 0; j < a->steps; j++) {
    logs += drift + vol * sharc_rng_normal(&rng);
    sum += exp(logs);
    sumlog += logs;
  }
  double disc = exp(-a->r * a->t);
  double arith = sum / (double)a->steps;
  double geom = exp(sumlog / (double)a->steps);
  double pa = arith > a->k ? arith - a->k : 0.0;
  double pg = geom > a->k ? geom - a->k : 0.0;
  if (a->average == MC_AVG_GEOM)
    return disc * pg;
  if (a->control)
    return disc * (pa - pg) + a->control_price;
  return disc * pa;
}

/* Black-Scholes price of a European call. */
double mc_black_scholes_call(double s0, double k, double r, double sigma,
                             double t);

/* Exact price of a call on the geometric average of S at t * j / m,
 * j = 1..m (the log of the average is normal). m = 0: continuous averaging
 * over [0, t], the Kemna-Vorst (1990) formula. */
double mc_geometric_asian_call(double s0, double k, double r, double sigma,
                               double t, uint64_t m);

/* --- a random walk to absorption ----------------------------------------- */

/* Argument bytes of the "mc_walk" kernel: a walk from `start` that steps +1
 * with probability p and -1 otherwise until it reaches 0 or `barrier`. */
typedef struct mc_walk_args {
  uint64_t seed;
  uint64_t start, barrier; /* 0 < start < barrier */
  double p;                /* (0, 1) */
} mc_walk_args;

/* A walk stops after this many steps even unabsorbed: one stream holds
 * 2^34 words. Far beyond any barrier the tool accepts. */
#define MC_WALK_MAX_STEPS (UINT64_C(1) << 34)

/* Walk i: its number of steps, and whether it ended at the barrier. Costs
 * vary widely from path to path (the duration has an exponential tail). */
static inline uint64_t mc_walk_path(const mc_walk_args *a, uint64_t i,
                                    int *at_barrier) {
  sharc_rng rng = sharc_rng_at(a->seed, 0, i);
  uint64_t up = (uint64_t)(a->p * 4294967296.0); /* P(word < up) = p */
  uint64_t pos = a->start, steps = 0;
  while (pos != 0 && pos != a->barrier && steps < MC_WALK_MAX_STEPS) {
    pos = sharc_rng_u32(&rng) < up ? pos + 1 : pos - 1;
    steps++;
  }
  *at_barrier = pos == a->barrier;
  return steps;
}

/* Exact P(absorbed at the barrier) and E[steps] (gambler's ruin), and for
 * p = 1/2 the variance of the steps, start (barrier - start) / 3 *
 * ((barrier - start)^2 + start^2 - 2). */
double mc_walk_p_barrier(const mc_walk_args *a);
double mc_walk_mean_steps(const mc_walk_args *a);
double mc_walk_var_steps_symmetric(const mc_walk_args *a);

/* --- the models as the tool runs them ------------------------------------ */

#define MC_MAX_QUANTITIES 3

typedef struct mc_model {
  const char *name;    /* `sharc mc NAME` */
  const char *kernel;  /* the registered kernel */
  const char *summary; /* one line for --help */
  const char *params;  /* its -p KEY=VALUE parameters, for --help */
  uint64_t default_paths;
  size_t args_size;
  /* Quantities the kernel reduces, reduction r = quantity r (MEANVAR); the
   * first is the estimate. `longest`: reduction nquant is a MAX of the
   * per-path cost (walk steps), reported with the path holding it. */
  unsigned nquant;
  const char *quantity[MC_MAX_QUANTITIES];
  int longest;
  /* Fills args (args_size bytes) from defaults, seed and text
   * ("k=v,..."; NULL keeps the defaults). Returns 0 or SHARC_EINVAL with
   * a message naming the key. */
  int (*parse)(const char *text, uint64_t seed, void *args, char *msg,
               size_t msglen);
  /* The exact value of quantity q, if known: returns 1 and sets *value and
   * *source ("Black-Scholes"); 0 when there is none. */
  int (*reference)(const void *args, unsigned q, double *value,
                   const char **source);
  /* One line describing the parameters. */
  void (*describe)(const void *args, char *buf, size_t len);
} mc_model;

/* The models, NULL-terminated, and the one named name (or NULL). */
extern const mc_model *const mc_models[];
const mc_model *mc_model_find(const char *name);

/* Declares the model's reductions on o: results[0..nquant) are MEANVAR,
 * results[nquant] the MAX when `longest`. specs and results hold
 * MC_MAX_QUANTITIES + 1 each and outlive the job. Returns 0 or
 * SHARC_ERANGE. */
int mc_model_declare(const mc_model *m, sharc_job_opts *o,
                     sharc_reduce_spec *specs, sharc_reduce_result *results);

#endif
