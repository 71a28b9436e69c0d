/*
 * A component of the node: one function of the province center (routing
 * now; the knowledge base, operations statistics, outbound dialing and
 * work orders later), in a folder of its own under node/.
 *
 * A component is a struct of hooks. node/main.c lists the components in
 * one table, after the node's own subsystems (storage, cluster, server,
 * Redis), and drives them:
 *
 *   init               at start, in table order: make the state from what
 *                      the node offers (struct node_ctx). Return 0 with
 *                      *state NULL when the component does not run on this
 *                      node (e.g. routing without Redis): its messages are
 *                      then refused as "not configured on this node".
 *   msgs[0..nmsgs)     its rows of the one message table (node/msg.h),
 *                      registered with the state once init succeeded.
 *   timers[0..ntimers) every_ms, on the loop, while the node runs.
 *   start              once everything is up (listeners, the cluster).
 *   on_leader_change   the leader changed (this node or another).
 *   on_connection_closed  a peer went away (its id stops being found).
 *   reconfigure        the cluster configuration changed (or SIGHUP read
 *                      the node's file again): cfg, the same ctx->cfg,
 *                      holds the new values of the reloadable options
 *                      (their conf_option rows say so); take them. The
 *                      others change only with a restart.
 *   stop               at shutdown, in reverse table order: free the state.
 *
 * Any hook but init and stop may be NULL. A component writes durable data
 * only through the leader service (ctx->leader), reads its tables from the
 * local replica (ctx->sto), never includes another component's header, and
 * is never included by the server.
 */
#ifndef KEFU_NODE_COMPONENT_H
#define KEFU_NODE_COMPONENT_H

#include "cluster/election.h"
#include "cluster/repl.h"
#include "lib/loop.h"
#include "node/msg.h"

#include <stddef.h>
#include <stdint.h>

struct board;
struct config;
struct hot;
struct import_tally;
struct jobs;
struct leader;
struct metrics;
struct tls_ctx;

/* What the node offers its components; every pointer outlives them. */
struct node_ctx {
	struct loop *loop;
	const char *self;              /* node name */
	const char *data_dir;          /* the LMDB directory; staging goes beside it */
	const struct config *cfg;      /* kefud's options (node/config.h) */
	struct repl_storage *sto;      /* the local replica */
	struct election *election;     /* the cluster epoch; NULL on a node alone */
	struct repl *repl;             /* replication, for the node's own services only */
	struct leader *leader;         /* writes; NULL on a node alone */
	struct hot *hot;               /* Redis; NULL without it */
	struct jobs *jobs;             /* worker threads */
	struct msg_hub *hub;           /* the peers */
	struct board *board;           /* the live board (node/board.h); NULL without Redis */
	/* /metrics (node/metrics.h), NULL when off: a component registers its
	 * own source at init and unregisters it at stop. */
	struct metrics *metrics;
	struct import_tally *boss_files; /* BOSS files by outcome (storage/import.h) */
	/* The cluster configuration as this node last applied it (storage/ccfg.h):
	 * its version (0: none written yet), and the values it asks for, which
	 * differ from cfg where a setting waits for a restart. */
	const uint64_t *cfg_version;
	const struct config *cfg_wanted;
	/* The browser console's HTTPS context (the node's certificate, no client
	 * certificate asked), made before the node drops root; NULL when
	 * console_addr is empty. The node frees it after the components stop. */
	struct tls_ctx *web_tls;
};

struct component_timer {
	uint64_t every_ms;
	void (*fn)(void *state);
};

struct component {
	const char *name;
	int (*init)(const struct node_ctx *ctx, void **state); /* 0 or a negative code */
	int (*start)(void *state);
	void (*stop)(void *state);                             /* NULL state is fine */
	const struct msg_row *msgs;
	size_t nmsgs;
	const struct component_timer *timers;
	size_t ntimers;
	void (*on_connection_closed)(void *state, struct msg_peer *p);
	void (*on_leader_change)(void *state);
	void (*reconfigure)(void *state, const struct config *cfg);
};

#endif
