/* sharc: kernels and the task handle they receive.
 *
 * A kernel is a C function called in a worker process with an index range
 * [begin, end) of a job; it finds the job's arrays and argument bytes through
 * the task handle. Arrays are already mapped: never copied.
 *
 *   static int triad(const sharc_task *t, uint64_t begin, uint64_t end) {
 *     double *a = sharc_task_array(t, 0);
 *     ...
 *     return 0;               // or a negative code: the job fails
 *   }
 *   SHARC_KERNEL(triad);      // findable by name "triad" in every worker
 *
 * SHARC_KERNEL registers from a constructor, so the object file holding the
 * kernel must be linked into the program. Objects in a static library are
 * kept only when something references them: link kernel libraries whole
 * (-Wl,--whole-archive, or a CMake OBJECT library), or call
 * sharc_kernel_register() yourself before creating the pool.
 *
 * Which kernels a worker knows depends on how it started (sharc/pool.h):
 *   fork:       those registered in the coordinator before the worker
 *               started (before sharc_pool_create() for all of them);
 *   forkserver: those registered before the fork server was made
 *               (sharc_init()): SHARC_KERNEL constructors in the program
 *               and the libraries it links;
 *   spawn:      those the libraries in sharc_pool_opts.kernel_libs and
 *               $SHARC_KERNEL_PATH register when sharc-worker loads them
 *               (build them as shared libraries with SHARC_KERNEL); the
 *               coordinator need not have them.
 * A job naming a kernel its workers cannot know fails with SHARC_ENOKERNEL
 * before it starts, the pool's message naming the kernel and the start
 * method (and for spawn the libraries loaded). */
#ifndef SHARC_KERNEL_H
#define SHARC_KERNEL_H

#include "array.h"

#ifdef __cplusplus
extern "C" {
#endif

#ifndef SHARC__TASK_TYPEDEF /* C99 and C++98 reject a repeated typedef */
#define SHARC__TASK_TYPEDEF
typedef struct sharc_task sharc_task;
#endif

/* Returns 0, or a negative code that fails the job, naming the range. */
typedef int (*sharc_kernel_fn)(const sharc_task *t, uint64_t begin,
                               uint64_t end);

/* Longest kernel name, including the terminating NUL. */
#define SHARC_KERNEL_NAME_MAX 64
/* Most kernels one process can register. */
#define SHARC_KERNELS_MAX 256

/* Registers fn under name (1..63 characters from [A-Za-z0-9_.-]). Registering
 * the same name and function twice is harmless; another function under a
 * taken name gives SHARC_EEXIST. Not thread-safe: call it from constructors
 * or before starting threads. */
SHARC_API int sharc_kernel_register(const char *name, sharc_kernel_fn fn);

/* The kernel registered under name, or NULL. */
SHARC_API sharc_kernel_fn sharc_kernel_find(const char *name);

/* The count of registered kernels and the name of the i-th (registration
 * order), for listings. */
SHARC_API unsigned sharc_kernel_count(void);
SHARC_API const char *sharc_kernel_name(unsigned i);

#define SHARC_KERNEL_NAMED(name, fn)                                           \
  __attribute__((constructor)) static void sharc__register_##fn(void) {        \
    (void)sharc_kernel_register(name, fn);                                     \
  }
#define SHARC_KERNEL(fn) SHARC_KERNEL_NAMED(#fn, fn)

/* --- The task handle: valid only inside the kernel call. ----------------- */

/* The job's i-th array (sharc_job_opts.arrays[i]) as mapped in this
 * worker, or NULL if i is out of range. */
SHARC_API void *sharc_task_array(const sharc_task *t, unsigned i);
/* Elements and bytes of the i-th array (0 if i is out of range). */
SHARC_API uint64_t sharc_task_array_size(const sharc_task *t, unsigned i);
SHARC_API uint64_t sharc_task_array_nbytes(const sharc_task *t, unsigned i);
SHARC_API sharc_dtype sharc_task_array_dtype(const sharc_task *t, unsigned i);
SHARC_API int sharc_task_array_ndim(const sharc_task *t, unsigned i);
SHARC_API const uint64_t *sharc_task_array_shape(const sharc_task *t,
                                                 unsigned i);
SHARC_API unsigned sharc_task_narrays(const sharc_task *t);

/* The job's argument bytes (copied into the control block once per job)
 * and their length. The pointer is 16-byte aligned, so a kernel may read a
 * struct of arguments through it directly. */
SHARC_API const void *sharc_task_args(const sharc_task *t, size_t *len);

/* The job's index count n, this worker's id (0..workers-1), the worker
 * count, and the NUMA node this worker is pinned to (-1 if unknown). */
SHARC_API uint64_t sharc_task_n(const sharc_task *t);
SHARC_API unsigned sharc_task_worker(const sharc_task *t);
SHARC_API unsigned sharc_task_nworkers(const sharc_task *t);
SHARC_API int sharc_task_numa(const sharc_task *t);
/* What this worker's init hook stored in *local (sharc_pool_opts.init), or
 * NULL: per-worker state that lives from the worker's start to its end. */
SHARC_API void *sharc_task_local(const sharc_task *t);

#ifdef __cplusplus
}
#endif
#endif
