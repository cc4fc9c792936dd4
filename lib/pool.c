/* Pools: starting, pinning, replacing and stopping worker processes. */
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "inject.h"
#include "internal.h"
#include "topo_plan.h"

#ifndef P_PIDFD
#define P_PIDFD 3
#endif

/* How long a starting worker may take before the pool gives up on it. */
#define SHARC__START_TIMEOUT_MS 10000

static int pidfd_open(pid_t pid) {
  if (sharc__inject("pidfd_open", EMFILE))
    return -1;
  return (int)syscall(SYS_pidfd_open, pid, 0);
}

static void cb_init(sharc_pool *pool, void *p, uint64_t len) {
  pool->cb = p;
  pool->cb_len = len;
  sharc__cb *cb = pool->cb;
  cb->magic = SHARC__CB_MAGIC;
  cb->version = SHARC__CB_VERSION;
  cb->nslots = pool->nworkers;
  cb->size = len;
}

/* Forked workers inherit the mapping, so it needs no descriptor: one
 * mmap instead of memfd_create, ftruncate, posix_fallocate, mmap and
 * close, its pages allocated in that call (MAP_POPULATE) rather than by a
 * fault each. */
static int map_control_block_anon(sharc_pool *pool, uint64_t len) {
  void *p = sharc__inject("mmap", ENOMEM)
                ? MAP_FAILED
                : mmap(NULL, len, PROT_READ | PROT_WRITE,
                       MAP_SHARED | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
  if (p == MAP_FAILED)
    return sharc__fail(pool, -errno, "control block of %llu bytes: mmap: %s",
                       (unsigned long long)len, strerror(errno));
  cb_init(pool, p, len);
  return 0;
}

/* Workers that inherit nothing (fork server, spawn) map the memfd. */
static int map_control_block(sharc_pool *pool) {
  uint64_t len = sharc__cb_size(pool->nworkers);
  if (pool->opts.start == SHARC_START_FORK)
    return map_control_block_anon(pool, len);
  int fd = sharc__inject("memfd_create", EMFILE)
               ? -1
               : memfd_create("sharc-control", MFD_CLOEXEC);
  if (fd < 0)
    return sharc__fail(pool, -errno, "control block: memfd_create: %s",
                       strerror(errno));
  const char *op = "ftruncate";
  int rc = 0;
  if (sharc__inject(op, ENOMEM) || ftruncate(fd, (off_t)len) != 0)
    rc = -errno;
  if (rc == 0) {
    op = "posix_fallocate";
    rc = sharc__inject(op, ENOSPC) ? -ENOSPC
                                   : -posix_fallocate(fd, 0, (off_t)len);
  }
  void *p = MAP_FAILED;
  if (rc == 0) {
    op = "mmap";
    p = sharc__inject(op, ENOMEM)
            ? MAP_FAILED
            : mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    rc = p == MAP_FAILED ? -errno : 0;
  }
  if (rc != 0) {
    close(fd);
    return sharc__fail(pool, rc, "control block of %llu bytes: %s: %s",
                       (unsigned long long)len, op, strerror(-rc));
  }
  pool->cb_fd = fd;
  cb_init(pool, p, len);
  return 0;
}

static int start_worker(sharc_pool *pool, unsigned w, uint32_t seen);

int sharc__worker_start(sharc_pool *pool, unsigned w) {
  return start_worker(pool, w, atomic_load(&pool->cb->seq));
}

int sharc__worker_join(sharc_pool *pool, unsigned w, uint32_t seq) {
  return start_worker(pool, w, seq - 1);
}

void sharc__wconf_from_pool(const sharc_pool *pool, unsigned w, int sock,
                            uint32_t seen, sharc__wconf *conf) {
  *conf = (sharc__wconf){.cb = pool->cb,
                         .id = w,
                         .nworkers = pool->nworkers,
                         .sock = sock,
                         .evfd = pool->evfd,
                         .seen = seen,
                         .parent = pool->owner_pid,
                         .plan = pool->plan.w,
                         .pin = pool->opts.pin,
                         .tsc_clock = pool->tsc_clock,
                         .share_pu = sharc__pool_shares_pu(pool),
                         .spin_us = pool->opts.spin_us,
                         .init = pool->opts.init,
                         .fini = pool->opts.fini,
                         .init_arg = pool->opts.init_arg,
                         .inherited = pool->arrays,
                         .fresh = 0};
}

/* Forks the coordinator: the worker inherits its mappings. */
static int fork_worker(sharc_pool *pool, unsigned w, int sv[2], uint32_t seen,
                       pid_t *pid, int *pidfd) {
  *pid = sharc__inject("fork", EAGAIN) ? -1 : fork();
  if (*pid == 0) {
    close(sv[0]);
    sharc__wconf conf;
    sharc__wconf_from_pool(pool, w, sv[1], seen, &conf);
    sharc__worker_main(&conf);
  }
  if (*pid < 0)
    return sharc__fail(pool, -errno, "worker %u: fork: %s", w, strerror(errno));
  if (pool->opts.pin)
    sharc__pin_pid(*pid, pool->plan.w[w].pu);
  *pidfd = pidfd_open(*pid);
  if (*pidfd < 0) {
    int err = errno;
    kill(*pid, SIGKILL);
    waitpid(*pid, NULL, 0);
    return sharc__fail(pool, -err, "worker %u: pidfd_open: %s", w,
                       strerror(err));
  }
  sharc__arrays_inherited(pool, w);
  return 0;
}

/* The fork server's workers inherit no mappings: every array waits on
 * the socket before the worker exists. */
static int server_worker(sharc_pool *pool, unsigned w, int sv[2], uint32_t seen,
                         pid_t *pid, int *pidfd) {
  for (sharc_array *a = pool->arrays; a != NULL; a = a->next) {
    int rc = sharc__array_send(pool, a, w);
    if (rc != 0)
      return rc;
  }
  return sharc__server_fork(pool, w, sv[1], seen, pid, pidfd);
}

/* The worker takes `seen` as the last job it has seen: the current
 * sequence number, or the one before to join the job being run. */
static int start_worker_(sharc_pool *pool, unsigned w, uint32_t seen);

/* With the arrays lock: the new worker gets (by fork or over its socket)
 * exactly the arrays the list holds, and an array destroyed meanwhile in
 * another thread finds the worker's socket either open or gone. */
static int start_worker(sharc_pool *pool, unsigned w, uint32_t seen) {
  sharc__arrays_lock(pool);
  int rc = start_worker_(pool, w, seen);
  sharc__arrays_unlock(pool);
  return rc;
}

static int start_worker_(sharc_pool *pool, unsigned w, uint32_t seen) {
  sharc__cb *cb = pool->cb;
  int sv[2];
  if (sharc__inject("socketpair", EMFILE) ||
      socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0)
    return sharc__fail(pool, -errno, "worker %u: socketpair: %s", w,
                       strerror(errno));
  sharc__slot *slot = &cb->slots[w];
  memset((void *)slot, 0, sizeof *slot);
  atomic_store(&slot->done_seq, seen);
  /* Messages to the worker may go out before it runs (arrays, for workers
   * that inherit none). */
  pool->w[w] = (sharc__worker){-1, -1, sv[0]};
  pid_t pid = -1;
  int pidfd = -1, rc;
  if (pool->opts.start == SHARC_START_FORKSERVER)
    rc = server_worker(pool, w, sv, seen, &pid, &pidfd);
  else if (pool->opts.start == SHARC_START_SPAWN)
    rc = sharc__spawn_worker(pool, w, sv[1], seen, &pid, &pidfd);
  else
    rc = fork_worker(pool, w, sv, seen, &pid, &pidfd);
  close(sv[1]);
  if (rc != 0) {
    close(sv[0]);
    pool->w[w] = (sharc__worker){-1, -1, -1};
    return rc;
  }
  pool->w[w] = (sharc__worker){pid, pidfd, sv[0]};
  return 0;
}

int sharc__worker_reap(sharc_pool *pool, unsigned w, char *buf, size_t len) {
  siginfo_t si;
  int sig = 0;
  memset(&si, 0, sizeof si);
  if (pool->opts.start == SHARC_START_FORKSERVER) {
    /* Not our child: the fork server reaped it and says how it ended. */
    int st = sharc__server_status(pool, pool->w[w].pid);
    if (st < 0) {
      snprintf(buf, len, "ended (the fork server did not say how)");
    } else if (WIFEXITED(st)) {
      snprintf(buf, len, "exited with status %d", WEXITSTATUS(st));
    } else {
      sig = WTERMSIG(st);
      snprintf(buf, len, "was killed by signal %d (%s)", sig, strsignal(sig));
    }
  } else if (waitid((idtype_t)P_PIDFD, (id_t)pool->w[w].pidfd, &si,
                    WEXITED) != 0) {
    snprintf(buf, len, "ended (waitid: %s)", strerror(errno));
  } else if (si.si_code == CLD_EXITED) {
    snprintf(buf, len, "exited with status %d", si.si_status);
  } else {
    sig = si.si_status;
    snprintf(buf, len, "was killed by signal %d (%s)", si.si_status,
             strsignal(si.si_status));
  }
  sharc__arrays_lock(pool); /* no array is sent on the closing socket */
  close(pool->w[w].pidfd);
  close(pool->w[w].sock);
  pool->w[w] = (sharc__worker){-1, -1, -1};
  sharc__arrays_unlock(pool);
  return sig;
}

void sharc__worker_kill(sharc_pool *pool, unsigned w) {
  if (pool->w[w].pid <= 0)
    return;
  char why[128];
  syscall(SYS_pidfd_send_signal, pool->w[w].pidfd, SIGKILL, NULL, 0);
  sharc__worker_reap(pool, w, why, sizeof why);
}

static int worker_alive_ready(sharc_pool *pool, unsigned w) {
  return atomic_load_explicit(&pool->cb->slots[w].ready,
                              memory_order_acquire) == 1;
}

static int wait_ready(sharc_pool *pool, unsigned first, unsigned last) {
  uint64_t deadline = sharc__now_ns() + SHARC__START_TIMEOUT_MS * 1000000ull;
  struct pollfd pfd[SHARC__MAX_WORKERS + 1];
  for (;;) {
    unsigned waiting = 0, n = 0;
    pfd[n++] = (struct pollfd){pool->evfd, POLLIN, 0};
    for (unsigned w = first; w < last; w++) {
      if (!worker_alive_ready(pool, w)) {
        waiting++;
        pfd[n++] = (struct pollfd){pool->w[w].pidfd, POLLIN, 0};
      }
    }
    if (waiting == 0)
      return 0;
    uint64_t now = sharc__now_ns();
    if (now >= deadline)
      return sharc__fail(pool, SHARC_EAGAIN,
                         "%u worker(s) did not start within %d ms", waiting,
                         SHARC__START_TIMEOUT_MS);
    /* The eventfd is a hint (only the last worker to start writes it), so
     * look at the ready flags at least every 10 ms. */
    if (poll(pfd, n, 10) < 0 && errno != EINTR)
      return sharc__fail(pool, -errno, "poll: %s", strerror(errno));
    uint64_t drain;
    if (read(pool->evfd, &drain, sizeof drain) < 0) { /* nothing to drain */
    }
    for (unsigned i = 1; i < n; i++) {
      if (!(pfd[i].revents & POLLIN))
        continue;
      for (unsigned w = first; w < last; w++) {
        if (pool->w[w].pidfd != pfd[i].fd)
          continue;
        /* A spawned worker that could not start says why on its socket. */
        char why[128], init[64], said[512] = "";
        int told = pool->opts.start == SHARC_START_SPAWN
                       ? sharc__spawn_hello(pool, w, said, sizeof said)
                       : 0;
        sharc__worker_reap(pool, w, why, sizeof why);
        if (said[0] != '\0')
          return sharc__fail(pool, told < 0 ? told : SHARC_EWORKER,
                             "worker %u: %s", w, said);
        snprintf(init, sizeof init, "exited with status %d", SHARC__EXIT_INIT);
        int code = pool->cb->slots[w].err;
        int hooked = pool->opts.init != NULL || pool->opts.init_name != NULL;
        if (hooked && strcmp(why, init) == 0 && code != 0)
          return sharc__fail(pool, code < 0 ? code : SHARC_EWORKER,
                             "worker %u: its init hook returned %d (%s)", w,
                             code, sharc_strerror(code));
        return sharc__fail(pool, SHARC_EWORKER,
                           "worker %u %s while starting", w, why);
      }
    }
  }
}

int sharc__workers_wait_ready(sharc_pool *pool, unsigned first,
                              unsigned last) {
  atomic_store(&pool->cb->coord_waiting, 1);
  int rc = wait_ready(pool, first, last);
  atomic_store(&pool->cb->coord_waiting, 0);
  /* A spawned worker 0 said which kernels it knows before it was ready. */
  if (rc == 0 && pool->opts.start == SHARC_START_SPAWN && !pool->knames_set &&
      first == 0 && last > 0) {
    char why[512] = "";
    if (sharc__spawn_hello(pool, 0, why, sizeof why) != 0 || !pool->knames_set)
      return sharc__fail(pool, SHARC_EWORKER,
                         "worker 0 did not say which kernels it loaded%s%s",
                         why[0] ? ": " : "", why);
  }
  return rc;
}

static void stop_workers(sharc_pool *pool) {
  sharc__cb *cb = pool->cb;
  atomic_store(&cb->shutdown, 1);
  atomic_fetch_add_explicit(&cb->seq, 1, memory_order_release);
  sharc__futex_wake_all(&cb->seq);
  /* Give workers one second to leave on their own, then kill them. */
  uint64_t deadline = sharc__now_ns() + 1000000000ull;
  for (unsigned w = 0; w < pool->nworkers; w++) {
    if (pool->w[w].pid <= 0)
      continue;
    uint64_t now = sharc__now_ns();
    int ms = now < deadline ? (int)((deadline - now) / 1000000u) : 0;
    struct pollfd pfd = {pool->w[w].pidfd, POLLIN, 0};
    if (poll(&pfd, 1, ms) == 1) {
      char why[128];
      sharc__worker_reap(pool, w, why, sizeof why);
    } else {
      sharc__worker_kill(pool, w);
    }
  }
}

/* Starts every worker, those pinned to the PU the coordinator runs on
 * last. A new process starts on an idle PU if there is one; pinning it
 * there after it has begun to run costs a migration that the coordinator
 * waits for (0.2 ms to several under load), and a worker pinned to the
 * coordinator's own PU waits for the coordinator to sleep. Started in this
 * order, the first workers run their set-up on the other PUs while the
 * coordinator is still forking, and the last ones, on its PU, once it
 * waits (docs/performance.md, "Pool start"). */
static int start_all(sharc_pool *pool) {
  int here = pool->opts.pin ? sched_getcpu() : -1;
  for (int mine = 0; mine < 2; mine++) {
    for (unsigned w = 0; w < pool->nworkers; w++) {
      if ((pool->plan.w[w].pu == here) != mine)
        continue;
      int rc = sharc__worker_start(pool, w);
      if (rc != 0)
        return rc;
      SHARC__PROF("worker-started", w);
    }
  }
  return 0;
}

int sharc__pool_restart(sharc_pool *pool) {
  for (unsigned w = 0; w < pool->nworkers; w++)
    sharc__worker_kill(pool, w);
  sharc__cb *cb = pool->cb;
  cb->magic = SHARC__CB_MAGIC;
  cb->version = SHARC__CB_VERSION;
  cb->nslots = pool->nworkers;
  cb->size = pool->cb_len;
  atomic_store(&cb->shutdown, 0);
  int rc = start_all(pool);
  if (rc == 0)
    rc = sharc__workers_wait_ready(pool, 0, pool->nworkers);
  if (rc != 0)
    pool->broken = 1;
  return rc;
}

void sharc__place_pages(sharc_pool *pool, void *addr, uint64_t len) {
  if (pool->plan.nnodes < 2 || !pool->topo_is_this_system || len == 0)
    return;
  long page = sysconf(_SC_PAGESIZE);
  uint64_t pages = (len + (uint64_t)page - 1) / (uint64_t)page;
  unsigned nw = pool->nworkers;
  hwloc_nodeset_t set = hwloc_bitmap_alloc();
  for (unsigned w = 0; w < nw && set != NULL; w++) {
    uint64_t first = pages * w / nw, last = pages * (w + 1) / nw;
    int node = pool->plan.w[w].numa;
    if (last == first || node < 0)
      continue;
    hwloc_bitmap_only(set, (unsigned)node);
    /* Best effort: a failed bind leaves the kernel's default placement. */
    (void)hwloc_set_area_membind(pool->topo, (char *)addr + first * page,
                                 (last - first) * page, set,
                                 HWLOC_MEMBIND_BIND, HWLOC_MEMBIND_BYNODESET);
  }
  hwloc_bitmap_free(set);
}

static void pool_free(sharc_pool *pool) {
  SHARC__PROF("destroy", pool->nworkers);
  sharc__queue_stop(pool); /* no job runs past here */
  int foreign = sharc__pool_foreign(pool);
  if (pool->w != NULL && pool->cb != NULL && !foreign)
    stop_workers(pool);
  SHARC__PROF("workers-stopped", pool->nworkers);
  /* A forked child: the workers are not its children and the control
   * block is the coordinator's; it closes its copies of their descriptors
   * and writes nothing shared. */
  for (unsigned w = 0; foreign && pool->w != NULL && w < pool->nworkers; w++) {
    if (pool->w[w].pidfd >= 0)
      close(pool->w[w].pidfd);
    if (pool->w[w].sock >= 0)
      close(pool->w[w].sock);
  }
  while (pool->arrays != NULL)
    sharc_array_destroy(pool->arrays);
  if (pool->cb != NULL)
    munmap(pool->cb, pool->cb_len);
  if (pool->evfd >= 0)
    close(pool->evfd);
  if (pool->cb_fd >= 0)
    close(pool->cb_fd);
  if (pool->srv >= 0)
    close(pool->srv); /* the server forgets the pool */
  free(pool->exits);
  free(pool->worker_path);
  free(pool->kernel_libs);
  free(pool->knames);
  free(pool->init_name);
  free(pool->fini_name);
  /* pool->topo is the process's (load_topology) */
  sharc_plan_free(&pool->plan);
  free(pool->w);
  /* A forked child may find it held by a thread it does not have. */
  if (pool->arrays_mu_ok && !foreign)
    pthread_mutex_destroy(&pool->arrays_mu);
  free(pool);
  SHARC__PROF("destroyed", 0);
}

/* Loading the machine's topology reads sysfs for milliseconds, far longer
 * than starting workers takes: it is loaded once per process and kept for
 * its life, and every pool reads that one (hwloc allows consulting a
 * topology from several threads at once; nothing here modifies it), with
 * the usable PUs read again, since the process's CPU binding may have
 * changed since. A copy per pool cost a hundred microseconds and heap
 * pages that each worker's fork then had to share copy-on-write. The lock
 * is taken around fork (pthread_atfork), so that a child forked while
 * another thread loads the topology does not inherit it locked. */
static pthread_mutex_t topo_lock = PTHREAD_MUTEX_INITIALIZER;
static hwloc_topology_t topo_cache;
static pthread_once_t topo_once = PTHREAD_ONCE_INIT;

static void topo_lock_take(void) { pthread_mutex_lock(&topo_lock); }
static void topo_lock_give(void) { pthread_mutex_unlock(&topo_lock); }
static void topo_atfork(void) {
  (void)pthread_atfork(topo_lock_take, topo_lock_give, topo_lock_give);
}

static int load_topology(sharc_pool *pool, hwloc_bitmap_t *usable) {
  pthread_once(&topo_once, topo_atfork);
  pthread_mutex_lock(&topo_lock);
  if (topo_cache == NULL) {
    /* a failure leaves the cache empty: the next pool tries again */
    int rc = sharc__topo_load(NULL, &topo_cache, usable, pool->msg,
                              sizeof pool->msg);
    pool->topo = topo_cache;
    pthread_mutex_unlock(&topo_lock);
    return rc;
  }
  pool->topo = topo_cache;
  pthread_mutex_unlock(&topo_lock);
  SHARC__PROF("topology-cached", 0);
  /* as sharc__topo_load does for this machine */
  *usable = hwloc_bitmap_alloc();
  if (*usable == NULL)
    return sharc__fail(pool, SHARC_ENOMEM, "out of memory");
  if (!hwloc_topology_is_thissystem(pool->topo)) { /* HWLOC_SYNTHETIC etc. */
    hwloc_bitmap_copy(*usable, hwloc_topology_get_allowed_cpuset(pool->topo));
    return 0;
  }
  if (hwloc_get_cpubind(pool->topo, *usable, HWLOC_CPUBIND_PROCESS) < 0)
    return sharc__fail(pool, -errno, "reading the process CPU binding: %s",
                       strerror(errno));
  hwloc_bitmap_and(*usable, *usable,
                   hwloc_topology_get_allowed_cpuset(pool->topo));
  return 0;
}

static int pool_init(sharc_pool *pool) {
  hwloc_bitmap_t usable = NULL;
  int rc = load_topology(pool, &usable);
  if (rc != 0) {
    hwloc_bitmap_free(usable);
    return rc;
  }
  SHARC__PROF("topology-and-binding", 0);
  pool->topo_is_this_system = 1;
  rc = sharc__plan_from_topology(pool->topo, usable, pool->opts.workers,
                                 &pool->plan, pool->msg, sizeof pool->msg);
  hwloc_bitmap_free(usable);
  if (rc != 0)
    return rc;
  pool->nworkers = pool->plan.nworkers;
  SHARC__PROF("planned", pool->nworkers);
  rc = sharc__hooks_prepare(pool);
  if (rc != 0)
    return rc;
  if (pool->opts.start == SHARC_START_FORKSERVER)
    rc = sharc__server_connect(pool);
  else if (pool->opts.start == SHARC_START_SPAWN)
    rc = sharc__spawn_prepare(pool);
  if (rc != 0)
    return rc;
  SHARC__PROF("start-method-ready", 0);
  rc = map_control_block(pool);
  if (rc != 0)
    return rc;
  SHARC__PROF("control-block", (unsigned)pool->cb_len);
  pool->evfd = sharc__inject("eventfd", EMFILE)
                   ? -1
                   : eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (pool->evfd < 0)
    return sharc__fail(pool, -errno, "eventfd: %s", strerror(errno));
  pool->w = sharc__inject("calloc", ENOMEM)
                ? NULL
                : calloc(pool->nworkers, sizeof *pool->w);
  if (pool->w == NULL)
    return sharc__fail(pool, SHARC_ENOMEM,
                       "out of memory: calloc of %u worker records",
                       pool->nworkers);
  for (unsigned w = 0; w < pool->nworkers; w++)
    pool->w[w] = (sharc__worker){-1, -1, -1};
  rc = start_all(pool);
  if (rc != 0)
    return rc;
  rc = sharc__workers_wait_ready(pool, 0, pool->nworkers);
  SHARC__PROF("workers-ready", pool->nworkers);
  return rc;
}

int sharc_pool_create(sharc_pool **out, const sharc_pool_opts *opts,
                      char *msg, size_t msglen) {
  static const sharc_pool_opts defaults = SHARC_POOL_OPTS_INIT;
  if (out == NULL)
    return SHARC_EINVAL;
  *out = NULL;
  if (msg != NULL && msglen > 0)
    msg[0] = '\0';
  if (opts != NULL && opts->size != sizeof *opts) {
    if (msg != NULL)
      snprintf(msg, msglen, "pool options: size field %zu, but this "
               "library's sharc_pool_opts is %zu bytes (made without "
               "SHARC_POOL_OPTS_INIT, or with other headers)", opts->size,
               sizeof *opts);
    return SHARC_EINVAL;
  }
  sharc_pool_opts o = opts ? *opts : defaults;
  if ((unsigned)o.start > SHARC_START_SPAWN) {
    if (msg != NULL)
      snprintf(msg, msglen, "unknown start method %d", (int)o.start);
    return SHARC_EINVAL;
  }
  /* SHARC_WORKERS applies when the program does not choose, as
   * OMP_NUM_THREADS does for OpenMP. */
  const char *env = o.workers == 0 ? getenv("SHARC_WORKERS") : NULL;
  if (env != NULL && *env != '\0') {
    char *end;
    errno = 0;
    unsigned long v = strtoul(env, &end, 10);
    if (errno != 0 || *end != '\0' || v == 0 || v > SHARC__MAX_WORKERS ||
        *env == '-' || *env == '+') {
      if (msg != NULL)
        snprintf(msg, msglen, "SHARC_WORKERS=%s: not a worker count from 1 "
                              "to %d", env, SHARC__MAX_WORKERS);
      return SHARC_EINVAL;
    }
    o.workers = (unsigned)v;
  }
  if (o.workers > SHARC__MAX_WORKERS) {
    if (msg != NULL)
      snprintf(msg, msglen, "%u workers requested; at most %d", o.workers,
               SHARC__MAX_WORKERS);
    return SHARC_EINVAL;
  }
  sharc_pool *pool =
      sharc__inject("calloc", ENOMEM) ? NULL : calloc(1, sizeof *pool);
  if (pool == NULL) {
    if (msg != NULL)
      snprintf(msg, msglen, "out of memory: calloc of the pool");
    return SHARC_ENOMEM;
  }
  pool->opts = o;
  pool->evfd = -1;
  pool->cb_fd = -1;
  pool->srv = -1;
  pool->owner_pid = getpid();
  pool->next_array_id = 1;
  static _Atomic uint64_t pools_made;
  pool->id = atomic_fetch_add(&pools_made, 1) + 1;
  pthread_mutexattr_t ma;
  if (pthread_mutexattr_init(&ma) == 0) {
    pool->arrays_mu_ok =
        pthread_mutexattr_settype(&ma, PTHREAD_MUTEX_RECURSIVE) == 0 &&
        pthread_mutex_init(&pool->arrays_mu, &ma) == 0;
    pthread_mutexattr_destroy(&ma);
  }
  if (!pool->arrays_mu_ok) {
    if (msg != NULL)
      snprintf(msg, msglen, "cannot make the pool's arrays lock");
    free(pool);
    return SHARC_ENOMEM;
  }
  pool->tsc_clock = sharc__tsc_is_clock();
  uint64_t t0 = sharc__now_ns();
  SHARC__PROF("create", o.workers);
  int rc = sharc__queue_init(pool);
  if (rc == 0)
    rc = pool_init(pool);
  if (rc != 0) {
    if (msg != NULL)
      snprintf(msg, msglen, "%s", pool->msg);
    pool_free(pool);
    return rc;
  }
  pool->startup_s = (double)(sharc__now_ns() - t0) * 1e-9;
  SHARC__PROF("created", pool->nworkers);
  pool->msg[0] = '\0';
  *out = pool;
  return 0;
}

void sharc_pool_destroy(sharc_pool *pool) {
  if (pool != NULL)
    pool_free(pool);
}

unsigned sharc_pool_size(const sharc_pool *pool) {
  return pool ? pool->nworkers : 0;
}

int sharc_pool_worker_pid(const sharc_pool *pool, unsigned w) {
  return pool != NULL && w < pool->nworkers ? (int)pool->w[w].pid : -1;
}

const sharc_plan *sharc_pool_plan(const sharc_pool *pool) {
  return pool ? &pool->plan : NULL;
}

double sharc_pool_startup_seconds(const sharc_pool *pool) {
  return pool ? pool->startup_s : 0.0;
}

int sharc_pool_cancel(sharc_pool *pool) {
  if (pool == NULL || pool->cb == NULL || sharc__pool_foreign(pool))
    return SHARC_EINVAL;
  atomic_store(&pool->cb->cancel, 1);
  uint64_t one = 1;
  if (write(pool->evfd, &one, sizeof one) < 0) {
    /* the coordinator looks at the flag every poll timeout regardless */
  }
  return 0;
}
