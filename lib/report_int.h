/* Internal: building a job's report from the control block. */
#ifndef SHARC_LIB_REPORT_INT_H
#define SHARC_LIB_REPORT_INT_H

#include "internal.h"

/* Fills rep (if not NULL) for a job. times: {post_ns, done_ns} when the job
 * ran and its slots passed the checks, NULL when it did not run or the
 * control block was corrupted (then only status and error are set). */
void sharc__report_fill(sharc_pool *pool, sharc_report *rep,
                        const char *kernel, uint64_t n,
                        const sharc_job_opts *o, const uint64_t *times,
                        int status);

/* Adds the figures of the retry pass `seq` to rep's per-worker rows. */
void sharc__report_pass(sharc_pool *pool, sharc_report *rep, uint32_t seq);
/* After the passes: the whole job's wall time, idle times and totals. */
void sharc__report_whole(sharc_report *rep, double wall_s);
/* sharc_job_opts.census: the page census of each of the n arrays into
 * rep (none without NUMA support, or out of memory). */
void sharc__report_census(sharc_pool *pool, sharc_report *rep,
                          sharc_array *const *arrays, unsigned n);

#endif
