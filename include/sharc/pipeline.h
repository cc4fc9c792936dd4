/* sharc: pipelines — a reader, the pool and a writer over a bounded ring.
 *
 * The reader fills a slot of a ring of shared memory, the pool's workers
 * transform the slot in place (one job per slot, its indices the slot's
 * items), and the writer drains slots in the order they were read. At most
 * `slots` slots exist, so memory stays bounded however fast the reader is:
 * a reader ahead of the workers waits for a slot to come free.
 *
 *   static int64_t read_lines(void *slot, size_t cap, uint64_t seq, void *arg)
 *   { ... fill at most cap items; return how many, 0 at the end ... }
 *   static int brighten(const sharc_task *t, uint64_t b, uint64_t e) {
 *     float *px = sharc_pipeline_slot(t);     // this job's slot
 *     for (uint64_t i = b; i < e; i++) px[i] *= 1.5f;
 *     return 0;
 *   }
 *   SHARC_KERNEL(brighten)
 *   static int write_lines(const void *slot, uint64_t items, uint64_t seq,
 *                          void *arg) { ... 0, or an error ... }
 *
 *   sharc_pipeline_opts po = SHARC_PIPELINE_OPTS_INIT;
 *   po.kernel = "brighten"; po.item_bytes = sizeof(float);
 *   po.slot_items = 1 << 20; po.read = read_lines; po.write = write_lines;
 *   sharc_pipeline_result res = SHARC_PIPELINE_RESULT_INIT;
 *   int rc = sharc_pipeline_run(pool, &po, &res);
 *   ... res.error says what failed; sharc_pipeline_result_free(&res);
 *
 * Threads: sharc_pipeline_run() runs the reader in the calling thread and
 * the writer in a thread of its own, so reading, computing and writing
 * overlap; the jobs go through the pool's queue (sharc_submit).
 *
 * EXPERIMENTAL: declared only when SHARC_EXPERIMENTAL_API is defined before
 * the first sharc header. It may change in any release, SONAME unchanged
 * (docs/guide.md, "Compatibility"). */
#ifndef SHARC_PIPELINE_H
#define SHARC_PIPELINE_H

#include "job.h"
#include "kernel.h"

#ifdef SHARC_EXPERIMENTAL_API
#ifdef __cplusplus
extern "C" {
#endif

/* Fills the slot at `slot` (room for cap items) with the next items of the
 * input, in the calling thread. Returns how many (1..cap), 0 at the end
 * of the input, or a negative code, which stops the pipeline. seq counts
 * slots from 0 in reading order. */
typedef int64_t (*sharc_pipeline_read_fn)(void *slot, uint64_t cap,
                                          uint64_t seq, void *arg);
/* Consumes the transformed slot seq (items items), in the writer's thread,
 * in reading order. Returns 0, or a negative code, which stops the
 * pipeline. The slot is reused once this returns. */
typedef int (*sharc_pipeline_write_fn)(const void *slot, uint64_t items,
                                       uint64_t seq, void *arg);

typedef struct sharc_pipeline_opts {
  size_t size;           /* sizeof(sharc_pipeline_opts), checked */
  const char *kernel;    /* the transform, run over [0, items) of a slot */
  uint64_t item_bytes;   /* bytes per item (>= 1) */
  uint64_t slot_items;   /* items per slot (>= 1) */
  unsigned slots;        /* slots in the ring; 0: 4 */
  sharc_pipeline_read_fn read;
  sharc_pipeline_write_fn write;
  void *arg;             /* passed to read and write */
  /* The transform's own arguments and schedule, as for a job (arrays may
   * be added: they come after the ring, from sharc_task_array(t, 1) on);
   * argument bytes at most SHARC_MAX_ARGS - 64. */
  sharc_job_opts job;
} sharc_pipeline_opts;

#ifndef __cplusplus
#define SHARC_PIPELINE_OPTS_INIT                                               \
  {.size = sizeof(sharc_pipeline_opts), .job = SHARC_JOB_OPTS_INIT}
#else /* C++17 has no designated initializers: the same, by position */
#define SHARC_PIPELINE_OPTS_INIT                                               \
  {sizeof(sharc_pipeline_opts), NULL, 0, 0, 0, NULL, NULL, NULL,             \
   SHARC_JOB_OPTS_INIT}
#endif

/* What a pipeline did. Made with SHARC_PIPELINE_RESULT_INIT (size is
 * checked, as for a report); it owns error, released by
 * sharc_pipeline_result_free(). */
typedef struct sharc_pipeline_result {
  size_t size;
  uint64_t slots_read;    /* slots the reader filled */
  uint64_t slots_written; /* slots the writer consumed: all of them, on
                             success; on failure every slot before the one
                             that failed, and none after */
  uint64_t items;         /* items written */
  unsigned max_in_flight; /* most slots filled and not yet written at once
                             (never more than slots) */
  /* On failure: the stage that failed ("read", "transform" or "write"),
   * the slot's sequence number and, for the transform, a failing index
   * within the slot (else UINT64_MAX); message as for a job. Without a
   * fault policy of the transform's own, the slot's job is retried once
   * and stops at the first index it narrows down to, which need not be the
   * lowest that fails; with a quarantine policy (o->job.fault) it is the
   * lowest quarantined index. */
  const char *failed_stage;
  uint64_t failed_seq;
  uint64_t failed_index;
  const char *error; /* the message, "" on success (owned by the result) */
} sharc_pipeline_result;

#ifndef __cplusplus
#define SHARC_PIPELINE_RESULT_INIT {.size = sizeof(sharc_pipeline_result)}
#else /* C++17 has no designated initializers: the same, by position */
#define SHARC_PIPELINE_RESULT_INIT                                             \
  {sizeof(sharc_pipeline_result), 0, 0, 0, 0, NULL, 0, 0, NULL}
#endif

/* Frees the result's message and zeroes it, keeping its size field. NULL
 * is a no-op. Does not block; not thread-safe on one result; in a forked
 * child it frees the child's copy. */
SHARC_API void sharc_pipeline_result_free(sharc_pipeline_result *res);

/* Runs the pipeline until the reader returns 0 and every slot read is
 * written, or a stage fails. Returns 0, or the failing stage's code (the
 * transform's as sharc_run() would give it: SHARC_EKERNEL, SHARC_EWORKER,
 * ...); res (may be NULL; else made with SHARC_PIPELINE_RESULT_INIT, or
 * SHARC_EINVAL) says what was done and where it failed. Nothing
 * after a failed slot is written; slots in flight are cancelled. Blocks.
 * The ring is a shared array made for the run and destroyed at its end.
 * Thread-safe as sharc_submit is; in a forked child SHARC_EINVAL. */
SHARC_API int sharc_pipeline_run(sharc_pool *pool,
                                 const sharc_pipeline_opts *o,
                                 sharc_pipeline_result *res);

/* In a pipeline's transform kernel: this job's slot, its item count and
 * its sequence number. Other kernels get NULL and 0. */
SHARC_API void *sharc_pipeline_slot(const sharc_task *t);
SHARC_API uint64_t sharc_pipeline_items(const sharc_task *t);
SHARC_API uint64_t sharc_pipeline_seq(const sharc_task *t);
/* The transform's own argument bytes (those of o->job). */
SHARC_API const void *sharc_pipeline_args(const sharc_task *t, size_t *len);

#ifdef __cplusplus
}
#endif
#endif /* SHARC_EXPERIMENTAL_API */
#endif
