/* Deterministic reductions: declaration, per-block partials updated by the
 * kernel in the worker, and the coordinator's checked combination in a
 * fixed order (see sharc/reduce.h for the contract). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

/* A job's partials may take at most this much shared memory. */
#define RED_MAX_BYTES (UINT64_C(1) << 30)
/* The default block keeps the partials within this. */
#define RED_DEFAULT_BYTES (UINT64_C(64) << 20)
/* The default block cuts a job into at most this many blocks (and more
 * than half as many when n allows): enough that every worker of any
 * machine gets several, few enough that the partials stay small. */
#define RED_DEFAULT_BLOCKS UINT64_C(16384)
/* CUSTOM states start on this boundary (long double, SSE types). */
#define RED_CUSTOM_ALIGN 16
/* Partials are made at least this large, so that most jobs can share them. */
#define RED_KEEP_MIN (UINT64_C(64) << 10)
#define RED_NONE UINT64_MAX

/* --- declaration --------------------------------------------------------- */

static unsigned width_of(const sharc_reduce_spec *s) {
  return s->width > 1 ? s->width : 1;
}

static int custom_ok(const sharc_reduce_custom *c) {
  return c != NULL && c->size >= 1 && c->size <= SHARC_REDUCE_MAX_STATE &&
         c->identity != NULL && c->combine != NULL && c->result != NULL;
}

static int spec_ok(const sharc_reduce_spec *s) {
  if (s->kind < SHARC_REDUCE_SUM || s->kind > SHARC_REDUCE_CUSTOM)
    return 0;
  if (s->kind == SHARC_REDUCE_CUSTOM)
    return custom_ok(s->custom);
  if (s->width > SHARC_REDUCE_MAX_WIDTH)
    return 0;
  if (s->width > 1) {
    if (s->kind == SHARC_REDUCE_SUM)
      return s->sums != NULL;
    return s->kind == SHARC_REDUCE_COUNT && s->counts != NULL;
  }
  if (s->kind != SHARC_REDUCE_HIST)
    return 1;
  return s->nbins >= 1 && s->nbins <= SHARC_REDUCE_MAX_BINS &&
         s->bins != NULL && isfinite(s->lo) && isfinite(s->hi) &&
         s->lo < s->hi && isfinite(s->hi - s->lo) &&
         isfinite(s->nbins / (s->hi - s->lo));
}

/* Depends on n and the partial's size only, never on the worker count: the
 * block decides the result's bits, which must not change with the pool. */
uint64_t sharc_reduce_default_block(uint64_t n, uint64_t partial_bytes) {
  uint64_t b = 1;
  while (b < (UINT64_C(1) << 62) && n / b + (n % b != 0) > RED_DEFAULT_BLOCKS)
    b <<= 1;
  while (partial_bytes > 0 && b < (UINT64_C(1) << 62) &&
         (n / b + (n % b != 0)) > RED_DEFAULT_BYTES / partial_bytes)
    b <<= 1;
  return b;
}

/* width: SUM and COUNT elements, CUSTOM bytes (both checked by callers). */
static uint32_t state_bytes(uint32_t kind, uint32_t nbins, uint32_t width) {
  switch ((sharc_reduce_kind)kind) {
  case SHARC_REDUCE_SUM: /* width sums, then the count */
    return (uint32_t)((width + 1) * sizeof(double));
  case SHARC_REDUCE_MIN:
  case SHARC_REDUCE_MAX:
    return sizeof(sharc__red_ext);
  case SHARC_REDUCE_COUNT:
    return (uint32_t)(width * sizeof(uint64_t));
  case SHARC_REDUCE_CUSTOM:
    return width;
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
    if (!spec_ok(s))
      return sharc__fail(pool, SHARC_EINVAL,
                         "reduction %u: bad kind, width, histogram bins or "
                         "range, or no custom state",
                         r);
    sharc__red *rd = &d->red[r];
    rd->kind = (uint32_t)s->kind;
    rd->width = s->kind == SHARC_REDUCE_CUSTOM ? (uint32_t)s->custom->size
                                               : width_of(s);
    if (s->kind == SHARC_REDUCE_CUSTOM)
      off = (off + RED_CUSTOM_ALIGN - 1) / RED_CUSTOM_ALIGN * RED_CUSTOM_ALIGN;
    rd->off = off;
    if (s->kind == SHARC_REDUCE_HIST) {
      rd->nbins = s->nbins;
      rd->lo = s->lo;
      rd->hi = s->hi;
      rd->scale = s->nbins / (s->hi - s->lo);
    }
    off += state_bytes(rd->kind, rd->nbins, rd->width);
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
  if (d->nblocks >= RED_MAX_BYTES / d->stride) /* one more: the identities */
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
  int rc = sharc__array_create(pool, SHARC_U8, 1, &shape, out);
  if (rc == 0)
    pool->red_partials = *out;
  return rc;
}

int sharc__reduce_prepare(sharc_pool *pool, uint64_t n, struct sharc__opts *op,
                          sharc__reduce_job *rj) {
  const sharc_job_opts *o = &op->o;
  memset(rj, 0, sizeof *rj);
  memset(&pool->cb->job.reduce, 0, sizeof pool->cb->job.reduce);
  if (o->nreduce == 0)
    return 0;
  int rc = plan(pool, o, n, &rj->d);
  if (rc != 0)
    return rc;
  rc = partials(pool, (rj->d.nblocks + 1) * rj->d.stride, &rj->arr);
  if (rc != 0)
    return rc;
  rj->n = n;
  unsigned char *ident =
      (unsigned char *)sharc_array_data(rj->arr) + rj->d.nblocks * rj->d.stride;
  memset(ident, 0, rj->d.stride);
  for (unsigned r = 0; r < rj->d.nred; r++) {
    rj->out[r] = &o->reduce_out[r];
    rj->spec[r] = o->reduce[r];
    rj->bins[r] = o->reduce[r].bins;
    if (o->reduce[r].kind == SHARC_REDUCE_CUSTOM)
      memcpy(ident + rj->d.red[r].off, o->reduce[r].custom->identity,
             o->reduce[r].custom->size);
    memset(rj->out[r], 0, sizeof *rj->out[r]);
    rj->out[r]->kind = o->reduce[r].kind;
  }
  op->arrays[op->o.narrays++] = rj->arr;
  op->o.grain = rj->d.block;
  pool->cb->job.reduce = rj->d;
  return 0;
}

/* --- worker: per chunk and per value ------------------------------------- */

/* The description comes from the control block, which any worker could
 * have scribbled on: check it against the mapping before writing. */
static int desc_ok(const sharc__reduce_desc *d, const sharc__wmap *m) {
  if (d->nred > SHARC_MAX_JOB_REDUCTIONS || d->block == 0 || d->stride == 0 ||
      d->stride % SHARC__PAD != 0 || m == NULL ||
      d->nblocks >= m->nbytes / d->stride) /* also the identities block */
    return 0;
  for (unsigned r = 0; r < d->nred; r++) {
    const sharc__red *rd = &d->red[r];
    uint32_t wmax =
        rd->kind == SHARC_REDUCE_CUSTOM ? SHARC_REDUCE_MAX_STATE
        : rd->kind == SHARC_REDUCE_SUM || rd->kind == SHARC_REDUCE_COUNT
            ? SHARC_REDUCE_MAX_WIDTH
            : 1;
    uint32_t size = rd->nbins <= SHARC_REDUCE_MAX_BINS && rd->width >= 1 &&
                            rd->width <= wmax
                        ? state_bytes(rd->kind, rd->nbins, rd->width)
                        : 0;
    if (size == 0 || rd->off % 8 != 0 || (uint64_t)rd->off + size > d->stride ||
        (rd->kind == SHARC_REDUCE_HIST && rd->nbins == 0))
      return 0;
  }
  return 1;
}

static void reset_block(const sharc__reduce_desc *d, unsigned char *p,
                        const unsigned char *ident) {
  memset(p, 0, d->stride);
  ((sharc__red_head *)(void *)p)->stamp = d->stamp;
  for (unsigned r = 0; r < d->nred; r++) {
    const sharc__red *rd = &d->red[r];
    if (rd->kind == SHARC_REDUCE_CUSTOM)
      memcpy(p + rd->off, ident + rd->off, rd->width);
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
  /* A part of a larger index space starts on a block (subrange.c): the
   * kernel names global indices, whose blocks are counted from its first. */
  uint64_t base = job->base;
  if (b > e || last > t->red.nblocks || base % t->red.block != 0 ||
      base > UINT64_MAX / 2)
    return;
  unsigned char *pbase = m->data;
  const unsigned char *ident = pbase + t->red.nblocks * t->red.stride;
  for (uint64_t k = first; k < last; k++)
    reset_block(&t->red, pbase + k * t->red.stride, ident);
  t->partials = pbase;
  t->red_begin = base + b;
  t->red_end = base + e;
  t->red_blk0 = base / t->red.block;
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
  if (!kind_fits(want, rd->kind) || rd->width != 1 ||
      rd->kind == SHARC_REDUCE_CUSTOM)
    return SHARC_EINVAL;
  if (i < t->red_begin || i >= t->red_end)
    return SHARC_ERANGE;
  uint64_t blk =
      (t->red.shift < 64 ? i >> t->red.shift : i / t->red.block) - t->red_blk0;
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
  case SHARC_REDUCE_CUSTOM: /* refused above: no value to add */
    break;
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
  uint64_t blk =
      (t->red.shift < 64 ? i >> t->red.shift : i / t->red.block) - t->red_blk0;
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

/* Hot path: the state of reduction r, of kind `kind`, for the block
 * holding index i, or NULL with *rc set. */
static void *state_at(const sharc_task *t, unsigned r, uint64_t i,
                      uint32_t kind, int *rc) {
  *rc = SHARC_EINVAL;
  if (t == NULL || t->partials == NULL || r >= t->red.nred ||
      t->red.red[r].kind != kind)
    return NULL;
  *rc = SHARC_ERANGE;
  if (i < t->red_begin || i >= t->red_end)
    return NULL;
  *rc = 0;
  uint64_t blk =
      (t->red.shift < 64 ? i >> t->red.shift : i / t->red.block) - t->red_blk0;
  return t->partials + blk * t->red.stride + t->red.red[r].off;
}

int sharc_task_sum_vec(const sharc_task *t, unsigned r, uint64_t i,
                       const double *x) {
  int rc;
  double *s = state_at(t, r, i, SHARC_REDUCE_SUM, &rc);
  if (s == NULL || x == NULL)
    return s == NULL ? rc : SHARC_EINVAL;
  uint32_t w = t->red.red[r].width;
  for (uint32_t j = 0; j < w; j++)
    s[j] += x[j];
  ((uint64_t *)(void *)(s + w))[0]++;
  return 0;
}

int sharc_task_sum_at(const sharc_task *t, unsigned r, uint64_t i, unsigned j,
                      double x) {
  int rc;
  double *s = state_at(t, r, i, SHARC_REDUCE_SUM, &rc);
  if (s == NULL)
    return rc;
  uint32_t w = t->red.red[r].width;
  if (j >= w)
    return SHARC_ERANGE;
  s[j] += x;
  ((uint64_t *)(void *)(s + w))[0]++;
  return 0;
}

int sharc_task_count_vec(const sharc_task *t, unsigned r, uint64_t i,
                         const uint64_t *k) {
  int rc;
  uint64_t *c = state_at(t, r, i, SHARC_REDUCE_COUNT, &rc);
  if (c == NULL || k == NULL)
    return c == NULL ? rc : SHARC_EINVAL;
  for (uint32_t j = 0; j < t->red.red[r].width; j++)
    c[j] += k[j];
  return 0;
}

int sharc_task_count_at(const sharc_task *t, unsigned r, uint64_t i, unsigned j,
                        uint64_t k) {
  int rc;
  uint64_t *c = state_at(t, r, i, SHARC_REDUCE_COUNT, &rc);
  if (c == NULL)
    return rc;
  if (j >= t->red.red[r].width)
    return SHARC_ERANGE;
  c[j] += k;
  return 0;
}

int sharc_task_hist_add(const sharc_task *t, unsigned r, uint64_t i, unsigned b,
                        uint64_t k) {
  int rc;
  sharc__red_hist *h = state_at(t, r, i, SHARC_REDUCE_HIST, &rc);
  if (h == NULL)
    return rc;
  if (b >= t->red.red[r].nbins)
    return SHARC_ERANGE;
  h->bins[b] += k;
  h->count += k;
  return 0;
}

int sharc_task_hist_merge(const sharc_task *t, unsigned r, uint64_t i,
                          const uint64_t *bins) {
  int rc;
  sharc__red_hist *h = state_at(t, r, i, SHARC_REDUCE_HIST, &rc);
  if (h == NULL || bins == NULL)
    return h == NULL ? rc : SHARC_EINVAL;
  for (uint32_t b = 0; b < t->red.red[r].nbins; b++) {
    h->bins[b] += bins[b];
    h->count += bins[b];
  }
  return 0;
}

void *sharc_task_reduce_state(const sharc_task *t, unsigned r, uint64_t i) {
  int rc;
  return state_at(t, r, i, SHARC_REDUCE_CUSTOM, &rc);
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
  sharc_pool *pool;  /* where messages go; NULL: to msg */
  char *msg;
  size_t msglen;
  const sharc__reduce_job *rj;
  const unsigned char *base;
  /* Per reduction, what goes to the caller's arrays once every reduction
   * has been combined: vector sums or counts, a CUSTOM accumulator. */
  void *tmp[SHARC_MAX_JOB_REDUCTIONS];
} combine;

static const void *state(const combine *c, uint64_t blk, unsigned r) {
  return c->base + blk * c->rj->d.stride + c->rj->d.red[r].off;
}

static int bad_block(const combine *c, uint64_t blk, unsigned r,
                     const char *what) {
  uint64_t lo = blk * c->rj->d.block, hi = lo + c->rj->d.block;
  const char *fmt = "reduction %u: the partial of block %llu (indices "
                    "[%llu, %llu)) %s";
  unsigned long long b = blk, l = lo, h = hi < c->rj->n ? hi : c->rj->n;
  if (c->pool == NULL) {
    if (c->msg != NULL && c->msglen > 0)
      snprintf(c->msg, c->msglen, fmt, r, b, l, h, what);
    return SHARC_ECORRUPT;
  }
  return sharc__fail(c->pool, SHARC_ECORRUPT, fmt, r, b, l, h, what);
}

/* Sums element j pairwise over blocks [lo, hi): a fixed tree, whatever
 * the split. */
static double sum_tree(const combine *c, unsigned r, uint32_t j, uint64_t lo,
                       uint64_t hi) {
  if (hi - lo == 1)
    return ((const double *)state(c, lo, r))[j];
  uint64_t mid = lo + (hi - lo) / 2;
  return sum_tree(c, r, j, lo, mid) + sum_tree(c, r, j, mid, hi);
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
  case SHARC_REDUCE_SUM: {
    uint64_t count;
    memcpy(&count, (const double *)p + rd->width, sizeof count);
    return add_count(&res->count, count)
               ? bad_block(c, blk, r, "overflows the count")
               : 0;
  }
  case SHARC_REDUCE_COUNT: {
    const uint64_t *k = p;
    uint64_t *total = rd->width > 1 ? c->tmp[r] : NULL;
    int of = 0;
    for (uint32_t j = 0; j < rd->width; j++) {
      of |= add_count(&res->count, k[j]);
      if (total != NULL)
        of |= add_count(&total[j], k[j]);
    }
    return of ? bad_block(c, blk, r, "overflows the count") : 0;
  }
  case SHARC_REDUCE_CUSTOM: {
    const sharc_reduce_custom *u = c->rj->spec[r].custom;
    if (u->combine(c->tmp[r], p, u->arg) != 0)
      return bad_block(c, blk, r, "was refused by the combine function");
    res->count++;
    return 0;
  }
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
    res.index = 0; /* fields that do not apply are 0 */
    res.value = 0;
  }
  uint32_t width = c->rj->d.red[r].width;
  if (kind == SHARC_REDUCE_SUM && c->rj->d.nblocks > 0 && width == 1)
    res.sum = sum_tree(c, r, 0, 0, c->rj->d.nblocks);
  for (uint32_t j = 0; kind == SHARC_REDUCE_SUM && width > 1 && j < width; j++)
    ((double *)c->tmp[r])[j] =
        c->rj->d.nblocks > 0 ? sum_tree(c, r, j, 0, c->rj->d.nblocks) : 0.0;
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

/* Where reduction r's vector or CUSTOM result goes, and its size (0: it
 * has none beyond its sharc_reduce_result). */
static void *result_area(const sharc__reduce_job *rj, unsigned r,
                         size_t *size) {
  const sharc_reduce_spec *s = &rj->spec[r];
  uint32_t w = rj->d.red[r].width;
  *size = 0;
  if (s->kind == SHARC_REDUCE_CUSTOM) {
    *size = s->custom->size;
    return s->custom->result;
  }
  if (w > 1 && s->kind == SHARC_REDUCE_SUM) {
    *size = w * sizeof(double);
    return s->sums;
  }
  if (w > 1 && s->kind == SHARC_REDUCE_COUNT) {
    *size = w * sizeof(uint64_t);
    return s->counts;
  }
  return NULL;
}

static int combine_checked(combine *c) {
  const sharc__reduce_job *rj = c->rj;
  for (uint64_t blk = 0; blk < rj->d.nblocks; blk++) {
    const sharc__red_head *h =
        (const sharc__red_head *)(const void *)(c->base + blk * rj->d.stride);
    /* Parts of a larger job (stamp 0 here) carry their own part's odd
     * stamp; a block no part ran is all zeros. */
    if (rj->d.stamp != 0 ? h->stamp != rj->d.stamp : (h->stamp & 1) == 0)
      return bad_block(c, blk, 0, "was not reset by this job");
  }
  for (unsigned r = 0; r < rj->d.nred; r++) {
    size_t size;
    if (result_area(rj, r, &size) == NULL)
      continue;
    c->tmp[r] = calloc(1, size);
    if (c->tmp[r] == NULL && c->pool == NULL) {
      if (c->msg != NULL && c->msglen > 0)
        snprintf(c->msg, c->msglen, "reduction %u: no memory for its result",
                 r);
      return SHARC_ENOMEM;
    }
    if (c->tmp[r] == NULL)
      return sharc__fail(c->pool, SHARC_ENOMEM,
                         "reduction %u: no memory for its result", r);
    if (rj->spec[r].kind == SHARC_REDUCE_CUSTOM) /* the accumulator */
      memcpy(c->tmp[r], rj->spec[r].custom->identity, size);
  }
  for (unsigned r = 0; r < rj->d.nred; r++) {
    int rc = combine_one(c, r);
    if (rc != 0)
      return rc;
  }
  for (unsigned r = 0; r < rj->d.nred; r++) { /* all or nothing */
    size_t size;
    void *to = result_area(rj, r, &size);
    if (to != NULL)
      memcpy(to, c->tmp[r], size);
  }
  return 0;
}

/* combine_checked, then the scratch it made. */
static int combine_blocks(combine *c) {
  int rc = combine_checked(c);
  for (unsigned r = 0; r < SHARC_MAX_JOB_REDUCTIONS; r++)
    free(c->tmp[r]);
  return rc;
}

static int combine_all(sharc_pool *pool, sharc__reduce_job *rj) {
  combine c = {.pool = pool, .rj = rj, .base = sharc_array_data(rj->arr)};
  return combine_blocks(&c);
}

/* A part of a larger job: its blocks' partials, checked, go to the caller
 * (subrange.c), who combines every part's after the whole job. */
static int export_all(sharc_pool *pool, sharc__reduce_job *rj) {
  combine c = {.pool = pool, .rj = rj, .base = sharc_array_data(rj->arr)};
  for (uint64_t blk = 0; blk < rj->d.nblocks; blk++) {
    const sharc__red_head *h =
        (const sharc__red_head *)(const void *)(c.base + blk * rj->d.stride);
    if (h->stamp != rj->d.stamp)
      return bad_block(&c, blk, 0, "was not reset by this job");
  }
  memcpy(rj->export_to, c.base, rj->d.nblocks * rj->d.stride);
  return 0;
}

int sharc__reduce_finish(sharc_pool *pool, sharc__reduce_job *rj, int rc) {
  if (rj->arr == NULL)
    return rc;
  if (rc == 0)
    rc = rj->export_to != NULL ? export_all(pool, rj) : combine_all(pool, rj);
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

/* --- parts of a larger index space (subrange.c) --------------------------- */

static void say(char *msg, size_t len, const char *what) {
  if (msg != NULL && len > 0)
    snprintf(msg, len, "%s", what);
}

int sharc__reduce_layout(const sharc_job_opts *o, uint64_t n, uint64_t *block,
                         uint64_t *stride, char *msg, size_t msglen) {
  sharc__reduce_desc d;
  memset(&d, 0, sizeof d);
  if (plan(NULL, o, n, &d) != 0) {
    say(msg, msglen,
        "the job's reductions are not valid (bad kind, bins or range, no "
        "result, too many arrays, a block that is no multiple of the grain, "
        "or partials over 1 GiB)");
    return SHARC_EINVAL;
  }
  *block = d.block;
  *stride = d.stride;
  return 0;
}

int sharc__reduce_combine_parts(const sharc_job_opts *o, uint64_t n,
                                const void *partials, char *msg,
                                size_t msglen) {
  sharc__reduce_job *rj = calloc(1, sizeof *rj);
  if (rj == NULL) {
    say(msg, msglen, "out of memory");
    return SHARC_ENOMEM;
  }
  int rc = o->reduce_out != NULL ? plan(NULL, o, n, &rj->d) : SHARC_EINVAL;
  if (rc != 0) {
    say(msg, msglen, "the job's reductions are not valid, or no results");
    free(rj);
    return SHARC_EINVAL;
  }
  rj->d.stamp = 0; /* every block carries its own part's stamp */
  rj->n = n;
  for (unsigned r = 0; r < rj->d.nred; r++) {
    rj->out[r] = &o->reduce_out[r];
    rj->spec[r] = o->reduce[r];
    rj->bins[r] = o->reduce[r].bins;
  }
  combine c = {.msg = msg, .msglen = msglen, .rj = rj, .base = partials};
  rc = combine_blocks(&c);
  for (unsigned r = 0; rc != 0 && r < rj->d.nred; r++) {
    sharc_reduce_kind kind = o->reduce[r].kind;
    memset(rj->out[r], 0, sizeof *rj->out[r]);
    rj->out[r]->kind = kind;
  }
  if (rc == 0)
    say(msg, msglen, "");
  free(rj);
  return rc;
}

/* --- advice -------------------------------------------------------------- */

int sharc_reduce_advice(uint64_t n, uint64_t block, unsigned workers,
                        double imbalance_pct, char *buf, size_t len) {
  if (buf != NULL && len > 0)
    buf[0] = '\0';
  if (buf == NULL || len == 0 || block == 0 || workers < 2 || n < workers)
    return 0;
  uint64_t blocks = n / block + (n % block != 0);
  int starved = blocks < workers;
  if (!starved && !(blocks < UINT64_C(4) * workers && imbalance_pct > 10.0))
    return 0;
  snprintf(buf, len,
           "The reduction block of %llu indices cut the job into %llu "
           "block%s for %u workers (a chunk holds whole blocks): set a "
           "smaller reduce_block. Results are reproducible for the same n "
           "and block.",
           (unsigned long long)block, (unsigned long long)blocks,
           blocks == 1 ? "" : "s", workers);
  return 1;
}

/* The block's advice names the cause, so it replaces the report's general
 * advice about small or fine-grained jobs. */
void sharc__reduce_advise(sharc_report *rep, const sharc_job_opts *o) {
  char buf[256];
  if (rep == NULL || o == NULL || o->nreduce == 0)
    return;
  if (sharc_reduce_advice(rep->n, o->grain, rep->nworkers, rep->imbalance_pct,
                          buf, sizeof buf))
    sharc__text_set(&rep->advice, "%s", buf);
}
