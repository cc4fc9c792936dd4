/* `sharc topo`: the machine's (or a synthetic) topology and the placement
 * plan a pool of W workers would get on it. */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>

#include <sharc.h>

#include "cmd.h"

static void usage(FILE *out) {
  fputs(
      "usage: sharc topo [--workers W] [--synthetic STR] [--check-pages MIB]\n"
      "\n"
      "Prints the topology (packages, NUMA nodes, caches, cores, PUs; on\n"
      "this machine * marks the PUs this process may use), the NUMA node\n"
      "distances (this machine) and the placement plan for W workers\n"
      "(default: one per usable PU).\n"
      "\n"
      "  -w, --workers W      number of workers (0: one per usable PU)\n"
      "  -s, --synthetic STR  an hwloc synthetic topology instead of this\n"
      "                       machine, e.g. \"pack:2 numa:2 core:8 pu:1\"\n"
      "  -p, --check-pages MIB  start a pool of W workers, have them write\n"
      "                       an array of MIB MiB, then ask the kernel on\n"
      "                       which NUMA node each page is (move_pages)\n"
      "                       and compare with the plan\n"
      "  -h, --help           this text\n",
      out);
}

/* Writes every element: the pages then hold data wherever they are. */
static int topo_touch(const sharc_task *t, uint64_t begin, uint64_t end) {
  double *a = sharc_task_array(t, 0);
  for (uint64_t i = begin; i < end; i++)
    a[i] = (double)i;
  return 0;
}
SHARC_KERNEL_NAMED("sharc.topo.touch", topo_touch)

/* The node distance matrix, as the firmware reports it. */
static void print_distances(void) {
  int max = sharc_numa_max_node();
  if (max < 0) {
    printf("\nNUMA distances: %s\n", sharc_strerror(max));
    return;
  }
  printf("\nNUMA distances (10: local):\n%6s", "node");
  for (int b = 0; b <= max; b++)
    printf(" %5d", b);
  putchar('\n');
  for (int a = 0; a <= max; a++) {
    printf("%6d", a);
    for (int b = 0; b <= max; b++) {
      int d = sharc_numa_distance(a, b);
      if (d < 0)
        printf(" %5s", "-");
      else
        printf(" %5d", d);
    }
    putchar('\n');
  }
}

/* A pool as the plan says, an array its workers write, and where its
 * pages are. Returns 0 when every page is where the plan wants it. */
static int check_pages(unsigned workers, unsigned mib) {
  sharc_pool_opts po = SHARC_POOL_OPTS_INIT;
  po.workers = workers;
  sharc_pool *pool;
  char msg[256] = "";
  int rc = sharc_pool_create(&pool, &po, msg, sizeof msg);
  if (rc != 0) {
    fprintf(stderr, "sharc topo: starting a pool: %s\n",
            msg[0] ? msg : sharc_strerror(rc));
    return 1;
  }
  uint64_t n = (uint64_t)mib * 1024 * 1024 / sizeof(double);
  sharc_array *a = NULL;
  rc = sharc_array_create(pool, SHARC_F64, 1, &n, NULL, &a);
  sharc_job_opts o = SHARC_JOB_OPTS_INIT;
  o.arrays = &a;
  o.narrays = 1;
  if (rc == 0)
    rc = sharc_run(pool, "sharc.topo.touch", n, &o, NULL);
  /* per node, for every node the machine has */
  int max_node = sharc_numa_max_node();
  uint64_t per_node[1024] = {0};
  sharc_page_census c = SHARC_PAGE_CENSUS_INIT;
  c.on_node = per_node;
  c.max_nodes = max_node >= 0 && max_node < 1024 ? (unsigned)max_node + 1 : 1024;
  if (rc == 0)
    rc = sharc_array_page_census(pool, a, &c);
  if (rc != 0) {
    fprintf(stderr, "sharc topo: checking pages: %s\n",
            sharc_pool_errmsg(pool)[0] ? sharc_pool_errmsg(pool)
                                       : sharc_strerror(rc));
    sharc_pool_destroy(pool);
    return 1;
  }
  printf("\npages: %u MiB array written by %u workers, %llu pages of %ld "
         "bytes\n",
         mib, sharc_pool_size(pool), (unsigned long long)c.pages, c.page_size);
  for (unsigned k = 0; k < c.max_nodes; k++)
    if (c.on_node[k] > 0)
      printf("  node %u: %llu pages\n", k, (unsigned long long)c.on_node[k]);
  if (c.other_nodes > 0)
    printf("  nodes >= %u: %llu pages\n", c.max_nodes,
           (unsigned long long)c.other_nodes);
  printf("  as planned: %llu, elsewhere: %llu, not in memory: %llu\n",
         (unsigned long long)c.as_planned, (unsigned long long)c.elsewhere,
         (unsigned long long)c.absent);
  sharc_pool_destroy(pool);
  return c.as_planned == c.pages ? 0 : 1;
}

/* Parses a whole decimal count; strtoul alone would accept "-1", " 4" and
 * "4x". */
static int parse_count(const char *s, unsigned *out) {
  if (s[0] < '0' || s[0] > '9')
    return -1;
  char *end;
  errno = 0;
  unsigned long v = strtoul(s, &end, 10);
  if (errno != 0 || *end != '\0' || v > UINT_MAX)
    return -1;
  *out = (unsigned)v;
  return 0;
}

static int usage_error(const char *what, const char *arg) {
  fprintf(stderr, "sharc topo: %s '%s' (see sharc topo --help)\n", what, arg);
  return 2;
}

/* The unknown option getopt rejected: optopt names a short one (which may
 * sit inside a bundle such as -hx, so argv cannot say which); for a long one
 * optopt is 0 and the word is the argument just consumed. */
static const char *bad_option(char **argv, char shortopt[3]) {
  if (optopt == 0)
    return argv[optind - 1];
  shortopt[0] = '-';
  shortopt[1] = (char)optopt;
  shortopt[2] = '\0';
  return shortopt;
}

static void print_plan(const sharc_plan *plan) {
  printf("\nplacement: %u worker%s on %u usable PU%s in %u NUMA node%s\n",
         plan->nworkers, plan->nworkers == 1 ? "" : "s", plan->npus,
         plan->npus == 1 ? "" : "s", plan->nnodes,
         plan->nnodes == 1 ? "" : "s");
  if (plan->oversubscribed)
    printf("oversubscribed: %u workers share %u PUs\n", plan->nworkers,
           plan->npus);
  printf("%8s %6s %6s %6s %6s\n", "worker", "PU", "core", "NUMA", "L3");
  for (unsigned i = 0; i < plan->nworkers; i++) {
    const sharc_placement *w = &plan->w[i];
    printf("%8u %6d", w->worker, w->pu);
    /* -1 means "none" (no core level, no NUMA info, no L3): a dash reads
     * better. */
    const int rest[3] = {w->core, w->numa, w->l3};
    for (int k = 0; k < 3; k++) {
      if (rest[k] < 0)
        printf(" %6s", "-");
      else
        printf(" %6d", rest[k]);
    }
    putchar('\n');
  }
}

static int run(unsigned workers, const char *synthetic, unsigned check_mib) {
  char msg[256] = "";
  sharc_plan plan = SHARC_PLAN_INIT;
  int rc = sharc_plan_make(synthetic, workers, &plan, msg, sizeof msg);
  if (rc < 0) {
    fprintf(stderr, "sharc topo: %s\n", msg[0] ? msg : sharc_strerror(rc));
    return 1;
  }
  rc = sharc_topo_print(stdout, synthetic);
  if (rc < 0) {
    fprintf(stderr, "sharc topo: printing the topology: %s\n",
            sharc_strerror(rc));
    sharc_plan_free(&plan);
    return 1;
  }
  if (synthetic == NULL)
    print_distances();
  print_plan(&plan);
  sharc_plan_free(&plan);
  if (check_mib > 0 && check_pages(workers, check_mib) != 0) {
    fflush(stdout);
    return 1;
  }
  if (fflush(stdout) != 0) {
    fprintf(stderr, "sharc topo: writing output: %s\n", sharc_strerror(-errno));
    return 1;
  }
  return 0;
}

int sharc_cmd_topo(int argc, char **argv) {
  static const struct option longopts[] = {
      {"workers", required_argument, NULL, 'w'},
      {"synthetic", required_argument, NULL, 's'},
      {"check-pages", required_argument, NULL, 'p'},
      {"help", no_argument, NULL, 'h'},
      {NULL, 0, NULL, 0},
  };
  unsigned workers = 0;
  unsigned check_mib = 0;
  const char *synthetic = NULL;
  char shortopt[3];
  /* Another command may have run getopt in this process; glibc resets
   * its state fully only for optind 0. Errors are printed here, in the
   * tool's one-line format. */
  optind = 0;
  opterr = 0;
  int c;
  while ((c = getopt_long(argc, argv, ":w:s:p:h", longopts, NULL)) != -1) {
    switch (c) {
    case 'w':
      if (parse_count(optarg, &workers) < 0)
        return usage_error("bad worker count", optarg);
      break;
    case 's':
      synthetic = optarg;
      break;
    case 'p':
      if (parse_count(optarg, &check_mib) < 0 || check_mib == 0 ||
          check_mib > 1024 * 1024)
        return usage_error("bad size in MiB", optarg);
      break;
    case 'h':
      usage(stdout);
      return 0;
    case ':': /* optopt is the option's letter for both spellings */
      return usage_error("missing argument for", optopt == 'w' ? "--workers"
                                                 : optopt == 'p'
                                                     ? "--check-pages"
                                                     : "--synthetic");
    default:
      return usage_error("unknown option", bad_option(argv, shortopt));
    }
  }
  if (optind < argc)
    return usage_error("unexpected argument", argv[optind]);
  if (check_mib > 0 && synthetic != NULL)
    return usage_error("--check-pages needs this machine, not", synthetic);
  return run(workers, synthetic, check_mib);
}
