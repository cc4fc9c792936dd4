/* A sharc job inside an epoll event loop: the loop answers a timer every
 * millisecond while the job runs, and hears of the job's progress and end
 * through the job's file descriptor, never blocking on it.
 *
 *   cc epoll_job.c $(pkg-config --cflags --libs sharc) -o epoll_job
 *   ./epoll_job [TICKS]
 *
 * So that the run proves the loop was never held up, the job's last index
 * waits for a gate that the loop opens only after answering TICKS timer
 * ticks while the job runs (default 100): the job cannot end before the loop has answered
 * them. Exit status 0 when the loop answered every tick while the job was
 * running and the job succeeded. */
#include <inttypes.h>
#include <math.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include <sharc.h>

/* Array 0: the gate (u64, 0: closed); array 1: the output (f64). */
static int work(const sharc_task *t, uint64_t begin, uint64_t end) {
  _Atomic uint64_t *gate = sharc_task_array(t, 0);
  double *out = sharc_task_array(t, 1);
  uint64_t n = sharc_task_n(t);
  for (uint64_t i = begin; i < end; i++) {
    double x = (double)i;
    for (int k = 0; k < 200; k++)
      x = sqrt(x + k);
    out[i] = x;
    if (i == n - 1)
      while (atomic_load(gate) == 0)
        sched_yield();
  }
  return 0;
}
SHARC_KERNEL(work)

int main(int argc, char **argv) {
  unsigned ticks_wanted = argc > 1 ? (unsigned)atoi(argv[1]) : 100;
  const uint64_t n = 2000000;
  sharc_pool *pool;
  char msg[512];
  if (sharc_pool_create(&pool, NULL, msg, sizeof msg) != 0) {
    fprintf(stderr, "epoll_job: %s\n", msg);
    return 1;
  }
  sharc_array *gate, *out;
  uint64_t one[1] = {1}, shape[1] = {n};
  if (sharc_array_create(pool, SHARC_U64, 1, one, NULL, &gate) != 0 ||
      sharc_array_create(pool, SHARC_F64, 1, shape, NULL, &out) != 0) {
    fprintf(stderr, "epoll_job: %s\n", sharc_pool_errmsg(pool));
    return 1;
  }
  _Atomic uint64_t *gate_word = sharc_array_data(gate);

  sharc_job_opts o = SHARC_JOB_OPTS_INIT;
  o.arrays = (sharc_array *[]){gate, out};
  o.narrays = 2;
  sharc_submit_opts so = SHARC_SUBMIT_OPTS_INIT;
  so.stream = 1; /* progress as blocks complete, not only the end */
  sharc_job *job;
  int rc = sharc_submit(pool, "work", n, &o, &so, &job);
  if (rc != 0) {
    fprintf(stderr, "epoll_job: submit: %s\n", sharc_strerror(rc));
    return 1;
  }

  int ep = epoll_create1(EPOLL_CLOEXEC);
  int tfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
  struct itimerspec every_ms = {{0, 1000000}, {0, 1000000}};
  timerfd_settime(tfd, 0, &every_ms, NULL);
  struct epoll_event ev = {.events = EPOLLIN, .data.fd = tfd};
  epoll_ctl(ep, EPOLL_CTL_ADD, tfd, &ev);
  ev.data.fd = sharc_job_fd(job);
  epoll_ctl(ep, EPOLL_CTL_ADD, sharc_job_fd(job), &ev);

  unsigned answered = 0, answered_running = 0, wakes = 0;
  int status = SHARC_ETIMEDOUT;
  while (status == SHARC_ETIMEDOUT) {
    struct epoll_event got[2];
    int k = epoll_wait(ep, got, 2, -1);
    for (int i = 0; i < k; i++) {
      uint64_t count;
      if (read(got[i].data.fd, &count, sizeof count) != sizeof count)
        continue;
      if (got[i].data.fd == tfd) { /* the timer: answer it */
        answered++;
        sharc_progress p = SHARC_PROGRESS_INIT;
        sharc_job_progress(job, &p);
        if (p.state == SHARC_JOB_RUNNING && ++answered_running == ticks_wanted)
          atomic_store(gate_word, 1);
      } else { /* the job: progress, or its end */
        wakes++;
        status = sharc_job_wait(job, 0);
      }
    }
  }
  sharc_progress p = SHARC_PROGRESS_INIT;
  sharc_job_progress(job, &p);
  printf("timer ticks answered: %u (%u while the job ran)\n", answered,
         answered_running);
  printf("job: %s, %" PRIu64 " of %" PRIu64 " indices, %u progress wake-ups, "
         "%.3f s\n", status == 0 ? "ok" : sharc_job_errmsg(job), p.done, p.n,
         wakes, p.elapsed_s);
  int ok = status == 0 && answered_running >= ticks_wanted && p.done == n;
  sharc_job_free(job);
  close(tfd);
  close(ep);
  sharc_pool_destroy(pool);
  return ok ? 0 : 1;
}
