/*
 * cmd_ledger - `kefu-sim ledger`: a write client for fault tests. It sends
 * numbered writes to the cluster's nodes (moving to another node when one
 * fails) and records every write it sent and every acknowledgment it got,
 * one line each, flushed as it goes:
 *   sent SEQ KEY
 *   ack SEQ INDEX
 *   fail SEQ REASON
 * With --stamps each line ends with " t=<unix epoch ms>" (CLOCK_REALTIME),
 * so that a script can relate the lines to events it timed, such as a kill.
 * At --rate 0 it keeps --inflight writes in flight, pausing 10 ms after a
 * failed write. A test then checks that every acknowledged key is on every surviving node.
 */
#ifndef KEFU_SIM_CMD_LEDGER_H
#define KEFU_SIM_CMD_LEDGER_H

/* cmd_ledger_main - argv[0] is "ledger". Returns 0, or 2 for bad arguments. */
int cmd_ledger_main(int argc, char **argv);

#endif
