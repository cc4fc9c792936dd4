/* Pipelines: a reader in the calling thread, one job per slot through the
 * pool's queue, a writer thread draining slots in reading order, over a
 * ring of `slots` slots in one shared array. */
#define SHARC_EXPERIMENTAL_API /* pipelines */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

/* What a transform job carries before the user's argument bytes. */
#define PIPE_MAGIC UINT64_C(0x45504950435241) /* "ARCPIPE" */
typedef struct pipe_hdr {
  uint64_t magic, slot, items, seq, slot_bytes, user_len, pad[2];
} pipe_hdr;
_Static_assert(sizeof(pipe_hdr) == 64, "pipeline header");

typedef struct pipe_slot {
  sharc_job *job; /* the transform of what the reader put here */
  uint64_t seq, items;
} pipe_slot;

typedef struct pipeline_run {
  sharc_pool *pool;
  const sharc_pipeline_opts *o;
  sharc_array *ring;
  unsigned nslots;
  uint64_t slot_bytes;
  pthread_mutex_t mu;
  pthread_cond_t cv;
  pipe_slot *s;    /* s[seq % nslots] */
  uint64_t next_read, next_write; /* seqs */
  int reading_done;
  int rc;          /* the first failure, 0 while none */
  sharc_pipeline_result res;
} pipeline_run;

/* Records a failure at slot seq. The earliest slot's failure is the one
 * reported: slots before it are still written, none after it. */
static void fail(pipeline_run *p, int rc, const char *stage, uint64_t seq,
                 uint64_t index, const char *msg) {
  if (p->rc != 0 && seq >= p->res.failed_seq)
    return;
  p->rc = rc;
  p->res.failed_stage = stage;
  p->res.failed_seq = seq;
  p->res.failed_index = index;
  sharc__text_set(&p->res.error, "pipeline: %s of slot %llu%s: %s", stage, (unsigned long long)seq,
           index != UINT64_MAX ? " failed at an index" : " failed", msg);
  pthread_cond_broadcast(&p->cv);
}

/* The writer: waits for each slot's transform in order, writes it, frees
 * the slot. After a failure it writes only the slots before the failed
 * one and waits for the (cancelled) rest. */
static void *writer(void *arg) {
  pipeline_run *p = arg;
  pthread_mutex_lock(&p->mu);
  for (;;) {
    while (p->next_write == p->next_read && !p->reading_done)
      pthread_cond_wait(&p->cv, &p->mu);
    if (p->next_write == p->next_read)
      break;
    pipe_slot *sl = &p->s[p->next_write % p->nslots];
    pthread_mutex_unlock(&p->mu);
    int rc = sharc_job_wait(sl->job, -1);
    pthread_mutex_lock(&p->mu);
    if (rc != 0) {
      /* The lowest quarantined index (the report lists them in index
       * order; taking the least does not depend on it). */
      const sharc_report *rep = sharc_job_report(sl->job);
      uint64_t at = UINT64_MAX;
      for (unsigned k = 0; rep != NULL && k < rep->nquarantined; k++)
        if (rep->quarantined[k].begin < at)
          at = rep->quarantined[k].begin;
      fail(p, rc, "transform", sl->seq, at, sharc_job_errmsg(sl->job));
    }
    if (p->rc == 0 || sl->seq < p->res.failed_seq) {
      pthread_mutex_unlock(&p->mu);
      const unsigned char *base = sharc_array_data(p->ring);
      rc = p->o->write(base + (sl->seq % p->nslots) * p->slot_bytes,
                       sl->items, sl->seq, p->o->arg);
      pthread_mutex_lock(&p->mu);
      if (rc != 0)
        fail(p, rc, "write", sl->seq, UINT64_MAX, sharc_strerror(rc));
      else {
        p->res.slots_written++;
        p->res.items += sl->items;
      }
    }
    sharc_job_free(sl->job);
    sl->job = NULL;
    p->next_write++;
    pthread_cond_broadcast(&p->cv);
  }
  pthread_mutex_unlock(&p->mu);
  return NULL;
}

static int check_opts(sharc_pool *pool, const sharc_pipeline_opts *o) {
  if (o == NULL || o->size != sizeof *o)
    return sharc__fail(pool, SHARC_EINVAL,
                       "pipeline: options missing or of another version "
                       "(size field)");
  if (o->kernel == NULL || o->read == NULL || o->write == NULL ||
      o->item_bytes == 0 || o->slot_items == 0 ||
      o->slot_items > UINT64_MAX / o->item_bytes)
    return sharc__fail(pool, SHARC_EINVAL,
                       "pipeline: kernel, read, write, item_bytes and "
                       "slot_items are required");
  if (o->job.size != sizeof o->job)
    return sharc__fail(pool, SHARC_EINVAL,
                       "pipeline: the transform's job options were not made "
                       "with SHARC_JOB_OPTS_INIT (size field)");
  if (o->job.args_len > SHARC_MAX_ARGS - sizeof(pipe_hdr) ||
      o->job.narrays >= SHARC_MAX_JOB_ARRAYS ||
      (o->job.narrays > 0 && o->job.arrays == NULL))
    return sharc__fail(pool, SHARC_EINVAL,
                       "pipeline: at most %zu argument bytes and %d arrays "
                       "for the transform",
                       SHARC_MAX_ARGS - sizeof(pipe_hdr),
                       SHARC_MAX_JOB_ARRAYS - 1);
  return 0;
}

/* The reader's side of one slot: fill it, then hand it to the pool. */
static int read_one(pipeline_run *p, unsigned char *args, int *eof) {
  const sharc_pipeline_opts *o = p->o;
  uint64_t seq = p->next_read;
  unsigned char *slot = (unsigned char *)sharc_array_data(p->ring) +
                        (seq % p->nslots) * p->slot_bytes;
  int64_t got = o->read(slot, o->slot_items, seq, o->arg);
  if (got == 0) {
    *eof = 1;
    return 0;
  }
  pthread_mutex_lock(&p->mu);
  if (got < 0 || (uint64_t)got > o->slot_items) {
    fail(p, got < 0 ? (int)got : SHARC_ERANGE, "read", seq, UINT64_MAX,
         got < 0 ? sharc_strerror((int)got) : "more items than the slot holds");
    pthread_mutex_unlock(&p->mu);
    return p->rc;
  }
  pthread_mutex_unlock(&p->mu);
  pipe_hdr h;
  memset(&h, 0, sizeof h);
  h.magic = PIPE_MAGIC;
  h.slot = seq % p->nslots;
  h.items = (uint64_t)got;
  h.seq = seq;
  h.slot_bytes = p->slot_bytes;
  h.user_len = o->job.args_len;
  memcpy(args, &h, sizeof h);
  sharc_job_opts jo = o->job;
  jo.args = args;
  jo.args_len = sizeof h + o->job.args_len;
  /* The ring first, then the transform's own arrays (checked: fewer than
   * SHARC_MAX_JOB_ARRAYS). sharc_submit copies the list. */
  sharc_array *arrays[SHARC_MAX_JOB_ARRAYS];
  arrays[0] = p->ring;
  for (unsigned i = 0; i < o->job.narrays; i++)
    arrays[i + 1] = o->job.arrays[i];
  jo.arrays = arrays;
  jo.narrays = o->job.narrays + 1;
  /* Without a policy of its own, a failing index is narrowed down and
   * named: the slot is not written anyway, so running part of it again
   * does no harm. */
  if (jo.fault.retries == 0) {
    jo.fault.retries = 1;
    jo.fault.on_poison = SHARC_POISON_STOP;
  }
  sharc_job *job;
  int rc = sharc_submit(p->pool, o->kernel, (uint64_t)got, &jo, NULL, &job);
  pthread_mutex_lock(&p->mu);
  if (rc != 0) {
    fail(p, rc, "transform", seq, UINT64_MAX, sharc_strerror(rc));
  } else {
    pipe_slot *sl = &p->s[seq % p->nslots];
    sl->job = job;
    sl->seq = seq;
    sl->items = (uint64_t)got;
    p->next_read++;
    p->res.slots_read++;
    unsigned inflight = (unsigned)(p->next_read - p->next_write);
    if (inflight > p->res.max_in_flight)
      p->res.max_in_flight = inflight;
    pthread_cond_broadcast(&p->cv);
  }
  pthread_mutex_unlock(&p->mu);
  return rc;
}

int sharc_pipeline_run(sharc_pool *pool, const sharc_pipeline_opts *o,
                       sharc_pipeline_result *res) {
  if (pool == NULL || sharc__pool_foreign(pool) ||
      (res != NULL && res->size != sizeof *res))
    return SHARC_EINVAL;
  if (res != NULL) {
    memset(res, 0, sizeof *res);
    res->size = sizeof *res;
    res->failed_index = UINT64_MAX;
    res->error = sharc__empty;
  }
  /* Jobs of other threads may be running: the message is this thread's. */
  sharc__own_msg_enter(pool);
  int rc = check_opts(pool, o);
  sharc__own_msg_leave();
  if (rc != 0) {
    if (res != NULL)
      sharc__text_set(&res->error, "%s", sharc_pool_errmsg(pool));
    return rc;
  }
  pipeline_run p;
  memset(&p, 0, sizeof p);
  p.pool = pool;
  p.o = o;
  p.nslots = o->slots ? o->slots : 4;
  p.slot_bytes = o->item_bytes * o->slot_items;
  p.res.size = sizeof p.res;
  p.res.failed_index = UINT64_MAX;
  p.res.error = sharc__empty;
  p.s = calloc(p.nslots, sizeof *p.s);
  unsigned char *args = malloc(SHARC_MAX_ARGS);
  uint64_t shape[1] = {p.nslots * p.slot_bytes};
  if (p.s == NULL || args == NULL)
    rc = SHARC_ENOMEM;
  else
    rc = sharc_array_create(pool, SHARC_U8, 1, shape, NULL, &p.ring);
  if (rc == 0 && o->job.args_len > 0)
    memcpy(args + sizeof(pipe_hdr), o->job.args, o->job.args_len);
  pthread_t wt;
  if (rc == 0) {
    pthread_mutex_init(&p.mu, NULL);
    pthread_cond_init(&p.cv, NULL);
    if (pthread_create(&wt, NULL, writer, &p) != 0)
      rc = SHARC_EAGAIN;
  }
  if (rc != 0) {
    free(p.s);
    free(args);
    sharc_array_destroy(p.ring);
    if (res != NULL)
      sharc__text_set(&res->error, "pipeline: cannot start: %s",
                      sharc_strerror(rc));
    return rc;
  }
  int eof = 0;
  for (;;) {
    pthread_mutex_lock(&p.mu);
    /* A slot is free once the writer is done with it: memory stays at
     * nslots slots however fast the reader is. */
    while (p.rc == 0 && p.next_read - p.next_write >= p.nslots)
      pthread_cond_wait(&p.cv, &p.mu);
    int stop = p.rc != 0;
    pthread_mutex_unlock(&p.mu);
    if (stop || eof || read_one(&p, args, &eof) != 0)
      break;
  }
  pthread_mutex_lock(&p.mu);
  p.reading_done = 1;
  /* After a failure, what is in flight after the failed slot is
   * cancelled, not written. */
  for (uint64_t q = p.next_write; p.rc != 0 && q < p.next_read; q++)
    if (q > p.res.failed_seq)
      sharc_job_cancel(p.s[q % p.nslots].job);
  pthread_cond_broadcast(&p.cv);
  pthread_mutex_unlock(&p.mu);
  pthread_join(wt, NULL);
  rc = p.rc;
  if (res != NULL)
    *res = p.res;
  else
    sharc__text_free(&p.res.error);
  pthread_cond_destroy(&p.cv);
  pthread_mutex_destroy(&p.mu);
  sharc_array_destroy(p.ring);
  free(p.s);
  free(args);
  return rc;
}

/* --- in the transform kernel -------------------------------------------- */

static const pipe_hdr *hdr(const sharc_task *t) {
  size_t len = 0;
  const pipe_hdr *h = sharc_task_args(t, &len);
  if (h == NULL || len < sizeof *h || h->magic != PIPE_MAGIC ||
      sharc_task_narrays(t) < 1 ||
      (h->slot + 1) * h->slot_bytes > sharc_task_array_nbytes(t, 0))
    return NULL;
  return h;
}

void *sharc_pipeline_slot(const sharc_task *t) {
  const pipe_hdr *h = hdr(t);
  return h ? (unsigned char *)sharc_task_array(t, 0) + h->slot * h->slot_bytes
           : NULL;
}

uint64_t sharc_pipeline_items(const sharc_task *t) {
  const pipe_hdr *h = hdr(t);
  return h ? h->items : 0;
}

uint64_t sharc_pipeline_seq(const sharc_task *t) {
  const pipe_hdr *h = hdr(t);
  return h ? h->seq : 0;
}

const void *sharc_pipeline_args(const sharc_task *t, size_t *len) {
  const pipe_hdr *h = hdr(t);
  if (len != NULL)
    *len = h ? h->user_len : 0;
  return h ? (const unsigned char *)h + sizeof *h : NULL;
}

void sharc_pipeline_result_free(sharc_pipeline_result *res) {
  if (res == NULL)
    return;
  sharc__text_free(&res->error);
  size_t size = res->size;
  memset(res, 0, sizeof *res);
  res->size = size;
}
