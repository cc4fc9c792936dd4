/* Stand-in for sched_tbb.cpp in builds without oneTBB: the harness asks
 * sched_tbb_available() and leaves the TBB rows out. */
#include "sched_work.h"

int sched_tbb_available(void) { return 0; }

int sched_tbb_init(unsigned workers, const int *pus) {
  (void)workers;
  (void)pus;
  return -1;
}

int sched_tbb_run(const sched_work *w, double *makespan, double *busy) {
  (void)w;
  (void)makespan;
  (void)busy;
  return -1;
}

void sched_tbb_fini(void) {}
