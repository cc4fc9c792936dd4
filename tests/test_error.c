/* Error codes: every code the library can return has a name and a message.
 * The library returns sharc's own codes and negated errno values from any
 * system call, so every Linux errno must have a name. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "sharc/error.h"

/* glibc's name for e, with the aliases sharc names otherwise. */
static const char *errno_name(int e) {
  if (e == EOPNOTSUPP)
    return "ENOTSUP";
  return strerrorname_np(e);
}

Test(error, every_negated_linux_errno_has_its_name) {
  int named = 0;
  for (int e = 1; e < 4096; e++) {
    const char *n = errno_name(e);
    if (n == NULL || e == ECANCELED)
      continue;
    char want[64];
    snprintf(want, sizeof want, "SHARC_%s", n);
    cr_assert_str_eq(sharc_err_name(-e), want, "errno %d", e);
    cr_assert_str_neq(sharc_strerror(-e), "unknown error", "errno %d", e);
    named++;
  }
  cr_assert_geq(named, 130, "only %d errno values found", named);
}

Test(error, eisdir_and_eloop_are_named) {
  cr_assert_str_eq(sharc_err_name(-EISDIR), "SHARC_EISDIR");
  cr_assert_str_eq(sharc_err_name(-ELOOP), "SHARC_ELOOP");
  cr_assert_eq(SHARC_EISDIR, -EISDIR);
  cr_assert_eq(SHARC_ELOOP, -ELOOP);
}

Test(error, sharcs_own_codes_are_named_and_others_are_unknown) {
  cr_assert_str_eq(sharc_err_name(SHARC_EFORMAT), "SHARC_EFORMAT");
  cr_assert_str_eq(sharc_err_name(SHARC_ECANCELED), "SHARC_ECANCELED");
  cr_assert_str_eq(sharc_err_name(0), "SHARC_OK");
  /* -ECANCELED is never returned: the name belongs to sharc's -3009. */
  cr_assert_str_eq(sharc_err_name(-ECANCELED), "SHARC_UNKNOWN");
  cr_assert_str_eq(sharc_err_name(-2999), "SHARC_UNKNOWN");
  cr_assert_str_eq(sharc_err_name(1), "SHARC_UNKNOWN");
  cr_assert_str_eq(sharc_strerror(-5000), "unknown error");
}

Test(version, the_number_the_string_and_the_headers_agree) {
  unsigned a, b, c;
  cr_assert_eq(sscanf(sharc_version(), "%u.%u.%u", &a, &b, &c), 3,
               "sharc_version() is '%s'", sharc_version());
  cr_assert_eq(sharc_version_number(), a * 10000 + b * 100 + c);
  cr_assert_eq(sharc_version_number(), SHARC_VERSION_NUMBER);
  cr_assert_str_eq(sharc_version(), SHARC_VERSION_STRING);
  cr_assert_eq(SHARC_VERSION_MAJOR * 10000 + SHARC_VERSION_MINOR * 100 +
                   SHARC_VERSION_PATCH,
               SHARC_VERSION_NUMBER);
}
