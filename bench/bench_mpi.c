/* bench_mpi: weak scaling of libsharc_mpi (docs/performance.md, "MPI").
 * Every rank brings the same work (n_per_rank indices of a fixed cost), so
 * with P ranks the job has P * n_per_rank indices; the ideal time is the
 * one-rank time, and the efficiency is T(1) / T(P). Each rank has a pool
 * of `workers` workers; the job sums one value per index (a reduction
 * finished across ranks, so the gathering and combining are in the time).
 *
 *   mpirun -np P bench/bench_mpi [n_per_rank] [ns_per_index] [runs] [workers]
 *                                [-v: the last run's report]
 *
 * Prints one line on rank 0: ranks, workers per rank, n, the median, min
 * and max of `runs` timed runs (after one untimed), in seconds, from before
 * sharc_mpi_run to its return on rank 0, and the super-chunks of the
 * median run. */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include <sharc/mpi.h>

typedef struct bench_args {
  uint64_t spins; /* hash steps per index: its cost */
} bench_args;

/* A fixed cost per index that the compiler cannot drop. */
static int bench_kernel(const sharc_task *t, uint64_t begin, uint64_t end) {
  const bench_args *a = sharc_task_args(t, NULL);
  for (uint64_t i = begin; i < end; i++) {
    uint64_t h = i + 1;
    for (uint64_t k = 0; k < a->spins; k++)
      h = (h ^ (h >> 29)) * UINT64_C(0xbf58476d1ce4e5b9) + k;
    if (sharc_task_sum(t, 0, i, (double)(h >> 11) * 0x1.0p-53) != 0)
      return SHARC_EINVAL;
  }
  return 0;
}
SHARC_KERNEL_NAMED("bench_mpi", bench_kernel)

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int by_value(const void *x, const void *y) {
  double a = *(const double *)x, b = *(const double *)y;
  return a < b ? -1 : a > b;
}

/* Hash steps that take about ns nanoseconds on this machine. */
static uint64_t calibrate(double ns) {
  volatile uint64_t sink = 0;
  uint64_t steps = 1 << 20, h = 1;
  double t0 = now();
  for (uint64_t k = 0; k < steps; k++)
    h = (h ^ (h >> 29)) * UINT64_C(0xbf58476d1ce4e5b9) + k;
  sink = h;
  (void)sink;
  double per = (now() - t0) / (double)steps * 1e9;
  return per > 0 ? (uint64_t)(ns / per) + 1 : 1;
}

int main(int argc, char **argv) {
  if (sharc_mpi_init(&argc, &argv) != 0)
    return 1;
  int rank, size;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  uint64_t per_rank = argc > 1 ? strtoull(argv[1], NULL, 10) : 2000000;
  double ns = argc > 2 ? atof(argv[2]) : 100.0;
  int runs = argc > 3 ? atoi(argv[3]) : 5;
  unsigned workers = argc > 4 ? (unsigned)atoi(argv[4]) : 1;
  int verbose = argc > 5;
  if (runs < 1 || runs > 99)
    runs = 5;
  /* Rank 0's calibration for all: the same work per index everywhere. */
  bench_args args = {calibrate(ns)};
  MPI_Bcast(&args.spins, 1, MPI_UINT64_T, 0, MPI_COMM_WORLD);
  sharc_pool_opts po = SHARC_POOL_OPTS_INIT;
  po.start = SHARC_START_FORKSERVER;
  po.workers = workers;
  sharc_pool *pool;
  char msg[256];
  if (sharc_mpi_pool_create(&pool, &po, NULL, msg, sizeof msg) != 0) {
    fprintf(stderr, "bench_mpi: %s\n", msg);
    MPI_Abort(MPI_COMM_WORLD, 1);
  }
  uint64_t n = per_rank * (uint64_t)size;
  double t[100];
  uint64_t parts[100];
  int rc = 0;
  for (int r = -1; r < runs && rc == 0; r++) {
    sharc_reduce_spec s = SHARC_REDUCE_SPEC_INIT(SHARC_REDUCE_SUM);
    sharc_reduce_result res;
    sharc_job_opts o = SHARC_JOB_OPTS_INIT;
    o.args = &args;
    o.args_len = sizeof args;
    o.reduce = &s;
    o.reduce_out = &res;
    o.nreduce = 1;
    sharc_mpi_report rep = SHARC_MPI_REPORT_INIT;
    MPI_Barrier(MPI_COMM_WORLD);
    double t0 = now();
    rc = sharc_mpi_run(pool, "bench_mpi", n, &o, NULL, &rep);
    double dt = now() - t0;
    if (rc != 0 && rank == 0)
      fprintf(stderr, "bench_mpi: %s\n", rep.error);
    if (r >= 0) {
      t[r] = dt;
      parts[r] = rep.parts;
    }
    if (verbose && rank == 0 && r == runs - 1)
      sharc_mpi_report_print(&rep, stdout);
    sharc_mpi_report_free(&rep);
  }
  if (rc == 0 && rank == 0) {
    double sorted[100];
    for (int r = 0; r < runs; r++)
      sorted[r] = t[r];
    qsort(sorted, (size_t)runs, sizeof *sorted, by_value);
    double median = sorted[runs / 2];
    uint64_t mparts = 0;
    for (int r = 0; r < runs; r++)
      if (t[r] == median)
        mparts = parts[r];
    printf("ranks %d workers/rank %u n %llu ns/index %.0f: median %.4f s "
           "min %.4f max %.4f (%d runs) super-chunks %llu\n",
           size, workers, (unsigned long long)n, ns, median, sorted[0],
           sorted[runs - 1], runs, (unsigned long long)mparts);
  }
  sharc_pool_destroy(pool);
  sharc_mpi_finalize();
  return rc != 0;
}
