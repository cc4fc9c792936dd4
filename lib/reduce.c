/* Deterministic reductions: declaration, per-block partials updated by the
 * kernel in the worker, and the coordinator's checked combination in a
 * fixed order (see sharc/reduce.h for the contract). */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "internal.h"

/* A job's partials may take at most this much shared memory. */
#define RED_MAX_BYTES (UINT64_C(1) << 30)
/* The default block keeps the partials within this. */
#define RED_DEFAULT_BYTES (UINT64_C(64) << 20)
#define RED_DEFAULT_BLOCKS UINT64_C(65536)
#define RED_MIN_BLOCK UINT64_C(1024)
/* Partials are made at least this large, so that most jobs can share them. */
#define RED_KEEP_MIN (UINT64_C(64) << 10)
#define RED_NONE UINT64_MAX

/* --- declaration --------------------------------------------------------- */

static int spec_ok(const sharc_reduce_spec *s) {
  if (s->kind < SHARC_REDUCE_SUM || s->kind > SHARC_REDUCE_MEANVAR)
    return 0;
  if (s->kind != SHARC_REDUCE_HIST)
    return 1;
  return s->nbins >= 1 && s->nbins <= SHARC_REDUCE_MAX_BINS &&
         s->bins != NULL && isfinite(s->lo) && isfinite(s->hi) &&
         s->lo < s->hi && isfinite(s->hi - s->lo) &&
         isfinite(s->nbins / (s->hi - s->lo));
}

int sharc_job_reduce(sharc_job_opts *o, const sharc_reduce_spec *spec,
                     sharc_reduce_result *out) {
  if (o == NULL || spec == NULL || out == NULL || !spec_ok(spec))
    return SHARC_EINVAL;
  if (o->nreduce >= SHARC_MAX_JOB_REDUCTIONS)
    return SHARC_ERANGE;
  o->reduce[o->nreduce] = *spec;
  o->reduce_out[o->nreduce] = out;
  return (int)o->nreduce++;
}

uint64_t sharc_reduce_default_block(uint64_t n, uint64_t partial_bytes) {
  uint64_t b = RED_MIN_BLOCK;
  while (b < (n + RED_DEFAULT_BLOCKS - 1) / RED_DEFAULT_BLOCKS)
    b <<= 1;
  while (partial_bytes > 0 && b < (UINT64_C(1) << 62) &&
         (n / b + (n % b != 0)) > RED_DEFAULT_BYTES / partial_bytes)
    b <<= 1;
  return b;
}

static uint32_t state_bytes(uint32_t kind, uint32_t nbins) {
  switch ((sharc_reduce_kind)kind) {
  case SHARC_REDUCE_SUM:
    return sizeof(sharc__red_sum);
  case SHARC_REDUCE_MIN:
  case SHARC_REDUCE_MAX:
    return sizeof(sharc__red_ext);
  case SHARC_REDUCE_COUNT:
    return sizeof(uint64_t);
  case SHARC_REDUCE_HIST:
    return (uint32_t)(sizeof(sharc__red_hist) + nbins * sizeof(uint64_t));
  case SHARC_REDUCE_MEANVAR:
    return sizeof(sharc__red_mv);
  }
  return 0;
}

/* --- coordinator: before the job ----------------------------------------- */

static int plan(sharc_pool *pool, const sharc_job_opts *o, uint64_t n,
                sharc__reduce_desc *d) {
  if (o->nreduce > SHARC_MAX_JOB_REDUCTIONS)
    return sharc__fail(pool, SHARC_EINVAL, "%u reductions, at most %d",
                       o->nreduce, SHARC_MAX_JOB_REDUCTIONS);
  if (o->narrays >= SHARC_MAX_JOB_ARRAYS)
    return sharc__fail(pool, SHARC_EINVAL,
                       "a job with reductions has at most %d arrays of its "
                       "own (the partials take a slot); it has %u",
                       SHARC_MAX_JOB_ARRAYS - 1, o->narrays);
  uint32_t off = sizeof(sharc__red_head);
  for (unsigned r = 0; r < o->nreduce; r++) {
    const sharc_reduce_spec *s = &o->reduce[r];
    if (!spec_ok(s) || o->reduce_out[r] == NULL)
      return sharc__fail(pool, SHARC_EINVAL,
                         "reduction %u: bad kind, histogram bins or range, or "
                         "no result",
                         r);
    sharc__red *rd = &d->red[r];
    rd->kind = (uint32_t)s->kind;
    rd->off = off;
    if (s->kind == SHARC_REDUCE_HIST) {
      rd->nbins = s->nbins;
      rd->lo = s->lo;
      rd->hi = s->hi;
      rd->scale = s->nbins / (s->hi - s->lo);
    }
    off += state_bytes((uint32_t)s->kind, s->nbins);
  }
  d->nred = o->nreduce;
  d->slot = o->narrays;
  d->stride = (off + SHARC__PAD - 1) / SHARC__PAD * SHARC__PAD;
  uint64_t g = o->grain > 1 ? o->grain : 1;
  uint64_t block = o->reduce_block;
  if (block == 0) {
    block = sharc_reduce_default_block(n, d->stride);
    block = (block + g - 1) / g * g;
  } else if (block % g != 0 || block > (UINT64_C(1) << 62)) {
    return sharc__fail(pool, SHARC_EINVAL,
                       "reduction block %llu is not a multiple of the grain "
                       "%llu, or exceeds 2^62",
                       (unsigned long long)block, (unsigned long long)g);
  }
  d->block = block;
  d->shift = (block & (block - 1)) == 0 ? (uint32_t)__builtin_ctzll(block) : 64;
  d->nblocks = n / block + (n % block != 0);
  if (d->nblocks > RED_MAX_BYTES / d->stride)
    return sharc__fail(pool, SHARC_EINVAL,
                       "reduction partials would take %llu blocks of %llu "
                       "bytes (over 1 GiB): use a larger block",
                       (unsigned long long)d->nblocks,
                       (unsigned long long)d->stride);
  d->stamp = sharc__now_ns() | 1;
  return 0;
}

/* The partials of the pool's last job are kept for the next one when they
 * are small: creating them and handing them to every worker takes system
 * calls (memfd, fallocate, a message per worker): 0.05-0.2 ms a job here.
 * Stale contents are harmless: every block must carry this job's stamp. */
static int partials(sharc_pool *pool, uint64_t bytes, sharc_array **out) {
  sharc_array *a = pool->red_partials;
  if (a != NULL && sharc_array_nbytes(a) >= bytes) {
    *out = a;
    return 0;
  }
  sharc_array_destroy(a);
  pool->red_partials = NULL;
  uint64_t shape = bytes > RED_KEEP_MIN ? bytes : RED_KEEP_MIN;
  int rc = sharc_array_create(pool, SHARC_U8, 1, &shape, NULL, out);
  if (rc == 0)
    pool->red_partials = *out;
  return rc;
}

int sharc__reduce_prepare(sharc_pool *pool, const sharc_job_opts *o, uint64_t n,
                          sharc_job_opts *with, sharc__reduce_job *rj) {
  memset(rj, 0, sizeof *rj);
  *with = *o;
  memset(&pool->cb->job.reduce, 0, sizeof pool->cb->job.reduce);
  if (o->nreduce == 0)
    return 0;
  int rc = plan(pool, o, n, &rj->d);
  if (rc != 0)
    return rc;
  rc = partials(pool, rj->d.nblocks * rj->d.stride, &rj->arr);
  if (rc != 0)
    return rc;
  rj->n = n;
  for (unsigned r = 0; r < rj->d.nred; r++) {
    rj->out[r] = o->reduce_out[r];
    rj->bins[r] = o->reduce[r].bins;
    memset(rj->out[r], 0, sizeof *rj->out[r]);
    rj->out[r]->kind = o->reduce[r].kind;
  }
  with->arrays[with->narrays++] = rj->arr;
  with->grain = rj->d.block;
  pool->cb->job.reduce = rj->d;
  return 0;
}

/* --- worker: per chunk and per value ------------------------------------- */

/* The description comes from the control block, which any worker could
 * have scribbled on: check it against the mapping before writing. */
static int desc_ok(const sharc__reduce_desc *d, const sharc__wmap *m) {
  if (d->nred > SHARC_MAX_JOB_REDUCTIONS || d->block == 0 || d->stride == 0 ||
      d->stride % SHARC__PAD != 0 || m == NULL ||
      d->nblocks > m->nbytes / d->stride)
    return 0;
  for (unsigned r = 0; r < d->nred; r++) {
    const sharc__red *rd = &d->red[r];
    uint32_t size = rd->nbins <= SHARC_REDUCE_MAX_BINS
                        ? state_bytes(rd->kind, rd->nbins)
                        : 0;
    if (size == 0 || rd->off % 8 != 0 || (uint64_t)rd->off + size > d->stride ||
        (rd->kind == SHARC_REDUCE_HIST && rd->nbins == 0))
      return 0;
  }
  return 1;
}

static void reset_block(const sharc__reduce_desc *d, unsigned char *p) {
  memset(p, 0, d->stride);
  ((sharc__red_head *)(void *)p)->stamp = d->stamp;
  for (unsigned r = 0; r < d->nred; r++) {
    const sharc__red *rd = &d->red[r];
    if (rd->kind != SHARC_REDUCE_MIN && rd->kind != SHARC_REDUCE_MAX)
      continue;
    sharc__red_ext *x = (sharc__red_ext *)(void *)(p + rd->off);
    x->value = rd->kind == SHARC_REDUCE_MIN ? INFINITY : -INFINITY;
    x->index = RED_NONE;
  }
}

/* Hot path: per chunk, a copy of the small description and the reset of
 * the chunk's own blocks. */
void sharc__reduce_chunk(sharc_task *t, const sharc__job_desc *job, uint64_t b,
                         uint64_t e) {
  t->partials = NULL;
  const sharc__reduce_desc *d = &job->reduce;
  uint32_t nred = d->nred, slot = d->slot;
  if (nred == 0 || nred > SHARC_MAX_JOB_REDUCTIONS ||
      slot >= SHARC_MAX_JOB_ARRAYS || slot + 1 != job->narrays ||
      slot > t->narrays)
    return;
  memcpy(&t->red, d,
         offsetof(sharc__reduce_desc, red) + nred * sizeof(sharc__red));
  const sharc__wmap *m = t->arrays[slot];
  if (!desc_ok(&t->red, m))
    return;
  t->narrays = slot; /* the kernel does not see the partials */
  uint64_t first = b / t->red.block,
           last = e / t->red.block + (e % t->red.block != 0);
  if (b > e || last > t->red.nblocks)
    return;
  unsigned char *base = m->data;
  for (uint64_t k = first; k < last; k++)
    reset_block(&t->red, base + k * t->red.stride);
  t->partials = base;
  t->red_begin = b;
  t->red_end = e;
}

static void add_hist(const sharc__red *rd, sharc__red_hist *h, double x) {
  h->count++;
  if (isnan(x)) {
    h->nan++;
  } else if (x < rd->lo) {
    h->under++;
  } else if (x >= rd->hi) {
    h->over++;
  } else {
    uint64_t bin = (uint64_t)((x - rd->lo) * rd->scale);
    h->bins[bin < rd->nbins ? bin : rd->nbins - 1]++;
  }
}

static void add_ext(const sharc__red *rd, sharc__red_ext *s, uint64_t i,
                    double x) {
  s->count++;
  if (isnan(x))
    return;
  int better = rd->kind == SHARC_REDUCE_MIN ? x < s->value : x > s->value;
  if (s->index == RED_NONE || better || (x == s->value && i < s->index)) {
    s->value = x;
    s->index = i;
  }
}

/* Whether a typed call (want: 0 for any kind; MIN for MIN or MAX) may
 * update a reduction of this kind. */
static int kind_fits(int want, uint32_t kind) {
  if (want == 0)
    return 1;
  if (want == SHARC_REDUCE_MIN)
    return kind == SHARC_REDUCE_MIN || kind == SHARC_REDUCE_MAX;
  return kind == (uint32_t)want;
}

/* Hot path: updates the state of reduction r for index i, after checks. */
static int add(const sharc_task *t, unsigned r, uint64_t i, double x,
               uint64_t k, int want) {
  if (t == NULL || t->partials == NULL || r >= t->red.nred)
    return SHARC_EINVAL;
  const sharc__red *rd = &t->red.red[r];
  if (!kind_fits(want, rd->kind))
    return SHARC_EINVAL;
  if (i < t->red_begin || i >= t->red_end)
    return SHARC_ERANGE;
  uint64_t blk = t->red.shift < 64 ? i >> t->red.shift : i / t->red.block;
  void *p = t->partials + blk * t->red.stride + rd->off;
  switch ((sharc_reduce_kind)rd->kind) {
  case SHARC_REDUCE_SUM: {
    sharc__red_sum *s = p;
    s->sum += x;
    s->count++;
    return 0;
  }
  case SHARC_REDUCE_MIN:
  case SHARC_REDUCE_MAX:
    add_ext(rd, p, i, x);
    return 0;
  case SHARC_REDUCE_COUNT:
    *(uint64_t *)p += want == SHARC_REDUCE_COUNT ? k : (x != 0);
    return 0;
  case SHARC_REDUCE_HIST:
    add_hist(rd, p, x);
    return 0;
  case SHARC_REDUCE_MEANVAR: {
    sharc__red_mv *s = p;
    s->count++;
    double delta = x - s->mean;
    s->mean += delta / (double)s->count;
    s->m2 += delta * (x - s->mean);
    return 0;
  }
  }
  return SHARC_EINVAL;
}

int sharc_task_welford_merge(const sharc_task *t, unsigned r, uint64_t i,
                             const sharc_welford *w) {
  if (t == NULL || w == NULL || t->partials == NULL || r >= t->red.nred ||
      t->red.red[r].kind != SHARC_REDUCE_MEANVAR)
    return SHARC_EINVAL;
  if (i < t->red_begin || i >= t->red_end)
    return SHARC_ERANGE;
  uint64_t blk = t->red.shift < 64 ? i >> t->red.shift : i / t->red.block;
  sharc__red_mv *s =
      (sharc__red_mv *)(void *)(t->partials + blk * t->red.stride +
                                t->red.red[r].off);
  if (w->count == 0)
    return 0;
  if (s->count == 0) { /* the same bits as adding the values one by one */
    s->count = w->count;
    s->mean = w->mean;
    s->m2 = w->m2;
    return 0;
  }
  uint64_t count = s->count + w->count;
  double n = (double)count, delta = w->mean - s->mean;
  s->m2 += w->m2 + delta * delta * ((double)s->count * (double)w->count / n);
  s->mean += delta * ((double)w->count / n);
  s->count = count;
  return 0;
}

uint64_t sharc_task_reduce_block(const sharc_task *t) {
  return t != NULL && t->partials != NULL ? t->red.block : 0;
}

int sharc_task_reduce(const sharc_task *t, unsigned r, uint64_t i, double x) {
  return add(t, r, i, x, 0, 0);
}
int sharc_task_sum(const sharc_task *t, unsigned r, uint64_t i, double x) {
  return add(t, r, i, x, 0, SHARC_REDUCE_SUM);
}
int sharc_task_minmax(const sharc_task *t, unsigned r, uint64_t i, double x) {
  return add(t, r, i, x, 0, SHARC_REDUCE_MIN);
}
int sharc_task_hist(const sharc_task *t, unsigned r, uint64_t i, double x) {
  return add(t, r, i, x, 0, SHARC_REDUCE_HIST);
}
int sharc_task_welford(const sharc_task *t, unsigned r, uint64_t i, double x) {
  return add(t, r, i, x, 0, SHARC_REDUCE_MEANVAR);
}
int sharc_task_count(const sharc_task *t, unsigned r, uint64_t i, uint64_t k) {
  return add(t, r, i, 0.0, k, SHARC_REDUCE_COUNT);
}

/* --- coordinator: after the job ------------------------------------------ */

typedef struct combine {
  sharc_pool *pool;
  const sharc__reduce_job *rj;
  const unsigned char *base;
} combine;

static const void *state(const combine *c, uint64_t blk, unsigned r) {
  return c->base + blk * c->rj->d.stride + c->rj->d.red[r].off;
}

static int bad_block(const combine *c, uint64_t blk, unsigned r,
                     const char *what) {
  uint64_t lo = blk * c->rj->d.block, hi = lo + c->rj->d.block;
  return sharc__fail(c->pool, SHARC_ECORRUPT,
                     "reduction %u: the partial of block %llu (indices "
                     "[%llu, %llu)) %s",
                     r, (unsigned long long)blk, (unsigned long long)lo,
                     (unsigned long long)(hi < c->rj->n ? hi : c->rj->n), what);
}

/* Sums pairwise over blocks [lo, hi): a fixed tree, whatever the split. */
static double sum_tree(const combine *c, unsigned r, uint64_t lo, uint64_t hi) {
  if (hi - lo == 1)
    return ((const sharc__red_sum *)state(c, lo, r))->sum;
  uint64_t mid = lo + (hi - lo) / 2;
  return sum_tree(c, r, lo, mid) + sum_tree(c, r, mid, hi);
}

static sharc__red_mv chan(sharc__red_mv a, sharc__red_mv b) {
  if (a.count == 0)
    return b;
  if (b.count == 0)
    return a;
  sharc__red_mv m;
  m.count = a.count + b.count;
  double n = (double)m.count, delta = b.mean - a.mean;
  m.mean = a.mean + delta * ((double)b.count / n);
  m.m2 = a.m2 + b.m2 + delta * delta * ((double)a.count * (double)b.count / n);
  return m;
}

static sharc__red_mv mv_tree(const combine *c, unsigned r, uint64_t lo,
                             uint64_t hi) {
  if (hi - lo == 1)
    return *(const sharc__red_mv *)state(c, lo, r);
  uint64_t mid = lo + (hi - lo) / 2;
  return chan(mv_tree(c, r, lo, mid), mv_tree(c, r, mid, hi));
}

static int add_count(uint64_t *total, uint64_t v) {
  return __builtin_add_overflow(*total, v, total);
}

/* Checks block blk of reduction r and adds its integer parts to res. */
static int take_block(const combine *c, unsigned r, uint64_t blk,
                      sharc_reduce_result *res) {
  const sharc__red *rd = &c->rj->d.red[r];
  const void *p = state(c, blk, r);
  uint64_t lo = blk * c->rj->d.block;
  switch ((sharc_reduce_kind)rd->kind) {
  case SHARC_REDUCE_SUM:
    return add_count(&res->count, ((const sharc__red_sum *)p)->count)
               ? bad_block(c, blk, r, "overflows the count")
               : 0;
  case SHARC_REDUCE_COUNT:
    return add_count(&res->count, *(const uint64_t *)p)
               ? bad_block(c, blk, r, "overflows the count")
               : 0;
  case SHARC_REDUCE_MIN:
  case SHARC_REDUCE_MAX: {
    const sharc__red_ext *x = p;
    if (add_count(&res->count, x->count))
      return bad_block(c, blk, r, "overflows the count");
    if (x->index == RED_NONE)
      return 0;
    if (x->index < lo || x->index - lo >= c->rj->d.block ||
        x->index >= c->rj->n || isnan(x->value) || x->count == 0)
      return bad_block(c, blk, r, "names an index outside the block");
    int better = rd->kind == SHARC_REDUCE_MIN ? x->value < res->value
                                              : x->value > res->value;
    if (res->index == RED_NONE || better) { /* ties: the earlier block */
      res->value = x->value;
      res->index = x->index;
    }
    return 0;
  }
  case SHARC_REDUCE_HIST: {
    const sharc__red_hist *h = p;
    uint64_t sum = 0;
    int of = add_count(&sum, h->under) | add_count(&sum, h->over) |
             add_count(&sum, h->nan);
    for (uint32_t k = 0; k < rd->nbins; k++)
      of |= add_count(&sum, h->bins[k]);
    if (of || sum != h->count)
      return bad_block(c, blk, r, "has bins that do not add up to its count");
    of = add_count(&res->count, h->count) | add_count(&res->under, h->under) |
         add_count(&res->over, h->over) | add_count(&res->nan, h->nan);
    for (uint32_t k = 0; k < rd->nbins; k++)
      of |= add_count(&c->rj->bins[r][k], h->bins[k]);
    return of ? bad_block(c, blk, r, "overflows the count") : 0;
  }
  case SHARC_REDUCE_MEANVAR: {
    const sharc__red_mv *m = p;
    if (m->count == 0 ? m->mean != 0 || m->m2 != 0 : m->m2 < 0)
      return bad_block(c, blk, r, "has an impossible mean or variance");
    return add_count(&res->count, m->count)
               ? bad_block(c, blk, r, "overflows the count")
               : 0;
  }
  }
  return bad_block(c, blk, r, "has an unknown kind");
}

static int combine_one(const combine *c, unsigned r) {
  sharc_reduce_result res;
  memset(&res, 0, sizeof res);
  uint32_t kind = c->rj->d.red[r].kind;
  res.kind = (sharc_reduce_kind)kind;
  res.index = RED_NONE;
  res.value = NAN;
  if (kind == SHARC_REDUCE_HIST)
    memset(c->rj->bins[r], 0, c->rj->d.red[r].nbins * sizeof(uint64_t));
  for (uint64_t blk = 0; blk < c->rj->d.nblocks; blk++) {
    int rc = take_block(c, r, blk, &res);
    if (rc != 0)
      return rc;
  }
  if (kind != SHARC_REDUCE_MIN && kind != SHARC_REDUCE_MAX) {
    res.index = 0;
    res.value = 0;
  }
  if (kind == SHARC_REDUCE_SUM && c->rj->d.nblocks > 0)
    res.sum = sum_tree(c, r, 0, c->rj->d.nblocks);
  if (kind == SHARC_REDUCE_MEANVAR && c->rj->d.nblocks > 0) {
    sharc__red_mv m = mv_tree(c, r, 0, c->rj->d.nblocks);
    res.mean = m.mean;
    res.m2 = m.m2;
    res.var = m.count > 1 ? m.m2 / (double)(m.count - 1) : 0.0;
    res.sem = m.count > 0 ? sqrt(res.var / (double)m.count) : 0.0;
  }
  *c->rj->out[r] = res;
  return 0;
}

static int combine_all(sharc_pool *pool, sharc__reduce_job *rj) {
  combine c = {pool, rj, sharc_array_data(rj->arr)};
  for (uint64_t blk = 0; blk < rj->d.nblocks; blk++) {
    const sharc__red_head *h =
        (const sharc__red_head *)(const void *)(c.base + blk * rj->d.stride);
    if (h->stamp != rj->d.stamp)
      return bad_block(&c, blk, 0, "was not reset by this job");
  }
  for (unsigned r = 0; r < rj->d.nred; r++) {
    int rc = combine_one(&c, r);
    if (rc != 0)
      return rc;
  }
  return 0;
}

int sharc__reduce_finish(sharc_pool *pool, sharc__reduce_job *rj, int rc) {
  if (rj->arr == NULL)
    return rc;
  if (rc == 0)
    rc = combine_all(pool, rj);
  if (rc != 0) {
    for (unsigned r = 0; r < rj->d.nred; r++) {
      sharc_reduce_kind kind = rj->out[r]->kind;
      memset(rj->out[r], 0, sizeof *rj->out[r]);
      rj->out[r]->kind = kind;
    }
  }
  if (sharc_array_nbytes(rj->arr) > RED_DEFAULT_BYTES) {
    sharc_array_destroy(rj->arr); /* too large to keep around */
    pool->red_partials = NULL;
  }
  rj->arr = NULL;
  return rc;
}
