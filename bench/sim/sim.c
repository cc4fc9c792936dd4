/* bench_sim: a discrete-event simulation of loop schedules on many workers,
 * for worker counts this machine does not have. Pure logic: no processes,
 * no threads, no clocks; the same inputs give the same output.
 *
 * Work: n indices whose costs come from the synthetic kernel's own cost
 * model (sharc_synthetic_cost, kernels/synthetic.h), in iterations, times
 * --ns-per-iter. Worker 0 runs at half speed in the "+slow" workloads.
 *
 * Claim costs (defaults in brackets; measured values come from
 * bench_dispatch):
 *   --dispatch-ns [15]  one claim on a shared counter (dynamic, guided,
 *                       fac2, wf). The counter serves one claim at a time:
 *                       a claim waits for those before it, so its cost grows
 *                       with the number of contenders (a cache line moves
 *                       from claimer to claimer).
 *   --local-ns [3]      a claim from a worker's own range (static, auto)
 *   --steal-ns [200]    one steal from a worker in the thief's L3 group;
 *                       --steal-numa-ns [2x] in its NUMA node, --steal-
 *                       remote-ns [4x] elsewhere. --l3 [8] and --numa [64]
 *                       workers share an L3 group and a NUMA node. Looking
 *                       at a level costs its price whether it finds work
 *                       or not: a steal from the node costs 200 + 400 ns.
 *
 * Schedules: the library's own. static, dynamic,k, guided, fac2, wf and
 * auto claim through the units in lib/sched_*.h, on shared words in
 * ordinary memory (the counter, the range words, the slots' published
 * costs), one claim at a time in simulated time; the adaptive ones are
 * handed their chunks' simulated times as the worker's loop hands them
 * the measured ones (spans of c->every chunks, claims included). Only the
 * prices are the model's: a claim through the shared counter costs
 * --dispatch-ns in its queue, any other --local-ns, and a claim in which
 * auto stole pays the search up to the victim's level (a search that
 * found nothing pays all three). --target-us sets what an auto chunk aims
 * to last (the library's SHARC_AUTO_TARGET_NS, 20 us).
 *
 *   tbb-like      a simplified oneTBB auto_partitioner with random work
 *                 stealing (see simulate_tbb); spawning a task costs
 *                 --spawn-ns [20]
 *
 * Output: makespan / ideal per workload, schedule and worker count, where
 * ideal = max(total work / total speed, the longest index on a full-speed
 * worker): a table, and every figure in JSON with --json. */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "claim.h"
#include "synthetic.h"

#define MAX_LIST 16

/* --- options -------------------------------------------------------------- */

typedef struct params {
  unsigned workers[MAX_LIST];
  unsigned nworkers;
  uint64_t chunks[MAX_LIST];
  unsigned nchunks;
  uint64_t n, work, seed;
  double alpha, ns_per_iter;
  double dispatch_ns, local_ns, steal_ns, steal_numa_ns, steal_remote_ns;
  double spawn_ns;
  unsigned l3, numa;
  double target_ns;
  const char *only;   /* workloads, comma-separated, or NULL */
  const char *scheds; /* schedules, comma-separated, or NULL */
  const char *json;
} params;

static _Noreturn void die(int status, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static _Noreturn void die(int status, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fprintf(stderr, "bench_sim: ");
  vfprintf(stderr, fmt, ap);
  fputc('\n', stderr);
  va_end(ap);
  exit(status);
}

static void *xcalloc(size_t count, size_t size) {
  void *p = calloc(count ? count : 1, size);
  if (p == NULL)
    die(1, "out of memory");
  return p;
}

static void usage(FILE *out) {
  fprintf(out,
          "usage: bench_sim [--workers LIST] [--n N] [--work ITERS] "
          "[--ns-per-iter X]\n"
          "                 [--dispatch-ns X] [--local-ns X] [--spawn-ns X] "
          "[--steal-ns X]\n"
          "                 [--steal-numa-ns X] [--steal-remote-ns X] [--l3 K] "
          "[--numa K]\n"
          "                 [--target-us X] [--chunks LIST] "
          "[--workloads LIST]\n"
          "                 [--schedules LIST] [--seed S] [--json FILE]\n\n"
          "Simulates the library's own static, dynamic,k, guided, fac2, wf\n"
          "and auto, and a oneTBB-like auto partitioner, on the synthetic\n"
          "cost distributions and prints makespan / ideal. Defaults:\n"
          "workers 16,64,256,1024; n 2^20; work 1000 iterations of 1 ns;\n"
          "15 ns per shared-counter claim (claims queue on the counter);\n"
          "local claim 3 ns; spawning a task (tbb-like) 20 ns; steal 200 ns\n"
          "in an L3 group of 8, 400 ns in a NUMA node of 64, 800 ns beyond;\n"
          "auto: chunks that aim for 20 us; dynamic,k for k in 1,16,256.\n"
          "Workloads: uniform exponential pareto ramp_up ramp_down hot_band,\n"
          "each also +slow "
          "(worker 0 at half speed). --schedules: only these, by the names\n"
          "printed (e.g. auto,tbb-like,dynamic,16). --seed: the cost draws\n"
          "(exponential, pareto; default 42).\n");
}

static double parse_num(const char *opt, const char *text, double lo,
                        double hi) {
  char *end = NULL;
  errno = 0;
  double v = strtod(text, &end);
  if (errno || end == text || *end != '\0' || !(v >= lo && v <= hi))
    die(2, "%s: '%s' is not a number in [%g, %g]", opt, text, lo, hi);
  return v;
}

static unsigned parse_list(const char *opt, const char *text, uint64_t *out,
                           uint64_t lo, uint64_t hi) {
  char buf[512], *save = NULL;
  snprintf(buf, sizeof buf, "%s", text);
  unsigned count = 0;
  for (char *w = strtok_r(buf, ",", &save); w; w = strtok_r(NULL, ",", &save)) {
    if (count == MAX_LIST)
      die(2, "%s: more than %d entries", opt, MAX_LIST);
    out[count++] = (uint64_t)parse_num(opt, w, (double)lo, (double)hi);
  }
  if (count == 0)
    die(2, "%s: an empty list", opt);
  return count;
}

/* Every name in the --workloads list must be DIST or DIST+slow. */
static void check_workloads(const char *list) {
  char buf[1024], *save = NULL;
  if (list == NULL)
    return;
  snprintf(buf, sizeof buf, "%s", list);
  for (char *w = strtok_r(buf, ",", &save); w; w = strtok_r(NULL, ",", &save)) {
    char *plus = strchr(w, '+');
    int ok = plus == NULL || strcmp(plus, "+slow") == 0;
    if (plus != NULL)
      *plus = '\0';
    unsigned d = 0;
    while (d < SHARC_SYNTH_COUNT && strcmp(sharc_synthetic_dist_name(d), w))
      d++;
    if (!ok || d == SHARC_SYNTH_COUNT)
      die(2, "--workloads: no workload '%s%s' (see --help)", w,
          plus != NULL ? "+..." : "");
  }
}

static params parse_args(int argc, char **argv) {
  enum {
    O_WORKERS = 256,
    O_N,
    O_WORK,
    O_NSI,
    O_DISPATCH,
    O_LOCAL,
    O_STEAL,
    O_STEAL_NUMA,
    O_STEAL_REMOTE,
    O_L3,
    O_NUMA,
    O_TARGET,
    O_CHUNKS,
    O_ONLY,
    O_JSON,
    O_SEED,
    O_SPAWN,
    O_SCHEDS
  };
  static const struct option longs[] = {
      {"workers", required_argument, NULL, O_WORKERS},
      {"n", required_argument, NULL, O_N},
      {"work", required_argument, NULL, O_WORK},
      {"seed", required_argument, NULL, O_SEED},
      {"ns-per-iter", required_argument, NULL, O_NSI},
      {"dispatch-ns", required_argument, NULL, O_DISPATCH},
      {"local-ns", required_argument, NULL, O_LOCAL},
      {"spawn-ns", required_argument, NULL, O_SPAWN},
      {"steal-ns", required_argument, NULL, O_STEAL},
      {"steal-numa-ns", required_argument, NULL, O_STEAL_NUMA},
      {"steal-remote-ns", required_argument, NULL, O_STEAL_REMOTE},
      {"l3", required_argument, NULL, O_L3},
      {"numa", required_argument, NULL, O_NUMA},
      {"target-us", required_argument, NULL, O_TARGET},
      {"chunks", required_argument, NULL, O_CHUNKS},
      {"workloads", required_argument, NULL, O_ONLY},
      {"schedules", required_argument, NULL, O_SCHEDS},
      {"json", required_argument, NULL, O_JSON},
      {"help", no_argument, NULL, 'h'},
      {NULL, 0, NULL, 0}};
  params p = {.workers = {16, 64, 256, 1024},
              .nworkers = 4,
              .chunks = {1, 16, 256},
              .nchunks = 3,
              .n = UINT64_C(1) << 20,
              .work = 1000,
              .seed = 42,
              .alpha = 1.5,
              .ns_per_iter = 1.0,
              .dispatch_ns = 15,
              .local_ns = 3,
              .spawn_ns = 20,
              .steal_ns = 200,
              .steal_numa_ns = -1,
              .steal_remote_ns = -1,
              .l3 = 8,
              .numa = 64,
              .target_ns = SHARC_AUTO_TARGET_NS};
  uint64_t list[MAX_LIST];
  int c;
  while ((c = getopt_long(argc, argv, "h", longs, NULL)) != -1) {
    switch (c) {
    case O_WORKERS:
      p.nworkers = parse_list("--workers", optarg, list, 1, 1 << 20);
      for (unsigned i = 0; i < p.nworkers; i++)
        p.workers[i] = (unsigned)list[i];
      break;
    case O_N:
      p.n = (uint64_t)parse_num("--n", optarg, 1, 0x1p32);
      break;
    case O_WORK:
      p.work = (uint64_t)parse_num("--work", optarg, 1, 0x1p30);
      break;
    case O_SEED:
      p.seed = (uint64_t)parse_num("--seed", optarg, 0, 0x1p53);
      break;
    case O_NSI:
      p.ns_per_iter = parse_num("--ns-per-iter", optarg, 1e-3, 1e6);
      break;
    case O_DISPATCH:
      p.dispatch_ns = parse_num("--dispatch-ns", optarg, 0, 1e9);
      break;
    case O_LOCAL:
      p.local_ns = parse_num("--local-ns", optarg, 0, 1e9);
      break;
    case O_SPAWN:
      p.spawn_ns = parse_num("--spawn-ns", optarg, 0, 1e9);
      break;
    case O_STEAL:
      p.steal_ns = parse_num("--steal-ns", optarg, 0, 1e9);
      break;
    case O_STEAL_NUMA:
      p.steal_numa_ns = parse_num("--steal-numa-ns", optarg, 0, 1e9);
      break;
    case O_STEAL_REMOTE:
      p.steal_remote_ns = parse_num("--steal-remote-ns", optarg, 0, 1e9);
      break;
    case O_L3:
      p.l3 = (unsigned)parse_num("--l3", optarg, 1, 1 << 20);
      break;
    case O_NUMA:
      p.numa = (unsigned)parse_num("--numa", optarg, 1, 1 << 20);
      break;
    case O_TARGET:
      p.target_ns = 1000 * parse_num("--target-us", optarg, 1e-3, 1e9);
      break;
    case O_CHUNKS:
      p.nchunks = parse_list("--chunks", optarg, p.chunks, 1, 1 << 30);
      break;
    case O_ONLY:
      p.only = optarg;
      break;
    case O_SCHEDS:
      p.scheds = optarg;
      break;
    case O_JSON:
      p.json = optarg;
      break;
    case 'h':
      usage(stdout);
      exit(0);
    default:
      usage(stderr);
      exit(2);
    }
  }
  if (optind < argc) {
    usage(stderr);
    exit(2);
  }
  check_workloads(p.only);
  if (p.steal_numa_ns < 0)
    p.steal_numa_ns = 2 * p.steal_ns;
  if (p.steal_remote_ns < 0)
    p.steal_remote_ns = 4 * p.steal_ns;
  return p;
}

/* --- the work ------------------------------------------------------------- */

typedef struct work {
  const char *name;
  uint64_t n;
  double *prefix; /* prefix[i]: ns of indices [0, i) at full speed */
  double max_index_ns;
  int slow; /* worker 0 at half speed */
} work;

static double range_ns(const work *wk, uint64_t b, uint64_t e) {
  return wk->prefix[e] - wk->prefix[b];
}

/* --- the simulation ------------------------------------------------------- */

/* A schedule to simulate: one of the library's (kind, chunk), or the
 * tbb-like model. */
#define S_TBB UINT32_MAX

typedef struct sched {
  uint32_t kind;
  uint64_t k;
  char name[32];
} sched;

typedef struct sim {
  const params *p;
  const work *wk;
  unsigned W;
  double *speed;
  double counter_free; /* shared counter: when it can serve the next claim */
  uint64_t claims, steals;
  double search_ns;
  /* The library's shared words, in ordinary memory, and each worker's
   * claim state: the claims below are the library's own. */
  _Atomic uint64_t next;
  sharc__range *ranges;
  sharc__slot *slots;
  sharc_placement *place;
  sharc__claim *c;
  /* The span each worker's loop is timing (adaptive schedules). */
  double *t_span;
  uint64_t *span_units;
  unsigned *span_left;
} sim;

/* A min-heap of (time, worker): the next worker to look for work. */
typedef struct event {
  double t;
  unsigned w;
} event;

static int ev_less(const event *a, const event *b) {
  return a->t < b->t || (a->t == b->t && a->w < b->w);
}

static void heap_push(event *h, unsigned *len, event e) {
  unsigned i = (*len)++;
  while (i > 0) {
    unsigned parent = (i - 1) / 2;
    if (!ev_less(&e, &h[parent]))
      break;
    h[i] = h[parent];
    i = parent;
  }
  h[i] = e;
}

static event heap_pop(event *h, unsigned *len) {
  event top = h[0], last = h[--(*len)];
  unsigned i = 0;
  for (;;) {
    unsigned l = 2 * i + 1, m = i;
    const event *best = &last;
    if (l < *len && ev_less(&h[l], best)) {
      m = l;
      best = &h[l];
    }
    if (l + 1 < *len && ev_less(&h[l + 1], best))
      m = l + 1;
    if (m == i)
      break;
    h[i] = h[m];
    i = m;
  }
  if (*len > 0)
    h[i] = last;
  return top;
}

/* A claim on the shared counter asked for at time t: served after every
 * earlier claim, each holding the counter for dispatch_ns. Returns when the
 * claimer has its chunk. */
static double counter_claim(sim *s, double t) {
  double start = t > s->counter_free ? t : s->counter_free;
  s->counter_free = start + s->p->dispatch_ns;
  return s->counter_free;
}

/* The steal level of victim v for thief w: 0 same L3, 1 same NUMA, 2 other. */
static int level_of_p(const params *p, unsigned w, unsigned v) {
  if (w / p->l3 == v / p->l3)
    return 0;
  if (w / p->numa == v / p->numa)
    return 1;
  return 2;
}

/* What looking for a victim up to `level` costs: every level looked at is
 * paid for, found or not. */
static double search_cost(const params *p, int level) {
  const double cost[3] = {p->steal_ns, p->steal_numa_ns, p->steal_remote_ns};
  double spent = 0;
  for (int l = 0; l <= level; l++)
    spent += cost[l];
  return spent;
}

/* Worker w looks for work at time t: the library's claim, priced by what
 * it touched. Returns 0 when it is done; else the chunk [b, e) and, in *t,
 * when it starts running it. */
static int next_chunk(sim *s, unsigned w, double *t, uint64_t *b, uint64_t *e) {
  sharc__claim *c = &s->c[w];
  unsigned flags = sharc__sched_flags(c->kind);
  uint64_t steals = c->steals;
  int got = sharc__claim_next(c, b, e);
  s->claims++;
  /* Even the claim that finds nothing left pays for the counter. */
  if (flags & SHARC__SCHED_COUNTER)
    *t = counter_claim(s, *t);
  else
    *t += s->p->local_ns;
  if (c->steals != steals) {
    double spent = search_cost(s->p, level_of_p(s->p, w, (unsigned)c->victim));
    *t += spent;
    s->search_ns += spent;
    s->steals++;
  } else if (!got && (flags & SHARC__SCHED_STEALS)) {
    double spent = search_cost(s->p, 2); /* looked everywhere */
    *t += spent;
    s->search_ns += spent;
  }
  return got;
}

/* Worker w's chunk ended at t: what the worker's loop does for schedules
 * that time their chunks (a span of c->every chunks, claims included). */
static void chunk_ran(sim *s, unsigned w, double t) {
  sharc__claim *c = &s->c[w];
  if (!sharc__claim_adapts(c))
    return;
  s->span_units[w] += c->took;
  if (--s->span_left[w] != 0)
    return;
  double ns = t - s->t_span[w];
  sharc__claim_span(c, ns > 0 ? (uint64_t)(ns + 0.5) : 0, s->span_units[w]);
  s->t_span[w] = t;
  s->span_units[w] = 0;
  s->span_left[w] = c->every;
}

typedef struct outcome {
  double makespan, ideal;
  uint64_t claims, steals;
  double search_ns;
} outcome;

/* --- a oneTBB-like auto partitioner ------------------------------------- */

/* A simplified model of oneTBB's parallel_for with auto_partitioner
 * (include/oneapi/tbb/partitioner.h), with random work stealing:
 *  - the range starts on worker 0 and is halved, each right half spawned
 *    onto the splitter's deque, until 2W leaves (a divisor of 2W halved at
 *    every split);
 *  - a leaf runs its range through a pool of at most 8 pieces, split down to
 *    a depth of 5 below the leaf (1/32 of the leaf per body call),
 *    leftmost piece first; an offered piece keeps its depth and the limit;
 *  - while another worker is looking for work and its own deque is empty, a
 *    worker offers its pool's largest piece (spawns it) and may split one
 *    level deeper (the "demand" that TBB detects through a stolen sibling);
 *    a stolen task may also split one level deeper;
 *  - an idle worker steals the oldest task of a random victim, paying the
 *    steal cost of the victim's level (L3, NUMA, remote), found or not.
 * Spawning costs --spawn-ns, a body call --local-ns. Not modelled: TBB's
 * affinity, its exact demand test (a stolen sibling, not any idle worker),
 * the wait at the end of the loop. */

#define TBB_POOL 8
#define TBB_INIT_DEPTH 5

typedef struct tbb_task {
  uint64_t b, e, divisor;
  unsigned depth;     /* its depth below the leaf it came from */
  unsigned max_depth; /* the depth its pieces may reach */
  int stolen;
} tbb_task;

typedef struct tbb_piece {
  uint64_t b, e;
  unsigned depth;
} tbb_piece;

typedef struct tbb_worker {
  tbb_task *dq; /* deque: thieves take dq[head], the owner dq[tail - 1] */
  size_t head, tail, cap;
  tbb_piece pool[TBB_POOL]; /* pool[0] front (largest), pool[n-1] back */
  unsigned npool, max_depth;
  int searching;
  uint64_t rng;
} tbb_worker;

typedef struct tbb_sim {
  const params *p;
  const work *wk;
  unsigned W;
  tbb_worker *w;
  double *speed;
  uint64_t unclaimed; /* indices in deques and pools, not yet run */
  unsigned searching;
  uint64_t claims, steals;
  double search_ns, last_end;
} tbb_sim;

static void tbb_push(tbb_worker *w, tbb_task t) {
  if (w->tail == w->cap) {
    if (w->head > 0) { /* slide down before growing */
      memmove(w->dq, w->dq + w->head, (w->tail - w->head) * sizeof *w->dq);
      w->tail -= w->head;
      w->head = 0;
    }
    if (w->tail == w->cap) {
      w->cap = w->cap ? 2 * w->cap : 16;
      w->dq = realloc(w->dq, w->cap * sizeof *w->dq);
      if (w->dq == NULL)
        die(1, "out of memory");
    }
  }
  w->dq[w->tail++] = t;
}

static uint64_t tbb_rand(tbb_worker *w) {
  w->rng ^= w->rng << 13;
  w->rng ^= w->rng >> 7;
  w->rng ^= w->rng << 17;
  return w->rng;
}

/* Starts task t on worker me: the initial halving, then its piece pool. */
static double tbb_start(tbb_sim *s, unsigned me, tbb_task t) {
  tbb_worker *w = &s->w[me];
  double spent = 0;
  while (t.e - t.b > 1 && t.divisor > 1) {
    uint64_t mid = t.b + (t.e - t.b) / 2;
    t.divisor /= 2;
    tbb_push(w, (tbb_task){mid, t.e, t.divisor, t.depth, t.max_depth, 0});
    t.e = mid;
    spent += s->p->spawn_ns;
  }
  w->pool[0] = (tbb_piece){t.b, t.e, t.depth};
  w->npool = 1;
  /* a stolen task may split one level deeper (TBB: demand depth add) */
  w->max_depth = t.max_depth + (t.stolen ? 1 : 0);
  return spent;
}

/* Splits the back piece until the pool is full or at the depth limit. */
static void tbb_fill(tbb_worker *w) {
  while (w->npool < TBB_POOL) {
    tbb_piece *back = &w->pool[w->npool - 1];
    if (back->e - back->b < 2 || back->depth >= w->max_depth)
      return;
    uint64_t mid = back->b + (back->e - back->b) / 2;
    tbb_piece right = {mid, back->e, back->depth + 1};
    back->e = mid;
    back->depth++;
    /* the right half goes in front of the left, which stays the back */
    w->pool[w->npool] = *back;
    w->pool[w->npool - 1] = right;
    w->npool++;
  }
}

/* One step of worker me at time *t. Returns 0 when it is done for good. */
static int tbb_step(tbb_sim *s, unsigned me, double *t) {
  tbb_worker *w = &s->w[me];
  if (w->npool == 0 && w->tail > w->head) { /* own deque, newest first */
    *t += tbb_start(s, me, w->dq[--w->tail]);
    return 1;
  }
  if (w->npool == 0) { /* steal */
    if (s->unclaimed == 0)
      return 0;
    if (!w->searching) {
      w->searching = 1;
      s->searching++;
    }
    unsigned v = s->W > 1 ? (unsigned)(tbb_rand(w) % (s->W - 1)) : 0;
    v += v >= me; /* anyone but me */
    int level = s->W > 1 ? level_of_p(s->p, me, v) : 0;
    double cost = level == 0   ? s->p->steal_ns
                  : level == 1 ? s->p->steal_numa_ns
                               : s->p->steal_remote_ns;
    cost = cost > 1 ? cost : 1; /* time must pass between attempts */
    *t += cost;
    s->search_ns += cost;
    tbb_worker *vic = &s->w[v];
    if (s->W > 1 && vic->tail > vic->head) {
      tbb_task task = vic->dq[vic->head++];
      task.stolen = 1;
      s->steals++;
      w->searching = 0;
      s->searching--;
      *t += tbb_start(s, me, task);
    }
    return 1;
  }
  tbb_fill(w);
  /* Demand: someone looks for work and my deque has none to give. */
  if (s->searching > 0 && w->tail == w->head) {
    if (w->npool > 1) {
      tbb_piece front = w->pool[0];
      memmove(w->pool, w->pool + 1, (w->npool - 1) * sizeof *w->pool);
      w->npool--;
      tbb_push(w,
               (tbb_task){front.b, front.e, 1, front.depth, w->max_depth, 0});
      w->max_depth++;
      *t += s->p->spawn_ns;
      return 1;
    }
    if (w->pool[0].e - w->pool[0].b > 1) {
      w->max_depth = w->pool[0].depth + 1;
      return 1; /* split it further on the next step */
    }
  }
  tbb_piece run = w->pool[--w->npool];
  double ns = range_ns(s->wk, run.b, run.e) / s->speed[me];
  *t += s->p->local_ns + ns;
  s->unclaimed -= run.e - run.b;
  s->claims++;
  s->last_end = *t > s->last_end ? *t : s->last_end;
  return 1;
}

static outcome simulate_tbb(const params *p, const work *wk, unsigned W) {
  tbb_sim s = {.p = p, .wk = wk, .W = W, .unclaimed = wk->n};
  s.w = xcalloc(W, sizeof *s.w);
  s.speed = xcalloc(W, sizeof *s.speed);
  double speed_sum = 0;
  for (unsigned i = 0; i < W; i++) {
    s.speed[i] = wk->slow && i == 0 ? 0.5 : 1.0;
    speed_sum += s.speed[i];
    s.w[i].rng = 0x9e3779b97f4a7c15ull ^ ((uint64_t)i * 0xbf58476d1ce4e5b9ull);
    if (s.w[i].rng == 0)
      s.w[i].rng = 1;
  }
  tbb_push(&s.w[0],
           (tbb_task){0, wk->n, 2 * (uint64_t)W, 0, TBB_INIT_DEPTH, 0});
  event *heap = xcalloc(W, sizeof *heap);
  unsigned len = 0;
  for (unsigned i = 0; i < W; i++)
    heap_push(heap, &len, (event){0.0, i});
  while (len > 0) {
    event ev = heap_pop(heap, &len);
    double t = ev.t;
    if (tbb_step(&s, ev.w, &t))
      heap_push(heap, &len, (event){t, ev.w});
  }
  if (s.unclaimed != 0)
    die(1, "tbb-like model: %" PRIu64 " indices never ran", s.unclaimed);
  outcome o = {s.last_end, 0, s.claims, s.steals, s.search_ns};
  double fair = wk->prefix[wk->n] / speed_sum;
  o.ideal = fair > wk->max_index_ns ? fair : wk->max_index_ns;
  for (unsigned i = 0; i < W; i++)
    free(s.w[i].dq);
  free(s.w);
  free(s.speed);
  free(heap);
  return o;
}

static void *xaligned(size_t count, size_t size) {
  size_t bytes = (count ? count : 1) * size;
  bytes = (bytes + SHARC__PAD - 1) / SHARC__PAD * SHARC__PAD;
  void *q = aligned_alloc(SHARC__PAD, bytes);
  if (q == NULL)
    die(1, "out of memory");
  memset(q, 0, bytes);
  return q;
}

static outcome simulate(const params *p, const work *wk, const sched *sc,
                        unsigned W) {
  if (sc->kind == S_TBB)
    return simulate_tbb(p, wk, W);
  sim s = {.p = p, .wk = wk, .W = W};
  s.speed = xcalloc(W, sizeof *s.speed);
  s.ranges = xaligned(W, sizeof *s.ranges);
  s.slots = xaligned(W, sizeof *s.slots);
  s.place = xcalloc(W, sizeof *s.place);
  s.c = xcalloc(W, sizeof *s.c);
  s.t_span = xcalloc(W, sizeof *s.t_span);
  s.span_units = xcalloc(W, sizeof *s.span_units);
  s.span_left = xcalloc(W, sizeof *s.span_left);
  double speed_sum = 0;
  for (unsigned i = 0; i < W; i++) {
    s.speed[i] = wk->slow && i == 0 ? 0.5 : 1.0;
    speed_sum += s.speed[i];
    s.place[i] = (sharc_placement){i, (int)i, (int)i, (int)(i / p->numa),
                                   (int)(i / p->l3)};
  }
  sharc__sched_post(sc->kind, s.ranges, s.slots, W, wk->n);
  sharc__claim_ctx ctx = {
      .next = &s.next, .ranges = s.ranges, .slots = s.slots, .place = s.place};
  for (unsigned i = 0; i < W; i++) {
    sharc__claim_init(&s.c[i], sc->kind, wk->n, sc->k, i, W, &ctx);
    if (s.c[i].target_ns > 0)
      s.c[i].target_ns = p->target_ns;
    s.span_left[i] = 1;
  }
  event *heap = xcalloc(W, sizeof *heap);
  unsigned len = 0;
  for (unsigned i = 0; i < W; i++)
    heap_push(heap, &len, (event){0.0, i});
  double makespan = 0;
  uint64_t ran = 0;
  while (len > 0) {
    event ev = heap_pop(heap, &len);
    double t = ev.t;
    uint64_t b, e;
    if (!next_chunk(&s, ev.w, &t, &b, &e)) {
      makespan = t > makespan ? t : makespan;
      continue;
    }
    t += range_ns(wk, b, e) / s.speed[ev.w];
    ran += e - b;
    chunk_ran(&s, ev.w, t);
    heap_push(heap, &len, (event){t, ev.w});
  }
  if (ran != wk->n)
    die(1, "%s: %" PRIu64 " indices ran, not %" PRIu64, sc->name, ran, wk->n);
  outcome o = {makespan, 0, s.claims, s.steals, s.search_ns};
  double fair = wk->prefix[wk->n] / speed_sum;
  o.ideal = fair > wk->max_index_ns ? fair : wk->max_index_ns;
  free(heap);
  free(s.speed);
  free(s.ranges);
  free(s.slots);
  free(s.place);
  free(s.c);
  free(s.t_span);
  free(s.span_units);
  free(s.span_left);
  return o;
}

/* --- main ----------------------------------------------------------------- */

/* Whether name is in the comma-separated list (NULL: every name is). */
static int selected(const char *list, const char *name) {
  if (list == NULL)
    return 1;
  size_t len = strlen(name);
  for (const char *q = list; (q = strstr(q, name)) != NULL; q += len)
    if ((q == list || q[-1] == ',') && (q[len] == '\0' || q[len] == ','))
      return 1;
  return 0;
}

static void make_work(const params *p, unsigned dist, int slow, work *wk,
                      char *name, size_t len) {
  sharc_synthetic_args a;
  memset(&a, 0, sizeof a);
  a.n = p->n;
  a.dist = dist;
  a.work = p->work;
  a.alpha = p->alpha;
  a.seed = p->seed;
  a.slow = SHARC_SYNTHETIC_NO_SLOW;
  snprintf(name, len, "%s%s", sharc_synthetic_dist_name(dist),
           slow ? "+slow" : "");
  wk->name = name;
  wk->n = p->n;
  wk->slow = slow;
  wk->prefix = xcalloc(p->n + 1, sizeof *wk->prefix);
  wk->max_index_ns = 0;
  double sum = 0;
  for (uint64_t i = 0; i < p->n; i++) {
    double ns = (double)sharc_synthetic_cost(&a, i) * p->ns_per_iter;
    sum += ns;
    wk->prefix[i + 1] = sum;
    wk->max_index_ns = ns > wk->max_index_ns ? ns : wk->max_index_ns;
  }
}

static unsigned make_scheds(const params *p, sched *out) {
  unsigned count = 0;
  out[count++] = (sched){SHARC_SCHED_STATIC, 0, "static"};
  for (unsigned i = 0; i < p->nchunks; i++) {
    out[count] = (sched){SHARC_SCHED_DYNAMIC, p->chunks[i], ""};
    snprintf(out[count].name, sizeof out[count].name, "dynamic,%" PRIu64,
             p->chunks[i]);
    count++;
  }
  out[count++] = (sched){SHARC_SCHED_GUIDED, 1, "guided"};
  out[count++] = (sched){SHARC_SCHED_FAC2, 1, "fac2"};
  out[count++] = (sched){SHARC_SCHED_WF, 1, "wf"};
  out[count++] = (sched){SHARC_SCHED_AUTO, 1, "auto"};
  out[count++] = (sched){S_TBB, 0, "tbb-like"};
  return count;
}

static void json_params(FILE *f, const params *p) {
  fprintf(f,
          "{\"model\":\"bench_sim\",\"n\":%" PRIu64 ",\"work\":%" PRIu64
          ",\"seed\":%" PRIu64 ",\"alpha\":%g,\"ns_per_iter\":%g"
          ",\"dispatch_ns\":%g,\"local_ns\":%g,\"spawn_ns\":%g,\"steal_ns\":%g"
          ",\"steal_numa_ns\":%g,\"steal_remote_ns\":%g,\"l3\":%u,\"numa\":%u"
          ",\"target_ns\":%g,\"results\":[",
          p->n, p->work, p->seed, p->alpha, p->ns_per_iter, p->dispatch_ns,
          p->local_ns, p->spawn_ns, p->steal_ns, p->steal_numa_ns,
          p->steal_remote_ns, p->l3, p->numa, p->target_ns);
}

int main(int argc, char **argv) {
  params p = parse_args(argc, argv);
  sched scheds[MAX_LIST + 8];
  unsigned ns = make_scheds(&p, scheds);
  FILE *json = NULL;
  if (p.json && (json = fopen(p.json, "w")) == NULL)
    die(1, "cannot write %s: %s", p.json, strerror(errno));
  if (json)
    json_params(json, &p);
  printf("makespan / ideal (1.000 = perfect); n %" PRIu64 ", mean %" PRIu64
         " iterations x %g ns; claims: shared %g ns, local %g ns; steals "
         "%g/%g/%g ns (L3 %u, NUMA %u); auto: target %g us\n",
         p.n, p.work, p.ns_per_iter, p.dispatch_ns, p.local_ns, p.steal_ns,
         p.steal_numa_ns, p.steal_remote_ns, p.l3, p.numa, p.target_ns / 1000);
  int first = 1;
  for (int slow = 0; slow < 2; slow++) {
    for (unsigned d = 0; d < SHARC_SYNTH_COUNT; d++) {
      char name[64];
      work wk;
      make_work(&p, d, slow, &wk, name, sizeof name);
      if (!selected(p.only, name)) {
        free(wk.prefix);
        continue;
      }
      printf("\n%-16s", name);
      for (unsigned i = 0; i < p.nworkers; i++)
        printf(" %9s%-5u", "W=", p.workers[i]);
      printf("\n");
      for (unsigned si = 0; si < ns; si++) {
        if (!selected(p.scheds, scheds[si].name))
          continue;
        printf("  %-14s", scheds[si].name);
        for (unsigned i = 0; i < p.nworkers; i++) {
          outcome o = simulate(&p, &wk, &scheds[si], p.workers[i]);
          printf(" %14.3f", o.makespan / o.ideal);
          if (json)
            fprintf(json,
                    "%s\n{\"workload\":\"%s\",\"schedule\":\"%s\","
                    "\"workers\":%u,\"makespan_ns\":%.1f,\"ideal_ns\":%.1f,"
                    "\"ratio\":%.6f,\"claims\":%" PRIu64 ",\"steals\":%" PRIu64
                    ",\"search_ns\":%.1f}",
                    first ? "" : ",", name, scheds[si].name, p.workers[i],
                    o.makespan, o.ideal, o.makespan / o.ideal, o.claims,
                    o.steals, o.search_ns);
          first = 0;
        }
        printf("\n");
        fflush(stdout);
      }
      free(wk.prefix);
    }
  }
  if (json) {
    fprintf(json, "]}\n");
    if (fclose(json) != 0)
      die(1, "cannot write %s: %s", p.json, strerror(errno));
  }
  return 0;
}
