/*
 * cmd_boss - the `kefu-sim boss` subcommand: command line in, BOSS batch
 * files out (through gen_boss).
 */
#ifndef KEFU_SIM_CMD_BOSS_H
#define KEFU_SIM_CMD_BOSS_H

/*
 * cmd_boss_main - argv[0] is "boss", the options follow. Prints one line
 * "wrote NAME RECORDS" per file to stdout. Returns the exit status: 0 done
 * (or --help), 1 a file could not be written, 2 bad arguments (message on
 * stderr).
 */
int cmd_boss_main(int argc, char **argv);

#endif
