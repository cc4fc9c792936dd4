/* mandelbrot: escape-time iteration counts over [-2, 1] x [-1.5, 1.5].
 *
 * Index y is one image row of `width` pixels; the image has n rows. Rows
 * through the set cost up to maxiter iterations per pixel and rows outside
 * it almost nothing: the classic unbalanced loop. */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "apps.h"
#include "ranges.h"

typedef sharc_mandelbrot_args mandel_args;

typedef struct mandel_state {
  mandel_args args;   /* the job's argument bytes point here */
  sharc_array *image; /* uint32 [height x width] */
} mandel_state;

/* The per-index computation, shared by the kernel and verify(). */
static void mandel_row(const mandel_args *a, uint64_t y, uint32_t *row) {
  for (uint64_t x = 0; x < a->width; x++)
    row[x] =
        sharc_mandelbrot_pixel(a->width, a->height, (uint32_t)a->maxiter, x, y);
}

static int mandel_shape_ok(const sharc_task *t, const mandel_args *a,
                           uint64_t end) {
  const uint64_t *shape = sharc_task_array_shape(t, 0);
  return sharc_task_array_ndim(t, 0) == 2 && shape && end <= shape[0] &&
         shape[1] == a->width;
}

/* Hot path: one call per chunk; no allocation or system call. */
static int mandel_kernel(const sharc_task *t, uint64_t begin, uint64_t end) {
  mandel_args a;
  uint32_t *image = sharc_task_array(t, 0);
  if (sharc_app_task_args(t, &a, sizeof a) || !image ||
      !mandel_shape_ok(t, &a, end))
    return SHARC_EINVAL;
  sharc_mandelbrot_rows(a.width, a.height, (uint32_t)a.maxiter, image, begin,
                        end);
  return 0;
}
SHARC_KERNEL_NAMED("mandelbrot", mandel_kernel)

static void mandel_teardown(void *state) {
  mandel_state *s = state;
  if (!s)
    return;
  sharc_array_destroy(s->image);
  free(s);
}

static int mandel_setup(sharc_pool *pool, uint64_t n, const char *params,
                        sharc_job_opts *o, void **state, char *msg,
                        size_t msglen) {
  *state = NULL;
  mandel_args args = {1024, 500, n};
  const sharc_app_param spec[] = {
      {"width", SHARC_APP_PARAM_U64, &args.width, 1, 1 << 24, NULL, NULL},
      {"maxiter", SHARC_APP_PARAM_U64, &args.maxiter, 1, UINT32_MAX, NULL,
       NULL}};
  int rc = sharc_app_params_parse("mandelbrot", params, spec, 2, msg, msglen);
  if (rc)
    return rc;
  mandel_state *s = calloc(1, sizeof *s);
  if (!s)
    return SHARC_ENOMEM;
  s->args = args;
  o->narrays = 0;
  const uint64_t shape[2] = {n, args.width};
  rc = sharc_app_add_array(pool, "mandelbrot", "image", SHARC_U32, 2, shape, o,
                           0, &s->image, msg, msglen);
  if (rc) {
    mandel_teardown(s);
    return rc;
  }
  o->args = &s->args;
  o->args_len = sizeof s->args;
  *state = s;
  return 0;
}

static uint64_t mandel_total(const mandel_state *s) {
  const uint32_t *image = sharc_array_data(s->image);
  uint64_t pixels = s->args.height * s->args.width, total = 0;
  for (uint64_t p = 0; p < pixels; p++)
    total += image[p];
  return total;
}

static int mandel_result(void *state, const sharc_report *rep, FILE *out,
                         int json) {
  const mandel_state *s = state;
  const mandel_args *a = &s->args;
  uint64_t total = mandel_total(s);
  double rows = sharc_app_rate((double)a->height, rep);
  if (json) {
    fprintf(out,
            "{\"app\":\"mandelbrot\",\"width\":%" PRIu64 ",\"height\":%" PRIu64
            ",\"maxiter\":%" PRIu64 ",\"total_iterations\":%" PRIu64
            ",\"rows_per_s\":%.6g,\"iterations_per_s\":%.6g}",
            a->width, a->height, a->maxiter, total, rows,
            sharc_app_rate((double)total, rep));
    return 0;
  }
  fprintf(out,
          "mandelbrot: %" PRIu64 " x %" PRIu64 ", maxiter %" PRIu64 ", %" PRIu64
          " iterations\n",
          a->width, a->height, a->maxiter, total);
  fprintf(out, "%.4g rows/s\n", rows);
  return 0;
}

static int mandel_verify(void *state, char *msg, size_t msglen) {
  const mandel_state *s = state;
  const mandel_args *a = &s->args;
  const uint32_t *image = sharc_array_data(s->image);
  uint32_t *want = malloc(a->width * sizeof *want);
  if (!want)
    return SHARC_ENOMEM;
  for (uint64_t y = 0; y < a->height; y++) {
    const uint32_t *row = image + y * a->width;
    mandel_row(a, y, want);
    if (memcmp(row, want, a->width * sizeof *want) == 0)
      continue;
    uint64_t x = 0;
    while (row[x] == want[x])
      x++;
    sharc_app_msg(msg, msglen,
                  "mandelbrot: row %" PRIu64 " (index %" PRIu64
                  "), pixel %" PRIu64 " is %" PRIu32 ", expected %" PRIu32,
                  y, y, x, row[x], want[x]);
    free(want);
    return SHARC_ECORRUPT;
  }
  free(want);
  return 0;
}

const sharc_app sharc_app_mandelbrot = {
    .name = "mandelbrot",
    .kernel = "mandelbrot",
    .summary = "Mandelbrot iteration counts, one image row per index",
    .params = "width=W (default 1024), maxiter=M (default 500)",
    .default_n = 1024,
    .setup = mandel_setup,
    .result = mandel_result,
    .verify = mandel_verify,
    .teardown = mandel_teardown,
};
