/* Per-worker hooks given by name (sharc_pool_opts.init_name, fini_name)
 * rather than as pointers: resolved once in the coordinator for workers
 * that are copies of it (fork, fork server), and in each spawned worker
 * among the libraries it loaded, since no pointer crosses exec. */
#include <dlfcn.h>
#include <stdlib.h>
#include <string.h>

#include "inject.h"
#include "internal.h"

static const char *hook_what(int fini) { return fini ? "fini" : "init"; }

/* One name: "" is none; a pointer and a name for the same hook, or a
 * name too long for the wire, is refused. */
static int take_name(sharc_pool *pool, int fini, int has_ptr,
                     const char **name, char **copy) {
  if (*name == NULL || **name == '\0') {
    *name = NULL;
    return 0;
  }
  if (has_ptr)
    return sharc__fail(pool, SHARC_EINVAL,
                       "%s hook given both as a pointer and by name ('%.200s')",
                       hook_what(fini), *name);
  if (strlen(*name) >= SHARC__HOOK_NAME_MAX)
    return sharc__fail(pool, SHARC_EINVAL,
                       "%s hook name '%.40s...' is longer than %d bytes",
                       hook_what(fini), *name, SHARC__HOOK_NAME_MAX - 1);
  *copy = sharc__inject("strdup", ENOMEM) ? NULL : strdup(*name);
  if (*copy == NULL)
    return sharc__fail(pool, SHARC_ENOMEM, "out of memory");
  *name = *copy;
  return 0;
}

/* Resolves a name where the worker will be a copy of this process. */
static int resolve_here(sharc_pool *pool, int fini, const char *name,
                        void **fn) {
  if (name == NULL)
    return 0;
  dlerror();
  *fn = dlsym(RTLD_DEFAULT, name);
  if (*fn != NULL)
    return 0;
  const char *e = dlerror();
  return sharc__fail(pool, SHARC_ENOENT,
                     "%s hook '%s' (sharc_pool_opts.%s_name) is not in the "
                     "program nor in a library it loaded RTLD_GLOBAL (%s); "
                     "a function of the executable must be exported "
                     "(-rdynamic)",
                     hook_what(fini), name, hook_what(fini),
                     e ? e : "dlsym found nothing");
}

int sharc__hooks_prepare(sharc_pool *pool) {
  sharc_pool_opts *o = &pool->opts;
  int rc = take_name(pool, 0, o->init != NULL, &o->init_name,
                     &pool->init_name);
  if (rc == 0)
    rc = take_name(pool, 1, o->fini != NULL, &o->fini_name, &pool->fini_name);
  if (rc != 0 || o->start == SHARC_START_SPAWN)
    return rc; /* spawned workers look the names up themselves */
  void *init = NULL, *fini = NULL;
  rc = resolve_here(pool, 0, o->init_name, &init);
  if (rc == 0)
    rc = resolve_here(pool, 1, o->fini_name, &fini);
  if (rc != 0)
    return rc;
  /* dlsym returns functions as void *; POSIX guarantees the conversion */
  if (init != NULL)
    *(void **)&o->init = init;
  if (fini != NULL)
    *(void **)&o->fini = fini;
  return 0;
}

void *sharc__hook_find(void *const *libs, unsigned nlibs, const char *name) {
  for (unsigned i = 0; i < nlibs; i++) {
    void *fn = dlsym(libs[i], name);
    if (fn != NULL)
      return fn;
  }
  /* a program that is its own worker executable (sharc_worker_main) */
  return dlsym(RTLD_DEFAULT, name);
}
