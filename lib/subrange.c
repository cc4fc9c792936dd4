/* Parts of a larger index space (sharc/experimental.h): a job over
 * [0, n) run as parts [begin, end) whose kernels see global indices, and
 * its reductions completed afterwards from every part's block partials.
 * libsharc_mpi runs one part per claimed super-chunk. */
#define SHARC_EXPERIMENTAL_API
#include "sharc/experimental.h"

#include <stdio.h>
#include <string.h>

#include "job_int.h"

static int opts_ok(const sharc_job_opts *o, char *msg, size_t msglen) {
  if (o != NULL && o->size == sizeof *o)
    return 1;
  if (msg != NULL && msglen > 0)
    snprintf(msg, msglen,
             "job options missing or not made by SHARC_JOB_OPTS_INIT");
  return 0;
}

int sharc_reduce_layout(const sharc_job_opts *o, uint64_t n, uint64_t *block,
                        uint64_t *stride, char *msg, size_t msglen) {
  if (!opts_ok(o, msg, msglen) || block == NULL || stride == NULL)
    return SHARC_EINVAL;
  *block = *stride = 0;
  if (o->nreduce == 0)
    return 0;
  return sharc__reduce_layout(o, n, block, stride, msg, msglen);
}

int sharc_reduce_combine(const sharc_job_opts *o, uint64_t n,
                         const void *partials, char *msg, size_t msglen) {
  if (!opts_ok(o, msg, msglen))
    return SHARC_EINVAL;
  if (o->nreduce == 0)
    return 0;
  if (partials == NULL)
    return SHARC_EINVAL;
  return sharc__reduce_combine_parts(o, n, partials, msg, msglen);
}

int sharc_pool_start_method(const sharc_pool *pool) {
  return pool != NULL ? (int)pool->opts.start : -1;
}

/* The part must start and end where the whole job's chunks may: on its
 * reduction blocks, else on its grain. */
static int part_aligned(sharc_pool *pool, const sharc_job_opts *o, uint64_t n,
                        uint64_t begin, uint64_t end, uint64_t *block) {
  uint64_t stride;
  int rc = sharc_reduce_layout(o, n, block, &stride, pool->msg,
                               sizeof pool->msg);
  if (rc != 0)
    return rc;
  uint64_t unit = *block ? *block : o->grain > 1 ? o->grain : 1;
  if (begin % unit != 0 || (end % unit != 0 && end != n))
    return sharc__fail(pool, SHARC_EINVAL,
                       "part [%llu, %llu) of [0, %llu): its ends must be "
                       "multiples of %llu (the job's %s) or n",
                       (unsigned long long)begin, (unsigned long long)end,
                       (unsigned long long)n, (unsigned long long)unit,
                       *block ? "reduction block" : "grain");
  return 0;
}

int sharc_run_part(sharc_pool *pool, const char *kernel, uint64_t n,
                   uint64_t begin, uint64_t end, const sharc_job_opts *o,
                   void *partials, sharc_report *rep) {
  int rc = sharc__run_entry(pool, rep);
  if (rc != 0)
    return rc;
  if (!opts_ok(o, pool->msg, sizeof pool->msg))
    return SHARC_EINVAL;
  if (n > SHARC__MAX_N || begin > end || end > n)
    return sharc__fail(pool, SHARC_EINVAL,
                       "part [%llu, %llu) is not inside [0, %llu), or n "
                       "exceeds 2^62",
                       (unsigned long long)begin, (unsigned long long)end,
                       (unsigned long long)n);
  if (o->journal_path != NULL || o->resume)
    return sharc__fail(pool, SHARC_EINVAL,
                       "a part of a larger job cannot keep a journal");
  uint64_t block;
  rc = part_aligned(pool, o, n, begin, end, &block);
  if (rc != 0)
    return rc;
  if (block != 0 && partials == NULL)
    return sharc__fail(pool, SHARC_EINVAL,
                       "a part of a job with reductions needs somewhere to "
                       "put its partials");
  /* The part's partials are the whole job's blocks: the same block. */
  sharc_job_opts po = *o;
  po.reduce_block = block;
  sharc__job_hooks hooks;
  memset(&hooks, 0, sizeof hooks);
  hooks.base = begin;
  hooks.global_n = n;
  hooks.partials_out = block != 0 ? partials : NULL;
  int ran;
  rc = sharc__run_if_idle(pool, kernel, end - begin, &po, rep, &hooks, &ran);
  if (!ran)
    return sharc__fail(pool, SHARC_EAGAIN,
                       "the pool is running or has queued jobs: a part runs "
                       "only on an idle pool");
  return rc;
}
