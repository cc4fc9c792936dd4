/* The apps' "key=value,..." parameters: a key given twice is refused,
 * naming it, before any value is applied. */
#include <criterion/criterion.h>
#include <string.h>

#include "apps.h"

Test(params, a_key_given_twice_is_refused_naming_it) {
  char msg[256];
  const char *twice[] = {"seed=1,seed=2", "seed=1,x=3,seed=1", "a=1,,a=1,"};
  const char *keys[] = {"'seed'", "'seed'", "'a'"};
  for (int i = 0; i < 3; i++) {
    msg[0] = '\0';
    cr_assert_eq(sharc_app_params_repeated("pi", twice[i], msg, sizeof msg),
                 SHARC_EINVAL, "%s", twice[i]);
    cr_assert_not_null(strstr(msg, "given twice"), "%s", msg);
    cr_assert_not_null(strstr(msg, keys[i]), "%s", msg);
  }
  const char *once[] = {NULL, "", "seed=1", "a=1,ab=2,b=1", "a,a=1", "s=1,"};
  for (int i = 0; i < 6; i++)
    cr_assert_eq(sharc_app_params_repeated("pi", once[i], msg, sizeof msg), 0,
                 "%s", once[i] ? once[i] : "(null)");
}

Test(params, parse_refuses_a_repeated_key_before_applying_it) {
  uint64_t seed = 7;
  const sharc_app_param spec[] = {
      {"seed", SHARC_APP_PARAM_U64, &seed, 0, 1e18, NULL, NULL}};
  char msg[256] = "";
  cr_assert_eq(
      sharc_app_params_parse("pi", "seed=1,seed=2", spec, 1, msg, sizeof msg),
      SHARC_EINVAL);
  cr_assert_eq(seed, 7, "a value was applied");
  cr_assert_str_eq(msg, "pi: parameter 'seed' given twice (once is enough)");
  cr_assert_eq(sharc_app_params_parse("pi", "seed=3", spec, 1, msg, sizeof msg),
               0);
  cr_assert_eq(seed, 3);
}
