/*
 * The node's TLS listener and its dispatch: each accepted connection is a
 * peer (node/msg.h), each frame is decoded into an Envelope and handed to
 * the one row of the message table that the node's services and
 * components registered for its body, after the checks msg.h lists.
 *
 * The server knows rows, never a component: it includes no component
 * header. What a component learns of peers going away comes through
 * server_opts.closed, which node/main.c fans out to the components.
 */
#ifndef KEFU_NODE_SERVER_H
#define KEFU_NODE_SERVER_H

#include "cluster/repl.h"
#include "lib/loop.h"
#include "lib/tls.h"
#include "node/msg.h"

#include <stddef.h>

struct server;

#define SERVER_ANON_MAX_FRAME ((size_t)64 * 1024)
#define SERVER_LOGIN_TIMEOUT_MS 10000u
#define SERVER_IDLE_TIMEOUT_MS 120000u
/* After a timeout's Error frame, the peer has this long to read it before the connection is cut. */
#define SERVER_CLOSE_GRACE_MS 2000u

/* A peer is going away: p is valid during the call, and msg_peer_find no
 * longer finds it. */
typedef void (*server_closed_fn)(void *arg, struct msg_peer *p);

struct server_opts {
	const char *listen_addr;
	struct loop *loop;
	struct tls_ctx *server_tls;  /* our node certificate, client certs optional */
	struct repl *repl;           /* the leader's address in KF_ESTATE errors; may be NULL */
	size_t max_frame;            /* the largest frame of any connection */
	/* Before trust: a connection without a certificate role may send frames
	 * of at most anon_max_frame until it logs in (0: SERVER_ANON_MAX_FRAME),
	 * and must log in within login_timeout_ms (0: SERVER_LOGIN_TIMEOUT_MS)
	 * of connecting or logging out. A logged-in session without a
	 * certificate that sends nothing (a Ping counts) for idle_timeout_ms
	 * (0: SERVER_IDLE_TIMEOUT_MS) is closed. */
	size_t anon_max_frame;
	uint32_t login_timeout_ms;
	uint32_t idle_timeout_ms;
	unsigned max_conns;          /* connections at once (0: lib/net.h's default) */
	unsigned max_conns_per_addr; /* from one IP address (0: lib/net.h's default) */
	server_closed_fn closed;     /* may be NULL */
	void *closed_arg;
};

/*
 * server_new - listen on o->listen_addr. Returns 0 and *out, or the error
 * of net_listen (the address is refused or taken). Free with server_free.
 */
int server_new(const struct server_opts *o, struct server **out);

/* server_free - close the listener and every peer (closed runs for each);
 * NULL is fine. */
void server_free(struct server *s);

/* server_hub - the message table and peers, for msg_register and the
 * services; valid as long as s. */
struct msg_hub *server_hub(struct server *s);

#endif
