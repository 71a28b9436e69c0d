/*
 * cmd_orders - `kefu-sim orders`: work-order changes as fast as one node
 * takes them, for the benchmark of order writes (tests/bench/).
 *
 * As the cluster's admin (admin_cert of cluster.json) on one node (--node,
 * default the first of cluster.json: give the leader, or every change is
 * forwarded), it keeps --inflight requests in flight for --duration
 * seconds. Each order is a chain of replicated writes: an OrderCreate
 * (complaint 话费/计费争议 for one of --msisdns numbers 13800000000.., owned
 * by --owner, a client_ref unique to the run and the order), then, once its
 * OrderReply has come, an OrderTransition dispatch, then --transitions
 * notes. A chain that ends (its last reply, or an Error) starts the next
 * order. When the time is up no request is begun; those in flight are
 * waited for and counted.
 *
 * Prints one line on stdout:
 *   orders_created=N transitions=M writes=W seconds=S writes_per_s=R errors=E
 * (writes: creates and transitions answered with an OrderReply; seconds:
 * from the first request to the last reply), or with --json the same
 * fields as one JSON object. An Error reply, a timeout or any other answer
 * counts in errors, the first 5 said on stderr.
 */
#ifndef KEFU_SIM_CMD_ORDERS_H
#define KEFU_SIM_CMD_ORDERS_H

/*
 * cmd_orders_main - argv[0] is "orders". Returns the exit status: 0 the
 * run was made (whatever its errors), 1 the node could not be reached or
 * the connection was lost during the run, 2 bad arguments or an unusable
 * cluster.json.
 */
int cmd_orders_main(int argc, char **argv);

#endif
