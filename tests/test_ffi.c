/* Calls for bindings (sharc/ffi.h): heap job options that behave as
 * SHARC_JOB_OPTS_INIT, bounds on argument bytes, schedules, and a pool of a
 * given size running a job through them. */
#include <string.h>

#include "helpers.h"

Test(ffi, new_job_opts_equal_the_init_macro) {
  sharc_job_opts *o = sharc_job_opts_new();
  cr_assert_not_null(o);
  const sharc_job_opts init = SHARC_JOB_OPTS_INIT;
  cr_assert_eq(o->schedule.kind, init.schedule.kind);
  cr_assert_eq(o->schedule.chunk, init.schedule.chunk);
  cr_assert_eq(o->narrays, 0);
  cr_assert_null(o->args);
  cr_assert_eq(o->args_len, 0);
  cr_assert_eq(o->measure_rusage, init.measure_rusage);
  sharc_job_opts_free(o);
  sharc_job_opts_free(NULL);
}

Test(ffi, args_are_bounded_and_not_copied) {
  sharc_job_opts *o = sharc_job_opts_new();
  cr_assert_not_null(o);
  static char big[SHARC_MAX_ARGS + 1];
  cr_assert_eq(sharc_job_opts_set_args(o, big, sizeof big), SHARC_ERANGE);
  cr_assert_eq(sharc_job_opts_set_args(o, NULL, 4), SHARC_EINVAL);
  cr_assert_eq(sharc_job_opts_set_args(NULL, big, 4), SHARC_EINVAL);
  cr_assert_eq(sharc_job_opts_set_args(o, big, SHARC_MAX_ARGS), 0);
  cr_assert_eq(o->args, big);
  cr_assert_eq(o->args_len, SHARC_MAX_ARGS);
  cr_assert_eq(sharc_job_opts_set_args(o, NULL, 0), 0);
  cr_assert_null(o->args);
  cr_assert_eq(o->args_len, 0);
  sharc_job_opts_free(o);
}

Test(ffi, schedule_is_parsed_or_left_alone) {
  sharc_job_opts *o = sharc_job_opts_new();
  cr_assert_not_null(o);
  cr_assert_eq(sharc_job_opts_set_schedule(o, "dynamic:64"), 0);
  cr_assert_eq(o->schedule.kind, SHARC_SCHED_DYNAMIC);
  cr_assert_eq(o->schedule.chunk, 64);
  cr_assert_eq(sharc_job_opts_set_schedule(o, "sideways"), SHARC_EINVAL);
  cr_assert_eq(o->schedule.kind, SHARC_SCHED_DYNAMIC);
  cr_assert_eq(o->schedule.chunk, 64);
  cr_assert_eq(sharc_job_opts_set_schedule(o, NULL), SHARC_EINVAL);
  sharc_job_opts_free(o);
}

/* out[i] = i + args[0] */
static int ffi_add(const sharc_task *t, uint64_t b, uint64_t e) {
  int64_t *out = sharc_task_array(t, 0);
  const int64_t *add = sharc_task_args(t, NULL);
  for (uint64_t i = b; i < e; i++)
    out[i] = (int64_t)i + add[0];
  return 0;
}
SHARC_KERNEL(ffi_add)

Test(ffi, pool_of_two_runs_a_job_from_heap_opts) {
  sharc_pool *pool = NULL;
  char msg[256];
  int rc = sharc_pool_create_workers(&pool, 2, msg, sizeof msg);
  cr_assert_eq(rc, 0, "%s", msg);
  cr_assert_eq(sharc_pool_size(pool), 2);
  const uint64_t n = 4099;
  sharc_array *a = NULL;
  cr_assert_eq(sharc_array_create(pool, SHARC_I64, 1, &n, NULL, &a), 0);
  sharc_job_opts *o = sharc_job_opts_new();
  cr_assert_not_null(o);
  const int64_t add = 1000;
  cr_assert_eq(sharc_job_opts_set_args(o, &add, sizeof add), 0);
  cr_assert_eq(sharc_job_opts_set_schedule(o, "dynamic:100"), 0);
  cr_assert_eq(sharc_job_opts_add_array(o, a), 0);
  sharc_job_opts mine = SHARC_JOB_OPTS_INIT; /* not from sharc_job_opts_new */
  cr_assert_eq(sharc_job_opts_add_array(&mine, a), SHARC_EINVAL);
  sharc_report rep = SHARC_REPORT_INIT;
  rc = sharc_run(pool, "ffi_add", n, o, &rep);
  cr_assert_eq(rc, 0, "%s", sharc_pool_errmsg(pool));
  cr_assert_eq(rep.chunks, 41); /* ceil(4099 / 100) */
  const int64_t *v = sharc_array_data(a);
  for (uint64_t i = 0; i < n; i++)
    cr_assert_eq(v[i], (int64_t)i + 1000, "index %llu", (unsigned long long)i);
  sharc_report_free(&rep);
  sharc_job_opts_free(o);
  sharc_pool_destroy(pool);
}
