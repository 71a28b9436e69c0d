/*
 * A tiny plaintext HTTP/1.1 server on the event loop, for read-only
 * operator endpoints (node/metrics.c serves /metrics on it). One request
 * per connection (every answer says "Connection: close"); no body is read.
 *
 * Limits: a request head over HTTPD_HEAD_MAX bytes is answered 414 (the
 * request line did not end) or 431, a malformed one 400; a connection
 * that has not sent a whole head within timeout_ms, or not taken its
 * answer within it, is closed; connections over max_conns are closed at
 * accept. The handler's body is bounded by what it builds.
 */
#ifndef KEFU_LIB_HTTPD_H
#define KEFU_LIB_HTTPD_H

#include "lib/loop.h"

#include <stddef.h>
#include <stdint.h>

#define HTTPD_HEAD_MAX 4096
#define HTTPD_TIMEOUT_MS_DEFAULT 5000u
#define HTTPD_MAX_CONNS_DEFAULT 64u

struct httpd;

/* What a handler answers: status, content type, and a body it allocated
 * with malloc (httpd frees it; NULL with body_len 0 is an empty body). */
struct httpd_reply {
	int status;                /* 200, 404, 405, 500 ... */
	const char *content_type;  /* a static string; NULL = "text/plain; charset=utf-8" */
	char *body;
	size_t body_len;
};

/*
 * The request handler, on the loop's thread: method and path (the target
 * without its query) are NUL-terminated and valid during the call. It
 * fills *out (zeroed before the call). A HEAD request gets the same
 * headers without the body.
 */
typedef void (*httpd_fn)(void *arg, const char *method, const char *path,
			 struct httpd_reply *out);

struct httpd_opts {
	struct loop *loop;     /* must outlive the server */
	const char *addr;      /* "HOST:PORT": numeric IPv4, "[IPv6]" or localhost; PORT 0 = any */
	uint32_t timeout_ms;   /* 0 = HTTPD_TIMEOUT_MS_DEFAULT */
	unsigned max_conns;    /* 0 = HTTPD_MAX_CONNS_DEFAULT */
	httpd_fn handler;      /* required */
	void *arg;
};

/*
 * httpd_new - listen on o->addr. Returns 0 and *out (free with httpd_free),
 * or with *out NULL: KF_EPARSE (bad address), KF_ECONFIG (no handler),
 * KF_EINTERNAL (the loop refused the socket), -errno from socket, bind or
 * listen (-EADDRINUSE...).
 */
int httpd_new(const struct httpd_opts *o, struct httpd **out);

/* httpd_port - the port actually bound. */
uint16_t httpd_port(const struct httpd *h);

/* httpd_free - stop listening and close every connection; NULL is fine. */
void httpd_free(struct httpd *h);

#endif
