/* bench_mc: paths per second of the European call kernel (kernels/mc.h)
 * under sharc, under OpenMP and sequentially, for 1..W workers, and what
 * the deterministic reduction costs next to a plain one.
 *
 *   sequential     one loop in this process: sum and sum of squares
 *   sharc, det     the "mc_european" kernel: a Welford MEANVAR reduction in
 *                  per-block partials (sharc/reduce.h), bit-identical for
 *                  every worker count
 *   sharc, plain   the same paths summed (sum, sum of squares) into one
 *                  padded slot per worker: no blocks, not deterministic
 *   OpenMP         `omp parallel for schedule(static) reduction(+:...)`,
 *                  threads pinned to the PUs of the sharc pool's workers
 *
 * Every variant uses schedule static. Each repeat runs every variant back
 * to back, so noise on a shared machine hits them alike; the table shows
 * medians and ratios. Pools are created before OpenMP starts its threads:
 * forking after libgomp has threads can hang the child. */
#include <errno.h>
#include <getopt.h>
#include <omp.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sharc.h>

#define BENCH_NAME "bench_mc"
#include "bench_util.h"
#include "mc.h"

#define MAX_W 64
#define SLOT 16 /* doubles per worker slot: 128 bytes */

typedef struct plain_args {
  mc_option_args a;
} plain_args;

/* The plain reduction: per chunk, a local sum and sum of squares added to
 * this worker's own padded slot. Hot path. */
static int plain_kernel(const sharc_task *t, uint64_t begin, uint64_t end) {
  const plain_args *p = sharc_task_args(t, NULL);
  double *slots = sharc_task_array(t, 0);
  unsigned w = sharc_task_worker(t);
  if (p == NULL || slots == NULL ||
      (uint64_t)(w + 1) * SLOT > sharc_task_array_size(t, 0))
    return SHARC_EINVAL;
  double s = 0, s2 = 0;
  for (uint64_t i = begin; i < end; i++) {
    double x = mc_european_path(&p->a, i);
    s += x;
    s2 += x * x;
  }
  slots[w * SLOT] += s;
  slots[w * SLOT + 1] += s2;
  return 0;
}
SHARC_KERNEL_NAMED("bench_mc_plain", plain_kernel)

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static void die(const char *what, const char *detail) {
  fprintf(stderr, "bench_mc: %s%s%s\n", what, detail ? ": " : "",
          detail ? detail : "");
  exit(1);
}

/* Idle runtimes spin a while before they sleep (sharc 100 us, libgomp a
 * few ms): a pause keeps one variant's spinners out of the next one. */
static void settle(void) {
  struct timespec ts = {0, 30000000L};
  nanosleep(&ts, NULL);
}

static mc_option_args k_args = {42, 100, 100, 0.05, 0.2, 1, 1, 0, 0, 0};

static double run_seq(uint64_t n, double *mean) {
  double t0 = now(), s = 0;
  for (uint64_t i = 0; i < n; i++)
    s += mc_european_path(&k_args, i);
  *mean = s / (double)n;
  return now() - t0;
}

static double run_det(sharc_pool *pool, uint64_t n, double *mean) {
  sharc_job_opts o = SHARC_JOB_OPTS_INIT;
  o.schedule.kind = SHARC_SCHED_STATIC;
  o.schedule.chunk = 0;
  o.measure_rusage = 0;
  o.args = &k_args;
  o.args_len = sizeof k_args;
  sharc_reduce_spec mv = SHARC_REDUCE_SPEC_INIT(SHARC_REDUCE_MEANVAR);
  sharc_reduce_result res;
  o.reduce = &mv;
  o.reduce_out = &res;
  o.nreduce = 1;
  double t0 = now();
  if (sharc_run(pool, "mc_european", n, &o, NULL) != 0)
    die("mc_european", sharc_pool_errmsg(pool));
  double t = now() - t0;
  *mean = res.mean;
  return t;
}

static double run_plain(sharc_pool *pool, sharc_array *slots, uint64_t n,
                        double *mean) {
  plain_args p = {k_args};
  sharc_job_opts o = SHARC_JOB_OPTS_INIT;
  o.schedule.kind = SHARC_SCHED_STATIC;
  o.schedule.chunk = 0;
  o.measure_rusage = 0;
  o.args = &p;
  o.args_len = sizeof p;
  o.arrays = &slots;
  o.narrays = 1;
  double *s = sharc_array_data(slots);
  memset(s, 0, sharc_array_nbytes(slots));
  double t0 = now();
  if (sharc_run(pool, "bench_mc_plain", n, &o, NULL) != 0)
    die("bench_mc_plain", sharc_pool_errmsg(pool));
  double sum = 0;
  for (unsigned w = 0; w < sharc_pool_size(pool); w++)
    sum += s[w * SLOT];
  double t = now() - t0;
  *mean = sum / (double)n;
  return t;
}


static double run_omp(unsigned w, uint64_t n, double *mean) {
  double t0 = now(), s = 0, s2 = 0;
#pragma omp parallel for num_threads(w) schedule(static) reduction(+ : s, s2)
  for (uint64_t i = 0; i < n; i++) {
    double x = mc_european_path(&k_args, i);
    s += x;
    s2 += x * x;
  }
  *mean = s / (double)n;
  return now() - t0;
}

static int cmp(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

static double median(double *v, unsigned n) {
  qsort(v, n, sizeof *v, cmp);
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

int main(int argc, char **argv) {
  uint64_t n = UINT64_C(1) << 21;
  unsigned repeats = 5, maxw = (unsigned)sysconf(_SC_NPROCESSORS_ONLN);
  static const struct option longs[] = {
      {"paths", required_argument, NULL, 'n'},
      {"repeats", required_argument, NULL, 'r'},
      {"workers", required_argument, NULL, 'w'},
      {"help", no_argument, NULL, 'h'},
      {NULL, 0, NULL, 0}};
  int c;
  while ((c = getopt_long(argc, argv, "h", longs, NULL)) != -1) {
    if (c == 'n')
      n = strtoull(optarg, NULL, 0);
    else if (c == 'r')
      repeats = (unsigned)strtoul(optarg, NULL, 10);
    else if (c == 'w')
      maxw = (unsigned)strtoul(optarg, NULL, 10);
    else {
      printf("usage: bench_mc [--paths N] [--repeats R] [--workers W]\n"
             "European call paths per second: sequential, sharc with the\n"
             "deterministic reduction, sharc with a plain per-worker sum,\n"
             "and OpenMP, for 1..W workers (default: online CPUs); medians\n"
             "of R interleaved repeats (default 5).\n");
      return c == 'h' ? 0 : 2;
    }
  }
  if (n == 0 || repeats == 0 || repeats > 101 || maxw == 0 || maxw > MAX_W)
    die("bad --paths, --repeats (1..101) or --workers (1..64)", NULL);

  /* Every pool before the first OpenMP region. */
  sharc_pool *pools[MAX_W + 1] = {NULL};
  sharc_array *slots[MAX_W + 1] = {NULL};
  char msg[256];
  for (unsigned w = 1; w <= maxw; w++) {
    sharc_pool_opts po = SHARC_POOL_OPTS_INIT;
    po.workers = w;
    if (sharc_pool_create(&pools[w], &po, msg, sizeof msg) != 0)
      die("cannot start a pool", msg);
    uint64_t shape = (uint64_t)w * SLOT;
    if (sharc_array_create(pools[w], SHARC_F64, 1, &shape, NULL, &slots[w]))
      die("cannot create slots", sharc_pool_errmsg(pools[w]));
  }
  cpu_set_t all;
  if (sched_getaffinity(0, sizeof all, &all) != 0)
    die("sched_getaffinity", strerror(errno));

  double *seq = calloc(repeats, sizeof *seq);
  double *det = calloc((size_t)repeats * (maxw + 1), sizeof *det);
  double *plain = calloc((size_t)repeats * (maxw + 1), sizeof *plain);
  double *omp = calloc((size_t)repeats * (maxw + 1), sizeof *omp);
  if (!seq || !det || !plain || !omp)
    die("out of memory", NULL);
  double det_mean[MAX_W + 1], m;
  for (unsigned r = 0; r < repeats; r++) {
    seq[r] = run_seq(n, &m);
    settle();
    for (unsigned w = 1; w <= maxw; w++) {
      size_t at = (size_t)r * (maxw + 1) + w;
      sched_setaffinity(0, sizeof all, &all); /* sharc's coordinator */
      det[at] = run_det(pools[w], n, &det_mean[w]);
      settle();
      plain[at] = run_plain(pools[w], slots[w], n, &m);
      settle();
      bench_pin_omp_to_pool(pools[w], w);
      omp[at] = run_omp(w, n, &m);
      settle();
    }
  }
  sched_setaffinity(0, sizeof all, &all);

  double s = median(seq, repeats);
  printf("European call, %llu paths, medians of %u repeats; paths/s in "
         "millions\n",
         (unsigned long long)n, repeats);
  printf("sequential: %.2f M paths/s\n\n", (double)n / s / 1e6);
  printf("%3s %10s %10s %10s %10s %10s %10s\n", "W", "sharc det", "plain",
         "OpenMP", "det/OpenMP", "det/plain", "det speed-up");
  double det1 = 0;
  int same = 1;
  for (unsigned w = 1; w <= maxw; w++) {
    double v[3][101];
    for (unsigned r = 0; r < repeats; r++) {
      v[0][r] = det[(size_t)r * (maxw + 1) + w];
      v[1][r] = plain[(size_t)r * (maxw + 1) + w];
      v[2][r] = omp[(size_t)r * (maxw + 1) + w];
    }
    double d = median(v[0], repeats), p = median(v[1], repeats),
           o = median(v[2], repeats);
    if (w == 1)
      det1 = d;
    same &= memcmp(&det_mean[w], &det_mean[1], sizeof(double)) == 0;
    /* Rates: above 1 means sharc det is faster. */
    printf("%3u %10.2f %10.2f %10.2f %10.3f %10.3f %10.2f\n", w,
           (double)n / d / 1e6, (double)n / p / 1e6, (double)n / o / 1e6, o / d,
           p / d, det1 / d);
  }
  printf("\nrate ratios: det/OpenMP and det/plain above 1 mean sharc det is "
         "faster\ndeterministic mean, all W: %.12f (%s bits)\n",
         det_mean[1], same ? "the same" : "DIFFERENT");
  for (unsigned w = 1; w <= maxw; w++)
    sharc_pool_destroy(pools[w]);
  free(seq);
  free(det);
  free(plain);
  free(omp);
  return same ? 0 : 1;
}
