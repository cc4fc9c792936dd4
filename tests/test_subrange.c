/* Parts of a larger index space (sharc/experimental.h, lib/subrange.c): a
 * job run as parts [begin, end) in any order, its kernels seeing global
 * indices and the global n, gives reductions bit-identical to one
 * sharc_run() once every part's block partials are combined; a block no
 * part ran is caught; misaligned parts are refused. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define SHARC_EXPERIMENTAL_API
#include <sharc/experimental.h>

#include "helpers.h"

enum { R_SUM, R_MIN, R_MAX, R_HIST, R_MV, R_VEC, NRED };
#define NBINS 17
#define VW 3

typedef struct sub_args {
  uint64_t n; /* what sharc_task_n() must say */
} sub_args;

static double value(uint64_t i) {
  sharc_rng r = sharc_rng_at(7, 0, i);
  return sharc_rng_normal(&r) * pow(10.0, 4.0 * sharc_rng_uniform(&r));
}

/* Writes its index into out[i] (the output array: each index once) and
 * feeds every reduction kind. */
static int sub_kernel(const sharc_task *t, uint64_t begin, uint64_t end) {
  const sub_args *a = sharc_task_args(t, NULL);
  double *out = sharc_task_array(t, 0);
  if (a == NULL || out == NULL || sharc_task_n(t) != a->n || end > a->n)
    return SHARC_EINVAL;
  for (uint64_t i = begin; i < end; i++) {
    double x = value(i), v[VW] = {x, -x, 1.0};
    out[i] += (double)i + 1.0;
    int rc = sharc_task_sum(t, R_SUM, i, x) |
             sharc_task_minmax(t, R_MIN, i, x) |
             sharc_task_minmax(t, R_MAX, i, x) |
             sharc_task_hist(t, R_HIST, i, x / 1000.0) |
             sharc_task_welford(t, R_MV, i, x) |
             sharc_task_sum_vec(t, R_VEC, i, v);
    if (rc != 0)
      return SHARC_EINVAL;
  }
  return 0;
}
SHARC_KERNEL_NAMED("test_subrange", sub_kernel)

typedef struct results {
  sharc_reduce_result res[NRED];
  uint64_t bins[NBINS];
  double vec[VW];
} results;

/* What the options point to: the array list and the declarations. */
typedef struct decls {
  sharc_array *arrays[1];
  sharc_reduce_spec spec[NRED];
} decls;

static void declare(sharc_job_opts *o, decls *d, results *r,
                    const sub_args *a, sharc_array *out, uint64_t block) {
  *o = (sharc_job_opts)SHARC_JOB_OPTS_INIT;
  memset(r, 0, sizeof *r);
  o->args = a;
  o->args_len = sizeof *a;
  o->reduce_block = block;
  d->arrays[0] = out;
  o->arrays = d->arrays;
  o->narrays = 1;
  static const sharc_reduce_kind kinds[NRED] = {
      SHARC_REDUCE_SUM, SHARC_REDUCE_MIN, SHARC_REDUCE_MAX,
      SHARC_REDUCE_HIST, SHARC_REDUCE_MEANVAR, SHARC_REDUCE_SUM};
  for (unsigned k = 0; k < NRED; k++)
    d->spec[k] = (sharc_reduce_spec)SHARC_REDUCE_SPEC_INIT(kinds[k]);
  d->spec[R_HIST].nbins = NBINS;
  d->spec[R_HIST].lo = -5.0;
  d->spec[R_HIST].hi = 5.0;
  d->spec[R_HIST].bins = r->bins;
  d->spec[R_VEC].width = VW;
  d->spec[R_VEC].sums = r->vec;
  o->reduce = d->spec;
  o->reduce_out = r->res;
  o->nreduce = NRED;
}

/* The whole job once, then as parts of unequal sizes run last part
 * first, with `workers` workers and block `block` (0: the default). */
static void parts_match_whole(unsigned workers, uint64_t n, uint64_t block) {
  sharc_pool *pool;
  sharc_pool_opts po = SHARC_POOL_OPTS_INIT;
  po.workers = workers;
  po.pin = 0;
  cr_assert_eq(sharc_pool_create(&pool, &po, NULL, 0), 0);
  sharc_array *a1, *a2;
  cr_assert_eq(sharc_array_create(pool, SHARC_F64, 1, &n, NULL, &a1), 0);
  cr_assert_eq(sharc_array_create(pool, SHARC_F64, 1, &n, NULL, &a2), 0);
  sub_args args = {n};
  sharc_job_opts o1, o2;
  decls d1, d2;
  results *whole = calloc(1, sizeof *whole), *parts = calloc(1, sizeof *parts);
  declare(&o1, &d1, whole, &args, a1, block);
  cr_assert_eq(sharc_run(pool, "test_subrange", n, &o1, NULL), 0, "%s",
               sharc_pool_errmsg(pool));

  declare(&o2, &d2, parts, &args, a2, block);
  uint64_t B, stride;
  char msg[256];
  cr_assert_eq(sharc_reduce_layout(&o2, n, &B, &stride, msg, sizeof msg), 0);
  cr_assert(B > 0 && stride > 0);
  uint64_t nblocks = n / B + (n % B != 0);
  unsigned char *all = calloc(nblocks, stride);
  /* Part k holds k + 1 blocks, from the end of the index space back. */
  uint64_t hi = nblocks;
  for (uint64_t k = 0; hi > 0; k++) {
    uint64_t lo = hi > k + 1 ? hi - (k + 1) : 0;
    uint64_t b = lo * B, e = hi * B < n ? hi * B : n;
    sharc_report rep = SHARC_REPORT_INIT;
    cr_assert_eq(sharc_run_part(pool, "test_subrange", n, b, e, &o2,
                                all + lo * stride, &rep),
                 0, "%s", sharc_pool_errmsg(pool));
    cr_assert_eq(rep.indices, e - b);
    sharc_report_free(&rep);
    hi = lo;
  }
  cr_assert_eq(sharc_reduce_combine(&o2, n, all, msg, sizeof msg), 0, "%s",
               msg);
  cr_assert_eq(memcmp(whole, parts, sizeof *whole), 0,
               "parts differ from the whole job");
  cr_assert_eq(memcmp(sharc_array_data(a1), sharc_array_data(a2), n * 8), 0);
  const double *out = sharc_array_data(a2);
  for (uint64_t i = 0; i < n; i++)
    cr_assert_eq(out[i], (double)i + 1.0, "index %llu ran %g times",
                 (unsigned long long)i, out[i] / ((double)i + 1.0));

  /* A block no part ran is named, and nothing is written. */
  memset(all + (nblocks / 2) * stride, 0, stride);
  results before = *parts;
  cr_assert_eq(sharc_reduce_combine(&o2, n, all, msg, sizeof msg),
               SHARC_ECORRUPT);
  cr_assert(strstr(msg, "block") != NULL, "%s", msg);
  cr_assert_eq(memcmp(before.bins, parts->bins, sizeof before.bins), 0);
  free(all);
  free(whole);
  free(parts);
  sharc_pool_destroy(pool);
}

Test(subrange, parts_are_bit_identical_to_the_whole_job_one_worker) {
  parts_match_whole(1, 100003, 0);
}

Test(subrange, parts_are_bit_identical_to_the_whole_job_three_workers) {
  parts_match_whole(3, 20000, 96); /* a block that is no power of two */
}

Test(subrange, misaligned_or_outside_parts_are_refused) {
  sharc_pool *pool;
  sharc_pool_opts po = SHARC_POOL_OPTS_INIT;
  po.workers = 1;
  po.pin = 0;
  cr_assert_eq(sharc_pool_create(&pool, &po, NULL, 0), 0);
  uint64_t n = 1000;
  sharc_array *a;
  cr_assert_eq(sharc_array_create(pool, SHARC_F64, 1, &n, NULL, &a), 0);
  sub_args args = {n};
  sharc_job_opts o;
  decls d;
  results r;
  declare(&o, &d, &r, &args, a, 64);
  unsigned char buf[4096 * 4];
  cr_assert_eq(sharc_run_part(pool, "test_subrange", n, 10, 64, &o, buf, NULL),
               SHARC_EINVAL);
  cr_assert(strstr(sharc_pool_errmsg(pool), "multiples of 64") != NULL, "%s",
            sharc_pool_errmsg(pool));
  cr_assert_eq(sharc_run_part(pool, "test_subrange", n, 64, 2000, &o, buf,
                              NULL),
               SHARC_EINVAL);
  cr_assert_eq(sharc_run_part(pool, "test_subrange", n, 0, 64, &o, NULL, NULL),
               SHARC_EINVAL);
  /* The last part may end at n, off the block. */
  cr_assert_eq(sharc_run_part(pool, "test_subrange", n, 960, n, &o, buf, NULL),
               0, "%s", sharc_pool_errmsg(pool));
  cr_assert_eq(sharc_pool_start_method(pool), SHARC_START_FORK);
  sharc_pool_destroy(pool);
}
