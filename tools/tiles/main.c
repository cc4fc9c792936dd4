/* sharc-tiles: the tiles commands (dem, hillshade, color-relief, tiles) in
 * their own executable, so that only they load GDAL, libpng and SQLite;
 * `sharc tiles ...` and the others run it (tools/cmd_tiles_exec.c). It can
 * also be run directly: sharc-tiles COMMAND [OPTIONS]. */
#include <stdio.h>
#include <string.h>

#include "tiles_cmd.h"

static const struct {
  const char *name;
  int (*fn)(int, char **);
} commands[] = {
    {"dem", sharc_tiles_cmd_dem},
    {"hillshade", sharc_tiles_cmd_hillshade},
    {"color-relief", sharc_tiles_cmd_color_relief},
    {"tiles", sharc_tiles_cmd_tiles},
};

int main(int argc, char **argv) {
  if (argc >= 2) {
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
      if (!strcmp(argv[1], commands[i].name))
        return commands[i].fn(argc - 1, argv + 1);
  }
  fprintf(stderr, "usage: sharc-tiles dem|hillshade|color-relief|tiles "
                  "[OPTIONS] (or: sharc COMMAND)\n");
  return 2;
}
