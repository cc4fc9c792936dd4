/* sharc: the command-line tool. */
#include <stdio.h>
#include <string.h>

#include <sharc.h>

#include "cmd.h"

static const struct {
  const char *name;
  int (*fn)(int, char **);
  const char *summary;
} commands[] = {
    {"demo", sharc_cmd_demo, "run the built-in Monte Carlo and STREAM jobs"},
    {"run", sharc_cmd_run, "run a built-in kernel and print its report"},
    {"mc", sharc_cmd_mc, "run a Monte Carlo model: estimate, interval, exact value"},
    {"topo", sharc_cmd_topo, "show the topology and the placement plan"},
    {"info", sharc_cmd_info, "describe a NumPy .npy file"},
    {"clean", sharc_cmd_clean,
     "remove what dead sharc processes left in /dev/shm"},
    {"report", sharc_cmd_report, "summarize or draw a job's chunk trace"},
    {"dem", sharc_cmd_dem, "write the built-in synthetic terrain as GeoTIFF"},
    {"hillshade", sharc_cmd_hillshade, "shade a DEM as gdaldem hillshade does"},
    {"color-relief", sharc_cmd_color_relief,
     "colour a DEM by a table as gdaldem color-relief does"},
    {"tiles", sharc_cmd_tiles, "render a DEM into web-map tiles (XYZ, MBTiles)"},
};

static void usage(FILE *out) {
  fprintf(out, "usage: sharc COMMAND [OPTIONS]\n\n"
               "sharc %s — shared-array compute on pinned worker processes\n\n"
               "commands:\n",
          sharc_version());
  for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
    fprintf(out, "  %-6s %s\n", commands[i].name, commands[i].summary);
  fprintf(out, "\n'sharc COMMAND --help' describes a command.\n");
}

int main(int argc, char **argv) {
  if (argc < 2) {
    usage(stderr);
    return 2;
  }
  if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") ||
      !strcmp(argv[1], "help")) {
    usage(stdout);
    return 0;
  }
  if (!strcmp(argv[1], "--version")) {
    printf("sharc %s\n", sharc_version());
    return 0;
  }
  for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++) {
    if (!strcmp(argv[1], commands[i].name))
      return commands[i].fn(argc - 1, argv + 1);
  }
  fprintf(stderr, "sharc: unknown command '%s' (try 'sharc --help')\n",
          argv[1]);
  return 2;
}
