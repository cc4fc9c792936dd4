/* Internal: opening the files a user names, and putting output files in
 * place, without ever blocking on a FIFO or replacing what is not a regular
 * file (paths.c). Messages start with the path. */
#ifndef SHARC_LIB_PATHS_H
#define SHARC_LIB_PATHS_H

#include <stddef.h>
#include <sys/types.h>

/* "a FIFO", "a directory", "a character device", ... for a file mode. */
const char *sharc__file_kind(mode_t mode);

/* Whether fd, just opened for path, is a regular file: 0, or -EISDIR for a
 * directory and SHARC_EFORMAT for anything else ("PATH: is a FIFO, not a
 * regular file"), with msg set. */
int sharc__check_regular(int fd, const char *path, char *msg, size_t msglen);

/* Opens the existing file path with oflags (O_RDONLY or O_RDWR, maybe
 * O_NOFOLLOW) and O_NONBLOCK, so that a FIFO or a device cannot block the
 * open, and keeps it only if it is a regular file (then O_NONBLOCK is
 * cleared). Returns the descriptor (O_CLOEXEC)
 * or a negative code with msg set: the negated errno of open, or what
 * sharc__check_regular() returns. */
int sharc__open_regular(const char *path, int oflags, char *msg, size_t msglen);

/* Creates a temporary file beside path, "PATH.sharc-tmp-XXXXXX", with mode
 * 0666 & ~umask. Returns the descriptor (O_CLOEXEC) and sets *tmp (owned by
 * the caller, free()), or a negative code with msg set. */
int sharc__out_tmp(const char *path, char **tmp, char *msg, size_t msglen);

/* 0 when an output may go to path: nothing is there, or a regular file;
 * else what sharc__out_install() would refuse it with. For failing early,
 * before the output is computed. */
int sharc__out_check(const char *path, char *msg, size_t msglen);

/* Puts the file tmp at path by rename(): only where nothing is at path
 * (then without replacing whatever appears there meanwhile) or where a
 * regular file is (it is replaced). A symbolic link gives -ELOOP, a
 * directory -EISDIR and anything else (a FIFO, a device, a socket)
 * -EEXIST, each with a message naming path; tmp is left for the caller to
 * remove. Returns 0 or a negative code with msg set. */
int sharc__out_install(const char *tmp, const char *path, char *msg,
                       size_t msglen);

#endif
