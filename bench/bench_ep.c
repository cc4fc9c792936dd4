/* bench_ep: NPB EP on sharc against the same per-batch core under OpenMP,
 * in one binary (bench/ep/ep.h holds the core and the sharc kernel).
 *
 *   sharc    kernel "npb_ep", one index per batch, the two sums as a SUM of
 *            width 2 and the ten counts as a COUNT of width 10, default
 *            block and schedule (no option set)
 *   OpenMP   `omp parallel` with one batch buffer per thread and
 *            `omp for schedule(static) reduction(+ : sx, sy, q[:10])`,
 *            threads pinned to the PUs of the sharc pool's workers
 *
 * Both verify against NPB's published sums. Each repeat runs sharc then
 * OpenMP back to back, so noise on a shared machine hits both alike; the
 * medians and their ratio are printed, for wall time and for CPU time (the
 * sharc workers' user + system time from the job's report; the process's
 * CPU time over the OpenMP region, all its threads). On a loaded machine
 * the CPU time still compares the work each did when wall time does not.
 * --check instead runs sharc with 1, 2 and 3 workers and every schedule and
 * checks that all runs verify and give the same bits. The pool is created
 * before OpenMP starts its threads: forking after libgomp has threads can hang
 * the child. */
#define BENCH_NAME "bench_ep"
#include <getopt.h>
#include <omp.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_util.h"
#include "ep/ep.h"

#define MAX_REPEATS 101

static void die(const char *what, const char *detail) {
  fprintf(stderr, "bench_ep: %s%s%s\n", what, detail ? ": " : "",
          detail ? detail : "");
  exit(1);
}

static double cpu_now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static sharc_pool *make_pool(unsigned w) {
  sharc_pool_opts po = SHARC_POOL_OPTS_INIT;
  po.workers = w;
  sharc_pool *pool = NULL;
  char msg[512];
  if (sharc_pool_create(&pool, &po, msg, sizeof msg) != 0)
    die("sharc_pool_create", msg);
  return pool;
}


static int run_omp(unsigned w, const ep_class *c, ep_result *r) {
  const int64_t nn = INT64_C(1) << (c->m - EP_MK);
  const double an = ep_batch_jump();
  double sx = 0.0, sy = 0.0;
  uint64_t q[EP_NQ] = {0};
  int bad = 0;
#pragma omp parallel num_threads(w) reduction(+ : sx, sy, q[:EP_NQ], bad)
  {
    double *x = malloc(2 * EP_NK * sizeof *x);
    bad += x == NULL;
#pragma omp for schedule(static)
    for (int64_t k = 0; k < nn; k++) {
      double bx = 0.0, by = 0.0;
      if (x == NULL || ep_batch((uint64_t)k, an, x, &bx, &by, q) != 0) {
        bad++;
        continue;
      }
      sx += bx;
      sy += by;
    }
    free(x);
  }
  r->sx = sx;
  r->sy = sy;
  memcpy(r->q, q, sizeof q);
  r->gc = 0;
  for (int l = 0; l < EP_NQ; l++)
    r->gc += q[l];
  return bad ? -1 : 0;
}

static void show(const char *who, const ep_class *c, const ep_result *r) {
  printf("%-6s class %c: sx %.15e sy %.15e gc %llu  %s\n", who, c->name, r->sx,
         r->sy, (unsigned long long)r->gc,
         ep_verified(c, r) ? "VERIFIED" : "NOT VERIFIED");
}

static int check(const ep_class *c) {
  static const char *const scheds[] = {
      NULL,     "static",   "static:3", "dynamic", "dynamic:7",
      "guided", "guided:4", "auto",     "fac2",    "wf"};
  ep_result first, r;
  int ok = 1, have = 0;
  for (unsigned w = 1; w <= 3; w++) {
    sharc_pool *pool = make_pool(w);
    for (size_t s = 0; s < sizeof scheds / sizeof scheds[0]; s++) {
      if (ep_run_sharc(pool, c, scheds[s], &r, NULL) != 0)
        die("sharc_run", sharc_pool_errmsg(pool));
      int same = !have || (memcmp(&r.sx, &first.sx, sizeof r.sx) == 0 &&
                           memcmp(&r.sy, &first.sy, sizeof r.sy) == 0 &&
                           memcmp(r.q, first.q, sizeof r.q) == 0);
      if (!have)
        first = r, have = 1;
      printf("%u workers, %-9s sx %.17g sy %.17g gc %llu %s %s\n", w,
             scheds[s] ? scheds[s] : "(default)", r.sx, r.sy,
             (unsigned long long)r.gc,
             ep_verified(c, &r) ? "verified" : "WRONG",
             same ? "same bits" : "OTHER BITS");
      ok &= ep_verified(c, &r) && same;
    }
    sharc_pool_destroy(pool);
  }
  printf("%s\n", ok ? "check: every run verified, with the same bits"
                    : "check: FAILED");
  return ok ? 0 : 1;
}

int main(int argc, char **argv) {
  char cls = 'A';
  unsigned workers = 2, repeats = 5;
  int do_check = 0;
  static const struct option opts[] = {{"class", required_argument, 0, 'c'},
                                       {"workers", required_argument, 0, 'w'},
                                       {"repeats", required_argument, 0, 'r'},
                                       {"check", no_argument, 0, 'k'},
                                       {"help", no_argument, 0, 'h'},
                                       {0, 0, 0, 0}};
  for (int ch; (ch = getopt_long(argc, argv, "c:w:r:kh", opts, NULL)) != -1;) {
    switch (ch) {
    case 'c':
      cls = optarg[0] != '\0' && optarg[1] == '\0' ? optarg[0] : '?';
      break;
    case 'w':
      workers = (unsigned)bench_parse_u64("--workers", optarg, 1, 256);
      break;
    case 'r':
      repeats = (unsigned)bench_parse_u64("--repeats", optarg, 1, MAX_REPEATS);
      break;
    case 'k':
      do_check = 1;
      break;
    default:
      printf("usage: bench_ep [--class S|W|A|B|C|D] [--workers W] "
             "[--repeats R] [--check]\n");
      return ch == 'h' ? 0 : 2;
    }
  }
  const ep_class *c = ep_class_find(cls);
  if (c == NULL)
    die("--class", "one of S, W, A, B, C, D");
  if (do_check)
    return check(c);

  sharc_pool *pool = make_pool(workers);
  bench_pin_omp_to_pool(pool, workers);
  double ts[MAX_REPEATS], to[MAX_REPEATS], cs[MAX_REPEATS], co[MAX_REPEATS];
  ep_result rs, ro;
  int ok = 1;
  for (unsigned k = 0; k < repeats; k++) {
    sharc_report rep = SHARC_REPORT_INIT;
    double t0 = bench_now_s();
    if (ep_run_sharc(pool, c, NULL, &rs, &rep) != 0)
      die("sharc_run", sharc_pool_errmsg(pool));
    ts[k] = bench_now_s() - t0;
    cs[k] = 0;
    for (unsigned w = 0; w < rep.nworkers && rep.workers != NULL; w++)
      cs[k] += rep.workers[w].cpu_s;
    sharc_report_free(&rep);
    double c0 = cpu_now_s();
    t0 = bench_now_s();
    if (run_omp(workers, c, &ro) != 0)
      die("OpenMP", "a batch failed");
    to[k] = bench_now_s() - t0;
    co[k] = cpu_now_s() - c0;
    ok &= ep_verified(c, &rs) && ep_verified(c, &ro);
    printf("repeat %u: wall sharc %.3f s, OpenMP %.3f s; cpu sharc %.3f s, "
           "OpenMP %.3f s\n",
           k + 1, ts[k], to[k], cs[k], co[k]);
    fflush(stdout);
  }
  show("sharc", c, &rs);
  show("OpenMP", c, &ro);
  qsort(ts, repeats, sizeof ts[0], bench_cmp_double);
  qsort(to, repeats, sizeof to[0], bench_cmp_double);
  qsort(cs, repeats, sizeof cs[0], bench_cmp_double);
  qsort(co, repeats, sizeof co[0], bench_cmp_double);
  double ms = ts[repeats / 2], mo = to[repeats / 2];
  printf("class %c, %u workers, %u repeats: median sharc %.3f s, OpenMP "
         "%.3f s, sharc / OpenMP %.3f; Mop/s sharc %.1f, OpenMP %.1f\n",
         c->name, workers, repeats, ms, mo, ms / mo,
         ldexp(1.0, c->m + 1) / ms * 1e-6, ldexp(1.0, c->m + 1) / mo * 1e-6);
  printf("class %c, %u workers: median CPU time sharc %.3f s, OpenMP %.3f s, "
         "sharc / OpenMP %.3f\n",
         c->name, workers, cs[repeats / 2], co[repeats / 2],
         cs[repeats / 2] / co[repeats / 2]);
  sharc_pool_destroy(pool);
  return ok ? 0 : 1;
}
