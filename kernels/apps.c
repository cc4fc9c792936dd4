/* The registry of built-in apps and the small helpers they share. */
#include <stdarg.h>
#include <string.h>

#include "apps.h"

const sharc_app *const sharc_apps[] = {
    &sharc_app_pi,        &sharc_app_triad, &sharc_app_mandelbrot,
    &sharc_app_synthetic, &sharc_app_empty, NULL};

const sharc_app *sharc_app_find(const char *name) {
  if (!name)
    return NULL;
  for (unsigned i = 0; sharc_apps[i]; i++)
    if (strcmp(sharc_apps[i]->name, name) == 0)
      return sharc_apps[i];
  return NULL;
}

void sharc_app_msg(char *msg, size_t msglen, const char *fmt, ...) {
  if (!msg || msglen == 0)
    return;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, msglen, fmt, ap);
  va_end(ap);
}

sharc_app_output sharc_app_out = {NULL, 0};

/* The job's list of arrays: the tool prepares one app's job at a time. */
static sharc_array *app_arrays[SHARC_MAX_JOB_ARRAYS];

int sharc_app_add_array(sharc_pool *pool, const char *app, const char *what,
                        sharc_dtype dt, int ndim, const uint64_t *shape,
                        sharc_job_opts *o, unsigned slot, sharc_array **out,
                        char *msg, size_t msglen) {
  *out = NULL;
  sharc_array *a = NULL;
  int rc;
  if (slot == 0 && sharc_app_out.path != NULL)
    rc = sharc_array_open_raw(pool, sharc_app_out.path,
                              sharc_app_out.resume ? SHARC_RDWR
                                                   : SHARC_RDWR | SHARC_CREATE,
                              dt, ndim, shape, 0, &a);
  else
    rc = sharc_array_create(pool, dt, ndim, shape, NULL, &a);
  if (rc) {
    const char *detail = pool ? sharc_pool_errmsg(pool) : "";
    sharc_app_msg(msg, msglen, "%s: cannot create %s: %s%s%s", app, what,
                  sharc_strerror(rc), detail[0] ? ": " : "", detail);
    return rc;
  }
  /* The kernel finds its arrays by position, so a job that already held
   * arrays other than the app's would hand it the wrong ones: refuse
   * rather than misrun. */
  if ((o->narrays > 0 && o->arrays != app_arrays) || o->narrays != slot ||
      slot >= SHARC_MAX_JOB_ARRAYS) {
    sharc_array_destroy(a);
    sharc_app_msg(msg, msglen, "%s: %s would be job array %u, not %u", app,
                  what, o->narrays, slot);
    return SHARC_EINVAL;
  }
  app_arrays[slot] = a;
  o->arrays = app_arrays;
  o->narrays = slot + 1;
  *out = a;
  return 0;
}

int sharc_app_task_args(const sharc_task *t, void *out, size_t len) {
  size_t have = 0;
  const void *args = sharc_task_args(t, &have);
  if (!args || have != len)
    return SHARC_EINVAL;
  memcpy(out, args, len);
  return 0;
}

double sharc_app_rate(double count, const sharc_report *rep) {
  return rep && rep->wall_s > 0 ? count / rep->wall_s : 0.0;
}
