/* bench_sched: the scheduling suite. Every workload runs, in one process and
 * interleaved repeat by repeat, under
 *   sharc          each schedule of a list given as text and parsed with
 *                  sharc_schedule_parse() at run time (one the library
 *                  rejects is skipped with a note), dynamic:K for a sweep
 *   OpenMP         static, dynamic,1, dynamic,K for the same sweep, guided
 *   oneTBB         parallel_for, auto_partitioner (when built with oneTBB)
 *   sequential     one loop over [0, n) on one thread
 * all calling the same per-range code (kernels/ranges.h). The results go to
 * a JSON file that bench/sched_report.py turns into the table and the plot;
 * bench/sched_py.py adds Python multiprocessing rows from the same file.
 *
 * Workloads: the synthetic kernel with each cost distribution, each also
 * with one worker at half speed (the kernel's `slow` worker: OpenMP thread
 * or TBB slot `slow` runs every index twice, as sharc worker `slow` does);
 * Mandelbrot by rows and by pixels; the STREAM triad over large arrays. */
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <omp.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sharc.h>

#define BENCH_NAME "bench_sched"
#include "bench_util.h"

#include "sched_work.h"

#define DEFAULT_REPEATS 5u
#define MAX_REPEATS 1000u
#define MAX_SCHEDS 32u
#define MAX_CHUNKS 16u
/* Between runs the harness waits until no other thread of this process and
 * no sharc worker is on a CPU (idle runtimes spin a while before they
 * sleep), looking every SETTLE_NAP_NS, for at most SETTLE_MAX_NS. */
#define SETTLE_NAP_NS 2000000L
#define SETTLE_MAX_NS 1000000000L

static const char default_schedules[] =
    "auto,fac2,wf,static,dynamic:1,dynamic:K,guided";
static const char default_chunks[] = "4,16,64,256";

/* --- workloads ------------------------------------------------------------ */

typedef struct workload_spec {
  const char *name;
  sched_work_kind kind;
  unsigned dist; /* synthetic */
  int slow;      /* synthetic: worker 0 at half speed */
} workload_spec;

static const workload_spec all_workloads[] = {
    {"uniform", SCHED_WORK_SYNTHETIC, SHARC_SYNTH_UNIFORM, 0},
    {"exponential", SCHED_WORK_SYNTHETIC, SHARC_SYNTH_EXPONENTIAL, 0},
    {"pareto", SCHED_WORK_SYNTHETIC, SHARC_SYNTH_PARETO, 0},
    {"ramp_up", SCHED_WORK_SYNTHETIC, SHARC_SYNTH_RAMP_UP, 0},
    {"ramp_down", SCHED_WORK_SYNTHETIC, SHARC_SYNTH_RAMP_DOWN, 0},
    {"hot_band", SCHED_WORK_SYNTHETIC, SHARC_SYNTH_HOT_BAND, 0},
    {"uniform+slow", SCHED_WORK_SYNTHETIC, SHARC_SYNTH_UNIFORM, 1},
    {"exponential+slow", SCHED_WORK_SYNTHETIC, SHARC_SYNTH_EXPONENTIAL, 1},
    {"pareto+slow", SCHED_WORK_SYNTHETIC, SHARC_SYNTH_PARETO, 1},
    {"ramp_up+slow", SCHED_WORK_SYNTHETIC, SHARC_SYNTH_RAMP_UP, 1},
    {"ramp_down+slow", SCHED_WORK_SYNTHETIC, SHARC_SYNTH_RAMP_DOWN, 1},
    {"hot_band+slow", SCHED_WORK_SYNTHETIC, SHARC_SYNTH_HOT_BAND, 1},
    {"mandel_rows", SCHED_WORK_MANDEL_ROWS, 0, 0},
    {"mandel_pixels", SCHED_WORK_MANDEL_PIXELS, 0, 0},
    {"triad", SCHED_WORK_TRIAD, 0, 0},
};
#define NWORKLOADS (sizeof all_workloads / sizeof all_workloads[0])

/* Sizes. Full: the whole suite takes a few minutes on 2 cores; quick: a
 * few seconds of measurement. */
typedef struct sizes {
  uint64_t synth_n, synth_work;
  uint64_t mandel_side, mandel_maxiter;
  uint64_t triad_n;
} sizes;

static const sizes full_sizes = {UINT64_C(1) << 16, 1000, 512, 1000,
                                 UINT64_C(1) << 24};
static const sizes quick_sizes = {UINT64_C(1) << 13, 1000, 160, 1000,
                                  UINT64_C(1) << 21};

/* --- options -------------------------------------------------------------- */

typedef struct args {
  unsigned workers;
  unsigned repeats;
  int quick;
  const char *schedules;
  const char *chunks;
  const char *only; /* comma-separated workload names, or NULL: all */
  const char *json;
} args;

static _Noreturn void die(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));
static _Noreturn void die(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fprintf(stderr, "bench_sched: ");
  vfprintf(stderr, fmt, ap);
  fputc('\n', stderr);
  va_end(ap);
  exit(1);
}

static void *xcalloc(size_t count, size_t size) {
  void *p = calloc(count ? count : 1, size);
  if (p == NULL)
    die("out of memory");
  return p;
}

static void usage(FILE *out) {
  fprintf(out,
          "usage: bench_sched [--workers W] [--repeats R] [--quick]\n"
          "                   [--schedules LIST] [--chunks LIST] "
          "[--workloads LIST] [--json FILE]\n\n"
          "Runs the scheduling suite: every workload under each sharc "
          "schedule, OpenMP\n"
          "static / dynamic,1 / dynamic,K / guided, oneTBB auto_partitioner "
          "and the\n"
          "sequential loop, interleaved, R times (default %u). W workers and "
          "as many\n"
          "threads on the same PUs (default: every usable PU).\n\n"
          "  --schedules LIST  sharc schedules, parsed by sharc_schedule_parse;"
          " the\n"
          "                    word dynamic:K stands for the --chunks sweep\n"
          "                    (default %s)\n"
          "  --chunks LIST     K for dynamic:K, sharc and OpenMP (default %s)\n"
          "  --workloads LIST  run only these (default: all)\n"
          "  --quick           small sizes, for checking the harness\n"
          "  --json FILE       write every sample (bench/sched_report.py reads "
          "it)\n\n"
          "workloads:",
          DEFAULT_REPEATS, default_schedules, default_chunks);
  for (size_t i = 0; i < NWORKLOADS; i++)
    fprintf(out, " %s", all_workloads[i].name);
  fputc('\n', out);
}

/* Every name in the --workloads list must be one of the suite's. */
static void check_workloads(const char *list) {
  char buf[1024], *save = NULL;
  if (list == NULL)
    return;
  snprintf(buf, sizeof buf, "%s", list);
  for (char *w = strtok_r(buf, ",", &save); w; w = strtok_r(NULL, ",", &save)) {
    size_t i = 0;
    while (i < NWORKLOADS && strcmp(all_workloads[i].name, w) != 0)
      i++;
    if (i == NWORKLOADS) {
      fprintf(stderr,
              "bench_sched: --workloads: no workload '%s' (see --help)\n", w);
      exit(2);
    }
  }
}

static args parse_args(int argc, char **argv) {
  static const struct option longs[] = {
      {"workers", required_argument, NULL, 'w'},
      {"repeats", required_argument, NULL, 'r'},
      {"quick", no_argument, NULL, 'q'},
      {"schedules", required_argument, NULL, 's'},
      {"chunks", required_argument, NULL, 'k'},
      {"workloads", required_argument, NULL, 'l'},
      {"json", required_argument, NULL, 'o'},
      {"help", no_argument, NULL, 'h'},
      {NULL, 0, NULL, 0}};
  args a = {0,   DEFAULT_REPEATS, 0, default_schedules, default_chunks, NULL,
            NULL};
  int c;
  while ((c = getopt_long(argc, argv, "", longs, NULL)) != -1) {
    switch (c) {
    case 'w':
      a.workers = (unsigned)bench_parse_u64("--workers", optarg, 1, 4096);
      break;
    case 'r':
      a.repeats = (unsigned)bench_parse_u64("--repeats", optarg, 1, MAX_REPEATS);
      break;
    case 'q':
      a.quick = 1;
      break;
    case 's':
      a.schedules = optarg;
      break;
    case 'k':
      a.chunks = optarg;
      break;
    case 'l':
      a.only = optarg;
      break;
    case 'o':
      a.json = optarg;
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
  check_workloads(a.only);
  return a;
}

/* Splits a comma-separated list in place into at most max words. */
static unsigned split_list(char *text, char **words, unsigned max,
                           const char *what) {
  unsigned count = 0;
  for (char *save = NULL, *w = strtok_r(text, ",", &save); w != NULL;
       w = strtok_r(NULL, ",", &save)) {
    if (count == max)
      die("%s: more than %u entries", what, max);
    words[count++] = w;
  }
  return count;
}

/* --- runs: one row of the results per runtime and schedule ---------------- */

typedef enum { RT_SHARC, RT_OPENMP, RT_TBB, RT_SEQ } runtime;
static const char *const runtime_names[] = {"sharc", "openmp", "tbb",
                                            "sequential"};

typedef struct variant {
  runtime rt;
  char label[48];       /* as the table shows it: "dynamic:64" */
  sharc_schedule sched; /* RT_SHARC */
  omp_sched_t omp_kind; /* RT_OPENMP */
  int omp_chunk;        /* RT_OPENMP */
  uint64_t sweep_chunk; /* K when part of the dynamic:K sweep, else 0 */
} variant;

typedef struct samples {
  double *makespan;  /* per repeat, seconds */
  double *imbalance; /* per repeat, percent: (max - mean) / max of busy */
} samples;

typedef struct bench {
  args a;
  sizes sz;
  sharc_pool *pool;
  unsigned w;
  int *pus;
  cpu_set_t free_set;   /* the process's own affinity: sharc's coordinator */
  cpu_set_t master_set; /* the PU of OpenMP's master thread */
  variant vars[MAX_SCHEDS + 2 * MAX_CHUNKS + 8];
  unsigned nvars;
  char notes[MAX_SCHEDS][160];
  unsigned nnotes;
  double *busy; /* scratch, one per worker */
} bench;

static void add_variant(bench *b, variant v) {
  if (b->nvars == sizeof b->vars / sizeof b->vars[0])
    die("too many schedules");
  b->vars[b->nvars++] = v;
}

static void add_sharc(bench *b, const char *text, uint64_t sweep) {
  variant v = {.rt = RT_SHARC, .sweep_chunk = sweep};
  if (sharc_schedule_parse(text, &v.sched) != 0) {
    if (b->nnotes < MAX_SCHEDS)
      snprintf(b->notes[b->nnotes++], sizeof b->notes[0],
               "sharc schedule '%s' skipped: this library rejects it", text);
    fprintf(stderr,
            "bench_sched: note: sharc schedule '%s' skipped: "
            "sharc_schedule_parse rejects it\n",
            text);
    return;
  }
  snprintf(v.label, sizeof v.label, "%s", text);
  add_variant(b, v);
}

static void add_omp(bench *b, const char *label, omp_sched_t kind, int chunk,
                    uint64_t sweep) {
  variant v = {.rt = RT_OPENMP,
               .omp_kind = kind,
               .omp_chunk = chunk,
               .sweep_chunk = sweep};
  snprintf(v.label, sizeof v.label, "%s", label);
  add_variant(b, v);
}

static void make_variants(bench *b) {
  char chunk_text[256], sched_text[512], *chunks[MAX_CHUNKS],
      *scheds[MAX_SCHEDS];
  snprintf(chunk_text, sizeof chunk_text, "%s", b->a.chunks);
  snprintf(sched_text, sizeof sched_text, "%s", b->a.schedules);
  unsigned nk = split_list(chunk_text, chunks, MAX_CHUNKS, "--chunks");
  unsigned ns = split_list(sched_text, scheds, MAX_SCHEDS, "--schedules");
  uint64_t ks[MAX_CHUNKS];
  for (unsigned i = 0; i < nk; i++)
    ks[i] = bench_parse_u64("--chunks", chunks[i], 1, 1u << 30);
  for (unsigned i = 0; i < ns; i++) {
    if (strcmp(scheds[i], "dynamic:K") != 0) {
      add_sharc(b, scheds[i], 0);
      continue;
    }
    for (unsigned k = 0; k < nk; k++) {
      char text[48];
      snprintf(text, sizeof text, "dynamic:%" PRIu64, ks[k]);
      add_sharc(b, text, ks[k]);
    }
  }
  add_omp(b, "static", omp_sched_static, 0, 0);
  add_omp(b, "dynamic,1", omp_sched_dynamic, 1, 0);
  for (unsigned k = 0; k < nk; k++) {
    char text[48];
    snprintf(text, sizeof text, "dynamic,%" PRIu64, ks[k]);
    add_omp(b, text, omp_sched_dynamic, (int)ks[k], ks[k]);
  }
  add_omp(b, "guided", omp_sched_guided, 1, 0);
  if (sched_tbb_available()) {
    variant v = {.rt = RT_TBB};
    snprintf(v.label, sizeof v.label, "auto_partitioner");
    add_variant(b, v);
  }
  variant seq = {.rt = RT_SEQ};
  snprintf(seq.label, sizeof seq.label, "loop");
  add_variant(b, seq);
}

/* --- placement and quiet -------------------------------------------------- */

/* Before each run: the calling thread placed as each runtime's users get it
 * (sharc's coordinator unpinned; OpenMP's master and TBB's caller work, so
 * they sit on worker 0's PU), then quiet CPUs. */
static void enter_phase(const bench *b, runtime rt) {
  bench_set_affinity(rt == RT_SHARC ? &b->free_set : &b->master_set);
  struct timespec nap = {0, SETTLE_NAP_NS};
  long waited = 0;
  do {
    nanosleep(&nap, NULL);
    waited += SETTLE_NAP_NS;
  } while (bench_others_running(b->pool) && waited < SETTLE_MAX_NS);
}

/* --- one workload's data -------------------------------------------------- */

/* A sharc kernel for Mandelbrot by pixel, written as a user would: the same
 * per-range code as the built-in row kernel, one pixel per index. */
static int mandel_pixels_kernel(const sharc_task *t, uint64_t begin,
                                uint64_t end) {
  size_t len = 0;
  const void *p = sharc_task_args(t, &len);
  sharc_mandelbrot_args a;
  uint32_t *image = sharc_task_array(t, 0);
  if (p == NULL || len != sizeof a || image == NULL)
    return SHARC_EINVAL;
  memcpy(&a, p, sizeof a);
  if (end > sharc_task_array_size(t, 0))
    return SHARC_EINVAL;
  sharc_mandelbrot_pixels(a.width, a.height, (uint32_t)a.maxiter, image, begin,
                          end);
  return 0;
}
SHARC_KERNEL_NAMED("bench_mandelbrot_pixels", mandel_pixels_kernel)

typedef struct loaded {
  const workload_spec *spec;
  sched_work work;
  const char *kernel;
  sharc_job_opts o;
  sharc_array *arrays[3];
  unsigned narrays;
  char params[160]; /* synthetic: the kernel's parameter text */
  uint64_t total;   /* synthetic: total iterations */
  uint64_t max_cost;
  void *result;      /* the array the kernel writes: out, image or a */
  size_t result_len; /* its bytes */
  void *expected;    /* what the sequential loop wrote there */
} loaded;

static sharc_array *make_array(bench *b, loaded *l, sharc_dtype dt, int ndim,
                               const uint64_t *shape) {
  sharc_array *arr = NULL;
  int rc = sharc_array_create(b->pool, dt, ndim, shape, NULL, &arr);
  if (rc != 0)
    die("cannot create an array: %s: %s", sharc_strerror(rc),
        sharc_pool_errmsg(b->pool));
  if (l->narrays >= sizeof l->arrays / sizeof l->arrays[0])
    die("too many arrays");
  l->arrays[l->narrays++] = arr;
  l->o.arrays = l->arrays;
  l->o.narrays = l->narrays;
  return arr;
}

static void load_synthetic(bench *b, loaded *l) {
  char msg[256];
  snprintf(l->params, sizeof l->params, "dist=%s,work=%" PRIu64 ",slow=%s",
           sharc_synthetic_dist_name(l->spec->dist), b->sz.synth_work,
           l->spec->slow ? "0" : "none");
  uint64_t n = b->sz.synth_n;
  if (sharc_synthetic_args_parse(l->params, n, &l->work.syn, msg, sizeof msg))
    die("%s", msg);
  l->work.out = sharc_array_data(make_array(b, l, SHARC_F64, 1, &n));
  l->work.n = n;
  l->kernel = "synthetic";
  l->o.args = &l->work.syn;
  l->o.args_len = sizeof l->work.syn;
  for (uint64_t i = 0; i < n; i++) {
    uint64_t c = sharc_synthetic_cost(&l->work.syn, i);
    l->total += c;
    l->max_cost = c > l->max_cost ? c : l->max_cost;
  }
}

static void load_mandel(bench *b, loaded *l, int pixels) {
  uint64_t side = b->sz.mandel_side;
  l->work.man = (sharc_mandelbrot_args){side, b->sz.mandel_maxiter, side};
  const uint64_t shape[2] = {side, side};
  l->work.image = sharc_array_data(make_array(b, l, SHARC_U32, 2, shape));
  l->work.n = pixels ? side * side : side;
  l->kernel = pixels ? "bench_mandelbrot_pixels" : "mandelbrot";
  l->o.args = &l->work.man;
  l->o.args_len = sizeof l->work.man;
}

static void load_triad(bench *b, loaded *l) {
  uint64_t n = b->sz.triad_n;
  l->work.triad.scalar = 3.0;
  l->work.a = sharc_array_data(make_array(b, l, SHARC_F64, 1, &n));
  double *bb = sharc_array_data(make_array(b, l, SHARC_F64, 1, &n));
  double *cc = sharc_array_data(make_array(b, l, SHARC_F64, 1, &n));
  for (uint64_t i = 0; i < n; i++) {
    bb[i] = 1.0 + (double)(i % 7);
    cc[i] = 2.0 + (double)(i % 5);
  }
  l->work.b = bb;
  l->work.c = cc;
  l->work.n = n;
  l->kernel = "triad";
  l->o.args = &l->work.triad;
  l->o.args_len = sizeof l->work.triad;
}

static void load(bench *b, const workload_spec *spec, loaded *l) {
  memset(l, 0, sizeof *l);
  l->spec = spec;
  l->work.kind = spec->kind;
  sharc_job_opts init = SHARC_JOB_OPTS_INIT;
  l->o = init;
  l->o.measure_rusage = 0;
  switch (spec->kind) {
  case SCHED_WORK_SYNTHETIC:
    load_synthetic(b, l);
    break;
  case SCHED_WORK_MANDEL_ROWS:
  case SCHED_WORK_MANDEL_PIXELS:
    load_mandel(b, l, spec->kind == SCHED_WORK_MANDEL_PIXELS);
    break;
  case SCHED_WORK_TRIAD:
    load_triad(b, l);
    break;
  }
}

static void unload(loaded *l) {
  for (unsigned i = 0; i < l->narrays; i++)
    sharc_array_destroy(l->arrays[i]);
  free(l->expected);
}

/* The result array and what it must hold: the sequential loop's output. */
static void make_expected(loaded *l) {
  const sched_work *w = &l->work;
  switch (w->kind) {
  case SCHED_WORK_SYNTHETIC:
    l->result = w->out;
    l->result_len = w->n * sizeof *w->out;
    break;
  case SCHED_WORK_MANDEL_ROWS:
  case SCHED_WORK_MANDEL_PIXELS:
    l->result = w->image;
    l->result_len = w->man.width * w->man.height * sizeof *w->image;
    break;
  case SCHED_WORK_TRIAD:
    l->result = w->a;
    l->result_len = w->n * sizeof *w->a;
    break;
  }
  sched_work_range(w, 0, w->n, SCHED_NOT_SLOW);
  l->expected = xcalloc(1, l->result_len);
  memcpy(l->expected, l->result, l->result_len);
}

/* --- the runs ------------------------------------------------------------- */

/* (max - mean) / max of per-worker busy time, in percent. */
static double imbalance_pct(const double *busy, unsigned w) {
  double max = 0, sum = 0;
  for (unsigned i = 0; i < w; i++) {
    sum += busy[i];
    max = busy[i] > max ? busy[i] : max;
  }
  return max > 0 ? (max - sum / w) / max * 100.0 : 0.0;
}

static double run_sharc(bench *b, loaded *l, const variant *v) {
  l->o.schedule = v->sched;
  sharc_report rep = SHARC_REPORT_INIT;
  double t0 = bench_now_s();
  int rc = sharc_run(b->pool, l->kernel, l->work.n, &l->o, &rep);
  double wall = bench_now_s() - t0;
  if (rc != 0)
    die("%s, sharc %s: %s: %s", l->spec->name, v->label, sharc_strerror(rc),
        sharc_pool_errmsg(b->pool));
  for (unsigned w = 0; w < b->w && w < rep.nworkers; w++)
    b->busy[w] = rep.workers[w].busy_s + rep.workers[w].dispatch_s;
  sharc_report_free(&rep);
  return wall;
}

/* One index at a time through schedule(runtime): the runtime cuts and hands
 * out the chunks exactly as it would for a compiled-in schedule; the range
 * code is inlined, so an index costs no call. Busy time of a thread: from
 * the region's start until it left the loop. */
#define OMP_LOOP(BODY)                                                         \
  do {                                                                         \
    _Pragma("omp parallel") {                                                  \
      uint64_t tid = (uint64_t)omp_get_thread_num();                           \
      _Pragma("omp for schedule(runtime) nowait") for (uint64_t i = 0; i < n;  \
                                                       i++) {                  \
        BODY;                                                                  \
      }                                                                        \
      finish[tid] = bench_now_s() - t0;                                              \
    }                                                                          \
  } while (0)

static double run_omp(bench *b, loaded *l, const variant *v) {
  omp_set_schedule(v->omp_kind, v->omp_chunk);
  const sched_work *w = &l->work;
  const uint64_t n = w->n;
  double *finish = b->busy;
  double t0 = bench_now_s();
  switch (w->kind) {
  case SCHED_WORK_SYNTHETIC:
    OMP_LOOP(sharc_synthetic_range(&w->syn, w->out, i, i + 1, tid));
    break;
  case SCHED_WORK_MANDEL_ROWS:
    OMP_LOOP(sharc_mandelbrot_rows(w->man.width, w->man.height,
                                   (uint32_t)w->man.maxiter, w->image, i,
                                   i + 1);
             (void)tid);
    break;
  case SCHED_WORK_MANDEL_PIXELS:
    OMP_LOOP(sharc_mandelbrot_pixels(w->man.width, w->man.height,
                                     (uint32_t)w->man.maxiter, w->image, i,
                                     i + 1);
             (void)tid);
    break;
  case SCHED_WORK_TRIAD:
    OMP_LOOP(w->a[i] = sharc_triad_at(w->b[i], w->c[i], w->triad.scalar);
             (void)tid);
    break;
  }
  return bench_now_s() - t0;
}

static double run_tbb(bench *b, loaded *l) {
  double makespan = 0;
  if (sched_tbb_run(&l->work, &makespan, b->busy) != 0)
    die("oneTBB run failed");
  return makespan;
}

static double run_seq(bench *b, loaded *l) {
  double t0 = bench_now_s();
  sched_work_range(&l->work, 0, l->work.n, SCHED_NOT_SLOW);
  double t = bench_now_s() - t0;
  for (unsigned w = 0; w < b->w; w++)
    b->busy[w] = w == 0 ? t : 0;
  return t;
}

static void run_one(bench *b, loaded *l, const variant *v, samples *s,
                    unsigned r) {
  enter_phase(b, v->rt);
  double t = 0;
  switch (v->rt) {
  case RT_SHARC:
    t = run_sharc(b, l, v);
    break;
  case RT_OPENMP:
    t = run_omp(b, l, v);
    break;
  case RT_TBB:
    t = run_tbb(b, l);
    break;
  case RT_SEQ:
    t = run_seq(b, l);
    break;
  }
  s->makespan[r] = t;
  s->imbalance[r] = v->rt == RT_SEQ ? 0.0 : imbalance_pct(b->busy, b->w);
}

static void check_variant(bench *b, loaded *l, const variant *v, samples *s) {
  memset(l->result, 0, l->result_len);
  run_one(b, l, v, s, 0);
  if (memcmp(l->result, l->expected, l->result_len) != 0)
    die("%s: %s %s computed a result that differs from the sequential "
        "loop's",
        l->spec->name, runtime_names[v->rt], v->label);
}

/* --- output --------------------------------------------------------------- */

static double median(const double *v, unsigned count) {
  double *s = xcalloc(count, sizeof *s);
  memcpy(s, v, count * sizeof *s);
  qsort(s, count, sizeof *s, bench_cmp_double);
  double m = count % 2 ? s[count / 2] : (s[count / 2 - 1] + s[count / 2]) / 2;
  free(s);
  return m;
}

/* The workload, its ideal and every sample, as one JSON object. The ideal
 * is total work / workers (workers - 1/2 with a half-speed worker), or the
 * longest single index if larger; for synthetic work the seconds per
 * iteration come from the sequential run's median. Other kernels have no
 * cost model here: their ideal is sequential / workers. */
static void json_workload(FILE *f, const bench *b, const loaded *l,
                          samples *res, int first) {
  const sched_work *w = &l->work;
  double seq = 0;
  for (unsigned v = 0; v < b->nvars; v++)
    if (b->vars[v].rt == RT_SEQ)
      seq = median(res[v].makespan, b->a.repeats);
  double ideal = seq / b->w;
  fprintf(f, "%s\n{\"name\":\"%s\",\"kernel\":\"%s\",\"n\":%" PRIu64,
          first ? "" : ",", l->spec->name, l->kernel, w->n);
  if (w->kind == SCHED_WORK_SYNTHETIC) {
    double spi = l->total ? seq / (double)l->total : 0;
    double weff = l->spec->slow ? b->w - 0.5 : b->w;
    ideal = (double)l->total * spi / weff;
    double longest = (double)l->max_cost * spi;
    ideal = longest > ideal ? longest : ideal;
    fprintf(f,
            ",\"dist\":\"%s\",\"work\":%" PRIu64 ",\"seed\":%" PRIu64
            ",\"slow\":%s,\"params\":\"%s\",\"total_work\":%" PRIu64
            ",\"max_cost\":%" PRIu64 ",\"seconds_per_iteration\":%.9g",
            sharc_synthetic_dist_name(w->syn.dist), w->syn.work, w->syn.seed,
            l->spec->slow ? "0" : "null", l->params, l->total, l->max_cost,
            spi);
  } else if (w->kind == SCHED_WORK_TRIAD) {
    fprintf(f, ",\"scalar\":%.17g", w->triad.scalar);
  } else {
    fprintf(
        f, ",\"width\":%" PRIu64 ",\"height\":%" PRIu64 ",\"maxiter\":%" PRIu64,
        w->man.width, w->man.height, w->man.maxiter);
  }
  fprintf(f, ",\"ideal_s\":%.9g,\"rows\":[", ideal);
  for (unsigned v = 0; v < b->nvars; v++) {
    const variant *var = &b->vars[v];
    fprintf(f, "%s\n {\"runtime\":\"%s\",\"schedule\":\"%s\"", v ? "," : "",
            runtime_names[var->rt], var->label);
    if (var->sweep_chunk)
      fprintf(f, ",\"sweep_chunk\":%" PRIu64, var->sweep_chunk);
    fputc(',', f);
    bench_json_samples(f, "makespan_s", res[v].makespan, b->a.repeats);
    fputc(',', f);
    bench_json_samples(f, "imbalance_pct", res[v].imbalance, b->a.repeats);
    fputc('}', f);
  }
  fprintf(f, "]}");
}

/* --- main ----------------------------------------------------------------- */

static int selected(const bench *b, const char *name) {
  if (b->a.only == NULL)
    return 1;
  size_t len = strlen(name);
  for (const char *p = b->a.only; (p = strstr(p, name)) != NULL; p += len) {
    int starts = p == b->a.only || p[-1] == ',';
    int ends = p[len] == '\0' || p[len] == ',';
    if (starts && ends)
      return 1;
  }
  return 0;
}

static void make_pool(bench *b) {
  static const char *const binders[] = {"OMP_PROC_BIND", "OMP_PLACES",
                                        "GOMP_CPU_AFFINITY", "KMP_AFFINITY",
                                        "OMP_SCHEDULE"};
  for (size_t i = 0; i < sizeof binders / sizeof binders[0]; i++)
    if (getenv(binders[i]) != NULL)
      die("%s is set: unset it; the bench places and schedules OpenMP "
          "itself",
          binders[i]);
  if (sched_getaffinity(0, sizeof b->free_set, &b->free_set) != 0)
    die("sched_getaffinity: %s", strerror(errno));
  sharc_pool_opts po = SHARC_POOL_OPTS_INIT;
  po.workers = b->a.workers;
  char msg[512] = "";
  int rc = sharc_pool_create(&b->pool, &po, msg, sizeof msg);
  if (rc != 0)
    die("cannot create the pool: %s", msg[0] ? msg : sharc_strerror(rc));
  b->w = sharc_pool_size(b->pool);
  b->pus = xcalloc(b->w, sizeof *b->pus);
  const sharc_plan *plan = sharc_pool_plan(b->pool);
  for (unsigned w = 0; w < b->w; w++)
    b->pus[w] = plan->w[w].pu;
  b->busy = xcalloc(b->w, sizeof *b->busy);
}

static void write_header(FILE *f, const bench *b, int argc, char **argv) {
  fprintf(f, "{\"suite\":\"sharc scheduling\",\"command\":\"");
  for (int i = 0; i < argc; i++)
    for (const char *p = argv[i]; *p; p++)
      fprintf(f, *p == '"' || *p == '\\' ? "\\%c" : "%c", *p);
  fprintf(f, "\",\"workers\":%u,\"repeats\":%u,\"quick\":%s,\"pus\":[", b->w,
          b->a.repeats, b->a.quick ? "true" : "false");
  for (unsigned w = 0; w < b->w; w++)
    fprintf(f, "%s%d", w ? "," : "", b->pus[w]);
  fprintf(f, "],\"tbb\":%s,\"notes\":[",
          sched_tbb_available() ? "true" : "false");
  for (unsigned i = 0; i < b->nnotes; i++)
    fprintf(f, "%s\"%s\"", i ? "," : "", b->notes[i]);
  fprintf(f, "],\"workloads\":[");
}

int main(int argc, char **argv) {
  bench b;
  memset(&b, 0, sizeof b);
  b.a = parse_args(argc, argv);
  b.sz = b.a.quick ? quick_sizes : full_sizes;
  make_pool(&b); /* before any OpenMP or TBB thread exists: it forks */
  make_variants(&b);
  omp_set_dynamic(0);
  omp_set_num_threads((int)b.w);
  bench_pin_omp_threads(b.pus, b.w, &b.master_set);
  if (sched_tbb_available() && sched_tbb_init(b.w, b.pus) != 0)
    die("cannot set up the oneTBB arena");

  FILE *json = NULL;
  if (b.a.json != NULL && (json = fopen(b.a.json, "w")) == NULL)
    die("cannot write %s: %s", b.a.json, strerror(errno));
  if (json)
    write_header(json, &b, argc, argv);
  fprintf(stderr, "bench_sched: %u workers on PUs", b.w);
  for (unsigned w = 0; w < b.w; w++)
    fprintf(stderr, " %d", b.pus[w]);
  fprintf(stderr, ", %u runs per workload, %u repeats%s\n", b.nvars,
          b.a.repeats,
          sched_tbb_available() ? ""
                                : " (no oneTBB in this "
                                  "build)");

  samples *res = xcalloc(b.nvars, sizeof *res);
  for (unsigned v = 0; v < b.nvars; v++) {
    res[v].makespan = xcalloc(b.a.repeats, sizeof(double));
    res[v].imbalance = xcalloc(b.a.repeats, sizeof(double));
  }
  int first = 1;
  for (size_t k = 0; k < NWORKLOADS; k++) {
    if (!selected(&b, all_workloads[k].name))
      continue;
    loaded l;
    load(&b, &all_workloads[k], &l);
    double t0 = bench_now_s();
    /* Untimed: threads started, caches warm, and every runtime's result
     * checked bit for bit against the sequential loop's, so no row can be
     * fast by skipping work. */
    make_expected(&l);
    for (unsigned v = 0; v < b.nvars; v++)
      check_variant(&b, &l, &b.vars[v], &res[v]);
    for (unsigned r = 0; r < b.a.repeats; r++)
      for (unsigned v = 0; v < b.nvars; v++)
        run_one(&b, &l, &b.vars[v], &res[v], r);
    fprintf(stderr, "bench_sched: %-16s n %-9" PRIu64 " %.1f s\n", l.spec->name,
            l.work.n, bench_now_s() - t0);
    if (json)
      json_workload(json, &b, &l, res, first);
    first = 0;
    unload(&l);
  }
  if (json) {
    fprintf(json, "]}\n");
    if (fclose(json) != 0)
      die("cannot write %s: %s", b.a.json, strerror(errno));
  }
  for (unsigned v = 0; v < b.nvars; v++) {
    free(res[v].makespan);
    free(res[v].imbalance);
  }
  free(res);
  sched_tbb_fini();
  sharc_pool_destroy(b.pool);
  free(b.pus);
  free(b.busy);
  return 0;
}
