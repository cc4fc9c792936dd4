/* The kernel registry and the task handle's accessors. */
#include <string.h>

#include "internal.h"

/* A fixed table: registration runs from constructors, before main and
 * possibly before malloc is safe to rely on; forked workers inherit it. */
static struct {
  char name[SHARC_KERNEL_NAME_MAX];
  sharc_kernel_fn fn;
} registry[SHARC_KERNELS_MAX];
static unsigned registered;

static int valid_name(const char *name) {
  size_t len = strlen(name);
  if (len == 0 || len >= SHARC_KERNEL_NAME_MAX)
    return 0;
  for (size_t i = 0; i < len; i++) {
    char c = name[i];
    int ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
             (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-';
    if (!ok)
      return 0;
  }
  return 1;
}

int sharc_kernel_register(const char *name, sharc_kernel_fn fn) {
  if (name == NULL || fn == NULL || !valid_name(name))
    return SHARC_EINVAL;
  for (unsigned i = 0; i < registered; i++) {
    if (strcmp(registry[i].name, name) == 0)
      return registry[i].fn == fn ? 0 : SHARC_EEXIST;
  }
  if (registered == SHARC_KERNELS_MAX)
    return SHARC_ENOMEM;
  strcpy(registry[registered].name, name);
  registry[registered].fn = fn;
  registered++;
  return 0;
}

sharc_kernel_fn sharc_kernel_find(const char *name) {
  if (name == NULL)
    return NULL;
  for (unsigned i = 0; i < registered; i++) {
    if (strcmp(registry[i].name, name) == 0)
      return registry[i].fn;
  }
  return NULL;
}

int sharc__kernel_index(const char *name) {
  for (unsigned i = 0; name != NULL && i < registered; i++) {
    if (strcmp(registry[i].name, name) == 0)
      return (int)i;
  }
  return -1;
}

/* The registry only grows, so the fork server knows exactly the kernels
 * registered before it forked: those with a lower index. Spawned workers
 * know what their libraries registered, which worker 0 listed. */
int sharc__kernel_check(sharc_pool *pool, const char *name) {
  int i = sharc__kernel_index(name);
  if (pool->opts.start == SHARC_START_SPAWN) {
    for (unsigned k = 0; k < pool->nknames; k++) {
      if (strcmp(pool->knames[k], name) == 0)
        return 0;
    }
    const char *libs = pool->kernel_libs;
    return sharc__fail(pool, SHARC_ENOKERNEL,
                       "no kernel named '%s' in the libraries that workers "
                       "started by spawn loaded (%u kernels): %s (from "
                       "sharc_pool_opts.kernel_libs and SHARC_KERNEL_PATH)",
                       name, pool->nknames,
                       libs != NULL && *libs != '\0' ? libs : "none given");
  }
  if (i < 0)
    return sharc__fail(pool, SHARC_ENOKERNEL,
                       "no kernel named '%s' is registered (%u known)", name,
                       registered);
  if (pool->opts.start == SHARC_START_FORKSERVER &&
      (unsigned)i >= pool->srv_kernels)
    return sharc__fail(pool, SHARC_ENOKERNEL,
                       "kernel '%s' was registered after the fork server "
                       "started (sharc_init), so workers started by "
                       "forkserver do not know it: register it from a "
                       "constructor (SHARC_KERNEL) or before sharc_init(), or "
                       "use start method fork",
                       name);
  return 0;
}

unsigned sharc_kernel_count(void) { return registered; }

const char *sharc_kernel_name(unsigned i) {
  return i < registered ? registry[i].name : NULL;
}

static const sharc__wmap *task_map(const sharc_task *t, unsigned i) {
  return t != NULL && i < t->narrays ? t->arrays[i] : NULL;
}

void *sharc_task_array(const sharc_task *t, unsigned i) {
  const sharc__wmap *m = task_map(t, i);
  return m ? m->data : NULL;
}

uint64_t sharc_task_array_size(const sharc_task *t, unsigned i) {
  const sharc__wmap *m = task_map(t, i);
  return m ? m->size : 0;
}

uint64_t sharc_task_array_nbytes(const sharc_task *t, unsigned i) {
  const sharc__wmap *m = task_map(t, i);
  return m ? m->nbytes : 0;
}

sharc_dtype sharc_task_array_dtype(const sharc_task *t, unsigned i) {
  const sharc__wmap *m = task_map(t, i);
  return m ? m->dtype : SHARC_DTYPE_COUNT;
}

int sharc_task_array_ndim(const sharc_task *t, unsigned i) {
  const sharc__wmap *m = task_map(t, i);
  return m ? m->ndim : -1;
}

const uint64_t *sharc_task_array_shape(const sharc_task *t, unsigned i) {
  const sharc__wmap *m = task_map(t, i);
  return m ? m->shape : NULL;
}

unsigned sharc_task_narrays(const sharc_task *t) { return t ? t->narrays : 0; }

const void *sharc_task_args(const sharc_task *t, size_t *len) {
  if (len != NULL)
    *len = t ? t->job->args_len : 0;
  return t && t->job->args_len ? t->job->args : NULL;
}

uint64_t sharc_task_n(const sharc_task *t) {
  if (t == NULL)
    return 0;
  return t->job->global_n ? t->job->global_n : t->job->n;
}
unsigned sharc_task_worker(const sharc_task *t) { return t ? t->worker : 0; }
void *sharc_task_local(const sharc_task *t) { return t ? t->local : NULL; }
unsigned sharc_task_nworkers(const sharc_task *t) {
  return t ? t->nworkers : 0;
}
int sharc_task_numa(const sharc_task *t) { return t ? t->numa : -1; }
