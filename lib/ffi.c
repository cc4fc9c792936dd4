/* Calls for bindings from other languages: option structs kept on the C
 * side, so that no binding mirrors their layout (sharc/ffi.h). */
#include <stdlib.h>

#include "sharc.h"
#include "sharc/ffi.h"

sharc_job_opts *sharc_job_opts_new(void) {
  sharc_job_opts *o = malloc(sizeof *o);
  if (o != NULL) {
    const sharc_job_opts init = SHARC_JOB_OPTS_INIT;
    *o = init;
  }
  return o;
}

void sharc_job_opts_free(sharc_job_opts *o) { free(o); }

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
