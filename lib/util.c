/* Small shared helpers: messages, the clock, futexes. */
#include <linux/futex.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"

void sharc__vmsg(char *buf, size_t len, const char *fmt, va_list ap) {
  if (buf != NULL && len > 0)
    vsnprintf(buf, len, fmt, ap);
}

int sharc__fail(sharc_pool *pool, int code, const char *fmt, ...) {
  if (pool != NULL) {
    va_list ap;
    va_start(ap, fmt);
    sharc__vmsg(pool->msg, sizeof pool->msg, fmt, ap);
    va_end(ap);
  }
  return code;
}

uint64_t sharc__now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* The control block is shared between processes, so these are the
 * non-private futex operations (FUTEX_WAIT, not FUTEX_WAIT_PRIVATE). */
void sharc__futex_wait(_Atomic uint32_t *addr, uint32_t expected) {
  syscall(SYS_futex, (uint32_t *)addr, FUTEX_WAIT, expected, NULL, NULL, 0);
}

void sharc__futex_wake_all(_Atomic uint32_t *addr) {
  syscall(SYS_futex, (uint32_t *)addr, FUTEX_WAKE, 0x7fffffff, NULL, NULL, 0);
}
