/* y = a*x + y over two shared arrays on a pool of worker processes: the
 * complete example of docs/getting-started-c.md.
 *
 *   cc getting-started.c $(pkg-config --cflags --libs sharc) -o saxpy
 *   ./saxpy 1000000
 *
 * Exits 0 when every element of y holds a*i + 1 exactly. */
#include <stdio.h>
#include <stdlib.h>

#include <sharc.h>

typedef struct saxpy_args {
  double a;
} saxpy_args;

/* Runs in the workers, one index range at a time; the arrays are the
 * coordinator's, mapped in every worker, never copied. */
static int saxpy(const sharc_task *t, uint64_t begin, uint64_t end) {
  const saxpy_args *args = sharc_task_args(t, NULL);
  const double *x = sharc_task_array(t, 0);
  double *y = sharc_task_array(t, 1);
  for (uint64_t i = begin; i < end; i++)
    y[i] = args->a * x[i] + y[i];
  return 0;
}
SHARC_KERNEL(saxpy) /* registered before the pool starts: workers know it */

int main(int argc, char **argv) {
  uint64_t n = argc > 1 ? strtoull(argv[1], NULL, 10) : 1000000;
  char msg[256];
  sharc_pool *pool;
  int rc = sharc_pool_create(&pool, NULL, msg, sizeof msg); /* one per PU */
  if (rc != 0) {
    fprintf(stderr, "saxpy: %s\n", msg);
    return 1;
  }
  sharc_array *x = NULL, *y = NULL;
  rc = sharc_array_create(pool, SHARC_F64, 1, &n, NULL, &x);
  if (rc == 0)
    rc = sharc_array_create(pool, SHARC_F64, 1, &n, NULL, &y);
  if (rc != 0) {
    fprintf(stderr, "saxpy: %s\n", sharc_strerror(rc));
    sharc_pool_destroy(pool); /* also destroys the arrays made so far */
    return 1;
  }
  double *xs = sharc_array_data(x), *ys = sharc_array_data(y);
  for (uint64_t i = 0; i < n; i++) {
    xs[i] = (double)i;
    ys[i] = 1.0;
  }

  saxpy_args args = {2.0};
  sharc_job_opts o = SHARC_JOB_OPTS_INIT; /* the adaptive schedule */
  o.args = &args;                         /* copied once per job */
  o.args_len = sizeof args;
  sharc_array *arrays[] = {x, y};        /* the kernel's arrays 0 and 1 */
  o.arrays = arrays;                      /* read by sharc_run */
  o.narrays = 2;
  sharc_report rep = SHARC_REPORT_INIT;
  rc = sharc_run(pool, "saxpy", n, &o, &rep);
  if (rc != 0)
    fprintf(stderr, "saxpy: %s\n", sharc_pool_errmsg(pool));
  else
    printf("saxpy: %llu elements on %u workers in %.3f ms\n",
           (unsigned long long)n, rep.nworkers, rep.wall_s * 1e3);
  sharc_report_free(&rep);

  uint64_t wrong = 0;
  for (uint64_t i = 0; i < n && rc == 0; i++)
    wrong += ys[i] != 2.0 * (double)i + 1.0;
  if (rc == 0)
    printf("saxpy: %llu wrong elements\n", (unsigned long long)wrong);
  sharc_pool_destroy(pool);
  return rc != 0 || wrong != 0;
}
