/* sharc: experimental entry points.
 *
 * UNSTABLE. What this header declares may change or go in any release,
 * minor and patch releases included, with no deprecation. It exists for
 * sharc's own components (libsharc_mpi, sharc/mpi.h) that need more of the
 * core than the stable API gives; a program outside sharc that uses it
 * must be built against, and run with, exactly one version of sharc.
 *
 * Its declarations are visible only to code that asks for them (the way
 * zstd keeps ZSTD_STATIC_LINKING_ONLY apart):
 *
 *   #define SHARC_EXPERIMENTAL_API
 *   #include <sharc/experimental.h>
 *
 * Without the macro, including it declares nothing. The same macro also
 * declares the other experimental API, in its own header: pipelines
 * (sharc/pipeline.h). */
#include "../sharc.h"

#if defined(SHARC_EXPERIMENTAL_API) && !defined(SHARC_EXPERIMENTAL_H)
#define SHARC_EXPERIMENTAL_H

#ifdef __cplusplus
extern "C" {
#endif

/* --- parts of a larger index space ------------------------------------------
 * A job over [0, n) may be run as several parts [begin, end), in any
 * order, on any pools (other processes or machines, as libsharc_mpi does),
 * and its reductions completed afterwards from every part's block
 * partials: the results are bit-identical to one sharc_run() of the whole
 * job, because a block's partial depends only on the kernel's values for
 * that block's indices, and the partials are combined in the same fixed
 * order. */

/* The reduction block (indices per partial) and the bytes of one block's
 * partial (the stride) that a job of n indices with options o uses: the
 * unit parts must be aligned to, and the size of what sharc_run_part()
 * gives back per block. A job without reductions has block 0 and stride 0.
 * Returns 0 or SHARC_EINVAL (o NULL or not made by SHARC_JOB_OPTS_INIT,
 * bad reductions: msg, if not NULL, says why). Pure function; thread-safe. */
SHARC_API int sharc_reduce_layout(const sharc_job_opts *o, uint64_t n,
                                  uint64_t *block, uint64_t *stride, char *msg,
                                  size_t msglen);

/* Runs the part [begin, end) of the job "kernel over [0, n) with options
 * o" on pool and waits for it. The kernel is called with global indices
 * (inside [begin, end)) and sharc_task_n() says n, so it computes exactly
 * what it would in the whole job. With reductions, begin must be a
 * multiple of the block (sharc_reduce_layout()) and end one too or n;
 * without, the same holds for o->grain when it is above 1. The results in
 * o's reduce_out are not written (they are zeroed, as by any job): the
 * partials of the part's blocks, (end - begin + block - 1) / block of them,
 * stride bytes each, in block order, are copied to `partials` (caller's;
 * NULL only for a job without reductions), after each was checked to have
 * been reset by this part. Combine every part's with
 * sharc_reduce_combine().
 * rep as for sharc_run() (made with SHARC_REPORT_INIT); its n, indices and the indices named in errors,
 * traces and per-worker figures are the part's own, counted from begin.
 * Not with a journal (SHARC_EINVAL). SHARC_EAGAIN when the pool is running
 * or has queued jobs (parts do not queue). Otherwise the errors of
 * sharc_run(); details in sharc_pool_errmsg(). Blocks. Thread-safe as
 * sharc_run(). In a forked child: SHARC_EINVAL. */
SHARC_API int sharc_run_part(sharc_pool *pool, const char *kernel, uint64_t n,
                             uint64_t begin, uint64_t end,
                             const sharc_job_opts *o, void *partials,
                             sharc_report *rep);

/* Completes the reductions of the job "over [0, n) with options o" from
 * the partials of all its blocks (nblocks * stride bytes, block k at
 * k * stride, as sharc_run_part() gave them), in the calling thread, with
 * the same checks and the same fixed order as the end of sharc_run(): o's
 * results (reduce_out, HIST bins, vector sums and counts, CUSTOM results)
 * are written as sharc_run() would write them, only on success.
 * Returns 0, SHARC_EINVAL (bad options), SHARC_ECORRUPT (a block that no
 * part ran, or whose partial cannot be right: msg names it), SHARC_ENOMEM.
 * The partials are read only. Thread-safe on distinct o. */
SHARC_API int sharc_reduce_combine(const sharc_job_opts *o, uint64_t n,
                                   const void *partials, char *msg,
                                   size_t msglen);

/* How the pool's workers start (sharc/pool.h), or -1 for NULL. */
SHARC_API int sharc_pool_start_method(const sharc_pool *pool);

#ifdef __cplusplus
}
#endif
#endif /* SHARC_EXPERIMENTAL_API */
