/* Per-chunk timeouts (sharc_fault_policy.timeout_s, timeout_x): a chunk
 * that runs too long gets its worker SIGTERM, then SIGKILL. */
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "job_int.h"

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
static uint64_t chunk_work_ns(const sharc__watch *wt, pid_t pid, uint64_t now,
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

void sharc__signal_worker(sharc_pool *pool, unsigned w, int sig) {
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
void sharc__watchdog(job_state *js) {
  sharc_pool *pool = js->pool;
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
    sharc__watch *wt = &js->watch[w];
    uint64_t start = atomic_load_explicit(&pool->cb->slots[w].chunk_start_ns,
                                          memory_order_relaxed);
    if (pool->w[w].pid <= 0)
      continue;
    if (wt->term_ns != 0) {
      uint64_t grace = wt->limit / 10 > SHARC__GRACE_MIN_NS
                           ? wt->limit / 10
                           : SHARC__GRACE_MIN_NS;
      if (now - wt->term_ns > grace)
        sharc__signal_worker(pool, w, SIGKILL);
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
    sharc__signal_worker(pool, w, SIGTERM);
  }
}
