/* A tiny HTTP/1.1 server on the loop. See httpd.h. */
#include "lib/httpd.h"

#include "lib/err.h"
#include "lib/httpreq.h"
#include "lib/log.h"
#include "lib/net.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

struct httpd_conn {
	struct httpd *h;
	struct httpd_conn *prev, *next;
	int fd;
	struct loop_io *io;
	struct loop_alarm *alarm;
	char in[HTTPD_HEAD_MAX];
	size_t in_len;
	char *out;       /* head and body, malloc'd */
	size_t out_len, out_sent;
};

struct httpd {
	struct loop *loop;
	int fd;
	struct loop_io *io;
	uint16_t port;
	uint32_t timeout_ms;
	unsigned max_conns, nconns;
	httpd_fn handler;
	void *arg;
	struct httpd_conn *conns;
};

static const char *status_text(int status)
{
	switch (status) {
	case 200: return "OK";
	case 400: return "Bad Request";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 414: return "URI Too Long";
	case 431: return "Request Header Fields Too Large";
	case 503: return "Service Unavailable";
	default: return "Internal Server Error";
	}
}

static void conn_free(struct httpd_conn *c)
{
	struct httpd *h = c->h;

	if (c->prev)
		c->prev->next = c->next;
	else
		h->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	h->nconns--;
	loop_io_free(c->io);
	loop_alarm_free(c->alarm);
	close(c->fd);
	free(c->out);
	free(c);
}

static void conn_on_timeout(void *arg)
{
	conn_free(arg);
}

/* Builds the answer (head, and body unless head_only) and starts writing it. */
static void conn_answer(struct httpd_conn *c, struct httpd_reply *rep, bool head_only)
{
	const char *type = rep->content_type ? rep->content_type : "text/plain; charset=utf-8";
	char head[256];
	int n;

	if (!rep->body && rep->status != 200) {
		const char *t = status_text(rep->status);

		free(rep->body);
		rep->body_len = strlen(t) + 1;
		rep->body = malloc(rep->body_len + 1);
		if (!rep->body)
			abort();
		snprintf(rep->body, rep->body_len + 1, "%s\n", t);
		type = "text/plain; charset=utf-8";
	}
	n = snprintf(head, sizeof(head),
		     "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
		     "Connection: close\r\n\r\n",
		     rep->status, status_text(rep->status), type, rep->body_len);
	if (n < 0 || (size_t)n >= sizeof(head))
		abort(); /* a content type of our own too long: our bug */
	c->out_len = (size_t)n + (head_only ? 0 : rep->body_len);
	c->out = malloc(c->out_len ? c->out_len : 1);
	if (!c->out)
		abort();
	memcpy(c->out, head, (size_t)n);
	if (!head_only && rep->body_len)
		memcpy(c->out + n, rep->body, rep->body_len);
	free(rep->body);
	rep->body = NULL;
	if (loop_io_set(c->io, LOOP_WRITE) != 0)
		conn_free(c);
}

static void conn_error(struct httpd_conn *c, int status)
{
	struct httpd_reply rep = {.status = status};

	conn_answer(c, &rep, false);
}

/* A whole head: hand method and path to the handler. */
static void conn_request(struct httpd_conn *c, const struct httpreq *req)
{
	struct httpd_reply rep = {0};
	char method[32], path[HTTPD_HEAD_MAX];

	if (req->method_len >= sizeof(method)) {
		conn_error(c, 405);
		return;
	}
	memcpy(method, c->in + req->method_off, req->method_len);
	method[req->method_len] = '\0';
	memcpy(path, c->in + req->target_off, req->path_len);
	path[req->path_len] = '\0';
	c->h->handler(c->h->arg, method, path, &rep);
	if (rep.status < 100 || rep.status > 599)
		rep.status = 500;
	conn_answer(c, &rep, strcmp(method, "HEAD") == 0);
}

static void conn_read(struct httpd_conn *c)
{
	struct httpreq req;
	ssize_t got;
	int r;

	got = read(c->fd, c->in + c->in_len, sizeof(c->in) - c->in_len);
	if (got < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (got <= 0) {
		conn_free(c);
		return;
	}
	c->in_len += (size_t)got;
	r = httpreq_parse(c->in, c->in_len, sizeof(c->in), &req);
	if (r == 0)
		return;
	if (r == 1)
		conn_request(c, &req);
	else if (r == KF_ETOOBIG)
		conn_error(c, req.target_len ? 431 : 414);
	else
		conn_error(c, 400);
}

static void conn_write(struct httpd_conn *c)
{
	ssize_t put = write(c->fd, c->out + c->out_sent, c->out_len - c->out_sent);

	if (put < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (put < 0) {
		conn_free(c);
		return;
	}
	c->out_sent += (size_t)put;
	if (c->out_sent == c->out_len) {
		shutdown(c->fd, SHUT_WR);
		conn_free(c);
	}
}

static void conn_on_io(void *arg, int fd, int events)
{
	struct httpd_conn *c = arg;

	(void)fd;
	if (c->out)
		conn_write(c);
	else if (events & LOOP_READ)
		conn_read(c);
}

static void httpd_on_accept(void *arg, int fd, int events)
{
	struct httpd *h = arg;

	(void)fd;
	(void)events;
	for (;;) {
		struct httpd_conn *c;
		int cfd = accept4(h->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (cfd < 0)
			return; /* EAGAIN, or a transient error: the next readiness retries */
		if (h->nconns >= h->max_conns) {
			log_debug(LOG_NET, "http connection refused: max_conns=%u reached",
				  h->max_conns);
			close(cfd);
			continue;
		}
		c = calloc(1, sizeof(*c));
		if (!c)
			abort();
		c->h = h;
		c->fd = cfd;
		if (loop_io_new(h->loop, cfd, LOOP_READ, conn_on_io, c, &c->io) != 0) {
			close(cfd);
			free(c);
			continue;
		}
		c->alarm = loop_alarm_new(h->loop, conn_on_timeout, c);
		loop_alarm_set(c->alarm, h->timeout_ms);
		c->next = h->conns;
		if (h->conns)
			h->conns->prev = c;
		h->conns = c;
		h->nconns++;
	}
}

int httpd_new(const struct httpd_opts *o, struct httpd **out)
{
	struct sockaddr_storage ss;
	socklen_t sslen = 0;
	char host[NET_HOST_MAX];
	struct httpd *h;
	int one = 1, r;

	*out = NULL;
	if (!o->handler)
		return KF_ECONFIG;
	if ((r = net_addr_parse(o->addr, &ss, &sslen, host)) != 0)
		return r;
	h = calloc(1, sizeof(*h));
	if (!h)
		abort();
	h->loop = o->loop;
	h->timeout_ms = o->timeout_ms ? o->timeout_ms : HTTPD_TIMEOUT_MS_DEFAULT;
	h->max_conns = o->max_conns ? o->max_conns : HTTPD_MAX_CONNS_DEFAULT;
	h->handler = o->handler;
	h->arg = o->arg;
	h->fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (h->fd < 0) {
		r = -errno;
		free(h);
		return r;
	}
	setsockopt(h->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(h->fd, (struct sockaddr *)&ss, sslen) != 0 || listen(h->fd, 64) != 0) {
		r = -errno;
		goto fail;
	}
	if (getsockname(h->fd, (struct sockaddr *)&ss, &sslen) == 0)
		h->port = ntohs(ss.ss_family == AF_INET ? ((struct sockaddr_in *)&ss)->sin_port
							: ((struct sockaddr_in6 *)&ss)->sin6_port);
	if ((r = loop_io_new(h->loop, h->fd, LOOP_READ, httpd_on_accept, h, &h->io)) != 0)
		goto fail;
	*out = h;
	return 0;
fail:
	close(h->fd);
	free(h);
	return r;
}

uint16_t httpd_port(const struct httpd *h)
{
	return h->port;
}

void httpd_free(struct httpd *h)
{
	if (!h)
		return;
	while (h->conns)
		conn_free(h->conns);
	loop_io_free(h->io);
	close(h->fd);
	free(h);
}
