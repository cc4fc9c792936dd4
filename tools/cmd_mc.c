/* sharc mc: a Monte Carlo model over N paths, with its estimate, standard
 * error, 95% confidence interval and the exact value where one is known. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sharc.h>

#include "cmd.h"
#include "mc.h"
#include "opts.h"
#include "progress.h"

static void usage(FILE *out) {
  fprintf(out,
          "usage: sharc mc MODEL [--paths N] [--seed S] [--workers W] "
          "[--schedule S] [--block B] [-p KEY=VALUE,...] [-q]\n"
          "                [--retries R] [--on-poison quarantine|stop] "
          "[--timeout S] [--timeout-x X]\n\n"
          "Runs a Monte Carlo model over N paths on W pinned worker processes\n"
          "and prints the estimate, its standard error and 95%% confidence\n"
          "interval, the exact value where one is known, and paths per "
          "second.\n"
          "Path i draws from the random stream (seed, i) and the mean is a\n"
          "deterministic reduction: every line but the last is identical for\n"
          "every worker count and schedule.\n\n"
          "  --paths N       paths (default: the model's own; 1e6 and 2^20 "
          "work)\n"
          "  --seed S        random seed (default 42)\n"
          "  --workers W     worker processes (default: one per usable PU)\n"
          "  --schedule S    auto[:K] (the default) | static[:K] | "
          "dynamic[:K] |\n"
          "                  guided[:K] | fac2[:K] | wf[:K]\n"
          "  --block B       reduction block in paths (default: chosen from "
          "N)\n"
          "  -p, --param P   model parameters, KEY=VALUE[,KEY=VALUE...] "
          "(may\n"
          "                  be repeated; a key given twice is an error)\n"
          "  -q, --quiet     no progress on stderr (by default a bar on a "
          "terminal,\n"
          "                  else a line every 2 s, for runs over 0.5 s)\n"
          "%s\n"
          "A result is printed only when every path ran: with quarantined "
          "paths the\n"
          "estimate would be of other paths, so mc exits 1 naming them.\n\n"
          "models:\n",
          tool_fault_help);
  for (unsigned i = 0; mc_models[i] != NULL; i++) {
    const mc_model *m = mc_models[i];
    fprintf(out, "  %-9s %s (default paths %llu)\n", m->name, m->summary,
            (unsigned long long)m->default_paths);
    fprintf(out, "  %-9s   params: %s\n", "", m->params);
  }
}

typedef struct mc_opts {
  const mc_model *model;
  uint64_t paths, seed, block;
  unsigned workers;
  int quiet;
  sharc_schedule schedule;
  const char *params;
  sharc_fault_policy fault;
  char params_buf[4096]; /* -p given more than once, joined */
  unsigned char args[256] __attribute__((aligned(16))); /* the model's */
} mc_opts;

static int parse_u64_opt(const char *name, const char *text, uint64_t *out) {
  if (tool_parse_u64(text, out) != 0)
    return tool_fail("mc", 2, "%s: '%s' is not a count", name, text);
  return 0;
}

static int parse(int argc, char **argv, mc_opts *m) {
  static const struct option longs[] = {
      {"paths", required_argument, NULL, 'n'},
      {"seed", required_argument, NULL, 'S'},
      {"workers", required_argument, NULL, 'w'},
      {"schedule", required_argument, NULL, 's'},
      {"block", required_argument, NULL, 'b'},
      {"param", required_argument, NULL, 'p'},
      {"quiet", no_argument, NULL, 'q'},
      TOOL_FAULT_LONGOPTS,
      {"help", no_argument, NULL, 'h'},
      {NULL, 0, NULL, 0}};
  int have_paths = 0, c, rc = 0;
  uint64_t v;
  optind = 1;
  opterr = 0;
  while (rc == 0 && (c = getopt_long(argc, argv, "p:qh", longs, NULL)) != -1) {
    if (tool_is_fault_opt(c)) {
      rc = tool_parse_fault("mc", c, optarg, &m->fault);
      continue;
    }
    switch (c) {
    case 'n':
      rc = parse_u64_opt("--paths", optarg, &m->paths);
      if (rc == 0 && (m->paths == 0 || m->paths > (UINT64_C(1) << 62)))
        rc = tool_fail("mc", 2, "--paths: '%s' is not 1..2^62", optarg);
      have_paths = 1;
      break;
    case 'S':
      rc = parse_u64_opt("--seed", optarg, &m->seed);
      break;
    case 'b':
      rc = parse_u64_opt("--block", optarg, &m->block);
      if (rc == 0 && (m->block == 0 || m->block > (UINT64_C(1) << 62)))
        rc = tool_fail("mc", 2, "--block: '%s' is not 1..2^62", optarg);
      break;
    case 'w':
      if (tool_parse_u64(optarg, &v) != 0 || v == 0 || v > 4096)
        return tool_fail("mc", 2, "--workers: '%s' is not 1..4096", optarg);
      m->workers = (unsigned)v;
      break;
    case 's':
      if (sharc_schedule_parse(optarg, &m->schedule) != 0)
        return tool_fail("mc", 2,
                         "--schedule: '%s' is not auto[:K], static[:K], "
                         "dynamic[:K], guided[:K], fac2[:K] or wf[:K]",
                         optarg);
      break;
    case 'p':
      rc = tool_add_params("mc", &m->params, optarg, m->params_buf,
                           sizeof m->params_buf);
      break;
    case 'q':
      m->quiet = 1;
      break;
    case 'h':
      usage(stdout);
      return -1;
    default:
      return tool_fail("mc", 2, "unknown or incomplete option '%s'",
                       argv[optind - 1]);
    }
  }
  if (rc != 0)
    return rc;
  if (optind != argc - 1)
    return tool_fail("mc", 2, "expected one MODEL (try 'sharc mc --help')");
  m->model = mc_model_find(argv[optind]);
  if (m->model == NULL)
    return tool_fail("mc", 2, "unknown model '%s' (try 'sharc mc --help')",
                     argv[optind]);
  if (!have_paths)
    m->paths = m->model->default_paths;
  /* Parameters are checked before any worker starts. */
  char msg[512];
  if (m->model->args_size > sizeof m->args)
    return tool_fail("mc", 1, "%s: arguments too large", m->model->name);
  if (m->model->parse(m->params, m->seed, m->args, msg, sizeof msg) != 0)
    return tool_fail("mc", 2, "%s", msg);
  return 0;
}

static void print_quantity(const mc_model *model, const void *args, unsigned q,
                           const sharc_reduce_result *r) {
  double half = SHARC_Z95 * r->sem;
  printf("%-12s %.12g  stderr %.6g  95%% CI [%.10g, %.10g]\n",
         model->quantity[q], r->mean, r->sem, r->mean - half, r->mean + half);
  double exact;
  const char *source = NULL;
  if (!model->reference(args, q, &exact, &source))
    return;
  double off = r->sem > 0 ? (r->mean - exact) / r->sem : 0.0;
  printf("  %s %.12g: %s the interval (%+.2f standard errors)\n", source, exact,
         r->mean - half <= exact && exact <= r->mean + half ? "inside"
                                                            : "outside",
         off);
}

static int run_model(const mc_opts *m, sharc_pool *pool) {
  const mc_model *model = m->model;
  const void *args = m->args;
  char msg[512];
  sharc_job_opts o = SHARC_JOB_OPTS_INIT;
  o.schedule = m->schedule;
  o.args = args;
  o.args_len = model->args_size;
  o.reduce_block = m->block;
  o.measure_rusage = 0;
  o.fault = m->fault;
  sharc_reduce_spec specs[MC_MAX_QUANTITIES + 1];
  sharc_reduce_result res[MC_MAX_QUANTITIES + 1];
  if (mc_model_declare(model, &o, specs, res) != 0)
    return tool_fail("mc", 1, "%s: cannot declare its reductions", model->name);
  sharc_job *job;
  int rc = tool_run_job("mc", pool, model->kernel, m->paths, &o, m->quiet,
                        &job);
  if (rc != 0) {
    tool_fail("mc", 1, "%s", job ? sharc_job_errmsg(job) : sharc_strerror(rc));
    sharc_job_free(job);
    return 1;
  }
  const sharc_report *rep = sharc_job_report(job);
  model->describe(args, msg, sizeof msg);
  printf("%s: %s\n", model->name, msg);
  printf("paths %llu  seed %llu\n", (unsigned long long)m->paths,
         (unsigned long long)m->seed);
  for (unsigned q = 0; q < model->nquant; q++)
    print_quantity(model, args, q, &res[q]);
  if (model->longest)
    printf("longest path %llu: %.0f %s\n",
           (unsigned long long)res[model->nquant].index,
           res[model->nquant].value, model->quantity[0]);
  char sched[64];
  sharc_schedule_format(m->schedule, sched, sizeof sched);
  printf("paths/s %.4g  (%.3f s, %u workers, %s)\n",
         rep->wall_s > 0 ? (double)m->paths / rep->wall_s : 0.0, rep->wall_s,
         rep->nworkers, sched);
  sharc_job_free(job);
  return 0;
}

int sharc_cmd_mc(int argc, char **argv) {
  mc_opts m;
  memset(&m, 0, sizeof m);
  m.seed = 42;
  m.schedule = (sharc_schedule)SHARC_SCHEDULE_DEFAULT;
  m.fault = (sharc_fault_policy)SHARC_FAULT_POLICY_INIT;
  int rc = parse(argc, argv, &m);
  if (rc != 0)
    return rc < 0 ? 0 : rc;
  sharc_pool_opts po = SHARC_POOL_OPTS_INIT;
  po.workers = m.workers;
  sharc_pool *pool;
  char msg[512];
  rc = sharc_pool_create(&pool, &po, msg, sizeof msg);
  if (rc != 0)
    return tool_fail("mc", 1, "cannot start workers: %s", msg);
  int status = run_model(&m, pool);
  sharc_pool_destroy(pool);
  return status;
}
