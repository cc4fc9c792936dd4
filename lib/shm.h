/* Internal: the layout of a named array's object, shared by the code that
 * makes and attaches them (array.c) and the code that finds stale ones
 * (shm_scan.c). */
#ifndef SHARC_LIB_SHM_H
#define SHARC_LIB_SHM_H

#include <stdint.h>
#include <sys/types.h>

#include "sharc/array.h"

#define SHARC__SHM_HDR_LEN 4096u
#define SHARC__SHM_MAGIC "SHARCSHM"
/* The file name under /dev/shm: "sharc-" PID "-" 16 hex digits. */
#define SHARC__SHM_PREFIX "sharc-"

/* The first page of a named array: what an attaching process needs, and
 * who made it. Fields are only ever appended (version 1 readers read what
 * they know); objects made before creator_start and created existed have
 * zeros there. */
typedef struct sharc__shm_header {
  char magic[8];
  uint32_t version;
  uint32_t dtype;
  uint32_t ndim;
  uint32_t fortran_order;
  uint64_t nbytes;
  int64_t creator_pid;
  uint64_t shape[SHARC_MAX_DIMS];
  uint64_t creator_start; /* creator's start time, clock ticks after boot */
  int64_t created;        /* seconds since the epoch */
} sharc__shm_header;

/* The start time of process pid (field 22 of /proc/PID/stat, clock ticks
 * after boot) and whether it is a zombie. Returns 0, or -1 when the file
 * cannot be read (no such process). */
int sharc__proc_start(pid_t pid, uint64_t *start, int *zombie);

#endif
