/* sharc: deterministic reductions declared per job.
 *
 * A job may declare up to SHARC_MAX_JOB_REDUCTIONS reductions; the kernel
 * adds values for index i with sharc_task_reduce() (or the typed helpers),
 * and sharc_run() writes each reduction's result where its declaration
 * asked. The result is bit-identical for every worker count and every
 * schedule, also in floating point:
 *
 *   - the index space is cut into fixed blocks of `block` indices (the
 *     job's grain becomes the block, so a chunk always holds whole blocks
 *     and every block is done by exactly one kernel call);
 *   - each block has its own partial in a shared, 128-byte aligned slot,
 *     reset when the chunk holding it begins (a chunk done again starts
 *     clean), and updated in the order the kernel adds values;
 *   - after the job the coordinator combines the block partials in a fixed
 *     pairwise tree over block order: sums pairwise, means and variances by
 *     Chan's merge of Welford partials, minima and maxima keeping the lowest
 *     index on ties, counts and histogram bins as exact integers.
 *
 * So values must reach a block's partial in an order that depends only on
 * the indices (the natural `for (i = begin; i < end; i++)` loop does). The
 * kernel may add any number of values per index, or none.
 *
 * Block size trade-off: blocks are the unit of determinism and of work
 * sharing (a chunk holds whole blocks, so a job of B blocks can keep at
 * most B workers busy). Smaller blocks give schedules finer chunks but cost
 * one partial (128 bytes or more) each. The default is the smallest power
 * of two that cuts the job into at most 16384 blocks, raised until the
 * partials take at most 64 MiB: a block of 1 index up to n = 16384 (a job
 * of 256 expensive indices spreads over any number of workers), and more
 * than 8192 blocks above, several per worker for any machine's worker
 * count. It depends on n and the partial's size only, never on the worker
 * count, because the block decides the bits of floating-point results.
 * Powers of two turn the block lookup into a shift.
 *
 * What is reproducible: the same kernel over the same n with the same
 * block (the default for that n, or o->reduce_block) gives the same bits
 * for any worker count, schedule, and retries of failed chunks. Another
 * block regroups the sums and may change the last bits. The report advises
 * (sharc_reduce_advice()) when the block left too few blocks to balance.
 *
 * Cost: the partials are one shared array the library makes and hands to
 * the workers like any job array; the pool keeps it for later jobs while it
 * is at most 64 MiB, so after the first job with reductions the next ones
 * pay no system call for it. Per value: one library call, a range check
 * and the update (a division for MEANVAR).
 *
 * The partials live in shared memory, written by workers: the coordinator
 * reads them as untrusted input. Every block must have been reset during
 * this job, counts must agree and indices must lie in their block, or
 * sharc_run() fails with SHARC_ECORRUPT naming the block.
 *
 *   static int k(const sharc_task *t, uint64_t begin, uint64_t end) {
 *     for (uint64_t i = begin; i < end; i++)
 *       sharc_task_reduce(t, 0, i, f(i));    // reduction 0, index i
 *     return 0;
 *   }
 *   ...
 *   sharc_reduce_spec s = SHARC_REDUCE_SPEC_INIT(SHARC_REDUCE_MEANVAR);
 *   sharc_reduce_result res;
 *   opts.reduce = &s;                         // reduction 0
 *   opts.reduce_out = &res;
 *   opts.nreduce = 1;
 *   sharc_run(pool, "k", n, &opts, NULL);     // res.mean, res.var, res.sem */
#ifndef SHARC_REDUCE_H
#define SHARC_REDUCE_H

#include "common.h"

#ifdef __cplusplus
extern "C" {
#endif

#ifndef SHARC__TASK_TYPEDEF /* C99 and C++98 reject a repeated typedef */
#define SHARC__TASK_TYPEDEF
typedef struct sharc_task sharc_task;
#endif

#define SHARC_MAX_JOB_REDUCTIONS 8
/* Histogram bins, at most. */
#define SHARC_REDUCE_MAX_BINS 4096
/* The two-sided 95% quantile of the normal distribution: a 95% confidence
 * interval for a mean is mean +- SHARC_Z95 * sem. */
#define SHARC_Z95 1.959963984540054

typedef enum {
  SHARC_REDUCE_SUM = 1, /* sum of the values, pairwise over blocks */
  SHARC_REDUCE_MIN,     /* smallest value, and the lowest index holding it */
  SHARC_REDUCE_MAX,     /* largest value, and the lowest index holding it */
  SHARC_REDUCE_COUNT,   /* number of values added that are not zero */
  SHARC_REDUCE_HIST,    /* counts in nbins equal bins over [lo, hi) */
  SHARC_REDUCE_MEANVAR, /* count, mean and variance (Welford, Chan merge) */
  SHARC_REDUCE_CUSTOM   /* a fixed-size state with the user's combine */
} sharc_reduce_kind;

/* A reduction's declaration. */
typedef struct sharc_reduce_spec {
  sharc_reduce_kind kind;
  unsigned nbins; /* HIST: 1..SHARC_REDUCE_MAX_BINS */
  double lo, hi;  /* HIST: finite, lo < hi */
  uint64_t *bins; /* HIST: nbins counts written after the job (caller's) */
  /* Vectors (SUM, COUNT): width elements reduced side by side, 0 or 1 for
   * a scalar, at most SHARC_REDUCE_MAX_WIDTH. With width > 1 the results
   * go to sums (SUM) or counts (COUNT), width elements each (caller's). */
  unsigned width;
  double *sums;
  uint64_t *counts;
  /* CUSTOM: the state and its combine (below); must stay valid until
   * sharc_run() returns. */
  const struct sharc_reduce_custom *custom;
} sharc_reduce_spec;

#ifndef __cplusplus
#define SHARC_REDUCE_SPEC_INIT(k) {.kind = (sharc_reduce_kind)(k)}
#else /* C++17 has no designated initializers: the same, by position */
#define SHARC_REDUCE_SPEC_INIT(k)                                              \
  { (sharc_reduce_kind)(k), 0, 0.0, 0.0, NULL, 0, NULL, NULL, NULL }
#endif

/* What a reduction gave; fields that do not apply to its kind are 0.
 * NaN values: counted in `count`; a sum or mean they reach is NaN; MIN and
 * MAX skip them; HIST counts them in `nan`. */
typedef struct sharc_reduce_result {
  sharc_reduce_kind kind;
  uint64_t count; /* values added (COUNT: those not zero) */
  double sum;     /* SUM */
  double value;   /* MIN, MAX: the extreme; NaN when no value qualified */
  uint64_t index; /* MIN, MAX: its lowest index; UINT64_MAX when none */
  double mean;    /* MEANVAR */
  double m2;      /* MEANVAR: sum of squared deviations from the mean */
  double var;     /* MEANVAR: sample variance m2 / (count - 1); 0 if < 2 */
  double sem;     /* MEANVAR: standard error of the mean sqrt(var / count) */
  uint64_t under, over, nan; /* HIST: below lo, at or above hi, NaN */
} sharc_reduce_result;

/* Declaring reductions: sharc_job_opts.reduce points to nreduce
 * declarations, reduce_out to as many results; reduction r's result goes
 * to reduce_out[r]. Each result is zeroed when the job starts and filled
 * when the job succeeds (on any error it stays zeroed, and HIST bins are
 * left alone). A bad declaration fails the job with SHARC_EINVAL naming
 * its number.
 *
 * A job with reductions takes one of its SHARC_MAX_JOB_ARRAYS array slots
 * (the partials; the kernel does not see it), and its grain becomes the
 * block size: o->reduce_block if set (a multiple of o->grain when that is
 * set too), else the default above rounded up to a multiple of o->grain. */

/* Adds value x for index i to reduction r of the running job: SUM adds x,
 * MIN and MAX compare it, COUNT counts it when x != 0, HIST bins it,
 * MEANVAR takes it into the Welford mean and variance. i must lie in the
 * range of the current kernel call, which owns its blocks. Returns 0, or
 * SHARC_ERANGE (i outside the call's range: nothing is added) or
 * SHARC_EINVAL (no reduction r). Hot path: no system call, lock or
 * allocation; call it only from the kernel, on its own task. */
SHARC_API int sharc_task_reduce(const sharc_task *t, unsigned r, uint64_t i,
                                double x);

/* The same, also checking that reduction r has the kind the name says
 * (SHARC_EINVAL otherwise): sharc_task_sum (SUM), sharc_task_minmax (MIN
 * or MAX), sharc_task_hist (HIST), sharc_task_welford (MEANVAR).
 * sharc_task_count adds k to a COUNT reduction. */
SHARC_API int sharc_task_sum(const sharc_task *t, unsigned r, uint64_t i,
                             double x);
SHARC_API int sharc_task_minmax(const sharc_task *t, unsigned r, uint64_t i,
                                double x);
SHARC_API int sharc_task_hist(const sharc_task *t, unsigned r, uint64_t i,
                              double x);
SHARC_API int sharc_task_welford(const sharc_task *t, unsigned r, uint64_t i,
                                 double x);
SHARC_API int sharc_task_count(const sharc_task *t, unsigned r, uint64_t i,
                               uint64_t k);

/* The fast way for hot kernels: accumulate one block's values in a local
 * Welford accumulator (inline, in registers) and merge it into the block's
 * partial once. Chunks always hold whole blocks, so a kernel that walks its
 * chunk block by block merges each block into an empty partial, and the
 * result has exactly the bits of calling sharc_task_welford() per value:
 *
 *   uint64_t B = sharc_task_reduce_block(t);
 *   for (uint64_t lo = begin; lo < end;) {
 *     uint64_t hi = (lo / B + 1) * B < end ? (lo / B + 1) * B : end;
 *     sharc_welford w = SHARC_WELFORD_INIT;
 *     for (uint64_t i = lo; i < hi; i++)
 *       sharc_welford_add(&w, value(i));
 *     int rc = sharc_task_welford_merge(t, 0, lo, &w);
 *     ...
 *     lo = hi;
 *   }
 */
typedef struct sharc_welford {
  uint64_t count;
  double mean, m2;
} sharc_welford;
#define SHARC_WELFORD_INIT {0, 0.0, 0.0}

static inline void sharc_welford_add(sharc_welford *w, double x) {
  w->count++;
  double delta = x - w->mean;
  w->mean += delta / (double)w->count;
  w->m2 += delta * (x - w->mean);
}

/* Merges w (values of indices in the block holding index i, in index order)
 * into reduction r's partial for that block: a copy when the partial is
 * empty, Chan's formula otherwise. i must lie in the current chunk. Returns
 * 0, SHARC_EINVAL (no such MEANVAR reduction) or SHARC_ERANGE. */
SHARC_API int sharc_task_welford_merge(const sharc_task *t, unsigned r,
                                       uint64_t i, const sharc_welford *w);
/* The job's reduction block size (indices per partial), or 0 when the job
 * declared no reduction. */
SHARC_API uint64_t sharc_task_reduce_block(const sharc_task *t);

/* The block size the library would choose for a job of n indices whose
 * partials take `partial_bytes` each (see above). Pure function. */
SHARC_API uint64_t sharc_reduce_default_block(uint64_t n,
                                              uint64_t partial_bytes);

/* --- vectors, bins and user-defined states ------------------------------
 *
 * A vector SUM or COUNT reduces `width` elements in one declaration (NPB
 * EP's ten annulus counts are one COUNT of width 10): element j of the
 * result is reduced exactly as a scalar of its kind would be, so a vector
 * gives the same bits as width scalar declarations fed the same values. */
#define SHARC_REDUCE_MAX_WIDTH 4096
/* A CUSTOM state takes at most this many bytes. */
#define SHARC_REDUCE_MAX_STATE 32768

/* Vector results are written only when sharc_run() returns 0.
 *
 * Adds x[0..width) to the elements of vector SUM r for index i (one call
 * counts as one value in result.count; result.sum stays 0 for width > 1).
 * Returns 0, SHARC_EINVAL (no such SUM) or SHARC_ERANGE (i outside the call's
 * range: nothing is added). */
SHARC_API int sharc_task_sum_vec(const sharc_task *t, unsigned r, uint64_t i,
                                 const double *x);
/* Adds x to element j of SUM r (SHARC_ERANGE also when j >= width). */
SHARC_API int sharc_task_sum_at(const sharc_task *t, unsigned r, uint64_t i,
                                unsigned j, double x);
/* Adds k[0..width) to the elements of COUNT r, or k to its element j. A
 * scalar COUNT has width 1. result.count is the total over elements. */
SHARC_API int sharc_task_count_vec(const sharc_task *t, unsigned r, uint64_t i,
                                   const uint64_t *k);
SHARC_API int sharc_task_count_at(const sharc_task *t, unsigned r, uint64_t i,
                                  unsigned j, uint64_t k);
/* Histograms whose bins the kernel computes itself: adds k values to bin b
 * of HIST r (b < nbins, else SHARC_ERANGE), or merges a block's counts
 * bins[0..nbins) at once. They count in result.count like k values. */
SHARC_API int sharc_task_hist_add(const sharc_task *t, unsigned r, uint64_t i,
                                  unsigned b, uint64_t k);
SHARC_API int sharc_task_hist_merge(const sharc_task *t, unsigned r, uint64_t i,
                                    const uint64_t *bins);

/* A user-defined reduction over a fixed-size state (a struct of the
 * user's), declared with a spec of kind SHARC_REDUCE_CUSTOM whose `custom`
 * points here.
 *
 * In the workers, every block's state starts as a copy of `identity` (also
 * when a chunk is done again), and the kernel updates the state of the
 * block holding index i in place through sharc_task_reduce_state(), in an
 * order that depends only on the indices (as for every reduction). After
 * the job, in the thread that called sharc_run(), the library copies
 * `identity` into an accumulator `acc` and calls
 *
 *   combine(acc, state of block 0, arg); combine(acc, state of block 1, arg);
 *   ... up to the last block, exactly once each, in block order,
 *
 * then copies acc to `result` (only when the job and every combine
 * succeeded). What this guarantees: the result depends only on n, the
 * block size, and what the kernel did per block -- never on the worker
 * count, the schedule or retries -- so it is bit-identical for any of
 * them even when combine is not associative or commutative (floating
 * point). It is the same for another block size only if combine is
 * associative with identity as its neutral element and the kernel's own
 * updates are that combine.
 *
 * The block states were written by workers: combine must treat them as
 * untrusted (check indices before using them) and return nonzero for one
 * that cannot be right; the job then fails with SHARC_ECORRUPT naming the
 * block. result.count is the number of blocks combined. */
typedef int (*sharc_reduce_combine_fn)(void *acc, const void *block_state,
                                       void *arg);
typedef struct sharc_reduce_custom {
  size_t size;          /* bytes of the state: 1..SHARC_REDUCE_MAX_STATE */
  const void *identity; /* size bytes: every block's initial state */
  sharc_reduce_combine_fn combine;
  void *arg;    /* passed to combine */
  void *result; /* size bytes, written after the job (caller's) */
} sharc_reduce_custom;

/* The state of CUSTOM reduction r for the block holding index i (aligned
 * to 16 bytes), for the kernel to update; NULL when r is not a CUSTOM
 * reduction of the job or i lies outside the call's range. Hot path. */
SHARC_API void *sharc_task_reduce_state(const sharc_task *t, unsigned r,
                                        uint64_t i);

/* Balance: the block is also the unit of work sharing (a chunk holds whole
 * blocks). The rule behind the report's advice: for a job of n >= workers
 * indices in blocks of `block` on workers >= 2 workers whose busy times
 * differed by imbalance_pct, the block limited balance when there were
 * fewer blocks than workers, or fewer than 4 blocks per worker and more
 * than 10% imbalance. Then writes a sentence saying so to buf (len bytes)
 * and returns 1; otherwise writes "" and returns 0. Pure function. */
SHARC_API int sharc_reduce_advice(uint64_t n, uint64_t block, unsigned workers,
                                  double imbalance_pct, char *buf, size_t len);

#ifdef __cplusplus
}
#endif
#endif
