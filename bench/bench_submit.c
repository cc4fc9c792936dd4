/* bench_submit: what jobs as handles cost, side by side in one run.
 *
 *   round trip   a warm empty job (n = workers) by sharc_run (in the
 *                calling thread when the pool is idle) against submit +
 *                wait (through the pool's driver thread)
 *   first result from sharc_submit of a streamed job to the first range
 *                sharc_job_next gives
 *   streams      one job of N cheap indices (a triad over three arrays)
 *                with no stream, read unordered (sharc_job_next) and read
 *                ordered (sharc_job_next_ordered): wall time of each
 *
 * Each figure is the median of R repeats; the modes alternate within a
 * repeat so that a noisy machine hits them alike.
 *
 *   bench_submit [--workers W] [--jobs J] [--n N] [--repeats R] */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sharc.h>


static double now_s(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static int cmp_d(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

static double median(double *v, int n) {
  qsort(v, (size_t)n, sizeof *v, cmp_d);
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

static void check(int rc, const char *what, sharc_pool *p) {
  if (rc != 0) {
    fprintf(stderr, "bench_submit: %s: %s (%s)\n", what, sharc_strerror(rc),
            sharc_pool_errmsg(p));
    exit(1);
  }
}

/* a[i] = b[i] + 3 c[i] */
static int btriad(const sharc_task *t, uint64_t lo, uint64_t hi) {
  double *a = sharc_task_array(t, 0);
  const double *b = sharc_task_array(t, 1), *c = sharc_task_array(t, 2);
  for (uint64_t i = lo; i < hi; i++)
    a[i] = b[i] + 3.0 * c[i];
  return 0;
}
SHARC_KERNEL(btriad)

static int bnothing(const sharc_task *t, uint64_t lo, uint64_t hi) {
  (void)t;
  (void)lo;
  (void)hi;
  return 0;
}
SHARC_KERNEL(bnothing)

static double run_rt(sharc_pool *p, unsigned jobs, uint64_t n) {
  sharc_job_opts o = SHARC_JOB_OPTS_INIT;
  o.measure_rusage = 0;
  double t0 = now_s();
  for (unsigned j = 0; j < jobs; j++)
    check(sharc_run(p, "bnothing", n, &o, NULL), "sharc_run", p);
  return (now_s() - t0) / jobs;
}

static double submit_rt(sharc_pool *p, unsigned jobs, uint64_t n) {
  sharc_job_opts o = SHARC_JOB_OPTS_INIT;
  o.measure_rusage = 0;
  double t0 = now_s();
  for (unsigned j = 0; j < jobs; j++) {
    sharc_job *job;
    check(sharc_submit(p, "bnothing", n, &o, NULL, &job), "submit", p);
    check(sharc_job_wait(job, -1), "wait", p);
    sharc_job_free(job);
  }
  return (now_s() - t0) / jobs;
}

/* The kernel's arrays are arr[0..2]: arr outlives the options. */
static sharc_job_opts triad_opts(sharc_array *arr[3]) {
  sharc_job_opts o = SHARC_JOB_OPTS_INIT;
  o.measure_rusage = 0;
  o.arrays = arr;
  o.narrays = 3;
  return o;
}

/* mode 0: no stream; 1: unordered; 2: ordered. Returns the wall time;
 * *first gets submit-to-first-range for modes 1 and 2. */
static double stream_run(sharc_pool *p, sharc_array *arr[3], uint64_t n,
                         int mode, double *first) {
  sharc_job_opts o = triad_opts(arr);
  sharc_submit_opts so = SHARC_SUBMIT_OPTS_INIT;
  so.stream = mode != 0;
  sharc_job *job;
  double t0 = now_s();
  check(sharc_submit(p, "btriad", n, &o, &so, &job), "submit", p);
  uint64_t b, e, got = 0;
  int rc;
  *first = 0;
  if (mode == 1) {
    while ((rc = sharc_job_next(job, &b, &e, -1)) == 1) {
      if (got == 0)
        *first = now_s() - t0;
      got += e - b;
    }
  } else if (mode == 2) {
    while ((rc = sharc_job_next_ordered(job, &e, -1)) == 1) {
      if (got == 0)
        *first = now_s() - t0;
      got = e;
    }
  }
  check(sharc_job_wait(job, -1), "stream job", p);
  double wall = now_s() - t0;
  if (mode != 0 && got != n) {
    fprintf(stderr, "bench_submit: the stream gave %llu of %llu indices\n",
            (unsigned long long)got, (unsigned long long)n);
    exit(1);
  }
  sharc_job_free(job);
  return wall;
}

int main(int argc, char **argv) {
  unsigned workers = 0, jobs = 2000;
  uint64_t n = 20000000;
  int repeats = 7, c;
  static const struct option longs[] = {{"workers", required_argument, 0, 'w'},
                                         {"jobs", required_argument, 0, 'j'},
                                         {"n", required_argument, 0, 'n'},
                                         {"repeats", required_argument, 0, 'r'},
                                         {0, 0, 0, 0}};
  while ((c = getopt_long(argc, argv, "", longs, NULL)) != -1) {
    if (c == 'w')
      workers = (unsigned)atoi(optarg);
    else if (c == 'j')
      jobs = (unsigned)atoi(optarg);
    else if (c == 'n')
      n = strtoull(optarg, NULL, 10);
    else if (c == 'r')
      repeats = atoi(optarg);
    else {
      fprintf(stderr, "usage: bench_submit [--workers W] [--jobs J] [--n N] "
                      "[--repeats R]\n");
      return 2;
    }
  }
  if (repeats < 1 || repeats > 99 || jobs < 1) {
    fprintf(stderr, "bench_submit: --repeats 1..99, --jobs >= 1\n");
    return 2;
  }
  sharc_pool_opts po = SHARC_POOL_OPTS_INIT;
  po.workers = workers;
  sharc_pool *p;
  char msg[512];
  if (sharc_pool_create(&p, &po, msg, sizeof msg) != 0) {
    fprintf(stderr, "bench_submit: %s\n", msg);
    return 1;
  }
  unsigned w = sharc_pool_size(p);
  sharc_array *arr[3];
  uint64_t shape[1] = {n};
  for (int k = 0; k < 3; k++)
    check(sharc_array_create(p, SHARC_F64, 1, shape, NULL, &arr[k]),
          "array", p);
  double rt[2][99], wall[3][99], first[2][99], f;
  /* warm-up: workers awake, the driver thread started, pages touched */
  run_rt(p, 100, w);
  submit_rt(p, 100, w);
  stream_run(p, arr, n, 0, &f);
  for (int r = 0; r < repeats; r++) {
    rt[0][r] = run_rt(p, jobs, w);
    rt[1][r] = submit_rt(p, jobs, w);
    for (int m = 0; m < 3; m++)
      wall[m][r] = stream_run(p, arr, n, m, m ? &first[m - 1][r] : &f);
  }
  double run_us = median(rt[0], repeats) * 1e6;
  double sub_us = median(rt[1], repeats) * 1e6;
  double w0 = median(wall[0], repeats), w1 = median(wall[1], repeats),
         w2 = median(wall[2], repeats);
  printf("bench_submit: %u workers, %u jobs per round trip, n = %llu, "
         "medians of %d\n", w, jobs, (unsigned long long)n, repeats);
  printf("round trip  sharc_run %.2f us  submit+wait %.2f us  (ratio %.2f)\n",
         run_us, sub_us, sub_us / run_us);
  printf("first range unordered %.3f ms  ordered %.3f ms\n",
         median(first[0], repeats) * 1e3, median(first[1], repeats) * 1e3);
  printf("triad job   no stream %.2f ms  unordered %.2f ms (%.3f)  "
         "ordered %.2f ms (%.3f)\n", w0 * 1e3, w1 * 1e3, w1 / w0, w2 * 1e3,
         w2 / w0);
  sharc_pool_destroy(p);
  return 0;
}
