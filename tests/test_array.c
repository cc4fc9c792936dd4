/* Arrays: every dtype and shape, the three backings, hand-over to workers,
 * honest failure when space runs out, and outputs that never look complete
 * before they are. */
#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include "helpers.h"

static char tmpdir[64];

static void make_tmpdir(void) {
  snprintf(tmpdir, sizeof tmpdir, "/tmp/sharc-test-XXXXXX");
  cr_assert_not_null(mkdtemp(tmpdir));
}

static void remove_tmpdir(void) {
  char cmd[128];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
  cr_assert_eq(system(cmd), 0);
}

TestSuite(array, .init = make_tmpdir, .fini = remove_tmpdir);

/* out[i] = i as the array's dtype (bytes: i & 0xff, bool: i & 1) */
static int fill_index(const sharc_task *t, uint64_t b, uint64_t e) {
  unsigned char *p = sharc_task_array(t, 0);
  sharc_dtype dt = sharc_task_array_dtype(t, 0);
  size_t item = sharc_dtype_size(dt);
  for (uint64_t i = b; i < e; i++) {
    unsigned char *x = p + i * item;
    switch (dt) {
    case SHARC_F32: { float v = (float)i; memcpy(x, &v, 4); break; }
    case SHARC_F64: { double v = (double)i; memcpy(x, &v, 8); break; }
    case SHARC_C64: { float v[2] = {(float)i, -(float)i}; memcpy(x, v, 8); break; }
    case SHARC_C128: { double v[2] = {(double)i, -(double)i}; memcpy(x, v, 16); break; }
    case SHARC_BOOL: *x = (unsigned char)(i & 1); break;
    default: {
      uint64_t v = i;
      memcpy(x, &v, item); /* little-endian: the low bytes */
    }
    }
  }
  return 0;
}
SHARC_KERNEL(fill_index)

static int sleepy(const sharc_task *t, uint64_t b, uint64_t e) {
  unsigned char *p = sharc_task_array(t, 0);
  for (uint64_t i = b; i < e; i++)
    p[i] = 1;
  sleep(30);
  return 0;
}
SHARC_KERNEL(sleepy)

static void check_filled(const void *data, sharc_dtype dt, uint64_t n) {
  size_t item = sharc_dtype_size(dt);
  unsigned char want[16];
  for (uint64_t i = 0; i < n; i++) {
    memset(want, 0, sizeof want);
    switch (dt) {
    case SHARC_F32: { float v = (float)i; memcpy(want, &v, 4); break; }
    case SHARC_F64: { double v = (double)i; memcpy(want, &v, 8); break; }
    case SHARC_C64: { float v[2] = {(float)i, -(float)i}; memcpy(want, v, 8); break; }
    case SHARC_C128: { double v[2] = {(double)i, -(double)i}; memcpy(want, v, 16); break; }
    case SHARC_BOOL: want[0] = (unsigned char)(i & 1); break;
    default: { uint64_t v = i; memcpy(want, &v, item); }
    }
    cr_assert_eq(memcmp((const unsigned char *)data + i * item, want, item), 0,
                 "dtype %s index %llu", sharc_dtype_name(dt),
                 (unsigned long long)i);
  }
}

static void run_fill(sharc_pool *p, sharc_array *a) {
  sharc_job_opts o = SHARC_JOB_OPTS_INIT;
  o.arrays = (sharc_array *[]){a};
  o.narrays = 1;
  o.schedule = (sharc_schedule){SHARC_SCHED_DYNAMIC, 37};
  cr_assert_eq(sharc_run(p, "fill_index", sharc_array_size(a), &o, NULL), 0,
               "%s", sharc_pool_errmsg(p));
}

Test(array, every_dtype_and_shape_is_shared_with_workers) {
  sharc_pool *p = test_pool(2);
  const uint64_t shapes[][3] = {{0, 0, 0}, {1000, 0, 0}, {0, 5, 0}, {7, 11, 3}};
  const int ndims[] = {0, 1, 2, 3};
  for (int dt = 0; dt < SHARC_DTYPE_COUNT; dt++) {
    for (size_t s = 0; s < 4; s++) {
      for (int order = 0; order < 2; order++) {
        sharc_array_opts ao = SHARC_ARRAY_OPTS_INIT;
        ao.fortran_order = order;
        sharc_array *a;
        cr_assert_eq(sharc_array_create(p, (sharc_dtype)dt, ndims[s], shapes[s],
                                        &ao, &a), 0, "%s", sharc_pool_errmsg(p));
        uint64_t size = 1;
        for (int d = 0; d < ndims[s]; d++)
          size *= shapes[s][d];
        cr_assert_eq(sharc_array_size(a), size);
        cr_assert_eq(sharc_array_nbytes(a), size * sharc_dtype_size(dt));
        run_fill(p, a);
        check_filled(sharc_array_data(a), (sharc_dtype)dt, size);
        sharc_array_destroy(a);
      }
    }
  }
  sharc_pool_destroy(p);
}

Test(array, strides_follow_the_order) {
  sharc_pool *p = test_pool(1);
  uint64_t shape[3] = {2, 3, 4};
  sharc_array *c, *f;
  sharc_array_opts ao = SHARC_ARRAY_OPTS_INIT;
  cr_assert_eq(sharc_array_create(p, SHARC_F64, 3, shape, &ao, &c), 0);
  ao.fortran_order = 1;
  cr_assert_eq(sharc_array_create(p, SHARC_F64, 3, shape, &ao, &f), 0);
  const int64_t *sc = sharc_array_strides(c), *sf = sharc_array_strides(f);
  cr_assert(sc[0] == 96 && sc[1] == 32 && sc[2] == 8);
  cr_assert(sf[0] == 8 && sf[1] == 16 && sf[2] == 48);
  /* Options from other headers are refused by name, nothing made. */
  sharc_array *x = NULL;
  ao.size = sizeof ao - 4;
  cr_assert_eq(sharc_array_create(p, SHARC_F64, 3, shape, &ao, &x),
               SHARC_EINVAL);
  cr_assert_null(x);
  cr_assert(strstr(sharc_pool_errmsg(p), "array options: size field") != NULL,
            "%s", sharc_pool_errmsg(p));
  sharc_pool_destroy(p);
}

Test(array, sizes_that_overflow_or_do_not_fit_fail_at_creation) {
  sharc_pool *p = test_pool(1);
  sharc_array *a = (sharc_array *)1;
  uint64_t huge[2] = {UINT64_C(1) << 40, UINT64_C(1) << 30};
  cr_assert_eq(sharc_array_create(p, SHARC_F64, 2, huge, NULL, &a),
               SHARC_EOVERFLOW);
  cr_assert_null(a);
  cr_assert(strstr(sharc_pool_errmsg(p), "overflow") != NULL);
  /* 64 TiB: far beyond this machine's memory, refused before reserving. */
  uint64_t big[1] = {UINT64_C(1) << 43};
  cr_assert_eq(sharc_array_create(p, SHARC_F64, 1, big, NULL, &a),
               SHARC_ENOMEM);
  cr_assert(strstr(sharc_pool_errmsg(p), "does not fit") != NULL, "%s",
            sharc_pool_errmsg(p));
  /* Named shm beyond /dev/shm's size: ENOSPC from the reservation. */
  struct statvfs vfs;
  cr_assert_eq(statvfs("/dev/shm", &vfs), 0);
  uint64_t shm_bytes = (uint64_t)vfs.f_blocks * vfs.f_frsize;
  uint64_t over[1] = {shm_bytes / 8 + (1 << 20)};
  sharc_array_opts ao = SHARC_ARRAY_OPTS_INIT;
  ao.backing = SHARC_BACKING_SHM;
  int rc = sharc_array_create(p, SHARC_F64, 1, over, &ao, &a);
  cr_assert(rc == SHARC_ENOSPC || rc == SHARC_ENOMEM, "rc %d: %s", rc,
            sharc_pool_errmsg(p));
  cr_assert(strstr(sharc_pool_errmsg(p), "cannot reserve") != NULL ||
            strstr(sharc_pool_errmsg(p), "does not fit") != NULL, "%s",
            sharc_pool_errmsg(p));
  uint64_t bad = 3;
  cr_assert_eq(sharc_array_create(p, SHARC_F64, 65, &bad, NULL, &a),
               SHARC_EINVAL);
  cr_assert_eq(sharc_array_create(p, (sharc_dtype)99, 1, &bad, NULL, &a),
               SHARC_EDTYPE);
  sharc_pool_destroy(p);
}

Test(array, named_arrays_outlive_the_pool_and_attach_by_name) {
  sharc_pool *p = test_pool(2);
  uint64_t shape[2] = {50, 40};
  sharc_array_opts ao = SHARC_ARRAY_OPTS_INIT;
  ao.backing = SHARC_BACKING_SHM;
  sharc_array *a;
  cr_assert_eq(sharc_array_create(p, SHARC_I32, 2, shape, &ao, &a), 0, "%s",
               sharc_pool_errmsg(p));
  char name[128];
  snprintf(name, sizeof name, "%s", sharc_array_name(a));
  cr_assert(strncmp(name, "/sharc-", 7) == 0, "%s", name);
  char path[160];
  snprintf(path, sizeof path, "/dev/shm%s", name);
  struct stat st;
  cr_assert_eq(stat(path, &st), 0);
  cr_assert_eq(st.st_mode & 0777, 0600);
  run_fill(p, a);
  sharc_pool_destroy(p); /* destroys a, not the object */
  cr_assert_eq(stat(path, &st), 0, "named array removed with its pool");

  p = test_pool(2);
  cr_assert_eq(sharc_array_attach_shm(p, name, SHARC_READ, &a), 0, "%s",
               sharc_pool_errmsg(p));
  cr_assert_eq(sharc_array_dtype(a), SHARC_I32);
  cr_assert_eq(sharc_array_ndim(a), 2);
  cr_assert_eq(sharc_array_shape(a)[0], 50);
  cr_assert_eq(sharc_array_shape(a)[1], 40);
  check_filled(sharc_array_data(a), SHARC_I32, 2000);
  sharc_array_destroy(a);

  /* A mode others could open is refused; so is a size that lies. */
  cr_assert_eq(chmod(path, 0644), 0);
  cr_assert_eq(sharc_array_attach_shm(p, name, SHARC_READ, &a), SHARC_EACCES);
  cr_assert(strstr(sharc_pool_errmsg(p), "mode 644") != NULL, "%s",
            sharc_pool_errmsg(p));
  cr_assert_eq(chmod(path, 0600), 0);
  if (geteuid() == 0) {
    cr_assert_eq(chown(path, 12345, 12345), 0);
    cr_assert_eq(sharc_array_attach_shm(p, name, SHARC_READ, &a), SHARC_EACCES);
    cr_assert(strstr(sharc_pool_errmsg(p), "owned by uid 12345") != NULL);
    cr_assert_eq(chown(path, 0, 0), 0);
  }
  cr_assert_eq(truncate(path, 4096 + 100), 0);
  cr_assert_eq(sharc_array_attach_shm(p, name, SHARC_READ, &a), SHARC_EFORMAT);
  cr_assert_eq(sharc_shm_remove(name), 0);
  cr_assert_neq(stat(path, &st), 0);
  cr_assert_eq(sharc_array_attach_shm(p, name, SHARC_READ, &a), SHARC_ENOENT);
  sharc_pool_destroy(p);
}

Test(array, raw_files_map_in_place) {
  sharc_pool *p = test_pool(2);
  char path[128];
  snprintf(path, sizeof path, "%s/data.raw", tmpdir);
  uint64_t shape[1] = {4096};
  sharc_array *a;
  cr_assert_eq(sharc_array_open_raw(p, path, SHARC_RDWR | SHARC_CREATE,
                                    SHARC_U16, 1, shape, 64, &a), 0, "%s",
               sharc_pool_errmsg(p));
  run_fill(p, a);
  sharc_array_destroy(a);
  /* The bytes are in the file, at the offset. */
  FILE *f = fopen(path, "rb");
  unsigned char buf[64 + 8192];
  cr_assert_eq(fread(buf, 1, sizeof buf, f), sizeof buf);
  fclose(f);
  check_filled(buf + 64, SHARC_U16, 4096);
  cr_assert_eq(sharc_array_open_raw(p, path, SHARC_READ, SHARC_U16, 1, shape,
                                    64, &a), 0);
  check_filled(sharc_array_data(a), SHARC_U16, 4096);
  sharc_array_destroy(a);
  /* A file shorter than dtype x shape says is refused, naming both sizes. */
  uint64_t more[1] = {5000};
  cr_assert_eq(sharc_array_open_raw(p, path, SHARC_READ, SHARC_U16, 1, more,
                                    64, &a), SHARC_EFORMAT);
  cr_assert(strstr(sharc_pool_errmsg(p), "8256 bytes") != NULL, "%s",
            sharc_pool_errmsg(p));
  cr_assert_eq(sharc_array_open_raw(p, path, SHARC_READ, SHARC_U16, 1, shape,
                                    3, &a), SHARC_EINVAL);
  cr_assert_eq(sharc_array_open_raw(p, path, SHARC_RDWR | SHARC_CREATE,
                                    SHARC_U16, 1, shape, 0, &a), SHARC_EEXIST);
  sharc_pool_destroy(p);
}

/* Runs a NumPy one-liner on arg; quiet: its expected failure prints not. */
static int py_run(const char *script, const char *arg, int quiet) {
  char cmd[1024];
  snprintf(cmd, sizeof cmd, "/usr/bin/python3 -c \"%s\" '%s'%s", script, arg,
           quiet ? " 2>/dev/null" : "");
  return system(cmd);
}

static int py(const char *script, const char *arg) {
  return py_run(script, arg, 0);
}

Test(array, npy_output_is_committed_and_numpy_reads_it) {
  sharc_pool *p = test_pool(2);
  char path[128];
  snprintf(path, sizeof path, "%s/out.npy", tmpdir);
  uint64_t shape[2] = {30, 20};
  sharc_array *a;
  cr_assert_eq(sharc_array_create_npy(p, path, SHARC_F64, 2, shape, 0, &a), 0,
               "%s", sharc_pool_errmsg(p));
  struct stat st;
  cr_assert_neq(stat(path, &st), 0, "output visible before commit");
  run_fill(p, a);
  cr_assert_eq(sharc_array_commit(a), 0, "%s", sharc_pool_errmsg(p));
  cr_assert_eq(stat(path, &st), 0);
  sharc_array_destroy(a);
  cr_assert_eq(py("import numpy as np,sys; a=np.load(sys.argv[1]); "
                  "assert a.dtype==np.float64 and a.shape==(30,20); "
                  "assert (a.ravel()==np.arange(600)).all()", path), 0);
  /* Fortran order round trip through NumPy. */
  cr_assert_eq(py("import numpy as np,sys; "
                  "np.save(sys.argv[1], np.asfortranarray("
                  "np.arange(12,dtype=np.int16).reshape(3,4)))", path), 0);
  cr_assert_eq(sharc_array_open_npy(p, path, SHARC_READ, &a), 0, "%s",
               sharc_pool_errmsg(p));
  cr_assert_eq(sharc_array_fortran_order(a), 1);
  cr_assert_eq(sharc_array_dtype(a), SHARC_I16);
  const int16_t *v = sharc_array_data(a);
  cr_assert_eq(v[1], 4); /* column-major: element (1,0) = 4 */
  sharc_array_destroy(a);
  /* No temporary files are left behind. */
  DIR *d = opendir(tmpdir);
  struct dirent *e;
  while ((e = readdir(d)) != NULL)
    cr_assert(strstr(e->d_name, "sharc-tmp") == NULL, "left %s", e->d_name);
  closedir(d);
  sharc_pool_destroy(p);
}

Test(array, npy_opened_after_start_is_computed_in_place) {
  sharc_pool *p = test_pool(2);
  char path[128];
  snprintf(path, sizeof path, "%s/in.npy", tmpdir);
  cr_assert_eq(py("import numpy as np,sys; "
                  "np.save(sys.argv[1], np.zeros(5000, dtype=np.uint32))",
                  path), 0);
  sharc_array *a;
  cr_assert_eq(sharc_array_open_npy(p, path, SHARC_RDWR, &a), 0, "%s",
               sharc_pool_errmsg(p));
  run_fill(p, a);
  sharc_array_destroy(a);
  cr_assert_eq(py("import numpy as np,sys; a=np.load(sys.argv[1]); "
                  "assert (a==np.arange(5000)).all()", path), 0);
  /* Malformed input is refused with the file's name. */
  FILE *f = fopen(path, "r+b");
  cr_assert_eq(fseek(f, 0, SEEK_SET), 0);
  cr_assert_eq(fwrite("XXXX", 1, 4, f), 4);
  fclose(f);
  cr_assert_eq(sharc_array_open_npy(p, path, SHARC_READ, &a), SHARC_EFORMAT);
  cr_assert(strstr(sharc_pool_errmsg(p), path) != NULL, "%s",
            sharc_pool_errmsg(p));
  sharc_pool_destroy(p);
}

/* A run killed mid-job leaves nothing at the output path, and whatever
 * temporary file it left does not parse as .npy. */
Test(array, killed_run_leaves_no_valid_looking_output) {
  char path[128];
  snprintf(path, sizeof path, "%s/killed.npy", tmpdir);
  int fds[2];
  cr_assert_eq(pipe(fds), 0);
  pid_t child = fork();
  if (child == 0) {
    sharc_pool *p = test_pool(2);
    uint64_t shape[1] = {1 << 16};
    sharc_array *a;
    if (sharc_array_create_npy(p, path, SHARC_U8, 1, shape, 0, &a) != 0)
      _exit(1);
    if (write(fds[1], "x", 1) != 1)
      _exit(1);
    sharc_job_opts o = SHARC_JOB_OPTS_INIT;
    o.arrays = (sharc_array *[]){a};
    o.narrays = 1;
    sharc_run(p, "sleepy", 1 << 16, &o, NULL);
    sharc_array_commit(a);
    _exit(0);
  }
  char c;
  cr_assert_eq(read(fds[0], &c, 1), 1);
  usleep(300000); /* the workers are inside the kernel now */
  kill(child, SIGKILL);
  waitpid(child, NULL, 0);
  struct stat st;
  cr_assert_neq(stat(path, &st), 0, "output exists after a killed run");
  DIR *d = opendir(tmpdir);
  struct dirent *e;
  int temps = 0;
  while ((e = readdir(d)) != NULL) {
    if (strstr(e->d_name, "killed.npy") == NULL)
      continue;
    temps++;
    char tmp[512];
    snprintf(tmp, sizeof tmp, "%s/%s", tmpdir, e->d_name);
    sharc_npy_info *info;
    cr_assert_eq(sharc_npy_probe(tmp, &info, NULL, 0), SHARC_EFORMAT,
                 "%s parses as .npy", tmp);
    cr_assert_null(info);
    cr_assert_neq(py_run("import numpy as np,sys; np.load(sys.argv[1])", tmp, 1),
                  0);
  }
  closedir(d);
  cr_assert_eq(temps, 1, "the temporary file should be the only trace");
}
