/*
 * The node's TLS listener and its dispatch table: every message type is
 * one row {body, name, handler, roles allowed}. The dispatcher checks the
 * frame, decodes the Envelope and the caller's role before any handler
 * runs; a frame that fails a check is answered with an Error, and a
 * connection that sends garbage is closed.
 *
 * Writes, switchovers and imports that reach a follower are forwarded to
 * the leader; lookups are answered from the local replica.
 */
#ifndef KEFU_NODE_SERVER_H
#define KEFU_NODE_SERVER_H

#include "cluster/election.h"
#include "cluster/repl.h"
#include "lib/loop.h"
#include "lib/tls.h"
#include "node/jobs.h"

#include <stddef.h>

struct server;
struct hot;
struct routing;

struct server_opts {
	const char *listen_addr;
	const char *self;
	const char *data_dir;        /* staging of online imports goes beside it */
	struct loop *loop;
	struct tls_ctx *server_tls;  /* our node certificate, client certs optional */
	struct tls_ctx *client_tls;  /* to forward to the leader */
	struct repl *repl;
	struct election *election;
	struct repl_storage *storage;
	struct jobs *jobs;           /* online imports run as leader jobs */
	size_t max_frame;
	struct hot **hot;            /* &the node's hot state (node/hot.h): read when status
	                                is asked; *hot NULL = no Redis; NULL = none */
	struct routing **routing;    /* &the node's routing (node/routing.h), made after the
	                                server; *routing NULL or NULL = routing refused */
};

/* server_new - listen. Returns NULL with *err (see net_listen). */
struct server *server_new(const struct server_opts *o, int *err);

/* server_free - close the listener and every connection; NULL is fine. */
void server_free(struct server *s);

/*
 * server_audit - write one audit entry (this node's name, time and
 * numbering; agent, action, subject, detail as storage/audit.h bounds
 * them; copied) through the leader: here when this node leads, else
 * forwarded as a Write. done(arg, err) runs once from the loop when it is
 * acknowledged (0) or failed. Returns 0 (done will run), KF_EPARSE (a
 * field out of bounds), KF_ESTATE (no leader reachable now), KF_ETOOBIG.
 */
typedef void (*server_audit_fn)(void *arg, int err);
int server_audit(struct server *s, const char *agent, const char *action, const char *subject,
		 const char *detail, server_audit_fn done, void *arg);

/*
 * server_callback_request - record a caller's callback request (the
 * outbound dialer's work list, storage/callback.h) through the leader, the
 * way server_audit writes: done(arg, err) runs once from the loop when it
 * is acknowledged (0) or failed. The request's id is "<gateway>:<call id>",
 * its node this one and its time now; without user_id the local replica
 * names the subscriber holding ani, if any. Every field is copied.
 * Returns 0 (done will run), KF_EEXISTS (the call has a request already:
 * nothing written, done will not run), KF_EPARSE (a field missing or out of
 * bounds), KF_ESTATE (no leader reachable now), KF_ETOOBIG, KF_ESTORE.
 */
struct server_callback {
	const char *gateway;   /* the gateway's certificate name */
	const char *call_id;   /* the gateway's call id */
	const char *ani;       /* the number to call back */
	const char *user_id;   /* NULL: looked up by ani */
	unsigned vip_level;    /* the call's tier, 0..4 */
	const char *skill;     /* the queue it waited in last; may be NULL */
	const char *service;   /* the number dialled; may be NULL */
};
int server_callback_request(struct server *s, const struct server_callback *cb,
			    server_audit_fn done, void *arg);

/* server_on_election - the leader changed: forwarders re-dial. */
void server_on_election(struct server *s);

#endif
