/* sharc run under an MPI launcher (tools/mpi_run.h). libsharc_mpi is
 * loaded with dlopen, so that the tool never needs MPI's libraries unless
 * mpirun started it; its header is used for the types only. */
#include "mpi_run.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "opts.h"

#ifndef SHARC_TOOL_MPI

int tool_mpi_launched(void) { return 0; }
int tool_mpi_start(const char *cmd, const char *start, const char *unsupported,
                   sharc_pool_opts *po) {
  (void)start, (void)unsupported, (void)po;
  return tool_fail(cmd, 1, "this sharc was built without MPI");
}
int tool_mpi_active(void) { return 0; }
int tool_mpi_pool_create(sharc_pool **pool, const sharc_pool_opts *po,
                         char *msg, size_t msglen) {
  return sharc_pool_create(pool, po, msg, msglen);
}
int tool_mpi_run(const char *cmd, sharc_pool *pool, const sharc_app *app,
                 void *state, uint64_t n, const sharc_job_opts *o, int json,
                 int verify) {
  (void)pool, (void)app, (void)state, (void)n, (void)o, (void)json;
  (void)verify;
  return tool_fail(cmd, 1, "this sharc was built without MPI");
}
void tool_mpi_end(void) {}

#else

#include <dlfcn.h>
#include <stdint.h>

#include <sharc/mpi.h>

/* What the tool calls in libsharc_mpi, found by name. */
static struct {
  void *lib;
  int active;
  int (*init)(int *, char ***);
  int (*finalize)(void);
  int (*pool_create)(sharc_pool **, const sharc_pool_opts *,
                     const sharc_mpi_opts *, char *, size_t);
  int (*run)(sharc_pool *, const char *, uint64_t, const sharc_job_opts *,
             const sharc_mpi_opts *, sharc_mpi_report *);
  int (*gather)(const sharc_mpi_report *, sharc_array *,
                const sharc_mpi_opts *);
  void (*report_free)(sharc_mpi_report *);
  int (*print)(const sharc_mpi_report *, FILE *);
  int (*json)(const sharc_mpi_report *, FILE *);
} mpi;

int tool_mpi_launched(void) {
  const char *no = getenv("SHARC_NO_MPI");
  if (no != NULL && strcmp(no, "1") == 0)
    return 0;
  return getenv("OMPI_COMM_WORLD_SIZE") != NULL ||
         getenv("PMI_SIZE") != NULL || getenv("PMIX_RANK") != NULL;
}

int tool_mpi_active(void) { return mpi.active; }

/* ISO C cannot convert an object pointer to a function pointer: copy it. */
static int find(const char *cmd, const char *name, void *fn, size_t size) {
  void *p = dlsym(mpi.lib, name);
  if (p == NULL)
    return tool_fail(cmd, 1, "libsharc_mpi has no %s: not this sharc's", name);
  memcpy(fn, &p, size);
  return 0;
}
#define FIND(cmd, name, field) find(cmd, name, &mpi.field, sizeof mpi.field)

/* libsharc_mpi where libsharc is (the build tree, or the prefix's lib),
 * else wherever the loader finds it. Named by path: a dlopen intercepted
 * (by the sanitizers) would not search the tool's own RUNPATH. */
static void *open_beside_libsharc(void) {
  Dl_info info;
  char path[4096];
  void *fn = (void *)(uintptr_t)&sharc_version;
  if (dladdr(fn, &info) != 0 && info.dli_fname != NULL) {
    const char *slash = strrchr(info.dli_fname, '/');
    int len = slash != NULL ? (int)(slash - info.dli_fname) : 0;
    if (slash != NULL && snprintf(path, sizeof path, "%.*s/%s", len,
                                  info.dli_fname, SHARC_MPI_SONAME) <
                             (int)sizeof path) {
      void *lib = dlopen(path, RTLD_NOW | RTLD_GLOBAL);
      if (lib != NULL)
        return lib;
    }
  }
  return dlopen(SHARC_MPI_SONAME, RTLD_NOW | RTLD_GLOBAL);
}

static int load(const char *cmd) {
  const char *path = getenv("SHARC_MPI_LIB");
  /* RTLD_GLOBAL: MPI's own plugins expect its symbols to be global. */
  mpi.lib = path != NULL && *path ? dlopen(path, RTLD_NOW | RTLD_GLOBAL)
                                  : open_beside_libsharc();
  if (mpi.lib == NULL)
    return tool_fail(cmd, 1,
                     "started by an MPI launcher, but libsharc_mpi cannot be "
                     "loaded (%s); set SHARC_MPI_LIB to its path, or "
                     "SHARC_NO_MPI=1 to run each rank on its own",
                     dlerror());
  int rc = FIND(cmd, "sharc_mpi_init", init);
  rc = rc ? rc : FIND(cmd, "sharc_mpi_finalize", finalize);
  rc = rc ? rc : FIND(cmd, "sharc_mpi_pool_create", pool_create);
  rc = rc ? rc : FIND(cmd, "sharc_mpi_run", run);
  rc = rc ? rc : FIND(cmd, "sharc_mpi_allgather_array", gather);
  rc = rc ? rc : FIND(cmd, "sharc_mpi_report_free", report_free);
  rc = rc ? rc : FIND(cmd, "sharc_mpi_report_print", print);
  return rc ? rc : FIND(cmd, "sharc_mpi_report_json", json);
}

int tool_mpi_start(const char *cmd, const char *start, const char *unsupported,
                   sharc_pool_opts *po) {
  if (unsupported != NULL)
    return tool_fail(cmd, 2, "%s is not supported under MPI", unsupported);
  const char *how = start != NULL ? start : getenv("SHARC_START");
  if (how != NULL && strcmp(how, "fork") == 0)
    return tool_fail(cmd, 2,
                     "--start fork under MPI: workers must not be forked from "
                     "an MPI process; use forkserver (the default under MPI) "
                     "or spawn");
  if (po->start == SHARC_START_FORK)
    po->start = SHARC_START_FORKSERVER;
  int rc = load(cmd);
  if (rc != 0)
    return rc;
  rc = mpi.init(NULL, NULL);
  if (rc != 0)
    return tool_fail(cmd, 1, "sharc_mpi_init: %s", sharc_strerror(rc));
  mpi.active = 1;
  return 0;
}

int tool_mpi_pool_create(sharc_pool **pool, const sharc_pool_opts *po,
                         char *msg, size_t msglen) {
  if (!mpi.active)
    return sharc_pool_create(pool, po, msg, msglen);
  return mpi.pool_create(pool, po, NULL, msg, msglen);
}

/* What the app's result() reads of a report: the whole job's figures. */
static void as_report(const sharc_mpi_report *m, sharc_report *rep) {
  static const sharc_report init = SHARC_REPORT_INIT;
  *rep = init;
  rep->kernel = m->kernel;
  rep->error = m->error;
  rep->advice = "";
  rep->n = m->n;
  rep->nworkers = m->workers;
  rep->status = m->status;
  rep->wall_s = m->wall_s;
  rep->indices = m->indices;
  rep->chunks = m->parts;
  rep->imbalance_pct = m->imbalance_pct;
}

int tool_mpi_run(const char *cmd, sharc_pool *pool, const sharc_app *app,
                 void *state, uint64_t n, const sharc_job_opts *o, int json,
                 int verify) {
  sharc_mpi_report m = SHARC_MPI_REPORT_INIT;
  int rc = mpi.run(pool, app->kernel, n, o, NULL, &m);
  /* The output array: each rank holds what its super-chunks wrote. */
  if (rc == 0 && o->narrays > 0 && n > 0 &&
      sharc_array_nbytes(o->arrays[0]) % n == 0)
    rc = mpi.gather(&m, o->arrays[0], NULL);
  int status = 0;
  char msg[512];
  if (m.rank != 0) {
    status = rc != 0;
  } else if (rc != 0) {
    status = tool_fail(cmd, 1, "%s", m.error != NULL && m.error[0] ? m.error : sharc_strerror(rc));
  } else if (verify && app->verify(state, msg, sizeof msg) != 0) {
    status = tool_fail(cmd, 1, "verification failed: %s", msg);
  } else {
    sharc_report rep;
    as_report(&m, &rep);
    if (json) {
      printf("{\"result\":");
      app->result(state, &rep, stdout, 1);
      printf(",\"verified\":%s,\"report\":", verify ? "true" : "false");
      mpi.json(&m, stdout);
      printf("}\n");
    } else {
      app->result(state, &rep, stdout, 0);
      if (verify)
        printf("verified: identical to a sequential run\n");
      mpi.print(&m, stdout);
    }
  }
  mpi.report_free(&m);
  return status;
}

void tool_mpi_end(void) {
  if (mpi.active)
    mpi.finalize();
  mpi.active = 0;
}

#endif
