/* sharc command-line tool: one function per command. Each takes the
 * command's own argv (argv[0] is the command name), prints its output to
 * stdout and a one-line message to stderr on error, and returns the exit
 * status. */
#ifndef SHARC_TOOL_CMD_H
#define SHARC_TOOL_CMD_H

int sharc_cmd_topo(int argc, char **argv);
int sharc_cmd_info(int argc, char **argv);
int sharc_cmd_run(int argc, char **argv);
int sharc_cmd_demo(int argc, char **argv);
int sharc_cmd_clean(int argc, char **argv);
int sharc_cmd_report(int argc, char **argv);
int sharc_cmd_mc(int argc, char **argv);
int sharc_cmd_dem(int argc, char **argv);
int sharc_cmd_hillshade(int argc, char **argv);
int sharc_cmd_color_relief(int argc, char **argv);
int sharc_cmd_tiles(int argc, char **argv);

#endif
