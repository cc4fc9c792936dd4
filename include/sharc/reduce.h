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
 * sharing. Smaller blocks give schedules finer chunks but cost one partial
 * (128 bytes or more) each. The default is the smallest power of two that
 * is at least 1024 and at least n / 65536, raised until the partials take
 * at most 64 MiB: at most 65536 blocks for a plain reduction, about 8 MiB.
 * Powers of two turn the block lookup into a shift.
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
 *   sharc_job_reduce(&opts, &s, &res);        // returns 0: the first one
 *   sharc_run(pool, "k", n, &opts, NULL);     // res.mean, res.var, res.sem */
#ifndef SHARC_REDUCE_H
#define SHARC_REDUCE_H

#include "common.h"

#ifdef __cplusplus
extern "C" {
#endif

struct sharc_job_opts;
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
  SHARC_REDUCE_MEANVAR  /* count, mean and variance (Welford, Chan merge) */
} sharc_reduce_kind;

/* A reduction's declaration. */
typedef struct sharc_reduce_spec {
  sharc_reduce_kind kind;
  unsigned nbins; /* HIST: 1..SHARC_REDUCE_MAX_BINS */
  double lo, hi;  /* HIST: finite, lo < hi */
  uint64_t *bins; /* HIST: nbins counts written after the job (caller's) */
} sharc_reduce_spec;

#define SHARC_REDUCE_SPEC_INIT(kind)                                           \
  { (sharc_reduce_kind)(kind), 0, 0.0, 0.0, NULL }

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

/* Declares a reduction for the job described by o. out must stay valid
 * until sharc_run() returns: it is zeroed when the job starts and filled
 * when sharc_run() returns 0 (on any error it stays zeroed, and HIST bins
 * are left alone). spec is copied; its bins array must stay valid until
 * sharc_run() returns. Returns the reduction's number r (0, 1, ... in
 * declaration order) for the kernel's calls, or SHARC_EINVAL (bad spec) or
 * SHARC_ERANGE (too many). Not thread-safe on one o.
 *
 * A job with reductions takes one of its SHARC_MAX_JOB_ARRAYS array slots
 * (the partials; the kernel does not see it), and its grain becomes the
 * block size: o->reduce_block if set (a multiple of o->grain when that is
 * set too), else the default above rounded up to a multiple of o->grain. */
SHARC_API int sharc_job_reduce(struct sharc_job_opts *o,
                               const sharc_reduce_spec *spec,
                               sharc_reduce_result *out);

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

#ifdef __cplusplus
}
#endif
#endif
