/* Stale objects in /dev/shm: what a killed creator leaves is found with its
 * creator, size and age, and removed only when its creator is dead; a live
 * creator's array, another user's object and a symbolic link never are. */
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "helpers.h"
#include "shm.h"

/* The scan's entry for name, or 0: copied into *out, its name and next
 * cleared (they point into the list, which is freed here). Checks the list
 * on the way: sorted by name, and as many entries as the count says. */
static int find(const char *name, sharc_shm_entry *out) {
  sharc_shm_entry *list;
  size_t n, seen = 0;
  cr_assert_eq(sharc_shm_scan(&list, &n), 0);
  cr_assert((n == 0) == (list == NULL), "count %zu, list %p", n, (void *)list);
  int found = 0;
  for (sharc_shm_entry *e = list; e != NULL; e = e->next, seen++) {
    if (e->next != NULL)
      cr_assert_lt(strcmp(e->name, e->next->name), 0, "sorted by name");
    if (strcmp(e->name, name) == 0) {
      *out = *e;
      out->name = NULL;
      out->next = NULL;
      found = 1;
    }
  }
  cr_assert_eq(seen, n, "the list has %zu entries, the count says %zu", seen,
               n);
  sharc_shm_scan_free(list);
  return found;
}

static int exists(const char *name) {
  char path[128];
  struct stat st;
  snprintf(path, sizeof path, "/dev/shm%s", name);
  return lstat(path, &st) == 0;
}

/* A named f64 array of n elements made in a child, whose name comes back
 * through a pipe; then the child is SIGKILLed (kill == 1) or left waiting
 * for its stdin to close (kill == 0, *live_fd is that pipe's write end). */
static pid_t child_with_named_array(uint64_t n, char *name, size_t len,
                                    int kill_it, int *live_fd) {
  int out[2], hold[2];
  cr_assert_eq(pipe(out), 0);
  cr_assert_eq(pipe(hold), 0);
  pid_t pid = fork();
  cr_assert_geq(pid, 0);
  if (pid == 0) {
    close(out[0]);
    close(hold[1]);
    sharc_pool_opts o = SHARC_POOL_OPTS_INIT;
    o.workers = 1;
    sharc_pool *p;
    sharc_array_opts ao = SHARC_ARRAY_OPTS_INIT;
    ao.backing = SHARC_BACKING_SHM;
    sharc_array *a;
    if (sharc_pool_create(&p, &o, NULL, 0) != 0 ||
        sharc_array_create(p, SHARC_F64, 1, &n, &ao, &a) != 0)
      _exit(3);
    const char *nm = sharc_array_name(a);
    if (write(out[1], nm, strlen(nm) + 1) != (ssize_t)strlen(nm) + 1)
      _exit(4);
    char c;
    while (read(hold[0], &c, 1) > 0) { /* until the test lets go */
    }
    _exit(0);
  }
  close(out[1]);
  close(hold[0]);
  ssize_t got = read(out[0], name, len);
  close(out[0]);
  cr_assert_gt(got, 0, "the child made no named array");
  if (kill_it) {
    kill(pid, SIGKILL);
    cr_assert_eq(waitpid(pid, NULL, 0), pid);
    close(hold[1]);
  } else {
    *live_fd = hold[1];
  }
  return pid;
}

/* A pid that no process has: a child that exited and was reaped. */
static pid_t dead_pid(void) {
  pid_t pid = fork();
  if (pid == 0)
    _exit(0);
  cr_assert_eq(waitpid(pid, NULL, 0), pid);
  return pid;
}

static void random_sharc_name(pid_t pid, char *buf, size_t len) {
  uint64_t r;
  cr_assert_eq(getrandom(&r, sizeof r, 0), (ssize_t)sizeof r);
  snprintf(buf, len, "/sharc-%ld-%016llx", (long)pid, (unsigned long long)r);
}

TestSuite(shm_scan);

Test(shm_scan, killed_creators_named_array_is_stale_with_pid_size_and_age) {
  time_t t0 = time(NULL);
  char name[64];
  pid_t pid = child_with_named_array(1000, name, sizeof name, 1, NULL);
  sharc_shm_entry e;
  cr_assert(find(name, &e), "%s not found", name);
  cr_assert_eq(e.state, SHARC_SHM_STALE);
  cr_assert_eq(e.creator_pid, pid);
  long page = sysconf(_SC_PAGESIZE);
  uint64_t data = (8000 + (uint64_t)page - 1) / (uint64_t)page * (uint64_t)page;
  cr_assert_eq(e.size, 4096 + data);
  cr_assert(e.created >= t0 && e.created <= time(NULL), "created %lld",
            (long long)e.created);
  cr_assert_eq(sharc_shm_remove_dead(name), 0);
  cr_assert(!exists(name));
  cr_assert(!find(name, &e));
  cr_assert_eq(sharc_shm_remove_dead(name), SHARC_ENOENT);
}

Test(shm_scan, live_creators_array_is_never_removed_until_it_dies) {
  char name[64];
  int hold;
  pid_t pid = child_with_named_array(10, name, sizeof name, 0, &hold);
  sharc_shm_entry e;
  cr_assert(find(name, &e));
  cr_assert_eq(e.state, SHARC_SHM_LIVE);
  cr_assert_eq(e.creator_pid, pid);
  cr_assert_eq(sharc_shm_remove_dead(name), SHARC_EBUSY);
  cr_assert(exists(name));
  /* An exited creator not yet reaped (a zombie) is dead. */
  close(hold);
  siginfo_t si;
  cr_assert_eq(waitid(P_PID, (id_t)pid, &si, WEXITED | WNOWAIT), 0);
  cr_assert(find(name, &e));
  cr_assert_eq(e.state, SHARC_SHM_STALE, "zombie creator counts as alive");
  cr_assert_eq(waitpid(pid, NULL, 0), pid);
  cr_assert_eq(sharc_shm_remove_dead(name), 0);
  cr_assert(!exists(name));
}

Test(shm_scan, own_array_is_live_and_a_reused_pid_is_not_its_creator) {
  sharc_pool *p = test_pool(1);
  sharc_array_opts ao = SHARC_ARRAY_OPTS_INIT;
  ao.backing = SHARC_BACKING_SHM;
  uint64_t n = 4;
  sharc_array *a;
  cr_assert_eq(sharc_array_create(p, SHARC_U8, 1, &n, &ao, &a), 0);
  char name[64];
  snprintf(name, sizeof name, "%s", sharc_array_name(a));
  sharc_shm_entry e;
  cr_assert(find(name, &e));
  cr_assert_eq(e.state, SHARC_SHM_LIVE);
  cr_assert_eq(e.creator_pid, getpid());
  cr_assert_eq(sharc_shm_remove_dead(name), SHARC_EBUSY);
  /* The same pid with another start time: a later process got the pid. */
  sharc__shm_header *h =
      (sharc__shm_header *)((char *)sharc_array_data(a) - SHARC__SHM_HDR_LEN);
  cr_assert_neq(h->creator_start, 0);
  h->creator_start += 1;
  cr_assert(find(name, &e));
  cr_assert_eq(e.state, SHARC_SHM_STALE);
  cr_assert_eq(sharc_shm_remove_dead(name), 0);
  cr_assert(!exists(name));
  sharc_pool_destroy(p);
}

Test(shm_scan, unfinished_creation_of_a_dead_creator_is_incomplete) {
  char name[64];
  random_sharc_name(dead_pid(), name, sizeof name);
  int fd = shm_open(name, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  cr_assert_geq(fd, 0);
  cr_assert_eq(ftruncate(fd, 8192), 0); /* killed before the header */
  close(fd);
  sharc_shm_entry e;
  cr_assert(find(name, &e));
  cr_assert_eq(e.state, SHARC_SHM_INCOMPLETE);
  cr_assert_eq(e.size, 8192);
  cr_assert_eq(sharc_shm_remove_dead(name), 0);
  cr_assert(!exists(name));
  /* The same with a live pid in its name is left alone: it may be
   * being made right now. */
  random_sharc_name(getpid(), name, sizeof name);
  fd = shm_open(name, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  cr_assert_geq(fd, 0);
  close(fd);
  cr_assert(find(name, &e));
  cr_assert_eq(e.state, SHARC_SHM_LIVE);
  cr_assert_eq(sharc_shm_remove_dead(name), SHARC_EBUSY);
  cr_assert_eq(shm_unlink(name), 0);
}

Test(shm_scan, symlinks_other_names_and_other_users_objects_are_left_alone) {
  char target[] = "/tmp/sharc-scan-target-XXXXXX";
  int tfd = mkstemp(target);
  cr_assert_geq(tfd, 0);
  close(tfd);
  char name[64], path[128];
  random_sharc_name(dead_pid(), name, sizeof name);
  snprintf(path, sizeof path, "/dev/shm%s", name);
  cr_assert_eq(symlink(target, path), 0);
  sharc_shm_entry e;
  cr_assert(!find(name, &e), "a symbolic link is listed");
  cr_assert_eq(sharc_shm_remove_dead(name), SHARC_EACCES);
  cr_assert(exists(name));
  cr_assert_eq(access(target, F_OK), 0, "the link's target was removed");
  cr_assert_eq(unlink(path), 0);
  cr_assert_eq(unlink(target), 0);

  static const char *const not_ours[] = {
      "/sharc-0123-0123456789abcdef", "/sharc-12-0123456789abcde",
      "/sharc-12-0123456789ABCDEF",   "/sharc-12-0123456789abcdef0",
      "/sharc--0123456789abcdef",     "/sharcx-12-0123456789abcdef",
      "/sharc-12-0123456789abcdef/x", "sharc-12-0123456789abcdef"};
  for (size_t i = 0; i < sizeof not_ours / sizeof not_ours[0]; i++)
    cr_assert_eq(sharc_shm_remove_dead(not_ours[i]), SHARC_EINVAL, "%s",
                 not_ours[i]);
  cr_assert_eq(sharc_shm_remove_dead(NULL), SHARC_EINVAL);
  cr_assert_eq(sharc_shm_scan(NULL, NULL), SHARC_EINVAL);

  if (geteuid() != 0)
    return; /* giving an object to another user needs root */
  random_sharc_name(dead_pid(), name, sizeof name);
  int fd = shm_open(name, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  cr_assert_geq(fd, 0);
  cr_assert_eq(fchown(fd, 12345, 12345), 0);
  close(fd);
  cr_assert(!find(name, &e), "another user's object is listed");
  cr_assert_eq(sharc_shm_remove_dead(name), SHARC_EACCES);
  cr_assert(exists(name));
  cr_assert_eq(shm_unlink(name), 0);
}
