/* The worker process: wait for a job, claim chunks, run the kernel, report.
 *
 * Runs in a forked child. It must never return into the caller's code: every
 * way out is _exit(), so no atexit handler, stdio buffer or MPI finalizer of
 * the coordinator runs twice. */
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
  sharc_pool *pool; /* the coordinator's pool as of the fork: read-only */
  sharc__cb *cb;
  sharc__slot *slot;
  unsigned id;
  int sock;
  int clear_refs_fd; /* /proc/self/clear_refs: resets the peak RSS */
  int status_fd;     /* /proc/self/status: VmHWM, RssAnon */
  int oversubscribed;
  sharc__wmap *maps;
  unsigned nmaps, cap;
  char last_kernel[SHARC_KERNEL_NAME_MAX];
  sharc_kernel_fn fn;
} worker;

static inline void cpu_relax(void) {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  __asm__ __volatile__("yield");
#endif
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

static void reset_signals(void) {
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, NULL);
  static const int sigs[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGPIPE,
                             SIGCHLD, SIGUSR1, SIGUSR2, SIGALRM};
  for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++)
    signal(sigs[i], SIG_DFL);
}

static void pin(worker *wk) {
  sharc_pool *pool = wk->pool;
  int pu = pool->plan.w[wk->id].pu;
  if (!pool->opts.pin || pu < 0)
    return;
  hwloc_bitmap_t set = hwloc_bitmap_alloc();
  if (set == NULL)
    return;
  hwloc_bitmap_only(set, (unsigned)pu);
  /* A failure leaves the worker unpinned; the test suite checks pinning. */
  (void)hwloc_set_cpubind(pool->topo, set, HWLOC_CPUBIND_PROCESS);
  hwloc_bitmap_free(set);
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
  t->worker = wk->id;
  t->nworkers = job->nworkers;
  t->numa = wk->pool->plan.w[wk->id].numa;
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

static uint64_t cpu_ns(void) {
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return ((uint64_t)ru.ru_utime.tv_sec + (uint64_t)ru.ru_stime.tv_sec) *
             1000000000u +
         ((uint64_t)ru.ru_utime.tv_usec + (uint64_t)ru.ru_stime.tv_usec) * 1000u;
}

static uint64_t status_kb(const char *text, const char *key) {
  const char *p = strstr(text, key);
  return p ? strtoull(p + strlen(key), NULL, 10) : 0;
}

static void read_memory(worker *wk, sharc__slot *slot) {
  char buf[4096];
  ssize_t got = pread(wk->status_fd, buf, sizeof buf - 1, 0);
  if (got <= 0)
    return;
  buf[got] = '\0';
  slot->peak_rss = status_kb(buf, "VmHWM:") * 1024;
  slot->private_bytes = status_kb(buf, "RssAnon:") * 1024;
}

/* The claim loop. Hot path: one claim (at most one atomic operation on the
 * control block), two clock reads through the vDSO, the kernel call. No
 * system call, lock or allocation. */
static int run_chunks(worker *wk, const sharc__job_desc *job, sharc_task *t,
                      sharc_kernel_fn fn, uint64_t t0) {
  sharc__slot *slot = wk->slot;
  sharc__claim c;
  sharc__claim_init(&c, job->sched_kind, job->n, job->chunk, wk->id,
                    job->nworkers, &wk->cb->next);
  uint64_t chunks = 0, indices = 0, claim = 0, busy = 0, b, e;
  int rc = 0;
  for (;;) {
    int got = sharc__claim_next(&c, &b, &e);
    uint64_t t1 = sharc__now_ns();
    claim += t1 - t0;
    if (!got)
      break;
    slot->cur_begin = b;
    slot->cur_end = e;
    rc = fn(t, b, e);
    t0 = sharc__now_ns();
    busy += t0 - t1;
    chunks++;
    indices += e - b;
    if (rc != 0)
      break;
  }
  slot->chunks = chunks;
  slot->indices = indices;
  slot->claim_ns = claim;
  slot->busy_ns = busy;
  return rc;
}

static void run_job(worker *wk, uint32_t seq) {
  const sharc__job_desc *job = &wk->cb->job;
  sharc__slot *slot = wk->slot;
  uint64_t start = sharc__now_ns();
  slot->err = 0;
  slot->chunks = slot->indices = slot->claim_ns = slot->busy_ns = 0;
  slot->cur_begin = slot->cur_end = 0;
  slot->cpu_ns = slot->peak_rss = slot->private_bytes = 0;
  slot->wake_ns = start > job->post_ns ? start - job->post_ns : 0;
  int measure = job->measure_rusage && wk->status_fd >= 0;
  uint64_t cpu0 = 0;
  if (measure) {
    if (wk->clear_refs_fd >= 0 && pwrite(wk->clear_refs_fd, "5", 1, 0) != 1) {
      /* Older kernels: the peak then covers the worker's life. */
    }
    cpu0 = cpu_ns();
  }
  sharc_task task;
  int rc = sync_arrays(wk);
  if (rc == 0)
    rc = build_task(wk, job, &task);
  sharc_kernel_fn fn = rc == 0 ? lookup(wk, job->kernel) : NULL;
  if (rc == 0 && fn == NULL)
    rc = SHARC_ENOKERNEL;
  if (rc == 0)
    rc = run_chunks(wk, job, &task, fn, sharc__now_ns());
  slot->err = rc;
  if (measure) {
    slot->cpu_ns = cpu_ns() - cpu0;
    read_memory(wk, slot);
  }
  uint64_t end = sharc__now_ns();
  slot->end_ns = end > job->post_ns ? end - job->post_ns : 0;
  atomic_store_explicit(&slot->done_seq, seq, memory_order_release);
  if (atomic_fetch_sub_explicit(&wk->cb->active, 1, memory_order_acq_rel) ==
      1) {
    uint64_t one = 1;
    if (write(wk->pool->evfd, &one, sizeof one) < 0) {
      /* The coordinator's poll timeout finds the job done regardless. */
    }
  }
}

/* Spins for a while (cheap wake-up for back-to-back jobs), then sleeps on
 * the futex. Oversubscribed workers yield instead of spinning. */
static uint32_t wait_job(worker *wk, uint32_t seen) {
  _Atomic uint32_t *seq = &wk->cb->seq;
  uint64_t spin_ns = (uint64_t)wk->pool->opts.spin_us * 1000u;
  uint64_t until = sharc__now_ns() + spin_ns;
  uint32_t v;
  for (unsigned i = 0;; i++) {
    v = atomic_load_explicit(seq, memory_order_acquire);
    if (v != seen)
      return v;
    if (wk->oversubscribed)
      sched_yield();
    else
      cpu_relax();
    if ((i & 63) == 63 && sharc__now_ns() >= until)
      break;
  }
  while ((v = atomic_load_explicit(seq, memory_order_acquire)) == seen)
    sharc__futex_wait(seq, seen);
  return v;
}

_Noreturn void sharc__worker_main(sharc_pool *pool, unsigned w, int sock,
                                  uint32_t seen) {
  /* Die with the coordinator; if it died between fork and here, the
   * signal was never armed, so look. */
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (getppid() != pool->owner_pid)
    _exit(127);
  reset_signals();
  close_inherited(sock, pool->evfd);
  worker wk = {0};
  wk.pool = pool;
  wk.cb = pool->cb;
  wk.slot = &pool->cb->slots[w];
  wk.id = w;
  wk.sock = sock;
  wk.oversubscribed = pool->plan.oversubscribed;
  pin(&wk);
  wk.clear_refs_fd = open("/proc/self/clear_refs", O_WRONLY | O_CLOEXEC);
  wk.status_fd = open("/proc/self/status", O_RDONLY | O_CLOEXEC);
  for (sharc_array *a = pool->arrays; a != NULL; a = a->next) {
    sharc__wmap *m = map_add(&wk);
    if (m != NULL)
      sharc__wmap_from_array(a, m);
  }
  wk.slot->pid = (int32_t)getpid();
  atomic_store_explicit(&wk.slot->ready, 1, memory_order_release);
  if (atomic_fetch_sub_explicit(&wk.cb->active, 1, memory_order_acq_rel) == 1) {
    uint64_t one = 1;
    if (write(pool->evfd, &one, sizeof one) < 0) {
      /* The coordinator also polls the ready flags. */
    }
  }
  for (;;) {
    seen = wait_job(&wk, seen);
    if (atomic_load(&wk.cb->shutdown))
      _exit(0);
    run_job(&wk, seen);
  }
}
