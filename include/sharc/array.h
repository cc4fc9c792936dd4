/* sharc: typed n-d arrays whose payload lives in a shared mapping.
 *
 * An array belongs to a pool: every worker of that pool sees it at the
 * address the worker mapped it, without any copy. Arrays created after the
 * workers started reach them as file descriptors over a Unix socket and are
 * mapped once per worker, before the next job that uses them.
 *
 * Backings:
 *   SHARC_BACKING_ANON  an anonymous memfd: gone when the pool and every
 *                       mapping are gone, even after SIGKILL. The default.
 *   SHARC_BACKING_SHM   named POSIX shared memory ("/sharc-PID-RANDOM"),
 *                       created O_EXCL with mode 0600. It outlives the pool
 *                       until sharc_shm_remove(); other processes attach it
 *                       by name with sharc_array_attach_shm().
 *   SHARC_BACKING_FILE  a file mapped in place: NumPy .npy or raw binary.
 *
 * Space is reserved when an array is created (fallocate), so a full /dev/shm
 * or disk gives SHARC_ENOSPC here rather than SIGBUS in a worker later. On a
 * machine with several NUMA nodes the pages are bound per worker block before
 * they are reserved (see sharc_placement), so reserving does not defeat
 * placement near the worker that owns a range.
 *
 * Thread safety: the functions that make, commit or destroy arrays hold
 * the pool's arrays lock, which the pool's driver thread also takes to
 * start workers and post jobs: they may be called from several threads,
 * also while jobs run. Destroying an array a queued or running job uses is
 * the caller's error. A failing call's message stays in the calling thread
 * (sharc_pool_errmsg() there). Accessors (data, shape, ...) only read the
 * array. None of them may be called from a kernel in a worker. */
#ifndef SHARC_ARRAY_H
#define SHARC_ARRAY_H

#include "common.h"

#ifdef __cplusplus
extern "C" {
#endif

#ifndef SHARC__POOL_TYPEDEF /* C99 and C++98 reject a repeated typedef */
#define SHARC__POOL_TYPEDEF
typedef struct sharc_pool sharc_pool;
#endif
typedef struct sharc_array sharc_array;

/* X(enum suffix, numpy name, numpy kind char, item size) */
#define SHARC_DTYPE_MAP(X)                                                     \
  X(BOOL, "bool", 'b', 1)                                                      \
  X(I8, "int8", 'i', 1)                                                        \
  X(I16, "int16", 'i', 2)                                                      \
  X(I32, "int32", 'i', 4)                                                      \
  X(I64, "int64", 'i', 8)                                                      \
  X(U8, "uint8", 'u', 1)                                                       \
  X(U16, "uint16", 'u', 2)                                                     \
  X(U32, "uint32", 'u', 4)                                                     \
  X(U64, "uint64", 'u', 8)                                                     \
  X(F32, "float32", 'f', 4)                                                    \
  X(F64, "float64", 'f', 8)                                                    \
  X(C64, "complex64", 'c', 8)                                                  \
  X(C128, "complex128", 'c', 16)

typedef enum {
#define SHARC__DT_ENUM(e, name, kind, size) SHARC_##e,
  SHARC_DTYPE_MAP(SHARC__DT_ENUM)
#undef SHARC__DT_ENUM
      SHARC_DTYPE_COUNT
} sharc_dtype;

/* NumPy allows 64 dimensions; so do we. */
#define SHARC_MAX_DIMS 64

/* Size in bytes of one element, or 0 for an invalid dtype. */
SHARC_API size_t sharc_dtype_size(sharc_dtype dt);
/* NumPy's name ("float32"), or NULL for an invalid dtype. Static storage. */
SHARC_API const char *sharc_dtype_name(sharc_dtype dt);
/* Parses a NumPy name ("float32", "f4", "f8", "complex64", "bool", ...).
 * Returns 0 and sets *out, or SHARC_EDTYPE. */
SHARC_API int sharc_dtype_parse(const char *name, sharc_dtype *out);

typedef enum {
  SHARC_BACKING_ANON = 0,
  SHARC_BACKING_SHM = 1,
  SHARC_BACKING_FILE = 2
} sharc_backing;

/* Open flags for file-backed and attached arrays. */
enum {
  SHARC_READ = 1,  /* map read-only (PROT_READ); kernels must not write */
  SHARC_RDWR = 2,  /* map read-write; writes go to the file/object */
  SHARC_CREATE = 4 /* raw files: create (O_EXCL) and size the file */
};

/* Options for sharc_array_create(). size: sizeof(sharc_array_opts), as
 * SHARC_ARRAY_OPTS_INIT sets it (checked: SHARC_EINVAL naming both sizes). */
typedef struct sharc_array_opts {
  size_t size;
  sharc_backing backing; /* SHARC_BACKING_ANON or SHARC_BACKING_SHM */
  int fortran_order;     /* 1: column-major strides */
} sharc_array_opts;
#ifndef __cplusplus
#define SHARC_ARRAY_OPTS_INIT                                                  \
  {.size = sizeof(sharc_array_opts), .backing = SHARC_BACKING_ANON,            \
   .fortran_order = 0}
#else /* C++17 has no designated initializers: the same, by position */
#define SHARC_ARRAY_OPTS_INIT {sizeof(sharc_array_opts), SHARC_BACKING_ANON, 0}
#endif

/* Creates a zero-filled array of the given dtype and shape (ndim 0..64; a
 * 0-d array has one element; any zero extent gives an empty array).
 * opts may be NULL. On success *out is owned by the caller and released by
 * sharc_array_destroy(). Errors: SHARC_EINVAL, SHARC_EOVERFLOW (size does not
 * fit), SHARC_ENOSPC (no room in shared memory), negated errno. */
SHARC_API int sharc_array_create(sharc_pool *pool, sharc_dtype dt, int ndim,
                                 const uint64_t *shape,
                                 const sharc_array_opts *opts,
                                 sharc_array **out);

/* Attaches a named array made by sharc_array_create() with SHARC_BACKING_SHM,
 * possibly by another process. flags: SHARC_READ or SHARC_RDWR. The object
 * must be a regular file (anything else, a FIFO included, is refused
 * without blocking: SHARC_EFORMAT), belong to this user, have mode 0600 and
 * a size that matches its header, or SHARC_EACCES / SHARC_EFORMAT is
 * returned. */
SHARC_API int sharc_array_attach_shm(sharc_pool *pool, const char *name,
                                     int flags, sharc_array **out);

/* Removes a named array's object (shm_unlink). Arrays already mapped stay
 * valid until destroyed. */
SHARC_API int sharc_shm_remove(const char *name);

/* --- stale named objects ------------------------------------------------
 *
 * Every object a pool makes for itself (its control block, anonymous
 * arrays) is a memfd: it disappears with its last mapping, even after
 * SIGKILL, so a dead pool leaves nothing in /dev/shm. What can stay there
 * are named arrays, "/sharc-PID-RANDOM", which outlive their creator by
 * design, and objects whose creator died while making them. A named array
 * records its creator's pid and start time in its header page, so a scan can
 * tell which creators are dead. */

typedef enum {
  /* the creator is alive (or its pid is in use and it cannot be told
   * apart): in use, never removed */
  SHARC_SHM_LIVE = 0,
  /* a complete named array whose creator is dead; other processes may still
   * use it, so only an explicit request removes it */
  SHARC_SHM_STALE = 1,
  /* creation never finished (no valid header) and the creator is dead: a
   * leftover nothing can attach */
  SHARC_SHM_INCOMPLETE = 2
} sharc_shm_state;

/* One object found by sharc_shm_scan(), in a list the library allocates
 * and owns with the names it points to. Later versions may add fields at
 * the end: follow next, never step through entries with sizeof. */
typedef struct sharc_shm_entry {
  struct sharc_shm_entry *next; /* the next by name; NULL after the last */
  const char *name;       /* "/sharc-PID-RANDOM", as sharc_shm_remove takes */
  sharc_shm_state state;
  int64_t creator_pid;    /* from the header, or from the name if none */
  uint64_t size;          /* bytes of the object, its header page included */
  int64_t created;        /* seconds since the epoch; for an incomplete
                             object (or one made by an older sharc) the
                             last modification */
} sharc_shm_entry;

/* Lists the sharc objects in /dev/shm that belong to the calling user (the
 * effective uid), sorted by name. Objects of other users, names that are
 * not sharc's, symbolic links (never followed) and anything but regular
 * files are left out. A creator counts as dead when no process has its pid,
 * when that process is a zombie, or when its start time differs from the
 * one recorded (the pid was reused). A process in another pid namespace
 * sharing /dev/shm cannot be seen: run scans in the namespace of the
 * programs that create named arrays.
 *
 * On success *list is the first entry, sorted by name (NULL when there is
 * none), and *count (if count is not NULL) their number; the list and its
 * names are owned by the caller and released together with
 * sharc_shm_scan_free():
 *   for (sharc_shm_entry *e = list; e != NULL; e = e->next) ...
 * Returns 0 or a negated errno (from opening /dev/shm, or SHARC_ENOMEM;
 * SHARC_EINVAL when list is NULL), *list NULL on error. Reads /proc; does
 * not block otherwise; thread-safe; nothing is kept across fork. */
SHARC_API int sharc_shm_scan(sharc_shm_entry **list, size_t *count);

/* Releases a list sharc_shm_scan() gave, names included. NULL is a no-op. */
SHARC_API void sharc_shm_scan_free(sharc_shm_entry *list);

/* Removes the sharc object name ("/sharc-PID-RANDOM") only if its creator
 * is dead, deciding that again now, as sharc_shm_scan() does: the state a
 * scan returned may be stale by the time of the call. Returns 0 when
 * removed; SHARC_EBUSY when the creator is alive; SHARC_EINVAL for a name
 * that is not sharc's; SHARC_EACCES for an object of another user or one
 * that is not a regular file (a symbolic link is never followed);
 * SHARC_ENOENT when it is gone; another negated errno if unlinking fails.
 * Mappings of it stay valid. Thread-safe. */
SHARC_API int sharc_shm_remove_dead(const char *name);

/* Maps a NumPy .npy file in place (versions 1.0, 2.0, 3.0; C or Fortran
 * order). flags: SHARC_READ or SHARC_RDWR. Malformed files, object or
 * structured dtypes and non-native byte order give SHARC_EFORMAT or
 * SHARC_EDTYPE with a message naming the file and field. A path that is not
 * a regular file gives SHARC_EFORMAT (-EISDIR for a directory); a FIFO is
 * opened without waiting for a writer, then refused. */
SHARC_API int sharc_array_open_npy(sharc_pool *pool, const char *path,
                                   int flags, sharc_array **out);

/* Creates a .npy file for output. The data is written under a temporary name
 * in the same directory, with a zeroed header; sharc_array_commit() writes
 * the header and renames it to path. Destroying an uncommitted array removes
 * the temporary file, and a process killed before the commit leaves no file
 * at path and nothing that parses as .npy. Only nothing or a regular file at
 * path is replaced: a symbolic link gives -ELOOP, a directory -EISDIR, a
 * FIFO, device or socket -EEXIST, here and again at the commit, each with a
 * message naming path, and what is there is left as it is. */
SHARC_API int sharc_array_create_npy(sharc_pool *pool, const char *path,
                                     sharc_dtype dt, int ndim,
                                     const uint64_t *shape, int fortran_order,
                                     sharc_array **out);

/* Makes an output array created by sharc_array_create_npy() visible at its
 * path: flushes the data, writes the header and renames atomically (over
 * nothing or a regular file only, as above). Other arrays: a no-op
 * returning 0. */
SHARC_API int sharc_array_commit(sharc_array *a);

/* Maps a raw binary file as an array of dtype and shape (C order), starting
 * at byte offset (a multiple of the item size). flags: SHARC_READ,
 * SHARC_RDWR, or SHARC_RDWR|SHARC_CREATE to create a new file of exactly the
 * right size (O_EXCL: anything at path, a symbolic link included, gives
 * -EEXIST). A file shorter than offset + size, or a path that is not a
 * regular file (a FIFO is not waited on), gives SHARC_EFORMAT; a directory
 * -EISDIR. */
SHARC_API int sharc_array_open_raw(sharc_pool *pool, const char *path,
                                   int flags, sharc_dtype dt, int ndim,
                                   const uint64_t *shape, uint64_t offset,
                                   sharc_array **out);

/* Unmaps the array in the coordinator and tells the workers to unmap it
 * before their next job. Named objects are not removed (sharc_shm_remove).
 * NULL is a no-op. In a child forked from the pool's creator: unmaps and
 * closes that process's copies only (no message, no file removed). */
SHARC_API void sharc_array_destroy(sharc_array *a);

/* Accessors. Valid until sharc_array_destroy(). */
SHARC_API void *sharc_array_data(const sharc_array *a);
SHARC_API sharc_dtype sharc_array_dtype(const sharc_array *a);
SHARC_API int sharc_array_ndim(const sharc_array *a);
SHARC_API const uint64_t *sharc_array_shape(const sharc_array *a);
/* Byte strides, one per dimension. */
SHARC_API const int64_t *sharc_array_strides(const sharc_array *a);
SHARC_API int sharc_array_fortran_order(const sharc_array *a);
/* Number of elements (1 for 0-d) and payload bytes. */
SHARC_API uint64_t sharc_array_size(const sharc_array *a);
SHARC_API uint64_t sharc_array_nbytes(const sharc_array *a);
SHARC_API sharc_backing sharc_array_backing(const sharc_array *a);
/* The shm name ("/sharc-...") of a named array, else NULL. */
SHARC_API const char *sharc_array_name(const sharc_array *a);

#ifdef __cplusplus
}
#endif
#endif
