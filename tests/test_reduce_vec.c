/* Vector, bin and user-defined reductions (sharc/reduce.h), the default
 * block that lets every worker take part, the report's advice when the
 * block limits balance, and NPB EP classes S and W through them: verified
 * against NPB's published sums and bit-identical for 1, 2 and 3 workers
 * and every schedule. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <sharc.h>

#include "../bench/ep/ep.h"
#include "helpers.h"

#define SAME_BITS(a, b) (memcmp(&(a), &(b), sizeof(a)) == 0)

static const char *const scheds[] = {"static",    "static:3", "dynamic",
                                     "dynamic:7", "guided",   "guided:4",
                                     "auto",      "fac2",     "wf"};
#define NSCHED (sizeof scheds / sizeof scheds[0])

/* Order-sensitive values: sums over different splits differ in their bits. */
static double value(uint64_t i, unsigned j) {
  sharc_rng r = sharc_rng_at(11, j, i);
  return sharc_rng_normal(&r) * pow(10.0, 4.0 * sharc_rng_uniform(&r));
}
static uint64_t kval(uint64_t i, unsigned j) { return (i * 7 + j * 3) % 5; }

/* --- vectors ------------------------------------------------------------- */

#define VW 3 /* sum width */
#define CW 4 /* count width */
enum { V_SUMS, V_S0, V_S1, V_S2, V_COUNTS, V_C0, NV };

/* Each index adds its VW values to the vector at once and to VW scalar
 * sums one by one, and its CW counts to the vector and element 0 alone. */
static int vec_kernel(const sharc_task *t, uint64_t begin, uint64_t end) {
  for (uint64_t i = begin; i < end; i++) {
    double x[VW];
    uint64_t k[CW];
    for (unsigned j = 0; j < VW; j++)
      x[j] = value(i, j);
    for (unsigned j = 0; j < CW; j++)
      k[j] = kval(i, j);
    int rc = sharc_task_sum_vec(t, V_SUMS, i, x);
    for (unsigned j = 0; j < VW; j++)
      rc |= sharc_task_sum(t, V_S0 + j, i, x[j]);
    rc |= sharc_task_count_vec(t, V_COUNTS, i, k);
    rc |= sharc_task_count(t, V_C0, i, k[0]);
    if (rc != 0)
      return SHARC_EKERNEL;
  }
  return 0;
}
SHARC_KERNEL_NAMED("test_rvec", vec_kernel)

typedef struct vec_out {
  double sums[VW];
  uint64_t counts[CW];
  sharc_reduce_result r[NV];
} vec_out;

static int run_vec(sharc_pool *pool, uint64_t n, const char *sched,
                   uint64_t block, vec_out *v) {
  sharc_job_opts o = SHARC_JOB_OPTS_INIT;
  cr_assert_eq(sharc_schedule_parse(sched, &o.schedule), 0);
  o.reduce_block = block;
  memset(v, 0xa5, sizeof *v);
  sharc_reduce_spec specs[NV];
  for (int r = 0; r < NV; r++) {
    sharc_reduce_spec s = SHARC_REDUCE_SPEC_INIT(
        r < V_COUNTS ? SHARC_REDUCE_SUM : SHARC_REDUCE_COUNT);
    if (r == V_SUMS)
      s.width = VW, s.sums = v->sums;
    if (r == V_COUNTS)
      s.width = CW, s.counts = v->counts;
    specs[r] = s;
  }
  o.reduce = specs;
  o.reduce_out = v->r;
  o.nreduce = NV;
  return sharc_run(pool, "test_rvec", n, &o, NULL);
}

Test(reduce_vec, vector_elements_have_the_bits_of_scalar_sums_for_any_split) {
  const uint64_t n = 5000, block = 16;
  vec_out first, v;
  uint64_t want[CW] = {0}, total = 0;
  for (uint64_t i = 0; i < n; i++) {
    for (unsigned j = 0; j < CW; j++) {
      want[j] += kval(i, j);
      total += kval(i, j);
    }
  }
  for (unsigned w = 1; w <= 3; w++) {
    sharc_pool *pool = test_pool(w);
    for (size_t s = 0; s < NSCHED; s++) {
      cr_assert_eq(run_vec(pool, n, scheds[s], block, &v), 0, "%s",
                   sharc_pool_errmsg(pool));
      for (unsigned j = 0; j < VW; j++) {
        cr_assert(SAME_BITS(v.sums[j], v.r[V_S0 + j].sum),
                  "element %u: %.17g, scalar %.17g", j, v.sums[j],
                  v.r[V_S0 + j].sum);
      }
      cr_assert_eq(v.r[V_SUMS].count, n); /* one call per index */
      cr_assert_eq(v.r[V_SUMS].sum, 0.0); /* a vector's are in sums */
      cr_assert(memcmp(v.counts, want, sizeof want) == 0);
      cr_assert_eq(v.r[V_COUNTS].count, total);
      cr_assert_eq(v.r[V_C0].count, want[0]);
      if (w == 1 && s == 0)
        first = v;
      cr_assert(memcmp(v.sums, first.sums, sizeof v.sums) == 0,
                "%u workers, %s: sums differ from 1 worker", w, scheds[s]);
    }
    sharc_pool_destroy(pool);
  }
  /* The values are order-sensitive: another block gives other bits, which
   * is why the block is part of what makes a result reproducible. */
  sharc_pool *pool = test_pool(2);
  cr_assert_eq(run_vec(pool, n, "dynamic", 1, &v), 0);
  int differs = 0;
  for (unsigned j = 0; j < VW; j++)
    differs |= !SAME_BITS(v.sums[j], first.sums[j]);
  cr_assert(differs, "blocks of 1 and 16 gave the same bits");
  sharc_pool_destroy(pool);
}

/* --- histograms: add k to bin b, merge a block's bins ----------------------
 */

#define HB 8
static unsigned bin_of(uint64_t i) {
  return (unsigned)((i * 2654435761u) % HB);
}

/* r 0: one sharc_task_hist() per value; r 1: the same values counted in a
 * local array per block and merged once; r 2: sharc_task_hist_add(). */
static int hist_kernel(const sharc_task *t, uint64_t begin, uint64_t end) {
  uint64_t B = sharc_task_reduce_block(t);
  int rc = 0;
  for (uint64_t lo = begin; lo < end;) {
    uint64_t hi = (lo / B + 1) * B < end ? (lo / B + 1) * B : end;
    uint64_t local[HB] = {0};
    for (uint64_t i = lo; i < hi; i++) {
      unsigned b = bin_of(i);
      uint64_t k = 1 + i % 3;
      for (uint64_t c = 0; c < k; c++)
        rc |= sharc_task_hist(t, 0, i, (double)b + 0.5);
      local[b] += k;
      rc |= sharc_task_hist_add(t, 2, i, b, k);
    }
    rc |= sharc_task_hist_merge(t, 1, lo, local);
    lo = hi;
  }
  /* Misuse: a bin past the last, an index outside the call. */
  rc |= sharc_task_hist_add(t, 2, begin, HB, 1) != SHARC_ERANGE;
  rc |= sharc_task_hist_add(t, 2, end, 0, 1) != SHARC_ERANGE;
  rc |= sharc_task_hist_merge(t, 1, begin, NULL) != SHARC_EINVAL;
  return rc ? SHARC_EKERNEL : 0;
}
SHARC_KERNEL_NAMED("test_rhist", hist_kernel)

Test(reduce_vec, hist_add_and_merge_count_like_one_value_per_call) {
  const uint64_t n = 3001;
  uint64_t bins[3][HB];
  sharc_reduce_result res[3];
  sharc_pool *pool = test_pool(3);
  for (size_t s = 0; s < NSCHED; s++) {
    sharc_job_opts o = SHARC_JOB_OPTS_INIT;
    cr_assert_eq(sharc_schedule_parse(scheds[s], &o.schedule), 0);
    o.reduce_block = 32;
    sharc_reduce_spec specs[3];
    for (int r = 0; r < 3; r++) {
      sharc_reduce_spec h = SHARC_REDUCE_SPEC_INIT(SHARC_REDUCE_HIST);
      h.nbins = HB, h.lo = 0.0, h.hi = HB, h.bins = bins[r];
      specs[r] = h;
    }
    o.reduce = specs;
    o.reduce_out = res;
    o.nreduce = 3;
    cr_assert_eq(sharc_run(pool, "test_rhist", n, &o, NULL), 0, "%s",
                 sharc_pool_errmsg(pool));
    uint64_t want[HB] = {0}, total = 0;
    for (uint64_t i = 0; i < n; i++)
      want[bin_of(i)] += 1 + i % 3, total += 1 + i % 3;
    for (int r = 0; r < 3; r++) {
      cr_assert(memcmp(bins[r], want, sizeof want) == 0, "%s: hist %d",
                scheds[s], r);
      cr_assert_eq(res[r].count, total);
      cr_assert(res[r].under == 0 && res[r].over == 0 && res[r].nan == 0);
    }
  }
  sharc_pool_destroy(pool);
}

/* --- user-defined states ---------------------------------------------------
 */

/* A state whose combine is neither associative nor commutative (it scales
 * what came before), and which records which indices each block held so
 * that the combine can check the order it is called in. */
typedef struct chain {
  double h;
  uint64_t first, next; /* indices [first, next) seen, in order */
  uint64_t n;
} chain;
static const chain chain_identity = {1.0, UINT64_MAX, 0, 0};

typedef struct chain_ctx {
  uint64_t calls;
  uint64_t refuse; /* a block index to refuse, or UINT64_MAX */
} chain_ctx;

static void chain_add(chain *c, uint64_t i, double x) {
  if (c->n == 0)
    c->first = i;
  c->next = i + 1;
  c->n++;
  c->h = c->h * 0.5 + x;
}

static int chain_combine(void *acc_, const void *part_, void *arg) {
  chain *acc = acc_;
  const chain *part = part_;
  chain_ctx *ctx = arg;
  ctx->calls++;
  if (ctx->calls - 1 == ctx->refuse)
    return 1;
  /* Untrusted bytes: blocks must come in index order, each contiguous. */
  if (part->n == 0 || part->first != acc->next ||
      part->next - part->first != part->n)
    return 1;
  acc->h = acc->h * 0.25 + part->h;
  acc->n += part->n;
  acc->next = part->next;
  if (acc->first == UINT64_MAX)
    acc->first = part->first;
  return 0;
}

static int chain_kernel(const sharc_task *t, uint64_t begin, uint64_t end) {
  for (uint64_t i = begin; i < end; i++) {
    chain *c = sharc_task_reduce_state(t, 0, i);
    if (c == NULL || ((uintptr_t)c % 16) != 0)
      return SHARC_EKERNEL;
    chain_add(c, i, value(i, 0));
  }
  /* Misuse: outside the call, a reduction that is not CUSTOM, a scalar
   * call on a CUSTOM reduction. */
  if (sharc_task_reduce_state(t, 0, end) != NULL ||
      sharc_task_reduce_state(t, 1, begin) != NULL ||
      sharc_task_reduce(t, 0, begin, 1.0) != SHARC_EINVAL)
    return SHARC_EKERNEL;
  return sharc_task_sum(t, 1, begin, 1.0);
}
SHARC_KERNEL_NAMED("test_rchain", chain_kernel)

/* The documented fold, sequentially. */
static chain chain_expected(uint64_t n, uint64_t block) {
  chain acc = chain_identity;
  acc.next = 0;
  for (uint64_t lo = 0; lo < n; lo += block) {
    chain part = chain_identity;
    for (uint64_t i = lo; i < n && i < lo + block; i++)
      chain_add(&part, i, value(i, 0));
    acc.h = acc.h * 0.25 + part.h;
    acc.n += part.n;
    acc.next = part.next;
    if (acc.first == UINT64_MAX)
      acc.first = part.first;
  }
  return acc;
}

static int run_chain(sharc_pool *pool, uint64_t n, const char *sched,
                     uint64_t block, chain_ctx *ctx, chain *out,
                     sharc_reduce_result *res) {
  sharc_job_opts o = SHARC_JOB_OPTS_INIT;
  cr_assert_eq(sharc_schedule_parse(sched, &o.schedule), 0);
  o.reduce_block = block;
  chain start = chain_identity;
  start.next = 0; /* the accumulator expects block 0 first */
  sharc_reduce_custom c = {sizeof(chain), &start, chain_combine, ctx, out};
  sharc_reduce_spec s = SHARC_REDUCE_SPEC_INIT(SHARC_REDUCE_CUSTOM);
  s.custom = &c;
  sharc_reduce_spec sum = SHARC_REDUCE_SPEC_INIT(SHARC_REDUCE_SUM);
  sharc_reduce_spec specs[2] = {s, sum};
  sharc_reduce_result both[2];
  o.reduce = specs;
  o.reduce_out = both;
  o.nreduce = 2;
  memset(out, 0x5a, sizeof *out);
  ctx->calls = 0;
  int rc = sharc_run(pool, "test_rchain", n, &o, NULL);
  *res = both[0];
  return rc;
}

Test(reduce_vec, custom_combine_runs_once_per_block_in_block_order) {
  const uint64_t n = 2000, block = 16, nblocks = (n + block - 1) / block;
  chain want = chain_expected(n, block), got;
  cr_assert(want.n == n && want.next == n);
  sharc_reduce_result res;
  for (unsigned w = 1; w <= 3; w++) {
    sharc_pool *pool = test_pool(w);
    for (size_t s = 0; s < NSCHED; s++) {
      chain_ctx ctx = {0, UINT64_MAX};
      cr_assert_eq(run_chain(pool, n, scheds[s], block, &ctx, &got, &res), 0,
                   "%s", sharc_pool_errmsg(pool));
      cr_assert_eq(ctx.calls, nblocks, "combine called %llu times",
                   (unsigned long long)ctx.calls);
      cr_assert_eq(res.count, nblocks);
      cr_assert(SAME_BITS(got.h, want.h), "%u workers, %s: %.17g, want %.17g",
                w, scheds[s], got.h, want.h);
      cr_assert(got.n == n && got.first == 0 && got.next == n);
    }
    sharc_pool_destroy(pool);
  }
}

Test(reduce_vec, a_block_the_combine_refuses_fails_the_job_naming_it) {
  sharc_pool *pool = test_pool(2);
  chain_ctx ctx = {0, 3};
  chain got;
  sharc_reduce_result res;
  cr_assert_eq(run_chain(pool, 1000, "dynamic", 100, &ctx, &got, &res),
               SHARC_ECORRUPT);
  cr_assert(strstr(sharc_pool_errmsg(pool), "block 3 (indices [300, 400))") !=
                NULL,
            "%s", sharc_pool_errmsg(pool));
  const unsigned char *p = (const unsigned char *)&got;
  for (size_t k = 0; k < sizeof got; k++)
    cr_assert_eq(p[k], 0x5a, "the result was written after a failure");
  cr_assert_eq(res.count, 0);
  sharc_pool_destroy(pool);
}

/* A job declaring spec as its reduction 1 (after a good COUNT) is refused
 * with SHARC_EINVAL naming reduction 1. */
static int vdecl(sharc_pool *pool, sharc_reduce_spec spec) {
  sharc_reduce_spec specs[2] = {SHARC_REDUCE_SPEC_INIT(SHARC_REDUCE_COUNT),
                                spec};
  sharc_reduce_result out[2];
  sharc_job_opts o = SHARC_JOB_OPTS_INIT;
  o.reduce = specs;
  o.reduce_out = out;
  o.nreduce = 2;
  int rc = sharc_run(pool, "test_rblock", 100, &o, NULL);
  if (rc == SHARC_EINVAL)
    cr_assert(strstr(sharc_pool_errmsg(pool), "reduction 1:") != NULL, "%s",
              sharc_pool_errmsg(pool));
  return rc;
}

Test(reduce_vec, vector_and_custom_declarations_are_checked) {
  sharc_pool *pool = test_pool(1);
  double sums[2];
  uint64_t counts[2];
  chain result;
  sharc_reduce_spec s = SHARC_REDUCE_SPEC_INIT(SHARC_REDUCE_SUM);
  s.width = 2; /* no sums */
  cr_assert_eq(vdecl(pool, s), SHARC_EINVAL);
  s.counts = counts; /* the wrong array for a SUM */
  cr_assert_eq(vdecl(pool, s), SHARC_EINVAL);
  s.sums = sums;
  s.width = SHARC_REDUCE_MAX_WIDTH + 1;
  cr_assert_eq(vdecl(pool, s), SHARC_EINVAL);
  s.width = 2;
  cr_assert_eq(vdecl(pool, s), 0, "%s", sharc_pool_errmsg(pool));
  sharc_reduce_spec m = SHARC_REDUCE_SPEC_INIT(SHARC_REDUCE_MAX);
  m.width = 2, m.sums = sums; /* MIN, MAX, MEANVAR, HIST are scalars */
  cr_assert_eq(vdecl(pool, m), SHARC_EINVAL);
  sharc_reduce_spec c = SHARC_REDUCE_SPEC_INIT(SHARC_REDUCE_CUSTOM);
  cr_assert_eq(vdecl(pool, c), SHARC_EINVAL); /* no custom */
  chain_ctx ctx = {0, UINT64_MAX};
  sharc_reduce_custom u = {sizeof(chain), &chain_identity, chain_combine, &ctx,
                           &result};
  c.custom = &u;
  u.size = 0;
  cr_assert_eq(vdecl(pool, c), SHARC_EINVAL);
  u.size = SHARC_REDUCE_MAX_STATE + 1;
  cr_assert_eq(vdecl(pool, c), SHARC_EINVAL);
  u.size = sizeof(chain), u.combine = NULL;
  cr_assert_eq(vdecl(pool, c), SHARC_EINVAL);
  u.combine = chain_combine, u.identity = NULL;
  cr_assert_eq(vdecl(pool, c), SHARC_EINVAL);
  u.identity = &chain_identity, u.result = NULL;
  cr_assert_eq(vdecl(pool, c), SHARC_EINVAL);
  sharc_pool_destroy(pool);
}

/* Misuse of the vector calls from a kernel. r 0: SUM of width 2, r 1:
 * COUNT of width 3, r 2: scalar SUM. */
static int vmisuse_kernel(const sharc_task *t, uint64_t begin, uint64_t end) {
  double x[2] = {1.0, 2.0};
  uint64_t k[3] = {1, 2, 3};
  int bad = 0;
  bad |= sharc_task_sum(t, 0, begin, 1.0) != SHARC_EINVAL; /* a vector */
  bad |= sharc_task_count(t, 1, begin, 1) != SHARC_EINVAL;
  bad |= sharc_task_sum_at(t, 0, begin, 2, 1.0) != SHARC_ERANGE;
  bad |= sharc_task_count_at(t, 1, begin, 3, 1) != SHARC_ERANGE;
  bad |= sharc_task_sum_vec(t, 1, begin, x) != SHARC_EINVAL; /* a COUNT */
  bad |= sharc_task_count_vec(t, 0, begin, k) != SHARC_EINVAL;
  bad |= sharc_task_sum_vec(t, 0, end, x) != SHARC_ERANGE;
  bad |= sharc_task_sum_vec(t, 0, begin, NULL) != SHARC_EINVAL;
  bad |= sharc_task_hist_add(t, 2, begin, 0, 1) != SHARC_EINVAL;
  for (uint64_t i = begin; i < end; i++) {
    bad |= sharc_task_sum_at(t, 0, i, 1, 0.5) != 0;
    bad |= sharc_task_count_at(t, 1, i, 2, 2) != 0;
    bad |= sharc_task_sum_vec(t, 2, i, x) != 0; /* a scalar is width 1 */
  }
  return bad ? SHARC_EKERNEL : 0;
}
SHARC_KERNEL_NAMED("test_rvmisuse", vmisuse_kernel)

Test(reduce_vec, misuse_of_vector_calls_is_refused_and_adds_nothing) {
  sharc_pool *pool = test_pool(2);
  sharc_job_opts o = SHARC_JOB_OPTS_INIT;
  double sums[2];
  uint64_t counts[3];
  sharc_reduce_result res[3];
  sharc_reduce_spec s = SHARC_REDUCE_SPEC_INIT(SHARC_REDUCE_SUM);
  s.width = 2, s.sums = sums;
  sharc_reduce_spec c = SHARC_REDUCE_SPEC_INIT(SHARC_REDUCE_COUNT);
  c.width = 3, c.counts = counts;
  sharc_reduce_spec one = SHARC_REDUCE_SPEC_INIT(SHARC_REDUCE_SUM);
  sharc_reduce_spec specs[3] = {s, c, one};
  o.reduce = specs;
  o.reduce_out = res;
  o.nreduce = 3;
  cr_assert_eq(sharc_run(pool, "test_rvmisuse", 1000, &o, NULL), 0, "%s",
               sharc_pool_errmsg(pool));
  cr_assert(sums[0] == 0.0 && sums[1] == 500.0 && res[0].count == 1000);
  cr_assert(counts[0] == 0 && counts[1] == 0 && counts[2] == 2000);
  cr_assert(res[1].count == 2000 && res[2].sum == 1000.0);
  sharc_pool_destroy(pool);
}

/* --- the default block and balance -----------------------------------------
 */

static int block_kernel(const sharc_task *t, uint64_t begin, uint64_t end) {
  for (uint64_t i = begin; i < end; i++) {
    if (sharc_task_count(t, 0, i, sharc_task_reduce_block(t)) != 0)
      return SHARC_EKERNEL;
  }
  return 0;
}
SHARC_KERNEL_NAMED("test_rblock", block_kernel)

Test(reduce_vec,
     a_job_of_256_indices_on_2_workers_is_split_with_no_option_set) {
  sharc_pool *pool = test_pool(2);
  sharc_reduce_spec s = SHARC_REDUCE_SPEC_INIT(SHARC_REDUCE_COUNT);
  sharc_reduce_result res;
  /* No option: the default schedule and block. Every index saw a block of
   * one index, so any worker may take any index. */
  sharc_job_opts o = SHARC_JOB_OPTS_INIT;
  o.reduce = &s;
  o.reduce_out = &res;
  o.nreduce = 1;
  sharc_report rep = SHARC_REPORT_INIT;
  cr_assert_eq(sharc_run(pool, "test_rblock", 256, &o, &rep), 0);
  cr_assert_eq(res.count, 256, "the block was not 1 for every index");
  cr_assert_eq(rep.indices, 256);
  sharc_report_free(&rep);
  /* The static schedule splits the blocks exactly: 128 each. */
  sharc_job_opts st = SHARC_JOB_OPTS_INIT;
  cr_assert_eq(sharc_schedule_parse("static", &st.schedule), 0);
  st.reduce = &s;
  st.reduce_out = &res;
  st.nreduce = 1;
  cr_assert_eq(sharc_run(pool, "test_rblock", 256, &st, &rep), 0);
  cr_assert_eq(rep.nworkers, 2);
  cr_assert_eq(rep.workers[0].indices, 128);
  cr_assert_eq(rep.workers[1].indices, 128);
  cr_assert(strstr(rep.advice, "reduction block") == NULL, "%s", rep.advice);
  sharc_report_free(&rep);
  /* A block of 256 leaves one block: one worker does everything, and the
   * report says why. */
  st.reduce_block = 256;
  cr_assert_eq(sharc_run(pool, "test_rblock", 256, &st, &rep), 0);
  cr_assert_eq(res.count, 256 * 256);
  cr_assert(rep.workers[0].indices == 256 || rep.workers[1].indices == 256);
  cr_assert(strstr(rep.advice, "reduction block of 256 indices") != NULL &&
                strstr(rep.advice, "1 block for 2 workers") != NULL,
            "advice: '%s'", rep.advice);
  sharc_report_free(&rep);
  sharc_pool_destroy(pool);
}

Test(reduce_vec, advice_is_given_exactly_when_the_block_limits_balance) {
  char buf[256];
  /* Fewer blocks than workers: always. */
  cr_assert_eq(sharc_reduce_advice(256, 1024, 2, 0.0, buf, sizeof buf), 1);
  cr_assert(strstr(buf, "1 block for 2 workers") != NULL, "%s", buf);
  /* Under 4 blocks per worker: when the imbalance shows it. */
  cr_assert_eq(sharc_reduce_advice(1000, 100, 4, 50.0, buf, sizeof buf), 1);
  cr_assert(strstr(buf, "10 blocks for 4 workers") != NULL, "%s", buf);
  cr_assert_eq(sharc_reduce_advice(1000, 100, 4, 5.0, buf, sizeof buf), 0);
  cr_assert_str_empty(buf);
  /* Enough blocks: never; fewer indices than workers is not the block's
   * doing; one worker cannot be imbalanced. */
  cr_assert_eq(sharc_reduce_advice(1000, 10, 4, 90.0, buf, sizeof buf), 0);
  cr_assert_eq(sharc_reduce_advice(3, 1, 4, 90.0, buf, sizeof buf), 0);
  cr_assert_eq(sharc_reduce_advice(1000, 1000, 1, 0.0, buf, sizeof buf), 0);
  cr_assert_eq(sharc_reduce_advice(1000, 0, 2, 0.0, buf, sizeof buf), 0);
  cr_assert_eq(sharc_reduce_advice(1000, 1000, 2, 0.0, NULL, 0), 0);
}

/* --- NPB EP ----------------------------------------------------------------
 */

static void ep_check(char cls, const unsigned *workers, size_t nw,
                     const char *const *sch, size_t ns) {
  const ep_class *c = ep_class_find(cls);
  cr_assert_not_null(c);
  ep_result first, r;
  int have = 0;
  for (size_t w = 0; w < nw; w++) {
    sharc_pool *pool = test_pool(workers[w]);
    for (size_t s = 0; s < ns; s++) {
      cr_assert_eq(ep_run_sharc(pool, c, sch[s], &r, NULL), 0, "%s",
                   sharc_pool_errmsg(pool));
      cr_assert(ep_verified(c, &r),
                "class %c: sx %.15e sy %.15e, NPB: %.15e %.15e", cls, r.sx,
                r.sy, c->sx, c->sy);
      uint64_t gc = 0;
      for (int l = 0; l < EP_NQ; l++)
        gc += r.q[l];
      cr_assert_eq(gc, r.gc);
      if (!have)
        first = r, have = 1;
      cr_assert(SAME_BITS(r.sx, first.sx) && SAME_BITS(r.sy, first.sy) &&
                    memcmp(r.q, first.q, sizeof r.q) == 0,
                "class %c, %u workers, %s: not the bits of the first run", cls,
                workers[w], sch[s] ? sch[s] : "default");
    }
    sharc_pool_destroy(pool);
  }
}

/* The core against a plain sequential loop over the batches (NPB's order),
 * to the bit for the counts and within NPB's tolerance for the sums. */
Test(reduce_vec, npb_ep_core_matches_the_sequential_loop) {
  const ep_class *c = ep_class_find('S');
  double *x = malloc(2 * EP_NK * sizeof *x);
  cr_assert_not_null(x);
  double an = ep_batch_jump(), sx = 0, sy = 0;
  uint64_t q[EP_NQ] = {0};
  for (uint64_t k = 0; k < (UINT64_C(1) << (c->m - EP_MK)); k++)
    cr_assert_eq(ep_batch(k, an, x, &sx, &sy, q), 0);
  free(x);
  ep_result seq = {sx, sy, {0}, 0};
  cr_assert(ep_verified(c, &seq), "sequential: %.15e %.15e", sx, sy);
  sharc_pool *pool = test_pool(2);
  ep_result r;
  cr_assert_eq(ep_run_sharc(pool, c, NULL, &r, NULL), 0);
  cr_assert(memcmp(r.q, q, sizeof q) == 0);
  cr_assert_leq(fabs(r.sx - sx), 1e-10 * fabs(sx));
  sharc_pool_destroy(pool);
}

Test(
    reduce_vec,
    npb_ep_class_s_verifies_bit_identical_for_1_2_3_workers_and_every_schedule) {
  static const unsigned w[] = {1, 2, 3};
  static const char *const all[] = {
      NULL,     "static",   "static:3", "dynamic", "dynamic:7",
      "guided", "guided:4", "auto",     "fac2",    "wf"};
  ep_check('S', w, 3, all, sizeof all / sizeof all[0]);
}

Test(reduce_vec, npb_ep_class_w_verifies_bit_identical_for_1_and_3_workers) {
  static const unsigned w[] = {1, 3};
  static const char *const dflt[] = {NULL};
  ep_check('W', w, 2, dflt, 1);
}
