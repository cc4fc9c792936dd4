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
  fputs("usage: sharc topo [--workers W] [--synthetic STR]\n"
        "\n"
        "Prints the topology (packages, NUMA nodes, caches, cores, PUs; on\n"
        "this machine * marks the PUs this process may use) and the\n"
        "placement plan for W workers (default: one per usable PU).\n"
        "\n"
        "  -w, --workers W      number of workers (0: one per usable PU)\n"
        "  -s, --synthetic STR  an hwloc synthetic topology instead of this\n"
        "                       machine, e.g. \"pack:2 numa:2 core:8 pu:1\"\n"
        "  -h, --help           this text\n",
        out);
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

static int run(unsigned workers, const char *synthetic) {
  char msg[256] = "";
  sharc_plan plan;
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
  print_plan(&plan);
  sharc_plan_free(&plan);
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
      {"help", no_argument, NULL, 'h'},
      {NULL, 0, NULL, 0},
  };
  unsigned workers = 0;
  const char *synthetic = NULL;
  char shortopt[3];
  /* Another command may have run getopt in this process; glibc resets
   * its state fully only for optind 0. Errors are printed here, in the
   * tool's one-line format. */
  optind = 0;
  opterr = 0;
  int c;
  while ((c = getopt_long(argc, argv, ":w:s:h", longopts, NULL)) != -1) {
    switch (c) {
    case 'w':
      if (parse_count(optarg, &workers) < 0)
        return usage_error("bad worker count", optarg);
      break;
    case 's':
      synthetic = optarg;
      break;
    case 'h':
      usage(stdout);
      return 0;
    case ':': /* optopt is the option's letter for both spellings */
      return usage_error("missing argument for",
                         optopt == 'w' ? "--workers" : "--synthetic");
    default:
      return usage_error("unknown option", bad_option(argv, shortopt));
    }
  }
  if (optind < argc)
    return usage_error("unexpected argument", argv[optind]);
  return run(workers, synthetic);
}
