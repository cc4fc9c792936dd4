/* Error codes to text. */
#include <string.h>

#include "sharc/error.h"

const char *sharc_version(void) { return SHARC_VERSION_STRING; }

unsigned sharc_version_number(void) { return SHARC_VERSION_NUMBER; }

const char *sharc_strerror(int code) {
  switch (code) {
#define SHARC__ERR_MSG(name, value, msg)                                       \
  case (value):                                                                \
    return msg;
    SHARC_ERRNO_MAP(SHARC__ERR_MSG)
#undef SHARC__ERR_MSG
  case 0:
    return "success";
  default:
    break;
  }
  /* Other negated errno values: strerror's static table (glibc's strerror
   * is thread-safe for known codes). */
  if (code < 0 && code > -4096)
    return strerror(-code);
  return "unknown error";
}

const char *sharc_err_name(int code) {
  switch (code) {
#define SHARC__ERR_NAME(name, value, msg)                                      \
  case (value):                                                                \
    return "SHARC_" #name;
    SHARC_ERRNO_MAP(SHARC__ERR_NAME)
#undef SHARC__ERR_NAME
#define SHARC__SYSERR_NAME(name)                                               \
  case -(name):                                                                \
    return "SHARC_" #name;
    SHARC_SYSERR_MAP(SHARC__SYSERR_NAME)
#undef SHARC__SYSERR_NAME
  case 0:
    return "SHARC_OK";
  default:
    return "SHARC_UNKNOWN";
  }
}
