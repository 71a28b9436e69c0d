/*
 * Tiered inbound routing on a node (docs/routing.md): gateways and agents
 * connected to this node, the Lua steps run through the hot state
 * (node/hot.h), and the events other nodes' steps publish for them.
 *
 * What the node owns and mirrors in memory: the live calls of the gateways
 * connected to it (call owner) and the agents logged in through it (agent
 * owner). The mirror is what it writes again after a Redis failover
 * (reassert_call, reassert_agent) and what it refreshes (presence, session
 * TTLs). Everything else lives in Redis, so a gateway or an agent that
 * loses its node resumes on any other (GatewayResume, SessionResume) and
 * that node becomes the owner.
 *
 * Configuration is data in routing.c: the tier table (weight, IVR plan,
 * greeting, service level, overflow ladder, maximum wait and what follows
 * it) and the skill table (selection strategy, written to Redis at start).
 *
 * Identity: a call is verified when its calling number is the subscriber's
 * own number and the number is in a state in which the phone is trusted to
 * be in the subscriber's hands (normal, or stopped for arrears; not
 * suspended, which covers a phone reported lost), or when an agent records
 * a passed check (VerifyIdentity). Bills are shown only for a verified call
 * and only once the access is in the audit log.
 *
 * The server (node/server.c) calls the routing_on_* functions from its
 * dispatch table rows and routing_conn_closed when a connection ends; the
 * routing sends to connections through lib/net.h until then. Connection
 * pointers given here must stay valid until routing_conn_closed(conn).
 * Everything runs on the node's loop.
 */
#ifndef KEFU_NODE_ROUTING_H
#define KEFU_NODE_ROUTING_H

#include "cluster/election.h"
#include "cluster/repl.h"
#include "lib/loop.h"
#include "lib/net.h"
#include "lib/tls.h"
#include "proto/kefu.pb-c.h"

#include <stdbool.h>
#include <stdint.h>

struct routing;
struct hot;
struct server;

/* Longest call id of a gateway; [A-Za-z0-9_.:-]. */
#define ROUTING_CALL_ID_MAX 64

struct routing_opts {
	struct loop *loop;
	const char *self;              /* node name: owner in Redis, events:<self>; copied */
	struct hot *hot;               /* must outlive the routing */
	struct election *election;     /* the cluster epoch for the steps' fencing */
	struct repl_storage *storage;  /* local replica: accounts, subscribers */
	struct server *server;         /* audit entries through the leader (server_audit) */
	const struct routing_settings *settings; /* tiers, strategies, timers; copied */
};

/*
 * routing_new - the routing of this node: registers for events and
 * failovers on hot, writes the skill strategies to Redis and starts the
 * timers (offer sweep, presence, overflow and maximum wait). Free with
 * routing_free before hot and the server.
 */
struct routing *routing_new(const struct routing_opts *o);

/* routing_free - NULL is fine; pending steps' replies are dropped. */
void routing_free(struct routing *r);

/* routing_conn_closed - conn is going away: forget it (the agents and calls
 * it carried stay in Redis and in the mirror, for a resume). */
void routing_conn_closed(struct routing *r, struct net_conn *conn);

/*
 * routing_on_message - one routing message (Envelope fields 38..61) from
 * conn, whose peer is who: a gateway's, an agent's (who->role NONE; only
 * Login and SessionResume until it logged in: the routing's own message
 * table checks that) or an admin's (RoutingStats); the server has checked
 * the role. Replies and later messages go to conn. Refusals are Error
 * replies.
 */
void routing_on_message(struct routing *r, struct net_conn *conn, const struct tls_identity *who,
			const Kefu__Envelope *e);

#endif
