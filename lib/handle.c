/* Jobs as handles: a pool's queue of submitted jobs, the driver thread
 * that runs them in order, and what a caller sees of a job while it waits
 * (its state, progress, streams of completed ranges, an eventfd).
 *
 * One lock per pool guards the queue and every handle's fields; the driver
 * runs a job (sharc__job_execute) without it, taking it to publish
 * progress and the end. sharc_run() runs a job in the calling thread when
 * the pool is idle, marking the pool busy so the driver waits. */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "job_int.h"

#define SHARC__QUEUE_MAX_DEFAULT 64u

struct sharc__queue {
  pthread_mutex_t mu;
  pthread_cond_t cv; /* any change: a job queued, started or ended */
  sharc_job *head, *tail; /* queued, in order */
  unsigned len, max;
  sharc_job *all;   /* every handle not yet released or orphaned */
  sharc_job *running; /* the job the driver runs, or NULL */
  int busy;         /* a job runs (the driver's, or sharc_run's inline) */
  unsigned joiners; /* threads in sharc_pool_join */
  int closed;
  int stopping;     /* the driver leaves */
  int thread_started;
  pthread_t thread;
  _Atomic int no_grace; /* terminated: cancels kill at once */
};

struct sharc_job {
  sharc_pool *pool; /* NULL once the pool was destroyed */
  sharc_job *next;  /* the queue */
  sharc_job *all_next, **all_prev;
  char kernel[SHARC_KERNEL_NAME_MAX];
  uint64_t n;
  sharc__opts opts; /* the options, lists and strings copied */
  void *args;
  char *trace_path, *journal_path;
  int stream;
  sharc_range_fn on_range;
  void *on_range_arg;
  sharc_job_state state;
  int status;
  int released;   /* sharc_job_free() was called: free at the end */
  int cancel_req; /* sharc_job_cancel() set the pool's cancel flag */
  int efd;
  sharc_report rep;
  char msg[512];
  uint64_t start_ns, end_ns;
  /* The done map as the coordinator has seen it (streams). */
  uint64_t *have;
  uint64_t block, nblocks, words;
  uint64_t prefix;   /* blocks [0, prefix) done */
  uint64_t upto_end; /* after a completed job: where the ordered stream
                        ends (n, or the first quarantined index); else 0 */
  uint64_t ordered;  /* the ordered stream gave [0, ordered) indices */
  uint64_t done;     /* indices done */
  uint64_t (*rq)[2]; /* the unordered stream's ranges not yet given */
  size_t rq_head, rq_len, rq_cap;
  unsigned passes, failures;
};

static void lock(struct sharc__queue *q) { pthread_mutex_lock(&q->mu); }
static void unlock(struct sharc__queue *q) { pthread_mutex_unlock(&q->mu); }

uint64_t sharc__cancel_grace_ns(const sharc_pool *pool) {
  return pool->queue != NULL && atomic_load(&pool->queue->no_grace)
             ? 0
             : SHARC__CANCEL_GRACE_NS;
}

int sharc__queue_init(sharc_pool *pool) {
  struct sharc__queue *q = calloc(1, sizeof *q);
  if (q == NULL)
    return sharc__fail(pool, SHARC_ENOMEM, "out of memory: the job queue");
  pthread_condattr_t ca;
  pthread_condattr_init(&ca);
  pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
  if (pthread_mutex_init(&q->mu, NULL) != 0 ||
      pthread_cond_init(&q->cv, &ca) != 0) {
    pthread_condattr_destroy(&ca);
    free(q);
    return sharc__fail(pool, SHARC_ENOMEM, "the job queue's lock: out of "
                                           "memory");
  }
  pthread_condattr_destroy(&ca);
  q->max = SHARC__QUEUE_MAX_DEFAULT;
  pool->queue = q;
  return 0;
}

/* Waits on the queue's condition until deadline_ns (UINT64_MAX: for ever).
 * Returns 0, or ETIMEDOUT once the deadline passed. */
static int wait_until(struct sharc__queue *q, uint64_t deadline_ns) {
  if (deadline_ns == UINT64_MAX)
    return pthread_cond_wait(&q->cv, &q->mu);
  if (sharc__now_ns() >= deadline_ns)
    return ETIMEDOUT;
  struct timespec ts = {(time_t)(deadline_ns / 1000000000u),
                        (long)(deadline_ns % 1000000000u)};
  int rc = pthread_cond_timedwait(&q->cv, &q->mu, &ts);
  return rc == ETIMEDOUT && sharc__now_ns() < deadline_ns ? 0 : rc;
}

static uint64_t deadline(double timeout_s) {
  if (timeout_s < 0 || timeout_s > 1e9)
    return UINT64_MAX;
  return sharc__now_ns() + (uint64_t)(timeout_s * 1e9);
}

static void notify(sharc_job *job) {
  uint64_t one = 1;
  if (write(job->efd, &one, sizeof one) < 0) {
    /* the counter is full: it is readable anyway */
  }
}

static void job_release(sharc_job *job) {
  if (job->all_prev != NULL) {
    *job->all_prev = job->all_next;
    if (job->all_next != NULL)
      job->all_next->all_prev = job->all_prev;
  }
  sharc_report_free(&job->rep);
  if (job->efd >= 0)
    close(job->efd);
  free(job->args);
  free(job->trace_path);
  free(job->journal_path);
  free(job->have);
  free(job->rq);
  free(job);
}

/* --- the done map, seen from the coordinator ----------------------------- */

static int rq_push(sharc_job *job, uint64_t b, uint64_t e) {
  if (job->rq_len > 0) {
    uint64_t *last = job->rq[(job->rq_head + job->rq_len - 1) % job->rq_cap];
    if (last[1] == b) {
      last[1] = e;
      return 0;
    }
  }
  if (job->rq_len == job->rq_cap) {
    size_t cap = job->rq_cap ? 2 * job->rq_cap : 64;
    uint64_t(*rq)[2] = malloc(cap * sizeof *rq);
    if (rq == NULL)
      return SHARC_ENOMEM;
    for (size_t i = 0; i < job->rq_len; i++) {
      rq[i][0] = job->rq[(job->rq_head + i) % job->rq_cap][0];
      rq[i][1] = job->rq[(job->rq_head + i) % job->rq_cap][1];
    }
    free(job->rq);
    job->rq = rq;
    job->rq_cap = cap;
    job->rq_head = 0;
  }
  uint64_t *slot = job->rq[(job->rq_head + job->rq_len) % job->rq_cap];
  slot[0] = b;
  slot[1] = e;
  job->rq_len++;
  return 0;
}

/* The ranges [b, e) found new in one look, for on_range. */
typedef struct found {
  uint64_t (*r)[2];
  size_t len, cap;
} found;

/* Returns 0, or SHARC_ENOMEM: the callback would miss [b, e), and the
 * job must not then claim that every range was given. */
static int found_add(found *f, uint64_t b, uint64_t e) {
  if (f->len > 0 && f->r[f->len - 1][1] == b) {
    f->r[f->len - 1][1] = e;
    return 0;
  }
  if (f->len == f->cap) {
    size_t cap = f->cap ? 2 * f->cap : 16;
    void *r = realloc(f->r, cap * sizeof *f->r);
    if (r == NULL)
      return SHARC_ENOMEM;
    f->r = r;
    f->cap = cap;
  }
  f->r[f->len][0] = b;
  f->r[f->len][1] = e;
  f->len++;
  return 0;
}

/* The progress hook (job_int.h): blocks the workers marked since the last
 * look go to the streams; the job's fd is written if any did. */
static void job_progress(const job_state *js, void *arg) {
  sharc_job *job = arg;
  struct sharc__queue *q = js->pool->queue;
  found f = {NULL, 0, 0};
  lock(q);
  job->passes = js->fr.passes + 1;
  job->failures = js->fr.deaths + js->fr.kernel_errors + js->ndead +
                  js->deaths_mid;
  /* Without a done map: what the workers of this pass say they did. */
  if (!job->stream) {
    uint64_t done = 0;
    for (unsigned w = 0; w < js->pool->nworkers; w++) {
      const sharc__slot *s = &js->pool->cb->slots[w];
      if (s->started_seq == js->seq)
        done += __atomic_load_n(&s->indices, __ATOMIC_RELAXED);
    }
    done = done < js->n ? done : js->n;
    job->done = done > job->done ? done : job->done;
  }
  const sharc__journal *jn = job->stream ? js->journal : NULL;
  if (jn != NULL && job->have == NULL) {
    job->have = calloc(jn->words, sizeof *job->have);
    job->block = jn->block;
    job->nblocks = jn->nblocks;
    job->words = jn->words;
  }
  int news = 0;
  if (jn != NULL && job->have != NULL && jn->words == job->words) {
    const _Atomic uint64_t *bits = sharc_array_data(jn->bits);
    uint64_t B = job->block;
    for (uint64_t w = 0; w < job->words; w++) {
      uint64_t v = atomic_load_explicit(&bits[w], memory_order_acquire) &
                   ~job->have[w];
      if (w == job->nblocks / 64) /* bits past the last block: nonsense */
        v &= (UINT64_C(1) << (job->nblocks % 64)) - 1;
      if (v == 0)
        continue;
      job->have[w] |= v;
      news = 1;
      while (v != 0) {
        unsigned lo = (unsigned)__builtin_ctzll(v);
        uint64_t run = v >> lo;
        unsigned len = run == UINT64_MAX ? 64 - lo
                                         : (unsigned)__builtin_ctzll(~run);
        uint64_t b = (w * 64 + lo) * B, e = (w * 64 + lo + len) * B;
        if (e > job->n)
          e = job->n;
        job->done += e - b;
        /* Out of memory, a range would be lost to a stream: the job then
         * ends with SHARC_ENOMEM rather than success. */
        if (rq_push(job, b, e) != 0 ||
            (job->on_range != NULL && found_add(&f, b, e) != 0))
          job->status = SHARC_ENOMEM;
        v = len == 64 ? 0 : v & ~(((UINT64_C(1) << len) - 1) << lo);
      }
    }
    while (job->prefix < job->nblocks &&
           (job->have[job->prefix / 64] >> (job->prefix % 64) & 1))
      job->prefix++;
  }
  if (news) {
    notify(job);
    pthread_cond_broadcast(&q->cv);
  }
  unlock(q);
  for (size_t i = 0; i < f.len; i++)
    job->on_range(job, f.r[i][0], f.r[i][1], job->on_range_arg);
  free(f.r);
}

/* The indices of [b, e) that were not quarantined go to the streams. */
static int give_unquarantined(sharc_job *job, found *f, uint64_t b,
                              uint64_t e) {
  const sharc_report *rep = &job->rep;
  int rc = 0;
  while (b < e) {
    /* the lowest quarantined range that reaches into [b, e) */
    uint64_t qb = e, qe = e;
    for (unsigned k = 0; k < rep->nquarantined; k++) {
      const sharc_quarantined *q = &rep->quarantined[k];
      if (q->end > b && q->begin < e && q->begin < qb) {
        qb = q->begin > b ? q->begin : b;
        qe = q->end < e ? q->end : e;
      }
    }
    if (b < qb) {
      job->done += qb - b;
      if (rq_push(job, b, qb) != 0 ||
          (job->on_range != NULL && found_add(f, b, qb) != 0))
        rc = SHARC_ENOMEM;
    }
    b = qe;
  }
  return rc;
}

/* A stream's job that completed every index but those it quarantined
 * (status 0 or SHARC_EQUARANTINED): workers mark a block of the done map
 * only when one chunk covered it whole, and the job's end marks the blocks
 * that retries completed in pieces (sharc__journal_complete), but not a
 * block holding a quarantined index (n > 2^20: blocks are coarser than
 * the grain failing ranges narrow down to). Such a block's other indices
 * go to the streams now, and the ordered stream ends at the first
 * quarantined index (n if none). Called with the lock, after the map's
 * last look. */
static int stream_complete(sharc_job *job, int status, found *f) {
  const sharc_report *rep = &job->rep;
  if (status == SHARC_EQUARANTINED && rep->nquarantined == 0)
    return SHARC_ENOMEM; /* the report could not keep the list */
  uint64_t first_q = job->n;
  for (unsigned k = 0; k < rep->nquarantined; k++)
    if (rep->quarantined[k].begin < first_q)
      first_q = rep->quarantined[k].begin;
  job->upto_end = first_q;
  if (job->have == NULL) /* no look at the map: nothing was given yet */
    return job->n == 0 ? 0 : give_unquarantined(job, f, 0, job->n);
  int rc = 0;
  for (uint64_t k = 0; k < job->nblocks; k++) {
    if (job->have[k / 64] >> (k % 64) & 1)
      continue;
    uint64_t b = k * job->block, e = b + job->block;
    if (give_unquarantined(job, f, b, e < job->n ? e : job->n) != 0)
      rc = SHARC_ENOMEM;
  }
  return rc;
}

/* --- running ------------------------------------------------------------- */

/* Runs job (taken off the queue, marked running) and publishes its end.
 * Called without the lock. */
static void run_queued(sharc_pool *pool, sharc_job *job) {
  struct sharc__queue *q = pool->queue;
  sharc__job_hooks hooks = {job->stream, job_progress, job, 0, 0, NULL};
  pool->msg[0] = '\0';
  int rc = sharc__job_execute(pool, job->kernel, job->n, &job->opts.o,
                              &job->rep, &hooks);
  if (job->stream && (rc == 0 || rc == SHARC_EQUARANTINED)) {
    found f = {NULL, 0, 0};
    lock(q);
    if (job->status == 0 && stream_complete(job, rc, &f) != 0)
      job->status = SHARC_ENOMEM;
    unlock(q);
    for (size_t i = 0; i < f.len; i++)
      job->on_range(job, f.r[i][0], f.r[i][1], job->on_range_arg);
    free(f.r);
  }
  lock(q);
  snprintf(job->msg, sizeof job->msg, "%s", rc != 0 ? pool->msg : "");
  if (job->status == 0) {
    job->status = rc;
  } else if (rc == 0) { /* the job ran, but a stream lost ranges */
    snprintf(job->msg, sizeof job->msg, "'%s': out of memory keeping the "
             "stream's completed ranges", job->kernel);
    job->rep.status = job->status;
    sharc__text_set(&job->rep.error, "%s", job->msg);
  }
  /* A cancel asked for this job and not consumed by it must not cancel
   * the next one. */
  if (job->cancel_req)
    atomic_store(&pool->cb->cancel, 0);
  job->state = SHARC_JOB_DONE;
  job->end_ns = sharc__now_ns();
  q->running = NULL;
  q->busy = 0;
  notify(job);
  pthread_cond_broadcast(&q->cv);
  if (job->released)
    job_release(job);
  unlock(q);
}

static void *driver(void *arg) {
  sharc_pool *pool = arg;
  struct sharc__queue *q = pool->queue;
  lock(q);
  for (;;) {
    while (!q->stopping && (q->head == NULL || q->busy))
      pthread_cond_wait(&q->cv, &q->mu);
    if (q->stopping && (q->head == NULL || q->busy))
      break;
    sharc_job *job = q->head;
    q->head = job->next;
    if (q->head == NULL)
      q->tail = NULL;
    q->len--;
    job->next = NULL;
    job->state = SHARC_JOB_RUNNING;
    job->start_ns = sharc__now_ns();
    q->running = job;
    q->busy = 1;
    pthread_cond_broadcast(&q->cv); /* room in the queue */
    unlock(q);
    run_queued(pool, job);
    lock(q);
  }
  unlock(q);
  return NULL;
}

/* Starts the driver thread with every signal blocked, so signals sent to
 * the process go to the program's own threads. Called with the lock. */
static int start_driver(sharc_pool *pool) {
  struct sharc__queue *q = pool->queue;
  if (q->thread_started)
    return 0;
  sigset_t all, old;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &old);
  int rc = pthread_create(&q->thread, NULL, driver, pool);
  pthread_sigmask(SIG_SETMASK, &old, NULL);
  if (rc != 0)
    return -rc;
  q->thread_started = 1;
  return 0;
}

/* --- submitting ---------------------------------------------------------- */

static char *dup_or_null(const char *s, int *nomem) {
  if (s == NULL)
    return NULL;
  char *d = strdup(s);
  if (d == NULL)
    *nomem = 1;
  return d;
}

static int job_new(sharc_pool *pool, const char *kernel, uint64_t n,
                   const sharc_job_opts *o, const sharc_submit_opts *so,
                   sharc_job **out) {
  if (kernel == NULL || strlen(kernel) >= SHARC_KERNEL_NAME_MAX ||
      o->size != sizeof *o || o->args_len > SHARC_MAX_ARGS ||
      (o->args_len && o->args == NULL))
    return SHARC_EINVAL;
  sharc_job *job = calloc(1, sizeof *job);
  if (job == NULL)
    return SHARC_ENOMEM;
  job->pool = pool;
  job->rep.size = sizeof job->rep;
  sharc__report_begin(NULL, &job->rep);
  job->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  snprintf(job->kernel, sizeof job->kernel, "%s", kernel);
  job->n = n;
  int rc = sharc__opts_copy(NULL, &job->opts, o);
  if (rc != 0) {
    job_release(job);
    return rc;
  }
  int nomem = job->efd < 0;
  if (o->args_len > 0) {
    job->args = malloc(o->args_len);
    if (job->args != NULL)
      memcpy(job->args, o->args, o->args_len);
    nomem |= job->args == NULL;
    job->opts.o.args = job->args;
  }
  job->trace_path = dup_or_null(o->trace_path, &nomem);
  job->journal_path = dup_or_null(o->journal_path, &nomem);
  job->opts.o.trace_path = job->trace_path;
  job->opts.o.journal_path = job->journal_path;
  job->stream = so->stream || so->on_range != NULL;
  job->on_range = so->on_range;
  job->on_range_arg = so->on_range_arg;
  job->state = SHARC_JOB_QUEUED;
  if (nomem) {
    job_release(job);
    return SHARC_ENOMEM;
  }
  *out = job;
  return 0;
}

/* Puts job at the queue's end, waiting for room unless nowait. Called with
 * the lock. */
static int enqueue(sharc_pool *pool, sharc_job *job, int nowait) {
  struct sharc__queue *q = pool->queue;
  while (!q->closed && q->len >= q->max) {
    if (nowait)
      return SHARC_EAGAIN;
    pthread_cond_wait(&q->cv, &q->mu);
  }
  if (q->closed)
    return SHARC_ECLOSED;
  int rc = start_driver(pool);
  if (rc != 0)
    return rc;
  if (q->tail != NULL)
    q->tail->next = job;
  else
    q->head = job;
  q->tail = job;
  q->len++;
  job->all_next = q->all;
  if (q->all != NULL)
    q->all->all_prev = &job->all_next;
  q->all = job;
  job->all_prev = &q->all;
  pthread_cond_broadcast(&q->cv);
  return 0;
}

int sharc_submit(sharc_pool *pool, const char *kernel, uint64_t n,
                 const sharc_job_opts *opts, const sharc_submit_opts *sopts,
                 sharc_job **out) {
  static const sharc_job_opts dflt = SHARC_JOB_OPTS_INIT;
  static const sharc_submit_opts sdflt = SHARC_SUBMIT_OPTS_INIT;
  if (out != NULL)
    *out = NULL;
  if (pool == NULL || out == NULL || pool->queue == NULL ||
      sharc__pool_foreign(pool) ||
      (sopts != NULL && sopts->size != sizeof *sopts))
    return SHARC_EINVAL;
  sharc_job *job;
  int rc = job_new(pool, kernel, n, opts ? opts : &dflt, sopts ? sopts : &sdflt,
                   &job);
  if (rc != 0)
    return rc;
  lock(pool->queue);
  rc = enqueue(pool, job, sopts != NULL && sopts->nowait);
  unlock(pool->queue);
  if (rc != 0) {
    job_release(job);
    return rc;
  }
  *out = job;
  return 0;
}

/* sharc_run: the job in this thread when the pool is idle; else queued
 * like any other, and waited for. */
int sharc__run_if_idle(sharc_pool *pool, const char *kernel, uint64_t n,
                       const sharc_job_opts *o, sharc_report *rep,
                       const sharc__job_hooks *hooks, int *ran) {
  struct sharc__queue *q = pool->queue;
  *ran = 1;
  sharc__own_msg_drop(pool); /* this call's message is the pool's */
  lock(q);
  if (q->closed) {
    /* the message only when no job writes it meanwhile */
    int rc = q->busy ? SHARC_ECLOSED
                     : sharc__fail(pool, SHARC_ECLOSED,
                                   "the pool was closed: it takes no new jobs");
    unlock(q);
    return rc;
  }
  if (!q->busy && q->head == NULL) {
    q->busy = 1;
    unlock(q);
    pool->msg[0] = '\0'; /* the pool's message is this job's from here */
    int rc = sharc__job_execute(pool, kernel, n, o, rep, hooks);
    lock(q);
    q->busy = 0;
    /* Only the driver (for a job queued meanwhile) and joiners wait for a
     * pool that is no longer busy: waking the driver after every job would
     * cost sharc_run a context switch (10 us becomes 25-45 us). */
    if (q->head != NULL || q->joiners > 0)
      pthread_cond_broadcast(&q->cv);
    unlock(q);
    return rc;
  }
  unlock(q);
  *ran = 0;
  return 0;
}

int sharc__run_or_queue(sharc_pool *pool, const char *kernel, uint64_t n,
                        const sharc_job_opts *o, sharc_report *rep) {
  struct sharc__queue *q = pool->queue;
  int ran;
  int rc = sharc__run_if_idle(pool, kernel, n, o, rep, NULL, &ran);
  if (ran)
    return rc;
  sharc_job *job;
  rc = sharc_submit(pool, kernel, n, o, NULL, &job);
  if (rc != 0)
    return rc;
  rc = sharc_job_wait(job, -1);
  /* The pool's buffer may hold a later job's message by now: this
   * thread's sharc_pool_errmsg() gives this job's. */
  sharc__own_msg_enter(pool);
  snprintf(sharc__msgbuf(pool), SHARC__MSG_LEN, "%s", job->msg);
  sharc__own_msg_leave();
  if (rep != NULL) { /* the report moves to the caller */
    lock(q);
    *rep = job->rep;
    memset(&job->rep, 0, sizeof job->rep);
    unlock(q);
  }
  sharc_job_free(job);
  return rc;
}

/* --- the handle ---------------------------------------------------------- */

/* The job's queue, or NULL when the handle may not be used here. */
static struct sharc__queue *usable(const sharc_job *job) {
  if (job == NULL || job->pool == NULL || sharc__pool_foreign(job->pool))
    return NULL;
  return job->pool->queue;
}

int sharc_job_wait(sharc_job *job, double timeout_s) {
  struct sharc__queue *q = usable(job);
  if (q == NULL)
    return job != NULL && job->state == SHARC_JOB_DONE ? job->status
                                                       : SHARC_EINVAL;
  uint64_t until = deadline(timeout_s);
  lock(q);
  int rc = 0;
  while (job->state != SHARC_JOB_DONE && rc == 0)
    rc = wait_until(q, until);
  rc = job->state == SHARC_JOB_DONE ? job->status : SHARC_ETIMEDOUT;
  unlock(q);
  return rc;
}

const sharc_report *sharc_job_report(const sharc_job *job) {
  return job != NULL && job->state == SHARC_JOB_DONE ? &job->rep : NULL;
}

const char *sharc_job_errmsg(const sharc_job *job) {
  return job != NULL && job->state == SHARC_JOB_DONE ? job->msg : "";
}

int sharc_job_fd(const sharc_job *job) { return job ? job->efd : -1; }

static void unqueue(struct sharc__queue *q, sharc_job *job) {
  sharc_job **pp = &q->head, *prev = NULL;
  while (*pp != NULL && *pp != job) {
    prev = *pp;
    pp = &(*pp)->next;
  }
  if (*pp == NULL)
    return;
  *pp = job->next;
  if (q->tail == job)
    q->tail = prev;
  q->len--;
  job->next = NULL;
}

/* A queued job ends cancelled without running. Called with the lock. */
static void cancel_queued(struct sharc__queue *q, sharc_job *job) {
  unqueue(q, job);
  job->state = SHARC_JOB_DONE;
  job->status = SHARC_ECANCELED;
  snprintf(job->msg, sizeof job->msg, "'%s' cancelled while queued",
           job->kernel);
  sharc_report *rep = &job->rep; /* what a job that never ran reports */
  sharc__text_set(&rep->kernel, "%s", job->kernel);
  rep->n = job->n;
  rep->schedule = job->opts.o.schedule;
  rep->status = SHARC_ECANCELED;
  sharc__text_set(&rep->error, "%s", job->msg);
  notify(job);
  pthread_cond_broadcast(&q->cv);
  if (job->released)
    job_release(job);
}

int sharc_job_cancel(sharc_job *job) {
  struct sharc__queue *q = usable(job);
  if (q == NULL)
    return SHARC_EINVAL;
  lock(q);
  if (job->state == SHARC_JOB_QUEUED) {
    cancel_queued(q, job);
  } else if (job->state == SHARC_JOB_RUNNING) {
    job->cancel_req = 1;
    sharc_pool_cancel(job->pool);
  }
  unlock(q);
  return 0;
}

void sharc_job_free(sharc_job *job) {
  if (job == NULL)
    return;
  struct sharc__queue *q = usable(job);
  if (q == NULL) { /* the pool is gone, or this is a forked child's copy */
    job->all_prev = NULL;
    job_release(job);
    return;
  }
  lock(q);
  if (job->state == SHARC_JOB_DONE)
    job_release(job);
  else
    job->released = 1; /* the driver releases it at the end */
  unlock(q);
}

int sharc_job_progress(const sharc_job *job, sharc_progress *p) {
  struct sharc__queue *q = usable(job);
  if (q == NULL || p == NULL || p->size != sizeof *p)
    return SHARC_EINVAL;
  lock(q);
  p->state = job->state;
  p->n = job->n;
  p->live = job->stream;
  p->done = job->done;
  if (job->state == SHARC_JOB_DONE)
    p->done = job->rep.indices;
  p->passes = job->state == SHARC_JOB_DONE ? job->rep.passes : job->passes;
  p->failures = job->state == SHARC_JOB_DONE
                    ? job->rep.deaths + job->rep.kernel_errors
                    : job->failures;
  uint64_t end = job->state == SHARC_JOB_DONE ? job->end_ns : sharc__now_ns();
  p->elapsed_s = job->start_ns ? (double)(end - job->start_ns) * 1e-9 : 0;
  unlock(q);
  return 0;
}

/* The unordered stream's next range into out[0..1]; 0 if none yet. */
static int take_range(sharc_job *job, uint64_t *out) {
  if (job->rq_len == 0)
    return 0;
  out[0] = job->rq[job->rq_head][0];
  out[1] = job->rq[job->rq_head][1];
  job->rq_head = (job->rq_head + 1) % job->rq_cap;
  job->rq_len--;
  return 1;
}

/* The ordered stream: the completed prefix's end into out[0] if it grew
 * since it was last given; 0 if not. */
static int take_prefix(sharc_job *job, uint64_t *out) {
  uint64_t idx = job->upto_end ? job->upto_end : job->prefix * job->block;
  if (idx > job->n)
    idx = job->n;
  if (idx <= job->ordered)
    return 0;
  job->ordered = out[0] = idx;
  return 1;
}

/* Waits until take gives something (1), the job has ended and nothing is
 * left to give (0), or the timeout passed (SHARC_ETIMEDOUT). */
static int stream_next(sharc_job *job, double timeout_s,
                       int (*take)(sharc_job *, uint64_t *), uint64_t *out) {
  struct sharc__queue *q = usable(job);
  if (q == NULL || !job->stream)
    return SHARC_EINVAL;
  uint64_t until = deadline(timeout_s);
  lock(q);
  int rc;
  for (;;) {
    if (take(job, out)) {
      rc = 1;
      break;
    }
    if (job->state == SHARC_JOB_DONE) {
      rc = 0;
      break;
    }
    if (wait_until(q, until) != 0) {
      rc = SHARC_ETIMEDOUT;
      break;
    }
  }
  unlock(q);
  return rc;
}

int sharc_job_next(sharc_job *job, uint64_t *begin, uint64_t *end,
                   double timeout_s) {
  if (begin == NULL || end == NULL)
    return SHARC_EINVAL;
  uint64_t r[2];
  int rc = stream_next(job, timeout_s, take_range, r);
  if (rc == 1) {
    *begin = r[0];
    *end = r[1];
  }
  return rc;
}

int sharc_job_next_ordered(sharc_job *job, uint64_t *upto, double timeout_s) {
  if (upto == NULL)
    return SHARC_EINVAL;
  return stream_next(job, timeout_s, take_prefix, upto);
}

/* --- the pool's side ----------------------------------------------------- */

int sharc_pool_set_queue_max(sharc_pool *pool, unsigned max) {
  if (pool == NULL || pool->queue == NULL || max == 0 ||
      sharc__pool_foreign(pool))
    return SHARC_EINVAL;
  lock(pool->queue);
  pool->queue->max = max;
  pthread_cond_broadcast(&pool->queue->cv);
  unlock(pool->queue);
  return 0;
}

int sharc_pool_close(sharc_pool *pool) {
  if (pool == NULL || pool->queue == NULL || sharc__pool_foreign(pool))
    return SHARC_EINVAL;
  lock(pool->queue);
  pool->queue->closed = 1;
  pthread_cond_broadcast(&pool->queue->cv);
  unlock(pool->queue);
  return 0;
}

int sharc_pool_terminate(sharc_pool *pool) {
  if (pool == NULL || pool->queue == NULL || sharc__pool_foreign(pool))
    return SHARC_EINVAL;
  struct sharc__queue *q = pool->queue;
  lock(q);
  q->closed = 1;
  while (q->head != NULL)
    cancel_queued(q, q->head);
  if (q->busy) {
    atomic_store(&q->no_grace, 1);
    if (q->running != NULL)
      q->running->cancel_req = 1;
    sharc_pool_cancel(pool);
  }
  pthread_cond_broadcast(&q->cv);
  unlock(q);
  return 0;
}

int sharc_pool_join(sharc_pool *pool, double timeout_s) {
  if (pool == NULL || pool->queue == NULL || sharc__pool_foreign(pool))
    return SHARC_EINVAL;
  struct sharc__queue *q = pool->queue;
  uint64_t until = deadline(timeout_s);
  lock(q);
  int rc = q->closed ? 0 : SHARC_EINVAL;
  q->joiners++;
  while (rc == 0 && (q->busy || q->head != NULL))
    if (wait_until(q, until) != 0)
      rc = SHARC_ETIMEDOUT;
  q->joiners--;
  unlock(q);
  return rc;
}

/* sharc_pool_destroy: terminate, join, stop the driver; handles still held
 * are orphaned (they keep their status, report and message; sharc/job.h).
 * In a forked child the driver is not there and the lock may be held by a
 * thread that is not there either: only the memory goes. pool->queue
 * stays set until the driver has ended: the driver reads it. */
void sharc__queue_stop(sharc_pool *pool) {
  struct sharc__queue *q = pool->queue;
  if (q == NULL)
    return;
  if (sharc__pool_foreign(pool)) {
    pool->queue = NULL;
    free(q);
    return;
  }
  sharc_pool_terminate(pool);
  sharc_pool_join(pool, -1);
  lock(q);
  q->stopping = 1;
  pthread_cond_broadcast(&q->cv);
  unlock(q);
  if (q->thread_started)
    pthread_join(q->thread, NULL);
  for (sharc_job *j = q->all; j != NULL; j = j->all_next) {
    j->pool = NULL;
    j->all_prev = NULL;
  }
  pool->queue = NULL;
  pthread_cond_destroy(&q->cv);
  pthread_mutex_destroy(&q->mu);
  free(q);
}
