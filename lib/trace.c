/* Traces: a shared buffer the workers record their chunks in, and the text
 * file the coordinator writes from it after the job (format in job.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "internal.h"
#include "paths.h"

/* The least each worker can record, whatever the worker count. */
#define TRACE_MIN_PER_WORKER 4096u

int sharc__trace_prepare(sharc_pool *pool, uint64_t units, uint32_t *id,
                         uint64_t *per_worker) {
  uint64_t nw = pool->nworkers;
  uint64_t cap = SHARC_TRACE_MAX_RECORDS / nw;
  if (cap < TRACE_MIN_PER_WORKER)
    cap = TRACE_MIN_PER_WORKER;
  if (cap > units) /* a worker never runs more chunks than units */
    cap = units ? units : 1;
  if (pool->trace == NULL || pool->trace_cap < cap) {
    if (pool->trace != NULL)
      sharc_array_destroy(pool->trace);
    pool->trace = NULL;
    uint64_t shape[2] = {nw * cap, sizeof(sharc__trace_rec) / 8};
    int rc = sharc__array_create(pool, SHARC_U64, 2, shape, &pool->trace);
    if (rc != 0)
      return sharc__fail(pool, rc, "trace buffer (%llu records): %s",
                         (unsigned long long)(nw * cap), sharc_strerror(rc));
    pool->trace_cap = cap;
  }
  for (unsigned w = 0; w < pool->nworkers; w++) {
    if (!pool->trace->known[w]) {
      int rc = sharc__array_send(pool, pool->trace, w);
      if (rc != 0)
        return rc;
    }
  }
  *id = pool->trace->id;
  *per_worker = pool->trace_cap; /* the buffer's stride, maybe > cap */
  return 0;
}

/* A record is written by a worker: believe it only if it is possible. */
static int rec_sane(const sharc__trace_rec *r, uint64_t n, unsigned nw,
                    uint64_t span) {
  return r->begin < r->end && r->end <= n && r->start_ns <= r->end_ns &&
         r->end_ns <= span && r->victim >= -1 && r->victim < (int64_t)nw &&
         r->search_ns <= r->start_ns;
}

static int write_trace(sharc_pool *pool, FILE *f, const sharc__trace_info *ti) {
  const sharc__cb *cb = pool->cb;
  uint64_t cap = pool->trace_cap;
  uint64_t span = ti->done_ns - ti->post_ns;
  uint64_t dropped = 0, invalid = 0;
  char sched[64];
  sharc_schedule_format(ti->schedule, sched, sizeof sched);
  fprintf(f,
          "# sharc trace 1\nkernel %s\nn %llu\nworkers %u\nschedule %s\n"
          "status %s\nmakespan_ns %llu\n",
          ti->kernel, (unsigned long long)ti->n, pool->nworkers, sched,
          ti->status ? sharc_err_name(ti->status) : "ok",
          (unsigned long long)span);
  const sharc__trace_rec *all = sharc_array_data(pool->trace);
  /* Count first, so the header says what is missing. */
  uint64_t counts[SHARC__MAX_WORKERS];
  for (unsigned w = 0; w < pool->nworkers; w++) {
    uint64_t t = pool->w[w].pid > 0 ? cb->slots[w].traced : 0;
    if (t > ti->n)
      t = ti->n; /* scribbled: at most one chunk per index */
    counts[w] = t < cap ? t : cap;
    dropped += t - counts[w];
  }
  fprintf(f, "dropped %llu\n", (unsigned long long)dropped);
  for (unsigned w = 0; w < pool->nworkers; w++) {
    for (uint64_t k = 0; k < counts[w]; k++) {
      const sharc__trace_rec *r = &all[w * cap + k];
      if (!rec_sane(r, ti->n, pool->nworkers, span)) {
        invalid++;
        continue;
      }
      fprintf(f, "c %u %llu %llu %llu %llu %lld %llu\n", w,
              (unsigned long long)r->start_ns, (unsigned long long)r->end_ns,
              (unsigned long long)r->begin, (unsigned long long)r->end,
              (long long)r->victim, (unsigned long long)r->search_ns);
    }
  }
  if (invalid)
    fprintf(f, "# %llu impossible records left out\n",
            (unsigned long long)invalid);
  return 0;
}

static int errno_rc(void) { return errno ? -errno : -EIO; }

int sharc__trace_write(sharc_pool *pool, const char *path,
                       const sharc__trace_info *ti) {
  if (pool->trace == NULL)
    return sharc__fail(pool, SHARC_EINVAL, "%s: no trace was recorded", path);
  /* Written beside path, then renamed over nothing or a regular file only:
   * never into a device, a FIFO or through a symbolic link. */
  char *tmp = NULL;
  int fd = sharc__out_tmp(path, &tmp, pool->msg, sizeof pool->msg);
  if (fd < 0)
    return fd;
  FILE *f = fdopen(fd, "w");
  int rc = f == NULL ? errno_rc() : write_trace(pool, f, ti);
  if (f != NULL && (fflush(f) != 0 || ferror(f)))
    rc = rc ? rc : errno_rc();
  if (f != NULL ? fclose(f) != 0 : close(fd) != 0)
    rc = rc ? rc : errno_rc();
  if (rc != 0)
    sharc__fail(pool, rc, "%s: writing the trace: %s", path, strerror(-rc));
  else
    rc = sharc__out_install(tmp, path, pool->msg, sizeof pool->msg);
  if (rc != 0)
    unlink(tmp);
  free(tmp);
  return rc;
}
