/* The mean distance between two random points in the unit square, by
 * Monte Carlo on a sharc pool: the complete example of docs/montecarlo.md.
 *
 *   cc montecarlo.c -lsharc -lm -o montecarlo && ./montecarlo 1000000
 *
 * Exits 0 when the exact value lies within 4 standard errors of the
 * estimate and the estimate has the same bits on 1 and 3 workers. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sharc.h>

typedef struct args {
  uint64_t seed;
} args;

enum { MEAN, HIST, LONGEST }; /* the job's reductions, in declaration order */
#define NBINS 7

/* Runs in the workers. Path i draws from its own stream (seed, 0, i), so
 * its draws do not depend on which worker runs it, or when. */
static int distance(const sharc_task *t, uint64_t begin, uint64_t end) {
  const args *a = sharc_task_args(t, NULL);
  for (uint64_t i = begin; i < end; i++) {
    sharc_rng r = sharc_rng_at(a->seed, 0, i);
    double x0 = sharc_rng_uniform(&r), y0 = sharc_rng_uniform(&r);
    double x1 = sharc_rng_uniform(&r), y1 = sharc_rng_uniform(&r);
    double d = hypot(x1 - x0, y1 - y0);
    sharc_task_welford(t, MEAN, i, d);
    sharc_task_hist(t, HIST, i, d);
    sharc_task_minmax(t, LONGEST, i, d);
  }
  return 0;
}
SHARC_KERNEL(distance)

typedef struct results {
  sharc_reduce_result r[3]; /* the mean, the histogram, the longest */
  uint64_t bins[NBINS];
} results;

static int estimate(unsigned workers, uint64_t n, results *res) {
  sharc_pool_opts po = SHARC_POOL_OPTS_INIT;
  po.workers = workers;
  sharc_pool *pool;
  char msg[256];
  if (sharc_pool_create(&pool, &po, msg, sizeof msg) != 0) {
    fprintf(stderr, "montecarlo: %s\n", msg);
    return -1;
  }
  args a = {42};
  sharc_job_opts o = SHARC_JOB_OPTS_INIT;
  o.args = &a;
  o.args_len = sizeof a;
  /* reductions 0, 1 and 2, as the kernel numbers them */
  sharc_reduce_spec red[3] = {SHARC_REDUCE_SPEC_INIT(SHARC_REDUCE_MEANVAR),
                              SHARC_REDUCE_SPEC_INIT(SHARC_REDUCE_HIST),
                              SHARC_REDUCE_SPEC_INIT(SHARC_REDUCE_MAX)};
  red[1].nbins = NBINS, red[1].lo = 0.0, red[1].hi = 1.4;
  red[1].bins = res->bins;
  o.reduce = red;
  o.reduce_out = res->r;
  o.nreduce = 3;
  int rc = sharc_run(pool, "distance", n, &o, NULL);
  if (rc != 0)
    fprintf(stderr, "montecarlo: %s\n", sharc_pool_errmsg(pool));
  sharc_pool_destroy(pool);
  return rc;
}

int main(int argc, char **argv) {
  uint64_t n = argc > 1 ? strtoull(argv[1], NULL, 10) : 1000000;
  results one, three;
  if (estimate(1, n, &one) != 0 || estimate(3, n, &three) != 0)
    return 1;
  const sharc_reduce_result *m = &three.r[0];
  double exact = (2 + sqrt(2.0) + 5 * log(1 + sqrt(2.0))) / 15;
  printf("mean distance %.6f +- %.6f (95%%), exact %.6f\n", m->mean,
         SHARC_Z95 * m->sem, exact);
  printf("longest %.6f, path %llu\n", three.r[2].value,
         (unsigned long long)three.r[2].index);
  for (int b = 0; b < NBINS; b++)
    printf("  [%.1f, %.1f) %llu\n", 0.2 * b, 0.2 * (b + 1),
           (unsigned long long)three.bins[b]);
  printf("  [1.4, ...) %llu\n", (unsigned long long)three.r[1].over);
  int same = memcmp(&one.r[0].mean, &m->mean, sizeof(double)) == 0 &&
             memcmp(&one.r[0].m2, &m->m2, sizeof(double)) == 0;
  printf("1 and 3 workers: %s bits\n", same ? "the same" : "DIFFERENT");
  return same && fabs(m->mean - exact) <= 4 * m->sem ? 0 : 1;
}
