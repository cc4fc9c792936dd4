/* Arrays: shared mappings (memfd, named shm, files) and their hand-over to
 * workers. */
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "inject.h"
#include "internal.h"
#include "npy.h"
#include "paths.h"
#include "shm.h"

#define SHM_HDR_LEN SHARC__SHM_HDR_LEN
#define SHM_MAGIC SHARC__SHM_MAGIC
typedef sharc__shm_header shm_header;

static uint64_t page_size(void) { return (uint64_t)sysconf(_SC_PAGESIZE); }

static uint64_t round_up(uint64_t v, uint64_t to) {
  return (v + to - 1) / to * to;
}

/* Fills dtype, shape, strides, size and nbytes; checks for overflow. */
static int set_layout(sharc_pool *pool, sharc_array *a, sharc_dtype dt,
                      int ndim, const uint64_t *shape, int fortran_order) {
  size_t item = sharc_dtype_size(dt);
  if (item == 0)
    return sharc__fail(pool, SHARC_EDTYPE, "invalid dtype %d", (int)dt);
  if (ndim < 0 || ndim > SHARC_MAX_DIMS || (ndim > 0 && shape == NULL))
    return sharc__fail(pool, SHARC_EINVAL, "ndim %d is out of range 0..%d",
                       ndim, SHARC_MAX_DIMS);
  uint64_t size = 1;
  int overflow = 0;
  for (int d = 0; d < ndim; d++) {
    overflow |= __builtin_mul_overflow(size, shape[d], &size);
    a->shape[d] = shape[d];
  }
  uint64_t nbytes;
  overflow |= __builtin_mul_overflow(size, (uint64_t)item, &nbytes);
  if (overflow || nbytes > (uint64_t)INT64_MAX - 2 * page_size())
    return sharc__fail(pool, SHARC_EOVERFLOW,
                       "shape's byte size overflows (dimension product times "
                       "%zu bytes)", item);
  a->dtype = dt;
  a->ndim = ndim;
  a->fortran_order = fortran_order ? 1 : 0;
  a->size = size;
  a->nbytes = nbytes;
  int64_t stride = (int64_t)item;
  for (int i = 0; i < ndim; i++) {
    int d = fortran_order ? i : ndim - 1 - i;
    a->strides[d] = stride;
    stride *= (int64_t)(shape[d] ? shape[d] : 1);
  }
  return 0;
}

/* A new array, or NULL when calloc fails. */
static sharc_array *array_new(sharc_pool *pool) {
  sharc_array *a =
      sharc__inject("calloc", ENOMEM) ? NULL : calloc(1, sizeof *a);
  if (a == NULL)
    return NULL;
  a->known = sharc__inject("calloc", ENOMEM)
                 ? NULL
                 : calloc(pool->nworkers ? pool->nworkers : 1, 1);
  if (a->known == NULL) {
    free(a);
    return NULL;
  }
  a->pool = pool;
  a->fd = -1;
  a->base = MAP_FAILED;
  a->npy_hdr_len = -1;
  return a;
}

static void array_free(sharc_array *a) {
  if (a->base != MAP_FAILED)
    munmap(a->base, a->map_len);
  if (a->fd >= 0)
    close(a->fd);
  if (a->tmp_path != NULL && !sharc__pool_foreign(a->pool))
    unlink(a->tmp_path); /* the creator's to commit or remove */
  free(a->known);
  free(a->name);
  free(a->path);
  free(a->tmp_path);
  free(a);
}

/* The array joins the pool: workers started from now on inherit it; the
 * ones running get it over their socket before the next job using it. */
static int array_publish(sharc_array *a, sharc_array **out) {
  sharc_pool *pool = a->pool;
  a->id = pool->next_array_id++;
  a->next = pool->arrays;
  pool->arrays = a;
  *out = a;
  return 0;
}

static int map_fd(sharc_array *a, uint64_t len) {
  a->map_len = len;
  a->base = sharc__inject("mmap", ENOMEM)
                ? MAP_FAILED
                : mmap(NULL, len, a->prot, MAP_SHARED, a->fd, 0);
  if (a->base == MAP_FAILED)
    return -errno;
  return 0;
}

/* Reserves [0, len) of a->fd so that touching the pages later cannot raise
 * SIGBUS. Pages are bound to their workers' NUMA nodes first, so the
 * reservation (which allocates tmpfs pages) places them as first touch by
 * their owners would. */
static int reserve(sharc_array *a, const char *what, uint64_t len) {
  sharc__place_pages(a->pool, a->base, len);
  int rc = sharc__inject("posix_fallocate", ENOSPC)
               ? ENOSPC
               : posix_fallocate(a->fd, 0, (off_t)len);
  if (rc == 0)
    return 0;
  return sharc__fail(a->pool, -rc,
                     "%s: cannot reserve %llu bytes (posix_fallocate): %s",
                     what, (unsigned long long)len, strerror(rc));
}

/* A new array around an open descriptor. On failure fd is closed and the
 * pool's message says why. */
static int array_from_fd(sharc_pool *pool, int fd, sharc_backing backing,
                         int rw, sharc_array **out) {
  sharc_array *a = array_new(pool);
  if (a == NULL) {
    close(fd);
    return sharc__fail(pool, SHARC_ENOMEM, "calloc of an array record failed");
  }
  a->fd = fd;
  a->backing = backing;
  a->prot = PROT_READ | (rw ? PROT_WRITE : 0);
  *out = a;
  return 0;
}

static int check_pool(sharc_pool *pool, sharc_array **out) {
  if (out != NULL)
    *out = NULL;
  if (pool == NULL || out == NULL)
    return SHARC_EINVAL;
  return 0;
}

/* The public array functions run with the arrays lock held and keep their
 * message in the calling thread (internal.h): another thread of the
 * program, or the pool's driver, may be running a job meanwhile. A forked
 * child takes no lock (a thread it does not have may hold it). */
static void calls_enter(sharc_pool *pool) {
  if (!sharc__pool_foreign(pool))
    sharc__arrays_lock(pool);
  sharc__own_msg_enter(pool);
}

static int calls_leave(sharc_pool *pool, int rc) {
  sharc__own_msg_leave();
  if (!sharc__pool_foreign(pool))
    sharc__arrays_unlock(pool);
  return rc;
}

/* MemAvailable from /proc/meminfo in bytes, or UINT64_MAX if unknown. */
static uint64_t mem_available(void) {
  FILE *f = sharc__inject("open /proc/meminfo", EMFILE)
                ? NULL
                : fopen("/proc/meminfo", "re");
  if (f == NULL)
    return UINT64_MAX;
  char line[256];
  unsigned long long kb = 0;
  int found = 0;
  while (!found && fgets(line, sizeof line, f) != NULL)
    found = sscanf(line, "MemAvailable: %llu kB", &kb) == 1;
  fclose(f);
  return found ? (uint64_t)kb * 1024 : UINT64_MAX;
}

static int create_anon(sharc_array *a) {
  /* A memfd has no size limit of its own: reserving more than the machine
   * can give would wake the OOM killer instead of failing, so refuse first. */
  uint64_t avail = mem_available();
  if (a->nbytes > avail)
    return sharc__fail(a->pool, SHARC_ENOMEM,
                       "array of %llu bytes does not fit: %llu bytes of memory "
                       "available", (unsigned long long)a->nbytes,
                       (unsigned long long)avail);
  a->fd = sharc__inject("memfd_create", EMFILE)
              ? -1
              : memfd_create("sharc-array", MFD_CLOEXEC);
  if (a->fd < 0)
    return sharc__fail(a->pool, -errno, "memfd_create: %s", strerror(errno));
  uint64_t len = round_up(a->nbytes ? a->nbytes : 1, page_size());
  if (sharc__inject("ftruncate", ENOMEM) || ftruncate(a->fd, (off_t)len) != 0)
    return sharc__fail(a->pool, -errno, "array of %llu bytes: ftruncate: %s",
                       (unsigned long long)a->nbytes, strerror(errno));
  int rc = map_fd(a, len);
  if (rc != 0)
    return sharc__fail(a->pool, rc, "mmap of %llu bytes: %s",
                       (unsigned long long)len, strerror(-rc));
  return reserve(a, "anonymous array", len);
}

static int random_name(char *buf, size_t len) {
  uint64_t r;
  if (getrandom(&r, sizeof r, 0) != (ssize_t)sizeof r)
    return -errno;
  snprintf(buf, len, "/sharc-%ld-%016llx", (long)getpid(),
           (unsigned long long)r);
  return 0;
}

static int create_shm(sharc_array *a) {
  char name[64];
  int rc = random_name(name, sizeof name);
  if (rc != 0)
    return sharc__fail(a->pool, rc, "getrandom: %s", strerror(-rc));
  a->fd = sharc__inject("shm_open", EMFILE)
              ? -1
              : shm_open(name, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (a->fd < 0)
    return sharc__fail(a->pool, -errno, "shm_open %s: %s", name,
                       strerror(errno));
  a->name = sharc__inject("strdup", ENOMEM) ? NULL : strdup(name);
  uint64_t len = SHM_HDR_LEN + round_up(a->nbytes, page_size());
  const char *op = a->name == NULL ? "strdup" : "fchmod";
  rc = a->name == NULL ? SHARC_ENOMEM : fchmod(a->fd, 0600) != 0 ? -errno : 0;
  if (rc == 0) {
    op = "ftruncate";
    if (sharc__inject(op, ENOMEM) || ftruncate(a->fd, (off_t)len) != 0)
      rc = -errno;
  }
  if (rc != 0) {
    shm_unlink(name);
    return sharc__fail(a->pool, rc, "%s: %s: %s", name, op, strerror(-rc));
  }
  rc = map_fd(a, len);
  if (rc != 0)
    sharc__fail(a->pool, rc, "%s: mmap: %s", name, strerror(-rc));
  else
    rc = reserve(a, name, len);
  if (rc != 0) {
    shm_unlink(name);
    return rc;
  }
  shm_header *h = a->base;
  h->version = 1;
  h->dtype = (uint32_t)a->dtype;
  h->ndim = (uint32_t)a->ndim;
  h->fortran_order = (uint32_t)a->fortran_order;
  h->nbytes = a->nbytes;
  h->creator_pid = getpid();
  memcpy(h->shape, a->shape, sizeof h->shape);
  /* With the pid, the start time tells a dead creator from an unrelated
   * process that got its pid later (sharc_shm_scan). 0: unknown. */
  int zombie;
  if (sharc__proc_start(getpid(), &h->creator_start, &zombie) != 0)
    h->creator_start = 0;
  h->created = (int64_t)time(NULL);
  /* The magic last: an object whose creator died before this line has none
   * and is known as a leftover of an unfinished creation. */
  atomic_signal_fence(memory_order_seq_cst);
  memcpy(h->magic, SHM_MAGIC, 8);
  a->data_off = SHM_HDR_LEN;
  return 0;
}

static int array_create_(sharc_pool *pool, sharc_dtype dt, int ndim,
                         const uint64_t *shape, const sharc_array_opts *opts,
                         sharc_array **out) {
  int rc = check_pool(pool, out);
  if (rc != 0)
    return rc;
  sharc_array_opts o = SHARC_ARRAY_OPTS_INIT;
  if (opts != NULL && opts->size != sizeof *opts)
    return sharc__bad_size(pool, "array options", "sharc_array_opts",
                           "SHARC_ARRAY_OPTS_INIT", opts->size);
  if (opts != NULL)
    o = *opts;
  if (o.backing != SHARC_BACKING_ANON && o.backing != SHARC_BACKING_SHM)
    return sharc__fail(pool, SHARC_EINVAL,
                       "sharc_array_create: backing must be ANON or SHM; "
                       "files are opened with sharc_array_open_npy/raw");
  sharc_array *a = array_new(pool);
  if (a == NULL)
    return sharc__fail(pool, SHARC_ENOMEM, "calloc of an array record failed");
  a->backing = o.backing;
  a->prot = PROT_READ | PROT_WRITE;
  rc = set_layout(pool, a, dt, ndim, shape, o.fortran_order);
  if (rc == 0)
    rc = o.backing == SHARC_BACKING_ANON ? create_anon(a) : create_shm(a);
  if (rc != 0) {
    array_free(a);
    return rc;
  }
  return array_publish(a, out);
}

static int validate_shm(sharc_pool *pool, const char *name,
                        const struct stat *st, const shm_header *h) {
  if (st->st_uid != geteuid())
    return sharc__fail(pool, SHARC_EACCES,
                       "%s: owned by uid %u, not by this user (%u)", name,
                       (unsigned)st->st_uid, (unsigned)geteuid());
  if ((st->st_mode & 0777) != 0600)
    return sharc__fail(pool, SHARC_EACCES,
                       "%s: mode %03o, expected 0600: refusing a shared "
                       "object others can open", name,
                       (unsigned)(st->st_mode & 0777));
  if (memcmp(h->magic, SHM_MAGIC, 8) != 0 || h->version != 1)
    return sharc__fail(pool, SHARC_EFORMAT,
                       "%s: not a sharc array (bad magic or version)", name);
  if (h->dtype >= SHARC_DTYPE_COUNT || h->ndim > SHARC_MAX_DIMS)
    return sharc__fail(pool, SHARC_EFORMAT,
                       "%s: header field %s out of range", name,
                       h->dtype >= SHARC_DTYPE_COUNT ? "dtype" : "ndim");
  return 0;
}

static int array_attach_shm_(sharc_pool *pool, const char *name, int flags,
                             sharc_array **out) {
  int rc = check_pool(pool, out);
  if (rc != 0)
    return rc;
  if (name == NULL || name[0] != '/' || (flags & ~(SHARC_READ | SHARC_RDWR)) ||
      !(flags & (SHARC_READ | SHARC_RDWR)))
    return sharc__fail(pool, SHARC_EINVAL,
                       "attach: need a name starting with '/' and flags "
                       "SHARC_READ or SHARC_RDWR");
  int rw = (flags & SHARC_RDWR) != 0;
  /* O_NONBLOCK: a FIFO put in /dev/shm under that name must not block the
   * open (glibc's shm_open passes the flag on to open). */
  int fd = shm_open(name, (rw ? O_RDWR : O_RDONLY) | O_NONBLOCK | O_CLOEXEC, 0);
  if (fd < 0)
    return sharc__fail(pool, -errno, "%s: %s", name, strerror(errno));
  struct stat st;
  shm_header h;
  rc = sharc__check_regular(fd, name, sharc__msgbuf(pool), SHARC__MSG_LEN);
  if (rc == 0 &&
      (fstat(fd, &st) != 0 || pread(fd, &h, sizeof h, 0) != (ssize_t)sizeof h))
    rc = sharc__fail(pool, SHARC_EFORMAT,
                     "%s: too short for a sharc array header", name);
  if (rc == 0)
    rc = validate_shm(pool, name, &st, &h);
  if (rc != 0) {
    close(fd);
    return rc;
  }
  sharc_array *a = NULL;
  if ((rc = array_from_fd(pool, fd, SHARC_BACKING_SHM, rw, &a)) != 0)
    return rc;
  rc = set_layout(pool, a, (sharc_dtype)h.dtype, (int)h.ndim, h.shape,
                  (int)h.fortran_order);
  uint64_t len = SHM_HDR_LEN + round_up(a->nbytes, page_size());
  if (rc == 0 && (a->nbytes != h.nbytes || (uint64_t)st.st_size != len))
    rc = sharc__fail(pool, SHARC_EFORMAT,
                     "%s: object is %lld bytes, its header says %llu",
                     name, (long long)st.st_size, (unsigned long long)len);
  if (rc == 0 && (rc = map_fd(a, len)) != 0)
    sharc__fail(pool, rc, "%s: mmap: %s", name, strerror(-rc));
  if (rc == 0)
    a->name = strdup(name);
  if (rc == 0 && a->name == NULL)
    rc = SHARC_ENOMEM;
  if (rc != 0) {
    array_free(a);
    return rc;
  }
  a->data_off = SHM_HDR_LEN;
  return array_publish(a, out);
}

int sharc_shm_remove(const char *name) {
  if (name == NULL || name[0] != '/')
    return SHARC_EINVAL;
  return shm_unlink(name) == 0 ? 0 : -errno;
}

static int array_open_npy_(sharc_pool *pool, const char *path, int flags,
                           sharc_array **out) {
  int rc = check_pool(pool, out);
  if (rc != 0)
    return rc;
  if (path == NULL || (flags != SHARC_READ && flags != SHARC_RDWR))
    return sharc__fail(pool, SHARC_EINVAL,
                       "open_npy: flags must be SHARC_READ or SHARC_RDWR");
  int rw = flags == SHARC_RDWR;
  int fd = sharc__open_regular(path, rw ? O_RDWR : O_RDONLY,
                               sharc__msgbuf(pool), SHARC__MSG_LEN);
  if (fd < 0)
    return fd;
  sharc__npy_meta info;
  rc = sharc__npy_read_fd(fd, path, &info, sharc__msgbuf(pool), SHARC__MSG_LEN);
  if (rc == 0 && !info.mappable)
    rc = info.why_not ? info.why_not : SHARC_EDTYPE;
  if (rc != 0) {
    close(fd);
    return rc;
  }
  sharc_array *a = NULL;
  if ((rc = array_from_fd(pool, fd, SHARC_BACKING_FILE, rw, &a)) != 0)
    return rc;
  a->data_off = info.data_offset;
  rc = set_layout(pool, a, info.dtype, info.ndim, info.shape,
                  info.fortran_order);
  if (rc == 0 && (rc = map_fd(a, info.file_size)) != 0)
    sharc__fail(pool, rc, "%s: mmap: %s", path, strerror(-rc));
  if (rc == 0 && (a->path = strdup(path)) == NULL)
    rc = SHARC_ENOMEM;
  if (rc != 0) {
    array_free(a);
    return rc;
  }
  return array_publish(a, out);
}

/* The output's temporary file, after checking that what is at path (if
 * anything) may be replaced: refused now rather than after the job. */
static int create_tmp_file(sharc_array *a, const char *path) {
  sharc_pool *pool = a->pool;
  a->path = strdup(path);
  if (a->path == NULL)
    return sharc__fail(pool, SHARC_ENOMEM, "out of memory");
  int rc = sharc__out_check(path, sharc__msgbuf(pool), SHARC__MSG_LEN);
  if (rc != 0)
    return rc;
  a->fd =
      sharc__out_tmp(path, &a->tmp_path, sharc__msgbuf(pool), SHARC__MSG_LEN);
  return a->fd < 0 ? a->fd : 0;
}

static int array_create_npy_(sharc_pool *pool, const char *path, sharc_dtype dt,
                             int ndim, const uint64_t *shape, int fortran_order,
                             sharc_array **out) {
  int rc = check_pool(pool, out);
  if (rc != 0)
    return rc;
  if (path == NULL)
    return sharc__fail(pool, SHARC_EINVAL, "create_npy: path is NULL");
  sharc_array *a = array_new(pool);
  if (a == NULL)
    return sharc__fail(pool, SHARC_ENOMEM, "calloc of an array record failed");
  a->backing = SHARC_BACKING_FILE;
  a->prot = PROT_READ | PROT_WRITE;
  rc = set_layout(pool, a, dt, ndim, shape, fortran_order);
  long hdr = rc == 0 ? sharc__npy_format_header(dt, fortran_order, ndim, shape,
                                                NULL, 0)
                     : 0;
  if (rc == 0 && hdr < 0)
    rc = sharc__fail(pool, (int)hdr, "%s: cannot format a .npy header", path);
  if (rc == 0)
    rc = create_tmp_file(a, path);
  uint64_t len = (uint64_t)hdr + a->nbytes;
  if (rc == 0 && (rc = -posix_fallocate(a->fd, 0, (off_t)len)) != 0)
    sharc__fail(pool, rc, "%s: cannot reserve %llu bytes: %s", path,
                (unsigned long long)len, strerror(-rc));
  if (rc == 0 && (rc = map_fd(a, len)) != 0)
    sharc__fail(pool, rc, "%s: mmap: %s", path, strerror(-rc));
  if (rc != 0) {
    array_free(a);
    return rc;
  }
  a->npy_hdr_len = hdr;
  a->data_off = (uint64_t)hdr;
  return array_publish(a, out);
}

static int array_commit_(sharc_array *a) {
  if (a == NULL)
    return SHARC_EINVAL;
  if (a->tmp_path == NULL)
    return 0;
  sharc_pool *pool = a->pool;
  char hdr[4096 + 64 * 24];
  long len = sharc__npy_format_header(a->dtype, a->fortran_order, a->ndim,
                                      a->shape, hdr, sizeof hdr);
  if (len != a->npy_hdr_len)
    return sharc__fail(pool, SHARC_EINVAL, "%s: header length changed",
                       a->path);
  /* Data first, then the header, then the name: until the rename nothing is
   * at path, and the temporary file has no valid header until its data is
   * on disk. */
  if (fdatasync(a->fd) != 0 || pwrite(a->fd, hdr, (size_t)len, 0) != len ||
      fdatasync(a->fd) != 0)
    return sharc__fail(pool, -errno, "%s: writing: %s", a->tmp_path,
                       strerror(errno));
  int rc = sharc__out_install(a->tmp_path, a->path, sharc__msgbuf(pool),
                              SHARC__MSG_LEN);
  if (rc != 0)
    return rc;
  free(a->tmp_path);
  a->tmp_path = NULL;
  return 0;
}

static int open_raw_fd(sharc_array *a, const char *path, int flags,
                       uint64_t need) {
  sharc_pool *pool = a->pool;
  int create = (flags & SHARC_CREATE) != 0;
  int oflags = (flags & SHARC_RDWR) ? O_RDWR : O_RDONLY;
  /* O_EXCL makes a new file or fails, whatever is at path (a symbolic link
   * included); an existing file must be a regular one, and opening it must
   * not block (a FIFO). */
  if (create)
    a->fd = open(path, oflags | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
  else
    a->fd =
        sharc__open_regular(path, oflags, sharc__msgbuf(pool), SHARC__MSG_LEN);
  if (a->fd < 0 && !create) {
    int rc = a->fd;
    a->fd = -1;
    return rc;
  }
  if (a->fd < 0)
    return sharc__fail(pool, -errno, "%s: %s", path, strerror(errno));
  if (create) {
    int rc = need ? posix_fallocate(a->fd, 0, (off_t)need) : 0;
    if (rc != 0) {
      unlink(path);
      return sharc__fail(pool, -rc, "%s: cannot reserve %llu bytes: %s", path,
                         (unsigned long long)need, strerror(rc));
    }
  }
  struct stat st;
  if (fstat(a->fd, &st) != 0)
    return sharc__fail(pool, -errno, "%s: %s", path, strerror(errno));
  if (!S_ISREG(st.st_mode))
    return sharc__fail(pool, SHARC_EFORMAT, "%s: not a regular file", path);
  if ((uint64_t)st.st_size < need)
    return sharc__fail(pool, SHARC_EFORMAT,
                       "%s: file is %lld bytes, but dtype and shape need %llu "
                       "(with the offset)", path, (long long)st.st_size,
                       (unsigned long long)need);
  return 0;
}

static int array_open_raw_(sharc_pool *pool, const char *path, int flags,
                           sharc_dtype dt, int ndim, const uint64_t *shape,
                           uint64_t offset, sharc_array **out) {
  int rc = check_pool(pool, out);
  if (rc != 0)
    return rc;
  int rw = (flags & SHARC_RDWR) != 0;
  if (path == NULL || (flags & ~(SHARC_READ | SHARC_RDWR | SHARC_CREATE)) ||
      rw == ((flags & SHARC_READ) != 0) || ((flags & SHARC_CREATE) && !rw))
    return sharc__fail(pool, SHARC_EINVAL,
                       "open_raw: flags must be SHARC_READ, SHARC_RDWR or "
                       "SHARC_RDWR|SHARC_CREATE");
  sharc_array *a = array_new(pool);
  if (a == NULL)
    return sharc__fail(pool, SHARC_ENOMEM, "calloc of an array record failed");
  a->backing = SHARC_BACKING_FILE;
  a->prot = PROT_READ | (rw ? PROT_WRITE : 0);
  rc = set_layout(pool, a, dt, ndim, shape, 0);
  size_t item = sharc_dtype_size(dt);
  if (rc == 0 && (offset % item != 0 || offset > (uint64_t)INT64_MAX / 2))
    rc = sharc__fail(pool, SHARC_EINVAL,
                     "%s: offset %llu is not a multiple of the item size %zu",
                     path, (unsigned long long)offset, item);
  uint64_t need = offset + a->nbytes;
  if (rc == 0)
    rc = open_raw_fd(a, path, flags, need);
  /* An empty file cannot be mapped; map one page of it (size 0 reads as
   * zeros up to the page end, and no kernel touches an empty array). */
  if (rc == 0 && (rc = map_fd(a, need ? need : page_size())) != 0)
    sharc__fail(pool, rc, "%s: mmap: %s", path, strerror(-rc));
  if (rc == 0 && (a->path = strdup(path)) == NULL)
    rc = SHARC_ENOMEM;
  if (rc != 0) {
    array_free(a);
    return rc;
  }
  a->data_off = offset;
  return array_publish(a, out);
}

static int send_msg(int sock, const sharc__msg *msg, int fd) {
  char ctl[CMSG_SPACE(sizeof(int))];
  struct iovec iov = {(void *)msg, sizeof *msg};
  struct msghdr mh = {0};
  mh.msg_iov = &iov;
  mh.msg_iovlen = 1;
  if (fd >= 0) {
    memset(ctl, 0, sizeof ctl);
    mh.msg_control = ctl;
    mh.msg_controllen = sizeof ctl;
    struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int));
    memcpy(CMSG_DATA(c), &fd, sizeof(int));
  }
  ssize_t sent = sendmsg(sock, &mh, MSG_NOSIGNAL);
  return sent == (ssize_t)sizeof *msg ? 0 : -errno;
}

int sharc__array_send(sharc_pool *pool, sharc_array *a, unsigned w) {
  sharc__msg msg;
  memset(&msg, 0, sizeof msg);
  msg.op = SHARC__MSG_MAP;
  msg.id = a->id;
  msg.prot = a->worker_ro ? PROT_READ : a->prot;
  msg.ndim = a->ndim;
  msg.dtype = (int32_t)a->dtype;
  msg.map_len = a->map_len;
  msg.data_off = a->data_off;
  msg.nbytes = a->nbytes;
  msg.size = a->size;
  memcpy(msg.shape, a->shape, sizeof msg.shape);
  sharc__arrays_lock(pool);
  int rc = send_msg(pool->w[w].sock, &msg, a->fd);
  if (rc == 0) {
    pool->mail = 1;
    a->known[w] = 1;
  }
  sharc__arrays_unlock(pool);
  if (rc != 0)
    return sharc__fail(pool, rc, "sending array %u to worker %u: %s", a->id, w,
                       strerror(-rc));
  return 0;
}

void sharc__arrays_inherited(sharc_pool *pool, unsigned w) {
  sharc__arrays_lock(pool);
  for (sharc_array *a = pool->arrays; a != NULL; a = a->next)
    a->known[w] = 1;
  sharc__arrays_unlock(pool);
}

void sharc__wmap_from_array(const sharc_array *a, sharc__wmap *m) {
  m->id = a->id;
  m->ndim = a->ndim;
  m->dtype = a->dtype;
  m->base = a->base;
  m->map_len = a->map_len;
  m->data = (char *)a->base + a->data_off;
  m->nbytes = a->nbytes;
  m->size = a->size;
  memcpy(m->shape, a->shape, sizeof m->shape);
  m->ro = !(a->prot & PROT_WRITE) || a->worker_ro;
}

static void array_destroy_(sharc_array *a) {
  sharc_pool *pool = a->pool;
  sharc__msg msg;
  memset(&msg, 0, sizeof msg);
  msg.op = SHARC__MSG_DROP;
  msg.id = a->id;
  /* Best effort: a worker that misses it keeps a stale mapping (address
   * space only) until it is replaced. */
  for (unsigned w = 0; !sharc__pool_foreign(pool) && w < pool->nworkers;
       w++) {
    if (a->known[w] && pool->w != NULL && pool->w[w].sock >= 0)
      pool->mail |= send_msg(pool->w[w].sock, &msg, -1) == 0;
  }
  for (sharc_array **p = &pool->arrays; *p != NULL; p = &(*p)->next) {
    if (*p == a) {
      *p = a->next;
      break;
    }
  }
  array_free(a);
}

/* --- the public calls: locked, messages in the calling thread ---------- */

int sharc_array_create(sharc_pool *pool, sharc_dtype dt, int ndim,
                       const uint64_t *shape, const sharc_array_opts *opts,
                       sharc_array **out) {
  if (pool == NULL)
    return check_pool(pool, out);
  calls_enter(pool);
  return calls_leave(pool, array_create_(pool, dt, ndim, shape, opts, out));
}

int sharc__array_create(sharc_pool *pool, sharc_dtype dt, int ndim,
                        const uint64_t *shape, sharc_array **out) {
  sharc__arrays_lock(pool);
  int rc = array_create_(pool, dt, ndim, shape, NULL, out);
  sharc__arrays_unlock(pool);
  return rc;
}

int sharc_array_attach_shm(sharc_pool *pool, const char *name, int flags,
                           sharc_array **out) {
  if (pool == NULL)
    return check_pool(pool, out);
  calls_enter(pool);
  return calls_leave(pool, array_attach_shm_(pool, name, flags, out));
}

int sharc_array_open_npy(sharc_pool *pool, const char *path, int flags,
                         sharc_array **out) {
  if (pool == NULL)
    return check_pool(pool, out);
  calls_enter(pool);
  return calls_leave(pool, array_open_npy_(pool, path, flags, out));
}

int sharc_array_create_npy(sharc_pool *pool, const char *path, sharc_dtype dt,
                           int ndim, const uint64_t *shape, int fortran_order,
                           sharc_array **out) {
  if (pool == NULL)
    return check_pool(pool, out);
  calls_enter(pool);
  return calls_leave(
      pool, array_create_npy_(pool, path, dt, ndim, shape, fortran_order, out));
}

int sharc_array_open_raw(sharc_pool *pool, const char *path, int flags,
                         sharc_dtype dt, int ndim, const uint64_t *shape,
                         uint64_t offset, sharc_array **out) {
  if (pool == NULL)
    return check_pool(pool, out);
  calls_enter(pool);
  return calls_leave(
      pool, array_open_raw_(pool, path, flags, dt, ndim, shape, offset, out));
}

int sharc_array_commit(sharc_array *a) {
  if (a == NULL)
    return SHARC_EINVAL;
  calls_enter(a->pool);
  return calls_leave(a->pool, array_commit_(a));
}

void sharc_array_destroy(sharc_array *a) {
  if (a == NULL)
    return;
  sharc_pool *pool = a->pool;
  int foreign = sharc__pool_foreign(pool);
  if (!foreign)
    sharc__arrays_lock(pool);
  array_destroy_(a);
  if (!foreign)
    sharc__arrays_unlock(pool);
}

void *sharc_array_data(const sharc_array *a) {
  return a ? (char *)a->base + a->data_off : NULL;
}
sharc_dtype sharc_array_dtype(const sharc_array *a) { return a->dtype; }
int sharc_array_ndim(const sharc_array *a) { return a->ndim; }
const uint64_t *sharc_array_shape(const sharc_array *a) { return a->shape; }
const int64_t *sharc_array_strides(const sharc_array *a) { return a->strides; }
int sharc_array_fortran_order(const sharc_array *a) {
  return a->fortran_order;
}
uint64_t sharc_array_size(const sharc_array *a) { return a->size; }
uint64_t sharc_array_nbytes(const sharc_array *a) { return a->nbytes; }
sharc_backing sharc_array_backing(const sharc_array *a) { return a->backing; }
const char *sharc_array_name(const sharc_array *a) { return a->name; }
