/* Running a job with its progress on stderr: a bar with rate and ETA on a
 * terminal, a plain line every few seconds otherwise, nothing when quiet. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "progress.h"

/* Nothing is shown for jobs shorter than this. */
#define FIRST_S 0.5
/* A terminal's bar is redrawn this often; plain lines come this often. */
#define BAR_EVERY_S 0.1
#define LINE_EVERY_S 2.0

void tool_progress_format(const sharc_progress *p, double rate, char *buf,
                          size_t len, int bar) {
  double frac = p->n ? (double)p->done / (double)p->n : 1.0;
  char eta[32] = "?";
  if (rate > 0 && p->done <= p->n)
    snprintf(eta, sizeof eta, "%.1f s", (double)(p->n - p->done) / rate);
  if (!bar) {
    snprintf(buf, len, "%.0f%% (%llu of %llu), %.3g indices/s, ETA %s",
             100 * frac, (unsigned long long)p->done,
             (unsigned long long)p->n, rate, eta);
    return;
  }
  char cells[31];
  int full = (int)(frac * 30 + 0.5);
  for (int i = 0; i < 30; i++)
    cells[i] = i < full ? '#' : '.';
  cells[30] = '\0';
  snprintf(buf, len, "[%s] %3.0f%%  %.3g/s  ETA %s", cells, 100 * frac, rate,
           eta);
}

int tool_run_job(const char *cmd, sharc_pool *pool, const char *kernel,
                 uint64_t n, const sharc_job_opts *o, int quiet,
                 sharc_job **out) {
  sharc_job *job;
  int rc = sharc_submit(pool, kernel, n, o, NULL, &job);
  *out = NULL;
  if (rc != 0)
    return rc;
  *out = job;
  if (quiet)
    return sharc_job_wait(job, -1);
  int tty = isatty(STDERR_FILENO);
  double every = tty ? BAR_EVERY_S : LINE_EVERY_S, next = FIRST_S;
  int drawn = 0;
  while ((rc = sharc_job_wait(job, every)) == SHARC_ETIMEDOUT) {
    sharc_progress p = SHARC_PROGRESS_INIT;
    if (sharc_job_progress(job, &p) != 0 || p.elapsed_s < next)
      continue;
    next = p.elapsed_s + (tty ? 0 : LINE_EVERY_S);
    double rate = p.elapsed_s > 0 ? (double)p.done / p.elapsed_s : 0;
    char line[128];
    tool_progress_format(&p, rate, line, sizeof line, tty);
    if (tty)
      fprintf(stderr, "\r%s\033[K", line);
    else
      fprintf(stderr, "sharc %s: %s\n", cmd, line);
    drawn = tty;
  }
  if (drawn) /* the bar goes: the report follows */
    fprintf(stderr, "\r\033[K");
  return rc;
}
