/* Files the user names: an input that is a FIFO is refused at once, never
 * waited on; an output (a .npy, a trace, a journal) goes only where nothing
 * is or where a regular file is, never into a device or a FIFO nor through
 * a symbolic link. Every refusal names the path.
 *
 * A call that would block on a FIFO runs in a child process with an alarm,
 * so that a regression fails the test instead of hanging it: the parent
 * reads the child's answer from a pipe (EOF if the child died). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "helpers.h"
#include "npy.h"

static int fill(const sharc_task *t, uint64_t b, uint64_t e) {
  (void)t;
  (void)b;
  (void)e;
  return 0;
}
SHARC_KERNEL(fill)

static char dir[] = "/tmp/sharc-paths-XXXXXX";

static void setup(void) { cr_assert_not_null(mkdtemp(dir)); }

static void teardown(void) {
  DIR *d = opendir(dir);
  if (d == NULL)
    return;
  struct dirent *e;
  char p[512];
  while ((e = readdir(d)) != NULL) {
    if (e->d_name[0] == '.')
      continue;
    snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
    if (rmdir(p) != 0)
      unlink(p);
  }
  closedir(d);
  rmdir(dir);
}

TestSuite(paths, .init = setup, .fini = teardown);

static const char *at(const char *name) {
  static char buf[16][512];
  static int k;
  k = (k + 1) % 16;
  snprintf(buf[k], sizeof buf[k], "%s/%s", dir, name);
  return buf[k];
}

static void write_file(const char *path, const char *text) {
  FILE *f = fopen(path, "w");
  cr_assert_not_null(f, "%s", path);
  fputs(text, f);
  fclose(f);
}

static void assert_content(const char *path, const char *text) {
  char buf[256] = "";
  FILE *f = fopen(path, "r");
  cr_assert_not_null(f, "%s", path);
  size_t n = fread(buf, 1, sizeof buf - 1, f);
  fclose(f);
  buf[n] = '\0';
  cr_assert_str_eq(buf, text, "%s was changed", path);
}

static void assert_kind(const char *path, mode_t kind) {
  struct stat st;
  cr_assert_eq(lstat(path, &st), 0, "%s is gone", path);
  cr_assert_eq(st.st_mode & S_IFMT, kind, "%s changed kind (mode %o)", path,
               (unsigned)st.st_mode);
}

/* Nothing but the names given (and no temporary file) is in the directory. */
static void assert_only(int n, const char *const *names) {
  DIR *d = opendir(dir);
  cr_assert_not_null(d);
  struct dirent *e;
  while ((e = readdir(d)) != NULL) {
    if (e->d_name[0] == '.')
      continue;
    int known = 0;
    for (int i = 0; i < n; i++)
      known |= strcmp(e->d_name, names[i]) == 0;
    cr_assert(known, "%s/%s was left behind", dir, e->d_name);
  }
  closedir(d);
}

/* --- calls that must not block, run in a child under an alarm ----------- */

typedef struct answer {
  int rc;
  char msg[512];
} answer;

typedef void (*call_fn)(sharc_pool *pool, const char *path, answer *a);

static answer bounded(sharc_pool *pool, call_fn fn, const char *path) {
  int fds[2];
  cr_assert_eq(pipe(fds), 0);
  pid_t pid = fork();
  cr_assert_geq(pid, 0);
  if (pid == 0) {
    close(fds[0]);
    alarm(20); /* a blocked open ends here, killing the child */
    answer a = {0, ""};
    fn(pool, path, &a);
    ssize_t w = write(fds[1], &a, sizeof a);
    _exit(w == (ssize_t)sizeof a ? 0 : 1);
  }
  close(fds[1]);
  answer a;
  ssize_t got = read(fds[0], &a, sizeof a);
  close(fds[0]);
  int status;
  cr_assert_eq(waitpid(pid, &status, 0), pid);
  cr_assert(!WIFSIGNALED(status) || WTERMSIG(status) != SIGALRM,
            "%s: the call blocked (killed by the alarm after 20 s)", path);
  cr_assert_eq(got, (ssize_t)sizeof a, "%s: the child died (status %d)", path,
               status);
  return a;
}

static void call_open_npy(sharc_pool *pool, const char *path, answer *a) {
  sharc_array *arr = NULL;
  a->rc = sharc_array_open_npy(pool, path, SHARC_READ, &arr);
  snprintf(a->msg, sizeof a->msg, "%s", sharc_pool_errmsg(pool));
}

static void call_open_npy_rw(sharc_pool *pool, const char *path, answer *a) {
  sharc_array *arr = NULL;
  a->rc = sharc_array_open_npy(pool, path, SHARC_RDWR, &arr);
  snprintf(a->msg, sizeof a->msg, "%s", sharc_pool_errmsg(pool));
}

static void call_open_raw(sharc_pool *pool, const char *path, answer *a) {
  sharc_array *arr = NULL;
  uint64_t shape[1] = {4};
  a->rc = sharc_array_open_raw(pool, path, SHARC_READ, SHARC_U8, 1, shape, 0,
                               &arr);
  snprintf(a->msg, sizeof a->msg, "%s", sharc_pool_errmsg(pool));
}

static void call_open_raw_rw(sharc_pool *pool, const char *path, answer *a) {
  sharc_array *arr = NULL;
  uint64_t shape[1] = {4};
  a->rc = sharc_array_open_raw(pool, path, SHARC_RDWR, SHARC_U8, 1, shape, 0,
                               &arr);
  snprintf(a->msg, sizeof a->msg, "%s", sharc_pool_errmsg(pool));
}

static void call_probe(sharc_pool *pool, const char *path, answer *a) {
  (void)pool;
  sharc_npy_info *info;
  a->rc = sharc_npy_probe(path, &info, a->msg, sizeof a->msg);
  sharc_npy_info_free(info);
}

static void call_attach(sharc_pool *pool, const char *name, answer *a) {
  sharc_array *arr = NULL;
  a->rc = sharc_array_attach_shm(pool, name, SHARC_READ, &arr);
  snprintf(a->msg, sizeof a->msg, "%s", sharc_pool_errmsg(pool));
}

static void expect_fifo_refused(const answer *a, const char *path) {
  cr_assert_eq(a->rc, SHARC_EFORMAT, "%s: rc %d (%s): %s", path, a->rc,
               sharc_err_name(a->rc), a->msg);
  cr_assert_not_null(strstr(a->msg, path), "'%s' does not name %s", a->msg,
                     path);
  cr_assert_not_null(strstr(a->msg, "is a FIFO, not a regular file"), "%s",
                     a->msg);
}

Test(paths, opening_a_fifo_as_input_is_refused_without_blocking) {
  const char *fifo = at("f.npy");
  cr_assert_eq(mkfifo(fifo, 0600), 0);
  sharc_pool *p = test_pool(1);
  const call_fn calls[] = {call_open_npy, call_open_npy_rw, call_open_raw,
                           call_open_raw_rw, call_probe};
  for (size_t i = 0; i < sizeof calls / sizeof calls[0]; i++) {
    answer a = bounded(p, calls[i], fifo);
    expect_fifo_refused(&a, fifo);
  }
  assert_kind(fifo, S_IFIFO);
  sharc_pool_destroy(p);
}

/* Another user (here: this one) can put a FIFO in /dev/shm under a name an
 * attaching process will open. */
Test(paths, attaching_a_fifo_in_dev_shm_is_refused_without_blocking) {
  char name[64], file[80];
  snprintf(name, sizeof name, "/sharc-fifo-test-%ld", (long)getpid());
  snprintf(file, sizeof file, "/dev/shm%s", name);
  unlink(file);
  cr_assert_eq(mkfifo(file, 0600), 0, "%s: %s", file, strerror(errno));
  sharc_pool *p = test_pool(1);
  answer a = bounded(p, call_attach, name);
  unlink(file);
  sharc_pool_destroy(p);
  expect_fifo_refused(&a, name);
}

Test(paths, a_directory_as_input_is_refused_with_eisdir) {
  sharc_pool *p = test_pool(1);
  answer a = bounded(p, call_open_raw, dir);
  cr_assert_eq(a.rc, -EISDIR, "rc %d: %s", a.rc, a.msg);
  cr_assert_not_null(strstr(a.msg, dir), "%s", a.msg);
  sharc_pool_destroy(p);
}

/* --- outputs ------------------------------------------------------------- */

/* A .npy output over what is at path: a FIFO, a symbolic link or a
 * directory is refused when the array is created, before any work. */
Test(paths, npy_output_refuses_fifo_symlink_and_directory) {
  const char *fifo = at("fifo.npy"), *link = at("link.npy"),
             *target = at("target"), *sub = at("sub.npy");
  cr_assert_eq(mkfifo(fifo, 0600), 0);
  write_file(target, "keep me");
  cr_assert_eq(symlink(target, link), 0);
  cr_assert_eq(mkdir(sub, 0700), 0);
  sharc_pool *p = test_pool(1);
  uint64_t shape[1] = {8};
  const struct {
    const char *path;
    int rc;
    const char *says;
  } cases[] = {{fifo, -EEXIST, "is a FIFO, not a regular file"},
               {link, -ELOOP, "is a symbolic link"},
               {sub, -EISDIR, "is a directory"}};
  for (size_t i = 0; i < 3; i++) {
    sharc_array *a = NULL;
    int rc = sharc_array_create_npy(p, cases[i].path, SHARC_F64, 1, shape, 0,
                                    &a);
    cr_assert_eq(rc, cases[i].rc, "%s: rc %d (%s): %s", cases[i].path, rc,
                 sharc_err_name(rc), sharc_pool_errmsg(p));
    cr_assert_null(a);
    cr_assert_not_null(strstr(sharc_pool_errmsg(p), cases[i].path), "%s",
                       sharc_pool_errmsg(p));
    cr_assert_not_null(strstr(sharc_pool_errmsg(p), cases[i].says), "%s",
                       sharc_pool_errmsg(p));
  }
  assert_kind(fifo, S_IFIFO);
  assert_kind(link, S_IFLNK);
  assert_kind(sub, S_IFDIR);
  assert_content(target, "keep me");
  const char *left[] = {"fifo.npy", "link.npy", "target", "sub.npy"};
  assert_only(4, left);
  sharc_pool_destroy(p);
}

/* A FIFO made at the path after the array was created is still not
 * replaced by the commit; a regular file is. */
Test(paths, npy_commit_replaces_a_regular_file_but_not_a_fifo) {
  const char *out = at("out.npy"), *late = at("late.npy");
  write_file(out, "old");
  sharc_pool *p = test_pool(1);
  uint64_t shape[1] = {8};
  sharc_array *a = NULL, *b = NULL;
  cr_assert_eq(sharc_array_create_npy(p, out, SHARC_F64, 1, shape, 0, &a), 0,
               "%s", sharc_pool_errmsg(p));
  cr_assert_eq(sharc_array_commit(a), 0, "%s", sharc_pool_errmsg(p));
  sharc_npy_info *info;
  cr_assert_eq(sharc_npy_probe(out, &info, NULL, 0), 0);
  cr_assert_eq(info->ndim, 1);
  cr_assert_eq(info->shape[0], 8);
  sharc_npy_info_free(info);
  cr_assert_eq(sharc_array_create_npy(p, late, SHARC_F64, 1, shape, 0, &b), 0,
               "%s", sharc_pool_errmsg(p));
  cr_assert_eq(mkfifo(late, 0600), 0);
  int rc = sharc_array_commit(b);
  cr_assert_eq(rc, -EEXIST, "rc %d: %s", rc, sharc_pool_errmsg(p));
  cr_assert_not_null(strstr(sharc_pool_errmsg(p), late), "%s",
                     sharc_pool_errmsg(p));
  sharc_array_destroy(b);
  sharc_array_destroy(a);
  assert_kind(late, S_IFIFO);
  const char *left[] = {"out.npy", "late.npy"};
  assert_only(2, left);
  sharc_pool_destroy(p);
}

static int run_with(sharc_pool *p, const char *trace, const char *journal,
                    int resume, sharc_report *rep) {
  sharc_job_opts o = SHARC_JOB_OPTS_INIT;
  o.trace_path = trace;
  o.journal_path = journal;
  o.resume = resume;
  return sharc_run(p, "fill", 1000, &o, rep);
}

Test(paths, trace_goes_over_nothing_or_a_regular_file_only) {
  const char *fifo = at("t.fifo"), *link = at("t.link"), *target = at("tgt"),
             *sub = at("t.dir"), *old = at("t.old"), *fresh = at("t.new");
  cr_assert_eq(mkfifo(fifo, 0600), 0);
  write_file(target, "keep me");
  cr_assert_eq(symlink(target, link), 0);
  cr_assert_eq(mkdir(sub, 0700), 0);
  write_file(old, "old trace");
  sharc_pool *p = test_pool(2);
  const struct {
    const char *path;
    int rc;
  } cases[] = {{fifo, -EEXIST}, {link, -ELOOP}, {sub, -EISDIR}};
  for (size_t i = 0; i < 3; i++) {
    int rc = run_with(p, cases[i].path, NULL, 0, NULL);
    cr_assert_eq(rc, cases[i].rc, "%s: rc %d (%s): %s", cases[i].path, rc,
                 sharc_err_name(rc), sharc_pool_errmsg(p));
    cr_assert_not_null(strstr(sharc_pool_errmsg(p), cases[i].path), "%s",
                       sharc_pool_errmsg(p));
  }
  cr_assert_eq(run_with(p, old, NULL, 0, NULL), 0, "%s", sharc_pool_errmsg(p));
  cr_assert_eq(run_with(p, fresh, NULL, 0, NULL), 0, "%s",
               sharc_pool_errmsg(p));
  sharc_pool_destroy(p);
  assert_kind(fifo, S_IFIFO);
  assert_kind(link, S_IFLNK);
  assert_kind(sub, S_IFDIR);
  assert_content(target, "keep me");
  assert_kind(old, S_IFREG);
  assert_kind(fresh, S_IFREG);
  FILE *f = fopen(old, "r");
  char line[64] = "";
  cr_assert_not_null(fgets(line, sizeof line, f));
  fclose(f);
  cr_assert_str_eq(line, "# sharc trace 1\n");
  const char *left[] = {"t.fifo", "t.link", "tgt", "t.dir", "t.old", "t.new"};
  assert_only(6, left);
}

/* A journal that is a FIFO or a link is refused before the job runs, new
 * or resumed; resuming one never blocks. */
Test(paths, journal_refuses_fifo_and_symlink) {
  const char *fifo = at("j.fifo"), *link = at("j.link"), *target = at("tgt");
  cr_assert_eq(mkfifo(fifo, 0600), 0);
  write_file(target, "keep me");
  cr_assert_eq(symlink(target, link), 0);
  sharc_pool *p = test_pool(2);
  sharc_report rep = SHARC_REPORT_INIT;
  int rc = run_with(p, NULL, fifo, 0, &rep);
  cr_assert_eq(rc, -EEXIST, "rc %d: %s", rc, sharc_pool_errmsg(p));
  cr_assert_eq(rep.indices, 0, "the job ran");
  sharc_report_free(&rep);
  rc = run_with(p, NULL, link, 0, NULL);
  cr_assert_eq(rc, -ELOOP, "rc %d: %s", rc, sharc_pool_errmsg(p));
  cr_assert_not_null(strstr(sharc_pool_errmsg(p), link), "%s",
                     sharc_pool_errmsg(p));
  rc = run_with(p, NULL, link, 1, NULL);
  cr_assert_eq(rc, -ELOOP, "rc %d: %s", rc, sharc_pool_errmsg(p));
  sharc_pool_destroy(p);
  assert_kind(fifo, S_IFIFO);
  assert_kind(link, S_IFLNK);
  assert_content(target, "keep me");
  const char *left[] = {"j.fifo", "j.link", "tgt"};
  assert_only(3, left);
}

/* Runs in the bounded child: a pool is its creator's to run jobs on, so
 * the child makes its own. */
static void call_resume(sharc_pool *unused, const char *path, answer *a) {
  (void)unused;
  sharc_pool_opts po = SHARC_POOL_OPTS_INIT;
  po.workers = 1;
  sharc_pool *pool;
  a->rc = sharc_pool_create(&pool, &po, a->msg, sizeof a->msg);
  if (a->rc != 0)
    return;
  a->rc = run_with(pool, NULL, path, 1, NULL);
  snprintf(a->msg, sizeof a->msg, "%s", sharc_pool_errmsg(pool));
  sharc_pool_destroy(pool);
}

Test(paths, resuming_from_a_fifo_journal_does_not_block) {
  const char *fifo = at("r.fifo");
  cr_assert_eq(mkfifo(fifo, 0600), 0);
  answer a = bounded(NULL, call_resume, fifo);
  expect_fifo_refused(&a, fifo);
}
