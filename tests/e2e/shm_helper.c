/* For tests/e2e/clean.sh: makes a sharc object in /dev/shm, prints its
 * name and waits until killed, so the script can leave it behind by
 * SIGKILL exactly as a crashed program would.
 *
 *   shm_helper named N     a named f64 array of N elements, made through
 *                          the library by a pool of one worker
 *   shm_helper incomplete  an object with a sharc name and no header, as
 *                          a creator killed during creation leaves it */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <unistd.h>

#include <sharc.h>

static int named(uint64_t n) {
  sharc_pool_opts o = SHARC_POOL_OPTS_INIT;
  o.workers = 1;
  sharc_pool *p;
  char msg[256];
  if (sharc_pool_create(&p, &o, msg, sizeof msg) != 0) {
    fprintf(stderr, "shm_helper: %s\n", msg);
    return 1;
  }
  sharc_array_opts ao = SHARC_ARRAY_OPTS_INIT;
  ao.backing = SHARC_BACKING_SHM;
  sharc_array *a;
  if (sharc_array_create(p, SHARC_F64, 1, &n, &ao, &a) != 0) {
    fprintf(stderr, "shm_helper: %s\n", sharc_pool_errmsg(p));
    return 1;
  }
  printf("%s\n", sharc_array_name(a));
  return 0;
}

static int incomplete(void) {
  uint64_t r;
  if (getrandom(&r, sizeof r, 0) != (ssize_t)sizeof r)
    return 1;
  char name[64];
  snprintf(name, sizeof name, "/sharc-%ld-%016llx", (long)getpid(),
           (unsigned long long)r);
  int fd = shm_open(name, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0 || ftruncate(fd, 4096) != 0) {
    perror("shm_helper: shm_open");
    return 1;
  }
  printf("%s\n", name);
  return 0;
}

int main(int argc, char **argv) {
  int rc = 2;
  if (argc == 3 && strcmp(argv[1], "named") == 0)
    rc = named(strtoull(argv[2], NULL, 10));
  else if (argc == 2 && strcmp(argv[1], "incomplete") == 0)
    rc = incomplete();
  else
    fprintf(stderr, "usage: shm_helper named N | incomplete\n");
  if (rc != 0)
    return rc;
  fflush(stdout);
  for (;;)
    pause();
}
