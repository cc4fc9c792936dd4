/* sharc-tiles: one function per command, as tools/cmd.h describes. */
#ifndef SHARC_TOOL_TILES_TILES_CMD_H
#define SHARC_TOOL_TILES_TILES_CMD_H

int sharc_tiles_cmd_dem(int argc, char **argv);
int sharc_tiles_cmd_hillshade(int argc, char **argv);
int sharc_tiles_cmd_color_relief(int argc, char **argv);
int sharc_tiles_cmd_tiles(int argc, char **argv);

#endif
