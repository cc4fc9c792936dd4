/* The synthetic app's cost model, for benchmarks that need the total work
 * or the cost of each index (lower bounds, imbalance).
 *
 * Index i costs sharc_synthetic_cost(a, i) iterations of a dependent chain
 * of floating-point additions (one addition per iteration, about 1-2 ns).
 * Every distribution has mean `work` iterations per index:
 *   uniform      every index costs work
 *   exponential  i.i.d. exponential with mean work
 *   pareto       i.i.d. Pareto with shape alpha (> 1) and scale
 *                work * (alpha - 1) / alpha; the tail is cut at 2^20 times
 *                the scale so one index cannot run for hours (this removes
 *                a fraction 2^(-20 alpha) of the mass)
 *   ramp_up      linear from about 0 to about 2 * work over [0, n)
 *   ramp_down    the mirror image: cost(i) = ramp_up cost(n - 1 - i)
 *   hot_band     the 10% of indices in the middle, [lo, lo + n/10) with
 *                lo = (n - n/10) / 2, cost exactly 10x the others, which
 *                cost round(work * 10 / 19) so that the mean stays work
 * Random draws come from Philox4x32-10 keyed by seed with counter i: costs
 * are a pure function of (args, i), the same in every process. */
#ifndef SHARC_KERNELS_SYNTHETIC_H
#define SHARC_KERNELS_SYNTHETIC_H

#include <stddef.h>
#include <stdint.h>

typedef enum {
  SHARC_SYNTH_UNIFORM = 0,
  SHARC_SYNTH_EXPONENTIAL,
  SHARC_SYNTH_PARETO,
  SHARC_SYNTH_RAMP_UP,
  SHARC_SYNTH_RAMP_DOWN,
  SHARC_SYNTH_HOT_BAND,
  SHARC_SYNTH_COUNT
} sharc_synthetic_dist;

/* No worker is slow. */
#define SHARC_SYNTHETIC_NO_SLOW UINT64_MAX

/* The job's argument bytes, as the kernel receives them. Zero the struct
 * before filling it (padding travels too), or use
 * sharc_synthetic_args_parse(). */
typedef struct sharc_synthetic_args {
  uint64_t n;    /* index count: ramps and the band are laid over [0, n) */
  unsigned dist; /* a sharc_synthetic_dist */
  uint64_t work; /* mean iterations per index */
  double alpha;  /* Pareto shape, > 1 */
  uint64_t seed;
  uint64_t slow; /* this worker repeats every chain (half speed), or
                    SHARC_SYNTHETIC_NO_SLOW */
  uint64_t abort_at; /* the worker that reaches this index aborts (a poison
                        index, for fault-policy tests), or UINT64_MAX */
  uint64_t hang_at;  /* the worker that reaches this index hangs (for
                        timeout tests), or UINT64_MAX */
} sharc_synthetic_args;

/* The distribution's parameter name ("pareto"), or NULL. */
const char *sharc_synthetic_dist_name(unsigned dist);

/* Fills *out from "dist=D,work=W,alpha=A,seed=S,slow=K|none,abort_at=I|none,
 * hang_at=I|none"
 * (NULL or ""
 * gives the defaults: uniform, 1000, 1.5, 42, none) for n indices.
 * Returns 0, or SHARC_EINVAL with a message naming the key. */
int sharc_synthetic_args_parse(const char *params, uint64_t n,
                               sharc_synthetic_args *out, char *msg,
                               size_t msglen);

/* Iterations index i costs (i < a->n). Thread-safe; no allocation. */
uint64_t sharc_synthetic_cost(const sharc_synthetic_args *a, uint64_t i);

/* The sum of the costs over [0, a->n): the job's total work. */
uint64_t sharc_synthetic_total(const sharc_synthetic_args *a);

#endif
