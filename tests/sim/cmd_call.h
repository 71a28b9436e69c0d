/*
 * cmd_call - `kefu-sim call`: one scripted client of a node, as a gateway
 * (the cluster's gateway certificate) or as an agent (no certificate), for
 * the routing tests (or as an admin, for RoutingStats). It connects to one node of the cluster and runs a
 * script, one step a line:
 *
 *   send BODY [FIELD=VALUE ...]    send an Envelope whose body is BODY (the
 *                                  Envelope field name: call_arrived, login...)
 *   expect BODY [FIELD=VALUE ...] [within=MS]
 *                                  wait (default 10000 ms) for a message of
 *                                  BODY whose fields have these values
 *                                  (BODY may be a|b: either of them)
 *   none BODY MS                   no message of BODY arrives within MS ms
 *   sleep MS
 *   await FILE [within=MS]         wait (default 30000 ms) until FILE exists:
 *                                  the test running the script says when
 *                                  the next step may go
 *
 * FIELD may name a field of a field ("user.msisdn"; in a send too, e.g.
 * "agent.id=a01" of an agent_write). A VALUE "@FIELD" is
 * that field of the message the last `expect` matched (e.g. call_id=@call_id).
 * Messages that arrive are kept, in order, until an `expect` takes them.
 * Every message received is printed to stdout as one JSON line
 * {"body": BODY, FIELD: VALUE, ...}; a failed step is explained on stderr.
 * Lines that are empty or start with '#' are skipped.
 */
#ifndef KEFU_SIM_CMD_CALL_H
#define KEFU_SIM_CMD_CALL_H

/* cmd_call_main - argv[0] is "call". Returns 0 when every step passed, 1
 * when one failed (or the connection did), 2 for bad arguments. */
int cmd_call_main(int argc, char **argv);

#endif
