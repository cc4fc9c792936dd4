/* triad: the STREAM triad a[i] = b[i] + s * c[i] over float64 arrays.
 *
 * Bandwidth is counted as STREAM counts it: 24 bytes per index (read b and
 * c, write a), whatever the caches and write-allocate traffic add. */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "apps.h"
#include "ranges.h"

typedef sharc_triad_args triad_args;

typedef struct triad_state {
  triad_args args; /* the job's argument bytes point here */
  uint64_t n;
  sharc_array *a, *b, *c; /* job arrays 0, 1, 2 */
} triad_state;

/* Hot path: one call per chunk; no allocation or system call. */
static int triad_kernel(const sharc_task *t, uint64_t begin, uint64_t end) {
  triad_args args;
  double *a = sharc_task_array(t, 0);
  const double *b = sharc_task_array(t, 1);
  const double *c = sharc_task_array(t, 2);
  if (sharc_app_task_args(t, &args, sizeof args) || !a || !b || !c)
    return SHARC_EINVAL;
  if (end > sharc_task_array_size(t, 0) || end > sharc_task_array_size(t, 1) ||
      end > sharc_task_array_size(t, 2))
    return SHARC_EINVAL;
  sharc_triad_range(a, b, c, args.scalar, begin, end);
  return 0;
}
SHARC_KERNEL_NAMED("triad", triad_kernel)

static void triad_teardown(void *state) {
  triad_state *s = state;
  if (!s)
    return;
  sharc_array_destroy(s->a);
  sharc_array_destroy(s->b);
  sharc_array_destroy(s->c);
  free(s);
}

/* Small repeating patterns: deterministic, cheap, and not all equal, so a
 * kernel that mixed up indices would be caught. verify() recomputes them
 * rather than trusting b and c after the job. */
static double triad_b(uint64_t i) { return 1.0 + (double)(i % 7); }
static double triad_c(uint64_t i) { return 2.0 + (double)(i % 5); }

static void triad_fill(triad_state *s) {
  double *b = sharc_array_data(s->b);
  double *c = sharc_array_data(s->c);
  for (uint64_t i = 0; i < s->n; i++) {
    b[i] = triad_b(i);
    c[i] = triad_c(i);
  }
}

static int triad_arrays(sharc_pool *pool, triad_state *s, sharc_job_opts *o,
                        char *msg, size_t msglen) {
  o->narrays = 0;
  int rc = sharc_app_add_array(pool, "triad", "a", SHARC_F64, 1, &s->n, o, 0,
                               &s->a, msg, msglen);
  if (!rc)
    rc = sharc_app_add_array(pool, "triad", "b", SHARC_F64, 1, &s->n, o, 1,
                             &s->b, msg, msglen);
  if (!rc)
    rc = sharc_app_add_array(pool, "triad", "c", SHARC_F64, 1, &s->n, o, 2,
                             &s->c, msg, msglen);
  return rc;
}

static int triad_setup(sharc_pool *pool, uint64_t n, const char *params,
                       sharc_job_opts *o, void **state, char *msg,
                       size_t msglen) {
  *state = NULL;
  triad_args args = {3.0};
  const sharc_app_param spec[] = {
      {"scalar", SHARC_APP_PARAM_F64, &args.scalar, -1e300, 1e300, NULL, NULL}};
  int rc = sharc_app_params_parse("triad", params, spec, 1, msg, msglen);
  if (rc)
    return rc;
  triad_state *s = calloc(1, sizeof *s);
  if (!s)
    return SHARC_ENOMEM;
  s->args = args;
  s->n = n;
  rc = triad_arrays(pool, s, o, msg, msglen);
  if (rc) {
    triad_teardown(s);
    return rc;
  }
  triad_fill(s); /* arrays start zeroed, so a stays 0 until the job */
  o->args = &s->args;
  o->args_len = sizeof s->args;
  *state = s;
  return 0;
}

static int triad_result(void *state, const sharc_report *rep, FILE *out,
                        int json) {
  const triad_state *s = state;
  double gbps = sharc_app_rate(24.0 * (double)s->n, rep) / 1e9;
  double mib = 8.0 * (double)s->n / (1024.0 * 1024.0);
  if (json) {
    fprintf(out,
            "{\"app\":\"triad\",\"n\":%" PRIu64 ",\"scalar\":%.17g"
            ",\"array_mib\":%.6g,\"total_mib\":%.6g,\"gb_per_s\":%.6g}",
            s->n, s->args.scalar, mib, 3.0 * mib, gbps);
    return 0;
  }
  fprintf(out, "triad: n = %" PRIu64 ", 3 arrays of %.1f MiB (%.1f MiB)\n",
          s->n, mib, 3.0 * mib);
  fprintf(out, "%.2f GB/s (STREAM counting: 24 bytes per index)\n", gbps);
  return 0;
}

static int triad_verify(void *state, char *msg, size_t msglen) {
  const triad_state *s = state;
  const double *a = sharc_array_data(s->a);
  for (uint64_t i = 0; i < s->n; i++) {
    double want = sharc_triad_at(triad_b(i), triad_c(i), s->args.scalar);
    if (memcmp(&a[i], &want, sizeof want) != 0) {
      sharc_app_msg(msg, msglen,
                    "triad: a[%" PRIu64 "] is %.17g, expected %.17g", i, a[i],
                    want);
      return SHARC_ECORRUPT;
    }
  }
  return 0;
}

const sharc_app sharc_app_triad = {
    .name = "triad",
    .kernel = "triad",
    .summary = "STREAM triad a = b + s*c over three float64 arrays",
    .params = "scalar=S (default 3.0)",
    .default_n = UINT64_C(1) << 24,
    .setup = triad_setup,
    .result = triad_result,
    .verify = triad_verify,
    .teardown = triad_teardown,
};
