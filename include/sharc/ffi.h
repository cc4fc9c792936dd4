/* sharc: calls for bindings from other languages (Fortran, Python ctypes).
 *
 * Option structs such as sharc_job_opts grow new fields; a binding that
 * mirrored their layout would break when they do. These calls keep the
 * layout on the C side: the struct lives on the heap, initialised as its
 * _INIT macro says, and is set through functions. The Fortran module
 * (fortran/sharc.f90) is built on them. C programs use the structs. */
#ifndef SHARC_FFI_H
#define SHARC_FFI_H

#include "job.h"
#include "pool.h"

#ifdef __cplusplus
extern "C" {
#endif

/* A new sharc_job_opts set to SHARC_JOB_OPTS_INIT, owned by the caller and
 * released with sharc_job_opts_free(), or NULL when out of memory. It
 * keeps its own list of arrays, grown by sharc_job_opts_add_array().
 * Thread-safe. */
SHARC_API sharc_job_opts *sharc_job_opts_new(void);

/* Releases what sharc_job_opts_new() returned, with its list (not the
 * arrays, which belong to their pool). NULL is a no-op. */
SHARC_API void sharc_job_opts_free(sharc_job_opts *o);

/* Appends a to the arrays of o, which must come from sharc_job_opts_new()
 * (options a C program made itself point to its own list: SHARC_EINVAL).
 * The kernel sees it as sharc_task_array(t, i), i being the returned
 * index. Returns the index, or SHARC_EINVAL or SHARC_ERANGE (the list
 * holds SHARC_MAX_JOB_ARRAYS already). Not thread-safe on one o. */
SHARC_API int sharc_job_opts_add_array(sharc_job_opts *o, sharc_array *a);

/* The kernel's argument bytes: args is not copied here (sharc_run() copies
 * it into the workers), so it must stay valid until sharc_run() returns.
 * Returns 0, or SHARC_EINVAL (o is NULL, or args is NULL with len > 0) or
 * SHARC_ERANGE (len > SHARC_MAX_ARGS). */
SHARC_API int sharc_job_opts_set_args(sharc_job_opts *o, const void *args,
                                      size_t len);

/* The schedule, as sharc_schedule_parse() reads it ("auto", "dynamic:64").
 * Returns 0 or SHARC_EINVAL (o unchanged). */
SHARC_API int sharc_job_opts_set_schedule(sharc_job_opts *o, const char *text);

/* sharc_pool_create() with SHARC_POOL_OPTS_INIT but `workers` workers (0:
 * one per usable PU). */
SHARC_API int sharc_pool_create_workers(sharc_pool **out, unsigned workers,
                                        char *msg, size_t msglen);

#ifdef __cplusplus
}
#endif
#endif
