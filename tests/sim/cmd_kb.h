/*
 * cmd_kb - the `kefu-sim kb` subcommand: command line in, a file of
 * knowledge-base articles out (through gen_kb).
 */
#ifndef KEFU_SIM_CMD_KB_H
#define KEFU_SIM_CMD_KB_H

/*
 * cmd_kb_main - argv[0] is "kb", the options follow. Prints one line
 * "wrote FILE ARTICLES BYTES" to stdout. Returns the exit status: 0 done
 * (or --help), 1 the file could not be written, 2 bad arguments (message
 * on stderr).
 */
int cmd_kb_main(int argc, char **argv);

#endif
