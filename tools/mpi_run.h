/* sharc run under an MPI launcher (mpirun -np N sharc run KERNEL ...): one
 * pool per rank, the index space claimed across ranks, one combined result
 * and report, printed by rank 0. The tool does not link MPI: it loads
 * libsharc_mpi (and through it MPI) with dlopen only when the environment
 * says an MPI launcher started it, so `sharc` runs on machines without MPI.
 * Built without MPI, these say "not launched" and do nothing. */
#ifndef SHARC_TOOLS_MPI_RUN_H
#define SHARC_TOOLS_MPI_RUN_H

#include <sharc.h>

#include "apps.h"

/* 1 when an MPI launcher started this process ($OMPI_COMM_WORLD_SIZE,
 * $PMI_SIZE or $PMIX_RANK set) and $SHARC_NO_MPI is not 1. */
int tool_mpi_launched(void);

/* Loads libsharc_mpi ($SHARC_MPI_LIB, else libsharc_mpi.so.MAJOR beside
 * libsharc) and starts MPI after sharc's fork server (sharc_mpi_init);
 * workers then start from the fork server (start "fork", given or from
 * $SHARC_START, is refused). `unsupported` names an option the MPI run
 * does not take, or is NULL. Returns 0 or the tool's exit status. */
int tool_mpi_start(const char *cmd, const char *start, const char *unsupported,
                   sharc_pool_opts *po);

/* 1 after tool_mpi_start() succeeded. */
int tool_mpi_active(void);

/* sharc_mpi_pool_create(): workers divided among the ranks on a node. */
int tool_mpi_pool_create(sharc_pool **pool, const sharc_pool_opts *po,
                         char *msg, size_t msglen);

/* Runs the app's job across the ranks, shares its output array (array 0,
 * when it holds a whole number of bytes per index), and on rank 0 prints
 * the result (verified with --verify) and the combined report, as text or
 * JSON. Returns the tool's exit status, the same on every rank. */
int tool_mpi_run(const char *cmd, sharc_pool *pool, const sharc_app *app,
                 void *state, uint64_t n, const sharc_job_opts *o, int json,
                 int verify);

/* MPI_Finalize, after the pool is gone. */
void tool_mpi_end(void);

#endif
