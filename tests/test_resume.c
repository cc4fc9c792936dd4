/* Resume: a job writing into a file keeps a journal beside it; after its
 * coordinator is SIGKILLed mid-job, a new run with resume = 1 computes only
 * what the journal does not mark done, and the file ends up identical to an
 * uninterrupted run's. */
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "helpers.h"

static uint64_t value_at(uint64_t i) {
  uint64_t x = i;
  for (int k = 0; k < 6000; k++) {
    x ^= x >> 31;
    x *= UINT64_C(0x7fb5d329728ea185);
    x ^= x >> 27;
    x += (uint64_t)k;
  }
  return x | 1; /* never 0: 0 means "not written" */
}

static int fill(const sharc_task *t, uint64_t b, uint64_t e) {
  uint64_t *out = sharc_task_array(t, 0);
  for (uint64_t i = b; i < e; i++)
    out[i] = value_at(i);
  return 0;
}
SHARC_KERNEL(fill)

#define N 200000u

/* Whether the journal at path marks any block done: its bitmap follows a
 * 128-byte header (journal.c). Polled by the test as its handshake with
 * the coordinator: the kill then lands after the journal holds progress. */
static int journal_has_progress(const char *path) {
  int fd = open(path, O_RDONLY);
  if (fd < 0)
    return 0;
  unsigned char buf[4096];
  int found = 0;
  ssize_t got;
  off_t off = 128;
  while (!found && (got = pread(fd, buf, sizeof buf, off)) > 0) {
    for (ssize_t i = 0; i < got; i++)
      found |= buf[i] != 0;
    off += got;
  }
  close(fd);
  return found;
}

static int run_fill(sharc_pool *p, const char *path, const char *journal,
                    int resume, uint64_t salt, sharc_report *rep) {
  uint64_t shape[1] = {N};
  sharc_array *a;
  int rc = sharc_array_open_raw(p, path,
                                resume ? SHARC_RDWR : SHARC_RDWR | SHARC_CREATE,
                                SHARC_U64, 1, shape, 0, &a);
  if (rc != 0)
    return rc;
  sharc_job_opts o = SHARC_JOB_OPTS_INIT;
  o.arrays = (sharc_array *[]){a};
  o.narrays = 1;
  o.schedule = (sharc_schedule){SHARC_SCHED_AUTO, 1};
  o.journal_path = journal;
  o.resume = resume;
  o.args = &salt;
  o.args_len = sizeof salt;
  rc = sharc_run(p, "fill", N, &o, rep);
  sharc_array_destroy(a);
  return rc;
}

Test(resume, a_killed_coordinator_resumes_and_the_output_matches) {
  char dir[] = "/tmp/sharc-resume-XXXXXX";
  cr_assert_not_null(mkdtemp(dir));
  char path[64], journal[80];
  snprintf(path, sizeof path, "%s/out.u64", dir);
  snprintf(journal, sizeof journal, "%s.journal", path);

  /* A coordinator in a child process, killed as soon as its journal shows
   * progress (it writes the journal every 200 ms of a job of about 1.5 s
   * here): a handshake, not a guess at how long the machine takes. */
  pid_t child = fork();
  cr_assert_geq(child, 0);
  if (child == 0) {
    sharc_pool_opts po = SHARC_POOL_OPTS_INIT;
    po.workers = 2;
    sharc_pool *p;
    if (sharc_pool_create(&p, &po, NULL, 0) != 0)
      _exit(3);
    int rc = run_fill(p, path, journal, 0, 7, NULL);
    fprintf(stderr, "coordinator: rc %d: %s\n", rc, sharc_pool_errmsg(p));
    _exit(4); /* not reached: killed first */
  }
  int status;
  while (!journal_has_progress(journal)) {
    cr_assert_eq(waitpid(child, &status, WNOHANG), 0,
                 "the coordinator ended before its journal showed progress "
                 "(status %d)", status);
    struct timespec ts = {0, 2000000};
    nanosleep(&ts, NULL); /* polling a file, not waiting for an outcome */
  }
  kill(child, SIGKILL);
  cr_assert_eq(waitpid(child, &status, 0), child);
  cr_assert(WIFSIGNALED(status),
            "the coordinator finished before the kill "
            "(status %d): the job is too short here",
            status);
  struct stat st;
  cr_assert_eq(stat(journal, &st), 0, "no journal beside the output");

  sharc_pool *p = test_pool(2);
  sharc_report rep = SHARC_REPORT_INIT;
  int rc = run_fill(p, path, journal, 1, 7, &rep);
  cr_assert_eq(rc, 0, "resume: rc %d: %s", rc, sharc_pool_errmsg(p));
  cr_assert_gt(rep.indices, 0, "nothing left to do: the kill came late");
  cr_assert_lt(rep.indices, N, "the resume recomputed everything");
  cr_log_info("resume computed %llu of %u indices",
              (unsigned long long)rep.indices, N);
  sharc_report_free(&rep);

  /* The file is what an uninterrupted run writes, byte for byte, and its
   * values are right (a sample checked against the sequential code). */
  char ref[80], refj[96];
  snprintf(ref, sizeof ref, "%s/ref.u64", dir);
  snprintf(refj, sizeof refj, "%s.journal", ref);
  cr_assert_eq(run_fill(p, ref, refj, 0, 7, NULL), 0, "%s",
               sharc_pool_errmsg(p));
  uint64_t *buf = malloc(N * sizeof *buf), *want = malloc(N * sizeof *want);
  int fd = open(path, O_RDONLY), fr = open(ref, O_RDONLY);
  cr_assert(fd >= 0 && fr >= 0);
  cr_assert_eq(read(fd, buf, N * sizeof *buf), (ssize_t)(N * sizeof *buf));
  cr_assert_eq(read(fr, want, N * sizeof *want), (ssize_t)(N * sizeof *want));
  close(fd);
  close(fr);
  for (uint64_t i = 0; i < N; i++)
    cr_assert_eq(buf[i], want[i], "index %llu differs from the uninterrupted "
                 "run", (unsigned long long)i);
  for (uint64_t i = 0; i < N; i += 997)
    cr_assert_eq(buf[i], value_at(i), "index %llu", (unsigned long long)i);
  free(buf);
  free(want);
  unlink(ref);
  unlink(refj);

  /* Resuming a finished job does nothing. */
  rc = run_fill(p, path, journal, 1, 7, &rep);
  cr_assert_eq(rc, 0, "%s", sharc_pool_errmsg(p));
  cr_assert_eq(rep.indices, 0);
  sharc_report_free(&rep);
  /* A journal of another job is refused, naming what differs. */
  rc = run_fill(p, path, journal, 1, 8, NULL);
  cr_assert_eq(rc, SHARC_EINVAL, "rc %d", rc);
  cr_assert(strstr(sharc_pool_errmsg(p), "arguments") != NULL, "%s",
            sharc_pool_errmsg(p));
  cr_assert(strstr(sharc_pool_errmsg(p), journal) != NULL, "%s",
            sharc_pool_errmsg(p));
  /* No journal: a clear error. */
  unlink(journal);
  rc = run_fill(p, path, journal, 1, 7, NULL);
  cr_assert_eq(rc, -ENOENT, "rc %d", rc);
  sharc_pool_destroy(p);
  unlink(path);
  rmdir(dir);
}

/* out[i] = value_at(i) for a cheap stand-in; three indices crash. */
static int fill_poison3(const sharc_task *t, uint64_t b, uint64_t e) {
  uint64_t *out = sharc_task_array(t, 0);
  for (uint64_t i = b; i < e; i++) {
    if (i == 1001 || i == 1002 || i == 150007)
      raise(SIGSEGV);
    out[i] = i + 1;
  }
  return 0;
}
SHARC_KERNEL(fill_poison3)

/* A journal's blocks (4 indices for 2^22: n / 2^20) set how work is
 * claimed and recorded, not how far a failure is narrowed down: exactly
 * the poison indices are quarantined. */
#define NJ (1u << 22)
Test(resume, a_journal_does_not_coarsen_quarantine_to_its_blocks) {
  char dir[] = "/tmp/sharc-resume-XXXXXX";
  cr_assert_not_null(mkdtemp(dir));
  char path[64], journal[80];
  snprintf(path, sizeof path, "%s/out.u64", dir);
  snprintf(journal, sizeof journal, "%s.journal", path);
  sharc_pool *p = test_pool(2);
  uint64_t shape[1] = {NJ};
  sharc_array *a;
  cr_assert_eq(sharc_array_open_raw(p, path, SHARC_RDWR | SHARC_CREATE,
                                    SHARC_U64, 1, shape, 0, &a),
               0, "%s", sharc_pool_errmsg(p));
  sharc_job_opts o = SHARC_JOB_OPTS_INIT;
  o.arrays = (sharc_array *[]){a};
  o.narrays = 1;
  o.journal_path = journal;
  o.fault.retries = 1;
  sharc_report rep = SHARC_REPORT_INIT;
  int rc = sharc_run(p, "fill_poison3", NJ, &o, &rep);
  cr_assert_eq(rc, SHARC_EQUARANTINED, "rc %d: %s", rc, sharc_pool_errmsg(p));
  cr_assert_eq(rep.nquarantined, 3);
  uint64_t left_out = 0;
  for (unsigned k = 0; k < rep.nquarantined; k++)
    left_out += rep.quarantined[k].end - rep.quarantined[k].begin;
  cr_assert_eq(left_out, 3, "%llu indices quarantined for 3 poison indices",
               (unsigned long long)left_out);
  cr_assert_eq(rep.indices, NJ - 3);
  const uint64_t *v = sharc_array_data(a);
  for (uint64_t i = 0; i < NJ; i++) {
    int poison = i == 1001 || i == 1002 || i == 150007;
    cr_assert_eq(v[i], poison ? 0 : i + 1, "index %llu", (unsigned long long)i);
  }
  sharc_report_free(&rep);
  sharc_array_destroy(a);
  sharc_pool_destroy(p);
  unlink(path);
  unlink(journal);
  rmdir(dir);
}
