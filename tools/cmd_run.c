/* sharc run: a built-in kernel over [0, n) with its report. */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sharc.h>

#include "apps.h"
#include "cmd.h"
#include "opts.h"

static void usage(FILE *out) {
  fprintf(out,
          "usage: sharc run KERNEL [--n N] [--workers W] [--schedule S] "
          "[-p KEY=VALUE,...] [--verify] [--json]\n"
          "                 [--trace FILE] [--retries R] [--on-poison "
          "quarantine|stop]\n"
          "                 [--timeout S] [--timeout-x X] [--recycle-chunks N]\n"
          "                 [--recycle-rss MIB] [--out FILE [--resume]]\n\n"
          "Runs a built-in kernel over the indices [0, N) on W pinned worker\n"
          "processes and prints its result and the job's report.\n\n"
          "  --n N           index count (default: the kernel's own; 1e6 and "
          "2^20 work)\n"
          "  --workers W     worker processes (default: one per usable PU)\n"
          "  --schedule S    auto[:K] (the default) | static[:K] | "
          "dynamic[:K] |\n"
          "                  guided[:K] | fac2[:K] | wf[:K]\n"
          "  -p, --param P   kernel parameters, KEY=VALUE[,KEY=VALUE...]\n"
          "  --verify        recompute sequentially and compare bit for bit\n"
          "  --json          print one JSON object instead of text\n"
          "  --trace FILE    record every chunk (worker, times, range) in "
          "FILE;\n"
          "                  'sharc report FILE' summarises and draws it\n"
          "  --retries R     run ranges whose worker died or whose kernel "
          "failed\n"
          "                  again (the kernel must be idempotent), narrowing "
          "them\n"
          "                  down to the failing indices; an index failing "
          "alone R+1\n"
          "                  times is poison (default 0: the first failure "
          "fails)\n"
          "  --on-poison A   quarantine (leave it out, finish, exit 1 listing "
          "it;\n"
          "                  the default) or stop (fail at once, naming it)\n"
          "  --timeout S     a chunk running over S seconds gets its worker "
          "SIGTERM,\n"
          "                  then SIGKILL, and counts as failed\n"
          "  --timeout-x X   the same over X times the typical chunk time "
          "(>= 10 ms)\n"
          "  --recycle-chunks N  replace a worker after N chunks\n"
          "  --recycle-rss MIB   replace a worker whose private memory "
          "exceeds MIB MiB\n"
          "  --out FILE      write the kernel's output array to FILE (raw, C "
          "order,\n"
          "                  native byte order; created, must not exist), with "
          "a\n"
          "                  journal of finished blocks in FILE.journal\n"
          "  --resume        with --out: after an interrupted run, compute only "
          "what\n"
          "                  FILE.journal does not mark done\n\n"
          "Ctrl-C or SIGTERM stops the job within 100 ms, prints the partial "
          "report\n"
          "and exits 128 + the signal; a second Ctrl-C ends it at once.\n\n"
          "kernels:\n");
  for (unsigned i = 0; sharc_apps[i] != NULL; i++) {
    const sharc_app *a = sharc_apps[i];
    fprintf(out, "  %-11s %s (default n %llu)\n", a->name, a->summary,
            (unsigned long long)a->default_n);
    if (a->params != NULL && a->params[0])
      fprintf(out, "  %-11s   params: %s\n", "", a->params);
  }
}

typedef struct run_args {
  const sharc_app *app;
  uint64_t n;
  unsigned workers;
  sharc_schedule schedule;
  const char *params;
  const char *trace;
  int verify, json;
  sharc_fault_policy fault;
  const char *out;
  int resume;
} run_args;

static int parse(int argc, char **argv, run_args *r) {
  static const struct option longs[] = {
      {"n", required_argument, NULL, 'n'},
      {"workers", required_argument, NULL, 'w'},
      {"schedule", required_argument, NULL, 's'},
      {"param", required_argument, NULL, 'p'},
      {"verify", no_argument, NULL, 'V'},
      {"json", no_argument, NULL, 'j'},
      {"trace", required_argument, NULL, 't'},
      {"retries", required_argument, NULL, 'r'},
      {"on-poison", required_argument, NULL, 'P'},
      {"timeout", required_argument, NULL, 'T'},
      {"timeout-x", required_argument, NULL, 'X'},
      {"recycle-chunks", required_argument, NULL, 'C'},
      {"recycle-rss", required_argument, NULL, 'M'},
      {"out", required_argument, NULL, 'o'},
      {"resume", no_argument, NULL, 'R'},
      {"help", no_argument, NULL, 'h'},
      {NULL, 0, NULL, 0}};
  int have_n = 0, c;
  uint64_t v;
  optind = 1;
  opterr = 0;
  while ((c = getopt_long(argc, argv, "n:w:s:p:h", longs, NULL)) != -1) {
    switch (c) {
    case 'n':
      if (tool_parse_u64(optarg, &r->n) != 0)
        return tool_fail("run", 2, "--n: '%s' is not a count", optarg);
      have_n = 1;
      break;
    case 'w':
      if (tool_parse_u64(optarg, &v) != 0 || v == 0 || v > 4096)
        return tool_fail("run", 2, "--workers: '%s' is not 1..4096", optarg);
      r->workers = (unsigned)v;
      break;
    case 's':
      if (sharc_schedule_parse(optarg, &r->schedule) != 0)
        return tool_fail("run", 2,
                         "--schedule: '%s' is not static[:K], dynamic[:K], "
                         "guided[:K], auto[:K], fac2[:K] or wf[:K]", optarg);
      break;
    case 'p':
      r->params = optarg;
      break;
    case 'V':
      r->verify = 1;
      break;
    case 'j':
      r->json = 1;
      break;
    case 't':
      r->trace = optarg;
      break;
    case 'r':
      if (tool_parse_u64(optarg, &v) != 0 || v > 1000)
        return tool_fail("run", 2, "--retries: '%s' is not 0..1000", optarg);
      r->fault.retries = (unsigned)v;
      break;
    case 'T':
    case 'X': {
      char *end = NULL;
      double d = strtod(optarg, &end);
      if (end == optarg || *end != '\0' || !(d > 0 && d < 1e9))
        return tool_fail("run", 2, "%s: '%s' is not a positive number",
                         c == 'T' ? "--timeout" : "--timeout-x", optarg);
      if (c == 'T')
        r->fault.timeout_s = d;
      else
        r->fault.timeout_x = d;
      break;
    }
    case 'o':
      r->out = optarg;
      break;
    case 'R':
      r->resume = 1;
      break;
    case 'C':
      if (tool_parse_u64(optarg, &v) != 0 || v == 0)
        return tool_fail("run", 2, "--recycle-chunks: '%s' is not a count",
                         optarg);
      r->fault.recycle_chunks = v;
      break;
    case 'M':
      if (tool_parse_u64(optarg, &v) != 0 || v == 0 || v > (UINT64_C(1) << 30))
        return tool_fail("run", 2, "--recycle-rss: '%s' is not a size in MiB",
                         optarg);
      r->fault.recycle_rss = v << 20;
      break;
    case 'P':
      if (!strcmp(optarg, "quarantine"))
        r->fault.on_poison = SHARC_POISON_QUARANTINE;
      else if (!strcmp(optarg, "stop"))
        r->fault.on_poison = SHARC_POISON_STOP;
      else
        return tool_fail("run", 2,
                         "--on-poison: '%s' is not quarantine or stop", optarg);
      break;
    case 'h':
      usage(stdout);
      return -1;
    default:
      return tool_fail("run", 2, "unknown or incomplete option '%s'",
                       argv[optind - 1]);
    }
  }
  if (optind != argc - 1)
    return tool_fail("run", 2, "expected one KERNEL (try 'sharc run --help')");
  if (r->resume && r->out == NULL)
    return tool_fail("run", 2, "--resume needs --out FILE");
  r->app = sharc_app_find(argv[optind]);
  if (r->app == NULL)
    return tool_fail("run", 2, "unknown kernel '%s' (try 'sharc run --help')",
                     argv[optind]);
  if (!have_n)
    r->n = r->app->default_n;
  return 0;
}

static int output(const run_args *r, void *state, const sharc_report *rep) {
  if (r->json) {
    printf("{\"result\":");
    r->app->result(state, rep, stdout, 1);
    printf(",\"verified\":%s,\"report\":", r->verify ? "true" : "false");
    sharc_report_json(rep, stdout);
    printf("}\n");
    return 0;
  }
  r->app->result(state, rep, stdout, 0);
  if (r->verify)
    printf("verified: identical to a sequential run\n");
  sharc_report_print(rep, stdout);
  return 0;
}

/* Ctrl-C or SIGTERM cancels the job (sharc_pool_cancel is
 * async-signal-safe): workers stop claiming, the partial report is printed
 * and the tool exits 128 + the signal. A second signal kills the tool at
 * once (SA_RESETHAND). */
static sharc_pool *volatile interrupted_pool;
static volatile sig_atomic_t interrupted_by;

static void on_interrupt(int sig) {
  interrupted_by = sig;
  if (interrupted_pool != NULL)
    sharc_pool_cancel(interrupted_pool);
}

static void catch_interrupts(sharc_pool *pool) {
  interrupted_pool = pool;
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_interrupt;
  sa.sa_flags = SA_RESETHAND;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, NULL);
  sigaction(SIGTERM, &sa, NULL);
}

static int run_job(const run_args *r, sharc_pool *pool) {
  char msg[512];
  sharc_job_opts o = SHARC_JOB_OPTS_INIT;
  o.schedule = r->schedule;
  o.trace_path = r->trace;
  o.fault = r->fault;
  char journal[4096];
  if (r->out != NULL) {
    if (snprintf(journal, sizeof journal, "%s.journal", r->out) >=
        (int)sizeof journal)
      return tool_fail("run", 2, "--out: path too long");
    sharc_app_out = (sharc_app_output){r->out, r->resume};
    o.journal_path = journal;
    o.resume = r->resume;
  }
  void *state = NULL;
  int rc = r->app->setup(pool, r->n, r->params, &o, &state, msg, sizeof msg);
  if (rc != 0)
    return tool_fail("run", 1, "%s", msg);
  sharc_report rep;
  rc = sharc_run(pool, r->app->kernel, r->n, &o, &rep);
  int status = 0;
  if (rc == SHARC_ECANCELED) {
    /* What was done is worth seeing; the result is not complete. */
    sharc_report_print(&rep, stdout);
    fflush(stdout);
    tool_fail("run", 1, "interrupted by signal %d: %s", (int)interrupted_by,
              sharc_pool_errmsg(pool));
    status = 128 + (interrupted_by ? (int)interrupted_by : SIGINT);
  } else if (rc == SHARC_EQUARANTINED) {
    /* Finished, less the poison: show what was computed, then say so. */
    output(r, state, &rep);
    status = tool_fail("run", 1, "%s", sharc_pool_errmsg(pool));
  } else if (rc != 0) {
    status = tool_fail("run", 1, "%s", sharc_pool_errmsg(pool));
  } else if (r->verify && r->app->verify(state, msg, sizeof msg) != 0) {
    status = tool_fail("run", 1, "verification failed: %s", msg);
  } else {
    output(r, state, &rep);
  }
  sharc_report_free(&rep);
  r->app->teardown(state);
  return status;
}

int sharc_cmd_run(int argc, char **argv) {
  run_args r = {NULL, 0,    0, SHARC_SCHEDULE_DEFAULT, NULL,
                NULL, 0, 0, SHARC_FAULT_POLICY_INIT, NULL, 0};
  int rc = parse(argc, argv, &r);
  if (rc != 0)
    return rc < 0 ? 0 : rc;
  sharc_pool_opts po = SHARC_POOL_OPTS_INIT;
  po.workers = r.workers;
  sharc_pool *pool;
  char msg[512];
  rc = sharc_pool_create(&pool, &po, msg, sizeof msg);
  if (rc != 0)
    return tool_fail("run", 1, "cannot start workers: %s", msg);
  catch_interrupts(pool);
  int status = run_job(&r, pool);
  interrupted_pool = NULL;
  sharc_pool_destroy(pool);
  return status;
}
