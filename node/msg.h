/*
 * The node's one message table and the peers it serves.
 *
 * Every wire message a node accepts is one row {body case, name, handler,
 * roles, needs_session, max_len}. The node's services and each component
 * contribute their rows (msg_register); node/server.c finds the row of an
 * incoming Envelope and checks, in this order, before the handler runs:
 *   - there is a row:            else Error KF_EPROTO "message not accepted
 *                                by a node" (the connection stays);
 *   - the row's owner runs here: else Error KF_ESTATE "<owner> is not
 *                                configured on this node";
 *   - the peer's role is listed: else Error KF_EPROTO "<name> is not allowed
 *                                for role <role>", and the connection closes;
 *   - the frame is within max_len: else Error KF_ETOOBIG, and it closes;
 *   - a session when the row needs one: else Error KF_ESTATE "log in first".
 * Adding a message is one row and one handler.
 *
 * A peer (struct msg_peer) is one accepted connection. Handlers get it for
 * the duration of the call; whatever answers later keeps a msg_ref (a
 * value: hub, peer id, request id), which finds the peer again only while
 * it is connected. Everything runs on the node's loop.
 */
#ifndef KEFU_NODE_MSG_H
#define KEFU_NODE_MSG_H

#include "lib/net.h"
#include "lib/tls.h"
#include "proto/kefu.pb-c.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct msg_hub;
struct msg_peer;

/* Roles a row admits: the certificate roles of lib/tls.h, and MSG_R_AGENT
 * for a connection without a certificate role (an agent, who logs in). */
#define MSG_R_NODE ((unsigned)TLS_ROLE_NODE)
#define MSG_R_ADMIN ((unsigned)TLS_ROLE_ADMIN)
#define MSG_R_GW ((unsigned)TLS_ROLE_GATEWAY)
#define MSG_R_AGENT (1u << 31)
/* A session whose account has the supervisor role (msg_peer_set_supervisor). */
#define MSG_R_SUPERVISOR (1u << 30)

/* Frame limits a row may use; 0 means the node's max_frame. */
#define MSG_SMALL (4u * 1024)
#define MSG_MEDIUM (64u * 1024)

/* Longest session name (an agent id), without its NUL. */
#define MSG_SESSION_MAX 64

/* A handler: state is what its owner registered, p the sender (valid
 * during the call), e the decoded Envelope (freed after the call). */
typedef void (*msg_fn)(void *state, struct msg_peer *p, const Kefu__Envelope *e);

struct msg_row {
	Kefu__Envelope__BodyCase body;
	const char *name;     /* for logs and refusals */
	msg_fn fn;
	unsigned roles;       /* MSG_R_* or-ed */
	bool needs_session;   /* an agent must have logged in on the peer */
	size_t max_len;       /* largest frame payload, bytes; 0 = max_frame */
};

/*
 * msg_register - add the rows rows[0..n) of owner (a name for refusals,
 * static) with the state their handlers get. state NULL registers them as
 * "not configured on this node". A body case registered twice is a bug of
 * ours: abort. Rows must be static. Returns 0.
 */
int msg_register(struct msg_hub *h, const char *owner, const struct msg_row *rows, size_t n,
		 void *state);

/* msg_unregister - the rows of owner answer "not configured" from now on. */
void msg_unregister(struct msg_hub *h, const char *owner);

/* ---- peers ---- */

uint64_t msg_peer_id(const struct msg_peer *p);
const struct tls_identity *msg_peer_who(const struct msg_peer *p);
const char *msg_peer_addr(const struct msg_peer *p);
struct msg_hub *msg_peer_hub(const struct msg_peer *p);

/* msg_peer_conn - the connection under p, for a service that streams on it
 * (replication); valid as long as p. */
struct net_conn *msg_peer_conn(const struct msg_peer *p);

/* msg_peer_session - the agent logged in on p, "" when none. */
const char *msg_peer_session(const struct msg_peer *p);

/* msg_peer_set_session - agent (at most MSG_SESSION_MAX bytes) is logged
 * in on p from now on; "" or NULL ends it. Rows with needs_session admit p
 * only while it has one. */
void msg_peer_set_session(struct msg_peer *p, const char *agent);

/* msg_peer_set_supervisor - the session on p is a supervisor's: rows with
 * MSG_R_SUPERVISOR admit it. Ending the session ends it too. */
void msg_peer_set_supervisor(struct msg_peer *p, bool supervisor);

/* msg_peer_is_supervisor - whether the session on p is a supervisor's. */
bool msg_peer_is_supervisor(const struct msg_peer *p);

/*
 * msg_each_session - fn(arg, p, agent, supervisor) for every peer with an
 * agent's session, in no particular order. fn may send to p, not close it.
 */
typedef void (*msg_session_fn)(void *arg, struct msg_peer *p, const char *agent, bool supervisor);
void msg_each_session(struct msg_hub *h, msg_session_fn fn, void *arg);

/* msg_peer_find - the peer with id, NULL when it is gone (or id 0). */
struct msg_peer *msg_peer_find(struct msg_hub *h, uint64_t id);

/* msg_send - send e on p with request_id (0: unsolicited). Returns 0 or
 * the send's error (logged); the peer may be closing. */
int msg_send(struct msg_peer *p, Kefu__Envelope *e, uint64_t request_id);

/* msg_error - an Error reply (code, msg: copied into the frame). When code
 * is KF_ESTATE and the leader is known, the reply names it. */
void msg_error(struct msg_peer *p, uint64_t request_id, int code, const char *msg);

/* msg_ack - an AdminReply {ok, message}. */
void msg_ack(struct msg_peer *p, uint64_t request_id, bool ok, const char *msg);

/* msg_close - flush what is queued to p, then close it. */
void msg_close(struct msg_peer *p);

/* ---- local peers ---- */

/*
 * A local peer is a client of the message table that reaches the node by
 * another way than a connection of the listener: the console speaks for a
 * browser's session through one (node/console/, docs/console.md). It has
 * no certificate role (MSG_R_AGENT rows admit it; a login on it makes its
 * session as on any connection), no login or idle deadline (its owner ends
 * it), and runs the same checks and handlers as a connection's frames.
 *
 * msg_sink_fn - every Envelope sent to the local peer, during the send
 * (e is valid during the call only; request_id 0: unsolicited). e NULL:
 * the node closed the peer (msg_close after a refusal); its owner frees it
 * later, never from inside the call.
 */
typedef void (*msg_sink_fn)(void *arg, const Kefu__Envelope *e);

/* msg_local_new - a local peer of h, addr (copied, shown in logs), its
 * frames to sink(arg, ...). Never NULL (out of memory aborts). */
struct msg_peer *msg_local_new(struct msg_hub *h, const char *addr, msg_sink_fn sink, void *arg);

/* msg_local_run - data[0..len), a packed Envelope, as a frame from p: the
 * checks above, then the handler; a refusal goes to the sink. p must not be
 * freed by the sink during the call. */
void msg_local_run(struct msg_peer *p, const uint8_t *data, size_t len);

/* msg_local_free - p goes away as a closed connection does (components'
 * on_connection_closed run); NULL is fine. */
void msg_local_free(struct msg_peer *p);

/* ---- answering later ---- */

/* Where an answer goes: copy it freely; it owns nothing. */
struct msg_ref {
	struct msg_hub *hub;
	uint64_t peer;
	uint64_t request_id;
};

static inline struct msg_ref msg_ref_of(struct msg_peer *p, uint64_t request_id)
{
	struct msg_ref r = {msg_peer_hub(p), msg_peer_id(p), request_id};

	return r;
}

/* msg_ref_peer - the peer if it is still connected, else NULL. */
static inline struct msg_peer *msg_ref_peer(const struct msg_ref *r)
{
	return msg_peer_find(r->hub, r->peer);
}

/* The answers of msg_send, msg_error and msg_ack to a ref; nothing when the
 * peer is gone. */
void msg_ref_send(const struct msg_ref *r, Kefu__Envelope *e);
void msg_ref_error(const struct msg_ref *r, int code, const char *msg);
void msg_ref_ack(const struct msg_ref *r, bool ok, const char *msg);
/* msg_ref_written - the answer to a write: a WriteReply with its log index,
 * or (err not 0) an Error with msg. */
void msg_ref_written(const struct msg_ref *r, int err, const char *msg, uint64_t index);

#endif
