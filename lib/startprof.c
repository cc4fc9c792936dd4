/* SHARC_START_PROFILE=1: where starting and stopping a pool spends its
 * time. Each step prints one line on stderr,
 *
 *   sharc-prof <CLOCK_MONOTONIC ns> <pid> <what>
 *
 * from the coordinator and from each worker, so that one clock orders
 * both sides (docs/performance.md, "Pool start", reads them). A line is
 * formatted on the stack and written with one write(): no stdio buffer
 * is shared with a forked worker. Off, a step costs one load and a
 * branch. */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "internal.h"

/* -1: not looked at yet; forked workers inherit what the coordinator saw */
static _Atomic int prof_state = -1;

int sharc__prof_on(void) {
  int on = atomic_load_explicit(&prof_state, memory_order_relaxed);
  if (on < 0) {
    const char *v = getenv("SHARC_START_PROFILE");
    on = v != NULL && *v != '\0' && *v != '0';
    atomic_store_explicit(&prof_state, on, memory_order_relaxed);
  }
  return on;
}

void sharc__prof_step(const char *what, unsigned arg) {
  char line[160];
  int n = snprintf(line, sizeof line, "sharc-prof %llu %d %s %u\n",
                   (unsigned long long)sharc__now_ns(), (int)getpid(), what,
                   arg);
  if (n > 0 && write(2, line, (size_t)n < sizeof line ? (size_t)n
                                                       : sizeof line - 1) < 0) {
    /* a profile line lost: nothing to do */
  }
}
