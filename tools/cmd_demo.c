/* sharc demo: the main job on built-in defaults — a Monte Carlo estimate
 * and a STREAM triad over large shared arrays, each on every worker and on
 * one, so the speed-up is measured rather than claimed. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include <sharc.h>

#include "apps.h"
#include "cmd.h"
#include "opts.h"

typedef struct demo_args {
  unsigned workers;
  uint64_t pi_n, triad_n;
  unsigned repeats;
} demo_args;

static void usage(FILE *out) {
  fprintf(out,
          "usage: sharc demo [--workers W] [--pi-n N] [--triad-n N] "
          "[--repeats R]\n\n"
          "Runs Monte Carlo pi (256 samples per index) and a STREAM triad\n"
          "over three shared float64 arrays, with W workers and with one,\n"
          "and prints placement, chunks, the reports and the speed-up.\n"
          "Each figure is the best of R runs (default 3).\n");
}

/* Runs app on pool `repeats` times; keeps the fastest report. */
static int best_of(sharc_pool *pool, const sharc_app *app, uint64_t n,
                   unsigned repeats, sharc_report *best, void **state_out) {
  char msg[512];
  sharc_job_opts o = SHARC_JOB_OPTS_INIT;
  void *state = NULL;
  if (app->setup(pool, n, NULL, &o, &state, msg, sizeof msg) != 0)
    return tool_fail("demo", 1, "%s", msg);
  memset(best, 0, sizeof *best);
  for (unsigned i = 0; i < repeats; i++) {
    sharc_report rep = SHARC_REPORT_INIT;
    if (sharc_run(pool, app->kernel, n, &o, &rep) != 0) {
      app->teardown(state);
      sharc_report_free(best);
      return tool_fail("demo", 1, "%s", sharc_pool_errmsg(pool));
    }
    if (best->workers == NULL || rep.wall_s < best->wall_s) {
      sharc_report_free(best);
      *best = rep;
    } else {
      sharc_report_free(&rep);
    }
  }
  if (state_out != NULL)
    *state_out = state;
  else
    app->teardown(state);
  return 0;
}

static void print_plan(const sharc_pool *pool) {
  const sharc_plan *p = sharc_pool_plan(pool);
  printf("%u workers on %u usable PUs in %u NUMA node(s)%s\n", p->nworkers,
         p->npus, p->nnodes, p->oversubscribed ? " (oversubscribed)" : "");
  for (unsigned w = 0; w < p->nworkers; w++)
    printf("  worker %u: pid %d on PU %d (core %d, NUMA node %d)\n", w,
           sharc_pool_worker_pid(pool, w), p->w[w].pu, p->w[w].core,
           p->w[w].numa);
}

static int demo_app(sharc_pool *many, sharc_pool *one, const sharc_app *app,
                    uint64_t n, unsigned repeats) {
  sharc_report rm = SHARC_REPORT_INIT, r1 = SHARC_REPORT_INIT;
  void *state = NULL;
  printf("\n== %s: %s, n = %llu ==\n", app->name, app->summary,
         (unsigned long long)n);
  if (best_of(many, app, n, repeats, &rm, &state) != 0)
    return 1;
  if (best_of(one, app, n, repeats, &r1, NULL) != 0) {
    app->teardown(state);
    sharc_report_free(&rm);
    return 1;
  }
  app->result(state, &rm, stdout, 0);
  sharc_report_print(&rm, stdout);
  printf("speed-up: %u workers %.3f s, 1 worker %.3f s -> %.2fx\n",
         rm.nworkers, rm.wall_s, r1.wall_s,
         rm.wall_s > 0 ? r1.wall_s / rm.wall_s : 0.0);
  app->teardown(state);
  sharc_report_free(&rm);
  sharc_report_free(&r1);
  return 0;
}

static int parse(int argc, char **argv, demo_args *d) {
  static const struct option longs[] = {
      {"workers", required_argument, NULL, 'w'},
      {"pi-n", required_argument, NULL, 'p'},
      {"triad-n", required_argument, NULL, 't'},
      {"repeats", required_argument, NULL, 'r'},
      {"help", no_argument, NULL, 'h'},
      {NULL, 0, NULL, 0}};
  int c;
  uint64_t v;
  optind = 1;
  opterr = 0;
  while ((c = getopt_long(argc, argv, "h", longs, NULL)) != -1) {
    if (c == 'h') {
      usage(stdout);
      return -1;
    }
    if (c == '?')
      return tool_fail("demo", 2, "unknown or incomplete option '%s'",
                       argv[optind - 1]);
    const char *name = c == 'w'   ? "--workers"
                       : c == 'p' ? "--pi-n"
                       : c == 't' ? "--triad-n"
                                  : "--repeats";
    uint64_t max = c == 'w' ? 4096 : c == 'r' ? 100 : UINT64_C(1) << 62;
    if (tool_parse_u64(optarg, &v) != 0 || v == 0 || v > max)
      return tool_fail("demo", 2, "%s: '%s' is not a count in 1..%llu", name,
                       optarg, (unsigned long long)max);
    if (c == 'w')
      d->workers = (unsigned)v;
    else if (c == 'p')
      d->pi_n = v;
    else if (c == 't')
      d->triad_n = v;
    else
      d->repeats = (unsigned)v;
  }
  if (optind != argc)
    return tool_fail("demo", 2, "unexpected argument '%s'", argv[optind]);
  return 0;
}

int sharc_cmd_demo(int argc, char **argv) {
  demo_args d = {0, sharc_app_pi.default_n, sharc_app_triad.default_n, 3};
  int rc = parse(argc, argv, &d);
  if (rc != 0)
    return rc < 0 ? 0 : rc;
  sharc_pool_opts po = SHARC_POOL_OPTS_INIT;
  po.workers = d.workers;
  sharc_pool *many = NULL, *one = NULL;
  char msg[512];
  if (sharc_pool_create(&many, &po, msg, sizeof msg) != 0)
    return tool_fail("demo", 1, "cannot start workers: %s", msg);
  po.workers = 1;
  if (sharc_pool_create(&one, &po, msg, sizeof msg) != 0) {
    sharc_pool_destroy(many);
    return tool_fail("demo", 1, "cannot start a worker: %s", msg);
  }
  printf("sharc %s demo\n", sharc_version());
  print_plan(many);
  printf("pool start-up: %.2f ms\n", sharc_pool_startup_seconds(many) * 1e3);
  int status = demo_app(many, one, &sharc_app_pi, d.pi_n, d.repeats);
  if (status == 0)
    status = demo_app(many, one, &sharc_app_triad, d.triad_n, d.repeats);
  sharc_pool_destroy(one);
  sharc_pool_destroy(many);
  return status;
}
