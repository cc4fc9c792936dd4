/* Files a user names: inputs are opened without blocking and must be
 * regular files; outputs are written beside their path and renamed into
 * place only over nothing or over a regular file. Opening a FIFO for
 * reading blocks until a writer comes, and rename() replaces a device node
 * or a FIFO as readily as a file: as root, `--trace /dev/full` would have
 * replaced the device. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "paths.h"
#include "sharc/error.h"

__attribute__((format(printf, 4, 5))) static int
say(char *msg, size_t msglen, int code, const char *fmt, ...) {
  if (msg != NULL && msglen > 0) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, msglen, fmt, ap);
    va_end(ap);
  }
  return code;
}

const char *sharc__file_kind(mode_t mode) {
  switch (mode & S_IFMT) {
  case S_IFREG:
    return "a regular file";
  case S_IFDIR:
    return "a directory";
  case S_IFIFO:
    return "a FIFO";
  case S_IFCHR:
    return "a character device";
  case S_IFBLK:
    return "a block device";
  case S_IFSOCK:
    return "a socket";
  case S_IFLNK:
    return "a symbolic link";
  default:
    return "not a regular file";
  }
}

static int refuse_kind(const char *path, mode_t mode, char *msg,
                       size_t msglen) {
  if (S_ISDIR(mode))
    return say(msg, msglen, -EISDIR, "%s: is a directory, not a regular file",
               path);
  return say(msg, msglen, SHARC_EFORMAT, "%s: is %s, not a regular file", path,
             sharc__file_kind(mode));
}

int sharc__check_regular(int fd, const char *path, char *msg, size_t msglen) {
  struct stat st;
  if (fstat(fd, &st) != 0)
    return say(msg, msglen, -errno, "%s: cannot stat: %s", path,
               strerror(errno));
  return S_ISREG(st.st_mode) ? 0 : refuse_kind(path, st.st_mode, msg, msglen);
}

int sharc__open_regular(const char *path, int oflags, char *msg,
                        size_t msglen) {
  int fd = open(path, oflags | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
  if (fd < 0) {
    int err = errno;
    if (err == ELOOP && (oflags & O_NOFOLLOW))
      return say(msg, msglen, -err,
                 "%s: is a symbolic link; give the file itself", path);
    return say(msg, msglen, -err, "%s: %s", path, strerror(err));
  }
  int rc = sharc__check_regular(fd, path, msg, msglen);
  int fl = rc == 0 ? fcntl(fd, F_GETFL) : -1;
  if (rc == 0 && (fl < 0 || fcntl(fd, F_SETFL, fl & ~O_NONBLOCK) != 0))
    rc = say(msg, msglen, -errno, "%s: fcntl: %s", path, strerror(errno));
  if (rc != 0) {
    close(fd);
    return rc;
  }
  return fd;
}

int sharc__out_tmp(const char *path, char **tmp, char *msg, size_t msglen) {
  *tmp = NULL;
  size_t len = strlen(path) + 32;
  char *t = malloc(len);
  if (t == NULL)
    return say(msg, msglen, SHARC_ENOMEM, "%s: out of memory", path);
  snprintf(t, len, "%s.sharc-tmp-XXXXXX", path);
  int fd = mkostemp(t, O_CLOEXEC);
  if (fd < 0) {
    int err = errno;
    free(t);
    return say(msg, msglen, -err, "%s: cannot create a file beside it: %s",
               path, strerror(err));
  }
  /* mkostemp makes 0600; an output file gets the usual 0666 & ~umask. */
  mode_t mask = umask(0);
  umask(mask);
  if (fchmod(fd, 0666 & ~mask) != 0) { /* keep 0600 */
  }
  *tmp = t;
  return fd;
}

/* 1 when a regular file is at path, 0 when nothing is, or the code and
 * message that refuse it. */
static int out_look(const char *path, char *msg, size_t msglen) {
  struct stat st;
  if (lstat(path, &st) != 0)
    return errno == ENOENT
               ? 0
               : say(msg, msglen, -errno, "%s: %s", path, strerror(errno));
  if (S_ISREG(st.st_mode))
    return 1;
  if (S_ISLNK(st.st_mode))
    return say(msg, msglen, -ELOOP,
               "%s: is a symbolic link; refusing to replace it (give the "
               "path of a regular file or of a new one)",
               path);
  if (S_ISDIR(st.st_mode))
    return say(msg, msglen, -EISDIR,
               "%s: is a directory; refusing to replace it", path);
  return say(msg, msglen, -EEXIST,
             "%s: is %s, not a regular file; refusing to replace it", path,
             sharc__file_kind(st.st_mode));
}

int sharc__out_check(const char *path, char *msg, size_t msglen) {
  int rc = out_look(path, msg, msglen);
  return rc > 0 ? 0 : rc;
}

int sharc__out_install(const char *tmp, const char *path, char *msg,
                       size_t msglen) {
  /* Twice at most: once more if something appeared at path between the
   * look and the rename. */
  for (int attempt = 0; attempt < 2; attempt++) {
    int look = out_look(path, msg, msglen);
    if (look < 0)
      return look;
    if (look == 1) {
      if (rename(tmp, path) == 0)
        return 0;
      return say(msg, msglen, -errno, "rename %s to %s: %s", tmp, path,
                 strerror(errno));
    }
    if (renameat2(AT_FDCWD, tmp, AT_FDCWD, path, RENAME_NOREPLACE) == 0)
      return 0;
    if (errno == EEXIST)
      continue;
    /* A file system without RENAME_NOREPLACE: link() never replaces. */
    if (errno == EINVAL && link(tmp, path) == 0) {
      unlink(tmp);
      return 0;
    }
    if (errno == EEXIST)
      continue;
    return say(msg, msglen, -errno, "rename %s to %s: %s", tmp, path,
               strerror(errno));
  }
  return say(msg, msglen, -EEXIST,
             "%s: something else keeps appearing there; not replaced", path);
}
