/* bench_dispatch: what sharc's dispatch costs next to OpenMP's, measured
 * side by side in one run on the same machine.
 *
 *   dispatch per chunk  an empty kernel over [0, n) with dynamic:1, against
 *                       `omp parallel for schedule(dynamic,1)` calling the
 *                       same kernel: wall * workers / n
 *   round trip          a warm empty job (n = workers, one index each),
 *                       against an empty `omp parallel` region: wall / jobs
 *   gap per chunk       what a chunk costs the worker that runs it, seen
 *                       from inside the kernel: the time from the end of
 *                       one kernel call to the start of the next, for
 *                       sharc auto and dynamic:1 against OpenMP
 *                       dynamic,1, with an empty kernel and with 1 us of
 *                       work per index; and auto against OpenMP dynamic,1
 *                       over chunks of the size auto chose (the kernel
 *                       called once per chunk, as sharc calls it), so that
 *                       both run as many chunks of the same length
 *
 * The machine is shared and noisy, so every repeat runs all measurements
 * back to back (noise hits both runtimes alike) and the table shows medians
 * and ratios, not single runs. */
#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <omp.h>
#include <sched.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sys/mman.h>
#include <sys/wait.h>

#include <sharc.h>

#define BENCH_NAME "bench_dispatch"
#include "bench_util.h"

#define DEFAULT_N 2000000u
#define DEFAULT_JOBS 20000u
#define DEFAULT_REPEATS 9u
#define MIN_REPEATS 5u /* fewer and a median says little on a noisy box */
#define MAX_REPEATS 1000u
/* Untimed jobs before each timed round-trip loop: both runtimes start it
 * with their workers awake and their code and data in cache. */
#define WARMUP_JOBS 200u
/* Cache-line round trips per PU-to-PU latency sample. */
#define BOUNCES 20000u
/* Yield ping-pongs per context-switch sample. */
#define YIELD_ROUNDS 20000u
/* The gap rows with work: indices per run (of WORK_NS each) = n / 10. */
#define WORK_NS 1000u
/* Between measurements the bench waits until every other thread of this
 * process and every sharc worker sleeps: idle runtimes spin before they
 * sleep (sharc: spin_us = 100 us; libgomp: a few ms; libomp: KMP_BLOCKTIME,
 * 200 ms), and a spinner would steal a CPU from the next measurement. It
 * looks every SETTLE_NAP_NS and gives up after SETTLE_MAX_NS (a runtime
 * told to spin for ever, e.g. OMP_WAIT_POLICY=active). */
#define SETTLE_NAP_NS 5000000L
#define SETTLE_MAX_NS 2000000000L

typedef struct args {
  unsigned workers; /* 0: one per usable PU, as a default pool */
  uint64_t n;
  unsigned jobs;
  unsigned repeats;
  const char *json;
} args;

/* One line of the table: R samples per runtime, in seconds. */
typedef struct row {
  const char *name;
  const char *unit;
  double scale; /* seconds to unit */
  double *sharc;
  double *omp;
} row;

enum {
  ROW_DISPATCH,
  ROW_TRIP,
  ROW_TRIP_RUSAGE,
  ROW_GAP_EMPTY_AUTO,
  ROW_GAP_WORK_AUTO,
  ROW_GAP_WORK_DYN,
  ROW_GAP_WORK_AUTO_SAME,
  NROWS
};

/* What one worker or thread saw of its chunks, in a 128-byte record of its
 * own in a shared array (sharc's workers are processes). */
typedef struct gap_rec {
  uint64_t last_exit; /* ticks when its last kernel call returned; 0: none */
  uint64_t gap_ticks; /* summed from a return to the next call */
  uint64_t gaps;
  uint64_t pad[13];
} gap_rec;

typedef struct bench {
  args a;
  sharc_pool *pool;
  unsigned w;
  cpu_set_t free_set;   /* the process's own affinity: sharc's coordinator */
  cpu_set_t master_set; /* the PU the OpenMP master thread is pinned to */
  row rows[NROWS];
  double *bounce; /* per repeat: see pu_round_trip(); 0: not measured */
  double *yield;  /* per repeat: see switch_pair() */
  double *auto_chunk; /* per repeat: auto's mean chunk in the work gap job */
  sharc_array *gaps_arr; /* b->w gap_recs, for sharc and OpenMP alike */
  gap_rec *gaps;
} bench;

/* The registered "empty" kernel, called directly by the OpenMP loops. The
 * pointer is volatile so the compiler cannot see through it: each chunk pays
 * one indirect call with (begin, end) = (i, i + 1), as in a sharc worker. */
static sharc_kernel_fn volatile empty_fn;

/* --- the gap kernel ------------------------------------------------------- */

/* The TSC where there is one (a read costs ~10 ns, the same for both
 * runtimes), else CLOCK_MONOTONIC; converted with ns_per_tick. */
static double ns_per_tick = 1.0;
static inline uint64_t ticks(void) {
#if defined(__x86_64__) || defined(__i386__)
  return __builtin_ia32_rdtsc();
#else
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
#endif
}

static void calibrate_ticks(void) {
  double t0 = bench_now_s();
  uint64_t k0 = ticks();
  struct timespec nap = {0, 50000000L};
  nanosleep(&nap, NULL);
  uint64_t k1 = ticks();
  double t1 = bench_now_s();
  if (k1 > k0)
    ns_per_tick = (t1 - t0) * 1e9 / (double)(k1 - k0);
}

/* The kernel's body once it has the time it was entered: spins `spin`
 * ticks per index, notes when it returns. */
static inline int gap_body(gap_rec *g, uint64_t in, uint64_t spin,
                           uint64_t begin, uint64_t end) {
  if (g->last_exit != 0 && in > g->last_exit) {
    g->gap_ticks += in - g->last_exit;
    g->gaps++;
  }
  if (spin > 0) {
    uint64_t until = in + spin * (end - begin);
    while (ticks() < until)
      ;
  }
  g->last_exit = ticks();
  return 0;
}

/* sharc: the records are array 0, the spin is the job's argument. */
static int gap_kernel(const sharc_task *t, uint64_t begin, uint64_t end) {
  uint64_t in = ticks();
  gap_rec *g = sharc_task_array(t, 0);
  const uint64_t *spin = sharc_task_args(t, NULL);
  return gap_body(g + sharc_task_worker(t), in, *spin, begin, end);
}
SHARC_KERNEL_NAMED("bench_gap", gap_kernel)

/* OpenMP: the same records by thread number, called through a pointer. */
static gap_rec *omp_gaps;
static uint64_t omp_spin;
static int omp_gap_kernel(const sharc_task *t, uint64_t begin, uint64_t end) {
  uint64_t in = ticks();
  (void)t;
  return gap_body(omp_gaps + omp_get_thread_num(), in, omp_spin, begin, end);
}
static sharc_kernel_fn volatile omp_gap_fn = omp_gap_kernel;

static _Noreturn void die(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));
static _Noreturn void die(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fprintf(stderr, "bench_dispatch: ");
  vfprintf(stderr, fmt, ap);
  fputc('\n', stderr);
  va_end(ap);
  exit(1);
}

static void check_run(sharc_pool *pool, int rc, const char *what) {
  if (rc == 0)
    return;
  fprintf(stderr, "bench_dispatch: %s: %s: %s\n", what, sharc_strerror(rc),
          sharc_pool_errmsg(pool));
  exit(1);
}

/* --- options -------------------------------------------------------------- */

static void usage(FILE *out) {
  fprintf(out,
          "usage: bench_dispatch [--workers W] [--n N] [--jobs J] "
          "[--repeats R] [--json FILE]\n\n"
          "Compares sharc with OpenMP on this machine, in one run:\n"
          "  dispatch per chunk: empty kernel over [0, N) with dynamic:1\n"
          "    vs omp parallel for schedule(dynamic,1)       (default N %u)\n"
          "  round trip: J warm empty jobs of W indices\n"
          "    vs J empty omp parallel regions               (default J %u)\n"
          "W workers and as many OpenMP threads, pinned to the same PUs\n"
          "(default: every usable PU). Each measurement is repeated R times\n"
          "(default %u, at least %u), interleaved; the table shows medians,\n"
          "min..max and sharc/OpenMP ratios. --json writes every sample.\n",
          DEFAULT_N, DEFAULT_JOBS, DEFAULT_REPEATS, MIN_REPEATS);
}

static args parse_args(int argc, char **argv) {
  static const struct option longs[] = {
      {"workers", required_argument, NULL, 'w'},
      {"n", required_argument, NULL, 'n'},
      {"jobs", required_argument, NULL, 'j'},
      {"repeats", required_argument, NULL, 'r'},
      {"json", required_argument, NULL, 'o'},
      {"help", no_argument, NULL, 'h'},
      {NULL, 0, NULL, 0}};
  args a = {0, DEFAULT_N, DEFAULT_JOBS, DEFAULT_REPEATS, NULL};
  int c;
  while ((c = getopt_long(argc, argv, "", longs, NULL)) != -1) {
    switch (c) {
    case 'w':
      a.workers = (unsigned)bench_parse_u64("--workers", optarg, 1, 4096);
      break;
    case 'n':
      a.n = bench_parse_u64("--n", optarg, 1, UINT64_C(1) << 40);
      break;
    case 'j':
      a.jobs = (unsigned)bench_parse_u64("--jobs", optarg, 1, 100000000);
      break;
    case 'r':
      a.repeats =
          (unsigned)bench_parse_u64("--repeats", optarg, MIN_REPEATS, MAX_REPEATS);
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
  return a;
}

/* --- placement ------------------------------------------------------------ */

static void settle(const bench *b) {
  static int warned;
  struct timespec nap = {0, SETTLE_NAP_NS};
  long waited = 0;
  do {
    nanosleep(&nap, NULL);
    waited += SETTLE_NAP_NS;
  } while (bench_others_running(b->pool) && waited < SETTLE_MAX_NS);
  if (waited >= SETTLE_MAX_NS && !warned) {
    warned = 1;
    fprintf(stderr, "bench_dispatch: warning: threads still spin after "
                    "2 s idle; the measurements may disturb each other\n");
  }
}

/* Before each measurement: each runtime's calling thread placed as its users
 * get it (sharc leaves its coordinator unpinned; OpenMP's master computes,
 * pinned like its other threads), then quiet CPUs. */
static void enter_phase(const bench *b, int omp) {
  bench_set_affinity(omp ? &b->master_set : &b->free_set);
  settle(b);
}

/* --- the measurements, in seconds ---------------------------------------- */

/* Per chunk, as one worker sees it: each of W workers took about n/W. */
static double sharc_dispatch(const bench *b, uint64_t n) {
  sharc_job_opts o = SHARC_JOB_OPTS_INIT;
  o.schedule = (sharc_schedule){SHARC_SCHED_DYNAMIC, 1};
  o.measure_rusage = 0;
  sharc_report rep = SHARC_REPORT_INIT;
  double t0 = bench_now_s();
  int rc = sharc_run(b->pool, "empty", n, &o, &rep);
  double wall = bench_now_s() - t0;
  check_run(b->pool, rc, "dispatch job");
  /* Proves the schedule really cut n chunks of one index. */
  if (rep.chunks != n || rep.indices != n)
    die("dispatch job: chunk or index count is not n");
  sharc_report_free(&rep);
  return wall * b->w / (double)n;
}

static double omp_dispatch(const bench *b, uint64_t n) {
  unsigned errs = 0;
  double t0 = bench_now_s();
#pragma omp parallel for schedule(dynamic, 1) reduction(+ : errs)
  for (uint64_t i = 0; i < n; i++)
    errs += empty_fn(NULL, i, i + 1) != 0;
  double wall = bench_now_s() - t0;
  if (errs)
    die("OpenMP dispatch: the empty kernel failed");
  return wall * b->w / (double)n;
}

/* Per job. rep = NULL: the caller asks for no report, the cheapest call. */
static double sharc_round_trip(const bench *b, unsigned jobs, int rusage) {
  sharc_job_opts o = SHARC_JOB_OPTS_INIT;
  o.schedule = (sharc_schedule){SHARC_SCHED_STATIC, 0};
  o.measure_rusage = rusage;
  for (unsigned j = 0; j < WARMUP_JOBS; j++)
    check_run(b->pool, sharc_run(b->pool, "empty", b->w, &o, NULL), "warm-up");
  double t0 = bench_now_s();
  for (unsigned j = 0; j < jobs; j++)
    check_run(b->pool, sharc_run(b->pool, "empty", b->w, &o, NULL),
              "round-trip job");
  return (bench_now_s() - t0) / jobs;
}

static unsigned omp_regions(unsigned count) {
  unsigned errs = 0;
  for (unsigned j = 0; j < count; j++) {
#pragma omp parallel reduction(+ : errs)
    {
      uint64_t t = (uint64_t)omp_get_thread_num();
      errs += empty_fn(NULL, t, t + 1) != 0;
    }
  }
  return errs;
}

static double omp_round_trip(unsigned jobs) {
  unsigned errs = omp_regions(WARMUP_JOBS);
  double t0 = bench_now_s();
  errs += omp_regions(jobs);
  double wall = bench_now_s() - t0;
  if (errs)
    die("OpenMP round trip: the empty kernel failed");
  return wall / jobs;
}

/* Gap per chunk in seconds over every worker's record. */
static double gap_of(const bench *b) {
  uint64_t sum = 0, count = 0;
  for (unsigned w = 0; w < b->w; w++) {
    sum += b->gaps[w].gap_ticks;
    count += b->gaps[w].gaps;
  }
  if (count == 0)
    die("gap measurement: no worker ran two chunks");
  return (double)sum / (double)count * ns_per_tick * 1e-9;
}

/* The gap per chunk; *chunks (if not NULL) gets the job's chunk count. */
static double sharc_gap(const bench *b, sharc_sched_kind kind, uint64_t n,
                        uint64_t spin, uint64_t *chunks) {
  memset(b->gaps, 0, b->w * sizeof *b->gaps);
  sharc_job_opts o = SHARC_JOB_OPTS_INIT;
  o.schedule = (sharc_schedule){kind, kind == SHARC_SCHED_DYNAMIC ? 1 : 0};
  o.measure_rusage = 0;
  o.args = &spin;
  o.args_len = sizeof spin;
  o.arrays = &b->gaps_arr;
  o.narrays = 1;
  sharc_report rep = SHARC_REPORT_INIT;
  check_run(b->pool, sharc_run(b->pool, "bench_gap", n, &o, &rep), "gap job");
  if (rep.indices != n)
    die("gap job: index count is not n");
  if (chunks != NULL)
    *chunks = rep.chunks;
  sharc_report_free(&rep);
  return gap_of(b);
}

static double omp_gap(const bench *b, uint64_t n, uint64_t spin) {
  memset(b->gaps, 0, b->w * sizeof *b->gaps);
  omp_gaps = b->gaps;
  omp_spin = spin;
  unsigned errs = 0;
#pragma omp parallel for schedule(dynamic, 1) reduction(+ : errs)
  for (uint64_t i = 0; i < n; i++)
    errs += omp_gap_fn(NULL, i, i + 1) != 0;
  if (errs)
    die("OpenMP gap: the kernel failed");
  return gap_of(b);
}

/* OpenMP over chunks of k indices: dynamic,1 over the chunk numbers, the
 * kernel called once per chunk with its range. Gaps are time per kernel
 * call: a time-based disturbance (an interrupt, a preemption) that lands
 * between two calls weighs as much per chunk as in a sharc job with as many
 * chunks, which a comparison with one-index chunks would not give. */
static double omp_gap_chunks(const bench *b, uint64_t n, uint64_t spin,
                             uint64_t k) {
  memset(b->gaps, 0, b->w * sizeof *b->gaps);
  omp_gaps = b->gaps;
  omp_spin = spin;
  uint64_t nchunks = n / k + (n % k != 0);
  unsigned errs = 0;
#pragma omp parallel for schedule(dynamic, 1) reduction(+ : errs)
  for (uint64_t j = 0; j < nchunks; j++)
    errs += omp_gap_fn(NULL, j * k, n - j * k > k ? (j + 1) * k : n) != 0;
  if (errs)
    die("OpenMP gap: the kernel failed");
  return gap_of(b);
}

/* The machine's state, not a comparison: two context switches on one PU,
 * which a round trip pays when the coordinator shares its PU with a worker.
 * Two processes pinned to worker 0's PU hand a flag back and forth with
 * sched_yield; seconds per hand-over and back. 0 if it cannot be run. */
static double switch_pair(const bench *b) {
  const sharc_plan *plan = sharc_pool_plan(b->pool);
  int pu = plan->w[0].pu;
  _Atomic unsigned *flag = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
                                MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (pu < 0 || flag == MAP_FAILED)
    return 0;
  cpu_set_t one;
  CPU_ZERO(&one);
  CPU_SET(pu, &one);
  bench_set_affinity(&one);
  atomic_store(flag, 0);
  pid_t pid = fork();
  if (pid == 0) {
    for (unsigned v = 1; v < 2 * YIELD_ROUNDS; v += 2) {
      while (atomic_load(flag) != v)
        sched_yield();
      atomic_store(flag, v + 1);
    }
    _exit(0);
  }
  double per = 0;
  if (pid > 0) {
    double t0 = bench_now_s();
    for (unsigned v = 0; v < 2 * YIELD_ROUNDS; v += 2) {
      atomic_store(flag, v + 1);
      while (atomic_load(flag) != v + 2)
        sched_yield();
    }
    per = (bench_now_s() - t0) / YIELD_ROUNDS;
    waitpid(pid, NULL, 0);
  }
  munmap((void *)flag, 4096);
  return per;
}

/* The machine's state, not a comparison: one cache line bounced between the
 * PUs of workers 0 and 1 (through OpenMP threads 0 and 1, pinned there).
 * On a VM it moves when the host moves the vCPUs, and every figure of the
 * table moves with it. 0 unless those are two PUs: two spinners sharing one
 * PU would take a time slice per bounce. */
static double pu_round_trip(const bench *b) {
  static _Atomic unsigned ball;
  const sharc_plan *plan = sharc_pool_plan(b->pool);
  if (b->w < 2 || plan->w[0].pu == plan->w[1].pu)
    return 0;
  double per = 0;
  atomic_store(&ball, 0);
#pragma omp parallel num_threads(2)
  if (omp_get_num_threads() == 2 && omp_get_thread_num() == 0) {
    double t0 = bench_now_s();
    for (unsigned v = 0; v < 2 * BOUNCES; v += 2) {
      atomic_store_explicit(&ball, v + 1, memory_order_release);
      while (atomic_load_explicit(&ball, memory_order_acquire) != v + 2)
        ;
    }
    per = (bench_now_s() - t0) / BOUNCES;
  } else if (omp_get_num_threads() == 2) {
    for (unsigned v = 1; v < 2 * BOUNCES; v += 2) {
      while (atomic_load_explicit(&ball, memory_order_acquire) != v)
        ;
      atomic_store_explicit(&ball, v + 1, memory_order_release);
    }
  }
  return per;
}

/* One repeat; the order within it is fixed so drift hits every row alike. */
static void run_repeat(bench *b, unsigned r) {
  row *rows = b->rows;
  enter_phase(b, 0);
  rows[ROW_DISPATCH].sharc[r] = sharc_dispatch(b, b->a.n);
  enter_phase(b, 1);
  rows[ROW_DISPATCH].omp[r] = omp_dispatch(b, b->a.n);
  enter_phase(b, 0);
  rows[ROW_TRIP].sharc[r] = sharc_round_trip(b, b->a.jobs, 0);
  enter_phase(b, 1);
  rows[ROW_TRIP].omp[r] = omp_round_trip(b->a.jobs);
  enter_phase(b, 0);
  rows[ROW_TRIP_RUSAGE].sharc[r] = sharc_round_trip(b, b->a.jobs, 1);
  /* Same OpenMP figure: OpenMP has nothing like measure_rusage. */
  rows[ROW_TRIP_RUSAGE].omp[r] = rows[ROW_TRIP].omp[r];
  uint64_t nw = b->a.n / 10 > 1 ? b->a.n / 10 : 2;
  uint64_t spin = (uint64_t)(WORK_NS / ns_per_tick);
  enter_phase(b, 0);
  rows[ROW_GAP_EMPTY_AUTO].sharc[r] =
      sharc_gap(b, SHARC_SCHED_AUTO, b->a.n, 0, NULL);
  enter_phase(b, 1);
  rows[ROW_GAP_EMPTY_AUTO].omp[r] = omp_gap(b, b->a.n, 0);
  enter_phase(b, 0);
  uint64_t auto_chunks = 0;
  rows[ROW_GAP_WORK_AUTO].sharc[r] =
      sharc_gap(b, SHARC_SCHED_AUTO, nw, spin, &auto_chunks);
  rows[ROW_GAP_WORK_AUTO_SAME].sharc[r] = rows[ROW_GAP_WORK_AUTO].sharc[r];
  enter_phase(b, 0);
  rows[ROW_GAP_WORK_DYN].sharc[r] =
      sharc_gap(b, SHARC_SCHED_DYNAMIC, nw, spin, NULL);
  enter_phase(b, 1);
  rows[ROW_GAP_WORK_AUTO].omp[r] = omp_gap(b, nw, spin);
  rows[ROW_GAP_WORK_DYN].omp[r] = rows[ROW_GAP_WORK_AUTO].omp[r];
  /* auto's mean chunk, rounded (at least 1: a job has no more chunks than
   * indices): OpenMP runs as many chunks of that size */
  uint64_t k = auto_chunks ? (nw + auto_chunks / 2) / auto_chunks : 1;
  b->auto_chunk[r] = (double)k;
  enter_phase(b, 1);
  rows[ROW_GAP_WORK_AUTO_SAME].omp[r] = omp_gap_chunks(b, nw, spin, k);
  enter_phase(b, 1);
  b->bounce[r] = pu_round_trip(b);
  enter_phase(b, 0);
  b->yield[r] = switch_pair(b);
}

/* --- statistics and output ------------------------------------------------ */

typedef struct stats {
  double median, min, max;
} stats;

static stats stats_of(const double *v, unsigned count) {
  double *s = malloc(count * sizeof *s);
  if (s == NULL)
    die("out of memory");
  memcpy(s, v, count * sizeof *s);
  qsort(s, count, sizeof *s, bench_cmp_double);
  stats st = {count % 2 ? s[count / 2] : (s[count / 2 - 1] + s[count / 2]) / 2,
              s[0], s[count - 1]};
  free(s);
  return st;
}

/* Median of the per-repeat ratios: each pair ran back to back, so this
 * cancels drift that the ratio of medians does not. */
static double paired_ratio(const row *rw, unsigned count) {
  double *q = malloc(count * sizeof *q);
  if (q == NULL)
    die("out of memory");
  for (unsigned r = 0; r < count; r++)
    q[r] = rw->sharc[r] / rw->omp[r];
  double m = stats_of(q, count).median;
  free(q);
  return m;
}

static void cpu_model(char *buf, size_t len) {
  snprintf(buf, len, "unknown");
  FILE *f = fopen("/proc/cpuinfo", "r");
  if (f == NULL)
    return;
  char line[512];
  while (fgets(line, sizeof line, f)) {
    char *colon = strchr(line, ':');
    if (strncmp(line, "model name", 10) != 0 || colon == NULL)
      continue;
    colon += colon[1] == ' ' ? 2 : 1;
    colon[strcspn(colon, "\n")] = '\0';
    snprintf(buf, len, "%s", colon);
    break;
  }
  fclose(f);
}

/* Which runtime answered the pragmas: libgomp and LLVM's libomp differ a
 * lot (libomp's dynamic,1 costs ~30x libgomp's on some machines), so a ratio
 * means little without it. */
static const char *openmp_library(void) {
  void (*fn)(int) = omp_set_num_threads;
  void *addr;
  memcpy(&addr, &fn, sizeof addr); /* ISO C has no function-to-void* cast */
  Dl_info info;
  return dladdr(addr, &info) && info.dli_fname ? info.dli_fname : "unknown";
}

static void print_header(const bench *b, int argc, char **argv) {
  char model[256];
  cpu_model(model, sizeof model);
  printf("command:");
  for (int i = 0; i < argc; i++)
    printf(" %s", argv[i]);
  printf("\nmachine: %s, nproc %ld\n", model, sysconf(_SC_NPROCESSORS_ONLN));
  printf("workers: %u sharc worker processes, %u OpenMP threads, pinned to "
         "the same PUs:",
         b->w, b->w);
  const sharc_plan *plan = sharc_pool_plan(b->pool);
  for (unsigned w = 0; w < b->w; w++)
    printf(" %d", plan->w[w].pu);
  printf("\nOpenMP: %s, _OPENMP %d\n", openmp_library(), _OPENMP);
  printf("n %" PRIu64 ", jobs %u, repeats %u\n\n", b->a.n, b->a.jobs,
         b->a.repeats);
  fflush(stdout);
}

static void print_table(const bench *b) {
  unsigned R = b->a.repeats;
  printf("%-30s %-8s %9s %9s %7s %7s  %-19s %-19s\n", "measurement", "unit",
         "sharc", "OpenMP", "ratio", "paired", "sharc min..max",
         "OpenMP min..max");
  for (unsigned i = 0; i < NROWS; i++) {
    const row *rw = &b->rows[i];
    stats s = stats_of(rw->sharc, R), o = stats_of(rw->omp, R);
    char sr[32], orng[32];
    snprintf(sr, sizeof sr, "%.3g..%.3g", s.min * rw->scale, s.max * rw->scale);
    snprintf(orng, sizeof orng, "%.3g..%.3g", o.min * rw->scale,
             o.max * rw->scale);
    printf("%-30s %-8s %9.4g %9.4g %7.3f %7.3f  %-19s %-19s\n", rw->name,
           rw->unit, s.median * rw->scale, o.median * rw->scale,
           s.median / o.median, paired_ratio(rw, R), sr, orng);
  }
  printf("\nmedians of %u repeats; ratio = sharc median / OpenMP median, "
         "paired = median of per-repeat ratios; below 1: sharc is faster.\n"
         "The measure_rusage row is compared with the same OpenMP round "
         "trip: OpenMP has no such measurement.\n",
         R);
  stats k = stats_of(b->auto_chunk, R);
  printf("Gap rows: from the end of one kernel call to the start of the next "
         "in the same worker, seen by the kernel; the OpenMP column is "
         "dynamic,1 over single indices in the first three, and dynamic,1 "
         "over chunks of auto's mean size (median %.0f indices, %.0f..%.0f) "
         "in \"auto vs same chunks\". Work: %u ns per index.\n",
         k.median, k.min, k.max, WORK_NS);
  if (b->yield[0] > 0) {
    stats y = stats_of(b->yield, R);
    printf("Two context switches on one PU (two processes pinned to worker "
           "0's PU, sched_yield ping-pong): median %.2f us, %.2f..%.2f; a "
           "round trip pays them when the coordinator shares a PU with a "
           "worker.\n",
           y.median * 1e6, y.min * 1e6, y.max * 1e6);
  }
  if (b->bounce[0] > 0) {
    stats c = stats_of(b->bounce, R);
    printf("PU-to-PU round trip of a cache line (workers 0 and 1): median "
           "%.0f ns, %.0f..%.0f; the figures above move with it.\n",
           c.median * 1e9, c.min * 1e9, c.max * 1e9);
  }
}

static void json_string(FILE *f, const char *s) {
  fputc('"', f);
  for (; *s; s++) {
    unsigned char c = (unsigned char)*s;
    if (c == '"' || c == '\\')
      fprintf(f, "\\%c", c);
    else if (c < 0x20)
      fprintf(f, "\\u%04x", c);
    else
      fputc(c, f);
  }
  fputc('"', f);
}

/* Every sample in seconds (per chunk or per job), so a later script can
 * recompute any statistic without rerunning. */
static void write_json(const bench *b, int argc, char **argv) {
  FILE *f = fopen(b->a.json, "w");
  if (f == NULL)
    die("cannot write the JSON file: %s", strerror(errno));
  unsigned R = b->a.repeats;
  char model[256], cmd[4096] = "";
  cpu_model(model, sizeof model);
  for (int i = 0; i < argc; i++) {
    size_t used = strlen(cmd);
    snprintf(cmd + used, sizeof cmd - used, "%s%s", i ? " " : "", argv[i]);
  }
  fprintf(f, "{\"command\":");
  json_string(f, cmd);
  fprintf(f, ",\"cpu_model\":");
  json_string(f, model);
  fprintf(f, ",\"openmp_library\":");
  json_string(f, openmp_library());
  fprintf(f,
          ",\"nproc\":%ld,\"workers\":%u,\"n\":%" PRIu64
          ",\"jobs\":%u,\"repeats\":%u,\"openmp\":%d,\"unit\":\"s\""
          ",\"rows\":[",
          sysconf(_SC_NPROCESSORS_ONLN), b->w, b->a.n, b->a.jobs, R, _OPENMP);
  for (unsigned i = 0; i < NROWS; i++) {
    const row *rw = &b->rows[i];
    stats s = stats_of(rw->sharc, R), o = stats_of(rw->omp, R);
    fprintf(f, "%s{\"name\":", i ? "," : "");
    json_string(f, rw->name);
    fputc(',', f);
    bench_json_samples(f, "sharc", rw->sharc, R);
    fputc(',', f);
    bench_json_samples(f, "openmp", rw->omp, R);
    fprintf(f,
            ",\"sharc_median\":%.9g,\"openmp_median\":%.9g,\"ratio\":%.6g"
            ",\"paired_ratio\":%.6g}",
            s.median, o.median, s.median / o.median, paired_ratio(rw, R));
  }
  fprintf(f, "],");
  bench_json_samples(f, "pu_round_trip", b->bounce, R);
  fputc(',', f);
  bench_json_samples(f, "switch_pair", b->yield, R);
  fputc(',', f);
  bench_json_samples(f, "auto_chunk", b->auto_chunk, R);
  fprintf(f, "}\n");
  if (fclose(f) != 0)
    die("cannot write the JSON file: %s", strerror(errno));
}

/* --- main ----------------------------------------------------------------- */

static void make_rows(bench *b) {
  static const struct {
    const char *name, *unit;
    double scale;
  } spec[NROWS] = {{"dispatch per chunk, dynamic:1", "ns/chunk", 1e9},
                   {"empty-job round trip", "us/job", 1e6},
                   {"round trip, measure_rusage=1", "us/job", 1e6},
                   {"gap per chunk, empty, auto", "ns/chunk", 1e9},
                   {"gap per chunk, 1us/index, auto", "ns/chunk", 1e9},
                   {"gap per chunk, 1us/index, dyn:1", "ns/chunk", 1e9},
                   {"gap, auto vs same chunks", "ns/chunk", 1e9}};
  for (unsigned i = 0; i < NROWS; i++) {
    row *rw = &b->rows[i];
    rw->name = spec[i].name;
    rw->unit = spec[i].unit;
    rw->scale = spec[i].scale;
    rw->sharc = calloc(b->a.repeats, sizeof *rw->sharc);
    rw->omp = calloc(b->a.repeats, sizeof *rw->omp);
    if (rw->sharc == NULL || rw->omp == NULL)
      die("out of memory");
  }
  b->bounce = calloc(b->a.repeats, sizeof *b->bounce);
  b->yield = calloc(b->a.repeats, sizeof *b->yield);
  b->auto_chunk = calloc(b->a.repeats, sizeof *b->auto_chunk);
  if (b->bounce == NULL || b->yield == NULL || b->auto_chunk == NULL)
    die("out of memory");
}

/* The pool comes first, before any OpenMP call: forking after the OpenMP
 * runtime has started threads is unsafe. */
static void make_pool(bench *b) {
  static const char *const binders[] = {"OMP_PROC_BIND", "OMP_PLACES",
                                        "GOMP_CPU_AFFINITY", "KMP_AFFINITY"};
  for (size_t i = 0; i < sizeof binders / sizeof binders[0]; i++) {
    if (getenv(binders[i]) != NULL)
      die("%s is set: unset it; the bench pins OpenMP threads to the PUs of "
          "sharc's workers itself",
          binders[i]);
  }
  if (sched_getaffinity(0, sizeof b->free_set, &b->free_set) != 0)
    die("sched_getaffinity: %s", strerror(errno));
  sharc_pool_opts po = SHARC_POOL_OPTS_INIT;
  po.workers = b->a.workers;
  char msg[512] = "";
  int rc = sharc_pool_create(&b->pool, &po, msg, sizeof msg);
  if (rc != 0)
    die("cannot create the pool: %s", msg[0] ? msg : sharc_strerror(rc));
  b->w = sharc_pool_size(b->pool);
  empty_fn = sharc_kernel_find("empty");
  if (empty_fn == NULL)
    die("no kernel named \"empty\" is registered");
  uint64_t shape = (uint64_t)b->w * sizeof(gap_rec);
  rc = sharc_array_create(b->pool, SHARC_U8, 1, &shape, NULL, &b->gaps_arr);
  if (rc != 0)
    die("cannot create the gap records: %s", sharc_pool_errmsg(b->pool));
  b->gaps = sharc_array_data(b->gaps_arr);
}

int main(int argc, char **argv) {
  bench b = {0};
  b.a = parse_args(argc, argv);
  make_pool(&b);
  omp_set_dynamic(0);
  omp_set_num_threads((int)b.w);
  {
    const sharc_plan *plan = sharc_pool_plan(b.pool);
    int *pus = calloc(b.w, sizeof *pus);
    if (pus == NULL)
      die("out of memory");
    for (unsigned w = 0; w < b.w; w++)
      pus[w] = plan->w[w].pu;
    bench_pin_omp_threads(pus, b.w, &b.master_set);
    free(pus);
  }
  make_rows(&b);
  calibrate_ticks();
  print_header(&b, argc, argv);

  /* Untimed: first faults, thread creation and cache warm-up on both. */
  enter_phase(&b, 0);
  (void)sharc_dispatch(&b, b.a.n / 10 + b.w);
  enter_phase(&b, 1);
  (void)omp_dispatch(&b, b.a.n / 10 + b.w);

  for (unsigned r = 0; r < b.a.repeats; r++)
    run_repeat(&b, r);
  print_table(&b);
  if (b.a.json != NULL)
    write_json(&b, argc, argv);

  sharc_array_destroy(b.gaps_arr);
  sharc_pool_destroy(b.pool);
  for (unsigned i = 0; i < NROWS; i++) {
    free(b.rows[i].sharc);
    free(b.rows[i].omp);
  }
  free(b.bounce);
  free(b.yield);
  free(b.auto_chunk);
  return 0;
}
