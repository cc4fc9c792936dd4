/* sharc run: a built-in kernel over [0, n) with its report. */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <sharc.h>

#include "apps.h"
#include "cmd.h"
#include "mpi_run.h"
#include "opts.h"
#include "progress.h"

static void usage(FILE *out) {
  fprintf(out,
          "usage: sharc run KERNEL [--n N] [--workers W] [--start M] "
          "[--schedule S]\n                 "
          "[-p KEY=VALUE,...] [--verify] [--json] [-q]\n"
          "                 [--trace FILE] [--retries R] [--on-poison "
          "quarantine|stop]\n"
          "                 [--timeout S] [--timeout-x X] [--recycle-chunks N]\n"
          "                 [--recycle-rss MIB] [--out FILE [--resume]]\n\n"
          "Runs a built-in kernel over the indices [0, N) on W pinned worker\n"
          "processes and prints its result and the job's report.\n\n"
          "  --n N           index count (default: the kernel's own; 1e6 and "
          "2^20 work)\n"
          "  --workers W     worker processes (default: one per usable PU)\n"
          "  --start M       how workers start: fork (the default, or "
          "$SHARC_START),\n"
          "                  forkserver or spawn\n"
          "  --schedule S    auto[:K] (the default) | static[:K] | "
          "dynamic[:K] |\n"
          "                  guided[:K] | fac2[:K] | wf[:K]\n"
          "  -p, --param P   kernel parameters, KEY=VALUE[,KEY=VALUE...] "
          "(may\n"
          "                  be repeated; a key given twice is an error)\n"
          "  --verify        recompute sequentially and compare bit for bit\n"
          "  --json          print one JSON object instead of text\n"
          "  --pages         report where each array's pages are, per NUMA "
          "node,\n"
          "                  against the placement plan\n"
          "  -q, --quiet     no progress on stderr (by default a bar on a "
          "terminal,\n"
          "                  else a line every 2 s, for jobs over 0.5 s)\n"
          "  --trace FILE    record every chunk (worker, times, range) in "
          "FILE (new,\n"
          "                  or a regular file it replaces);\n"
          "                  'sharc report FILE' summarises and draws it\n"
          "%s"
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
          "                  FILE.journal does not mark done (all of FILE if "
          "the run\n"
          "                  died before writing FILE.journal)\n\n"
          "Ctrl-C or SIGTERM stops the job within 100 ms, prints the partial "
          "report\n"
          "and exits 128 + the signal; a second Ctrl-C ends it at once.\n\n"
          "kernels:\n",
          tool_fault_help);
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
  const char *start;
  sharc_schedule schedule;
  const char *params;
  const char *trace;
  int verify, json, quiet, pages;
  sharc_fault_policy fault;
  const char *out;
  int resume;
  int no_journal; /* --resume, but the run died before writing a journal */
  char params_buf[4096]; /* -p given more than once, joined */
} run_args;

static int parse(int argc, char **argv, run_args *r) {
  static const struct option longs[] = {
      {"n", required_argument, NULL, 'n'},
      {"workers", required_argument, NULL, 'w'},
      {"start", required_argument, NULL, 'S'},
      {"schedule", required_argument, NULL, 's'},
      {"param", required_argument, NULL, 'p'},
      {"verify", no_argument, NULL, 'V'},
      {"json", no_argument, NULL, 'j'},
      {"quiet", no_argument, NULL, 'q'},
      {"pages", no_argument, NULL, 'P'},
      {"trace", required_argument, NULL, 't'},
      TOOL_FAULT_LONGOPTS,
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
  while ((c = getopt_long(argc, argv, "n:w:s:p:qh", longs, NULL)) != -1) {
    if (tool_is_fault_opt(c)) {
      int rc = tool_parse_fault("run", c, optarg, &r->fault);
      if (rc != 0)
        return rc;
      continue;
    }
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
    case 'S':
      r->start = optarg;
      break;
    case 's':
      if (sharc_schedule_parse(optarg, &r->schedule) != 0)
        return tool_fail("run", 2,
                         "--schedule: '%s' is not static[:K], dynamic[:K], "
                         "guided[:K], auto[:K], fac2[:K] or wf[:K]", optarg);
      break;
    case 'p':
      if (tool_add_params("run", &r->params, optarg, r->params_buf,
                          sizeof r->params_buf) != 0)
        return 2;
      break;
    case 'V':
      r->verify = 1;
      break;
    case 'j':
      r->json = 1;
      break;
    case 'q':
      r->quiet = 1;
      break;
    case 'P':
      r->pages = 1;
      break;
    case 't':
      r->trace = optarg;
      break;
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
  char msg[512];
  if (sharc_app_params_repeated(r->app->name, r->params, msg, sizeof msg))
    return tool_fail("run", 2, "%s", msg);
  return 0;
}

static const char *file_kind(mode_t mode) {
  return S_ISDIR(mode)    ? "a directory"
         : S_ISLNK(mode)  ? "a symbolic link"
         : S_ISFIFO(mode) ? "a FIFO"
         : S_ISCHR(mode)  ? "a character device"
         : S_ISBLK(mode)  ? "a block device"
         : S_ISSOCK(mode) ? "a socket"
                          : "not a regular file";
}

/* Appends word to buf, single-quoted when the shell would change it. */
static void append_word(char *buf, size_t len, const char *word) {
  size_t used = strlen(buf);
  int plain = word[0] != '\0';
  for (const char *c = word; *c; c++)
    plain &= strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                    "0123456789_./=,:^+-",
                    *c) != NULL;
  if (used + 1 >= len)
    return;
  int n = snprintf(buf + used, len - used, plain ? " %s" : " '%s'", word);
  if (n < 0 || (size_t)n >= len - used)
    buf[used] = '\0'; /* too long to show whole: leave it out */
}

/* The command line given, with --resume added: what continues the run. */
static void resume_command(int argc, char **argv, char *buf, size_t len) {
  snprintf(buf, len, "sharc");
  for (int i = 0; i < argc; i++)
    append_word(buf, len, argv[i]);
  append_word(buf, len, "--resume");
}

/* Checks what is at the output paths before any worker starts. --out FILE
 * must be new; after an interrupted run, the message says how to continue
 * it. --resume needs FILE; with no journal beside it (the run died before
 * writing its first one; an empty journal is what an older sharc left
 * then), nothing counts as done and the whole of FILE is computed again. */
static int check_paths(run_args *r, int argc, char **argv) {
  struct stat st;
  if (r->trace != NULL && lstat(r->trace, &st) == 0 && !S_ISREG(st.st_mode))
    return tool_fail("run", 1,
                     "--trace %s: is %s, not a regular file; refusing to "
                     "replace it",
                     r->trace, file_kind(st.st_mode));
  if (r->out == NULL)
    return 0;
  char journal[4096];
  if (snprintf(journal, sizeof journal, "%s.journal", r->out) >=
      (int)sizeof journal)
    return tool_fail("run", 2, "--out: path too long");
  if (lstat(r->out, &st) != 0) {
    if (r->resume)
      return tool_fail("run", 1,
                       "%s: does not exist, so there is nothing to resume "
                       "(run without --resume to start)",
                       r->out);
    return 0;
  }
  if (!S_ISREG(st.st_mode))
    return tool_fail("run", 1, "--out %s: is %s, not a regular file", r->out,
                     file_kind(st.st_mode));
  if (!r->resume) {
    char cmd[8192];
    resume_command(argc, argv, cmd, sizeof cmd);
    return tool_fail("run", 1,
                     "%s: already exists; to continue the interrupted run "
                     "that wrote it: %s (or remove %s to start again)",
                     r->out, cmd, r->out);
  }
  struct stat js;
  r->no_journal =
      lstat(journal, &js) != 0 || (S_ISREG(js.st_mode) && js.st_size == 0);
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
  o.census = r->pages;
  char journal[4096];
  if (r->out != NULL) {
    if (snprintf(journal, sizeof journal, "%s.journal", r->out) >=
        (int)sizeof journal)
      return tool_fail("run", 2, "--out: path too long");
    sharc_app_out = (sharc_app_output){r->out, r->resume};
    o.journal_path = journal;
    o.resume = r->resume && !r->no_journal;
  }
  void *state = NULL;
  int rc = r->app->setup(pool, r->n, r->params, &o, &state, msg, sizeof msg);
  if (rc != 0)
    return tool_fail("run", 1, "%s", msg);
  if (r->no_journal) {
    /* Without a journal nothing vouches that FILE is this job's output:
     * at least its size must be exactly that of the output array. */
    struct stat st;
    uint64_t want = o.narrays > 0 ? sharc_array_nbytes(o.arrays[0]) : 0;
    if (stat(r->out, &st) != 0)
      st.st_size = -1;
    if ((uint64_t)st.st_size != want) {
      r->app->teardown(state);
      return tool_fail("run", 1,
                       "%s: %lld bytes, but this run's output is %llu: not "
                       "the output of this command",
                       r->out, (long long)st.st_size, (unsigned long long)want);
    }
    fprintf(stderr,
            "sharc run: %s: no journal %s (the run died before writing one): "
            "computing all of it\n",
            r->out, journal);
  }
  if (tool_mpi_active()) { /* mpirun -np N sharc run ... */
    int status = tool_mpi_run("run", pool, r->app, state, r->n, &o, r->json,
                              r->verify);
    r->app->teardown(state);
    return status;
  }
  sharc_job *job;
  rc = tool_run_job("run", pool, r->app->kernel, r->n, &o, r->quiet, &job);
  const sharc_report *rep = sharc_job_report(job);
  const char *why = job ? sharc_job_errmsg(job) : sharc_strerror(rc);
  int status = 0;
  if (rc == SHARC_ECANCELED) {
    /* What was done is worth seeing; the result is not complete. */
    sharc_report_print(rep, stdout);
    fflush(stdout);
    tool_fail("run", 1, "interrupted by signal %d: %s", (int)interrupted_by,
              why);
    status = 128 + (interrupted_by ? (int)interrupted_by : SIGINT);
  } else if (rc == SHARC_EQUARANTINED) {
    /* Finished, less the poison: show what was computed, then say so. */
    output(r, state, rep);
    status = tool_fail("run", 1, "%s", why);
  } else if (rc != 0) {
    status = tool_fail("run", 1, "%s", why);
  } else if (r->verify && r->app->verify(state, msg, sizeof msg) != 0) {
    status = tool_fail("run", 1, "verification failed: %s", msg);
  } else {
    output(r, state, rep);
  }
  sharc_job_free(job);
  r->app->teardown(state);
  return status;
}

int sharc_cmd_run(int argc, char **argv) {
  run_args r;
  memset(&r, 0, sizeof r);
  r.schedule = (sharc_schedule)SHARC_SCHEDULE_DEFAULT;
  r.fault = (sharc_fault_policy)SHARC_FAULT_POLICY_INIT;
  int rc = parse(argc, argv, &r);
  if (rc != 0)
    return rc < 0 ? 0 : rc;
  if ((rc = check_paths(&r, argc, argv)) != 0)
    return rc;
  sharc_pool_opts po = SHARC_POOL_OPTS_INIT;
  po.workers = r.workers;
  char module[4096];
  if ((rc = tool_parse_start("run", r.start, &po, module, sizeof module)) != 0)
    return rc;
  if (tool_mpi_launched() &&
      (rc = tool_mpi_start("run", r.start,
                           r.trace ? "--trace" : r.out ? "--out" : NULL,
                           &po)) != 0)
    return rc;
  sharc_pool *pool;
  char msg[512];
  rc = tool_mpi_pool_create(&pool, &po, msg, sizeof msg);
  if (rc != 0)
    return tool_fail("run", 1, "cannot start workers: %s", msg);
  catch_interrupts(pool);
  int status = run_job(&r, pool);
  interrupted_pool = NULL;
  sharc_pool_destroy(pool);
  tool_mpi_end();
  return status;
}
