/* The console's HTTPS server: evhttp over bufferevent_openssl. See webd.h. */
#include "lib/webd.h"

#include "lib/err.h"
#include "lib/list.h"
#include "lib/log.h"
#include "lib/net.h"
#include "lib/tls.h"

#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <event2/listener.h>
#include <openssl/ssl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define WEBD_HEAD_DEFAULT (8u * 1024)
#define WEBD_BODY_DEFAULT (64u * 1024)
#define WEBD_TIMEOUT_DEFAULT 60u
#define WEBD_PATH_MAX 512

struct webd_req {
	struct webd_req *next, *prev;    /* the server's requests not answered yet */
	struct webd *w;
	struct evhttp_request *req;
	webd_fn gone;
	void *gone_arg;
	char path[WEBD_PATH_MAX];
	const char *query;               /* into path's copy, after its NUL */
	char peer[64];
	char buf[WEBD_PATH_MAX];         /* the query's copy */
};

struct webd {
	struct loop *loop;
	struct tls_ctx *tls;
	struct evhttp *http;
	const char *const *headers;
	webd_fn handler;
	void *arg;
	struct webd_req *open;           /* not answered yet */
};

/* Each accepted connection speaks TLS with a fresh SSL of the context. */
static struct bufferevent *on_bev(struct event_base *base, void *arg)
{
	struct webd *w = arg;
	struct ssl_st *ssl;
	struct bufferevent *bev;
	char why[TLS_WHY_MAX];

	/* Only when OpenSSL is out of memory: evhttp would fall back to a
	 * plain socket if we returned NULL, which must never happen. */
	if (tls__ssl_new(w->tls, NULL, &ssl, why, sizeof(why)) != 0)
		abort();
	bev = bufferevent_openssl_socket_new(base, -1, ssl, BUFFEREVENT_SSL_ACCEPTING,
					     BEV_OPT_CLOSE_ON_FREE);
	if (!bev)
		abort();
	return bev;
}

static void req_free(struct webd_req *r)
{
	struct webd *w = r->w;

	LIST_UNLINK(w->open, r);
	free(r);
}

/* The connection of a request not answered yet is going away. */
static void on_conn_close(struct evhttp_connection *evcon, void *arg)
{
	struct webd_req *r = arg;
	struct evhttp_request *req = r->req;

	evhttp_connection_set_closecb(evcon, NULL, NULL);
	if (r->gone)
		r->gone(r->gone_arg, r);
	req_free(r);
	/* A request the connection let go of is ours to free; one still on
	 * it is freed with the connection. */
	if (!evhttp_request_get_connection(req))
		evhttp_request_free(req);
}

static void on_request(struct evhttp_request *req, void *arg)
{
	struct webd *w = arg;
	struct webd_req *r = calloc(1, sizeof(*r));
	struct evhttp_connection *evcon = evhttp_request_get_connection(req);
	const char *uri = evhttp_request_get_uri(req), *q;
	char *host = NULL;
	ev_uint16_t port = 0;
	size_t n;

	if (!r)
		abort();
	r->w = w;
	r->req = req;
	q = strchr(uri, '?');
	n = q ? (size_t)(q - uri) : strlen(uri);
	if (n >= sizeof(r->path) || (q && strlen(q + 1) >= sizeof(r->buf))) {
		free(r);
		evhttp_send_error(req, 414, "URI Too Long");
		return;
	}
	memcpy(r->path, uri, n);
	r->path[n] = '\0';
	snprintf(r->buf, sizeof(r->buf), "%s", q ? q + 1 : "");
	r->query = r->buf;
	evhttp_connection_get_peer(evcon, &host, &port);
	snprintf(r->peer, sizeof(r->peer), "%s:%u", host ? host : "?", (unsigned)port);
	LIST_LINK(w->open, r);
	evhttp_connection_set_closecb(evcon, on_conn_close, r);
	w->handler(w->arg, r);
}

int webd_new(const struct webd_opts *o, struct webd **out)
{
	struct webd *w;
	struct sockaddr_storage ss;
	socklen_t sl = 0;
	char host[NET_HOST_MAX];
	struct evconnlistener *ls;
	int r;

	*out = NULL;
	if (!o->handler || !o->tls || !tls_ctx_is_server(o->tls))
		return KF_ECONFIG;
	if ((r = net_addr_parse(o->addr, &ss, &sl, host)) != 0)
		return r;
	w = calloc(1, sizeof(*w));
	if (!w)
		abort();
	w->loop = o->loop;
	w->tls = o->tls;
	w->headers = o->headers;
	w->handler = o->handler;
	w->arg = o->arg;
	w->http = evhttp_new(loop__base(o->loop));
	if (!w->http)
		abort();
	evhttp_set_bevcb(w->http, on_bev, w);
	evhttp_set_gencb(w->http, on_request, w);
	evhttp_set_allowed_methods(w->http, EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_HEAD);
	evhttp_set_max_headers_size(w->http, (ev_ssize_t)(o->max_head ? o->max_head : WEBD_HEAD_DEFAULT));
	evhttp_set_max_body_size(w->http, (ev_ssize_t)(o->max_body ? o->max_body : WEBD_BODY_DEFAULT));
	evhttp_set_timeout(w->http, (int)(o->timeout_s ? o->timeout_s : WEBD_TIMEOUT_DEFAULT));
	evhttp_set_default_content_type(w->http, "text/plain; charset=utf-8");
	ls = evconnlistener_new_bind(loop__base(o->loop), NULL, NULL,
				     LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE | LEV_OPT_CLOSE_ON_EXEC,
				     -1, (struct sockaddr *)&ss, (int)sl);
	if (!ls || !evhttp_bind_listener(w->http, ls)) {
		r = errno == EADDRINUSE ? -EADDRINUSE : KF_EINTERNAL;
		if (ls)
			evconnlistener_free(ls);
		webd_free(w);
		return r;
	}
	*out = w;
	return 0;
}

void webd_free(struct webd *w)
{
	if (!w)
		return;
	while (w->open) {
		struct webd_req *r = w->open;
		struct evhttp_connection *evcon = evhttp_request_get_connection(r->req);

		if (evcon)
			evhttp_connection_set_closecb(evcon, NULL, NULL);
		if (r->gone)
			r->gone(r->gone_arg, r);
		req_free(r);
	}
	if (w->http)
		evhttp_free(w->http);
	free(w);
}

const char *webd_method(const struct webd_req *r)
{
	switch (evhttp_request_get_command(r->req)) {
	case EVHTTP_REQ_GET:
		return "GET";
	case EVHTTP_REQ_POST:
		return "POST";
	case EVHTTP_REQ_HEAD:
		return "HEAD";
	default:
		return "OTHER";
	}
}

const char *webd_path(const struct webd_req *r)
{
	return r->path;
}

const char *webd_query(const struct webd_req *r)
{
	return r->query;
}

const char *webd_header(const struct webd_req *r, const char *name)
{
	return evhttp_find_header(evhttp_request_get_input_headers(r->req), name);
}

const char *webd_peer(const struct webd_req *r)
{
	return r->peer;
}

const uint8_t *webd_body(struct webd_req *r, size_t *len)
{
	struct evbuffer *b = evhttp_request_get_input_buffer(r->req);

	*len = evbuffer_get_length(b);
	return *len ? evbuffer_pullup(b, -1) : (const uint8_t *)"";
}

void webd_header_add(struct webd_req *r, const char *name, const char *value)
{
	evhttp_add_header(evhttp_request_get_output_headers(r->req), name, value);
}

void webd_on_gone(struct webd_req *r, webd_fn fn, void *arg)
{
	r->gone = fn;
	r->gone_arg = arg;
}

/* The server's headers of every answer. */
static void headers_default(struct webd_req *r)
{
	for (const char *const *h = r->w->headers; h && h[0] && h[1]; h += 2)
		evhttp_add_header(evhttp_request_get_output_headers(r->req), h[0], h[1]);
}

/* r is answered: the connection's close is no longer ours to hear. */
static void req_done(struct webd_req *r)
{
	struct evhttp_connection *evcon = evhttp_request_get_connection(r->req);

	if (evcon)
		evhttp_connection_set_closecb(evcon, NULL, NULL);
	req_free(r);
}

void webd_reply(struct webd_req *r, int status, const char *content_type, const void *body,
		size_t len)
{
	struct evhttp_request *req = r->req;
	struct evbuffer *b = evbuffer_new();

	if (!b)
		abort();
	headers_default(r);
	if (content_type)
		evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type",
				  content_type);
	if (len && evbuffer_add(b, body, len) != 0)
		abort();
	req_done(r);
	evhttp_send_reply(req, status, NULL, b);
	evbuffer_free(b);
}

void webd_stream_start(struct webd_req *r, const char *content_type)
{
	headers_default(r);
	evhttp_add_header(evhttp_request_get_output_headers(r->req), "Content-Type", content_type);
	evhttp_send_reply_start(r->req, 200, "OK");
}

int webd_stream_send(struct webd_req *r, const void *data, size_t len)
{
	struct evbuffer *b;

	if (!evhttp_request_get_connection(r->req))
		return -EPIPE;
	b = evbuffer_new();
	if (!b || evbuffer_add(b, data, len) != 0)
		abort();
	evhttp_send_reply_chunk(r->req, b);
	evbuffer_free(b);
	return 0;
}

void webd_stream_end(struct webd_req *r)
{
	struct evhttp_request *req = r->req;

	req_done(r);
	evhttp_send_reply_end(req);
}
