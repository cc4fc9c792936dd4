/* empty: a kernel that does nothing, so a job's wall time is all dispatch:
 * waking the workers, claiming chunks and collecting the report. */
#include <inttypes.h>
#include <stdlib.h>

#include "apps.h"

typedef struct empty_state {
  uint64_t n;
} empty_state;

/* Hot path, and nothing else: the point is to measure what surrounds it. */
static int empty_kernel(const sharc_task *t, uint64_t begin, uint64_t end) {
  (void)t;
  (void)begin;
  (void)end;
  return 0;
}
SHARC_KERNEL_NAMED("empty", empty_kernel)

static int empty_setup(sharc_pool *pool, uint64_t n, const char *params,
                       sharc_job_opts *o, void **state, char *msg,
                       size_t msglen) {
  (void)pool;
  *state = NULL;
  int rc = sharc_app_params_parse("empty", params, NULL, 0, msg, msglen);
  if (rc)
    return rc;
  empty_state *s = calloc(1, sizeof *s);
  if (!s)
    return SHARC_ENOMEM;
  s->n = n;
  o->narrays = 0;
  o->args = NULL;
  o->args_len = 0;
  *state = s;
  return 0;
}

static int empty_result(void *state, const sharc_report *rep, FILE *out,
                        int json) {
  const empty_state *s = state;
  double rate = sharc_app_rate((double)s->n, rep);
  double wall = rep ? rep->wall_s : 0.0;
  if (json) {
    fprintf(out,
            "{\"app\":\"empty\",\"n\":%" PRIu64 ",\"wall_s\":%.9g"
            ",\"indices_per_s\":%.6g}",
            s->n, wall, rate);
    return 0;
  }
  fprintf(out, "empty: %" PRIu64 " indices in %.3g s, %.4g indices/s\n", s->n,
          wall, rate);
  return 0;
}

/* Nothing was computed, so there is nothing to compare; the job's own
 * checks (every index processed) are what an empty run proves. */
static int empty_verify(void *state, char *msg, size_t msglen) {
  (void)state;
  (void)msg;
  (void)msglen;
  return 0;
}

static void empty_teardown(void *state) { free(state); }

const sharc_app sharc_app_empty = {
    .name = "empty",
    .kernel = "empty",
    .summary = "does nothing: measures dispatch overhead",
    .params = "(none)",
    .default_n = UINT64_C(1) << 20,
    .setup = empty_setup,
    .result = empty_result,
    .verify = empty_verify,
    .teardown = empty_teardown,
};
