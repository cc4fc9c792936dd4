/* pi by Monte Carlo across MPI ranks, one sharc pool per rank: the
 * complete example of docs/getting-started-mpi.md.
 *
 *   mpicc mpi.c $(pkg-config --cflags --libs sharc_mpi) -o pi_mpi
 *   mpirun -np 2 ./pi_mpi 1000000
 *
 * Exits 0 when the estimate has exactly the bits that one process running
 * the same job alone gives. */
#include <stdio.h>
#include <stdlib.h>

#include <sharc/mpi.h>

/* Index i throws one dart; its random numbers depend on i alone, so the
 * darts are the same however the index space is split. */
static int darts(const sharc_task *t, uint64_t begin, uint64_t end) {
  for (uint64_t i = begin; i < end; i++) {
    sharc_rng r = sharc_rng_at(2024, 0, i);
    double x = sharc_rng_uniform(&r), y = sharc_rng_uniform(&r);
    int rc = sharc_task_sum(t, 0, i, x * x + y * y < 1.0 ? 4.0 : 0.0);
    if (rc != 0)
      return rc;
  }
  return 0;
}
SHARC_KERNEL(darts) /* registered before sharc_mpi_init() forks its server */

int main(int argc, char **argv) {
  /* sharc's fork server first, then MPI: no worker is ever forked from a
   * process that runs MPI. */
  int rc = sharc_mpi_init(&argc, &argv);
  if (rc != 0) {
    fprintf(stderr, "pi_mpi: %s\n", sharc_strerror(rc));
    return 1;
  }
  int rank;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  uint64_t n = argc > 1 ? strtoull(argv[1], NULL, 10) : 1000000;
  char msg[256];
  sharc_pool *pool; /* this rank's: its share of the node's PUs */
  rc = sharc_mpi_pool_create(&pool, NULL, NULL, msg, sizeof msg);
  if (rc != 0) {
    fprintf(stderr, "pi_mpi: rank %d: %s\n", rank, msg);
    MPI_Abort(MPI_COMM_WORLD, 1);
  }

  sharc_reduce_spec sum = SHARC_REDUCE_SPEC_INIT(SHARC_REDUCE_SUM);
  sharc_reduce_result pi;
  sharc_job_opts o = SHARC_JOB_OPTS_INIT;
  o.reduce = &sum; /* reduction 0, its result in pi */
  o.reduce_out = &pi;
  o.nreduce = 1;
  sharc_mpi_report rep = SHARC_MPI_REPORT_INIT;
  /* Collective: every rank runs super-chunks of [0, n) on its pool until
   * none is left; then every rank holds the whole job's sum. */
  rc = sharc_mpi_run(pool, "darts", n, &o, NULL, &rep);
  if (rc != 0 && rank == 0)
    fprintf(stderr, "pi_mpi: %s\n", rep.error);
  if (rc == 0 && rank == 0) {
    printf("pi ~= %.12f from %llu darts\n", pi.sum / (double)n,
           (unsigned long long)n);
    sharc_mpi_report_print(&rep, stdout);
  }
  sharc_mpi_report_free(&rep);

  /* The same job on this rank's pool alone: the same bits. */
  sharc_reduce_result alone;
  sharc_job_opts alone_o = o;
  alone_o.reduce_out = &alone;
  int same = rc == 0 && sharc_run(pool, "darts", n, &alone_o, NULL) == 0 &&
             alone.sum == pi.sum && alone.count == pi.count;
  if (rank == 0)
    printf("pi_mpi: %s one process\n", same ? "identical to" : "DIFFERS from");
  sharc_pool_destroy(pool);
  sharc_mpi_finalize();
  return !same;
}
