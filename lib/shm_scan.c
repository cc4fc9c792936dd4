/* Finding and removing sharc objects in /dev/shm whose creator is dead.
 *
 * Everything here treats /dev/shm as hostile: it is writable by every user,
 * so names are matched strictly, objects are opened with O_NOFOLLOW and
 * O_NONBLOCK (no symlink is followed, no FIFO blocks), only regular files
 * owned by the caller count, and headers are read with pread (a truncated
 * object cannot raise SIGBUS). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "inject.h"
#include "sharc/error.h"
#include "shm.h"

#define SHM_DIR "/dev/shm"

int sharc__proc_start(pid_t pid, uint64_t *start, int *zombie) {
  char path[64], buf[1024];
  snprintf(path, sizeof path, "/proc/%ld/stat", (long)pid);
  int fd = sharc__inject("open /proc/PID/stat", EMFILE)
               ? -1
               : open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return -1;
  ssize_t n = read(fd, buf, sizeof buf - 1);
  close(fd);
  if (n <= 0)
    return -1;
  buf[n] = '\0';
  /* "PID (COMM) STATE ..." where COMM may hold anything, ')' included:
   * fields are counted from the last ')'. */
  const char *p = strrchr(buf, ')');
  if (p == NULL || p[1] != ' ')
    return -1;
  *zombie = p[2] == 'Z' || p[2] == 'X';
  p += 2; /* field 3, the state */
  for (int field = 3; field < 22; field++) {
    p = strchr(p, ' ');
    if (p == NULL)
      return -1;
    p++;
  }
  char *end;
  unsigned long long v = strtoull(p, &end, 10);
  if (end == p)
    return -1;
  *start = v;
  return 0;
}

/* "sharc-PID-HEX16" exactly: a positive pid without leading zeros and 16
 * lowercase hex digits, as random_name() in array.c makes them. */
static int parse_name(const char *file, pid_t *pid) {
  size_t plen = strlen(SHARC__SHM_PREFIX);
  if (strncmp(file, SHARC__SHM_PREFIX, plen) != 0)
    return -1;
  const char *p = file + plen;
  long long v = 0;
  int digits = 0;
  for (; *p >= '0' && *p <= '9'; p++, digits++) {
    if (digits == 0 && *p == '0')
      return -1;
    v = v * 10 + (*p - '0');
    if (digits >= 10)
      return -1;
  }
  if (digits == 0 || *p != '-' || v > INT32_MAX)
    return -1;
  p++;
  for (int i = 0; i < 16; i++, p++)
    if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f')))
      return -1;
  if (*p != '\0')
    return -1;
  *pid = (pid_t)v;
  return 0;
}

/* Dead: no such process, a zombie, or a different start time than the one
 * recorded (0: none recorded). A process of another user is seen through
 * EPERM and counts as alive. */
static int creator_dead(pid_t pid, uint64_t recorded_start) {
  if (pid <= 0)
    return 1;
  if (kill(pid, 0) != 0 && errno == ESRCH)
    return 1;
  uint64_t start;
  int zombie;
  if (sharc__proc_start(pid, &start, &zombie) != 0)
    return 0; /* exists, /proc hidden: assume alive */
  return zombie || (recorded_start != 0 && start != recorded_start);
}

/* A scan's entry with its name; a scan's list is an array of these, linked
 * by name, in one allocation. */
typedef struct shm_node {
  sharc_shm_entry e;
  char name[40];
} shm_node;

/* Opens and classifies file (a name in dirfd). Returns 0 and fills *node,
 * its entry's name pointing to its own, or a negative code: SHARC_EINVAL
 * (not a sharc name), SHARC_EACCES (not a regular file of ours), or a
 * negated errno from openat. */
static int classify(int dirfd, const char *file, shm_node *node) {
  pid_t name_pid;
  if (parse_name(file, &name_pid) != 0)
    return SHARC_EINVAL;
  int fd = openat(dirfd, file,
                  O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
  if (fd < 0)
    return errno == ELOOP ? SHARC_EACCES : -errno;
  struct stat st;
  int rc = fstat(fd, &st) != 0 ? -errno : 0;
  if (rc == 0 && (!S_ISREG(st.st_mode) || st.st_uid != geteuid()))
    rc = SHARC_EACCES;
  sharc__shm_header h;
  memset(&h, 0, sizeof h);
  ssize_t got = rc == 0 ? pread(fd, &h, sizeof h, 0) : -1;
  close(fd);
  if (rc != 0)
    return rc;
  int complete = got == (ssize_t)sizeof h &&
                 memcmp(h.magic, SHARC__SHM_MAGIC, 8) == 0 && h.version == 1;
  memset(node, 0, sizeof *node);
  sharc_shm_entry *e = &node->e;
  snprintf(node->name, sizeof node->name, "/%s", file);
  e->name = node->name;
  e->size = (uint64_t)st.st_size;
  e->creator_pid = complete ? h.creator_pid : name_pid;
  e->created = complete && h.created != 0 ? h.created : (int64_t)st.st_mtime;
  /* Dead only if every pid it names is dead: the name's and the header's
   * agree unless someone wrote the header by hand. */
  int dead = creator_dead(name_pid, complete ? h.creator_start : 0);
  if (complete && h.creator_pid != name_pid)
    dead = dead && (h.creator_pid <= 0 || h.creator_pid > INT32_MAX ||
                    creator_dead((pid_t)h.creator_pid, h.creator_start));
  e->state = !dead      ? SHARC_SHM_LIVE
             : complete ? SHARC_SHM_STALE
                        : SHARC_SHM_INCOMPLETE;
  return 0;
}

static int by_name(const void *a, const void *b) {
  return strcmp(((const shm_node *)a)->name, ((const shm_node *)b)->name);
}

int sharc_shm_scan(sharc_shm_entry **list, size_t *count) {
  if (list == NULL)
    return SHARC_EINVAL;
  *list = NULL;
  if (count != NULL)
    *count = 0;
  DIR *dir = opendir(SHM_DIR);
  if (dir == NULL)
    return -errno;
  shm_node *nodes = NULL;
  size_t n = 0, cap = 0;
  int rc = 0;
  struct dirent *d;
  while (rc == 0 && (d = readdir(dir)) != NULL) {
    shm_node node;
    if (classify(dirfd(dir), d->d_name, &node) != 0)
      continue; /* not ours, or gone since readdir */
    if (n == cap) {
      size_t ncap = cap ? 2 * cap : 16;
      shm_node *more = realloc(nodes, ncap * sizeof *nodes);
      if (more == NULL) {
        rc = SHARC_ENOMEM;
        break;
      }
      nodes = more;
      cap = ncap;
    }
    nodes[n++] = node;
  }
  closedir(dir);
  if (rc != 0) {
    free(nodes);
    return rc;
  }
  if (n > 1)
    qsort(nodes, n, sizeof *nodes, by_name);
  /* Linked once the nodes have stopped moving. */
  for (size_t i = 0; i < n; i++) {
    nodes[i].e.name = nodes[i].name;
    nodes[i].e.next = i + 1 < n ? &nodes[i + 1].e : NULL;
  }
  if (n == 0)
    free(nodes);
  else
    *list = &nodes[0].e; /* the entry leads its node: the block's start */
  if (count != NULL)
    *count = n;
  return 0;
}

void sharc_shm_scan_free(sharc_shm_entry *list) { free(list); }

int sharc_shm_remove_dead(const char *name) {
  pid_t pid;
  if (name == NULL || name[0] != '/' || parse_name(name + 1, &pid) != 0)
    return SHARC_EINVAL;
  int dirfd = open(SHM_DIR, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dirfd < 0)
    return -errno;
  shm_node node;
  int rc = classify(dirfd, name + 1, &node);
  if (rc == 0 && node.e.state == SHARC_SHM_LIVE)
    rc = SHARC_EBUSY;
  /* unlinkat removes the name itself, never what a link points to; the
   * sticky /dev/shm refuses to remove another user's object put there
   * since the check. */
  if (rc == 0 && unlinkat(dirfd, name + 1, 0) != 0)
    rc = -errno;
  close(dirfd);
  return rc;
}
