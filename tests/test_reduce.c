/* Deterministic reductions (sharc/reduce.h, lib/reduce.c): every kind gives
 * the same bits for 1..8 workers and every schedule; the floating-point
 * results are exactly the documented algorithm (block partials in index
 * order, pairwise over blocks) and close to a plain sequential computation;
 * misuse is refused; partials a worker scribbled on are caught. */
#include <criterion/criterion.h>
#include <math.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include <sharc.h>

#include "helpers.h"
#include "internal.h"

enum { R_SUM, R_MIN, R_MAX, R_COUNT, R_HIST, R_MV, NRED };
#define NBINS 50
#define HLO -1000.0
#define HHI 1000.0

typedef struct red_args {
  uint64_t seed;
  uint32_t scribble; /* corruption tests: what to break */
  uint32_t pad;
} red_args;

/* Values over eight orders of magnitude: their sum depends on the order of
 * the additions, so bit equality across splits means something. */
static double value(uint64_t seed, uint64_t i, unsigned k) {
  sharc_rng r = sharc_rng_at(seed, k, i);
  double z = sharc_rng_normal(&r);
  return z * pow(10.0, 4.0 * sharc_rng_uniform(&r));
}
/* Index i adds one value, every fifth index two. */
static unsigned nvalues(uint64_t i) { return 1 + (i % 5 == 0); }

static int add_all(const sharc_task *t, uint64_t i, double x) {
  int rc = sharc_task_sum(t, R_SUM, i, x);
  rc |= sharc_task_minmax(t, R_MIN, i, x);
  rc |= sharc_task_minmax(t, R_MAX, i, x);
  rc |= sharc_task_count(t, R_COUNT, i, x > 0);
  rc |= sharc_task_hist(t, R_HIST, i, x);
  rc |= sharc_task_welford(t, R_MV, i, x);
  return rc;
}

static void scribble(const sharc_task *t, uint64_t begin, uint32_t what) {
  /* Reaches into the task as a broken kernel might into shared memory. */
  const sharc__reduce_desc *d = &t->red;
  uint64_t blk = begin / d->block;
  unsigned char *p = t->partials + blk * d->stride;
  if (what == 1)
    ((sharc__red_head *)(void *)p)->stamp ^= 1;
  if (what == 2)
    ((sharc__red_hist *)(void *)(p + d->red[R_HIST].off))->bins[3] += 1;
  if (what == 3)
    ((sharc__red_ext *)(void *)(p + d->red[R_MIN].off))->index =
        begin + d->block;
  if (what == 4)
    ((sharc__red_mv *)(void *)(p + d->red[R_MV].off))->m2 = -1.0;
}

static int reduce_all_kernel(const sharc_task *t, uint64_t begin,
                             uint64_t end) {
  const red_args *a = sharc_task_args(t, NULL);
  /* The partials are the job's, not the kernel's: it sees no array. */
  if (a == NULL || sharc_task_narrays(t) != 0 || sharc_task_array(t, 0))
    return SHARC_EINVAL;
  for (uint64_t i = begin; i < end; i++) {
    for (unsigned k = 0; k < nvalues(i); k++) {
      if (add_all(t, i, value(a->seed, i, k)) != 0)
        return SHARC_EINVAL;
    }
  }
  if (a->scribble && begin == 0)
    scribble(t, begin, a->scribble);
  return 0;
}
SHARC_KERNEL_NAMED("test_reduce_all", reduce_all_kernel)

typedef struct results {
  sharc_reduce_spec spec[NRED];
  sharc_reduce_result r[NRED];
  uint64_t bins[NBINS];
} results;

static void declare(sharc_job_opts *o, results *res) {
  static const sharc_reduce_kind kinds[NRED] = {
      SHARC_REDUCE_SUM,   SHARC_REDUCE_MIN,  SHARC_REDUCE_MAX,
      SHARC_REDUCE_COUNT, SHARC_REDUCE_HIST, SHARC_REDUCE_MEANVAR};
  for (int r = 0; r < NRED; r++) {
    sharc_reduce_spec s = SHARC_REDUCE_SPEC_INIT(kinds[r]);
    if (kinds[r] == SHARC_REDUCE_HIST) {
      s.nbins = NBINS;
      s.lo = HLO;
      s.hi = HHI;
      s.bins = res->bins;
    }
    res->spec[r] = s;
  }
  o->reduce = res->spec;
  o->reduce_out = res->r;
  o->nreduce = NRED;
}

static int run_all(sharc_pool *pool, uint64_t n, const char *sched,
                   uint64_t block, red_args *args, results *res) {
  sharc_job_opts o = SHARC_JOB_OPTS_INIT;
  cr_assert_eq(sharc_schedule_parse(sched, &o.schedule), 0);
  o.args = args;
  o.args_len = sizeof *args;
  o.reduce_block = block;
  memset(res, 0xa5, sizeof *res);
  declare(&o, res);
  return sharc_run(pool, "test_reduce_all", n, &o, NULL);
}

#define SAME_BITS(a, b) (memcmp(&(a), &(b), sizeof(a)) == 0)

static int same_result(const sharc_reduce_result *a,
                       const sharc_reduce_result *b) {
  return a->kind == b->kind && a->count == b->count &&
         SAME_BITS(a->sum, b->sum) && SAME_BITS(a->value, b->value) &&
         a->index == b->index && SAME_BITS(a->mean, b->mean) &&
         SAME_BITS(a->m2, b->m2) && SAME_BITS(a->var, b->var) &&
         SAME_BITS(a->sem, b->sem) && a->under == b->under &&
         a->over == b->over && a->nan == b->nan;
}

/* --- the documented algorithm, sequentially ------------------------------ */

typedef struct mv {
  uint64_t n;
  double mean, m2;
} mv;

static mv chan(mv a, mv b) {
  if (a.n == 0)
    return b;
  if (b.n == 0)
    return a;
  mv m = {a.n + b.n, 0, 0};
  double n = (double)m.n, delta = b.mean - a.mean;
  m.mean = a.mean + delta * ((double)b.n / n);
  m.m2 = a.m2 + b.m2 + delta * delta * ((double)a.n * (double)b.n / n);
  return m;
}

static double sum_tree(const double *s, uint64_t lo, uint64_t hi) {
  if (hi - lo == 1)
    return s[lo];
  uint64_t mid = lo + (hi - lo) / 2;
  return sum_tree(s, lo, mid) + sum_tree(s, mid, hi);
}

static mv mv_tree(const mv *s, uint64_t lo, uint64_t hi) {
  if (hi - lo == 1)
    return s[lo];
  uint64_t mid = lo + (hi - lo) / 2;
  return chan(mv_tree(s, lo, mid), mv_tree(s, mid, hi));
}

typedef struct expect {
  double tree_sum, plain_sum, plain_sum_backwards, abs_sum;
  mv tree_mv;
  double min, max;
  uint64_t imin, imax, count, positive, under, over;
  uint64_t bins[NBINS];
} expect;

static void expected(uint64_t seed, uint64_t n, uint64_t block, expect *e) {
  memset(e, 0, sizeof *e);
  uint64_t nblocks = (n + block - 1) / block;
  double *bs = calloc(nblocks, sizeof *bs);
  mv *bm = calloc(nblocks, sizeof *bm);
  double *all = malloc(2 * n * sizeof *all);
  cr_assert(bs && bm && all);
  e->min = INFINITY;
  e->max = -INFINITY;
  uint64_t nall = 0;
  for (uint64_t i = 0; i < n; i++) {
    for (unsigned k = 0; k < nvalues(i); k++) {
      double x = value(seed, i, k);
      all[nall++] = x;
      uint64_t b = i / block;
      bs[b] += x;
      mv *m = &bm[b];
      m->n++;
      double delta = x - m->mean;
      m->mean += delta / (double)m->n;
      m->m2 += delta * (x - m->mean);
      e->count++;
      e->positive += x > 0;
      e->abs_sum += fabs(x);
      if (x < e->min)
        e->min = x, e->imin = i;
      if (x > e->max)
        e->max = x, e->imax = i;
      if (x < HLO)
        e->under++;
      else if (x >= HHI)
        e->over++;
      else
        e->bins[(int)((x - HLO) * (NBINS / (HHI - HLO)))]++;
    }
  }
  for (uint64_t k = 0; k < nall; k++)
    e->plain_sum += all[k];
  for (uint64_t k = nall; k-- > 0;)
    e->plain_sum_backwards += all[k];
  e->tree_sum = sum_tree(bs, 0, nblocks);
  e->tree_mv = mv_tree(bm, 0, nblocks);
  free(bs);
  free(bm);
  free(all);
}

static void check_expected(const results *res, const expect *e,
                           const char *what) {
  const sharc_reduce_result *r = res->r;
  cr_assert(SAME_BITS(r[R_SUM].sum, e->tree_sum),
            "%s: sum %.17g, expected %.17g", what, r[R_SUM].sum, e->tree_sum);
  cr_assert_eq(r[R_SUM].count, e->count, "%s", what);
  cr_assert_leq(fabs(r[R_SUM].sum - e->plain_sum), 1e-13 * e->abs_sum, "%s",
                what);
  cr_assert(r[R_MIN].value == e->min && r[R_MIN].index == e->imin,
            "%s: min %g at %llu, expected %g at %llu", what, r[R_MIN].value,
            (unsigned long long)r[R_MIN].index, e->min,
            (unsigned long long)e->imin);
  cr_assert(r[R_MAX].value == e->max && r[R_MAX].index == e->imax, "%s", what);
  cr_assert_eq(r[R_COUNT].count, e->positive, "%s", what);
  cr_assert_eq(r[R_HIST].count, e->count, "%s", what);
  cr_assert(r[R_HIST].under == e->under && r[R_HIST].over == e->over &&
                r[R_HIST].nan == 0,
            "%s", what);
  cr_assert(memcmp(res->bins, e->bins, sizeof e->bins) == 0, "%s: bins", what);
  cr_assert_eq(r[R_MV].count, e->count, "%s", what);
  cr_assert(SAME_BITS(r[R_MV].mean, e->tree_mv.mean) &&
                SAME_BITS(r[R_MV].m2, e->tree_mv.m2),
            "%s: mean %.17g m2 %.17g, expected %.17g %.17g", what, r[R_MV].mean,
            r[R_MV].m2, e->tree_mv.mean, e->tree_mv.m2);
  double var = e->tree_mv.m2 / (double)(e->count - 1);
  cr_assert(SAME_BITS(r[R_MV].var, var), "%s", what);
  double sem = sqrt(var / (double)e->count);
  cr_assert(SAME_BITS(r[R_MV].sem, sem), "%s", what);
  cr_assert_leq(fabs(r[R_MV].mean - e->plain_sum / (double)e->count),
                1e-12 * e->abs_sum / (double)e->count, "%s", what);
}

/* --- tests --------------------------------------------------------------- */

Test(reduce, every_kind_is_bit_identical_for_1_to_8_workers_and_9_schedules) {
  static const char *const scheds[] = {"static",   "static:3", "dynamic",
                                       "dynamic:7", "guided",  "guided:4",
                                       "auto",      "fac2",    "wf"};
  const uint64_t n = 20000, block = 64, seed = 7;
  red_args args = {seed, 0, 0};
  expect e;
  expected(seed, n, block, &e);
  /* The data are order-sensitive: a plain sum forwards and backwards
   * differ, so equal bits across splits are not an accident. */
  cr_assert(!SAME_BITS(e.plain_sum, e.plain_sum_backwards),
            "the test data sum to the same bits in both orders");
  cr_assert(e.under > 0 && e.over > 0 && e.positive > 0 &&
            e.positive < e.count);
  results first, res;
  int have = 0;
  for (unsigned w = 1; w <= 8; w++) {
    sharc_pool *pool = test_pool(w);
    for (size_t s = 0; s < sizeof scheds / sizeof scheds[0]; s++) {
      char what[96];
      snprintf(what, sizeof what, "%u workers, %s", w, scheds[s]);
      int rc = run_all(pool, n, scheds[s], block, &args, &res);
      cr_assert_eq(rc, 0, "%s: %s: %s", what, sharc_strerror(rc),
                   sharc_pool_errmsg(pool));
      if (!have) {
        check_expected(&res, &e, what);
        first = res;
        have = 1;
        continue;
      }
      for (int r = 0; r < NRED; r++)
        cr_assert(same_result(&res.r[r], &first.r[r]),
                  "%s: reduction %d differs from 1 worker, static", what, r);
      cr_assert(memcmp(res.bins, first.bins, sizeof res.bins) == 0, "%s", what);
    }
    sharc_pool_destroy(pool);
  }
}

Test(reduce, default_block_gives_the_documented_algorithm_and_n_0_is_empty) {
  sharc_pool *pool = test_pool(2);
  red_args args = {99, 0, 0};
  results res;
  const uint64_t n = 70003; /* default block 8: 8751 blocks, the last short */
  cr_assert_eq(sharc_reduce_default_block(n, 128), 8);
  cr_assert_eq(run_all(pool, n, "dynamic:3", 0, &args, &res), 0, "%s",
               sharc_pool_errmsg(pool));
  expect e;
  expected(99, n, 8, &e);
  check_expected(&res, &e, "default block");

  cr_assert_eq(run_all(pool, 0, "guided", 0, &args, &res), 0);
  for (int r = 0; r < NRED; r++)
    cr_assert_eq(res.r[r].count, 0);
  cr_assert_eq(res.r[R_SUM].sum, 0.0);
  cr_assert(isnan(res.r[R_MIN].value) && res.r[R_MIN].index == UINT64_MAX);
  cr_assert(isnan(res.r[R_MAX].value) && res.r[R_MAX].index == UINT64_MAX);
  cr_assert(res.r[R_MV].mean == 0 && res.r[R_MV].var == 0 &&
            res.r[R_MV].sem == 0);
  for (int k = 0; k < NBINS; k++)
    cr_assert_eq(res.bins[k], 0);
  sharc_pool_destroy(pool);
}

Test(reduce, default_block_is_the_smallest_power_of_two_within_the_limits) {
  const uint64_t ns[] = {0, 1, 1000, 1u << 26, 1000000007, UINT64_C(1) << 40};
  const uint64_t bytes[] = {128, 256, 32896};
  for (size_t a = 0; a < sizeof ns / sizeof ns[0]; a++) {
    for (size_t b = 0; b < sizeof bytes / sizeof bytes[0]; b++) {
      uint64_t n = ns[a], blk = sharc_reduce_default_block(n, bytes[b]);
      cr_assert(blk >= 1 && (blk & (blk - 1)) == 0);
      uint64_t nb = (n + blk - 1) / blk;
      cr_assert_leq(nb, 16384);
      cr_assert_leq(nb * bytes[b], UINT64_C(64) << 20);
      uint64_t half = blk / 2, nh = half ? (n + half - 1) / half : 0;
      cr_assert(blk == 1 || nh > 16384 || nh * bytes[b] > (UINT64_C(64) << 20),
                "n %llu: block %llu is not the smallest", (unsigned long long)n,
                (unsigned long long)blk);
    }
  }
  cr_assert_eq(sharc_reduce_default_block(UINT64_C(1) << 30, 128), 65536);
  /* Small jobs get a block of 1: every index can go to any worker. */
  cr_assert_eq(sharc_reduce_default_block(256, 128), 1);
  cr_assert_eq(sharc_reduce_default_block(16384, 128), 1);
  cr_assert_eq(sharc_reduce_default_block(16385, 128), 2);
}

/* Runs a job declaring spec as its reduction 1 (after a good one) and
 * expects SHARC_EINVAL naming reduction 1, with nothing run. */
static void refused(sharc_pool *pool, sharc_reduce_spec spec, const char *why) {
  sharc_reduce_spec specs[2] = {SHARC_REDUCE_SPEC_INIT(SHARC_REDUCE_SUM), spec};
  sharc_reduce_result out[2];
  red_args args = {1, 0, 0};
  sharc_job_opts o = SHARC_JOB_OPTS_INIT;
  o.args = &args;
  o.args_len = sizeof args;
  o.reduce = specs;
  o.reduce_out = out;
  o.nreduce = 2;
  cr_assert_eq(sharc_run(pool, "test_reduce_all", 100, &o, NULL), SHARC_EINVAL,
               "%s: accepted", why);
  cr_assert(strstr(sharc_pool_errmsg(pool), "reduction 1:") != NULL, "%s: %s",
            why, sharc_pool_errmsg(pool));
}

Test(reduce, declarations_are_checked) {
  sharc_pool *pool = test_pool(1);
  uint64_t bins[4];
  sharc_reduce_spec s = SHARC_REDUCE_SPEC_INIT(SHARC_REDUCE_SUM);
  s.kind = (sharc_reduce_kind)0;
  refused(pool, s, "kind 0");
  s.kind = (sharc_reduce_kind)8;
  refused(pool, s, "kind 8");
  sharc_reduce_spec h = SHARC_REDUCE_SPEC_INIT(SHARC_REDUCE_HIST);
  h.nbins = 0, h.lo = 0.0, h.hi = 1.0, h.bins = bins;
  refused(pool, h, "no bins");
  h.nbins = SHARC_REDUCE_MAX_BINS + 1;
  refused(pool, h, "too many bins");
  h.nbins = 4, h.lo = 1.0;
  refused(pool, h, "lo = hi");
  h.lo = NAN;
  refused(pool, h, "lo NaN");
  h.lo = -1e308, h.hi = 1e308; /* the width overflows */
  refused(pool, h, "infinite width");
  h.lo = 0.0, h.hi = 1.0, h.bins = NULL;
  refused(pool, h, "no bins array");

  /* The lists themselves: too many, or a count without its list. */
  sharc_reduce_spec many[SHARC_MAX_JOB_REDUCTIONS + 1];
  sharc_reduce_result out[SHARC_MAX_JOB_REDUCTIONS + 1];
  for (int r = 0; r <= SHARC_MAX_JOB_REDUCTIONS; r++)
    many[r] = (sharc_reduce_spec)SHARC_REDUCE_SPEC_INIT(SHARC_REDUCE_MEANVAR);
  sharc_job_opts o = SHARC_JOB_OPTS_INIT;
  o.reduce = many;
  o.reduce_out = out;
  o.nreduce = SHARC_MAX_JOB_REDUCTIONS + 1;
  cr_assert_eq(sharc_run(pool, "test_reduce_all", 100, &o, NULL), SHARC_EINVAL);
  cr_assert(strstr(sharc_pool_errmsg(pool), "more than SHARC_MAX_JOB_REDUCTIONS"),
            "%s", sharc_pool_errmsg(pool));
  o.nreduce = SHARC_MAX_JOB_REDUCTIONS;
  o.reduce_out = NULL;
  cr_assert_eq(sharc_run(pool, "test_reduce_all", 100, &o, NULL), SHARC_EINVAL);
  cr_assert(strstr(sharc_pool_errmsg(pool), "reduce_out is NULL"), "%s",
            sharc_pool_errmsg(pool));
  sharc_job_opts a = SHARC_JOB_OPTS_INIT;
  a.narrays = 1; /* and no list */
  cr_assert_eq(sharc_run(pool, "test_reduce_all", 100, &a, NULL), SHARC_EINVAL);
  cr_assert(strstr(sharc_pool_errmsg(pool), "arrays is NULL"), "%s",
            sharc_pool_errmsg(pool));

  /* A block that is not a multiple of the grain is refused by the run. */
  red_args args = {1, 0, 0};
  sharc_job_opts j = SHARC_JOB_OPTS_INIT;
  results res;
  declare(&j, &res);
  j.args = &args;
  j.args_len = sizeof args;
  j.grain = 3;
  j.reduce_block = 64;
  cr_assert_eq(sharc_run(pool, "test_reduce_all", 1000, &j, NULL),
               SHARC_EINVAL);
  cr_assert(strstr(sharc_pool_errmsg(pool), "grain") != NULL);
  /* With the default block, the grain is respected and results still hold. */
  j.reduce_block = 0;
  cr_assert_eq(sharc_run(pool, "test_reduce_all", 5000, &j, NULL), 0, "%s",
               sharc_pool_errmsg(pool));
  expect e;
  expected(1, 5000, 3, &e); /* 1 rounded up to a multiple of 3 */
  check_expected(&res, &e, "grain 3");
  sharc_pool_destroy(pool);
}

/* Misuse from inside a kernel: each call must give the documented code. */
static int misuse_kernel(const sharc_task *t, uint64_t begin, uint64_t end) {
  int bad = 0;
  bad |= sharc_task_sum(t, 0, end, 1.0) != SHARC_ERANGE; /* past it */
  bad |= begin > 0 && sharc_task_sum(t, 0, begin - 1, 1.0) != SHARC_ERANGE;
  bad |= sharc_task_sum(t, 2, begin, 1.0) != SHARC_EINVAL;     /* no such r */
  bad |= sharc_task_welford(t, 0, begin, 1.0) != SHARC_EINVAL; /* kind */
  bad |= sharc_task_hist(t, 1, begin, 1.0) != SHARC_EINVAL;
  bad |= sharc_task_count(t, 0, begin, 1) != SHARC_EINVAL;
  bad |= sharc_task_minmax(t, 1, begin, 1.0) != 0; /* MAX is ok */
  for (uint64_t i = begin; i < end; i++)
    bad |= sharc_task_reduce(t, 0, i, 1.0) != 0;
  return bad ? SHARC_EKERNEL : 0;
}
SHARC_KERNEL_NAMED("test_reduce_misuse", misuse_kernel)

static int no_reduction_kernel(const sharc_task *t, uint64_t begin,
                               uint64_t end) {
  (void)end;
  return sharc_task_reduce(t, 0, begin, 1.0) == SHARC_EINVAL ? 0
                                                             : SHARC_EKERNEL;
}
SHARC_KERNEL_NAMED("test_reduce_none", no_reduction_kernel)

Test(reduce, misuse_in_the_kernel_is_refused_and_adds_nothing) {
  sharc_pool *pool = test_pool(3);
  sharc_job_opts o = SHARC_JOB_OPTS_INIT;
  sharc_reduce_spec s = SHARC_REDUCE_SPEC_INIT(SHARC_REDUCE_SUM);
  sharc_reduce_spec m = SHARC_REDUCE_SPEC_INIT(SHARC_REDUCE_MAX);
  sharc_reduce_spec specs[2] = {s, m};
  sharc_reduce_result res[2];
  o.reduce = specs;
  o.reduce_out = res;
  o.nreduce = 2;
  const sharc_reduce_result *sum = &res[0], *max = &res[1];
  o.schedule.kind = SHARC_SCHED_DYNAMIC;
  o.reduce_block = 16;
  int rc = sharc_run(pool, "test_reduce_misuse", 1000, &o, NULL);
  cr_assert_eq(rc, 0, "%s", sharc_pool_errmsg(pool));
  cr_assert_eq(sum->count, 1000);
  cr_assert_eq(sum->sum, 1000.0);
  cr_assert(max->value == 1.0 && max->index == 0 && max->count == (1000 + 15) / 16,
            "max %g at %llu, %llu values", max->value,
            (unsigned long long)max->index, (unsigned long long)max->count);
  cr_assert_eq(sharc_run(pool, "test_reduce_none", 100, NULL, NULL), 0);
  sharc_pool_destroy(pool);
}

Test(reduce, scribbled_partials_fail_the_job_naming_the_block) {
  sharc_pool *pool = test_pool(2);
  const char *want[] = {NULL, "not reset", "do not add up", "outside the block",
                        "impossible mean"};
  for (uint32_t what = 1; what <= 4; what++) {
    red_args args = {3, what, 0};
    results res;
    int rc = run_all(pool, 4000, "dynamic", 256, &args, &res);
    cr_assert_eq(rc, SHARC_ECORRUPT, "scribble %u: %d", what, rc);
    const char *msg = sharc_pool_errmsg(pool);
    cr_assert(strstr(msg, want[what]) && strstr(msg, "block 0"), "%s", msg);
    for (int r = 0; r < NRED; r++)
      cr_assert_eq(res.r[r].count, 0, "a failed job left results");
  }
  /* The pool is still fine. */
  red_args args = {3, 0, 0};
  results res;
  cr_assert_eq(run_all(pool, 4000, "dynamic", 256, &args, &res), 0);
  sharc_pool_destroy(pool);
}

Test(reduce, partials_kept_from_an_earlier_job_do_not_leak_into_the_next) {
  /* The pool keeps its partials between jobs: a larger job first leaves
   * stale blocks behind, which the next, smaller job must not see. */
  red_args big = {5, 0, 0}, small = {6, 0, 0};
  results res;
  expect e;
  sharc_pool *pool = test_pool(2);
  cr_assert_eq(run_all(pool, 9000, "guided", 128, &big, &res), 0);
  cr_assert_eq(run_all(pool, 3000, "dynamic:2", 128, &small, &res), 0, "%s",
               sharc_pool_errmsg(pool));
  expected(6, 3000, 128, &e);
  check_expected(&res, &e, "second job on a pool");
  sharc_pool_destroy(pool);
}

/* The reset rule, driven by hand as the worker drives it: a chunk done a
 * second time (as after a retry) starts from clean partials, touches only
 * its own blocks, and a description that does not fit the mapping turns
 * the reductions off instead of writing past it. */
Test(reduce, a_chunk_done_again_starts_from_clean_partials) {
  static sharc__job_desc job;
  /* four blocks and the identities block after them */
  static unsigned char part[5 * 128] __attribute__((aligned(128)));
  memset(&job, 0, sizeof job);
  memset(part, 0, sizeof part);
  job.n = 256;
  job.narrays = 1;
  sharc__reduce_desc *d = &job.reduce;
  d->nred = 1;
  d->slot = 0;
  d->block = 64;
  d->shift = 6;
  d->nblocks = 4;
  d->stride = 128;
  d->stamp = 77;
  d->red[0].kind = SHARC_REDUCE_SUM;
  d->red[0].width = 1;
  d->red[0].off = sizeof(sharc__red_head);
  sharc__wmap m;
  memset(&m, 0, sizeof m);
  m.data = part;
  m.nbytes = m.size = sizeof part;
  sharc_task t;
  memset(&t, 0, sizeof t);
  t.job = &job;
  t.narrays = 1;
  t.arrays[0] = &m;
  const sharc__red_sum *sum[4];
  const sharc__red_head *head[4];
  for (int b = 0; b < 4; b++) {
    head[b] = (const sharc__red_head *)(const void *)(part + 128 * b);
    sum[b] = (const sharc__red_sum *)(const void *)(part + 128 * b + 16);
  }

  sharc__reduce_chunk(&t, &job, 64, 192);
  cr_assert_eq(t.narrays, 0, "the kernel must not see the partials");
  for (uint64_t i = 64; i < 192; i++)
    cr_assert_eq(sharc_task_sum(&t, 0, i, 1.0), 0);
  cr_assert_eq(sharc_task_sum(&t, 0, 63, 1.0), SHARC_ERANGE);
  cr_assert_eq(sharc_task_sum(&t, 0, 192, 1.0), SHARC_ERANGE);
  cr_assert(sum[1]->sum == 64 && sum[2]->sum == 64 && sum[1]->count == 64);
  cr_assert(head[1]->stamp == 77 && head[2]->stamp == 77);
  cr_assert(head[0]->stamp == 0 && head[3]->stamp == 0, "other blocks touched");

  sharc__reduce_chunk(&t, &job, 64, 192); /* the same chunk, again */
  cr_assert(sum[1]->sum == 0 && sum[1]->count == 0 && sum[2]->sum == 0);
  for (uint64_t i = 64; i < 128; i++)
    cr_assert_eq(sharc_task_sum(&t, 0, i, 2.0), 0);
  cr_assert(sum[1]->sum == 128 && sum[1]->count == 64 && sum[2]->count == 0);

  d->nblocks = 5; /* more blocks than the mapping holds */
  t.narrays = 1;
  sharc__reduce_chunk(&t, &job, 0, 64);
  cr_assert_eq(sharc_task_sum(&t, 0, 0, 1.0), SHARC_EINVAL);
  cr_assert_eq(head[0]->stamp, 0, "wrote with a description that does not fit");
}

static int die_kernel(const sharc_task *t, uint64_t begin, uint64_t end) {
  const red_args *a = sharc_task_args(t, NULL);
  if (a->scribble == 9 && begin <= 100 && 100 < end)
    raise(SIGKILL);
  return reduce_all_kernel(t, begin, end);
}
SHARC_KERNEL_NAMED("test_reduce_die", die_kernel)

Test(reduce, a_worker_dying_fails_the_job_and_leaves_no_results) {
  sharc_pool *pool = test_pool(2);
  red_args args = {8, 9, 0};
  results res;
  sharc_job_opts o = SHARC_JOB_OPTS_INIT;
  o.args = &args;
  o.args_len = sizeof args;
  declare(&o, &res);
  cr_assert_eq(sharc_run(pool, "test_reduce_die", 3000, &o, NULL),
               SHARC_EWORKER);
  for (int r = 0; r < NRED; r++)
    cr_assert_eq(res.r[r].count, 0);
  /* The replaced worker gets the kept partials too; results are right. */
  args.scribble = 0;
  for (int k = 0; k < 2; k++) {
    cr_assert_eq(sharc_run(pool, "test_reduce_die", 3000, &o, NULL), 0, "%s",
                 sharc_pool_errmsg(pool));
    expect e;
    expected(8, 3000, 1, &e); /* the default block of 3000 indices */
    check_expected(&res, &e, "after a death");
  }
  sharc_pool_destroy(pool);
}

/* Index i adds i, except that every index divisible by 10 adds NaN. */
static int nan_kernel(const sharc_task *t, uint64_t begin, uint64_t end) {
  int rc = 0;
  for (uint64_t i = begin; i < end; i++) {
    double x = i % 10 == 0 ? NAN : (double)i;
    for (unsigned r = 0; r < 5; r++)
      rc |= sharc_task_reduce(t, r, i, x);
  }
  return rc ? SHARC_EINVAL : 0;
}
SHARC_KERNEL_NAMED("test_reduce_nan", nan_kernel)

Test(reduce, nan_values_are_counted_skipped_by_min_max_and_binned_apart) {
  sharc_pool *pool = test_pool(2);
  sharc_job_opts o = SHARC_JOB_OPTS_INIT;
  uint64_t bins[2];
  sharc_reduce_spec specs[5] = {SHARC_REDUCE_SPEC_INIT(SHARC_REDUCE_SUM),
                                SHARC_REDUCE_SPEC_INIT(SHARC_REDUCE_MIN),
                                SHARC_REDUCE_SPEC_INIT(SHARC_REDUCE_MAX),
                                SHARC_REDUCE_SPEC_INIT(SHARC_REDUCE_HIST),
                                SHARC_REDUCE_SPEC_INIT(SHARC_REDUCE_COUNT)};
  specs[3].nbins = 2, specs[3].hi = 1000.0, specs[3].bins = bins;
  sharc_reduce_result res[5];
  o.reduce = specs;
  o.reduce_out = res;
  o.nreduce = 5;
  o.reduce_block = 16;
  cr_assert_eq(sharc_run(pool, "test_reduce_nan", 2000, &o, NULL), 0, "%s",
               sharc_pool_errmsg(pool));
  cr_assert(isnan(res[0].sum) && res[0].count == 2000);
  cr_assert(res[1].value == 1.0 && res[1].index == 1 && res[1].count == 2000);
  cr_assert(res[2].value == 1999.0 && res[2].index == 1999);
  cr_assert(res[3].nan == 200 && res[3].count == 2000 && res[3].over == 900);
  cr_assert(bins[0] == 450 && bins[1] == 450, "%llu %llu",
            (unsigned long long)bins[0], (unsigned long long)bins[1]);
  cr_assert_eq(res[4].count, 2000, "COUNT counts NaN as not zero");
  sharc_pool_destroy(pool);
}

/* --- block-local accumulators --------------------------------------------- */

/* mode 0: sharc_task_welford per value; 1: one local accumulator per block,
 * merged once; 2: two merges per block (the second through Chan's formula);
 * 3: misuse (an index outside the chunk, a wrong reduction number). */
static int welford_modes(const sharc_task *t, uint64_t b, uint64_t e) {
  const int *mode = sharc_task_args(t, NULL);
  if (*mode == 0) {
    for (uint64_t i = b; i < e; i++)
      if (sharc_task_welford(t, 0, i, value(3, i, 0)) != 0)
        return SHARC_EINVAL;
    return 0;
  }
  if (*mode == 3) {
    sharc_welford w = SHARC_WELFORD_INIT;
    sharc_welford_add(&w, 1.0);
    if (sharc_task_welford_merge(t, 0, e, &w) != SHARC_ERANGE ||
        sharc_task_welford_merge(t, 5, b, &w) != SHARC_EINVAL ||
        sharc_task_welford_merge(t, 0, b, NULL) != SHARC_EINVAL)
      return -EPROTO;
    return 0;
  }
  uint64_t B = sharc_task_reduce_block(t);
  for (uint64_t lo = b; lo < e;) {
    uint64_t hi = (lo / B + 1) * B < e ? (lo / B + 1) * B : e;
    uint64_t cut = *mode == 2 ? lo + (hi - lo) / 2 : hi;
    sharc_welford w = SHARC_WELFORD_INIT, w2 = SHARC_WELFORD_INIT;
    for (uint64_t i = lo; i < cut; i++)
      sharc_welford_add(&w, value(3, i, 0));
    for (uint64_t i = cut; i < hi; i++)
      sharc_welford_add(&w2, value(3, i, 0));
    if (sharc_task_welford_merge(t, 0, lo, &w) != 0 ||
        sharc_task_welford_merge(t, 0, lo, &w2) != 0)
      return SHARC_EINVAL;
    lo = hi;
  }
  return 0;
}
SHARC_KERNEL_NAMED("test_welford_modes", welford_modes)

static sharc_reduce_result run_mode(sharc_pool *p, int mode, const char *s,
                                    uint64_t n) {
  sharc_job_opts o = SHARC_JOB_OPTS_INIT;
  cr_assert_eq(sharc_schedule_parse(s, &o.schedule), 0);
  o.args = &mode;
  o.args_len = sizeof mode;
  o.reduce_block = 256;
  sharc_reduce_spec spec = SHARC_REDUCE_SPEC_INIT(SHARC_REDUCE_MEANVAR);
  sharc_reduce_result res;
  o.reduce = &spec;
  o.reduce_out = &res;
  o.nreduce = 1;
  cr_assert_eq(sharc_run(p, "test_welford_modes", n, &o, NULL), 0,
               "mode %d %s: %s", mode, s, sharc_pool_errmsg(p));
  return res;
}

Test(reduce, block_local_welford_merges_give_the_per_value_bits) {
  const uint64_t n = 50001;
  const char *scheds[] = {"static", "dynamic:3", "auto", "guided"};
  sharc_reduce_result want;
  int have = 0;
  for (unsigned nw = 1; nw <= 3; nw++) {
    sharc_pool *p = test_pool(nw);
    for (size_t k = 0; k < sizeof scheds / sizeof scheds[0]; k++) {
      sharc_reduce_result per = run_mode(p, 0, scheds[k], n);
      sharc_reduce_result merged = run_mode(p, 1, scheds[k], n);
      if (!have) {
        want = per;
        have = 1;
      }
      cr_assert_eq(per.count, n);
      cr_assert(memcmp(&merged.mean, &want.mean, sizeof want.mean) == 0 &&
                    memcmp(&merged.m2, &want.m2, sizeof want.m2) == 0 &&
                    memcmp(&per.mean, &want.mean, sizeof want.mean) == 0,
                "W=%u %s: merged %.17g/%.17g, per value %.17g/%.17g", nw,
                scheds[k], merged.mean, merged.m2, want.mean, want.m2);
      /* Two merges per block: Chan's formula, the same to rounding. */
      sharc_reduce_result two = run_mode(p, 2, scheds[k], n);
      cr_assert_eq(two.count, n);
      cr_assert_lt(fabs(two.mean - want.mean), 1e-12 * fabs(want.mean) + 1e-15);
      cr_assert_lt(fabs(two.m2 - want.m2), 1e-10 * fabs(want.m2));
    }
    run_mode(p, 3, "dynamic:7", 1000); /* misuse answers with the codes */
    sharc_pool_destroy(p);
  }
}
