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
};

/* server_new - listen. Returns NULL with *err (see net_listen). */
struct server *server_new(const struct server_opts *o, int *err);

/* server_free - close the listener and every connection; NULL is fine. */
void server_free(struct server *s);

/* server_on_election - the leader changed: forwarders re-dial. */
void server_on_election(struct server *s);

#endif
