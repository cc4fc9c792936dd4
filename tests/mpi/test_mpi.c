/* libsharc_mpi (sharc/mpi.h), run by ctest under
 * `mpirun --oversubscribe -np 2` and `-np 3`, one worker per rank:
 * - reductions of every kind and an output array are bit-identical to one
 *   sharc_run() of the same job in one process, for the default block and
 *   for a block that is no power of two, under two schedules;
 * - every index runs exactly once across ranks (per-index counts summed
 *   over ranks are all 1, and the super-chunks tile [0, n)); on_part
 *   sees exactly this rank's super-chunks;
 * - a rank whose kernels are 20 times slower per index takes a small share
 *   and the results are unchanged;
 * - a kernel error on one rank fails the job on every rank, naming it; a
 *   job that differs between ranks and a fork-start pool are refused.
 * Exit status 0 only when every check passed on every rank. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sharc/mpi.h>

static int rank, nranks, failures;

#define CHECK(cond, ...)                                                       \
  do {                                                                         \
    if (!(cond)) {                                                             \
      failures++;                                                              \
      fprintf(stderr, "rank %d: FAIL %s:%d: %s: ", rank, __func__, __LINE__,   \
              #cond);                                                          \
      fprintf(stderr, __VA_ARGS__);                                            \
      fputc('\n', stderr);                                                     \
    }                                                                          \
  } while (0)

enum { R_SUM, R_MIN, R_MAX, R_HIST, R_MV, R_VEC, R_CNT, NRED };
#define NBINS 13
#define VW 3

typedef struct job_args {
  uint32_t reps;   /* work per index: this rank's speed */
  int32_t fail_at; /* -1, an index whose call fails, or -2: every call */
} job_args;

/* Values over eight orders of magnitude, so that the order of additions
 * shows in the bits. */
static double value(uint64_t i) {
  sharc_rng r = sharc_rng_at(11, 0, i);
  return sharc_rng_normal(&r) * pow(10.0, 4.0 * sharc_rng_uniform(&r));
}

/* Work that does not change the result: a hash chain of `reps` steps. */
static uint64_t burn(uint64_t i, uint32_t reps) {
  uint64_t h = i + 1;
  for (uint32_t k = 0; k < reps; k++)
    h = (h ^ (h >> 31)) * UINT64_C(0x9e3779b97f4a7c15) + k;
  return h;
}

/* Array 0: out[i] = value (double); array 1: a count per index. */
static int mpi_kernel(const sharc_task *t, uint64_t begin, uint64_t end) {
  const job_args *a = sharc_task_args(t, NULL);
  double *out = sharc_task_array(t, 0);
  uint8_t *seen = sharc_task_array(t, 1);
  if (a == NULL || out == NULL || seen == NULL ||
      end > sharc_task_array_size(t, 0))
    return SHARC_EINVAL;
  volatile uint64_t sink = 0;
  for (uint64_t i = begin; i < end; i++) {
    if (a->fail_at >= 0 && i == (uint64_t)a->fail_at)
      return -42;
    sink += burn(i, a->reps);
    double x = value(i), v[VW] = {x, x * x, -1.0};
    uint64_t k[VW] = {i % 2, i % 3, 1};
    out[i] = x;
    seen[i]++;
    int rc = sharc_task_sum(t, R_SUM, i, x) |
             sharc_task_minmax(t, R_MIN, i, x) |
             sharc_task_minmax(t, R_MAX, i, x) |
             sharc_task_hist(t, R_HIST, i, x / 1e4) |
             sharc_task_welford(t, R_MV, i, x) |
             sharc_task_sum_vec(t, R_VEC, i, v) |
             sharc_task_count_vec(t, R_CNT, i, k);
    if (rc != 0)
      return SHARC_EINVAL;
  }
  (void)sink;
  return 0;
}
SHARC_KERNEL_NAMED("test_mpi", mpi_kernel)

typedef struct results {
  sharc_reduce_result res[NRED];
  uint64_t bins[NBINS];
  double vec[VW];
  uint64_t cnt[VW];
} results;

typedef struct job {
  sharc_job_opts o;
  results r;
  job_args args;
  sharc_array *out, *seen;
  sharc_array *arrays[2];       /* what o points to */
  sharc_reduce_spec spec[NRED];
} job;

static void job_make(job *j, sharc_pool *pool, uint64_t n, uint64_t block,
                     sharc_schedule sched, uint32_t reps) {
  memset(j, 0, sizeof *j);
  j->o = (sharc_job_opts)SHARC_JOB_OPTS_INIT;
  j->o.schedule = sched;
  j->o.reduce_block = block;
  j->args.reps = reps;
  j->args.fail_at = -1;
  j->o.args = &j->args;
  j->o.args_len = sizeof j->args;
  int rc = sharc_array_create(pool, SHARC_F64, 1, &n, NULL, &j->out);
  rc |= sharc_array_create(pool, SHARC_U8, 1, &n, NULL, &j->seen);
  CHECK(rc == 0, "arrays");
  j->arrays[0] = j->out;
  j->arrays[1] = j->seen;
  j->o.arrays = j->arrays;
  j->o.narrays = 2;
  static const sharc_reduce_kind kinds[NRED] = {
      SHARC_REDUCE_SUM,     SHARC_REDUCE_MIN, SHARC_REDUCE_MAX,
      SHARC_REDUCE_HIST,    SHARC_REDUCE_MEANVAR, SHARC_REDUCE_SUM,
      SHARC_REDUCE_COUNT};
  for (unsigned k = 0; k < NRED; k++)
    j->spec[k] = (sharc_reduce_spec)SHARC_REDUCE_SPEC_INIT(kinds[k]);
  j->spec[R_HIST].nbins = NBINS;
  j->spec[R_HIST].lo = -3.0;
  j->spec[R_HIST].hi = 3.0;
  j->spec[R_HIST].bins = j->r.bins;
  j->spec[R_VEC].width = VW;
  j->spec[R_VEC].sums = j->r.vec;
  j->spec[R_CNT].width = VW;
  j->spec[R_CNT].counts = j->r.cnt;
  j->o.reduce = j->spec;
  j->o.reduce_out = j->r.res;
  j->o.nreduce = NRED;
}

/* Its arrays and the job itself (job_make's jobs are malloc'd). */
static void job_free(job *j) {
  sharc_array_destroy(j->out);
  sharc_array_destroy(j->seen);
  free(j);
}

/* Counts summed over ranks: each index exactly once in all. */
static void check_once(const job *j, uint64_t n) {
  uint8_t *sum = malloc(n);
  MPI_Allreduce(sharc_array_data(j->seen), sum, (int)n, MPI_UINT8_T, MPI_SUM,
                MPI_COMM_WORLD);
  uint64_t bad = 0, first = 0;
  for (uint64_t i = 0; i < n; i++)
    if (sum[i] != 1 && bad++ == 0)
      first = i;
  CHECK(bad == 0, "%llu indices ran other than once, the first %llu (%u times)",
        (unsigned long long)bad, (unsigned long long)first,
        (unsigned)sum[first]);
  free(sum);
}

static void check_report(const sharc_mpi_report *rep, uint64_t n) {
  CHECK(rep->status == 0 && rep->nranks == nranks && rep->indices == n,
        "status %d, %d ranks, %llu indices", rep->status, rep->nranks,
        (unsigned long long)rep->indices);
  uint64_t next = 0;
  for (uint64_t k = 0; k < rep->parts; k++) {
    CHECK(rep->part_ranges[k][0] == next, "parts do not tile [0, n)");
    next = rep->part_ranges[k][1];
  }
  CHECK(next == n, "parts end at %llu", (unsigned long long)next);
}

/* The end of a test that ran a job through sharc_mpi_run (m) and one
 * sharc_run (one): rank 0 prints the report of a passing run. */
static void end_pair(sharc_mpi_report *rep, job *m, job *one) {
  if (rank == 0 && failures == 0)
    sharc_mpi_report_print(rep, stdout);
  sharc_mpi_report_free(rep);
  job_free(m);
  job_free(one);
}

/* on_part: what this rank ran, as it ran it. */
static void count_part(uint64_t begin, uint64_t end, void *arg) {
  uint64_t *sum = arg;
  sum[0] += end - begin;
  sum[1]++;
}

/* The whole job through sharc_mpi_run() and through one sharc_run() on
 * this rank's pool: the same bits. */
static void reductions_and_output_match_one_process(sharc_pool *pool,
                                                    uint64_t n,
                                                    uint64_t block,
                                                    sharc_schedule sched) {
  job *m = malloc(sizeof *m), *one = malloc(sizeof *one);
  job_make(m, pool, n, block, sched, 20);
  job_make(one, pool, n, block, sched, 20);
  sharc_mpi_opts mo = SHARC_MPI_OPTS_INIT;
  mo.target_s = 0.005;
  uint64_t mine[2] = {0, 0};
  mo.on_part = count_part;
  mo.on_part_arg = mine;
  sharc_mpi_report rep = SHARC_MPI_REPORT_INIT;
  int rc = sharc_mpi_run(pool, "test_mpi", n, &m->o, &mo, &rep);
  CHECK(rc == 0, "sharc_mpi_run: %s", rep.error);
  check_report(&rep, n);
  CHECK(rep.ranks != NULL && rep.rank == rank &&
            rep.ranks[rank].indices == mine[0] &&
            rep.ranks[rank].parts == mine[1],
        "on_part saw %llu indices in %llu parts", (unsigned long long)mine[0],
        (unsigned long long)mine[1]);
  check_once(m, n);
  rc = sharc_run(pool, "test_mpi", n, &one->o, NULL);
  CHECK(rc == 0, "sharc_run: %s", sharc_pool_errmsg(pool));
  CHECK(memcmp(&m->r, &one->r, sizeof m->r) == 0,
        "reductions differ from one process (sum %.17g vs %.17g)",
        m->r.res[R_SUM].sum, one->r.res[R_SUM].sum);
  CHECK(m->r.res[R_CNT].count > 0 && m->r.res[R_MV].count == n, "counts");
  rc = sharc_mpi_allgather_array(&rep, m->out, &mo);
  CHECK(rc == 0, "sharc_mpi_allgather_array: %d", rc);
  CHECK(memcmp(sharc_array_data(m->out), sharc_array_data(one->out), n * 8) ==
            0,
        "the output array differs from one process");
  end_pair(&rep, m, one);
}

/* Rank 1's kernel does 20 times the work per index: it claims less, the
 * others take the rest, and the results do not change. Asserted on index
 * counts, which a busy machine cannot turn around (the slow rank would
 * need 20 times the CPU share of a fast one). */
static void slow_rank_takes_a_small_share(sharc_pool *pool) {
  uint64_t n = 60000;
  job *m = malloc(sizeof *m), *one = malloc(sizeof *one);
  job_make(m, pool, n, 0, (sharc_schedule)SHARC_SCHEDULE_DEFAULT,
           rank == 1 ? 4000 : 200);
  job_make(one, pool, n, 0, (sharc_schedule)SHARC_SCHEDULE_DEFAULT, 0);
  sharc_mpi_opts mo = SHARC_MPI_OPTS_INIT;
  mo.target_s = 0.01;
  sharc_mpi_report rep = SHARC_MPI_REPORT_INIT;
  int rc = sharc_mpi_run(pool, "test_mpi", n, &m->o, &mo, &rep);
  CHECK(rc == 0, "sharc_mpi_run: %s", rep.error);
  check_report(&rep, n);
  check_once(m, n);
  CHECK(sharc_run(pool, "test_mpi", n, &one->o, NULL) == 0, "sharc_run");
  CHECK(memcmp(&m->r, &one->r, sizeof m->r) == 0,
        "reductions differ from one process");
  if (rep.ranks != NULL && nranks >= 2) {
    uint64_t slow = rep.ranks[1].indices, fast = UINT64_MAX;
    for (int k = 0; k < nranks; k++)
      if (k != 1 && rep.ranks[k].indices < fast)
        fast = rep.ranks[k].indices;
    CHECK(slow * 2 < fast,
          "the slow rank ran %llu indices, the least of the fast ones %llu",
          (unsigned long long)slow, (unsigned long long)fast);
    CHECK(rep.ranks[1].parts >= 1, "the slow rank took part");
  }
  end_pair(&rep, m, one);
}

/* A kernel that fails on one rank fails the job on every rank, with that
 * rank's error; the results are zeroed. */
static void kernel_error_fails_every_rank(sharc_pool *pool) {
  uint64_t n = 5000;
  job *m = malloc(sizeof *m);
  job_make(m, pool, n, 0, (sharc_schedule)SHARC_SCHEDULE_DEFAULT, 0);
  int culprit = nranks - 1;
  m->args.fail_at = rank == culprit ? -2 : -1; /* -2: every call fails */
  sharc_mpi_opts mo = SHARC_MPI_OPTS_INIT;
  sharc_mpi_report rep = SHARC_MPI_REPORT_INIT;
  int rc = sharc_mpi_run(pool, "test_mpi_fail", n, &m->o, &mo, &rep);
  CHECK(rc == SHARC_EKERNEL, "got %d (%s)", rc, rep.error);
  char want[32];
  snprintf(want, sizeof want, "rank %d,", culprit);
  CHECK(strstr(rep.error, want) != NULL, "message: %s", rep.error);
  CHECK(m->r.res[R_SUM].sum == 0 && m->r.res[R_SUM].count == 0,
        "results zeroed");
  sharc_mpi_report_free(&rep);
  job_free(m);
}

/* fail_at == -2: every call fails. */
static int mpi_fail_kernel(const sharc_task *t, uint64_t begin, uint64_t end) {
  const job_args *a = sharc_task_args(t, NULL);
  if (a != NULL && a->fail_at == -2)
    return -42;
  return mpi_kernel(t, begin, end);
}
SHARC_KERNEL_NAMED("test_mpi_fail", mpi_fail_kernel)

static void misuse_is_refused(sharc_pool *pool) {
  /* n differs on the last rank */
  uint64_t n = rank == nranks - 1 ? 1001 : 1000;
  job *m = malloc(sizeof *m);
  job_make(m, pool, 1001, 0, (sharc_schedule)SHARC_SCHEDULE_DEFAULT, 0);
  sharc_mpi_report rep = SHARC_MPI_REPORT_INIT;
  int rc = sharc_mpi_run(pool, "test_mpi", n, &m->o, NULL, &rep);
  CHECK(nranks == 1 || rc == SHARC_EINVAL, "different n: %d", rc);
  CHECK(nranks == 1 || strstr(rep.error, "differs from rank 0") != NULL,
        "message: %s", rep.error);
  sharc_mpi_report_free(&rep);
  CHECK(rep.size == sizeof rep && rep.error == NULL, "a freed report");
  /* a report of another size, on every rank: refused before any call */
  rep.size = 8;
  rc = sharc_mpi_run(pool, "test_mpi", 1000, &m->o, NULL, &rep);
  CHECK(rc == SHARC_EINVAL && rep.size == 8, "report size: %d", rc);
  job_free(m);
  sharc_pool_opts po = SHARC_POOL_OPTS_INIT;
  po.start = SHARC_START_FORK;
  sharc_pool *p = NULL;
  char msg[256];
  rc = sharc_mpi_pool_create(&p, &po, NULL, msg, sizeof msg);
  CHECK(rc == SHARC_EINVAL && p == NULL && strstr(msg, "fork") != NULL,
        "fork-start pool: %d %s", rc, msg);
  CHECK(sharc_mpi_init(NULL, NULL) == SHARC_EINVAL, "second init");
}

int main(int argc, char **argv) {
  int rc = sharc_mpi_init(&argc, &argv);
  if (rc != 0) {
    fprintf(stderr, "sharc_mpi_init: %s\n", sharc_strerror(rc));
    return 1;
  }
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &nranks);
  sharc_pool_opts po = SHARC_POOL_OPTS_INIT;
  po.start = SHARC_START_FORKSERVER;
  po.workers = 1;
  po.pin = 0;
  sharc_pool *pool;
  char msg[512];
  rc = sharc_mpi_pool_create(&pool, &po, NULL, msg, sizeof msg);
  if (rc != 0) {
    fprintf(stderr, "rank %d: sharc_mpi_pool_create: %s\n", rank, msg);
    MPI_Abort(MPI_COMM_WORLD, 1);
  }
  sharc_schedule dflt = SHARC_SCHEDULE_DEFAULT, dyn = {SHARC_SCHED_DYNAMIC, 1};
  reductions_and_output_match_one_process(pool, 200003, 0, dflt);
  reductions_and_output_match_one_process(pool, 50000, 96, dyn);
  slow_rank_takes_a_small_share(pool);
  kernel_error_fails_every_rank(pool);
  misuse_is_refused(pool);
  sharc_pool_destroy(pool);
  int all = 0;
  MPI_Allreduce(&failures, &all, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD);
  if (rank == 0)
    printf("%s: %d rank(s), %d failure(s)\n", all ? "FAIL" : "PASS", nranks,
           all);
  sharc_mpi_finalize();
  return all != 0;
}
