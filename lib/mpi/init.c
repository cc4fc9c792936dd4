/* libsharc_mpi: starting MPI after sharc's fork server, and pools that
 * never fork from a process running MPI (sharc/mpi.h). */
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "sharc/mpi.h"

int sharc_mpi_init(int *argc, char ***argv) {
  int inited = 0;
  if (MPI_Initialized(&inited) != MPI_SUCCESS)
    return SHARC_EIO;
  if (inited)
    return SHARC_EINVAL; /* too late to start the fork server safely */
  /* The server is a fork of this process as it is now: single-threaded,
   * no MPI. Workers of forkserver pools are forked from it, not from us. */
  int rc = sharc_init();
  if (rc != 0)
    return rc;
  int provided;
  if (MPI_Init_thread(argc, argv, MPI_THREAD_FUNNELED, &provided) !=
      MPI_SUCCESS)
    return SHARC_EIO;
  return 0;
}

int sharc_mpi_finalize(void) {
  int inited = 0, finalized = 0;
  if (MPI_Initialized(&inited) != MPI_SUCCESS ||
      MPI_Finalized(&finalized) != MPI_SUCCESS)
    return SHARC_EIO;
  if (!inited || finalized)
    return 0;
  return MPI_Finalize() == MPI_SUCCESS ? 0 : SHARC_EIO;
}

static void say(char *msg, size_t len, const char *fmt, ...) {
  if (msg == NULL || len == 0)
    return;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, len, fmt, ap);
  va_end(ap);
}

/* How many ranks of comm share this node. */
static int ranks_here(MPI_Comm comm, int *local) {
  MPI_Comm node;
  if (MPI_Comm_split_type(comm, MPI_COMM_TYPE_SHARED, 0, MPI_INFO_NULL,
                          &node) != MPI_SUCCESS)
    return SHARC_EIO;
  int rc = MPI_Comm_size(node, local) == MPI_SUCCESS ? 0 : SHARC_EIO;
  MPI_Comm_free(&node);
  return rc;
}

int sharc_mpi_pool_create(sharc_pool **out, const sharc_pool_opts *opts,
                          const sharc_mpi_opts *mo, char *msg, size_t msglen) {
  static const sharc_pool_opts defaults = SHARC_POOL_OPTS_INIT;
  if (out == NULL)
    return SHARC_EINVAL;
  *out = NULL;
  MPI_Comm comm = mo != NULL && mo->size == sizeof *mo &&
                          mo->comm != MPI_COMM_NULL
                      ? mo->comm
                      : MPI_COMM_WORLD;
  int local = 1;
  /* Collective: every rank gets here, also one about to refuse. */
  int rc = ranks_here(comm, &local);
  if (rc != 0) {
    say(msg, msglen, "MPI_Comm_split_type failed");
    return rc;
  }
  sharc_pool_opts po = opts != NULL ? *opts : defaults;
  if (opts == NULL)
    po.start = SHARC_START_FORKSERVER;
  if (po.start == SHARC_START_FORK) {
    say(msg, msglen,
        "a pool that forks its workers from an MPI process is refused: use "
        "SHARC_START_FORKSERVER (after sharc_mpi_init()) or "
        "SHARC_START_SPAWN");
    return SHARC_EINVAL;
  }
  cpu_set_t set;
  long online = sysconf(_SC_NPROCESSORS_ONLN);
  int allowed = sched_getaffinity(0, sizeof set, &set) == 0 ? CPU_COUNT(&set)
                                                            : (int)online;
  /* A launcher that bound this rank gave it PUs of its own; otherwise
   * every rank here would plan, and pin to, the same PUs. */
  int bound = online > 0 && allowed < online;
  const char *env = getenv("SHARC_WORKERS");
  if (po.workers == 0 && (env == NULL || *env == '\0')) {
    int w = bound ? allowed : allowed / (local > 0 ? local : 1);
    po.workers = w > 0 ? (unsigned)w : 1;
  }
  if (!bound && local > 1)
    po.pin = 0;
  return sharc_pool_create(out, &po, msg, msglen);
}
