/* sharc: one pool per node inside an MPI program (libsharc_mpi).
 *
 * A job over the global index space [0, n) is shared among the ranks of a
 * communicator dynamically: rank 0 holds a counter in an MPI window, and
 * each rank claims its next super-chunk with one MPI_Fetch_and_op (an
 * atomic add). A claim is sized from the rank's measured speed so that it
 * lasts about opts.target_s, and never more than half of what is left
 * divided among the ranks (factoring), so claims shrink near the end and
 * a slow rank or node simply takes less. Inside the rank, the super-chunk
 * runs on the rank's own pool with sharc's own schedule, the kernel seeing
 * global indices and sharc_task_n() == n.
 *
 * Reductions are completed with MPI collectives and are bit-identical for
 * any number of ranks and workers, and to one sharc_run() of the same job
 * in one process: super-chunks hold whole reduction blocks, every block's
 * partial is gathered to every rank (MPI_Allgatherv), and the same fixed
 * tree as sharc_run() combines them.
 *
 * Build: libsharc_mpi exists when sharc was built with MPI found; link
 * with `pkg-config --cflags --libs sharc_mpi` or the CMake target
 * sharc::sharc_mpi, and compile with mpicc or MPI's flags.
 *
 * Fork and MPI: workers must never be forked from a process that has
 * called MPI_Init (many interconnects break in a forked copy). Call
 * sharc_mpi_init() in place of MPI_Init: it starts sharc's fork server
 * (sharc_init()) first, then MPI. Pools for MPI programs start workers
 * from that server (SHARC_START_FORKSERVER) or by spawn; a pool with
 * SHARC_START_FORK is refused (SHARC_EINVAL) by every function here.
 *
 * Threads: MPI is initialised with MPI_THREAD_FUNNELED, and every
 * function here makes its MPI calls in the calling thread, which must be
 * the one that called sharc_mpi_init(). The machines are assumed alike
 * (the same byte order and type sizes), as partials are sent as bytes. */
#ifndef SHARC_MPI_H
#define SHARC_MPI_H

#include <mpi.h>
#include <stdio.h>

#include "../sharc.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Starts sharc's fork server (sharc_init()), then MPI
 * (MPI_Init_thread with MPI_THREAD_FUNNELED), so that no worker is ever
 * forked from a process running MPI. Call it at the top of main, in place
 * of MPI_Init, before any thread starts. argc and argv as for MPI_Init
 * (may be NULL). Returns 0, SHARC_EINVAL when MPI is already initialised
 * (too late: call sharc_init() before your own MPI_Init instead, and use
 * forkserver or spawn pools), SHARC_EIO when MPI_Init_thread fails, or
 * what sharc_init() returned. Blocks for a fork and MPI's start. Not
 * thread-safe (call it once, from the main thread). */
SHARC_API int sharc_mpi_init(int *argc, char ***argv);

/* MPI_Finalize, when MPI was initialised and not yet finalised. Destroy
 * pools before (their workers end with them; the fork server ends with
 * the program). Returns 0 or SHARC_EIO. Collective over MPI_COMM_WORLD. */
SHARC_API int sharc_mpi_finalize(void);

/* Called on the rank that ran it, after each super-chunk [begin, end) its
 * pool completed, in the calling thread (e.g. to send the part of an
 * output array it wrote). */
typedef void (*sharc_mpi_part_fn)(uint64_t begin, uint64_t end, void *arg);

typedef struct sharc_mpi_opts {
  /* sizeof(sharc_mpi_opts), as SHARC_MPI_OPTS_INIT sets it (checked). */
  size_t size;
  MPI_Comm comm; /* MPI_COMM_NULL (the default): MPI_COMM_WORLD */
  /* How long one super-chunk should run on a rank, in seconds; 0: 0.05,
   * or $SHARC_MPI_TARGET_S. Longer: fewer claims (each a round trip to
   * rank 0); shorter: a finer balance at the end. */
  double target_s;
  /* Indices of each rank's first claim, before its speed is known
   * (rounded up to whole reduction blocks, or grains); 0: one block (or
   * grain, or index) per worker. */
  uint64_t first;
  sharc_mpi_part_fn on_part; /* NULL: none */
  void *on_part_arg;
} sharc_mpi_opts;

#define SHARC_MPI_OPTS_INIT                                                    \
  {sizeof(sharc_mpi_opts), MPI_COMM_NULL, 0.0, 0, NULL, NULL}

/* sharc_pool_create() for an MPI program: opts NULL means the defaults
 * with start SHARC_START_FORKSERVER. Workers 0 means $SHARC_WORKERS if
 * set, else the PUs this rank may run on divided among the ranks of
 * the communicator on this node (MPI_COMM_TYPE_SHARED), at least 1; with several
 * ranks on a node and no binding by the launcher, workers are not pinned
 * (each rank would plan the same PUs). opts->start SHARC_START_FORK:
 * SHARC_EINVAL with msg saying why. Otherwise as sharc_pool_create().
 * Collective over mo->comm (mo NULL: MPI_COMM_WORLD). Blocks. */
SHARC_API int sharc_mpi_pool_create(sharc_pool **out,
                                    const sharc_pool_opts *opts,
                                    const sharc_mpi_opts *mo, char *msg,
                                    size_t msglen);

/* One rank's share of a job. */
typedef struct sharc_mpi_rank_report {
  int rank;
  unsigned workers;  /* its pool's */
  uint64_t indices;  /* indices it ran */
  uint64_t parts;    /* super-chunks it claimed and ran */
  uint64_t chunks;   /* its pool's chunks, summed over parts */
  double busy_s;     /* inside the kernel, summed over its workers */
  double run_s;      /* wall time in its pool's jobs, summed over parts */
  double claim_s;    /* waiting for claims (MPI_Fetch_and_op round trips) */
  double finish_s;   /* from the common start to its last part's end */
} sharc_mpi_rank_report;

/* What a job did on every rank, the same on every rank. Made with
 * SHARC_MPI_REPORT_INIT (size is checked, as for sharc_report); it owns
 * its strings and lists, released by sharc_mpi_report_free(). */
typedef struct sharc_mpi_report {
  size_t size;
  const char *kernel; /* never NULL once filled */
  uint64_t n;
  int status;         /* what sharc_mpi_run() returned */
  const char *error;  /* its message, or "" */
  int nranks;
  int rank;           /* this rank's number in the communicator */
  unsigned workers;   /* summed over ranks */
  uint64_t indices;   /* summed over ranks: n on success */
  uint64_t parts;     /* super-chunks, summed over ranks */
  uint64_t block;     /* the unit of a claim: reduction block, grain or 1 */
  double wall_s;      /* from the common start to the results, on this rank */
  double combine_s;   /* gathering partials and combining, on this rank */
  double imbalance_pct; /* (max finish / mean finish - 1) * 100 over ranks */
  sharc_mpi_rank_report *ranks; /* nranks, by rank; owned by the report */
  /* Every super-chunk of the job, by begin: parts[k] = {begin, end} ran on
   * rank part_rank[k]. Owned by the report. */
  uint64_t (*part_ranges)[2];
  int *part_rank;
} sharc_mpi_report;

#ifndef __cplusplus
#define SHARC_MPI_REPORT_INIT {.size = sizeof(sharc_mpi_report)}
#else /* C++17 has no designated initializers: every field, by position */
#define SHARC_MPI_REPORT_INIT                                                  \
  {sizeof(sharc_mpi_report), NULL, 0, 0, NULL, 0, 0, 0, 0, 0, 0, 0.0, 0.0,     \
   0.0, NULL, NULL, NULL}
#endif

/* Runs kernel over the global index space [0, n) on the pools of every
 * rank of mo->comm and waits for it; collective: every rank calls it with
 * the same kernel, n, reductions (kinds, widths, bins, block) and grain,
 * each with its own pool (arrays, argument bytes and pool size may
 * differ). opts and mo may be NULL (defaults); rep may be NULL, else it is
 * made with SHARC_MPI_REPORT_INIT (another size: SHARC_EINVAL before any
 * communication, so every rank must pass the same kind), filled on every
 * rank (also on failure) and freed with sharc_mpi_report_free().
 * Results: on 0, every rank's reduction results (opts->reduce_out, bins,
 * vector sums and counts, CUSTOM results) hold the whole job's, bit for
 * bit what one sharc_run(pool, kernel, n, opts) would give; on failure
 * they are zeroed as by sharc_run(). Arrays the kernel writes are each
 * rank's own: a rank's arrays hold what its super-chunks wrote (see
 * sharc_mpi_allgather_array() to share them).
 * What 0 proves: every rank's parts succeeded (as sharc_run() proves for
 * a job), and the super-chunks of all ranks cover [0, n) exactly once.
 * Errors, the same on every rank: the first failing rank's code, its
 * message in rep->error naming the rank and the super-chunk (indices in
 * sharc_pool_errmsg() style are counted from the super-chunk's begin);
 * SHARC_EINVAL (a fork-start pool, options that differ between ranks,
 * a journal), SHARC_ECORRUPT (the super-chunks do not cover [0, n) once,
 * or a partial cannot be right), SHARC_EIO (an MPI call failed). A failing
 * rank stops claiming; the others finish the rest of the index space.
 * Blocks; MPI calls in the calling thread only. Not from a forked child. */
SHARC_API int sharc_mpi_run(sharc_pool *pool, const char *kernel, uint64_t n,
                            const sharc_job_opts *opts,
                            const sharc_mpi_opts *mo, sharc_mpi_report *rep);

/* Shares the parts of array a that each rank's super-chunks wrote, after a
 * successful sharc_mpi_run() whose report is rep: a holds e = size / n
 * elements per index (its size must be a multiple of rep->n), index i
 * owning elements [i * e, (i + 1) * e), and every rank ends with every
 * rank's parts (MPI_Allgatherv). The array's size must be the same on
 * every rank. Returns 0, SHARC_EINVAL (a NULL, not a multiple of n, or
 * more than 2 GiB from one rank), SHARC_EIO. Collective over
 * mo->comm, the job's (mo NULL: MPI_COMM_WORLD). Blocks. */
SHARC_API int sharc_mpi_allgather_array(const sharc_mpi_report *rep,
                                        sharc_array *a,
                                        const sharc_mpi_opts *mo);

/* Frees what the report owns and zeroes it. NULL is a no-op. */
SHARC_API void sharc_mpi_report_free(sharc_mpi_report *rep);

/* The combined report as a table for people (totals, then one line per
 * rank), or as one JSON object. Returns 0 or a negated errno. */
SHARC_API int sharc_mpi_report_print(const sharc_mpi_report *rep, FILE *out);
SHARC_API int sharc_mpi_report_json(const sharc_mpi_report *rep, FILE *out);

#ifdef __cplusplus
}
#endif
#endif
