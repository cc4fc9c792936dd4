/* Small shared helpers: messages, the clock, futexes. */
#include <fcntl.h>
#include <linux/futex.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"

void sharc__vmsg(char *buf, size_t len, const char *fmt, va_list ap) {
  if (buf != NULL && len > 0)
    vsnprintf(buf, len, fmt, ap);
}

/* The calling thread's own message (internal.h): about the pool with id
 * own_pool (0: none), written while own_active. */
static __thread uint64_t own_pool;
static __thread int own_active;
static __thread char own_msg[SHARC__MSG_LEN];

void sharc__own_msg_enter(const sharc_pool *pool) {
  own_pool = pool->id;
  own_active = 1;
  own_msg[0] = '\0';
}

void sharc__own_msg_leave(void) { own_active = 0; }

void sharc__own_msg_drop(const sharc_pool *pool) {
  if (pool != NULL && own_pool == pool->id)
    own_pool = 0;
}

char *sharc__msgbuf(sharc_pool *pool) {
  return own_active && own_pool == pool->id ? own_msg : pool->msg;
}

int sharc__fail(sharc_pool *pool, int code, const char *fmt, ...) {
  if (pool != NULL) {
    char *buf = sharc__msgbuf(pool);
    if (buf == pool->msg)
      sharc__own_msg_drop(pool); /* the newest message is the pool's */
    va_list ap;
    va_start(ap, fmt);
    sharc__vmsg(buf, SHARC__MSG_LEN, fmt, ap);
    va_end(ap);
  }
  return code;
}

const char *sharc_pool_errmsg(const sharc_pool *pool) {
  if (pool == NULL)
    return "";
  return own_pool == pool->id ? own_msg : pool->msg;
}

void sharc__arrays_lock(sharc_pool *pool) {
  if (pool->arrays_mu_ok)
    pthread_mutex_lock(&pool->arrays_mu);
}

void sharc__arrays_unlock(sharc_pool *pool) {
  if (pool->arrays_mu_ok)
    pthread_mutex_unlock(&pool->arrays_mu);
}

uint64_t sharc__now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Read once per process: three system calls on every pool start otherwise,
 * for an answer that changes only when root switches clock sources. */
static int tsc_read(void) {
#if defined(__x86_64__) || defined(__i386__)
  char buf[32] = "";
  int fd = open("/sys/devices/system/clocksource/clocksource0/"
                "current_clocksource",
                O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return 0;
  ssize_t got = read(fd, buf, sizeof buf - 1);
  close(fd);
  return got >= 3 && strncmp(buf, "tsc", 3) == 0 &&
         (got == 3 || buf[3] == '\n');
#else
  return 0;
#endif
}

int sharc__tsc_is_clock(void) {
  static _Atomic int known = -1; /* a race reads the file twice: harmless */
  int v = atomic_load_explicit(&known, memory_order_relaxed);
  if (v < 0) {
    v = tsc_read();
    atomic_store_explicit(&known, v, memory_order_relaxed);
  }
  return v;
}

/* The control block is shared between processes, so these are the
 * non-private futex operations (FUTEX_WAIT, not FUTEX_WAIT_PRIVATE). */
void sharc__futex_wait(_Atomic uint32_t *addr, uint32_t expected) {
  syscall(SYS_futex, (uint32_t *)addr, FUTEX_WAIT, expected, NULL, NULL, 0);
}

void sharc__futex_wake_all(_Atomic uint32_t *addr) {
  syscall(SYS_futex, (uint32_t *)addr, FUTEX_WAKE, 0x7fffffff, NULL, NULL, 0);
}

/* The calling process's pid without a system call per look: read once,
 * and again in every child of fork() (pthread_atfork), so that a pool can
 * tell its creator from a forked child on every job cheaply. */
static _Atomic int self_pid;
static pthread_once_t self_pid_once = PTHREAD_ONCE_INIT;

static void self_pid_forked(void) { atomic_store(&self_pid, (int)getpid()); }

static void self_pid_init(void) {
  (void)pthread_atfork(NULL, NULL, self_pid_forked);
  atomic_store(&self_pid, (int)getpid());
}

pid_t sharc__self_pid(void) {
  pthread_once(&self_pid_once, self_pid_init);
  return (pid_t)atomic_load_explicit(&self_pid, memory_order_relaxed);
}
