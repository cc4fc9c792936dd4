/* Jobs: post a kernel to the workers, wait while watching them, check what
 * they wrote, and report. */
#include <poll.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "internal.h"
#include "report_int.h"

/* The largest n: keeps the shared claim counter far from overflow. */
#define SHARC__MAX_N (UINT64_C(1) << 62)
/* How often the coordinator looks at the slots even without a wake-up: the
 * words that decide wake-ups (sleepers, coord_waiting) live in the control
 * block, which a worker may corrupt. */
#define SHARC__POLL_MS 100
/* How long the coordinator spins for a job to finish before it sleeps. */
#define SHARC__COORD_SPIN_NS 50000u

typedef struct job_state {
  const char *kernel;
  uint64_t n;
  uint32_t seq;
  uint64_t post_ns, done_ns;
  unsigned ndead;
  int first_dead;      /* lowest dead worker, or -1 */
  char dead_why[192];  /* how it died */
  uint64_t dead_range[2];
  uint32_t trace_id; /* 0: no trace */
  uint64_t trace_cap;
} job_state;

static int check_job(sharc_pool *pool, const char *kernel, uint64_t n,
                     const sharc_job_opts *o) {
  if (pool->broken)
    return sharc__fail(pool, SHARC_ECLOSED,
                       "the pool lost workers it could not replace");
  if (kernel == NULL || strlen(kernel) >= SHARC_KERNEL_NAME_MAX)
    return sharc__fail(pool, SHARC_EINVAL, "kernel name missing or too long");
  if (sharc_kernel_find(kernel) == NULL)
    return sharc__fail(pool, SHARC_ENOKERNEL,
                       "no kernel named '%s' is registered (%u known)", kernel,
                       sharc_kernel_count());
  if (n > SHARC__MAX_N)
    return sharc__fail(pool, SHARC_ERANGE, "n = %llu exceeds 2^62",
                       (unsigned long long)n);
  if ((unsigned)o->schedule.kind > SHARC_SCHED_WF)
    return sharc__fail(pool, SHARC_EINVAL, "unknown schedule kind %d",
                       (int)o->schedule.kind);
  if (o->grain > SHARC__MAX_N)
    return sharc__fail(pool, SHARC_EINVAL, "grain %llu exceeds 2^62",
                       (unsigned long long)o->grain);
  if (o->args_len > SHARC_MAX_ARGS || (o->args_len && o->args == NULL))
    return sharc__fail(pool, SHARC_EINVAL,
                       "argument bytes: %zu given, at most %d", o->args_len,
                       SHARC_MAX_ARGS);
  if (o->narrays > SHARC_MAX_JOB_ARRAYS)
    return sharc__fail(pool, SHARC_EINVAL, "%u arrays, at most %d",
                       o->narrays, SHARC_MAX_JOB_ARRAYS);
  for (unsigned i = 0; i < o->narrays; i++) {
    if (o->arrays[i] == NULL || o->arrays[i]->pool != pool)
      return sharc__fail(pool, SHARC_EINVAL,
                         "array %u of the job is NULL or from another pool", i);
  }
  return 0;
}

/* Arrays made after a worker started reach it now, before the job is
 * posted, so they are waiting in its socket when it wakes. */
static int deliver_arrays(sharc_pool *pool, const sharc_job_opts *o) {
  for (unsigned i = 0; i < o->narrays; i++) {
    sharc_array *a = o->arrays[i];
    for (unsigned w = 0; w < pool->nworkers; w++) {
      if (a->known[w])
        continue;
      int rc = sharc__array_send(pool, a, w);
      if (rc != 0)
        return rc;
    }
  }
  return 0;
}

static void post_job(sharc_pool *pool, job_state *js,
                     const sharc_job_opts *o) {
  sharc__cb *cb = pool->cb;
  sharc__job_desc *d = &cb->job;
  memset(d->kernel, 0, sizeof d->kernel);
  strcpy(d->kernel, js->kernel);
  d->n = js->n;
  d->sched_kind = (uint32_t)o->schedule.kind;
  d->chunk = o->schedule.chunk;
  d->grain = o->grain > 1 ? o->grain : 1;
  d->nworkers = pool->nworkers;
  d->narrays = o->narrays;
  for (unsigned i = 0; i < o->narrays; i++)
    d->array_ids[i] = o->arrays[i]->id;
  d->args_len = (uint32_t)o->args_len;
  if (o->args_len)
    memcpy(d->args, o->args, o->args_len);
  d->measure_rusage = o->measure_rusage ? 1 : 0;
  d->trace_id = js->trace_id;
  d->trace_cap = js->trace_cap;
  d->mail = (uint32_t)pool->mail;
  pool->mail = 0;
  atomic_store_explicit(&cb->next, 0, memory_order_relaxed);
  /* Every worker's range is in place before any worker can look for one
   * to steal from; speeds measured in an earlier job do not carry over. */
  if (o->schedule.kind == SHARC_SCHED_AUTO)
    sharc__auto_post(sharc__cb_ranges(cb, pool->nworkers), pool->nworkers,
                     js->n / d->grain + (js->n % d->grain != 0));
  if (o->schedule.kind == SHARC_SCHED_WF) {
    for (unsigned w = 0; w < pool->nworkers; w++)
      atomic_store_explicit(&cb->slots[w].cost_bits, 0, memory_order_relaxed);
  }
  js->post_ns = sharc__now_ns();
  d->post_ns = js->post_ns;
  js->seq = atomic_load_explicit(&cb->seq, memory_order_relaxed) + 1;
  atomic_store(&cb->seq, js->seq);
  /* Skip the system call when every worker is still spinning (see the
   * sleepers protocol in worker.c). */
  if (atomic_load(&cb->sleepers) != 0)
    sharc__futex_wake_all(&cb->seq);
}

static int all_done(sharc_pool *pool, const job_state *js) {
  for (unsigned w = 0; w < pool->nworkers; w++) {
    if (pool->w[w].pid > 0 &&
        atomic_load_explicit(&pool->cb->slots[w].done_seq,
                             memory_order_acquire) != js->seq)
      return 0;
  }
  return 1;
}

static void record_death(sharc_pool *pool, job_state *js, unsigned w) {
  sharc__slot *slot = &pool->cb->slots[w];
  uint64_t b = slot->cur_begin, e = slot->cur_end;
  char why[128];
  pid_t pid = pool->w[w].pid;
  sharc__worker_reap(pool, w, why, sizeof why);
  js->ndead++;
  if (js->first_dead < 0) {
    js->first_dead = (int)w;
    snprintf(js->dead_why, sizeof js->dead_why, "(pid %d) %s", (int)pid, why);
    /* The range comes from the control block: believe it only if sane. */
    int sane = b <= e && e <= js->n;
    js->dead_range[0] = sane ? b : 0;
    js->dead_range[1] = sane ? e : 0;
  }
}

/* While waiting, the words that decide completion must stay plausible, or
 * a scribbling worker could keep the coordinator waiting forever. */
static int check_progress(sharc_pool *pool, const job_state *js) {
  const sharc__cb *cb = pool->cb;
  uint32_t seq = atomic_load(&cb->seq);
  if (seq != js->seq)
    return sharc__fail(pool, SHARC_ECORRUPT,
                       "control block: header field job sequence is %u, "
                       "expected %u; workers restarted", seq, js->seq);
  for (unsigned w = 0; w < pool->nworkers; w++) {
    uint32_t done = atomic_load(&cb->slots[w].done_seq);
    if (pool->w[w].pid > 0 && done != js->seq && done != js->seq - 1)
      return sharc__fail(pool, SHARC_ECORRUPT,
                         "control block: worker %u wrote an impossible "
                         "done_seq (%u, job %u); workers restarted", w, done,
                         js->seq);
  }
  return 0;
}

/* Spins a little while the workers finish: a short job then costs no
 * sleep and wake-up. With a PU free for the coordinator it spins for up to
 * SHARC__COORD_SPIN_NS; with a worker on every PU it yields instead, a
 * bounded number of times, so the worker sharing its PU runs at once
 * (measured in docs/performance.md: both beat sleeping straight away).
 * It reads only the done_seq words, which have cache lines of their own. */
static void spin_a_little(sharc_pool *pool, const job_state *js) {
  int share_pu = sharc__pool_shares_pu(pool);
  uint64_t until = sharc__now_ns() + SHARC__COORD_SPIN_NS;
  for (unsigned i = 0;; i++) {
    if (all_done(pool, js))
      return;
    if (share_pu) {
      if (i == SHARC__YIELDS_MAX)
        return;
      sched_yield();
      continue;
    }
    sharc__cpu_relax();
    if ((i & 15) == 15 && sharc__now_ns() >= until)
      return;
  }
}

/* Sleeps in poll() on the eventfd and the workers' pidfds until every live
 * worker finished the job, so a worker that dies is seen at once and never
 * waited for. */
static int sleep_until_done(sharc_pool *pool, job_state *js) {
  struct pollfd pfd[SHARC__MAX_WORKERS + 1];
  for (;;) {
    if (all_done(pool, js))
      return 0;
    int rc = check_progress(pool, js);
    if (rc != 0)
      return rc;
    unsigned n = 0;
    pfd[n++] = (struct pollfd){pool->evfd, POLLIN, 0};
    for (unsigned w = 0; w < pool->nworkers; w++)
      pfd[n++] = (struct pollfd){pool->w[w].pidfd, POLLIN, 0};
    int ready = poll(pfd, n, SHARC__POLL_MS);
    if (ready < 0 && errno != EINTR)
      return sharc__fail(pool, -errno, "poll: %s", strerror(errno));
    /* Nothing for a while: in case a scribbled sleepers count made the post
     * skip the wake-up, wake everyone (harmless to workers that are busy). */
    if (ready == 0)
      sharc__futex_wake_all(&pool->cb->seq);
    uint64_t drain;
    if (pfd[0].revents & POLLIN) {
      if (read(pool->evfd, &drain, sizeof drain) < 0) { /* raced: empty */
      }
    }
    for (unsigned w = 0; w < pool->nworkers; w++) {
      if (pfd[w + 1].fd >= 0 && (pfd[w + 1].revents & (POLLIN | POLLHUP)))
        record_death(pool, js, w);
    }
  }
}

static int wait_job(sharc_pool *pool, job_state *js) {
  spin_a_little(pool, js);
  atomic_store(&pool->cb->coord_waiting, 1);
  int rc = sleep_until_done(pool, js);
  atomic_store(&pool->cb->coord_waiting, 0);
  return rc;
}

#define CORRUPT(pool, w, field, value)                                         \
  sharc__fail(pool, SHARC_ECORRUPT,                                            \
              "control block: worker %u wrote an impossible %s (%llu); "       \
              "workers restarted",                                             \
              w, field, (unsigned long long)(value))

/* The control block is untrusted: check each value before it is used. */
static int check_slot(sharc_pool *pool, const job_state *js, unsigned w) {
  const sharc__slot *s = &pool->cb->slots[w];
  uint64_t wall = js->done_ns - js->post_ns + 1000; /* clock slack */
  if (s->indices > js->n)
    return CORRUPT(pool, w, "index count", s->indices);
  if (s->chunks > s->indices)
    return CORRUPT(pool, w, "chunk count", s->chunks);
  if (s->steals > js->n)
    return CORRUPT(pool, w, "steal count", s->steals);
  if (s->cur_begin > s->cur_end || s->cur_end > js->n)
    return CORRUPT(pool, w, "current range end", s->cur_end);
  if (s->end_ns > wall)
    return CORRUPT(pool, w, "finish time (ns)", s->end_ns);
  if (s->wake_ns > s->end_ns)
    return CORRUPT(pool, w, "wake-up time (ns)", s->wake_ns);
  if (s->busy_ns > s->end_ns)
    return CORRUPT(pool, w, "busy time (ns)", s->busy_ns);
  if (s->claim_ns > s->end_ns)
    return CORRUPT(pool, w, "claim time (ns)", s->claim_ns);
  if (s->cpu_ns > wall + 20000000u)
    return CORRUPT(pool, w, "CPU time (ns)", s->cpu_ns);
  if (s->peak_rss > (UINT64_C(1) << 50) || s->private_bytes > (UINT64_C(1) << 50))
    return CORRUPT(pool, w, "memory figure", s->peak_rss);
  return 0;
}

static int check_header(sharc_pool *pool, const job_state *js) {
  const sharc__cb *cb = pool->cb;
  const char *field = NULL;
  uint64_t value = 0;
  if (cb->magic != SHARC__CB_MAGIC)
    field = "magic", value = cb->magic;
  else if (cb->version != SHARC__CB_VERSION)
    field = "version", value = cb->version;
  else if (cb->nslots != pool->nworkers)
    field = "slot count", value = cb->nslots;
  else if (cb->size != pool->cb_len)
    field = "size", value = cb->size;
  else if (atomic_load(&cb->seq) != js->seq)
    field = "job sequence", value = atomic_load(&cb->seq);
  else if (atomic_load(&cb->shutdown) != 0)
    field = "shutdown flag", value = atomic_load(&cb->shutdown);
  if (field == NULL)
    return 0;
  return sharc__fail(pool, SHARC_ECORRUPT,
                     "control block: header field %s is %llu; workers "
                     "restarted", field, (unsigned long long)value);
}

static int check_all(sharc_pool *pool, const job_state *js) {
  int rc = check_header(pool, js);
  uint64_t indices = 0;
  for (unsigned w = 0; rc == 0 && w < pool->nworkers; w++) {
    if (pool->w[w].pid <= 0)
      continue;
    rc = check_slot(pool, js, w);
    indices += pool->cb->slots[w].indices;
  }
  if (rc == 0 && indices > js->n)
    rc = sharc__fail(pool, SHARC_ECORRUPT,
                     "control block: workers report %llu indices done of %llu; "
                     "workers restarted", (unsigned long long)indices,
                     (unsigned long long)js->n);
  return rc;
}

/* Names the failure: a death first, then a kernel error, then a shortfall. */
static int job_status(sharc_pool *pool, const job_state *js) {
  if (js->first_dead >= 0)
    return sharc__fail(pool, SHARC_EWORKER,
                       "worker %d %s while running '%s' on indices [%llu, "
                       "%llu); %u worker(s) died and were replaced",
                       js->first_dead, js->dead_why, js->kernel,
                       (unsigned long long)js->dead_range[0],
                       (unsigned long long)js->dead_range[1], js->ndead);
  uint64_t indices = 0;
  for (unsigned w = 0; w < pool->nworkers; w++) {
    const sharc__slot *s = &pool->cb->slots[w];
    indices += s->indices;
    if (s->err == 0)
      continue;
    if (s->err == SHARC_ENOKERNEL)
      return sharc__fail(pool, SHARC_ENOKERNEL,
                         "worker %u does not know kernel '%s' (registered "
                         "after the pool started?)", w, js->kernel);
    return sharc__fail(pool, SHARC_EKERNEL,
                       "worker %u: kernel '%s' returned %d (%s) on indices "
                       "[%llu, %llu)", w, js->kernel, (int)s->err,
                       sharc_strerror(s->err),
                       (unsigned long long)s->cur_begin,
                       (unsigned long long)s->cur_end);
  }
  if (indices != js->n)
    return sharc__fail(pool, SHARC_ECORRUPT,
                       "control block: workers report %llu indices done of "
                       "%llu; workers restarted", (unsigned long long)indices,
                       (unsigned long long)js->n);
  return 0;
}

static void replace_dead(sharc_pool *pool) {
  unsigned started = 0;
  for (unsigned w = 0; w < pool->nworkers; w++) {
    if (pool->w[w].pid > 0)
      continue;
    if (sharc__worker_start(pool, w) != 0) {
      pool->broken = 1;
      return;
    }
    started++;
  }
  if (started && sharc__workers_wait_ready(pool, 0, pool->nworkers) != 0)
    pool->broken = 1;
}

int sharc_run(sharc_pool *pool, const char *kernel, uint64_t n,
              const sharc_job_opts *opts, sharc_report *rep) {
  static const sharc_job_opts defaults = SHARC_JOB_OPTS_INIT;
  const sharc_job_opts *o = opts ? opts : &defaults;
  if (rep != NULL)
    memset(rep, 0, sizeof *rep);
  if (pool == NULL)
    return SHARC_EINVAL;
  pool->msg[0] = '\0';
  job_state js = {kernel, n, 0, 0, 0, 0, -1, "", {0, 0}, 0, 0};
  sharc_job_opts with_red; /* o plus its reductions' partials (reduce.c) */
  sharc__reduce_job rj;
  memset(&rj, 0, sizeof rj);
  int rc = check_job(pool, kernel, n, o);
  if (rc == 0 && (rc = sharc__reduce_prepare(pool, o, n, &with_red, &rj)) == 0)
    o = &with_red;
  if (rc == 0)
    rc = deliver_arrays(pool, o);
  if (rc == 0 && o->trace_path != NULL) {
    uint64_t g = o->grain > 1 ? o->grain : 1;
    rc = sharc__trace_prepare(pool, n / g + (n % g != 0), &js.trace_id,
                              &js.trace_cap);
  }
  if (rc != 0) {
    rc = sharc__reduce_finish(pool, &rj, rc);
    sharc__report_fill(pool, rep, kernel, n, o, NULL, rc);
    return rc;
  }
  post_job(pool, &js, o);
  rc = wait_job(pool, &js);
  js.done_ns = sharc__now_ns();
  if (rc == 0)
    rc = check_all(pool, &js);
  int corrupt = rc == SHARC_ECORRUPT;
  if (rc == 0)
    rc = job_status(pool, &js);
  corrupt |= rc == SHARC_ECORRUPT;
  rc = sharc__reduce_finish(pool, &rj, rc);
  if (o->trace_path != NULL) {
    sharc__trace_info ti = {kernel,     n,          o->schedule,
                            rc,         js.post_ns, js.done_ns};
    char keep[sizeof pool->msg];
    memcpy(keep, pool->msg, sizeof keep); /* the job's error comes first */
    int trc = sharc__trace_write(pool, o->trace_path, &ti);
    if (rc != 0)
      memcpy(pool->msg, keep, sizeof keep);
    else
      rc = trc;
  }
  uint64_t times[3] = {js.post_ns, js.done_ns, 0};
  sharc__report_fill(pool, rep, kernel, n, o, times, rc);
  if (corrupt)
    (void)sharc__pool_restart(pool);
  else if (js.ndead > 0)
    replace_dead(pool);
  return rc;
}

int sharc_job_add_array(sharc_job_opts *o, sharc_array *a) {
  if (o == NULL || a == NULL)
    return SHARC_EINVAL;
  if (o->narrays >= SHARC_MAX_JOB_ARRAYS)
    return SHARC_ERANGE;
  o->arrays[o->narrays] = a;
  return (int)o->narrays++;
}
