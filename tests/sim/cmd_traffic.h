/*
 * cmd_traffic - `kefu-sim traffic` (also `kefu-sim --cluster ...` without a
 * command word): plays telephony gateways and agents against a running
 * cluster over the real protocol, spread over all its nodes, and prints a
 * live status line (stderr) and at the end a summary with a JSON object
 * (stdout): per tier offered, answered, abandoned, service_level, asa_ms;
 * route_latency_ms p50/p99/max; lost_calls; double_offers. The counting is
 * described in tests/sim/README.md.
 */
#ifndef KEFU_SIM_CMD_TRAFFIC_H
#define KEFU_SIM_CMD_TRAFFIC_H

/*
 * cmd_traffic_main - argv[0] is the command word (or the program name when
 * there is none); options follow. Returns 0 done, 1 the run could not be
 * made (no node, accounts or import refused), 2 bad arguments.
 */
int cmd_traffic_main(int argc, char **argv);

#endif
