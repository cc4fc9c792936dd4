/* Replays .npy inputs through the fuzz target's checks without libFuzzer,
 * so the ordinary test suite (and any compiler) covers the corpus:
 *
 *   replay_npy FILE_OR_DIR...
 *
 * Besides the target's checks, each file is read twice, from memory and
 * through the file path (sharc__npy_read_fd), and both must give the same
 * result, message and info. A file whose name starts with ok-, nomap- or
 * bad- (see make_npy_corpus.py) must also give exactly that outcome.
 * Exits 0 when every file passes, 1 otherwise (one line per failure). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fuzz_npy.h"
#include "npy.h"

static int failures, files;

static void fail_file(const char *path, const char *what, const char *msg) {
  fprintf(stderr, "replay_npy: %s: %s (%s)\n", path, what, msg);
  failures++;
}

static unsigned char *read_whole(int fd, size_t *len) {
  struct stat st;
  if (fstat(fd, &st) != 0)
    return NULL;
  unsigned char *b = malloc((size_t)st.st_size + 1);
  if (b != NULL && pread(fd, b, (size_t)st.st_size, 0) != st.st_size) {
    free(b);
    return NULL;
  }
  *len = (size_t)st.st_size;
  return b;
}

static void expect_class(const char *path, int rc, const sharc__npy_meta *info,
                         const char *msg) {
  const char *base = strrchr(path, '/');
  base = base != NULL ? base + 1 : path;
  if (strncmp(base, "ok-", 3) == 0 && (rc != 0 || !info->mappable))
    fail_file(path, "expected a mappable header", msg);
  if (strncmp(base, "nomap-", 6) == 0 &&
      (rc != 0 || info->mappable || info->why_not != SHARC_EDTYPE))
    fail_file(path, "expected a valid header that is not mappable", msg);
  if (strncmp(base, "bad-", 4) == 0 && rc != SHARC_EFORMAT)
    fail_file(path, "expected SHARC_EFORMAT", msg);
}

static void replay_file(const char *path) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  size_t len = 0;
  unsigned char *data = fd >= 0 ? read_whole(fd, &len) : NULL;
  if (data == NULL) {
    fail_file(path, "cannot read", strerror(errno));
    if (fd >= 0)
      close(fd);
    return;
  }
  files++;
  sharc__npy_meta mem, file;
  char mmsg[256], fmsg[256];
  int mrc = sharc__fuzz_npy_check(data, len, &mem, mmsg, sizeof mmsg);
  memset(fmsg, '#', sizeof fmsg);
  int frc = sharc__npy_read_fd(fd, "fz.npy", &file, fmsg, sizeof fmsg);
  close(fd);
  free(data);
  if (mrc != frc || strcmp(mmsg, fmsg) != 0 ||
      memcmp(&mem, &file, sizeof mem) != 0)
    fail_file(path, "memory and file readers disagree", fmsg);
  expect_class(path, mrc, &mem, mmsg);
}

static int by_name(const struct dirent **a, const struct dirent **b) {
  return strcmp((*a)->d_name, (*b)->d_name);
}

static int regular_only(const struct dirent *d) { return d->d_name[0] != '.'; }

static void replay(const char *path) {
  struct stat st;
  if (stat(path, &st) != 0) {
    fail_file(path, "cannot stat", strerror(errno));
    return;
  }
  if (!S_ISDIR(st.st_mode)) {
    replay_file(path);
    return;
  }
  struct dirent **list;
  int n = scandir(path, &list, regular_only, by_name);
  if (n < 0) {
    fail_file(path, "cannot list", strerror(errno));
    return;
  }
  for (int i = 0; i < n; i++) {
    char sub[4096];
    snprintf(sub, sizeof sub, "%s/%s", path, list[i]->d_name);
    replay_file(sub);
    free(list[i]);
  }
  free(list);
}

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: replay_npy FILE_OR_DIR...\n");
    return 2;
  }
  for (int i = 1; i < argc; i++)
    replay(argv[i]);
  printf("replay_npy: %d files, %d failures\n", files, failures);
  return failures == 0 && files > 0 ? 0 : 1;
}
