/* libsharc_mpi: a job over [0, n) shared among the ranks of a
 * communicator (sharc/mpi.h). Rank 0's window holds the next unclaimed
 * unit; each rank claims super-chunks with MPI_Fetch_and_op and runs them
 * on its pool as parts of the whole job (sharc/experimental.h); at the end
 * every block's partial is gathered to every rank and combined in the
 * core's fixed order. */
#define SHARC_EXPERIMENTAL_API
#include <sharc/experimental.h>

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sharc/mpi.h"
#include "mpi_int.h"

#define TARGET_S_DEFAULT 0.05

typedef struct run {
  MPI_Comm comm;
  int rank, size;
  sharc_pool *pool;
  const char *kernel;
  uint64_t n;
  const sharc_job_opts *o;
  const sharc_mpi_opts *mo;
  uint64_t unit;   /* indices per claimed unit: block, grain or 1 */
  uint64_t units;  /* units in [0, n) */
  uint64_t stride; /* bytes of a block's partials; 0: no reductions */
  double target_s;
  uint64_t (*parts)[2]; /* this rank's super-chunks, in claim order */
  size_t nparts, pcap;
  unsigned char *partials; /* their blocks' partials, in the same order */
  size_t pbytes, bcap;
  sharc_mpi_rank_report me;
  uint64_t last_units; /* the last super-chunk's size, 0 before the first */
  double last_s;       /* and how long it ran */
  uint64_t t0;
  int rc;
  char msg[512];
} run;

static uint64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int fail(run *r, int code, const char *fmt, ...) {
  if (r->rc != 0)
    return r->rc; /* the first failure is the one to tell */
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(r->msg, sizeof r->msg, fmt, ap);
  va_end(ap);
  r->rc = code;
  return code;
}

/* Every rank learns whether some rank failed; the first failing rank's
 * code and message become every rank's. Collective. */
static int agree(run *r) {
  int *all = malloc((size_t)r->size * sizeof *all);
  if (all == NULL)
    return fail(r, SHARC_ENOMEM, "rank %d: out of memory", r->rank);
  int rc = r->rc;
  if (MPI_Allgather(&rc, 1, MPI_INT, all, 1, MPI_INT, r->comm) != MPI_SUCCESS) {
    free(all);
    return fail(r, SHARC_EIO, "rank %d: MPI_Allgather failed", r->rank);
  }
  int first = -1;
  for (int k = 0; k < r->size && first < 0; k++)
    if (all[k] != 0)
      first = k;
  if (first >= 0) {
    r->rc = all[first];
    MPI_Bcast(r->msg, (int)sizeof r->msg, MPI_CHAR, first, r->comm);
  }
  free(all);
  return r->rc;
}

/* --- before: options every rank must agree on ---------------------------- */

typedef struct shape {
  uint64_t n, unit, stride, nreduce;
} shape;

static void local_checks(run *r) {
  const sharc_job_opts *o = r->o;
  if (r->pool == NULL || r->kernel == NULL) {
    fail(r, SHARC_EINVAL, "rank %d: no pool or no kernel name", r->rank);
    return;
  }
  if (sharc_pool_start_method(r->pool) == SHARC_START_FORK) {
    fail(r, SHARC_EINVAL,
         "rank %d: the pool forks its workers from this MPI process; use "
         "sharc_mpi_pool_create() or SHARC_START_FORKSERVER (after "
         "sharc_mpi_init()) or SHARC_START_SPAWN",
         r->rank);
    return;
  }
  if (r->mo->size != sizeof *r->mo) {
    fail(r, SHARC_EINVAL,
         "rank %d: MPI options not made by SHARC_MPI_OPTS_INIT", r->rank);
    return;
  }
  if (o->journal_path != NULL || o->resume) {
    fail(r, SHARC_EINVAL, "rank %d: a job under MPI cannot keep a journal",
         r->rank);
    return;
  }
  uint64_t block = 0;
  char why[256];
  int rc = sharc_reduce_layout(o, r->n, &block, &r->stride, why, sizeof why);
  if (rc != 0) {
    fail(r, rc, "rank %d: %s", r->rank, why);
    return;
  }
  r->unit = block ? block : o->grain > 1 ? o->grain : 1;
  r->units = r->n / r->unit + (r->n % r->unit != 0);
}

/* The same n, unit, partial size and reductions on every rank: else the
 * claims and partials would mean different things. */
static int same_shape(run *r) {
  shape mine = {r->n, r->unit, r->stride, r->o->nreduce}, root = mine;
  if (MPI_Bcast(&root, (int)sizeof root, MPI_BYTE, 0, r->comm) != MPI_SUCCESS)
    return fail(r, SHARC_EIO, "rank %d: MPI_Bcast failed", r->rank);
  if (r->rc == 0 && memcmp(&mine, &root, sizeof mine) != 0)
    fail(r, SHARC_EINVAL,
         "rank %d: the job differs from rank 0's (n %llu, block %llu, "
         "partial %llu bytes, %llu reductions there; %llu, %llu, %llu, %llu "
         "here)",
         r->rank, (unsigned long long)root.n, (unsigned long long)root.unit,
         (unsigned long long)root.stride, (unsigned long long)root.nreduce,
         (unsigned long long)mine.n, (unsigned long long)mine.unit,
         (unsigned long long)mine.stride, (unsigned long long)mine.nreduce);
  return agree(r);
}

/* --- during: claims and parts -------------------------------------------- */

/* How many units to claim next: the first claim before the speed is known,
 * then as many as would last target_s at the speed of the last super-chunk
 * (at most 4 times and at least half the last one, so that one disturbed
 * measurement does not throw the size far), at least one per worker, and
 * never more than half of what is left per rank (factoring), so the last
 * claims are small. The last super-chunk's speed, not the average so far:
 * a super-chunk's time includes waking the pool, which dominates the
 * first small ones, and the size must grow out of that quickly. */
static uint64_t claim_size(const run *r, uint64_t seen) {
  uint64_t left = seen < r->units ? r->units - seen : 0;
  uint64_t cap = left / (2 * (uint64_t)r->size);
  uint64_t workers = sharc_pool_size(r->pool);
  uint64_t want;
  if (r->last_units == 0) {
    want = r->mo->first ? (r->mo->first + r->unit - 1) / r->unit : workers;
  } else {
    double last = (double)r->last_units;
    double w = r->last_s > 0 ? last * r->target_s / r->last_s : 4 * last;
    w = w > 4 * last ? 4 * last : w < last / 2 ? last / 2 : w;
    want = w >= (double)r->units ? r->units : (uint64_t)w;
  }
  if (want < workers)
    want = workers;
  if (want > cap)
    want = cap;
  return want > 0 ? want : 1;
}

static int keep_part(run *r, uint64_t b, uint64_t e, size_t bytes) {
  if (r->nparts == r->pcap) {
    size_t cap = r->pcap ? 2 * r->pcap : 64;
    void *p = realloc(r->parts, cap * sizeof *r->parts);
    if (p == NULL)
      return fail(r, SHARC_ENOMEM, "rank %d: out of memory", r->rank);
    r->parts = p;
    r->pcap = cap;
  }
  r->parts[r->nparts][0] = b;
  r->parts[r->nparts][1] = e;
  r->nparts++;
  r->pbytes += bytes;
  return 0;
}

static int room_for(run *r, size_t bytes) {
  if (r->pbytes + bytes <= r->bcap)
    return 0;
  size_t cap = r->bcap ? r->bcap : 4096;
  while (cap < r->pbytes + bytes)
    cap *= 2;
  void *p = realloc(r->partials, cap);
  if (p == NULL)
    return fail(r, SHARC_ENOMEM, "rank %d: out of memory for partials",
                r->rank);
  r->partials = p;
  r->bcap = cap;
  return 0;
}

/* Runs units [u0, u1) on this rank's pool. */
static int run_part(run *r, uint64_t u0, uint64_t u1) {
  uint64_t b = u0 * r->unit;
  uint64_t e = u1 * r->unit < r->n ? u1 * r->unit : r->n;
  size_t bytes = (size_t)((u1 - u0) * r->stride);
  if (room_for(r, bytes) != 0)
    return r->rc;
  sharc_report rep = SHARC_REPORT_INIT;
  uint64_t t = now_ns();
  int rc = sharc_run_part(r->pool, r->kernel, r->n, b, e, r->o,
                          r->stride ? r->partials + r->pbytes : NULL, &rep);
  r->last_s = (double)(now_ns() - t) * 1e-9;
  r->last_units = u1 - u0;
  r->me.run_s += r->last_s;
  r->me.chunks += rep.chunks;
  for (unsigned w = 0; w < rep.nworkers && rep.workers != NULL; w++)
    r->me.busy_s += rep.workers[w].busy_s;
  sharc_report_free(&rep);
  if (rc != 0)
    return fail(r, rc, "rank %d, super-chunk [%llu, %llu) of '%s': %s "
                "(indices there counted from %llu)",
                r->rank, (unsigned long long)b, (unsigned long long)e,
                r->kernel, sharc_pool_errmsg(r->pool), (unsigned long long)b);
  r->me.indices += e - b;
  r->me.parts++;
  if (keep_part(r, b, e, bytes) != 0)
    return r->rc;
  if (r->mo->on_part != NULL)
    r->mo->on_part(b, e, r->mo->on_part_arg);
  return 0;
}

/* Claims and runs super-chunks until none is left (or this rank failed:
 * the others take the rest). */
static int claim_loop(run *r) {
  uint64_t *counter = NULL;
  MPI_Win win;
  MPI_Aint bytes = r->rank == 0 ? (MPI_Aint)sizeof(uint64_t) : 0;
  if (MPI_Win_allocate(bytes, (int)sizeof(uint64_t), MPI_INFO_NULL, r->comm,
                       &counter, &win) != MPI_SUCCESS)
    return fail(r, SHARC_EIO, "rank %d: MPI_Win_allocate failed", r->rank);
  if (r->rank == 0) { /* a local store made visible as RMA wants it */
    MPI_Win_lock(MPI_LOCK_EXCLUSIVE, 0, 0, win);
    *counter = 0;
    MPI_Win_unlock(0, win);
  }
  MPI_Barrier(r->comm);
  r->t0 = now_ns();
  MPI_Win_lock_all(0, win);
  uint64_t seen = 0;
  while (r->rc == 0) {
    uint64_t want = claim_size(r, seen), old = 0;
    uint64_t t = now_ns();
    int mrc = MPI_Fetch_and_op(&want, &old, MPI_UINT64_T, 0, 0, MPI_SUM, win);
    if (mrc == MPI_SUCCESS)
      mrc = MPI_Win_flush(0, win);
    r->me.claim_s += (double)(now_ns() - t) * 1e-9;
    if (mrc != MPI_SUCCESS) {
      fail(r, SHARC_EIO, "rank %d: MPI_Fetch_and_op failed", r->rank);
      break;
    }
    if (old >= r->units)
      break;
    uint64_t u1 = r->units - old > want ? old + want : r->units;
    seen = old + want;
    if (run_part(r, old, u1) != 0)
      break;
  }
  MPI_Win_unlock_all(win);
  r->me.finish_s = (double)(now_ns() - r->t0) * 1e-9;
  MPI_Win_free(&win);
  return r->rc;
}

/* --- after: every rank's parts and partials ------------------------------ */

typedef struct gathered {
  int *counts, *displs; /* per rank, in elements of the last gather */
  uint64_t (*parts)[2]; /* every rank's, rank by rank */
  int *nparts, *first;  /* per rank: its parts, and where they start */
  unsigned char *partials;
} gathered;

static void gathered_free(gathered *g) {
  free(g->counts);
  free(g->displs);
  free(g->parts);
  free(g->nparts);
  free(g->first);
  free(g->partials);
}

/* counts[k] from each rank's `mine`, displacements, and the total. */
static int gather_counts(run *r, gathered *g, int mine, size_t *total) {
  if (MPI_Allgather(&mine, 1, MPI_INT, g->counts, 1, MPI_INT, r->comm) !=
      MPI_SUCCESS)
    return fail(r, SHARC_EIO, "rank %d: MPI_Allgather failed", r->rank);
  size_t sum = 0;
  for (int k = 0; k < r->size; k++) {
    if (sum > (size_t)INT32_MAX)
      return fail(r, SHARC_ERANGE, "partials over 2 GiB in all");
    g->displs[k] = (int)sum;
    sum += (size_t)g->counts[k];
  }
  *total = sum;
  return 0;
}

static int gather_all(run *r, gathered *g) {
  size_t total;
  g->counts = malloc((size_t)r->size * sizeof *g->counts);
  g->displs = malloc((size_t)r->size * sizeof *g->displs);
  g->nparts = malloc((size_t)r->size * sizeof *g->nparts);
  g->first = malloc((size_t)r->size * sizeof *g->first);
  if (g->counts == NULL || g->displs == NULL || g->nparts == NULL ||
      g->first == NULL)
    return fail(r, SHARC_ENOMEM, "rank %d: out of memory", r->rank);
  if (gather_counts(r, g, (int)(2 * r->nparts), &total) != 0)
    return r->rc;
  for (int k = 0; k < r->size; k++) {
    g->nparts[k] = g->counts[k] / 2;
    g->first[k] = g->displs[k] / 2;
  }
  g->parts = malloc((total > 0 ? total : 1) * sizeof(uint64_t));
  if (g->parts == NULL)
    return fail(r, SHARC_ENOMEM, "rank %d: out of memory", r->rank);
  if (MPI_Allgatherv(r->parts, (int)(2 * r->nparts), MPI_UINT64_T, g->parts,
                     g->counts, g->displs, MPI_UINT64_T,
                     r->comm) != MPI_SUCCESS)
    return fail(r, SHARC_EIO, "rank %d: MPI_Allgatherv failed", r->rank);
  if (r->stride == 0)
    return 0;
  if (gather_counts(r, g, (int)r->pbytes, &total) != 0)
    return r->rc;
  g->partials = malloc(total > 0 ? total : 1);
  if (g->partials == NULL)
    return fail(r, SHARC_ENOMEM, "rank %d: out of memory", r->rank);
  if (MPI_Allgatherv(r->partials, (int)r->pbytes, MPI_BYTE, g->partials,
                     g->counts, g->displs, MPI_BYTE, r->comm) != MPI_SUCCESS)
    return fail(r, SHARC_EIO, "rank %d: MPI_Allgatherv failed", r->rank);
  return 0;
}

typedef struct owned {
  uint64_t b, e;
  int rank;
} owned;

static int by_begin(const void *x, const void *y) {
  const owned *a = x, *b = y;
  return a->b < b->b ? -1 : a->b > b->b;
}

/* Every super-chunk of every rank, by begin; they must tile [0, n). */
static int check_cover(run *r, const gathered *g, sharc_mpi_report *rep) {
  size_t total = 0;
  for (int k = 0; k < r->size; k++)
    total += (size_t)g->nparts[k];
  owned *all = malloc((total > 0 ? total : 1) * sizeof *all);
  if (all == NULL)
    return fail(r, SHARC_ENOMEM, "out of memory");
  size_t at = 0;
  for (int k = 0; k < r->size; k++) {
    uint64_t(*p)[2] = g->parts + g->first[k];
    for (int j = 0; j < g->nparts[k]; j++)
      all[at++] = (owned){p[j][0], p[j][1], k};
  }
  qsort(all, total, sizeof *all, by_begin);
  uint64_t next = 0;
  for (size_t k = 0; k < total && r->rc == 0; k++) {
    if (all[k].b != next || all[k].e <= all[k].b)
      fail(r, SHARC_ECORRUPT,
           "the super-chunks do not cover [0, %llu) once: rank %d ran "
           "[%llu, %llu) where [%llu, ...) was expected",
           (unsigned long long)r->n, all[k].rank,
           (unsigned long long)all[k].b, (unsigned long long)all[k].e,
           (unsigned long long)next);
    next = all[k].e;
  }
  if (r->rc == 0 && next != r->n)
    fail(r, SHARC_ECORRUPT,
         "the super-chunks cover [0, %llu) of [0, %llu) only",
         (unsigned long long)next, (unsigned long long)r->n);
  if (rep != NULL) {
    rep->part_ranges = malloc((total > 0 ? total : 1) * sizeof *rep->part_ranges);
    rep->part_rank = malloc((total > 0 ? total : 1) * sizeof *rep->part_rank);
    if (rep->part_ranges != NULL && rep->part_rank != NULL) {
      for (size_t k = 0; k < total; k++) {
        rep->part_ranges[k][0] = all[k].b;
        rep->part_ranges[k][1] = all[k].e;
        rep->part_rank[k] = all[k].rank;
      }
      rep->parts = total;
    } else {
      fail(r, SHARC_ENOMEM, "out of memory for the report");
    }
  }
  free(all);
  return r->rc;
}

/* Every block's partial where the whole job would have it, then the core's
 * combination. */
static int combine(run *r, const gathered *g) {
  if (r->stride == 0)
    return 0;
  uint64_t nblocks = r->units;
  unsigned char *blocks = calloc(nblocks > 0 ? nblocks : 1, r->stride);
  if (blocks == NULL)
    return fail(r, SHARC_ENOMEM, "out of memory for %llu partials",
                (unsigned long long)nblocks);
  for (int k = 0; k < r->size; k++) {
    uint64_t(*p)[2] = g->parts + g->first[k];
    size_t off = 0;
    const unsigned char *src = g->partials + g->displs[k];
    for (int j = 0; j < g->nparts[k]; j++) {
      uint64_t b0 = p[j][0] / r->unit;
      uint64_t nb = (p[j][1] - p[j][0] + r->unit - 1) / r->unit;
      if (off + nb * r->stride > (size_t)g->counts[k] || b0 + nb > nblocks) {
        free(blocks);
        return fail(r, SHARC_ECORRUPT, "rank %d sent too few partials", k);
      }
      memcpy(blocks + b0 * r->stride, src + off, nb * r->stride);
      off += nb * r->stride;
    }
  }
  char why[512];
  int rc = sharc_reduce_combine(r->o, r->n, blocks, why, sizeof why);
  free(blocks);
  return rc != 0 ? fail(r, rc, "combining the ranks' partials: %s", why) : 0;
}

/* --- the report ---------------------------------------------------------- */

static void fill_report(run *r, sharc_mpi_report *rep,
                        sharc_mpi_rank_report *ranks, double combine_s) {
  sharc__mpi_text(&rep->kernel, r->kernel != NULL ? r->kernel : "");
  rep->n = r->n;
  rep->status = r->rc;
  sharc__mpi_text(&rep->error, r->rc ? r->msg : "");
  rep->nranks = r->size;
  rep->rank = r->rank;
  rep->block = r->unit;
  rep->wall_s = (double)(now_ns() - r->t0) * 1e-9;
  rep->combine_s = combine_s;
  rep->ranks = ranks;
  if (ranks == NULL)
    return;
  double sum = 0, max = 0;
  for (int k = 0; k < r->size; k++) {
    rep->workers += ranks[k].workers;
    rep->indices += ranks[k].indices;
    sum += ranks[k].finish_s;
    max = ranks[k].finish_s > max ? ranks[k].finish_s : max;
  }
  double mean = sum / r->size;
  rep->imbalance_pct = mean > 0 ? (max / mean - 1.0) * 100.0 : 0.0;
}

static void zero_results(const sharc_job_opts *o) {
  if (o->reduce_out == NULL || o->reduce == NULL)
    return;
  for (unsigned k = 0; k < o->nreduce && k < SHARC_MAX_JOB_REDUCTIONS; k++) {
    sharc_reduce_kind kind = o->reduce[k].kind;
    memset(&o->reduce_out[k], 0, sizeof o->reduce_out[k]);
    o->reduce_out[k].kind = kind;
  }
}

int sharc_mpi_run(sharc_pool *pool, const char *kernel, uint64_t n,
                  const sharc_job_opts *opts, const sharc_mpi_opts *mo,
                  sharc_mpi_report *rep) {
  static const sharc_job_opts jdefaults = SHARC_JOB_OPTS_INIT;
  static const sharc_mpi_opts mdefaults = SHARC_MPI_OPTS_INIT;
  if (rep != NULL && rep->size != sizeof *rep)
    return SHARC_EINVAL;
  if (rep != NULL) {
    memset(rep, 0, sizeof *rep);
    rep->size = sizeof *rep;
    rep->kernel = rep->error = sharc__mpi_empty;
  }
  run *r = calloc(1, sizeof *r);
  if (r == NULL)
    return SHARC_ENOMEM; /* the others would wait: MPI's error is nearer */
  r->o = opts != NULL ? opts : &jdefaults;
  r->mo = mo != NULL ? mo : &mdefaults;
  r->comm = r->mo->size == sizeof *r->mo && r->mo->comm != MPI_COMM_NULL
                ? r->mo->comm
                : MPI_COMM_WORLD;
  MPI_Comm_rank(r->comm, &r->rank);
  MPI_Comm_size(r->comm, &r->size);
  r->pool = pool;
  r->kernel = kernel;
  r->n = n;
  r->t0 = now_ns();
  const char *env = getenv("SHARC_MPI_TARGET_S");
  r->target_s = r->mo->size == sizeof *r->mo && r->mo->target_s > 0
                    ? r->mo->target_s
                : env != NULL && atof(env) > 0 ? atof(env)
                                               : TARGET_S_DEFAULT;
  if (r->o->size != sizeof *r->o)
    fail(r, SHARC_EINVAL, "rank %d: job options not made by "
         "SHARC_JOB_OPTS_INIT", r->rank);
  else
    zero_results(r->o);
  if (r->rc == 0)
    local_checks(r);
  r->me.rank = r->rank;
  r->me.workers = pool != NULL ? sharc_pool_size(pool) : 0;
  gathered g;
  memset(&g, 0, sizeof g);
  double combine_s = 0;
  if (same_shape(r) == 0) {
    claim_loop(r);
    agree(r);
  }
  sharc_mpi_rank_report *ranks = calloc((size_t)r->size, sizeof *ranks);
  if (ranks == NULL) /* the other ranks are already in the collective */
    MPI_Abort(r->comm, 1);
  if (MPI_Allgather(&r->me, (int)sizeof r->me, MPI_BYTE, ranks,
                    (int)sizeof r->me, MPI_BYTE, r->comm) != MPI_SUCCESS)
    fail(r, SHARC_EIO, "rank %d: MPI_Allgather failed", r->rank);
  if (r->rc == 0) {
    uint64_t t = now_ns();
    /* Deterministic from here on: every rank has the same data, so every
     * rank reaches the same verdict without another round. */
    if (gather_all(r, &g) == 0 && check_cover(r, &g, rep) == 0)
      combine(r, &g);
    combine_s = (double)(now_ns() - t) * 1e-9;
  }
  if (r->rc != 0 && r->o->size == sizeof *r->o)
    zero_results(r->o);
  gathered_free(&g);
  int rc = r->rc;
  if (rep != NULL)
    fill_report(r, rep, ranks, combine_s);
  else
    free(ranks);
  free(r->parts);
  free(r->partials);
  free(r);
  return rc;
}
