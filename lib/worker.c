/* The worker process: wait for a job, claim chunks, run the kernel, report.
 *
 * Runs in a child forked from the coordinator, from the fork server, or in
 * the sharc-worker executable; what it knows of its pool is the worker
 * configuration (internal.h), never the coordinator's pool struct. It must
 * never return into the caller's code: every way out is _exit(), so no
 * atexit handler, stdio buffer or MPI finalizer of the coordinator runs
 * twice. */
#include <fcntl.h>
#include <signal.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include "internal.h"

typedef struct worker {
  const sharc__wconf *conf;
  sharc__cb *cb;
  sharc__slot *slot;
  unsigned id;
  int sock;
  int clear_refs_fd; /* /proc/self/clear_refs: resets the peak RSS; -2
                        until a job measures */
  int statm_fd;      /* /proc/self/statm: private resident pages */
  int share_pu; /* a worker or the coordinator shares this worker's PU */
  uint64_t clock_ns; /* what one clock read costs, taken off timed claims */
  /* Chunks are timed with the TSC where the kernel keeps time with it:
   * ns = at_ns + (ticks - at_ticks) * ns_per_tick, re-anchored at each
   * job's start; ns_per_tick comes from the ticks and nanoseconds since
   * the worker started. 0: read CLOCK_MONOTONIC. */
  double ns_per_tick;
  uint64_t cal_ticks, cal_ns, at_ticks, at_ns;
  sharc__wmap *maps;
  unsigned nmaps, cap;
  char last_kernel[SHARC_KERNEL_NAME_MAX];
  sharc_kernel_fn fn;
  uint64_t life_chunks;  /* chunks run since this worker started */
  uint64_t rss_checked;  /* when private memory was last looked at */
  uint64_t rss_base;     /* private memory when it started: pages it shares
                            copy-on-write with the coordinator count as
                            private but were never its own doing */
  int recycle;           /* the fault policy wants it replaced: stop */
  void *local;           /* what the pool's init hook stored */
} worker;

/* A worker leaving normally: the pool's fini hook, then _exit. */
static _Noreturn void leave(worker *wk, int status) {
  if (wk->conf->fini != NULL)
    wk->conf->fini(wk->id, wk->local, wk->conf->init_arg);
  _exit(status);
}

/* Closes every descriptor but 0-2 and the two it needs: descriptors the
 * coordinator had open (other workers' sockets, files, listening sockets)
 * must not be held open by its workers. */
static void close_inherited(int a, int b) {
  int lo = a < b ? a : b, hi = a < b ? b : a;
  if (lo > 3)
    close_range(3, (unsigned)lo - 1, 0);
  if (hi > lo + 1)
    close_range((unsigned)lo + 1, (unsigned)hi - 1, 0);
  close_range((unsigned)hi + 1, ~0u, 0);
}

/* Default actions, except for the two a terminal sends to its whole
 * foreground process group: Ctrl-C and Ctrl-backslash are the coordinator's to
 * handle (sharc run cancels the job and reports what was done); a worker
 * killed by them would turn an interrupt into lost work. Workers still die
 * with the coordinator (PR_SET_PDEATHSIG). */
static void reset_signals(void) {
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, NULL);
  static const int sigs[] = {SIGTERM, SIGHUP,  SIGPIPE, SIGCHLD,
                             SIGUSR1, SIGUSR2, SIGALRM};
  for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++)
    signal(sigs[i], SIG_DFL);
  signal(SIGINT, SIG_IGN);
  signal(SIGQUIT, SIG_IGN);
}

/* SIGBUS inside a mapped array means its file shrank under the mapping (a
 * truncated input). The handler notes which array and where in the slot,
 * then returns: SA_RESETHAND has restored the default action, so the
 * faulting access repeats and the worker dies of SIGBUS, which the
 * coordinator reports as a truncated input. Only async-signal-safe work
 * here: reads of the worker's map list and stores into its slot. */
static worker *bus_worker;

static void on_sigbus(int sig, siginfo_t *si, void *ctx) {
  (void)ctx;
  worker *wk = bus_worker;
  /* Sent, not a fault (raise, kill): returning would swallow it. The
   * handler is reset already (SA_RESETHAND), so this one kills. */
  if (si == NULL || si->si_code <= 0) {
    raise(sig);
    return;
  }
  if (wk == NULL)
    return;
  uintptr_t addr = (uintptr_t)si->si_addr;
  for (unsigned i = 0; i < wk->nmaps; i++) {
    uintptr_t base = (uintptr_t)wk->maps[i].base;
    if (addr >= base && addr - base < wk->maps[i].map_len) {
      wk->slot->bus_array = wk->maps[i].id;
      wk->slot->bus_offset = addr - base;
      wk->slot->bus_seen = 1;
      return;
    }
  }
}

/* SIGSEGV on the job descriptor's pages or in a mapping that is read-only
 * here (retry items, arrays opened read-only): a kernel wrote into what
 * workers may only read. Noted in the slot like SIGBUS, then the worker
 * dies of the repeated access; any other SIGSEGV kills it as before. */
static void on_sigsegv(int sig, siginfo_t *si, void *ctx) {
  (void)ctx;
  worker *wk = bus_worker;
  if (si == NULL || si->si_code <= 0) { /* sent: see on_sigbus */
    raise(sig);
    return;
  }
  if (wk == NULL)
    return;
  uintptr_t addr = (uintptr_t)si->si_addr, job = (uintptr_t)&wk->cb->job;
  if (addr >= job && addr - job < sizeof wk->cb->job) {
    wk->slot->ro_what = 1;
    wk->slot->ro_seen = 1;
    return;
  }
  for (unsigned i = 0; i < wk->nmaps; i++) {
    uintptr_t base = (uintptr_t)wk->maps[i].base;
    if (wk->maps[i].ro && addr >= base && addr - base < wk->maps[i].map_len) {
      wk->slot->ro_what = 2;
      wk->slot->ro_array = wk->maps[i].id;
      wk->slot->ro_seen = 1;
      return;
    }
  }
}

static void catch_sigbus(worker *wk) {
  bus_worker = wk;
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_sigaction = on_sigbus;
  sa.sa_flags = SA_SIGINFO | SA_RESETHAND;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGBUS, &sa, NULL);
  sa.sa_sigaction = on_sigsegv;
  sigaction(SIGSEGV, &sa, NULL);
}

/* What workers must only read (the job descriptor with its argument bytes,
 * array ids and reductions) has pages of its own in the control block:
 * read-only here, so no kernel can change what later chunks compute. */
static void protect_job(worker *wk) {
  if (mprotect(&wk->cb->job, sizeof wk->cb->job, PROT_READ) != 0)
    _exit(126); /* seen by the coordinator as a worker that died starting */
}

/* The plan holds the PU's OS index, which is what sched_setaffinity takes:
 * no topology is needed here, so workers that did not inherit the
 * coordinator's (fork server, spawn) do not load one. The worker has one
 * thread, so binding it binds the process. */
void sharc__pin_pid(pid_t pid, int pu) {
  if (pu < 0)
    return;
  /* On the stack where it fits: a malloc here, between forks, writes heap
   * pages the coordinator now shares copy-on-write with its workers. */
  cpu_set_t small;
  size_t size = CPU_ALLOC_SIZE(pu + 1);
  cpu_set_t *set = pu < CPU_SETSIZE ? &small : CPU_ALLOC(pu + 1);
  if (set == NULL)
    return;
  CPU_ZERO_S(size, set);
  CPU_SET_S((size_t)pu, size, set);
  /* A failure leaves the worker unpinned; the test suite checks pinning. */
  (void)sched_setaffinity(pid, size, set);
  if (set != &small)
    CPU_FREE(set);
}

static sharc__wmap *map_find(worker *wk, uint32_t id) {
  for (unsigned i = 0; i < wk->nmaps; i++) {
    if (wk->maps[i].id == id)
      return &wk->maps[i];
  }
  return NULL;
}

static sharc__wmap *map_add(worker *wk) {
  if (wk->nmaps == wk->cap) {
    unsigned cap = wk->cap ? wk->cap * 2 : 16;
    sharc__wmap *m = realloc(wk->maps, cap * sizeof *m);
    if (m == NULL)
      return NULL;
    wk->maps = m;
    wk->cap = cap;
  }
  return &wk->maps[wk->nmaps++];
}

static void map_drop(worker *wk, uint32_t id) {
  sharc__wmap *m = map_find(wk, id);
  if (m == NULL)
    return;
  /* Inherited mappings are the coordinator's too, but this is our copy of
   * the address space: unmapping here leaves the coordinator's alone. */
  munmap(m->base, m->map_len);
  *m = wk->maps[--wk->nmaps];
}

static int recv_msg(worker *wk, sharc__msg *msg, int *fd) {
  char ctl[CMSG_SPACE(sizeof(int))];
  struct iovec iov = {msg, sizeof *msg};
  struct msghdr mh = {0};
  mh.msg_iov = &iov;
  mh.msg_iovlen = 1;
  mh.msg_control = ctl;
  mh.msg_controllen = sizeof ctl;
  *fd = -1;
  ssize_t got = recvmsg(wk->sock, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
  if (got <= 0)
    return 0;
  struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
  if (c != NULL && c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS)
    memcpy(fd, CMSG_DATA(c), sizeof(int));
  return got == (ssize_t)sizeof *msg;
}

static int apply_map(worker *wk, const sharc__msg *msg, int fd) {
  void *base = mmap(NULL, msg->map_len, msg->prot, MAP_SHARED, fd, 0);
  close(fd);
  if (base == MAP_FAILED)
    return -errno;
  sharc__wmap *m = map_add(wk);
  if (m == NULL) {
    munmap(base, msg->map_len);
    return SHARC_ENOMEM;
  }
  m->id = msg->id;
  m->ndim = msg->ndim;
  m->dtype = (sharc_dtype)msg->dtype;
  m->base = base;
  m->map_len = msg->map_len;
  m->data = (char *)base + msg->data_off;
  m->nbytes = msg->nbytes;
  m->size = msg->size;
  memcpy(m->shape, msg->shape, sizeof m->shape);
  m->ro = !(msg->prot & PROT_WRITE);
  return 0;
}

/* Takes the array messages the coordinator sent before posting the job. */
static int sync_arrays(worker *wk) {
  sharc__msg msg;
  int fd, rc = 0;
  while (recv_msg(wk, &msg, &fd)) {
    if (msg.op == SHARC__MSG_DROP) {
      map_drop(wk, msg.id);
    } else if (msg.op == SHARC__MSG_MAP && fd >= 0) {
      map_drop(wk, msg.id);
      int r = apply_map(wk, &msg, fd);
      rc = rc ? rc : r;
    } else if (fd >= 0) {
      close(fd);
    }
  }
  return rc;
}

static int build_task(worker *wk, const sharc__job_desc *job, sharc_task *t) {
  t->job = job;
  t->local = wk->local;
  t->partials = NULL; /* set per chunk by sharc__reduce_chunk, if any */
  t->worker = wk->id;
  t->nworkers = job->nworkers;
  t->numa = wk->conf->plan[wk->id].numa;
  t->narrays = job->narrays <= SHARC_MAX_JOB_ARRAYS ? job->narrays : 0;
  for (unsigned i = 0; i < t->narrays; i++) {
    t->arrays[i] = map_find(wk, job->array_ids[i]);
    if (t->arrays[i] == NULL)
      return SHARC_EINVAL;
  }
  return 0;
}

static sharc_kernel_fn lookup(worker *wk, const char *name) {
  if (wk->fn == NULL || strncmp(wk->last_kernel, name, sizeof wk->last_kernel)) {
    memcpy(wk->last_kernel, name, sizeof wk->last_kernel);
    wk->last_kernel[sizeof wk->last_kernel - 1] = '\0';
    wk->fn = sharc_kernel_find(wk->last_kernel);
  }
  return wk->fn;
}

/* CPU time and peak RSS in one system call. The peak is the job's own:
 * the worker resets it through /proc/self/clear_refs when the job starts
 * (ru_maxrss follows that reset; it would otherwise cover the worker's
 * whole life). */
static void usage_now(uint64_t *cpu, uint64_t *maxrss) {
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  *cpu = ((uint64_t)ru.ru_utime.tv_sec + (uint64_t)ru.ru_stime.tv_sec) *
             1000000000u +
         ((uint64_t)ru.ru_utime.tv_usec + (uint64_t)ru.ru_stime.tv_usec) * 1000u;
  *maxrss = (uint64_t)ru.ru_maxrss * 1024u;
}

/* Private resident bytes: statm's resident less its shared (file and shmem)
 * pages. statm is far cheaper to generate than status. */
static uint64_t private_bytes(worker *wk) {
  char buf[256];
  ssize_t got = pread(wk->statm_fd, buf, sizeof buf - 1, 0);
  if (got <= 0)
    return 0;
  buf[got] = '\0';
  /* three decimal fields: size, resident, shared (strtoull, not sscanf:
   * every worker reads this as it starts, and the scanf machinery was a
   * measurable part of that) */
  unsigned long long v[3];
  char *p = buf;
  for (int i = 0; i < 3; i++) {
    char *end;
    v[i] = strtoull(p, &end, 10);
    if (end == p)
      return 0;
    p = end;
  }
  if (v[2] > v[1])
    return 0;
  return (v[1] - v[2]) * (uint64_t)getpagesize();
}

/* An internal array the coordinator made for the job (trace buffer,
 * journal bitmap), if it is mapped here and holds at least `bytes`. */
static void *job_area(worker *wk, uint32_t id, uint64_t bytes) {
  const sharc__wmap *m = id != 0 ? map_find(wk, id) : NULL;
  return m != NULL && bytes > 0 && m->nbytes >= bytes ? m->data : NULL;
}

/* This worker's part of the job's trace buffer, or NULL. */
static sharc__trace_rec *trace_buffer(worker *wk, const sharc__job_desc *job) {
  sharc__trace_rec *all = job_area(
      wk, job->trace_id,
      (uint64_t)(wk->id + 1) * job->trace_cap * sizeof(sharc__trace_rec));
  return all != NULL ? all + (uint64_t)wk->id * job->trace_cap : NULL;
}

/* After a chunk: whether the fault policy wants this worker recycled. */
static int recycle_due(worker *wk, const sharc__job_desc *job, uint64_t now) {
  wk->life_chunks++;
  if (job->recycle_chunks && wk->life_chunks >= job->recycle_chunks)
    return 1;
  if (job->recycle_rss && wk->statm_fd >= 0 &&
      now - wk->rss_checked >= 1000000u) {
    wk->rss_checked = now;
    uint64_t now_bytes = private_bytes(wk);
    return now_bytes > wk->rss_base &&
           now_bytes - wk->rss_base > job->recycle_rss;
  }
  return 0;
}

/* The chunk clock: a TSC read (~10 ns) where it can stand in for
 * CLOCK_MONOTONIC (~25 ns through the vDSO). Used for chunk durations
 * only; what the coordinator compares with its own clock is read from
 * CLOCK_MONOTONIC. */
static inline uint64_t chunk_now(const worker *wk) {
  if (wk->ns_per_tick > 0) {
    uint64_t t = sharc__ticks();
    return wk->at_ns +
           (t > wk->at_ticks
                ? (uint64_t)((double)(int64_t)(t - wk->at_ticks) *
                             wk->ns_per_tick)
                : 0);
  }
  return sharc__now_ns();
}

/* The cheapest of a few back-to-back clock reads: the clock's own cost,
 * which would otherwise be counted into every timed claim. */
static uint64_t clock_cost(const worker *wk) {
  uint64_t best = UINT64_MAX;
  for (int i = 0; i < 32; i++) {
    uint64_t a = chunk_now(wk), b = chunk_now(wk);
    best = b - a < best ? b - a : best;
  }
  return best;
}

/* At a job's start (`now` from CLOCK_MONOTONIC): anchors the chunk clock
 * and, once a millisecond has passed since the worker started, sets its
 * rate from the whole time since (two reads' jitter is then under 0.01%
 * of it). */
static void clock_anchor(worker *wk, uint64_t now) {
  if (!wk->conf->tsc_clock)
    return;
  uint64_t t = sharc__ticks();
  int had = wk->ns_per_tick > 0;
  if (now - wk->cal_ns >= 1000000u && t > wk->cal_ticks) {
    double r = (double)(now - wk->cal_ns) / (double)(t - wk->cal_ticks);
    if (r > 0.001 && r < 1000)
      wk->ns_per_tick = r;
  }
  wk->at_ticks = t;
  wk->at_ns = now;
  if (!had && wk->ns_per_tick > 0)
    wk->clock_ns = clock_cost(wk);
}

/* How often claims are timed (see chunk_loop). */
#define SAMPLE_BELOW_NS 2000u
#define SAMPLE_EVERY 256u
#define SAMPLE_LONG 16u

/* Watched jobs (fault.timeout_*): the coordinator sees when the running
 * chunk began, and each worker's running median of its chunk times
 * (Frugal-style: a step of 1/32 of the estimate towards each sample). */
static inline void watch_begin(sharc__slot *slot, uint64_t t) {
  atomic_store_explicit(&slot->chunk_start_ns, t ? t : 1,
                        memory_order_relaxed);
}

static inline void watch_end(sharc__slot *slot, double *median, uint64_t ns) {
  atomic_store_explicit(&slot->chunk_start_ns, 0, memory_order_relaxed);
  double m = *median, step = m / 32;
  if (m == 0)
    m = (double)ns;
  else if ((double)ns > m)
    m += step;
  else if ((double)ns < m)
    m -= step;
  *median = m;
  atomic_store_explicit(&slot->chunk_median_ns, (uint64_t)m + 1,
                        memory_order_relaxed);
}

/* This process's worker, for what is told without passing it around. */
static worker *self;

/* A block was marked done: tell a coordinator that asked (cb.h). */
static void progress_note(void) {
  _Atomic uint32_t *want = &self->cb->progress_wanted;
  if (atomic_load_explicit(want, memory_order_relaxed) &&
      atomic_exchange(want, 0)) {
    uint64_t one = 1;
    if (write(self->conf->evfd, &one, sizeof one) < 0) {
      /* the coordinator's poll timeout finds the blocks regardless */
    }
  }
}

/* The job's journal bitmap (journal.c), or NULL. */
static _Atomic uint64_t *journal_bits(worker *wk, const sharc__job_desc *job) {
  if (job->journal_block == 0 || job->journal_words > UINT64_MAX / 8)
    return NULL;
  return job_area(wk, job->journal_id, job->journal_words * sizeof(uint64_t));
}

/* After a chunk [b, e) succeeded: marks the journal blocks it covers
 * whole (the last block may end at n). */
static void journal_mark(_Atomic uint64_t *bits, const sharc__job_desc *job,
                         uint64_t b, uint64_t e) {
  uint64_t B = job->journal_block;
  for (uint64_t k = b / B + (b % B != 0); k * B < e; k++) {
    uint64_t end = (k + 1) * B < job->n ? (k + 1) * B : job->n;
    if (end > e || k / 64 >= job->journal_words)
      break;
    atomic_fetch_or_explicit(&bits[k / 64], UINT64_C(1) << (k % 64),
                             memory_order_release);
  }
  progress_note();
}

/* Under a fault policy, after the kernel returned 0 on [b, e): the range
 * goes into the slot's tally, then cur_done says so, so that a death
 * from here on does not count the range as failed. Compiler fences
 * suffice: stores a killed process executed are not lost. */
static inline void chunk_completed(sharc__slot *slot, uint64_t b, uint64_t e) {
  sharc__tally_add(&slot->tally, b, e);
  atomic_signal_fence(memory_order_seq_cst);
  slot->cur_done = 1;
}

/* The cost of a sampled claim timed by reads at t0 and t1: a claim can take
 * less than the clock read that times it. */
static inline uint64_t claim_cost(const worker *wk, uint64_t t0, uint64_t t1) {
  return t1 - t0 > wk->clock_ns ? t1 - t0 - wk->clock_ns : 0;
}

/* After the claim loop: the worker's counts, its claim time extrapolated
 * from the sampled claims, and busy time as the loop's total less that. */
static void publish_counts(sharc__slot *slot, uint64_t start, uint64_t chunks,
                           uint64_t indices, uint64_t claims, uint64_t sampled,
                           uint64_t claim_ns) {
  uint64_t total = sharc__now_ns() - start;
  uint64_t claim =
      sampled ? (uint64_t)((double)claim_ns * (double)claims / (double)sampled)
              : 0;
  slot->chunks = chunks;
  slot->indices = indices;
  slot->claim_ns = claim < total ? claim : total;
  slot->busy_ns = total - slot->claim_ns;
}

/* What a job asks of the chunk loop beyond claiming and running chunks. A
 * plain job asks none of it. */
typedef struct loop_opts {
  sharc__trace_rec *trace; /* this worker's trace records, or NULL */
  _Atomic uint64_t *jbits; /* the journal's bitmap, or NULL */
  uint64_t grain;          /* indices per unit the schedule deals in */
  int watch;               /* publish chunk start times and medians */
  int rss;                 /* recycle above an RSS ceiling */
  int marks;               /* fault policy: mark claims in progress */
  int recycling;           /* recycle after N chunks or above the ceiling */
  int reducing;            /* the job has reductions */
  uint64_t base;           /* a part of a larger index space: the kernel
                              sees base + i (0 otherwise) */
} loop_opts;

/* An adaptive schedule's span of chunks ended at t2 (see
 * sharc__claim_span): hand over its time and units, start the next. */
static inline void span_close(sharc__claim *c, const uint32_t kind, uint64_t t2,
                              uint64_t *t_span, uint64_t *span_units,
                              unsigned *span_left) {
  sharc__claim_span_kind(c, kind, t2 - *t_span, *span_units);
  *t_span = t2;
  *span_units = 0;
  *span_left = c->every;
}

/* A claim; with marks (a fault policy), `claiming` says from just before
 * it until the range is named in the slot that a death leaves unknown what
 * it took (fault.c: the pass is then run again whole). Compiler fences
 * suffice: the stores of a killed process that executed are not lost, only
 * a compiler could move them past the claim. */
static inline __attribute__((always_inline)) int
claim_marked(sharc__slot *slot, sharc__claim *c, const uint32_t kind,
             const int marks, uint64_t *b, uint64_t *e) {
  if (marks) {
    atomic_store_explicit(&slot->claiming, 1, memory_order_relaxed);
    atomic_signal_fence(memory_order_seq_cst);
  }
  return sharc__claim_kind(c, kind, b, e);
}

/* The chunk loop, for every schedule and every job: claim a chunk, name it
 * in the slot, run the kernel, account for it. Inlined once per schedule
 * for plain jobs (`kind` a constant, `plain` 1: every option below folds
 * away and only that schedule's claim stays in the loop), and once with
 * `kind` read from the job for jobs with options and retry passes.
 *
 * Hot path, plain job: one claim (at most one atomic operation on the
 * control block), two stores naming the range in this worker's own slot,
 * the kernel call; no system call, lock or allocation.
 *
 * Claims are timed on samples and their total extrapolated; the loop's
 * total time is exact, so busy time is the total less the claims. While
 * chunks take less than SAMPLE_BELOW_NS one claim in SAMPLE_EVERY is timed
 * (two clock reads would otherwise cost more than the claim itself), else
 * one in SAMPLE_LONG. Schedules that size chunks by their measured time
 * (auto, wf) read the clock once per span of c->every chunks, where the
 * span ends, and time the claim that opens a span (one in SAMPLE_LONG of
 * them while spans are one chunk long): a chunk inside a span pays no
 * clock read at all. Traced and watched jobs read the clock around every
 * chunk anyway, so every claim and chunk is timed and a span is one
 * chunk. */
static inline __attribute__((always_inline)) int
chunk_loop(worker *wk, const sharc__job_desc *job, sharc_task *t,
           sharc_kernel_fn fn, sharc__claim *c, const loop_opts *o,
           const uint32_t kind, const int plain) {
  sharc__cb *cb = wk->cb;
  sharc__slot *slot = wk->slot;
  const int adapts = sharc__sched_adapts(kind);
  sharc__trace_rec *const trace = plain ? NULL : o->trace;
  _Atomic uint64_t *const jbits = plain ? NULL : o->jbits;
  const uint64_t grain = plain ? 1 : o->grain;
  const int watch = !plain && o->watch;
  const int stamp = trace != NULL || watch;
  const int ends = stamp || (!plain && o->rss);
  const int marks = !plain && o->marks;
  const int recycling = !plain && o->recycling;
  const int reducing = !plain && o->reducing; /* else no call per chunk */
  const uint64_t base = plain ? 0 : o->base;
  double median = 0;
  uint64_t start = sharc__now_ns(), chunks = 0, indices = 0, sampled = 0;
  uint64_t claim_ns = 0, traced = 0, steals_seen = 0, b, e;
  /* t0: before the claim, t1: after it, t2: after the kernel call; the
   * span began at t_span and holds span_units */
  uint64_t t0 = adapts || stamp ? chunk_now(wk) : 0, t1 = t0, t2 = t0;
  uint64_t t_span = t0, span_units = 0;
  /* A plain job tallies its chunks here, as runs [rb, re) (an owner's
   * chunks follow each other), into the slot at the end; otherwise each
   * chunk goes into the slot as it completes, where a death leaves it. */
  uint64_t rb = 0, re = 0;
  sharc__tally tl = {0, 0, 0};
  unsigned countdown = 1, span_left = 1;
  int opens = adapts, rc = 0; /* a span opens with the next claim */
  for (;;) {
    /* A read-mostly line: in every worker's cache until a cancel. */
    if (atomic_load_explicit(&cb->cancel, memory_order_relaxed))
      break;
    int sample;
    if (stamp)
      sample = 1; /* t0 is the last chunk's end */
    else if (adapts)
      sample = __builtin_expect(opens, 0) && (c->every > 1 || --countdown == 0);
    else
      sample = __builtin_expect(--countdown == 0, 0);
    /* The claim is written twice so that nothing about sampling stays live
     * across the one in the common branch. */
    int got;
    if (__builtin_expect(sample, 0)) {
      if (!stamp)
        t0 = chunk_now(wk);
      got = claim_marked(slot, c, kind, marks, &b, &e);
      t1 = chunk_now(wk);
      sampled++;
      claim_ns += claim_cost(wk, t0, t1);
      if (adapts)
        countdown = SAMPLE_LONG; /* countdown 0: a sampled chunk runs */
    } else {
      got = claim_marked(slot, c, kind, marks, &b, &e);
    }
    if (!got) {
      if (marks)
        atomic_store_explicit(&slot->claiming, 0, memory_order_relaxed);
      break;
    }
    if (grain > 1) {
      b *= grain;
      e = e * grain < job->n ? e * grain : job->n;
    }
    if (!plain)
      slot->cur_done = 0;
    slot->cur_begin = b;
    slot->cur_end = e;
    if (marks) {
      atomic_signal_fence(memory_order_seq_cst);
      atomic_store_explicit(&slot->claiming, 0, memory_order_relaxed);
    }
    if (reducing)
      sharc__reduce_chunk(t, job, b, e);
    /* The coordinator compares this with its own clock: CLOCK_MONOTONIC. */
    uint64_t w0 = watch ? sharc__now_ns() : 0;
    if (watch)
      watch_begin(slot, w0);
    rc = fn(t, b + base, e + base);
    if (adapts) {
      span_units += c->took;
      opens = --span_left == 0;
    }
    if (ends || opens || countdown == 0) {
      t2 = chunk_now(wk);
      if (watch)
        watch_end(slot, &median, sharc__now_ns() - w0);
      if (adapts) { /* the span ends here whenever the clock was read */
        span_close(c, kind, t2, &t_span, &span_units, &span_left);
        opens = 1;
      }
      if (countdown == 0)
        countdown = t2 - t1 < SAMPLE_BELOW_NS ? SAMPLE_EVERY : SAMPLE_LONG;
    }
    if (trace != NULL) {
      if (traced < job->trace_cap)
        trace[traced] = (sharc__trace_rec){
            t1 - job->post_ns, t2 - job->post_ns, b, e, c->victim,
            c->steals != steals_seen ? t1 - t0 : 0};
      traced++;
      steals_seen = c->steals;
    }
    t0 = t2;
    chunks++;
    indices += e - b;
    if (rc != 0)
      break;
    if (plain) {
      if (b != re) {
        sharc__tally_add(&tl, rb, re);
        rb = b;
      }
      re = e;
    } else {
      chunk_completed(slot, b, e);
    }
    if (jbits != NULL)
      journal_mark(jbits, job, b, e);
    if (recycling && recycle_due(wk, job, ends ? t2 : sharc__now_ns())) {
      wk->recycle = 1;
      break;
    }
  }
  if (plain) {
    sharc__tally_add(&tl, rb, re);
    slot->tally = tl;
  }
  /* the last claim found nothing, unless the loop stopped on an error or
   * to recycle */
  publish_counts(slot, start, chunks, indices,
                 chunks + (rc == 0 && !wk->recycle), sampled, claim_ns);
  slot->steals = c->steals;
  slot->traced = traced;
  return rc;
}

/* The loop made once per schedule for plain jobs, each a function of its
 * own (registers are allocated for that loop alone), and once for the
 * rest. */
#define SHARC__X(K, name, flags)                                               \
  static __attribute__((noinline)) int plain_##name(                           \
      worker *wk, const sharc__job_desc *job, sharc_task *t,                   \
      sharc_kernel_fn fn, sharc__claim *c) {                                   \
    return chunk_loop(wk, job, t, fn, c, NULL, SHARC_SCHED_##K, 1);            \
  }
SHARC__SCHEDULES(SHARC__X)
#undef SHARC__X

/* The one specialised loop: dynamic:k on a plain job, one fetch-and-add,
 * two stores naming the range, the kernel call. It is what people compare
 * with OpenMP's dynamic schedule, so nothing else stays live across the
 * call: the indices are counted from the chunks after the loop (only a
 * worker's last chunk can be short, and only when it ends at n), and the
 * tally from the sums of the chunks' first indices. Measured against the
 * generic chunk_loop on bench_dispatch (docs/performance.md): about 7 ns a
 * chunk less. */
static int run_dynamic(worker *wk, const sharc__job_desc *job, sharc_task *t,
                       sharc_kernel_fn fn, uint64_t chunk) {
  sharc__cb *cb = wk->cb;
  sharc__slot *slot = wk->slot;
  uint64_t start = sharc__now_ns(), chunks = 0, sampled = 0, claim_ns = 0;
  /* The tally (tally.h) from the sums of the chunks' first indices and of
   * their squares, added before each call so that nothing but these two
   * stays live across it; the failed or short last chunk is put right
   * after the loop from the slot. */
  uint64_t bsum = 0, bsq = 0;
  unsigned countdown = 1;
  int rc = 0;
  for (;;) {
    if (atomic_load_explicit(&cb->cancel, memory_order_relaxed))
      break;
    if (__builtin_expect(--countdown == 0, 0)) {
      uint64_t t0 = chunk_now(wk);
      uint64_t b = atomic_fetch_add_explicit(&cb->next, chunk,
                                             memory_order_relaxed);
      uint64_t t1 = chunk_now(wk);
      sampled++;
      claim_ns += claim_cost(wk, t0, t1);
      if (b >= job->n)
        break;
      slot->cur_begin = b;
      slot->cur_end = job->n - b > chunk ? b + chunk : job->n;
      bsum += b;
      bsq += b * b;
      rc = fn(t, b, slot->cur_end);
      countdown =
          chunk_now(wk) - t1 < SAMPLE_BELOW_NS ? SAMPLE_EVERY : SAMPLE_LONG;
    } else {
      uint64_t b = atomic_fetch_add_explicit(&cb->next, chunk,
                                             memory_order_relaxed);
      if (b >= job->n)
        break;
      uint64_t e = job->n - b > chunk ? b + chunk : job->n;
      slot->cur_begin = b;
      slot->cur_end = e;
      bsum += b;
      bsq += b * b;
      rc = fn(t, b, e);
    }
    chunks++;
    if (rc != 0)
      break;
  }
  uint64_t indices = chunks * chunk;
  if (chunks > 0 && slot->cur_end == job->n)
    indices -= chunk - (slot->cur_end - slot->cur_begin);
  uint64_t cb0 = slot->cur_begin, ce0 = slot->cur_end, ok = chunks;
  if (rc != 0) { /* the last chunk failed: not in the tally */
    ok--;
    bsum -= cb0;
    bsq -= cb0 * cb0;
  }
  sharc__tally tl = sharc__tally_chunks(ok, chunk, bsum, bsq);
  if (rc == 0 && ok > 0 && ce0 == job->n && ce0 - cb0 != chunk) {
    /* only the chunk ending at n is short, and it is then the worker's
     * last: [n, its begin + chunk) was tallied as if it had run */
    sharc__tally extra = {0, 0, 0};
    sharc__tally_add(&extra, job->n, cb0 + chunk);
    tl.count -= extra.count;
    tl.s1 -= extra.s1;
    tl.s2 -= extra.s2;
  }
  publish_counts(slot, start, chunks, indices, chunks + (rc == 0), sampled,
                 claim_ns);
  slot->tally = tl;
  return rc;
}

static __attribute__((noinline)) int any_loop(worker *wk,
                                              const sharc__job_desc *job,
                                              sharc_task *t, sharc_kernel_fn fn,
                                              sharc__claim *c,
                                              const loop_opts *o) {
  return chunk_loop(wk, job, t, fn, c, o, c->kind, 0);
}

static int run_chunks(worker *wk, const sharc__job_desc *job, sharc_task *t,
                      sharc_kernel_fn fn) {
  uint32_t kind = job->sched_kind;
  int items = kind == SHARC__SCHED_ITEMS;
  /* With a grain g the schedule deals in blocks of g indices; retry items
   * are in indices. */
  uint64_t grain = !items && job->grain > 1 ? job->grain : 1;
  uint64_t units = job->n / grain + (job->n % grain != 0);
  sharc__claim_ctx ctx = {&wk->cb->next,
                          sharc__cb_ranges(wk->cb, wk->conf->nworkers),
                          wk->cb->slots, wk->conf->plan, NULL, 0};
  if (items) {
    const sharc__wmap *m = map_find(wk, job->items_id);
    if (m == NULL || job->nitems > m->nbytes / sizeof(sharc__item))
      return SHARC_EINVAL;
    ctx.items = m->data;
    ctx.nitems = job->nitems;
  }
  sharc__claim c;
  sharc__claim_init(&c, kind, units, job->chunk, wk->id, job->nworkers, &ctx);
  loop_opts o = {items ? NULL : trace_buffer(wk, job),
                 journal_bits(wk, job),
                 grain,
                 job->watch != 0,
                 job->recycle_rss != 0,
                 job->retrying != 0,
                 job->recycle_chunks || job->recycle_rss,
                 job->reduce.nred != 0,
                 job->base};
  int plain = o.trace == NULL && o.jbits == NULL && grain == 1 && !o.watch &&
              !o.rss && !o.marks && !o.recycling && !o.reducing && !o.base;
  if (!plain || items)
    return any_loop(wk, job, t, fn, &c, &o);
  if (kind == SHARC_SCHED_DYNAMIC)
    return run_dynamic(wk, job, t, fn, c.chunk);
  switch (kind) {
#define SHARC__X(K, name, flags)                                               \
  case SHARC_SCHED_##K:                                                        \
    return plain_##name(wk, job, t, fn, &c);
    SHARC__SCHEDULES(SHARC__X)
#undef SHARC__X
  default:
    return SHARC_EINVAL;
  }
}

/* Called after publishing done_seq or ready (sequentially consistent
 * stores): wakes the coordinator, but only if it sleeps. Either this load
 * sees `coord_waiting` set, or the coordinator's look at the slots after
 * setting it sees this worker done. */
static void finished(worker *wk) {
  if (atomic_load(&wk->cb->coord_waiting)) {
    uint64_t one = 1;
    if (write(wk->conf->evfd, &one, sizeof one) < 0) {
      /* The coordinator's poll timeout finds the job done regardless. */
    }
  }
}

/* After publishing ready (sequentially consistent): wakes a waiting
 * coordinator only if every worker of the pool is ready now, so that a
 * start of W workers costs it one wake-up, not W. Of workers becoming
 * ready together, the last one's loads come after every other's store
 * (all sequentially consistent), so it sees them all and writes; a
 * coordinator that looked at the flags before that store set
 * coord_waiting first, which this load sees. A scribbled flag only costs
 * the coordinator its poll timeout. */
static void ready_note(worker *wk) {
  if (!atomic_load(&wk->cb->coord_waiting))
    return;
  for (unsigned w = 0; w < wk->conf->nworkers; w++) {
    if (!atomic_load(&wk->cb->slots[w].ready))
      return;
  }
  uint64_t one = 1;
  if (write(wk->conf->evfd, &one, sizeof one) < 0) {
    /* The coordinator's poll timeout finds the flags regardless. */
  }
}

static void run_job(worker *wk, uint32_t seq) {
  const sharc__job_desc *job = &wk->cb->job;
  sharc__slot *slot = wk->slot;
  uint64_t start = sharc__now_ns();
  SHARC__PROF("w-job", wk->id);
  clock_anchor(wk, start);
  slot->err = 0;
  slot->chunks = slot->indices = slot->claim_ns = slot->busy_ns = 0;
  slot->steals = slot->traced = 0;
  atomic_store_explicit(&slot->chunk_start_ns, 0, memory_order_relaxed);
  atomic_store_explicit(&slot->chunk_median_ns, 0, memory_order_relaxed);
  slot->cur_begin = slot->cur_end = 0;
  slot->cur_done = 0;
  slot->tally = (sharc__tally){0, 0, 0};
  slot->bus_seen = 0;
  slot->ro_seen = slot->ro_what = slot->ro_array = 0;
  slot->recycled = 0;
  atomic_store_explicit(&slot->claiming, 0, memory_order_relaxed);
  slot->started_seq = seq;
  slot->cpu_ns = slot->peak_rss = slot->private_bytes = 0;
  slot->wake_ns = start > job->post_ns ? start - job->post_ns : 0;
  int measure = job->measure_rusage && wk->statm_fd >= 0;
  uint64_t cpu0 = 0, rss;
  if (measure) {
    /* opened by the first job that measures, not by every worker */
    if (wk->clear_refs_fd == -2)
      wk->clear_refs_fd = open("/proc/self/clear_refs", O_WRONLY | O_CLOEXEC);
    if (wk->clear_refs_fd >= 0 && pwrite(wk->clear_refs_fd, "5", 1, 0) != 1) {
      /* Older kernels: the peak then covers the worker's life. */
    }
    usage_now(&cpu0, &rss);
  }
  sharc_task task;
  /* Only look at the socket when the coordinator sent something: a
   * system call per job otherwise. */
  int rc = job->mail ? sync_arrays(wk) : 0;
  if (rc == 0)
    rc = build_task(wk, job, &task);
  sharc_kernel_fn fn = rc == 0 ? lookup(wk, job->kernel) : NULL;
  if (rc == 0 && fn == NULL)
    rc = SHARC_ENOKERNEL;
  if (rc == 0)
    rc = run_chunks(wk, job, &task, fn);
  if (wk->recycle) {
    /* Its chunks are done and counted; the coordinator sees the exit
     * status and this flag, replaces the worker and runs what is left. */
    slot->recycled = 1;
    leave(wk, SHARC__EXIT_RECYCLE);
  }
  slot->err = rc;
  if (measure) {
    uint64_t cpu1;
    usage_now(&cpu1, &slot->peak_rss);
    slot->cpu_ns = cpu1 - cpu0;
    slot->private_bytes = private_bytes(wk);
  }
  uint64_t end = sharc__now_ns();
  slot->end_ns = end > job->post_ns ? end - job->post_ns : 0;
  atomic_store(&slot->done_seq, seq);
  finished(wk);
}

/* Spins for a while (cheap wake-up for back-to-back jobs), then sleeps on
 * the futex. Spinning with pause pays only when the coordinator has a PU of
 * its own: with a worker on every PU it would keep the coordinator from
 * running, so then workers yield a bounded number of times instead. The
 * sleepers count lets the
 * coordinator skip the wake-up system call when nobody sleeps: a worker
 * counts itself before its last look at the sequence number, the
 * coordinator looks at the count after publishing the number (both
 * sequentially consistent). */
static uint32_t wait_job(worker *wk, uint32_t seen, int spin) {
  sharc__cb *cb = wk->cb;
  uint64_t until = sharc__now_ns() + (uint64_t)wk->conf->spin_us * 1000u;
  uint32_t v;
  for (unsigned i = 0; spin && wk->conf->spin_us > 0; i++) {
    v = atomic_load_explicit(&cb->seq, memory_order_acquire);
    if (v != seen)
      return v;
    if (wk->share_pu) {
      if (i == SHARC__YIELDS_MAX)
        break;
      sched_yield();
      continue;
    }
    sharc__cpu_relax();
    if ((i & 63) == 63 && sharc__now_ns() >= until)
      break;
  }
  for (;;) {
    atomic_fetch_add(&cb->sleepers, 1);
    v = atomic_load(&cb->seq);
    if (v == seen)
      sharc__futex_wait(&cb->seq, seen);
    atomic_fetch_sub(&cb->sleepers, 1);
    v = atomic_load_explicit(&cb->seq, memory_order_acquire);
    if (v != seen)
      return v;
  }
}

_Noreturn void sharc__worker_main(const sharc__wconf *conf) {
  /* Die with the parent (the coordinator, or the fork server, which dies
   * with the coordinator); if it died before this, the signal was never
   * armed, so look. A spawned worker arms it here too, after exec: the
   * setting does not survive the fork inside posix_spawn. */
  SHARC__PROF("w-enter", conf->id);
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (getppid() != conf->parent)
    _exit(127);
  reset_signals();
  close_inherited(conf->sock, conf->evfd);
  worker wk = {0};
  self = &wk;
  wk.conf = conf;
  wk.cb = conf->cb;
  wk.slot = &conf->cb->slots[conf->id];
  wk.id = conf->id;
  wk.sock = conf->sock;
  wk.share_pu = conf->share_pu;
  catch_sigbus(&wk);
  protect_job(&wk);
  /* No pinning here: whoever forked or spawned this worker pinned it by
   * its pid before create or the replacement returns (sharc__pin_pid). */
  wk.clock_ns = clock_cost(&wk);
  wk.cal_ticks = sharc__ticks();
  wk.cal_ns = sharc__now_ns();
  wk.clear_refs_fd = -2; /* not opened yet: see run_job */
  wk.statm_fd = open("/proc/self/statm", O_RDONLY | O_CLOEXEC);
  if (wk.statm_fd >= 0)
    wk.rss_base = private_bytes(&wk);
  for (const sharc_array *a = conf->inherited; a != NULL; a = a->next) {
    sharc__wmap *m = map_add(&wk);
    if (m != NULL)
      sharc__wmap_from_array(a, m);
    /* inherited read-write from the coordinator: what workers must only
     * read becomes read-only here */
    if (m != NULL && a->worker_ro &&
        mprotect(m->base, m->map_len, PROT_READ) != 0)
      _exit(126);
  }
  /* A worker that inherited nothing was sent every array before it
   * started: take them now, so that a job it joins finds them. */
  if (conf->fresh && sync_arrays(&wk) != 0)
    _exit(126);
  wk.slot->pid = (int32_t)sharc__self_pid(); /* no system call after fork */
  if (conf->init != NULL) {
    int rc = conf->init(conf->id, &wk.local, conf->init_arg);
    if (rc != 0) {
      wk.slot->err = rc;
      _exit(SHARC__EXIT_INIT);
    }
  }
  atomic_store(&wk.slot->ready, 1);
  ready_note(&wk);
  SHARC__PROF("w-ready", conf->id);
  /* Before its first job a worker neither spins nor yields but sleeps:
   * the coordinator is still starting the other workers or returning from
   * sharc_pool_create (hundreds of microseconds, longer than a spin), and
   * spinning or yielding would take a PU it may need. */
  uint32_t seen = conf->seen;
  for (int first = 1;; first = 0) {
    seen = wait_job(&wk, seen, !first);
    if (atomic_load(&wk.cb->shutdown))
      leave(&wk, 0);
    run_job(&wk, seen);
  }
}
