/* sharc clean: removes what dead sharc processes left in /dev/shm. */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <sharc.h>

#include "cmd.h"
#include "opts.h"

static const char usage_text[] =
    "usage: sharc clean [-h] [--named] [--dry-run]\n"
    "\n"
    "Looks in /dev/shm for sharc objects of this user whose creating process\n"
    "is dead. Objects whose creation never finished are removed. Named\n"
    "arrays (\"/sharc-PID-RANDOM\") are listed with their size, creator pid\n"
    "and age, and removed only with --named, since other programs may still\n"
    "use them. Arrays whose creator is alive are never touched. Pools leave\n"
    "nothing there: their control blocks and anonymous arrays are memfds.\n"
    "\n"
    "options:\n"
    "  --named     also remove named arrays whose creator is dead\n"
    "  --dry-run   remove nothing; say what would be removed\n"
    "  -h, --help  print this help and exit\n"
    "\n"
    "output: one line per object acted on or listed:\n"
    "  ACTION STATE NAME BYTES PID AGE\n"
    "ACTION is removed, would-remove, listed, gone (removed by someone else\n"
    "meanwhile) or failed; STATE is incomplete\n"
    "or stale. A last line counts them and the live arrays left alone.\n"
    "\n"
    "exit status: 0 done, 1 a scan or removal failed, 2 usage error\n";

static void format_age(int64_t created, char *buf, size_t len) {
  int64_t s = (int64_t)time(NULL) - created;
  if (s < 0)
    s = 0;
  if (s < 120)
    snprintf(buf, len, "%" PRId64 "s", s);
  else if (s < 7200)
    snprintf(buf, len, "%" PRId64 "m", s / 60);
  else if (s < 2 * 86400)
    snprintf(buf, len, "%" PRId64 "h", s / 3600);
  else
    snprintf(buf, len, "%" PRId64 "d", s / 86400);
}

typedef struct clean_args {
  int named, dry_run;
} clean_args;

static int parse(int argc, char **argv, clean_args *a) {
  static const struct option longopts[] = {{"named", no_argument, NULL, 'N'},
                                           {"dry-run", no_argument, NULL, 'n'},
                                           {"help", no_argument, NULL, 'h'},
                                           {NULL, 0, NULL, 0}};
  opterr = 0;
  optind = 0;
  int c;
  while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
    if (c == 'h') {
      fputs(usage_text, stdout);
      return 0;
    }
    if (c == 'N') {
      a->named = 1;
      continue;
    }
    if (c == 'n') {
      a->dry_run = 1;
      continue;
    }
    const char *arg = argv[optind - 1];
    char opt[3] = {'-', (char)optopt, '\0'};
    return tool_fail("clean", 2,
                     "unrecognized option %s (try 'sharc clean --help')",
                     strncmp(arg, "--", 2) == 0 || optopt == 0 ? arg : opt);
  }
  if (optind < argc)
    return tool_fail("clean", 2,
                     "unexpected argument %s (try 'sharc clean --help')",
                     argv[optind]);
  return -1;
}

int sharc_cmd_clean(int argc, char **argv) {
  clean_args a = {0, 0};
  int status = parse(argc, argv, &a);
  if (status >= 0)
    return status;
  sharc_shm_entry *list;
  int rc = sharc_shm_scan(&list, NULL);
  if (rc != 0)
    return tool_fail("clean", 1, "cannot scan /dev/shm: %s",
                     sharc_strerror(rc));
  unsigned removed = 0, listed = 0, live = 0, failed = 0;
  char err[160] = "";
  for (const sharc_shm_entry *e = list; e != NULL; e = e->next) {
    if (e->state == SHARC_SHM_LIVE) {
      live++;
      continue;
    }
    int incomplete = e->state == SHARC_SHM_INCOMPLETE;
    const char *action = "listed";
    if (incomplete || a.named) {
      action = "would-remove";
      if (!a.dry_run) {
        rc = sharc_shm_remove_dead(e->name);
        action = rc == 0 ? "removed" : rc == SHARC_ENOENT ? "gone" : "failed";
        if (rc != 0 && rc != SHARC_ENOENT)
          snprintf(err, sizeof err, "cannot remove %s: %s", e->name,
                   sharc_strerror(rc));
      }
    }
    removed +=
        strcmp(action, "removed") == 0 || strcmp(action, "would-remove") == 0;
    listed += strcmp(action, "listed") == 0;
    failed += strcmp(action, "failed") == 0;
    char age[32];
    format_age(e->created, age, sizeof age);
    printf("%-12s %-10s %-30s %12" PRIu64 " %7" PRId64 " %5s\n", action,
           incomplete ? "incomplete" : "stale", e->name, e->size,
           e->creator_pid, age);
  }
  sharc_shm_scan_free(list);
  printf("%u %s, %u named with a dead creator listed%s, %u live kept\n",
         removed, a.dry_run ? "would be removed" : "removed", listed,
         listed > 0 ? " (--named removes them)" : "", live);
  fflush(stdout);
  if (failed > 0)
    return tool_fail("clean", 1, "%s%s", err,
                     failed > 1 ? " (and others, see above)" : "");
  return 0;
}
