/* Calls for bindings from other languages: option structs kept on the C
 * side, so that no binding mirrors their layout (sharc/ffi.h). */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "sharc.h"
#include "sharc/ffi.h"

/* Options with their own list of arrays; o.arrays points to it. */
typedef struct ffi_opts {
  sharc_job_opts o; /* first: a sharc_job_opts * is an ffi_opts * */
  sharc_array *list[SHARC_MAX_JOB_ARRAYS];
} ffi_opts;

sharc_job_opts *sharc_job_opts_new(void) {
  ffi_opts *f = malloc(sizeof *f);
  if (f == NULL)
    return NULL;
  const sharc_job_opts init = SHARC_JOB_OPTS_INIT;
  f->o = init;
  f->o.arrays = f->list;
  return &f->o;
}

void sharc_job_opts_free(sharc_job_opts *o) { free(o); }

int sharc_job_opts_add_array(sharc_job_opts *o, sharc_array *a) {
  if (o == NULL || a == NULL)
    return SHARC_EINVAL;
  /* Options from sharc_job_opts_new() point to the list that follows them;
   * compared as addresses, so options of the caller's are not read past
   * their end. */
  if ((uintptr_t)o->arrays != (uintptr_t)o + offsetof(ffi_opts, list))
    return SHARC_EINVAL;
  if (o->narrays >= SHARC_MAX_JOB_ARRAYS)
    return SHARC_ERANGE;
  ((ffi_opts *)o)->list[o->narrays] = a;
  return (int)o->narrays++;
}

int sharc_job_opts_set_args(sharc_job_opts *o, const void *args, size_t len) {
  if (o == NULL || (args == NULL && len > 0))
    return SHARC_EINVAL;
  if (len > SHARC_MAX_ARGS)
    return SHARC_ERANGE;
  o->args = len > 0 ? args : NULL;
  o->args_len = len;
  return 0;
}

int sharc_job_opts_set_schedule(sharc_job_opts *o, const char *text) {
  if (o == NULL || text == NULL)
    return SHARC_EINVAL;
  sharc_schedule s;
  int rc = sharc_schedule_parse(text, &s);
  if (rc == 0)
    o->schedule = s;
  return rc;
}

int sharc_pool_create_workers(sharc_pool **out, unsigned workers, char *msg,
                              size_t msglen) {
  sharc_pool_opts o = SHARC_POOL_OPTS_INIT;
  o.workers = workers;
  return sharc_pool_create(out, &o, msg, msglen);
}
