/* sharc dem, hillshade, color-relief and tiles run the sharc-tiles
 * executable installed beside sharc: only it links GDAL, libpng and SQLite,
 * so the other commands start without loading them. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmd.h"
#include "opts.h"

static int run_tiles(int argc, char **argv) {
  char self[PATH_MAX], path[PATH_MAX + 16];
  ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
  if (n <= 0)
    return tool_fail(argv[0], 1, "cannot find my own executable: %s",
                     strerror(errno));
  self[n] = '\0';
  char *slash = strrchr(self, '/');
  if (slash)
    *slash = '\0';
  snprintf(path, sizeof path, "%s/sharc-tiles", self);
  char **args = calloc((size_t)argc + 2, sizeof *args);
  if (!args)
    return tool_fail(argv[0], 1, "out of memory");
  args[0] = path;
  for (int i = 0; i < argc; i++)
    args[i + 1] = argv[i];
  execv(path, args);
  int e = errno;
  free(args);
  return tool_fail(argv[0], 1, "%s: %s (it is built and installed with sharc)",
                   path, strerror(e));
}

int sharc_cmd_dem(int argc, char **argv) { return run_tiles(argc, argv); }
int sharc_cmd_hillshade(int argc, char **argv) { return run_tiles(argc, argv); }
int sharc_cmd_color_relief(int argc, char **argv) {
  return run_tiles(argc, argv);
}
int sharc_cmd_tiles(int argc, char **argv) { return run_tiles(argc, argv); }
