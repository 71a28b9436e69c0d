/*
 * cmd_outbound - `kefu-sim outbound`: plays the outbound side of a campaign
 * against a running cluster (docs/dialing.md, "Calls"):
 *
 *   gateways   one per node (the cluster's gateway certificate), each
 *              saying DialGateway; an Originate rings for a drawn time
 *              (--ring seconds, 0.5 to 1.5 times), then is answered with
 *              chance --answer: by a machine with chance --machine, else by
 *              a person; not answered, busy (one in three) or no answer.
 *              A DialConnect to an agent starts a talk of lognormal length
 *              (median --talk seconds); a drop counts as abandoned. A
 *              gateway whose node goes away moves to the next node and
 *              sends again every result not yet answered.
 *   agents     the accounts of --agents (their password in
 *              --password-file), logged in over the nodes in turn, ready on
 *              the campaign; after each talk a disposition (satisfied).
 *
 * After --duration seconds it prints one JSON object (--json) or a line:
 * placed, human, machine, busy, no_answer, abandoned, abandon_rate
 * (abandoned over human + abandoned), agent_occupancy (talk time over the
 * agents' time), dialed_twice (Originates of an attempt id seen before, or
 * of a number with a call of the run still going).
 */
#ifndef KEFU_SIM_CMD_OUTBOUND_H
#define KEFU_SIM_CMD_OUTBOUND_H

/* cmd_outbound_main - argv[0] is "outbound". Returns 0 after the run, 1 when
 * it could not be made (no node, TLS), 2 for bad arguments. */
int cmd_outbound_main(int argc, char **argv);

#endif
