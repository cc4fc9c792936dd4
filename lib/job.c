/* Jobs: post a kernel to the workers, wait while watching them, check what
 * they wrote, and report. */
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/syscall.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fault.h"
#include "internal.h"
#include "journal.h"
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
  char dead_why[352];  /* how it died */
  uint64_t dead_range[2];
  uint32_t trace_id; /* 0: no trace */
  uint64_t trace_cap;
  uint32_t items_id; /* retry passes: the items array, else 0 */
  uint64_t nitems;
  sharc__wstate *ws; /* with a fault policy: who died, and how */
  /* Timeouts (fault.timeout_s / timeout_x): NULL when not watching. */
  struct watch {
    uint64_t start;   /* the chunk start the signals were for */
    uint64_t term_ns; /* when SIGTERM went, 0: not yet */
    uint64_t limit;   /* the limit it broke */
    int timed_out;
    uint64_t seen;        /* the chunk start last seen running */
    uint64_t cpu0, wait0; /* the worker's CPU and run-queue wait times
                             when the coordinator first saw it */
  } *watch;
  double timeout_s, timeout_x;
  uint64_t typical_ns; /* the last typical chunk time seen in this job */
  int poll_ms;
  uint64_t cancel_at; /* a cancel was seen: in-flight chunks end by then */
  int canceled;
  sharc__journal *journal;     /* NULL: no journal */
  const sharc_job_opts *jo;    /* the job's options, for journal flushes */
  uint32_t sched_kind;         /* the pass's schedule (SHARC__SCHED_ITEMS) */
  sharc__tally harvest; /* what workers replaced during the pass tallied */
  unsigned recycled_mid; /* workers recycled and replaced during the pass */
  unsigned deaths_mid;   /* workers that died and were replaced during it */
  uint64_t chunk;        /* the first pass's schedule chunk */
  unsigned mismatches;   /* passes in a row whose tallies did not add up */
  char fatal_why[352];   /* a worker died of a fault that is no property of
                            its indices (a truncated input, a write into
                            read-only job memory): how; fails the job */
  sharc__faults *faults; /* with a fault policy: the passes' bookkeeping */
  sharc_report *rep;     /* NULL: none wanted */
  uint64_t first_post_ns; /* when the job's first pass was posted */
} job_state;

/* How often a running job writes its journal. */
#define SHARC__JOURNAL_EVERY_NS 200000000u

/* How long chunks already running may go on after a cancel. */
#define SHARC__CANCEL_GRACE_NS 100000000u

/* A job gives up on retrying after this many passes (each pass halves the
 * failing ranges, so a poison index is isolated in about 64). */
#define SHARC__MAX_PASSES 1000

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
  if (!sharc__sched_known((uint32_t)o->schedule.kind))
    return sharc__fail(pool, SHARC_EINVAL, "unknown schedule kind %d",
                       (int)o->schedule.kind);
  if (!(o->fault.timeout_s >= 0 && o->fault.timeout_s < 1e9) ||
      !(o->fault.timeout_x >= 0 && o->fault.timeout_x < 1e12) ||
      (unsigned)o->fault.on_poison > SHARC_POISON_STOP)
    return sharc__fail(pool, SHARC_EINVAL,
                       "fault policy: timeouts must be >= 0 and finite, "
                       "on_poison quarantine or stop");
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

/* A schedule left at SHARC_SCHEDULE_DEFAULT: SHARC_SCHEDULE if set, else
 * auto. */
static int schedule_from_env(sharc_pool *pool, sharc_schedule *s) {
  const char *env = getenv("SHARC_SCHEDULE");
  *s = (sharc_schedule){SHARC_SCHED_AUTO, 1};
  if (env == NULL || *env == '\0')
    return 0;
  if (sharc_schedule_parse(env, s) != 0)
    return sharc__fail(pool, SHARC_EINVAL,
                       "SHARC_SCHEDULE=%s: not a schedule (static, dynamic, "
                       "guided, auto, fac2 or wf, each optionally :K)", env);
  return 0;
}

/* Arrays made after a worker started reach it now, before the job is
 * posted, so they are waiting in its socket when it wakes. */
/* Sends array a to worker w. With a fault policy, a worker whose socket is
 * gone (it died since the last look) is reaped and counted as dead
 * instead: the pass runs without it and it is replaced after. */
static int send_array(sharc_pool *pool, job_state *js, sharc_array *a,
                      unsigned w) {
  if (pool->w[w].pid <= 0)
    return 0;
  int rc = sharc__array_send(pool, a, w);
  if (rc == 0 || js->ws == NULL)
    return rc;
  sharc__worker_kill(pool, w);
  js->ndead++;
  js->ws[w].died = 1;
  js->ws[w].signal = SIGKILL;
  pool->msg[0] = '\0';
  return 0;
}

static int deliver_arrays(sharc_pool *pool, job_state *js,
                          const sharc_job_opts *o) {
  for (unsigned i = 0; i < o->narrays; i++) {
    sharc_array *a = o->arrays[i];
    for (unsigned w = 0; w < pool->nworkers; w++) {
      if (a->known[w])
        continue;
      int rc = send_array(pool, js, a, w);
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
  d->sched_kind = js->items_id ? SHARC__SCHED_ITEMS : (uint32_t)o->schedule.kind;
  js->sched_kind = d->sched_kind;
  js->chunk = o->schedule.chunk;
  js->harvest = (sharc__tally){0, 0, 0};
  d->watch = js->watch != NULL;
  d->retrying = js->ws != NULL;
  d->recycle_chunks = o->fault.recycle_chunks;
  d->recycle_rss = o->fault.recycle_rss;
  d->journal_id = js->journal ? js->journal->bits->id : 0;
  d->journal_block = js->journal ? js->journal->block : 0;
  d->journal_words = js->journal ? js->journal->words : 0;
  d->items_id = js->items_id;
  d->nitems = js->nitems;
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
  /* The schedule's shared words (auto: every worker's range; wf: no
   * speeds from an earlier job) are in place before any worker looks. */
  if (js->items_id == 0)
    sharc__sched_post((uint32_t)o->schedule.kind,
                      sharc__cb_ranges(cb, pool->nworkers), cb->slots,
                      pool->nworkers,
                      js->n / d->grain + (js->n % d->grain != 0));
  js->post_ns = sharc__now_ns();
  if (js->first_post_ns == 0)
    js->first_post_ns = js->post_ns;
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

/* Under a fault policy a worker that died or exited to be recycled while
 * a pass runs on a shared schedule (retry items, or a first pass other
 * than static, whose ranges belong to their workers) is replaced at once
 * by one that joins the pass: what it completed stays in the tally, the
 * range it failed (and, in a retry pass, the rest of its item) goes to the
 * next pass, and the pass goes on. So a pass is never cut short by deaths,
 * recycling never ends a pass, and a poison index costs one death per
 * pass. Deaths that leave unknown what a claim took are left to the end
 * of the pass (which then runs again). Returns 1 if the replacement
 * started. */
static int replace_now(sharc_pool *pool, job_state *js, unsigned w, int sig,
                       int recycled) {
  const sharc__slot *slot = &pool->cb->slots[w];
  sharc__faults *f = js->faults;
  if (js->ws == NULL || js->canceled || js->fatal_why[0] != '\0' ||
      js->sched_kind == SHARC_SCHED_STATIC || slot->started_seq != js->seq ||
      (!recycled && f->retries == 0))
    return 0;
  sharc__wstate st = {.worker = w,
                      .started = 1,
                      .died = 1,
                      .claiming = atomic_load(&slot->claiming) != 0,
                      .signal = sig,
                      .timed_out = js->watch != NULL && js->watch[w].timed_out,
                      .recycled = recycled,
                      .cur_done = slot->cur_done == 1,
                      .cur_begin = slot->cur_begin,
                      .cur_end = slot->cur_end};
  if (st.claiming)
    return 0;
  size_t nnext = f->nnext, nq = f->nq;
  int redo = f->redo;
  sharc__tally done = slot->tally; /* the replacement clears the slot */
  if (js->sched_kind == SHARC__SCHED_ITEMS)
    sharc__faults_retry(f, &st);
  else
    sharc__faults_first(f, js->sched_kind, js->chunk, &st);
  if (sharc__worker_join(pool, w, js->seq) != 0) {
    f->nnext = nnext; /* accounted after the pass like any other death */
    f->nq = nq;
    f->redo = redo;
    pool->msg[0] = '\0';
    return 0;
  }
  sharc__tally_sum(&js->harvest, &done);
  if (recycled)
    js->recycled_mid++;
  else
    js->deaths_mid++;
  if (js->watch != NULL)
    memset(&js->watch[w], 0, sizeof js->watch[w]);
  return 1;
}

/* How messages name array `id`: its file, its shared-memory name, or
 * what it is. */
static const char *array_named(const sharc_pool *pool, uint32_t id) {
  const sharc_array *a = pool->arrays;
  while (a != NULL && a->id != id)
    a = a->next;
  return a == NULL            ? "an array"
         : a == pool->items   ? "the retry items"
         : a->path != NULL    ? a->path
         : a->name != NULL    ? a->name
                              : "an anonymous array";
}

/* A worker died of a fault that is no property of its indices: how it died
 * (into why), remembered for collect(), which fails the job at once. Its
 * slot names it: SIGBUS inside an array's mapping (the file under it
 * shrank) or SIGSEGV on memory read-only in workers. Returns 0 if the death
 * was neither. */
static int fatal_death(const sharc_pool *pool, job_state *js, unsigned w,
                       pid_t pid, int sig, const char *plain, char *why,
                       size_t len) {
  const sharc__slot *slot = &pool->cb->slots[w];
  /* a very long path cuts the message, still naming the cause */
  if (sig == SIGBUS && slot->bus_seen)
    snprintf(why, len, "%s: input truncated: %s has no data at byte %llu "
                 "of its mapping (the file shrank while mapped)", plain,
                 array_named(pool, slot->bus_array),
                 (unsigned long long)slot->bus_offset);
  else if (sig == SIGSEGV && slot->ro_seen)
    snprintf(why, len, "%s: its kernel wrote into %s, which is read-only "
                 "in workers", plain,
                 slot->ro_what == 2 ? array_named(pool, slot->ro_array)
                                    : "the job descriptor");
  else
    return 0;
  if (js->fatal_why[0] == '\0')
    snprintf(js->fatal_why, sizeof js->fatal_why, "worker %u (pid %d) %s", w,
             (int)pid, why);
  return 1;
}

static void record_death(sharc_pool *pool, job_state *js, unsigned w) {
  sharc__slot *slot = &pool->cb->slots[w];
  uint64_t b = slot->cur_begin, e = slot->cur_end;
  char plain[128], why[320];
  pid_t pid = pool->w[w].pid;
  int sig = sharc__worker_reap(pool, w, plain, sizeof plain);
  if (!fatal_death(pool, js, w, pid, sig, plain, why, sizeof why))
    snprintf(why, sizeof why, "%s", plain);
  if (replace_now(pool, js, w, sig, sig == 0 && slot->recycled))
    return;
  if (js->watch != NULL && js->watch[w].timed_out) {
    snprintf(why, sizeof why, "ran one chunk longer than %.0f ms (timeout) "
             "and %s", (double)js->watch[w].limit * 1e-6, plain);
    if (js->ws != NULL)
      js->ws[w].timed_out = 1;
  }
  js->ndead++;
  if (js->ws != NULL) {
    js->ws[w].died = 1;
    js->ws[w].signal = sig;
    js->ws[w].recycled = sig == 0 && slot->recycled;
  }
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

static int cmp_u64(const void *a, const void *b) {
  uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
  return x < y ? -1 : x > y;
}

/* The typical chunk time: the median of the live workers' running medians
 * (0 while no chunk has ended). */
static uint64_t typical_chunk_ns(sharc_pool *pool) {
  uint64_t m[SHARC__MAX_WORKERS];
  unsigned k = 0;
  for (unsigned w = 0; w < pool->nworkers; w++) {
    uint64_t v = atomic_load_explicit(&pool->cb->slots[w].chunk_median_ns,
                                      memory_order_relaxed);
    if (pool->w[w].pid > 0 && v > 0 && v < (UINT64_C(1) << 50))
      m[k++] = v;
  }
  if (k == 0)
    return 0;
  qsort(m, k, sizeof m[0], cmp_u64);
  return m[k / 2];
}

/* The scheduler's figures for process pid: its CPU time and its time
 * runnable but waiting for a CPU (/proc/PID/schedstat), and whether it is
 * runnable now (/proc/PID/stat). Returns 0, or -1 if unknown. */
static int sched_figures(pid_t pid, uint64_t *cpu, uint64_t *wait,
                         int *runnable) {
  char path[64], buf[512];
  unsigned long long run = 0, waited = 0;
  snprintf(path, sizeof path, "/proc/%d/schedstat", (int)pid);
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return -1;
  ssize_t got = read(fd, buf, sizeof buf - 1);
  close(fd);
  buf[got > 0 ? got : 0] = '\0';
  if (got <= 0 || sscanf(buf, "%llu %llu", &run, &waited) != 2)
    return -1;
  *cpu = run;
  *wait = waited;
  if (runnable == NULL)
    return 0;
  snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
  fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return -1;
  got = read(fd, buf, sizeof buf - 1);
  close(fd);
  buf[got > 0 ? got : 0] = '\0';
  const char *rp = got > 0 ? strrchr(buf, ')') : NULL;
  if (rp == NULL || rp[1] != ' ')
    return -1;
  *runnable = rp[2] == 'R';
  return 0;
}

/* How long the chunk that began at `start` has really been at work, for
 * the timeout: not the time its worker waited for a CPU while other
 * programs ran. While the worker is runnable that is the CPU time it used
 * since the coordinator first saw the chunk (a wait in progress is not
 * yet in the kernel's figures); while it sleeps or blocks (a hang in a
 * system call, a lock, pause()) it is the wall time less its waits for a
 * CPU, which are then all accounted. Wall time if the figures are
 * unknown. A kernel running threads of its own is timed by its main
 * thread. */
static uint64_t chunk_work_ns(const struct watch *wt, pid_t pid, uint64_t now,
                              uint64_t start) {
  uint64_t wall = now - start, cpu, wait;
  int runnable;
  if (wt->cpu0 == UINT64_MAX || sched_figures(pid, &cpu, &wait, &runnable))
    return wall;
  if (runnable)
    return cpu > wt->cpu0 ? cpu - wt->cpu0 : 0;
  uint64_t waited = wait > wt->wait0 ? wait - wt->wait0 : 0;
  return waited < wall ? wall - waited : 0;
}

static void signal_worker(sharc_pool *pool, unsigned w, int sig) {
  if (pool->w[w].pid > 0)
    (void)syscall(SYS_pidfd_send_signal, pool->w[w].pidfd, sig, NULL, 0);
}

/* A chunk running past the limit gets its worker SIGTERM, and SIGKILL a
 * grace period later; the death is then handled like any other. What
 * counts against the limit is chunk_work_ns, so that a chunk that merely
 * was not scheduled (other programs busy on the machine) is never taken
 * for a hang. The start times come from the control block: a scribbled
 * one can at worst get a worker killed, which the fault policy
 * survives. */
#define SHARC__TIMEOUT_FLOOR_NS 10000000u /* limits from timeout_x */
#define SHARC__GRACE_MIN_NS 50000000u
static void watchdog(sharc_pool *pool, job_state *js) {
  uint64_t now = sharc__now_ns(), limit = UINT64_MAX;
  if (js->timeout_s > 0)
    limit = (uint64_t)(js->timeout_s * 1e9);
  if (js->timeout_x > 0) {
    /* Kept across passes: a retry pass may run one chunk in all. */
    uint64_t typ = typical_chunk_ns(pool);
    if (typ > 0)
      js->typical_ns = typ;
    typ = js->typical_ns;
    if (typ > 0) {
      double x = js->timeout_x * (double)typ;
      uint64_t lx = x > 1e18 ? UINT64_MAX : (uint64_t)x;
      if (lx < SHARC__TIMEOUT_FLOOR_NS)
        lx = SHARC__TIMEOUT_FLOOR_NS;
      limit = lx < limit ? lx : limit;
    }
  }
  for (unsigned w = 0; w < pool->nworkers; w++) {
    struct watch *wt = &js->watch[w];
    uint64_t start = atomic_load_explicit(&pool->cb->slots[w].chunk_start_ns,
                                          memory_order_relaxed);
    if (pool->w[w].pid <= 0)
      continue;
    if (wt->term_ns != 0) {
      uint64_t grace = wt->limit / 10 > SHARC__GRACE_MIN_NS
                           ? wt->limit / 10
                           : SHARC__GRACE_MIN_NS;
      if (now - wt->term_ns > grace)
        signal_worker(pool, w, SIGKILL);
      continue;
    }
    if (start == 0 || start > now)
      continue;
    if (start != wt->seen) {
      wt->seen = start;
      if (sched_figures(pool->w[w].pid, &wt->cpu0, &wt->wait0, NULL) != 0)
        wt->cpu0 = UINT64_MAX;
    }
    if (now - start <= limit ||
        chunk_work_ns(wt, pool->w[w].pid, now, start) <= limit)
      continue;
    /* The figures were read after the start time: a chunk that ended
     * meanwhile (its worker now asleep between jobs) is no hang. */
    if (atomic_load_explicit(&pool->cb->slots[w].chunk_start_ns,
                             memory_order_relaxed) != start)
      continue;
    wt->start = start;
    wt->term_ns = now;
    wt->limit = limit;
    wt->timed_out = 1;
    signal_worker(pool, w, SIGTERM);
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
    int timeout = js->poll_ms ? js->poll_ms : SHARC__POLL_MS;
    if (js->journal != NULL) {
      if (sharc__now_ns() - js->journal->last_flush_ns >=
          SHARC__JOURNAL_EVERY_NS) {
        int jrc = sharc__journal_flush(pool, js->jo, js->journal);
        if (jrc != 0)
          return jrc;
      }
      int jms = (int)(SHARC__JOURNAL_EVERY_NS / 1000000u);
      timeout = jms < timeout ? jms : timeout;
    }
    if (atomic_load(&pool->cb->cancel) && !js->canceled) {
      js->canceled = 1;
      js->cancel_at = sharc__now_ns() + SHARC__CANCEL_GRACE_NS;
    }
    if (js->canceled) {
      uint64_t now = sharc__now_ns();
      if (now >= js->cancel_at) {
        /* Chunks still running after the grace: their workers go. */
        for (unsigned w = 0; w < pool->nworkers; w++) {
          if (pool->w[w].pid > 0 &&
              atomic_load(&pool->cb->slots[w].done_seq) != js->seq)
            signal_worker(pool, w, SIGKILL);
        }
        timeout = SHARC__POLL_MS;
      } else {
        int ms = (int)((js->cancel_at - now) / 1000000u) + 1;
        timeout = ms < timeout ? ms : timeout;
      }
    }
    int ready = poll(pfd, n, timeout);
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
    if (js->watch != NULL)
      watchdog(pool, js);
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

static int check_all(sharc_pool *pool, job_state *js) {
  int rc = check_header(pool, js);
  uint64_t indices = 0;
  for (unsigned w = 0; rc == 0 && w < pool->nworkers; w++) {
    if (pool->w[w].pid <= 0)
      continue;
    rc = check_slot(pool, js, w);
    /* Under a fault policy a worker that wrote nonsense into its own slot
     * is killed and its pass run again (kernels that allow retries are
     * idempotent): nothing it reported is believed, nothing else is lost. */
    if (rc == SHARC_ECORRUPT && js->ws != NULL) {
      sharc__worker_kill(pool, w);
      js->ndead++;
      js->ws[w].died = 1;
      js->ws[w].signal = SIGKILL;
      js->ws[w].corrupt = 1;
      rc = 0;
      continue;
    }
    indices += pool->cb->slots[w].indices;
  }
  if (rc == 0 && indices > js->n)
    rc = sharc__fail(pool, SHARC_ECORRUPT,
                     "control block: workers report %llu indices done of %llu; "
                     "workers restarted", (unsigned long long)indices,
                     (unsigned long long)js->n);
  return rc;
}

/* What the workers' tallies say the pass completed: every slot whose
 * worker began the pass, live or dead (a dead worker's completed chunks
 * stay done), plus what workers replaced during the pass had tallied. */
static sharc__tally pass_tally(const sharc_pool *pool, const job_state *js) {
  sharc__tally t = js->harvest;
  for (unsigned w = 0; w < pool->nworkers; w++) {
    const sharc__slot *s = &pool->cb->slots[w];
    if (s->started_seq == js->seq)
      sharc__tally_sum(&t, &s->tally);
  }
  return t;
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
  sharc__tally want = {0, 0, 0}, got = pass_tally(pool, js);
  sharc__tally_add(&want, 0, js->n);
  if (!sharc__tally_eq(&got, &want))
    return sharc__fail(pool, SHARC_ECORRUPT,
                       "'%s': the workers' records of completed ranges do "
                       "not cover [0, %llu) exactly once (%llu indices "
                       "recorded): indices were skipped or run twice, as when "
                       "a kernel writes into sharc's control block; workers "
                       "restarted", js->kernel, (unsigned long long)js->n,
                       (unsigned long long)got.count);
  return 0;
}

/* Starts a fresh worker in place of each dead one. A replacement that dies
 * while starting (something kills workers at random) is started again, for
 * up to SHARC__REPLACE_NS; a fork or similar failure gives up at once. */
#define SHARC__REPLACE_NS 5000000000u
static void replace_dead(sharc_pool *pool) {
  uint64_t until = sharc__now_ns() + SHARC__REPLACE_NS;
  while (sharc__now_ns() < until) {
    unsigned started = 0, ok = 1;
    unsigned char *fresh = calloc(pool->nworkers, 1);
    if (fresh == NULL) {
      pool->broken = 1;
      return;
    }
    for (unsigned w = 0; w < pool->nworkers; w++) {
      if (pool->w[w].pid > 0)
        continue;
      if (sharc__worker_start(pool, w) != 0) {
        free(fresh);
        pool->broken = 1;
        return;
      }
      fresh[w] = 1;
      started++;
    }
    /* Only the new workers' ready words are waited for: a live worker's
     * may have been scribbled on, and it is ready anyway. */
    for (unsigned w = 0; ok && w < pool->nworkers; w++) {
      if (fresh[w] && sharc__workers_wait_ready(pool, w, w + 1) != 0)
        ok = 0;
    }
    free(fresh);
    if (started == 0 || ok)
      return;
  }
  pool->broken = 1;
}

/* Whether the pass just run was cut short by a cancel. The flag may come
 * after the coordinator's last look while waiting: then the workers may
 * have stopped early, or finished everything anyway (the cancel is then
 * moot and dropped). */
/* Indices the live workers report done in the pass (each count bounded by
 * n: the slots are untrusted). */
static uint64_t live_indices(const sharc_pool *pool, const job_state *js) {
  uint64_t done = 0;
  for (unsigned w = 0; w < pool->nworkers; w++) {
    if (pool->w[w].pid > 0 && pool->cb->slots[w].indices <= js->n)
      done += pool->cb->slots[w].indices;
  }
  return done;
}

static int cancel_seen(sharc_pool *pool, const job_state *js) {
  if (js->canceled)
    return 1;
  if (!atomic_load(&pool->cb->cancel))
    return 0;
  uint64_t done = live_indices(pool, js);
  uint64_t want = js->items_id ? UINT64_MAX : js->n;
  if (done == want && js->ndead == 0) {
    atomic_store(&pool->cb->cancel, 0);
    return 0;
  }
  return 1;
}

/* A cancelled job: the flag is consumed, the error says how far it got. */
static int cancelled(sharc_pool *pool, job_state *js) {
  atomic_store(&pool->cb->cancel, 0);
  uint64_t done = live_indices(pool, js);
  return sharc__fail(pool, SHARC_ECANCELED,
                     "'%s' cancelled: %llu of %llu indices done%s",
                     js->kernel, (unsigned long long)(done < js->n ? done : js->n),
                     (unsigned long long)js->n,
                     js->ndead ? "; workers still running a chunk after "
                                 "100 ms were killed (the next job replaces "
                                 "them)"
                               : "");
}

/* --- fault policy: retry passes ------------------------------------------ */

/* What the slots say about the pass just run, for each worker that died or
 * whose kernel failed. */
static int collect(sharc_pool *pool, job_state *js, sharc__faults *f,
                   const sharc_job_opts *o, int first) {
  /* A file that shrank under its mapping fails every index past its new
   * end, whoever runs it, and a kernel that writes into the job descriptor
   * would do it again: the job stops, naming the cause. */
  if (js->fatal_why[0] != '\0')
    return sharc__fail(pool, SHARC_EWORKER, "%s, while running '%s'",
                       js->fatal_why, js->kernel);
  for (unsigned w = 0; w < pool->nworkers; w++) {
    const sharc__slot *sl = &pool->cb->slots[w];
    sharc__wstate st = js->ws[w];
    st.worker = w;
    if (!st.died) {
      if (sl->err == 0)
        continue;
      if (sl->err == SHARC_ENOKERNEL)
        return sharc__fail(pool, SHARC_ENOKERNEL,
                           "worker %u does not know kernel '%s'", w,
                           js->kernel);
      st.code = sl->err;
    }
    /* Recycling alone (no retries): a real failure still fails the job. */
    if (f->retries == 0 && st.corrupt)
      return sharc__fail(pool, SHARC_ECORRUPT,
                         "control block: worker %u wrote nonsense into its "
                         "slot and was killed", w);
    if (f->retries == 0 && !st.recycled) {
      int sane = sl->cur_begin <= sl->cur_end && sl->cur_end <= js->n;
      unsigned long long b = sane ? sl->cur_begin : 0,
                         e = sane ? sl->cur_end : 0;
      if (st.died && st.signal)
        return sharc__fail(pool, SHARC_EWORKER,
                           "worker %u was killed by signal %d (%s)%s while "
                           "running '%s' on indices [%llu, %llu)", w,
                           st.signal, strsignal(st.signal),
                           st.timed_out ? " after a timeout" : "", js->kernel,
                           b, e);
      if (st.died)
        return sharc__fail(pool, SHARC_EWORKER,
                           "worker %u exited while running '%s' on indices "
                           "[%llu, %llu)", w, js->kernel, b, e);
      return sharc__fail(pool, SHARC_EKERNEL,
                         "worker %u: kernel '%s' returned %d (%s) on indices "
                         "[%llu, %llu)", w, js->kernel, st.code,
                         sharc_strerror(st.code), b, e);
    }
    st.started = sl->started_seq == js->seq;
    st.claiming = atomic_load(&sl->claiming) != 0;
    st.cur_begin = sl->cur_begin;
    st.cur_end = sl->cur_end;
    st.cur_done = sl->cur_done == 1;
    if (first)
      sharc__faults_first(f, (uint32_t)o->schedule.kind, o->schedule.chunk,
                          &st);
    else
      sharc__faults_retry(f, &st);
  }
  return f->nomem ? sharc__fail(pool, SHARC_ENOMEM, "retry list: out of memory")
                  : 0;
}

/* Unclaimed units [b, e) of the first pass: indices to run next. */
static void unclaimed_units(void *arg, uint64_t b, uint64_t e) {
  sharc__faults *f = arg;
  uint64_t g = f->grain;
  sharc__faults_unclaimed(f, b * g, e < f->units ? e * g : f->n);
}

/* What no worker claimed in the pass just run: a shared schedule leaves
 * work unclaimed only when every worker died before the end, but then it
 * must not be lost. The counter and range words come from the control
 * block: clamped by the schedule's unit, they can only make the next pass
 * larger. */
static void unclaimed(sharc_pool *pool, const job_state *js, sharc__faults *f,
                      const sharc_job_opts *o, int first) {
  sharc__cb *cb = pool->cb;
  uint64_t next = atomic_load(&cb->next);
  (void)js;
  if (!first) {
    /* Items nobody claimed go to the next pass as they are: re-splitting
     * them would make each pass larger than the last. */
    for (uint64_t k = next; k < f->nitems; k++)
      sharc__faults_requeue(f, k);
    return;
  }
  sharc__sched_end end = {f->units, o->schedule.chunk, pool->nworkers, next,
                          sharc__cb_ranges(cb, pool->nworkers)};
  sharc__sched_unclaimed((uint32_t)o->schedule.kind, &end, unclaimed_units, f);
}

/* Hands the pass's items to the workers in a shared array, kept in the pool
 * for later passes and jobs while it is large enough. */
static int post_items(sharc_pool *pool, job_state *js,
                      const sharc__faults *f) {
  uint64_t need = f->nitems * (sizeof(sharc__item) / 8);
  if (pool->items == NULL || sharc_array_size(pool->items) < need) {
    sharc_array_destroy(pool->items);
    pool->items = NULL;
    uint64_t shape[1] = {need < 1024 ? 1024 : 2 * need};
    int rc = sharc_array_create(pool, SHARC_U64, 1, shape, NULL, &pool->items);
    if (rc != 0)
      return sharc__fail(pool, rc, "retry items: %s", sharc_strerror(rc));
    pool->items->worker_ro = 1; /* before any worker maps it */
  }
  sharc__item *dst = sharc_array_data(pool->items);
  for (size_t k = 0; k < f->nitems; k++)
    dst[k] = f->items[k].it;
  for (unsigned w = 0; w < pool->nworkers; w++) {
    if (!pool->items->known[w]) {
      int rc = send_array(pool, js, pool->items, w);
      if (rc != 0)
        return rc;
    }
  }
  js->items_id = pool->items->id;
  js->nitems = f->nitems;
  return 0;
}

/* Adds what items run to t, by the workers' rule: each range clamped to n,
 * an item ending at its first empty range. */
static void items_tally(sharc__tally *t, const sharc__fitem *fi, size_t k,
                        uint64_t n) {
  for (size_t j = 0; j < k; j++) {
    const sharc__item *it = &fi[j].it;
    for (uint64_t i = 0; i < it->count; i++) {
      uint64_t b = it->begin + i * it->stride, e = it->end + i * it->stride;
      if (e > n)
        e = n;
      if (b >= e)
        break;
      sharc__tally_add(t, b, e);
    }
  }
}

/* A pass is accepted only when what the workers tallied as completed,
 * what goes to the next pass and what it quarantined add up to exactly
 * what the pass was meant to run (`meant`). Anything else means records
 * the coordinator took from the control block (claim counters, range
 * words, current ranges) were wrong: the pass runs again whole, and a job
 * whose passes keep failing this check stops with SHARC_ECORRUPT. */
#define SHARC__MAX_MISMATCHES 3
static int verify_pass(sharc_pool *pool, job_state *js, sharc__faults *f,
                       const sharc__tally *meant) {
  if (f->redo || f->poisoned || f->nomem)
    return 0; /* run again whole, or stopping anyway */
  sharc__tally got = pass_tally(pool, js);
  items_tally(&got, f->next, f->nnext, f->n);
  for (size_t k = f->nq_pass; k < f->nq; k++)
    sharc__tally_add(&got, f->q[k].begin, f->q[k].end);
  if (sharc__tally_eq(&got, meant)) {
    js->mismatches = 0;
    return 0;
  }
  if (++js->mismatches > SHARC__MAX_MISMATCHES)
    return sharc__fail(pool, SHARC_ECORRUPT,
                       "'%s': the workers' records of completed ranges did "
                       "not account for every index of the pass %u times in "
                       "a row (indices skipped or run twice, as when a kernel "
                       "writes into sharc's control block); job stopped",
                       js->kernel, js->mismatches);
  f->redo = 1;
  return 0;
}

typedef struct fault_run {
  unsigned passes, deaths, kernel_errors, recycled;
  uint64_t retried;
  double replace_s;
  unsigned replaced;
} fault_run;

static int count_failures(sharc_pool *pool, job_state *js, fault_run *fr) {
  fr->recycled += js->recycled_mid;
  fr->deaths += js->deaths_mid;
  js->recycled_mid = js->deaths_mid = 0;
  for (unsigned w = 0; w < pool->nworkers; w++) {
    if (js->ws[w].recycled)
      fr->recycled++;
    else if (js->ws[w].died)
      fr->deaths++;
    else if (pool->cb->slots[w].err != 0)
      fr->kernel_errors++;
  }
  return 0;
}

static void replace_timed(sharc_pool *pool, const job_state *js,
                          fault_run *fr) {
  if (js->ndead == 0)
    return;
  uint64_t t0 = sharc__now_ns();
  replace_dead(pool);
  fr->replace_s += (double)(sharc__now_ns() - t0) * 1e-9;
  fr->replaced += js->ndead;
}

/* After the first pass: run the failed and unreached ranges again until
 * none is left, or a poison index stops the job. */
static int fault_passes(sharc_pool *pool, job_state *js,
                        const sharc_job_opts *o, sharc__faults *f,
                        fault_run *fr, int resumed) {
  int rc = 0;
  size_t left = f->nitems; /* resumed: the journal's missing blocks */
  sharc__tally meant = {0, 0, 0};
  if (!resumed) {
    count_failures(pool, js, fr);
    rc = collect(pool, js, f, o, 1);
    unclaimed(pool, js, f, o, 1);
    sharc__tally_add(&meant, 0, js->n);
    if (rc == 0)
      rc = verify_pass(pool, js, f, &meant);
    left = rc == 0 ? sharc__faults_advance(f, 1) : 0;
    fr->passes = 1;
  }
  while (rc == 0 && left > 0) {
    replace_timed(pool, js, fr);
    if (pool->broken)
      return sharc__fail(pool, SHARC_ECLOSED,
                         "a worker died and could not be replaced");
    if (fr->passes >= SHARC__MAX_PASSES)
      return sharc__fail(pool, SHARC_EWORKER,
                         "'%s': still failing after %u passes", js->kernel,
                         fr->passes);
    rc = post_items(pool, js, f);
    if (rc != 0)
      return rc;
    fr->retried += f->nitems;
    meant = (sharc__tally){0, 0, 0};
    items_tally(&meant, f->items, f->nitems, f->n);
    f->nq_pass = f->nq; /* what the pass quarantines comes after */
    memset(js->ws, 0, pool->nworkers * sizeof *js->ws);
    if (js->watch != NULL)
      memset(js->watch, 0, pool->nworkers * sizeof *js->watch);
    js->ndead = 0;
    js->first_dead = -1;
    post_job(pool, js, o);
    rc = wait_job(pool, js);
    js->done_ns = sharc__now_ns();
    if (rc == 0)
      rc = check_all(pool, js);
    if (rc == 0 && cancel_seen(pool, js))
      rc = cancelled(pool, js);
    if (rc != 0)
      return rc;
    count_failures(pool, js, fr);
    sharc__report_pass(pool, js->rep, js->seq);
    rc = collect(pool, js, f, o, 0);
    unclaimed(pool, js, f, o, 0);
    if (rc == 0)
      rc = verify_pass(pool, js, f, &meant);
    left = rc == 0 ? sharc__faults_advance(f, 0) : 0;
    fr->passes++;
  }
  replace_timed(pool, js, fr);
  js->ndead = 0;
  if (rc != 0)
    return rc;
  if (f->nq == 0)
    return 0;
  const sharc_quarantined *q = &f->q[0];
  char what[96];
  if (q->signal && q->timed_out)
    snprintf(what, sizeof what, "ran past its timeout (its worker then "
             "killed by signal %d, %s)", q->signal, strsignal(q->signal));
  else if (q->signal)
    snprintf(what, sizeof what, "killed its worker by signal %d (%s)",
             q->signal, strsignal(q->signal));
  else
    snprintf(what, sizeof what, "returned %d (%s)", q->code,
             sharc_strerror(q->code));
  if (f->poisoned)
    return sharc__fail(pool, q->signal ? SHARC_EWORKER : SHARC_EKERNEL,
                       "'%s' on indices [%llu, %llu) %s %u times; job "
                       "stopped (fault policy)", js->kernel,
                       (unsigned long long)q->begin,
                       (unsigned long long)q->end, what, q->attempts);
  return sharc__fail(pool, SHARC_EQUARANTINED,
                     "'%s': %zu range(s) quarantined, the first [%llu, "
                     "%llu) %s %u times; every other index was computed",
                     js->kernel, f->nq, (unsigned long long)q->begin,
                     (unsigned long long)q->end, what, q->attempts);
}

static void report_faults(sharc_report *rep, const sharc__faults *f,
                          const fault_run *fr, int rc, const char *msg,
                          double wall_s) {
  if (rep == NULL)
    return;
  sharc__report_whole(rep, wall_s);
  rep->status = rc;
  snprintf(rep->error, sizeof rep->error, "%s", rc ? msg : "");
  rep->deaths = fr->deaths;
  rep->recycled = fr->recycled;
  rep->kernel_errors = fr->kernel_errors;
  rep->passes = fr->passes;
  rep->retried = fr->retried;
  rep->replace_s = fr->replaced ? fr->replace_s / fr->replaced : 0;
  uint64_t left_out = 0;
  if (f->nq > 0) {
    rep->quarantined = malloc(f->nq * sizeof *rep->quarantined);
    if (rep->quarantined != NULL) {
      memcpy(rep->quarantined, f->q, f->nq * sizeof *f->q);
      rep->nquarantined = (unsigned)f->nq;
    }
    for (size_t k = 0; k < f->nq; k++)
      left_out += f->q[k].end - f->q[k].begin;
  }
  if (rc == 0 || rc == SHARC_EQUARANTINED)
    rep->indices = rep->n - left_out;
}

/* The journal's last write, also after a failure: it then says how far the
 * job got, which is what a resume needs. */
static int journal_end(sharc_pool *pool, job_state *js, int rc) {
  if (js->journal == NULL)
    return rc;
  char keep[sizeof pool->msg];
  memcpy(keep, pool->msg, sizeof keep);
  int jrc = sharc__journal_flush(pool, js->jo, js->journal);
  sharc__journal_close(js->journal);
  js->journal = NULL;
  if (rc != 0) {
    memcpy(pool->msg, keep, sizeof keep); /* the job's error comes first */
    return rc;
  }
  return jrc;
}

/* A resumed job: only the blocks the journal does not mark done run, as a
 * retry pass; the report counts the indices this run computed. */
static int resume_job(sharc_pool *pool, job_state *js,
                      const sharc_job_opts *o, sharc__faults *f,
                      fault_run *fr, sharc_report *rep, uint64_t done_before) {
  js->post_ns = js->first_post_ns = sharc__now_ns();
  sharc__journal_missing(js->journal, f);
  sharc__faults_advance(f, 1);
  int rc = f->nomem ? sharc__fail(pool, SHARC_ENOMEM, "resume: out of memory")
                    : fault_passes(pool, js, o, f, fr, 1);
  js->done_ns = sharc__now_ns();
  uint64_t times[3] = {js->first_post_ns, js->done_ns, 0};
  sharc__report_fill(pool, rep, js->kernel, js->n, o, times, rc);
  report_faults(rep, f, fr, rc, pool->msg,
                (double)(js->done_ns - js->first_post_ns) * 1e-9);
  if (rep != NULL && (rc == 0 || rc == SHARC_EQUARANTINED))
    rep->indices -= done_before < rep->indices ? done_before : rep->indices;
  sharc__faults_free(f);
  free(js->ws);
  js->ws = NULL;
  free(js->watch);
  js->watch = NULL;
  rc = journal_end(pool, js, rc);
  if (js->ndead > 0 && !js->canceled)
    replace_dead(pool);
  return rc;
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
  if (sharc__pool_foreign(pool))
    return sharc__fail(pool, SHARC_EINVAL,
                       "the pool belongs to process %d: a process forked from "
                       "its coordinator may only destroy it",
                       (int)pool->owner_pid);
  job_state js;
  memset(&js, 0, sizeof js);
  js.kernel = kernel;
  js.n = n;
  js.rep = rep;
  js.first_dead = -1;
  sharc__faults faults;
  fault_run fr = {0, 0, 0, 0, 0, 0, 0};
  /* The pass machinery serves retries and recycling alike. */
  int retrying = o->fault.retries > 0 || o->fault.recycle_chunks > 0 ||
                 o->fault.recycle_rss > 0;
  sharc_job_opts with_red; /* o plus its reductions' partials (reduce.c) */
  sharc__reduce_job rj;
  memset(&rj, 0, sizeof rj);
  int rc = check_job(pool, kernel, n, o);
  /* Workers killed by a cancel are replaced here, not by the job that was
   * cancelled (it returns as soon as it can). */
  for (unsigned w = 0; rc == 0 && w < pool->nworkers; w++) {
    if (pool->w[w].pid <= 0) {
      replace_dead(pool);
      if (pool->broken)
        rc = sharc__fail(pool, SHARC_ECLOSED,
                         "the pool lost workers it could not replace");
      break;
    }
  }
  if (rc == 0 && atomic_load(&pool->cb->cancel)) {
    atomic_store(&pool->cb->cancel, 0);
    rc = sharc__fail(pool, SHARC_ECANCELED,
                     "'%s' cancelled before it started", kernel);
  }
  sharc_job_opts env_sched; /* o with SHARC_SCHEDULE applied */
  if (rc == 0 && o->schedule.kind == SHARC_SCHED_AUTO && o->schedule.chunk == 0) {
    env_sched = *o;
    rc = schedule_from_env(pool, &env_sched.schedule);
    o = &env_sched;
  }
  if (rc == 0 && (rc = sharc__reduce_prepare(pool, o, n, &with_red, &rj)) == 0)
    o = &with_red;
  sharc__journal jn = {-1, NULL, 0, 0, 0, 0, NULL, 0};
  uint64_t split_grain = 0; /* a journal's blocks are not what bisection
                               narrows down to: the job's own grain is */
  uint64_t done_before = 0;
  if (rc == 0 && o->journal_path != NULL) {
    if (o->nreduce > 0) {
      rc = sharc__fail(pool, SHARC_EINVAL,
                       "%s: a job with reductions cannot keep a journal "
                       "(its partials end with the coordinator)",
                       o->journal_path);
    } else {
      if (o != &with_red)
        with_red = *o;
      split_grain = o->grain > 1 ? o->grain : 1;
      with_red.grain = sharc__journal_block(n, o->grain);
      o = &with_red;
      rc = sharc__journal_open(pool, o, kernel, n, &jn);
      js.journal = &jn;
      js.jo = o;
      if (rc == 0 && o->resume)
        done_before = sharc__journal_done(&jn);
    }
  }
  int resuming = rc == 0 && js.journal != NULL && o->resume;
  retrying |= resuming; /* the missing blocks run as a retry pass */
  if (o->fault.timeout_s > 0 || o->fault.timeout_x > 0) {
    js.watch = calloc(pool->nworkers, sizeof *js.watch);
    if (js.watch == NULL && rc == 0)
      rc = sharc__fail(pool, SHARC_ENOMEM, "timeouts: out of memory");
    js.timeout_s = o->fault.timeout_s;
    js.timeout_x = o->fault.timeout_x;
    double q = o->fault.timeout_x > 0 ? 10.0 : o->fault.timeout_s * 250.0;
    js.poll_ms = q < 1 ? 1 : q > SHARC__POLL_MS ? SHARC__POLL_MS : (int)q;
  }
  if (retrying) {
    sharc__faults_init(&faults, n, o->grain, pool->nworkers, o->fault.retries,
                       o->fault.on_poison == SHARC_POISON_STOP);
    if (split_grain != 0)
      faults.sgrain = split_grain;
    js.faults = &faults;
    js.ws = calloc(pool->nworkers, sizeof *js.ws);
    if (js.ws == NULL && rc == 0)
      rc = sharc__fail(pool, SHARC_ENOMEM, "fault policy: out of memory");
  }
  if (rc == 0)
    rc = deliver_arrays(pool, &js, o);
  for (unsigned w = 0; rc == 0 && js.journal != NULL && w < pool->nworkers;
       w++) {
    if (!jn.bits->known[w])
      rc = send_array(pool, &js, jn.bits, w);
  }
  if (rc == 0 && o->trace_path != NULL) {
    uint64_t g = o->grain > 1 ? o->grain : 1;
    rc = sharc__trace_prepare(pool, n / g + (n % g != 0), &js.trace_id,
                              &js.trace_cap);
  }
  if (rc != 0) {
    rc = sharc__reduce_finish(pool, &rj, rc);
    sharc__report_fill(pool, rep, kernel, n, o, NULL, rc);
    if (retrying)
      sharc__faults_free(&faults);
    free(js.ws);
    free(js.watch);
    sharc__journal_close(&jn);
    return rc;
  }
  if (resuming)
    return resume_job(pool, &js, o, &faults, &fr, rep, done_before);
  post_job(pool, &js, o);
  rc = wait_job(pool, &js);
  js.done_ns = sharc__now_ns();
  if (rc == 0)
    rc = check_all(pool, &js);
  int corrupt = rc == SHARC_ECORRUPT;
  if (rc == 0 && cancel_seen(pool, &js))
    rc = cancelled(pool, &js);
  if (rc == 0 && !retrying)
    rc = job_status(pool, &js);
  corrupt |= rc == SHARC_ECORRUPT;
  if (!retrying)
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
  if (retrying) {
    if (rc == 0)
      rc = fault_passes(pool, &js, o, &faults, &fr, 0);
    corrupt |= rc == SHARC_ECORRUPT;
    rc = sharc__reduce_finish(pool, &rj, rc);
    report_faults(rep, &faults, &fr, rc, pool->msg,
                  (double)(sharc__now_ns() - js.first_post_ns) * 1e-9);
    sharc__faults_free(&faults);
    free(js.ws);
    js.ws = NULL;
  }
  free(js.watch);
  rc = journal_end(pool, &js, rc);
  if (corrupt)
    (void)sharc__pool_restart(pool);
  else if (js.ndead > 0 && !js.canceled)
    replace_dead(pool); /* a cancelled job returns first: the next job
                           replaces them */
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
