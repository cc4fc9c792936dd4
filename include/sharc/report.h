/* sharc: what a job did, per worker and in total, and what it cost.
 *
 * The cost model users reason about: pool start-up (once per pool), the
 * dispatch overhead (waking workers and claiming chunks), the aggregation
 * after the last worker finished, memory per worker, and bytes copied
 * between processes — argument bytes only: array payloads are never
 * copied. */
#ifndef SHARC_REPORT_H
#define SHARC_REPORT_H

#include <stdio.h>

#include "schedule.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct sharc_worker_report {
  unsigned worker;
  int pid;
  int pu;              /* OS index of the PU it is pinned to, -1 if unpinned */
  int numa;            /* NUMA node, -1 if unknown */
  uint64_t chunks;     /* chunks claimed */
  uint64_t indices;    /* indices processed */
  uint64_t steals;     /* ranges taken from other workers (auto) */
  double busy_s;       /* inside the kernel */
  double dispatch_s;   /* waking up and claiming chunks */
  double idle_s;       /* the rest of the job's wall time */
  double cpu_s;        /* user + system CPU time during the job (if measured) */
  uint64_t peak_rss;   /* peak resident bytes during the job (if measured) */
  uint64_t private_bytes; /* private (anonymous) resident bytes at job end */
} sharc_worker_report;

/* Indices left out of a job by its fault policy. */
typedef struct sharc_quarantined {
  uint64_t begin, end; /* [begin, end): one index, or one grain block */
  int signal;          /* the signal that killed the worker, or 0 */
  int code;            /* what the kernel returned, or 0 */
  unsigned attempts;   /* times it was run alone */
  int timed_out;       /* 1: its worker was killed for running too long */
} sharc_quarantined;

struct sharc_page_census; /* sharc/numa.h */

/* A job's report. The caller makes it with SHARC_REPORT_INIT (which sets
 * size) and passes it to sharc_run(), which fills it; it owns the strings
 * and lists it points to, released by sharc_report_free(). sharc_run()
 * refuses a report whose size field is not sizeof(sharc_report)
 * (SHARC_EINVAL naming both sizes): a program built against other headers
 * is told, its memory never overrun. New fields are added at the end. */
typedef struct sharc_report {
  size_t size;           /* sizeof(sharc_report), as SHARC_REPORT_INIT sets */
  /* After a call that filled the report, kernel, error and advice are
   * strings, never NULL (owned by the report). */
  const char *kernel;
  uint64_t n;
  sharc_schedule schedule;
  unsigned nworkers;
  int status;            /* 0 or the error sharc_run() returned */
  const char *error;     /* the error's message, or "" */
  int measured_rusage;   /* cpu_s / peak_rss / private_bytes are valid */

  double wall_s;         /* from posting the job to its report */
  double startup_s;      /* the pool's start-up time (paid once per pool) */
  double dispatch_s;     /* summed over workers */
  double aggregation_s;  /* after the last worker finished */
  double compute_share;  /* sum(busy) / (wall * workers), 0..1 */
  double imbalance_pct;  /* (max busy / mean busy - 1) * 100 */
  uint64_t chunks;       /* summed over workers */
  uint64_t indices;      /* summed over workers; n on success */
  uint64_t steals;       /* summed over workers */
  uint64_t mem_per_worker;      /* mean private bytes per worker */
  uint64_t bytes_copied;        /* job descriptor + argument bytes */
  uint64_t payload_bytes_copied; /* array bytes copied between processes:
                                    0 by construction (arrays are shared
                                    mappings, never sent), not a
                                    measurement; kept for comparison with
                                    tools that do copy */
  const char *advice;    /* a sentence when the job did not pay off, or "" */

  /* Faults (sharc_job_opts.fault). Per-worker figures cover the first
   * pass; retry passes are counted here. */
  unsigned deaths;       /* workers that died during the job (replaced) */
  unsigned recycled;     /* workers recycled by the fault policy */
  unsigned kernel_errors; /* kernel calls that returned an error */
  unsigned passes;       /* 1, plus one per retry pass */
  uint64_t retried;      /* ranges run again */
  double replace_s;      /* mean time to start a replacement worker */
  unsigned nquarantined;
  sharc_quarantined *quarantined; /* in index order; owned by the report */

  sharc_worker_report *workers; /* nworkers entries, owned by the report */

  /* With sharc_job_opts.census: where the pages of the job's arrays are,
   * census[i] for its array i, per node over every node of the machine
   * (owned by the report, on_node included). Taken after the job, also
   * after a failure when the job ran; 0 and NULL otherwise, or when the
   * kernel has no NUMA support. */
  unsigned ncensus;
  struct sharc_page_census *census;
} sharc_report;

#ifndef __cplusplus
#define SHARC_REPORT_INIT {.size = sizeof(sharc_report)}
#else /* C++17 has no designated initializers: every field, by position */
#define SHARC_REPORT_INIT                                                      \
  {sizeof(sharc_report), NULL, 0, SHARC_SCHEDULE_DEFAULT, 0, 0, NULL, 0, 0.0,  \
   0.0, 0.0, 0.0, 0.0, 0.0, 0, 0, 0, 0, 0, 0, NULL, 0, 0, 0, 0, 0, 0.0, 0,     \
   NULL, NULL, 0, NULL}
#endif

/* Frees what the report owns and zeroes it, keeping its size field, so it
 * can be passed again. NULL is a no-op. Does not block; not thread-safe on
 * one report; in a forked child it frees the child's copy. */
SHARC_API void sharc_report_free(sharc_report *rep);

/* Writes the report as one JSON object. Returns 0 or a negated errno. */
SHARC_API int sharc_report_json(const sharc_report *rep, FILE *out);

/* Writes the report as a table for people. Returns 0 or a negated errno. */
SHARC_API int sharc_report_print(const sharc_report *rep, FILE *out);

#ifdef __cplusplus
}
#endif
#endif
