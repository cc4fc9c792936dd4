/* Internal: failure injection for tests. The Nth injectable system call
 * made by the process that armed it (counting from 1) fails as if the
 * system had refused it, so that a test can fail every call of pool and
 * array start-up in turn and check what is left behind.
 *
 * Armed by sharc__inject_arm() (tests link the static library; nothing here
 * is exported from libsharc.so) or, for whole programs such as the tool, by
 * SHARC_FAIL_AT=N in the environment, read once when the library is loaded.
 * Disarmed, a call site costs one predictable branch on a global. */
#ifndef SHARC_LIB_INJECT_H
#define SHARC_LIB_INJECT_H

#include <errno.h>

/* N of the armed call, or 0: disarmed. */
extern unsigned long sharc__inject_at;

/* The slow path: counts the call and says whether it must fail. */
int sharc__inject_fail(const char *what);

/* Whether the call `what` ("fork", "mmap", ...) is to fail now; if so
 * errno is set to err. Use as `fd = sharc__inject("memfd_create", EMFILE)
 * ? -1 : memfd_create(...)`. */
static inline int sharc__inject(const char *what, int err) {
  if (__builtin_expect(sharc__inject_at == 0, 1))
    return 0;
  if (!sharc__inject_fail(what))
    return 0;
  errno = err;
  return 1;
}

/* Arms the hook for the nth call from now (0 disarms) in this process, and
 * resets the count and the record of the failed call. */
void sharc__inject_arm(unsigned long n);
/* Injectable calls counted since arming. */
unsigned long sharc__inject_calls(void);
/* The call that was made to fail since arming ("fork", ...), or NULL. */
const char *sharc__inject_failed(void);

#endif
