/*
 * Request and reply over one framed TLS connection (lib/net.h): the client
 * side used by kefuctl and by a node forwarding to the leader.
 *
 * rpc_call sends an Envelope with a fresh request_id and calls fn once,
 * with the Envelope whose request_id matches, or with an error (timeout,
 * connection lost, rpc freed). An Envelope with the body `error` is a
 * reply like any other: fn gets err 0 and looks at the body. Envelopes
 * nobody asked for go to the unsolicited callback (may be NULL: dropped).
 * Everything runs on the loop's thread.
 */
#ifndef KEFU_CLUSTER_RPC_H
#define KEFU_CLUSTER_RPC_H

#include "lib/loop.h"
#include "lib/net.h"
#include "lib/tls.h"

#include "proto/kefu.pb-c.h"

#include <stdbool.h>
#include <stdint.h>

struct rpc;

/* reply is valid during the call only (NULL when err != 0). */
typedef void (*rpc_reply_fn)(void *arg, int err, const Kefu__Envelope *reply);
/* The connection is up (err 0) or gone (err: the reason, see lib/net.h). */
typedef void (*rpc_state_fn)(void *arg, int err, const char *detail);
typedef void (*rpc_push_fn)(void *arg, const Kefu__Envelope *msg);

struct rpc_opts {
	struct loop *loop;           /* must outlive the rpc */
	const char *addr;            /* "HOST:PORT" to dial; read during the call */
	struct tls_ctx *tls;         /* a client context; must outlive the rpc */
	const struct net_opts *net;  /* limits (lib/net.h); NULL = its defaults; copied */
	rpc_state_fn state;          /* may be NULL */
	rpc_push_fn unsolicited;     /* may be NULL: such envelopes are dropped */
	void *arg;                   /* passed to state and unsolicited */
	/* Whom the server must be, checked once its certificate is verified
	 * (else the connection fails with KF_ETLS before anything is sent):
	 * its role (TLS_ROLE_NONE: any) and its CN (NULL: any; copied). */
	enum tls_role expect_role;
	const char *expect_cn;
};

/*
 * rpc_new - dial o->addr with the client context o->tls, into *out. Calls
 * may be queued at once: they are sent when the connection is up. Returns
 * 0, or (*out NULL) -EINVAL (no loop) or the error of net_connect
 * (KF_EPARSE: a bad address, KF_ECONFIG: a server context, KF_ETLS,
 * -errno). Free with rpc_free.
 */
int rpc_new(const struct rpc_opts *o, struct rpc **out);

/*
 * rpc_free - close; pending calls are dropped without their callback (the
 * owner is going away). NULL is fine. Safe inside this rpc's callbacks:
 * the memory goes once the callback has returned.
 */
void rpc_free(struct rpc *r);

/* rpc_is_up - the connection's handshake is done and it has not failed. */
bool rpc_is_up(const struct rpc *r);

/* rpc_failed - the connection failed or was closed by the peer. */
bool rpc_failed(const struct rpc *r);

/* rpc_peer - the server's verified identity once up, else NULL. */
const struct tls_identity *rpc_peer(const struct rpc *r);

/*
 * rpc_call - send req (its request_id is overwritten) and expect one
 * reply within timeout_ms. Returns 0 (fn will be called exactly once,
 * never before rpc_call returns), KF_ESTATE (connection failed), KF_ETOOBIG.
 */
int rpc_call(struct rpc *r, Kefu__Envelope *req, uint64_t timeout_ms, rpc_reply_fn fn, void *arg);

/* rpc_send - send msg without expecting a reply (request_id 0). Returns 0,
 * KF_ESTATE (not up, or failed), KF_ETOOBIG (the send queue is full). */
int rpc_send(struct rpc *r, Kefu__Envelope *msg);

/* rpc_out_pending - bytes waiting to be written. */
size_t rpc_out_pending(const struct rpc *r);

/*
 * env_send - pack e and send it on c as one frame. Returns net_conn_send's
 * result. For servers answering on an accepted connection.
 */
int env_send(struct net_conn *c, const Kefu__Envelope *e);

/* env_error - fill e (and err, which it points to) as an Error reply to
 * request_id; msg is not copied and must outlive e. */
void env_error(Kefu__Envelope *e, Kefu__Error *err, uint64_t request_id, int code,
	       const char *msg);

#endif
