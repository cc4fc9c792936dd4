/* Failure injection for tests (see inject.h). */
#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

#include "inject.h"

unsigned long sharc__inject_at;
static unsigned long calls;
static pid_t armed_by;
static const char *failed;

int sharc__inject_fail(const char *what) {
  /* A forked worker inherits the armed hook; only the process that armed
   * it counts, so the same N fails the same call whatever workers do. */
  if (getpid() != armed_by)
    return 0;
  if (++calls != sharc__inject_at)
    return 0;
  failed = what;
  return 1;
}

void sharc__inject_arm(unsigned long n) {
  sharc__inject_at = n;
  calls = 0;
  failed = NULL;
  armed_by = getpid();
}

unsigned long sharc__inject_calls(void) { return calls; }

const char *sharc__inject_failed(void) { return failed; }

/* SHARC_FAIL_AT=N: fail the Nth injectable call of the program. */
__attribute__((constructor)) static void inject_from_env(void) {
  const char *v = getenv("SHARC_FAIL_AT");
  if (v == NULL || *v == '\0')
    return;
  char *end;
  unsigned long n = strtoul(v, &end, 10);
  if (*end == '\0')
    sharc__inject_arm(n);
}
