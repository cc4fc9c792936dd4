/* Internal: deterministic reductions (reduce.c).
 *
 * The job's partials are one shared array, posted as the job's last array:
 * block k of `block` indices owns bytes [k * stride, (k + 1) * stride), a
 * multiple of 128 bytes so that no two blocks share a cache line pair. A
 * block's partial starts with a header (the job's stamp, written when the
 * block is reset) followed by each reduction's state at its offset. One
 * more block after the last, written by the coordinator, holds the initial
 * states of CUSTOM reductions (their identities), copied by each reset. */
#ifndef SHARC_LIB_REDUCE_INT_H
#define SHARC_LIB_REDUCE_INT_H

#include <stdint.h>

#include "sharc/job.h"

/* One reduction as posted to the workers. */
typedef struct sharc__red {
  uint32_t kind;    /* sharc_reduce_kind */
  uint32_t nbins;   /* HIST */
  uint32_t off;     /* its state's offset in a block's partial */
  uint32_t width;   /* SUM, COUNT: elements (1: a scalar); CUSTOM: bytes */
  double lo, scale; /* HIST: bin = (x - lo) * scale */
  double hi;
} sharc__red;

typedef struct sharc__reduce_desc {
  uint32_t nred;  /* 0: the job has no reductions */
  uint32_t slot;  /* the job array holding the partials (the last one) */
  uint32_t shift; /* block == 1 << shift; 64 when not a power of two */
  uint32_t pad;
  uint64_t block, nblocks, stride, stamp;
  sharc__red red[SHARC_MAX_JOB_REDUCTIONS];
} sharc__reduce_desc;

/* The states, as they lie in a partial. */
typedef struct sharc__red_head {
  uint64_t stamp;
  uint64_t pad;
} sharc__red_head;
typedef struct sharc__red_sum { /* SUM of width 1; width w: w sums, count */
  double sum;
  uint64_t count;
} sharc__red_sum;
typedef struct sharc__red_ext { /* MIN, MAX */
  double value;
  uint64_t index; /* UINT64_MAX: none yet */
  uint64_t count;
} sharc__red_ext;
typedef struct sharc__red_mv { /* MEANVAR */
  uint64_t count;
  double mean, m2;
} sharc__red_mv;
typedef struct sharc__red_hist {
  uint64_t count, under, over, nan;
  uint64_t bins[]; /* nbins */
} sharc__red_hist;

/* What the coordinator keeps of a job's reductions. */
typedef struct sharc__reduce_job {
  sharc_array *arr; /* the partials (pool->red_partials); NULL: none */
  sharc__reduce_desc d;
  uint64_t n;
  sharc_reduce_result *out[SHARC_MAX_JOB_REDUCTIONS];
  uint64_t *bins[SHARC_MAX_JOB_REDUCTIONS];
  sharc_reduce_spec spec[SHARC_MAX_JOB_REDUCTIONS]; /* as declared */
  /* A part of a larger index space (subrange.c): the blocks' partials go
   * here, checked, nblocks * stride bytes, instead of being combined. */
  void *export_to;
} sharc__reduce_job;

/* Coordinator, before the job: copies *o into *with (adding the partials
 * array and setting the grain when o declares reductions), creates the
 * partials and posts their description into the control block (cleared
 * when there are none). rj is always initialised. Returns 0 or a negative
 * code with the pool's message set. */
struct sharc__opts;
int sharc__reduce_prepare(sharc_pool *pool, uint64_t n, struct sharc__opts *op,
                          sharc__reduce_job *rj);

/* Coordinator, after the job: when rc is 0, checks every block's partial
 * and combines them into the results (SHARC_ECORRUPT names a bad block);
 * otherwise leaves the results zeroed. Keeps the partials for the next job
 * unless they are large. Returns the job's status. */
int sharc__reduce_finish(sharc_pool *pool, sharc__reduce_job *rj, int rc);

/* The layout of a job's partials over n indices, as a job would make it:
 * the block and the bytes per block (the stride). Returns 0 or SHARC_EINVAL
 * (bad reductions, with msg saying why when msg is not NULL). */
int sharc__reduce_layout(const sharc_job_opts *o, uint64_t n, uint64_t *block,
                         uint64_t *stride, char *msg, size_t msglen);

/* Combines the partials of every block of a job of n indices (nblocks *
 * stride bytes, laid out as the layout above says, each block written by
 * some part of the job) into o's results, exactly as a job's end does.
 * Returns 0, SHARC_EINVAL, SHARC_ECORRUPT (a block never run or refused),
 * SHARC_ENOMEM; msg says why. */
int sharc__reduce_combine_parts(const sharc_job_opts *o, uint64_t n,
                                const void *partials, char *msg,
                                size_t msglen);

/* Report: when the job declared reductions (o is the job's options with
 * the block as its grain, as sharc__reduce_prepare made them) and the block
 * limited balance (sharc_reduce_advice()), puts that advice in rep in place
 * of any other. */
struct sharc_report;
void sharc__reduce_advise(struct sharc_report *rep, const sharc_job_opts *o);

/* Worker, as each chunk [b, e) begins, before the kernel: points the task
 * at the job's partials (or at none) and resets the partials of the blocks
 * the chunk holds. Hot path: no system call. */
struct sharc__job_desc;
void sharc__reduce_chunk(sharc_task *t, const struct sharc__job_desc *job,
                         uint64_t b, uint64_t e);

#endif
