/*
 * An HTTPS/1.1 server on the event loop for the browser console
 * (node/console/): libevent's evhttp over bufferevent_openssl, with the
 * node's certificate. Requests with bodies (POST), keep-alive, answers
 * given later than the handler's call, and streams (Server-Sent Events)
 * that stay open and get chunks as events happen.
 *
 * Limits: a head over max_head bytes or a body over max_body bytes is
 * answered 4xx by evhttp and never reaches the handler; a connection idle
 * for timeout_s is closed.
 *
 * A request (struct webd_req) lives from the handler's call until it is
 * answered (webd_reply, webd_stream_end). When its connection goes first,
 * the gone callback (webd_on_gone) runs once the server notices (a close
 * read from the client, or at the latest a write that fails: an answer or
 * a stream's chunk), and r is freed when it returns: whoever kept r forgets
 * it there and never answers it. Until then r may be answered as usual.
 */
#ifndef KEFU_LIB_WEBD_H
#define KEFU_LIB_WEBD_H

#include "lib/loop.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct tls_ctx;
struct webd;
struct webd_req;

typedef void (*webd_fn)(void *arg, struct webd_req *r);

struct webd_opts {
	struct loop *loop;     /* must outlive the server */
	const char *addr;      /* "HOST:PORT": numeric IPv4, "[IPv6]" or localhost */
	struct tls_ctx *tls;   /* a server context; outlives the server */
	size_t max_head;       /* 0 = 8 KiB */
	size_t max_body;       /* 0 = 64 KiB */
	unsigned timeout_s;    /* 0 = 60 */
	const char *const *headers; /* NULL, or name, value, ..., NULL: on every
				     * answer (strings outlive the server) */
	webd_fn handler;       /* required: every request */
	void *arg;
};

/*
 * webd_new - listen on o->addr. Returns 0 and *out (free with webd_free),
 * or with *out NULL: KF_EPARSE (bad address), KF_ECONFIG (no handler or
 * TLS context), -EADDRINUSE or KF_EINTERNAL (the socket could not be bound).
 */
int webd_new(const struct webd_opts *o, struct webd **out);

/* webd_free - stop listening, close every connection; NULL is fine.
 * Requests not answered yet get their gone callback first. */
void webd_free(struct webd *w);

/* ---- a request: every string valid until it is answered ---- */

const char *webd_method(const struct webd_req *r); /* "GET", "POST", "HEAD", or "OTHER" */
const char *webd_path(const struct webd_req *r);   /* the target up to '?', as sent */
const char *webd_query(const struct webd_req *r);  /* after '?', "" when none */
const char *webd_header(const struct webd_req *r, const char *name); /* NULL when absent */
const char *webd_peer(const struct webd_req *r);   /* "ip:port" of the client */
/* webd_body - the body (not NUL-terminated), *len its length. */
const uint8_t *webd_body(struct webd_req *r, size_t *len);

/* webd_header_add - a header of the answer (copied); before it is sent. */
void webd_header_add(struct webd_req *r, const char *name, const char *value);

/* webd_on_gone - fn(arg, r) if the connection closes before r is answered
 * (or the server is freed); r is freed after fn returns. */
void webd_on_gone(struct webd_req *r, webd_fn fn, void *arg);

/* webd_reply - answer r with status and body[0..len) (copied) and free it.
 * HEAD gets the headers only. */
void webd_reply(struct webd_req *r, int status, const char *content_type, const void *body,
		size_t len);

/* webd_stream_start - answer 200 with content_type, the body to follow in
 * chunks; r stays until webd_stream_end. */
void webd_stream_start(struct webd_req *r, const char *content_type);

/* webd_stream_send - one chunk (copied). Returns 0, or -EPIPE when the
 * connection is on its way out. */
int webd_stream_send(struct webd_req *r, const void *data, size_t len);

/* webd_stream_end - the last chunk; frees r. */
void webd_stream_end(struct webd_req *r);

#endif
