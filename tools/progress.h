/* sharc command-line tool: running a job with its progress shown. */
#ifndef SHARC_TOOL_PROGRESS_H
#define SHARC_TOOL_PROGRESS_H

#include <sharc.h>

/* Submits kernel over [0, n) with o and waits for it, showing progress on
 * stderr unless quiet: on a terminal a bar (percent, rate, ETA) redrawn
 * every 0.1 s and erased at the end; otherwise a line "sharc CMD: ..."
 * every 2 s. Jobs shorter than half a second show nothing. Returns the
 * job's status (or sharc_submit's error, *out then NULL); *out is the job,
 * for its report and message, to be freed by the caller. Ctrl-C handlers
 * calling sharc_pool_cancel() cancel it as they would sharc_run(). */
int tool_run_job(const char *cmd, sharc_pool *pool, const char *kernel,
                 uint64_t n, const sharc_job_opts *o, int quiet,
                 sharc_job **out);

/* One progress line: a bar of 30 cells when bar, else plain words. */
void tool_progress_format(const sharc_progress *p, double rate, char *buf,
                          size_t len, int bar);

#endif
