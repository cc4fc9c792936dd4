/* lib/npy.c: .npy headers written and read back, exchanged with NumPy in
 * both directions, malformed files refused with a message that names the
 * file and the field, and a parser that survives every truncation and
 * single-byte mutation of a valid file.
 *
 * The NumPy side is tests/npy_tool.py, run with /usr/bin/python3 (the
 * interpreter that has NumPy); each test runs it once in batch mode. */
#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "npy.h"
#include "sharc/error.h"

#define PYTHON "/usr/bin/python3"
#define TOOL SHARC_TEST_SOURCE_DIR "/tests/npy_tool.py"

/* --- fixture: a private temporary directory per test --------------------- */

static char tmpdir[64];

static void setup(void) {
  strcpy(tmpdir, "/tmp/sharc-npy-XXXXXX");
  cr_assert_not_null(mkdtemp(tmpdir), "mkdtemp: %s", strerror(errno));
}

static void teardown(void) {
  DIR *d = opendir(tmpdir);
  if (d == NULL)
    return;
  struct dirent *e;
  while ((e = readdir(d)) != NULL) {
    if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
      continue;
    if (unlinkat(dirfd(d), e->d_name, 0) != 0)
      unlinkat(dirfd(d), e->d_name, AT_REMOVEDIR);
  }
  closedir(d);
  rmdir(tmpdir);
}

TestSuite(npy, .init = setup, .fini = teardown);

/* A path in the temporary directory. Static storage: copy to keep two. */
static const char *file(const char *name) {
  static char path[PATH_MAX];
  snprintf(path, sizeof path, "%s/%s", tmpdir, name);
  return path;
}

static void write_raw(const char *path, const void *bytes, size_t len) {
  int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  cr_assert_geq(fd, 0, "open %s: %s", path, strerror(errno));
  cr_assert_eq(write(fd, bytes, len), (ssize_t)len);
  close(fd);
}

/* Writes magic, version, a header made of dict padded with spaces and a
 * '\n' to total bytes of prefix (0: NumPy's multiple of 64), then payload
 * zero bytes. Versions other than 1.x get a 4-byte length, as 2.0 and 3.0. */
static void write_npy(const char *path, int major, int minor, const char *dict,
                      size_t total, size_t payload) {
  size_t lenlen = major == 1 ? 2 : 4;
  size_t fixed = 8 + lenlen + strlen(dict) + 1;
  if (total == 0)
    total = (fixed + 63) / 64 * 64;
  cr_assert_geq(total, fixed);
  unsigned char *buf = calloc(1, total + payload);
  cr_assert_not_null(buf);
  size_t hlen = total - 8 - lenlen;
  memcpy(buf, "\x93NUMPY", 6);
  buf[6] = (unsigned char)major;
  buf[7] = (unsigned char)minor;
  for (size_t i = 0; i < lenlen; i++)
    buf[8 + i] = (unsigned char)(hlen >> (8 * i));
  memcpy(buf + 8 + lenlen, dict, strlen(dict));
  memset(buf + 8 + lenlen + strlen(dict), ' ', hlen - strlen(dict) - 1);
  buf[total - 1] = '\n';
  write_raw(path, buf, total + payload);
  free(buf);
}

/* Probes path through the public sharc_npy_probe() and copies what it
 * gives into *m, checking the block's pointers on the way: shape (NULL
 * without dimensions) and descr, both released with the info. */
static int probe_meta(const char *path, sharc__npy_meta *m, char *msg,
                      size_t msglen) {
  sharc_npy_info *in = (sharc_npy_info *)1;
  int rc = sharc_npy_probe(path, &in, msg, msglen);
  memset(m, 0, sizeof *m);
  if (rc != 0) {
    cr_assert_null(in, "%s: failed, yet gave an info", path);
    return rc;
  }
  cr_assert_not_null(in);
  cr_assert_not_null(in->descr);
  cr_assert((in->ndim == 0) == (in->shape == NULL), "%s: ndim %d, shape %p",
            path, in->ndim, (const void *)in->shape);
  cr_assert_lt(strlen(in->descr), sizeof m->descr);
  *m = (sharc__npy_meta){.version_major = in->version_major,
                         .version_minor = in->version_minor,
                         .dtype = in->dtype,
                         .fortran_order = in->fortran_order,
                         .ndim = in->ndim,
                         .data_offset = in->data_offset,
                         .nbytes = in->nbytes,
                         .file_size = in->file_size,
                         .mappable = in->mappable,
                         .why_not = in->why_not};
  snprintf(m->descr, sizeof m->descr, "%s", in->descr);
  for (int i = 0; i < in->ndim && i < SHARC_MAX_DIMS; i++)
    m->shape[i] = in->shape[i];
  sharc_npy_info_free(in);
  return rc;
}

/* Probes path and asserts the exact return code and that the message
 * names the file and contains each of the given fragments. */
static sharc__npy_meta probe_expect(const char *path, int want, const char *a,
                                    const char *b) {
  sharc__npy_meta info;
  char msg[512] = "";
  int rc = probe_meta(path, &info, msg, sizeof msg);
  cr_assert_eq(rc, want, "%s: rc %d (%s), want %d (%s); msg: %s", path, rc,
               sharc_err_name(rc), want, sharc_err_name(want), msg);
  cr_assert_not_null(strstr(msg, path), "msg '%s' does not name the file", msg);
  cr_assert_null(strchr(msg, '\n'), "msg '%s' is not one line", msg);
  cr_assert(a == NULL || strstr(msg, a) != NULL, "msg '%s' lacks '%s'", msg, a);
  cr_assert(b == NULL || strstr(msg, b) != NULL, "msg '%s' lacks '%s'", msg, b);
  return info;
}

/* A valid header dict for tests that change one thing at a time. */
#define DICT_F8_34 "{'descr': '<f8', 'fortran_order': False, 'shape': (3, 4), }"

static void expect_not_mappable(const char *dict, size_t payload, int why,
                                const char *a, const char *b) {
  const char *path = file("nm.npy");
  write_npy(path, 1, 0, dict, 0, payload);
  sharc__npy_meta info = probe_expect(path, 0, a, b);
  cr_assert_eq(info.mappable, 0);
  cr_assert_eq(info.why_not, why, "why_not %d, want %d", info.why_not, why);
}

static void expect_malformed(int major, const char *dict, size_t payload,
                             const char *a, const char *b) {
  const char *path = file("bad.npy");
  write_npy(path, major, 0, dict, 0, payload);
  probe_expect(path, SHARC_EFORMAT, a, b);
}

/* --- deterministic payloads, the same as npy_tool.py's expected() -------- */

static const char kind_of[SHARC_DTYPE_COUNT] = {
#define KIND(e, name, kind, size) kind,
    SHARC_DTYPE_MAP(KIND)
#undef KIND
};

static void element(sharc_dtype dt, uint64_t k, unsigned char *p) {
  uint64_t u = k * 2654435761u + 7;
  double re = (double)k * 0.5 - 3.25, im = 1.0 - (double)k * 0.25;
  float f[2] = {(float)re, (float)im};
  double d[2] = {re, im};
  size_t size = sharc_dtype_size(dt);
  if (dt == SHARC_BOOL)
    p[0] = k % 3 == 1;
  else if (dt == SHARC_F32 || dt == SHARC_C64)
    memcpy(p, f, size);
  else if (dt == SHARC_F64 || dt == SHARC_C128)
    memcpy(p, d, size);
  else
    for (size_t i = 0; i < size; i++) /* little-endian low bytes */
      p[i] = (unsigned char)(u >> (8 * i));
}

static unsigned char *payload(sharc_dtype dt, uint64_t n) {
  size_t size = sharc_dtype_size(dt);
  unsigned char *buf = malloc(n * size + 1);
  cr_assert_not_null(buf);
  for (uint64_t k = 0; k < n; k++)
    element(dt, k, buf + k * size);
  return buf;
}

/* --- shapes exercised everywhere ----------------------------------------- */

typedef struct shape_case {
  int ndim;
  uint64_t shape[3];
} shape_case;

static const shape_case shapes[] = {
    {0, {0}},    {1, {5}},    {2, {3, 4}}, {3, {2, 3, 4}},
    {2, {0, 3}}, {2, {4, 0}}, {2, {1, 5}}, {1, {0}},
};
#define NSHAPES (sizeof shapes / sizeof shapes[0])

static uint64_t count(const shape_case *s) {
  uint64_t n = 1;
  for (int i = 0; i < s->ndim; i++)
    n *= s->shape[i];
  return n;
}

/* "3,4", or "-" for 0-d: npy_tool.py's SHAPE argument. */
static const char *shape_arg(const shape_case *s, char *buf, size_t len) {
  size_t n = 0;
  buf[0] = '\0';
  for (int i = 0; i < s->ndim; i++)
    n += (size_t)snprintf(buf + n, len - n, "%s%llu", i ? "," : "",
                          (unsigned long long)s->shape[i]);
  return s->ndim == 0 ? "-" : buf;
}

/* NumPy writes fortran_order True only for arrays that are F- but not
 * C-contiguous: non-empty, with at least two extents above 1. */
static int numpy_fortran(int fortran, const shape_case *s) {
  int big = 0;
  for (int i = 0; i < s->ndim; i++) {
    if (s->shape[i] == 0)
      return 0;
    big += s->shape[i] > 1;
  }
  return fortran && big >= 2;
}

static void expect_descr(const sharc__npy_meta *info, sharc_dtype dt) {
  char want[8];
  size_t size = sharc_dtype_size(dt);
  snprintf(want, sizeof want, "%c%c%zu", size == 1 ? '|' : '<', kind_of[dt],
           size);
  cr_assert_str_eq(info->descr, want);
}

/* Checks info against what was written, and the payload bytes in the file. */
static void expect_info(int fd, const sharc__npy_meta *info, sharc_dtype dt,
                        int fortran, const shape_case *s, int major) {
  uint64_t n = count(s);
  size_t size = sharc_dtype_size(dt);
  cr_assert_eq(info->version_major, major);
  cr_assert_eq(info->version_minor, 0);
  cr_assert_eq(info->dtype, dt, "%s: dtype %d", sharc_dtype_name(dt),
               info->dtype);
  expect_descr(info, dt);
  cr_assert_eq(info->fortran_order, fortran);
  cr_assert_eq(info->ndim, s->ndim);
  for (int i = 0; i < s->ndim; i++)
    cr_assert_eq(info->shape[i], s->shape[i]);
  cr_assert_eq(info->data_offset % 64, 0);
  cr_assert_eq(info->nbytes, n * size);
  cr_assert_eq(info->file_size, info->data_offset + n * size);
  cr_assert_eq(info->mappable, 1);
  cr_assert_eq(info->why_not, 0);
  unsigned char *want = payload(dt, n), *got = malloc(n * size + 1);
  cr_assert_eq(pread(fd, got, n * size, (off_t)info->data_offset),
               (ssize_t)(n * size));
  cr_assert_eq(memcmp(got, want, n * size), 0, "%s: payload differs",
               sharc_dtype_name(dt));
  free(want);
  free(got);
}

/* The complete file sharc writes: prefix from sharc__npy_format_header(),
 * then the deterministic payload. Returns its length; *out is malloc'd. */
static size_t sharc_file(sharc_dtype dt, int fortran, const shape_case *s,
                         unsigned char **out) {
  long len = sharc__npy_format_header(dt, fortran, s->ndim, s->shape, NULL, 0);
  cr_assert_gt(len, 0);
  size_t nbytes = count(s) * sharc_dtype_size(dt);
  unsigned char *buf = malloc((size_t)len + nbytes + 1);
  cr_assert_not_null(buf);
  cr_assert_eq(sharc__npy_format_header(dt, fortran, s->ndim, s->shape,
                                        (char *)buf, (size_t)len),
               len);
  unsigned char *p = payload(dt, count(s));
  memcpy(buf + len, p, nbytes);
  free(p);
  *out = buf;
  return (size_t)len + nbytes;
}

static int memfd_with(const void *bytes, size_t len) {
  int fd = memfd_create("npy", MFD_CLOEXEC);
  cr_assert_geq(fd, 0, "memfd_create: %s", strerror(errno));
  cr_assert_eq(pwrite(fd, bytes, len, 0), (ssize_t)len);
  return fd;
}

/* Runs npy_tool.py batch on a list of commands; returns its exit status. */
static int run_tool(const char *list) {
  pid_t pid = fork();
  cr_assert_geq(pid, 0);
  if (pid == 0) {
    execl(PYTHON, PYTHON, TOOL, "batch", list, (char *)NULL);
    _exit(127);
  }
  int st;
  cr_assert_eq(waitpid(pid, &st, 0), pid);
  return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/* --- writing and reading in C -------------------------------------------- */

Test(npy, format_then_read_round_trips_every_dtype_order_and_shape) {
  for (int dt = 0; dt < SHARC_DTYPE_COUNT; dt++)
    for (int fortran = 0; fortran < 2; fortran++)
      for (size_t i = 0; i < NSHAPES; i++) {
        unsigned char *buf;
        size_t len = sharc_file((sharc_dtype)dt, fortran, &shapes[i], &buf);
        int fd = memfd_with(buf, len);
        sharc__npy_meta info;
        char msg[256];
        int rc = sharc__npy_read_fd(fd, "rt.npy", &info, msg, sizeof msg);
        cr_assert_eq(rc, 0, "%s", msg);
        expect_info(fd, &info, (sharc_dtype)dt, fortran, &shapes[i], 1);
        close(fd);
        free(buf);
      }
}

Test(npy, format_writes_numpy_dict_and_64_byte_prefix) {
  uint64_t shape[] = {3, 4};
  char buf[256];
  long len = sharc__npy_format_header(SHARC_F64, 0, 2, shape, buf, sizeof buf);
  const char dict[] = DICT_F8_34;
  cr_assert_eq(len, 128); /* what np.save writes for zeros((3, 4)) */
  cr_assert_eq(memcmp(buf, "\x93NUMPY\x01\x00", 8), 0);
  cr_assert_eq((unsigned char)buf[8] | (unsigned char)buf[9] << 8, 118);
  cr_assert_eq(memcmp(buf + 10, dict, sizeof dict - 1), 0);
  for (long i = 10 + (long)sizeof dict - 1; i < len - 1; i++)
    cr_assert_eq(buf[i], ' ');
  cr_assert_eq(buf[len - 1], '\n');
}

Test(npy, format_writes_0d_1d_bool_and_byte_descrs_like_numpy) {
  static const struct {
    sharc_dtype dt;
    int fortran, ndim;
    const char *dict;
  } cases[] = {
      {SHARC_BOOL, 0, 0,
       "{'descr': '|b1', 'fortran_order': False, 'shape': (), }"},
      {SHARC_I8, 0, 1,
       "{'descr': '|i1', 'fortran_order': False, 'shape': (5,), }"},
      {SHARC_U8, 1, 2,
       "{'descr': '|u1', 'fortran_order': True, 'shape': (5, 6), }"},
      {SHARC_C128, 0, 1,
       "{'descr': '<c16', 'fortran_order': False, 'shape': (5,), }"},
  };
  uint64_t shape[] = {5, 6};
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    char buf[256];
    long len = sharc__npy_format_header(cases[i].dt, cases[i].fortran,
                                        cases[i].ndim, shape, buf, sizeof buf);
    cr_assert_eq(len % 64, 0);
    cr_assert_eq(strncmp(buf + 10, cases[i].dict, strlen(cases[i].dict)), 0,
                 "case %zu: %.80s", i, buf + 10);
  }
}

Test(npy, format_refuses_bad_arguments_and_small_buffers) {
  uint64_t shape[SHARC_MAX_DIMS + 1] = {2, 3};
  char buf[4096];
  cr_assert_eq(
      sharc__npy_format_header(SHARC_DTYPE_COUNT, 0, 1, shape, buf, 4096),
      SHARC_EINVAL);
  cr_assert_eq(
      sharc__npy_format_header((sharc_dtype)-1, 0, 1, shape, buf, 4096),
      SHARC_EINVAL);
  cr_assert_eq(sharc__npy_format_header(SHARC_F64, 0, -1, shape, buf, 4096),
               SHARC_EINVAL);
  cr_assert_eq(sharc__npy_format_header(SHARC_F64, 0, 65, shape, buf, 4096),
               SHARC_EINVAL);
  cr_assert_eq(sharc__npy_format_header(SHARC_F64, 0, 1, NULL, buf, 4096),
               SHARC_EINVAL);
  cr_assert_eq(sharc__npy_format_header(SHARC_F64, 0, 1, shape, NULL, 10),
               SHARC_EINVAL);
  long len = sharc__npy_format_header(SHARC_F64, 0, 2, shape, NULL, 0);
  cr_assert_eq(len, 128);
  cr_assert_eq(sharc__npy_format_header(SHARC_F64, 0, 2, shape, buf, 127),
               SHARC_ERANGE);
  cr_assert_eq(sharc__npy_format_header(SHARC_F64, 0, 0, NULL, buf, 128), 128);
}

Test(npy, format_then_read_64_dims_of_largest_extents) {
  uint64_t shape[SHARC_MAX_DIMS];
  for (int i = 0; i < SHARC_MAX_DIMS; i++)
    shape[i] = i == 7 ? 0 : UINT64_MAX / 2; /* empty, so the size is 0 */
  char buf[4096];
  long len = sharc__npy_format_header(SHARC_U16, 1, SHARC_MAX_DIMS, shape, buf,
                                      sizeof buf);
  cr_assert_gt(len, 0);
  cr_assert_eq(len % 64, 0);
  cr_assert_eq(buf[6], 1, "a 64-d header still fits version 1.0");
  int fd = memfd_with(buf, (size_t)len);
  sharc__npy_meta info;
  char msg[256];
  /* 2^63 - 1 per extent: fine alone, but the non-zero extents overflow. */
  cr_assert_eq(sharc__npy_read_fd(fd, "d64.npy", &info, msg, sizeof msg),
               SHARC_EFORMAT);
  cr_assert_not_null(strstr(msg, "overflows"), "%s", msg);
  for (int i = 0; i < SHARC_MAX_DIMS; i++)
    shape[i] = i == 7 ? 0 : (i == 3 ? INT64_MAX : 1);
  len = sharc__npy_format_header(SHARC_U8, 1, SHARC_MAX_DIMS, shape, buf,
                                 sizeof buf);
  cr_assert_eq(ftruncate(fd, 0), 0);
  cr_assert_eq(pwrite(fd, buf, (size_t)len, 0), len);
  cr_assert_eq(sharc__npy_read_fd(fd, "d64.npy", &info, msg, sizeof msg), 0,
               "%s", msg);
  cr_assert_eq(info.ndim, SHARC_MAX_DIMS);
  cr_assert_eq(info.shape[3], (uint64_t)INT64_MAX);
  cr_assert_eq(info.nbytes, 0);
  cr_assert_eq(info.mappable, 1);
  close(fd);
}

/* --- exchanging files with NumPy ----------------------------------------- */

Test(npy, numpy_loads_what_sharc_writes) {
  char *list = strdup(file("check.txt"));
  FILE *f = fopen(list, "w");
  cr_assert_not_null(f);
  for (int dt = 0; dt < SHARC_DTYPE_COUNT; dt++)
    for (int fortran = 0; fortran < 2; fortran++)
      for (size_t i = 0; i < NSHAPES; i++) {
        char name[64], sh[64];
        snprintf(name, sizeof name, "s_%d_%d_%zu.npy", dt, fortran, i);
        unsigned char *buf;
        size_t len = sharc_file((sharc_dtype)dt, fortran, &shapes[i], &buf);
        write_raw(file(name), buf, len);
        free(buf);
        fprintf(f, "check %s %s %c %s\n", file(name),
                sharc_dtype_name((sharc_dtype)dt), fortran ? 'F' : 'C',
                shape_arg(&shapes[i], sh, sizeof sh));
      }
  fclose(f);
  cr_assert_eq(run_tool(list), 0, "npy_tool.py check failed (see stderr)");
  free(list);
}

/* Reads one file NumPy made; the v1.0 ones must match sharc's own prefix
 * byte for byte (NumPy >= 1.24's layout, with the growth padding). */
static void expect_numpy_file(const char *path, sharc_dtype dt, int fortran,
                              const shape_case *s, int major) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  cr_assert_geq(fd, 0, "%s: %s", path, strerror(errno));
  sharc__npy_meta info;
  char msg[256];
  int rc = sharc__npy_read_fd(fd, path, &info, msg, sizeof msg);
  cr_assert_eq(rc, 0, "%s", msg);
  int nf = numpy_fortran(fortran, s);
  expect_info(fd, &info, dt, nf, s, major);
  if (major == 1) {
    char mine[256], theirs[256];
    long len =
        sharc__npy_format_header(dt, nf, s->ndim, s->shape, mine, sizeof mine);
    cr_assert_eq((uint64_t)len, info.data_offset);
    cr_assert_eq(pread(fd, theirs, (size_t)len, 0), len);
    cr_assert_eq(memcmp(mine, theirs, (size_t)len), 0, "%s: %.*s", path,
                 (int)len, theirs);
  }
  close(fd);
}

Test(npy, sharc_reads_what_numpy_writes_in_versions_1_2_3) {
  char *list = strdup(file("make.txt"));
  FILE *f = fopen(list, "w");
  cr_assert_not_null(f);
  for (int dt = 0; dt < SHARC_DTYPE_COUNT; dt++)
    for (int fortran = 0; fortran < 2; fortran++)
      for (size_t i = 0; i < NSHAPES; i++)
        for (int v = 1; v <= 3; v++) {
          char name[64], sh[64];
          snprintf(name, sizeof name, "n_%d_%d_%zu_%d.npy", dt, fortran, i, v);
          fprintf(f, "make %s %s %c %s %d\n", file(name),
                  sharc_dtype_name((sharc_dtype)dt), fortran ? 'F' : 'C',
                  shape_arg(&shapes[i], sh, sizeof sh), v);
        }
  fclose(f);
  cr_assert_eq(run_tool(list), 0, "npy_tool.py make failed (see stderr)");
  free(list);
  for (int dt = 0; dt < SHARC_DTYPE_COUNT; dt++)
    for (int fortran = 0; fortran < 2; fortran++)
      for (size_t i = 0; i < NSHAPES; i++)
        for (int v = 1; v <= 3; v++) {
          char name[64];
          snprintf(name, sizeof name, "n_%d_%d_%zu_%d.npy", dt, fortran, i, v);
          expect_numpy_file(file(name), (sharc_dtype)dt, fortran, &shapes[i],
                            v);
        }
}

/* --- malformed files: the prefix ----------------------------------------- */

Test(npy, bad_magic_is_eformat) {
  const char *path = file("magic.npy");
  write_raw(path, "\x93NUMPZ\x01\x00\x00\x00", 10);
  probe_expect(path, SHARC_EFORMAT, "magic", "\\x93NUMPY");
  static const char zip[] = "PK\x03\x04 not npy at all";
  write_raw(path, zip, sizeof zip - 1);
  probe_expect(path, SHARC_EFORMAT, "magic", NULL);
}

Test(npy, unsupported_versions_are_eformat) {
  const char *path = file("version.npy");
  write_npy(path, 4, 0, DICT_F8_34, 0, 96);
  probe_expect(path, SHARC_EFORMAT, "version", "4.0");
  write_npy(path, 1, 1, DICT_F8_34, 0, 96);
  probe_expect(path, SHARC_EFORMAT, "version", "1.1");
  write_npy(path, 0, 0, DICT_F8_34, 0, 96);
  probe_expect(path, SHARC_EFORMAT, "version", "0.0");
}

Test(npy, truncated_prefix_of_5_and_9_bytes_is_eformat) {
  const char *path = file("short.npy");
  write_raw(path, "\x93NUMP", 5);
  probe_expect(path, SHARC_EFORMAT, "magic", "after 5 bytes");
  write_raw(path, "\x93NUMPY\x01\x00\x76", 9);
  probe_expect(path, SHARC_EFORMAT, "header length", "after 9 bytes");
  write_raw(path, "\x93NUMPY\x02\x00\x76\x00\x00", 11);
  probe_expect(path, SHARC_EFORMAT, "header length", "12-byte prefix");
}

Test(npy, empty_file_is_eformat) {
  const char *path = file("empty.npy");
  write_raw(path, "", 0);
  probe_expect(path, SHARC_EFORMAT, "magic", "empty");
}

Test(npy, header_length_beyond_the_file_is_eformat) {
  const char *path = file("lie.npy");
  unsigned char b[100] = "\x93NUMPY\x01\x00\xff\xff{";
  write_raw(path, b, sizeof b);
  probe_expect(path, SHARC_EFORMAT, "header length", "65535 bytes");
  /* v2: 2 MiB claimed, over the cap before any allocation. */
  unsigned char c[100] = "\x93NUMPY\x02\x00\x00\x00\x20\x00{";
  write_raw(path, c, sizeof c);
  probe_expect(path, SHARC_EFORMAT, "header length", "over the limit");
  unsigned char d[100] = "\x93NUMPY\x03\x00\xff\xff\xff\xff{";
  write_raw(path, d, sizeof d);
  probe_expect(path, SHARC_EFORMAT, "header length", NULL);
}

/* --- malformed files: the dictionary ------------------------------------- */

Test(npy, header_without_newline_is_eformat) {
  const char *path = file("nonl.npy");
  char dict[] = DICT_F8_34;
  char b[128];
  memset(b, ' ', sizeof b);
  memcpy(b, "\x93NUMPY\x01\x00\x76\x00", 10);
  memcpy(b + 10, dict, sizeof dict - 1);
  write_raw(path, b, sizeof b);
  probe_expect(path, SHARC_EFORMAT, "header", "newline");
}

Test(npy, missing_key_is_eformat) {
  expect_malformed(1, "{'descr': '<f8', 'fortran_order': False, }", 8, "header",
                   "missing key 'shape'");
  expect_malformed(1, "{'shape': (2,), 'fortran_order': False}", 16, "header",
                   "missing key 'descr'");
  expect_malformed(1, "{'descr': '<f8', 'shape': (2,)}", 16, "header",
                   "missing key 'fortran_order'");
  expect_malformed(1, "{}", 0, "header", "missing key 'descr'");
}

Test(npy, extra_key_is_eformat) {
  expect_malformed(1,
                   "{'descr': '<f8', 'fortran_order': False, 'shape': (3, 4), "
                   "'foo': 1, }",
                   96, "header", "unexpected key 'foo'");
}

Test(npy, duplicate_key_is_eformat) {
  expect_malformed(1,
                   "{'descr': '<f8', 'descr': '<f8', 'fortran_order': False, "
                   "'shape': (3, 4), }",
                   96, "header", "duplicate key 'descr'");
  expect_malformed(1,
                   "{'descr': '<f8', 'fortran_order': False, 'shape': (3, 4), "
                   "'shape': (3, 4)}",
                   96, "header", "duplicate key 'shape'");
}

Test(npy, fortran_order_must_be_true_or_false) {
  expect_malformed(1, "{'descr': '<f8', 'fortran_order': 1, 'shape': (3, 4), }",
                   96, "header field 'fortran_order'", "True or False");
  expect_malformed(1,
                   "{'descr': '<f8', 'fortran_order': true, 'shape': (3, 4), }",
                   96, "header field 'fortran_order'", "True or False");
  expect_malformed(1,
                   "{'descr': '<f8', 'fortran_order': 'False', 'shape': (3, "
                   "4), }",
                   96, "header field 'fortran_order'", "True or False");
}

Test(npy, negative_dimension_is_eformat) {
  expect_malformed(
      1, "{'descr': '<f8', 'fortran_order': False, 'shape': (3, -1), }", 0,
      "header field 'shape'", "dimension 1 is negative");
}

Test(npy, shape_syntax_errors_are_eformat) {
  static const char *const shapes_bad[] = {"(5)",
                                           "[3, 4]",
                                           "(3, 4",
                                           "(3 4)",
                                           "(3,,)",
                                           "(,)",
                                           "(05,)",
                                           "(5.0,)",
                                           "(0x5,)",
                                           "(+5,)",
                                           "(3, 'a')",
                                           "5",
                                           "(18446744073709551616,)"};
  for (size_t i = 0; i < sizeof shapes_bad / sizeof shapes_bad[0]; i++) {
    char dict[160];
    snprintf(dict, sizeof dict,
             "{'descr': '<f8', 'fortran_order': False, 'shape': %s}",
             shapes_bad[i]);
    expect_malformed(1, dict, 1000, "header field 'shape'", NULL);
  }
}

Test(npy, element_count_overflow_is_eformat) {
  expect_malformed(1,
                   "{'descr': '|u1', 'fortran_order': False, 'shape': "
                   "(4294967296, 4294967296, 2), }",
                   0, "header field 'shape'", "element count overflows");
  /* Zero extents do not hide an overflow among the others (as NumPy). */
  expect_malformed(1,
                   "{'descr': '|u1', 'fortran_order': False, 'shape': "
                   "(0, 4294967296, 4294967296, 2), }",
                   0, "header field 'shape'", "element count overflows");
}

Test(npy, byte_size_overflow_is_eformat) {
  expect_malformed(1,
                   "{'descr': '<f8', 'fortran_order': False, 'shape': "
                   "(2305843009213693952,), }",
                   0, "header field 'shape'", "size in bytes");
  expect_malformed(1,
                   "{'descr': '<c16', 'fortran_order': False, 'shape': "
                   "(4294967296, 1073741824), }",
                   0, "header field 'shape'", "overflows");
}

static void dict_with_ndim(char *out, size_t len, int ndim) {
  size_t n = (size_t)snprintf(out, len,
                              "{'descr': '<f8', 'fortran_order': False, "
                              "'shape': (");
  for (int i = 0; i < ndim; i++)
    n += (size_t)snprintf(out + n, len - n, "1, ");
  snprintf(out + n, len - n, "), }");
}

Test(npy, ndim_65_is_eformat_and_64_is_fine) {
  char dict[512];
  dict_with_ndim(dict, sizeof dict, 65);
  expect_malformed(1, dict, 8, "header field 'shape'", "more than 64");
  dict_with_ndim(dict, sizeof dict, 64);
  const char *path = file("d64.npy");
  write_npy(path, 1, 0, dict, 0, 8);
  sharc__npy_meta info = probe_expect(path, 0, NULL, NULL);
  cr_assert_eq(info.ndim, 64);
  cr_assert_eq(info.nbytes, 8);
  cr_assert_eq(info.mappable, 1);
}

Test(npy, data_shorter_than_shape_is_eformat) {
  const char *path = file("short.npy");
  write_npy(path, 1, 0, DICT_F8_34, 0, 95);
  probe_expect(path, SHARC_EFORMAT, "header field 'shape'",
               "data is 95 bytes, shape needs 96");
  write_npy(path, 1, 0, DICT_F8_34, 0, 97); /* trailing bytes are allowed */
  sharc__npy_meta info = probe_expect(path, 0, NULL, NULL);
  cr_assert_eq(info.nbytes, 96);
  cr_assert_eq(info.file_size, 128 + 97);
}

Test(npy, dictionary_syntax_errors_are_eformat) {
  static const char *const bad[] = {
      "",
      "{'descr': '<f8' 'fortran_order': False, 'shape': (3, 4)}",
      "{'descr' '<f8', 'fortran_order': False, 'shape': (3, 4)}",
      "{'descr': '<f8, 'fortran_order': False, 'shape': (3, 4)}",
      "{descr: '<f8', 'fortran_order': False, 'shape': (3, 4)}",
      "{'descr': '<f8', 'fortran_order': False, 'shape': (3, 4)} x",
      "{'descr': '<f8', 'fortran_order': False, 'shape': (3, 4)}}",
      "{'descr': '<f8', 'fortran_order': False, 'shape': (3, 4),,}",
      "('descr', '<f8')",
      "{'descr': 5, 'fortran_order': False, 'shape': (3, 4)}",
      "{'descr': '<f8', 'fortran_order': False, 'shape': (3, 4)",
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
    expect_malformed(1, bad[i], 96, "header", NULL);
}

/* --- well-formed but not mappable ---------------------------------------- */

Test(npy, object_dtype_is_not_mappable) {
  expect_not_mappable(
      "{'descr': '|O', 'fortran_order': False, 'shape': (3,), }", 24,
      SHARC_EDTYPE, "header field 'descr'", "object");
}

Test(npy, structured_dtype_parses_and_is_not_mappable) {
  expect_not_mappable("{'descr': [('a', '<i4'), ('b', '<f8', (2,)), ('c', "
                      "[('x', '|u1')])], 'fortran_order': False, 'shape': "
                      "(3,), }",
                      0, SHARC_EDTYPE, "header field 'descr'",
                      "structured dtype not supported");
  sharc__npy_meta info;
  cr_assert_eq(probe_meta(file("nm.npy"), &info, NULL, 0), 0);
  cr_assert_eq(strncmp(info.descr, "[('a', '<i4'), ", 15), 0, "%s", info.descr);
  expect_not_mappable("{'shape': (2, 2), 'descr': [], 'fortran_order': True}",
                      0, SHARC_EDTYPE, "structured", NULL);
}

Test(npy, malformed_or_deep_structured_descr_is_eformat) {
  expect_malformed(1,
                   "{'descr': [('a', '<i4'), ('b' '<f8')], 'fortran_order': "
                   "False, 'shape': (3,), }",
                   0, "header field 'descr'", NULL);
  char dict[512];
  int n = snprintf(dict, sizeof dict, "{'descr': ");
  for (int i = 0; i < 100; i++)
    dict[n++] = i % 2 ? '(' : '[';
  snprintf(dict + n, sizeof dict - (size_t)n, ", 'shape': ()}");
  expect_malformed(1, dict, 0, "header field 'descr'", "nested too deeply");
}

Test(npy, big_endian_is_not_mappable_for_its_byte_order) {
  expect_not_mappable("{'descr': '>f8', 'fortran_order': False, 'shape': (3, "
                      "4), }",
                      96, SHARC_EDTYPE, "header field 'descr'", "byte order");
  sharc__npy_meta info;
  cr_assert_eq(probe_meta(file("nm.npy"), &info, NULL, 0), 0);
  cr_assert_str_eq(info.descr, ">f8");
  cr_assert_eq(info.nbytes, 96, "the payload is still checked");
  const char *path = file("be.npy");
  write_npy(path, 1, 0,
            "{'descr': '>f8', 'fortran_order': False, 'shape': (3, 4), }", 0,
            95);
  probe_expect(path, SHARC_EFORMAT, "data is 95 bytes", NULL);
}

Test(npy, unsupported_typestrs_are_not_mappable) {
  static const char *const descrs[] = {
      "<f2", "<f16", "<c32", "|f8",     "<U5",  "|S3", "<M8[ns]",
      "|V8", "",     "<i3",  "float64", "<f08", "<b2", "xyz"};
  for (size_t i = 0; i < sizeof descrs / sizeof descrs[0]; i++) {
    char dict[160];
    snprintf(dict, sizeof dict,
             "{'descr': '%s', 'fortran_order': False, 'shape': (2,), }",
             descrs[i]);
    expect_not_mappable(dict, 64, SHARC_EDTYPE, "header field 'descr'", NULL);
  }
  expect_not_mappable("{'descr': '|f8', 'fortran_order': False, 'shape': (2,)}",
                      16, SHARC_EDTYPE, "'|'", "1-byte");
}

Test(npy, data_offset_not_a_multiple_of_the_item_size_is_not_mappable) {
  const char *path = file("odd.npy");
  write_npy(path, 1, 0,
            "{'descr': '<c16', 'fortran_order': False, 'shape': (2,), }", 88,
            32);
  sharc__npy_meta info =
      probe_expect(path, 0, "data offset 88", "item size 16");
  cr_assert_eq(info.mappable, 0);
  cr_assert_eq(info.why_not, SHARC_EFORMAT);
  cr_assert_eq(info.dtype, SHARC_C128);
  /* 88 is a multiple of 8: f8 maps without NumPy's 64-byte alignment. */
  write_npy(path, 1, 0,
            "{'descr': '<f8', 'fortran_order': False, 'shape': (2,), }", 88,
            16);
  info = probe_expect(path, 0, NULL, NULL);
  cr_assert_eq(info.mappable, 1);
  cr_assert_eq(info.data_offset, 88);
}

/* --- encodings ------------------------------------------------------------ */

Test(npy, invalid_utf8_in_v3_is_eformat_but_latin1_in_v1_is_not) {
  static const char *const bad[] = {"\xff",
                                    "\xc3\x28",
                                    "\xc0\xaf",
                                    "\xe0\x80\xaf",
                                    "\xed\xa0\x80",
                                    "\xf4\x90\x80\x80",
                                    "\xf8\x88\x80\x80\x80",
                                    "\xe2\x82"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    char dict[160];
    snprintf(dict, sizeof dict,
             "{'descr': '<f8%s', 'fortran_order': False, 'shape': (2,), }",
             bad[i]);
    expect_malformed(3, dict, 16, "header", "UTF-8");
    expect_not_mappable(dict, 16, SHARC_EDTYPE, "header field 'descr'", NULL);
  }
  /* Valid UTF-8 in v3 parses: a descr that is then simply unsupported. */
  const char *path = file("u8.npy");
  write_npy(path, 3, 0,
            "{'descr': '<f8\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80', "
            "'fortran_order': False, 'shape': (2,), }",
            0, 16);
  sharc__npy_meta info = probe_expect(path, 0, "header field 'descr'", NULL);
  cr_assert_eq(info.why_not, SHARC_EDTYPE);
}

/* --- accepted variations ------------------------------------------------- */

static sharc__npy_meta expect_ok(int major, const char *dict, size_t payload) {
  const char *path = file("ok.npy");
  write_npy(path, major, 0, dict, 0, payload);
  sharc__npy_meta info = probe_expect(path, 0, NULL, NULL);
  cr_assert_eq(info.mappable, 1, "%s", dict);
  return info;
}

Test(npy, any_key_order_quotes_spacing_and_trailing_commas_parse) {
  sharc__npy_meta info = expect_ok(
      1, "{\"shape\":(3,4,),\"fortran_order\":True,\"descr\":\"<f8\"}", 96);
  cr_assert_eq(info.ndim, 2);
  cr_assert_eq(info.shape[1], 4);
  cr_assert_eq(info.fortran_order, 1);
  info = expect_ok(2,
                   "  {\n 'fortran_order' :\tFalse ,\r\n 'shape' : ( 3 , 4 ) "
                   ", 'descr' : '<f8' , }  ",
                   96);
  cr_assert_eq(info.version_major, 2);
  cr_assert_eq(info.fortran_order, 0);
  info =
      expect_ok(3, "{'descr': '<f8', 'fortran_order': False, 'shape': ()}", 8);
  cr_assert_eq(info.ndim, 0);
  cr_assert_eq(info.nbytes, 8);
}

Test(npy, python2_long_suffix_only_in_v1_and_v2) {
  const char *dict =
      "{'descr': '<f8', 'fortran_order': False, 'shape': (3L, 4L), }";
  sharc__npy_meta info = expect_ok(1, dict, 96);
  cr_assert_eq(info.shape[0], 3);
  expect_ok(2, dict, 96);
  expect_malformed(3, dict, 96, "header field 'shape'", "L suffix");
}

Test(npy, native_and_one_byte_byte_orders_map) {
  static const struct {
    const char *descr;
    sharc_dtype dt;
  } cases[] = {{"=f8", SHARC_F64}, {"f8", SHARC_F64},   {">i1", SHARC_I8},
               {"<u1", SHARC_U8},  {"|b1", SHARC_BOOL}, {"|?1", SHARC_BOOL},
               {"<c8", SHARC_C64}, {"<i8", SHARC_I64},  {"=u2", SHARC_U16}};
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    char dict[160];
    snprintf(dict, sizeof dict,
             "{'descr': '%s', 'fortran_order': False, 'shape': (2,), }",
             cases[i].descr);
    sharc__npy_meta info = expect_ok(1, dict, 32);
    cr_assert_eq(info.dtype, cases[i].dt, "%s", cases[i].descr);
    cr_assert_str_eq(info.descr, cases[i].descr);
  }
}

/* --- system errors ------------------------------------------------------- */

/* A directory is refused with the negated errno -EISDIR (not EFORMAT: the
 * path names no file at all); a missing file with -ENOENT. */
Test(npy, directory_and_missing_file_give_negated_errno) {
  probe_expect(tmpdir, -EISDIR, "directory", NULL);
  probe_expect(file("absent.npy"), -ENOENT, "cannot open", NULL);
}

Test(npy, pipe_is_not_a_regular_file) {
  int fds[2];
  cr_assert_eq(pipe(fds), 0);
  sharc__npy_meta info;
  char msg[256];
  cr_assert_eq(sharc__npy_read_fd(fds[0], "pipe", &info, msg, sizeof msg),
               SHARC_EFORMAT);
  cr_assert_not_null(strstr(msg, "not a regular file"), "%s", msg);
  close(fds[0]);
  close(fds[1]);
}

Test(npy, probe_refuses_null_arguments) {
  sharc_npy_info *pub = (sharc_npy_info *)1;
  char msg[64];
  cr_assert_eq(sharc_npy_probe(NULL, &pub, msg, sizeof msg), SHARC_EINVAL);
  cr_assert_null(pub);
  cr_assert_eq(sharc_npy_probe("x.npy", NULL, msg, sizeof msg), SHARC_EINVAL);
  cr_assert_eq(sharc__npy_read_fd(0, "x.npy", NULL, NULL, 0), SHARC_EINVAL);
  sharc_npy_info_free(NULL);
}

/* --- robustness ----------------------------------------------------------- */

/* Any outcome but a crash is a return of 0 or SHARC_EFORMAT (a memfd cannot
 * fail to read), a one-line message, and an info consistent with itself. */
static void expect_sane(int fd, int rc, const sharc__npy_meta *info,
                        const char *msg, size_t msglen) {
  cr_assert(rc == 0 || rc == SHARC_EFORMAT, "rc %d: %s", rc, msg);
  cr_assert_not_null(memchr(msg, '\0', msglen));
  cr_assert_null(strchr(msg, '\n'), "%s", msg);
  cr_assert_eq(strncmp(msg, "fz.npy: ", 8), 0, "%s", msg);
  if (rc != 0)
    return;
  struct stat st;
  cr_assert_eq(fstat(fd, &st), 0);
  cr_assert_eq(info->file_size, (uint64_t)st.st_size);
  cr_assert(info->ndim >= 0 && info->ndim <= SHARC_MAX_DIMS);
  cr_assert_leq(info->data_offset + info->nbytes, info->file_size);
  cr_assert_eq(info->mappable, info->why_not == 0);
  cr_assert(!info->mappable || info->dtype < SHARC_DTYPE_COUNT);
  cr_assert(!info->mappable ||
            info->data_offset % sharc_dtype_size(info->dtype) == 0);
  cr_assert_not_null(memchr(info->descr, '\0', sizeof info->descr));
}

static int parse_bytes(int fd, const unsigned char *b, size_t len) {
  sharc__npy_meta info;
  char msg[200];
  cr_assert_eq(ftruncate(fd, 0), 0);
  cr_assert_eq(pwrite(fd, b, len, 0), (ssize_t)len);
  int rc = sharc__npy_read_fd(fd, "fz.npy", &info, msg, sizeof msg);
  expect_sane(fd, rc, &info, msg, sizeof msg);
  return rc;
}

Test(npy, every_prefix_of_a_valid_file_is_eformat_until_complete) {
  static const shape_case s = {2, {3, 4}};
  unsigned char *buf;
  size_t len = sharc_file(SHARC_F64, 0, &s, &buf);
  int fd = memfd_create("fz", MFD_CLOEXEC);
  cr_assert_geq(fd, 0);
  for (size_t n = 0; n <= len; n++)
    cr_assert_eq(parse_bytes(fd, buf, n), n == len ? 0 : SHARC_EFORMAT,
                 "prefix of %zu bytes", n);
  close(fd);
  free(buf);
}

/* Every byte of the prefix set to every value: 0 or EFORMAT, never a crash
 * (the suite is also run under ASan and UBSan). */
static void mutate_all_bytes(const unsigned char *orig, size_t len,
                             size_t prefix) {
  int fd = memfd_create("fz", MFD_CLOEXEC);
  cr_assert_geq(fd, 0);
  unsigned char *b = malloc(len);
  cr_assert_not_null(b);
  int ok = 0;
  for (size_t i = 0; i < prefix; i++)
    for (int v = 0; v < 256; v++) {
      memcpy(b, orig, len);
      b[i] = (unsigned char)v;
      ok += parse_bytes(fd, b, len) == 0;
    }
  cr_assert_gt(ok, (int)prefix, "the unmutated byte values parse");
  free(b);
  close(fd);
}

Test(npy, every_single_byte_mutation_of_a_header_is_handled) {
  static const shape_case s = {3, {2, 3, 4}};
  unsigned char *buf;
  size_t len = sharc_file(SHARC_I32, 1, &s, &buf);
  mutate_all_bytes(buf, len, 128);
  free(buf);
}

Test(npy, every_single_byte_mutation_of_a_v3_structured_header_is_handled) {
  const char *path = file("st.npy");
  write_npy(path, 3, 0,
            "{'descr': [('a', '<i4'), ('b', '<f8', (2, 3L))], "
            "'fortran_order': True, 'shape': (2,), }",
            0, 64);
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  unsigned char b[192];
  cr_assert_eq(pread(fd, b, sizeof b, 0), (ssize_t)sizeof b);
  close(fd);
  mutate_all_bytes(b, sizeof b, 128);
}

static unsigned char *read_whole(const char *path, size_t *len) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  cr_assert_geq(fd, 0, "%s: %s", path, strerror(errno));
  struct stat st;
  cr_assert_eq(fstat(fd, &st), 0);
  unsigned char *b = malloc((size_t)st.st_size + 1);
  cr_assert_not_null(b);
  cr_assert_eq(pread(fd, b, (size_t)st.st_size, 0), st.st_size);
  close(fd);
  *len = (size_t)st.st_size;
  return b;
}

/* Random multi-byte mutations drawn from the grammar's own characters reach
 * deeper into the parser than single bytes do; one base file per version. */
Test(npy, random_grammar_mutations_are_handled) {
  static const char alphabet[] = "{}()[]'\",: -0123456789LTrueFalsebiufcO?<>|="
                                 "\n\t\x80\xc3\xff";
  int fd = memfd_create("fz", MFD_CLOEXEC);
  cr_assert_geq(fd, 0);
  uint64_t x = 0x9e3779b97f4a7c15u;
  for (int v = 1; v <= 3; v++) {
    const char *path = file("base.npy");
    write_npy(path, v, 0,
              "{'descr': '<c8', 'fortran_order': False, 'shape': (3, 4), }", 0,
              96);
    size_t len, hdr = v == 1 ? 10 : 12;
    unsigned char *orig = read_whole(path, &len), *b = malloc(len);
    for (int iter = 0; iter < 10000; iter++) {
      memcpy(b, orig, len);
      for (int m = 0; m < 1 + iter % 4; m++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        size_t at = hdr + (size_t)(x % (128 - hdr));
        b[at] = (unsigned char)alphabet[(x >> 32) % (sizeof alphabet - 1)];
      }
      parse_bytes(fd, b, len);
    }
    free(b);
    free(orig);
  }
  close(fd);
}

Test(npy, messages_fit_any_buffer_size) {
  const char *path = file("msg.npy");
  write_npy(path, 1, 0, "{'descr': '<f8', 'fortran_order': 1, 'shape': (3,)}",
            0, 24);
  for (size_t len = 0; len < 40; len++) {
    char msg[48];
    memset(msg, '#', sizeof msg);
    sharc__npy_meta info;
    cr_assert_eq(probe_meta(path, &info, len ? msg : NULL, len), SHARC_EFORMAT);
    for (size_t i = len; i < sizeof msg; i++)
      cr_assert_eq(msg[i], '#', "msglen %zu: byte %zu written", len, i);
    cr_assert(len == 0 || memchr(msg, '\0', len) != NULL);
  }
}
