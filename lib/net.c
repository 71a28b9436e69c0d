/*
 * Listeners and framed TLS connections over libevent bufferevents. See net.h.
 *
 * A connection goes CONNECTING (clients: TCP connect, watched with a loop
 * fd watch) -> HANDSHAKE (an OpenSSL bufferevent) -> OPEN -> CLOSED, or
 * OPEN -> FLUSHING -> CLOSED. Callbacks into the user hold a reference, as
 * does the owner (the user, or the listener during the handshake), so a
 * connection closed inside a callback is freed only once the callback has
 * returned. Bufferevent callbacks are deferred to the loop, so nothing the
 * user calls (net_conn_send) runs a callback underneath the caller.
 *
 * A raw connection skips the frame decoder (bytes go straight to cbs.frame)
 * and, without a TLS context, the TLS handshake: a plain socket
 * bufferevent opens as soon as the TCP connect is done.
 */
#include "lib/net.h"

#include "lib/err.h"
#include "lib/frame.h"
#include "lib/ht.h"
#include "lib/list.h"
#include "lib/log.h"

#include <arpa/inet.h>
#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/listener.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

/* Room for a host (an IPv6 address at most, or "localhost") and an "ip:port" text. */
#define NET_ADDR_MAX (NET_HOST_MAX + 8)
/* Bytes moved from the input buffer to the frame decoder at a time. */
#define NET_READ_CHUNK 16384
/* After accept() fails (out of descriptors), the listener rests this long. */
#define NET_ACCEPT_PAUSE_MS 100

enum net_state { NET_CONNECTING, NET_HANDSHAKE, NET_OPEN, NET_FLUSHING, NET_CLOSED };

struct net_conn {
	struct loop *loop;
	struct tls_ctx *tls;
	enum net_state state;
	unsigned refs;
	int fd;                   /* ours until the bufferevent takes it, then -1 */
	struct loop_io *connecting; /* clients, while the TCP connect is in flight */
	struct bufferevent *bev;
	struct loop_alarm *alarm; /* handshake deadline; deferred failures and flush ends */
	int pending;              /* a failure waiting for the alarm to report it */
	struct net_listener *ls;  /* the owner while a server handshake runs */
	struct net_conn *prev, *next; /* in ls->handshaking */
	struct net_listener *counted; /* the listener whose caps count c, until c closes */
	struct net_addr_count *from;  /* c's entry in counted->by_addr */
	struct net_conn *cprev, *cnext; /* in counted->live */
	bool started;             /* callbacks given (clients at once, servers by net_conn_start) */
	bool want_writable;
	bool raw;                 /* bytes, not frames (net_connect_raw) */
	struct net_conn_cbs cbs;
	void *arg;
	struct frame_decoder dec;
	size_t max_send;          /* max_frame, for what we send */
	size_t max_out;
	struct tls_identity peer;
	char host[NET_HOST_MAX];  /* clients: the name the server's certificate must carry */
	char addr[NET_ADDR_MAX];
};

struct net_listener {
	struct loop *loop;
	struct tls_ctx *tls;
	struct net_opts opts;
	struct evconnlistener *evl;
	struct loop_alarm *pause;
	net_accept_fn accept;
	net_refuse_fn refuse;
	void *arg;
	uint16_t port;
	struct net_conn *handshaking;
	struct net_conn *live;    /* every connection counted against the caps */
	unsigned nlive;
	struct ht by_addr;        /* struct net_addr_count by IP text */
};

/* Connections from one IP address, for max_conns_per_addr. */
struct net_addr_count {
	struct ht_node hn;
	char ip[NET_HOST_MAX];
	unsigned n;
};

HT_DEFINE_STR(addr_counts, struct net_addr_count, hn, ip)

/* Buckets of a listener's by-address table. */
#define NET_ADDR_BUCKETS 256

static struct log_ratelimit net_rl = LOG_RATELIMIT_INIT(1000, 20);

/* ---- addresses ---- */

int net_addr_parse(const char *hp, struct sockaddr_storage *ss, socklen_t *sl,
			  char host[NET_HOST_MAX])
{
	const char *colon, *h = hp;
	size_t hlen;
	char *end;
	unsigned long port;
	struct sockaddr_in *v4 = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)ss;
	bool bracket = hp[0] == '[';

	if (bracket) {
		const char *close = strchr(hp, ']');

		if (!close || close[1] != ':')
			return KF_EPARSE;
		h = hp + 1;
		hlen = (size_t)(close - h);
		colon = close + 1;
	} else {
		colon = strrchr(hp, ':');
		if (!colon)
			return KF_EPARSE;
		hlen = (size_t)(colon - hp);
	}
	if (hlen == 0 || hlen >= NET_HOST_MAX || colon[1] < '0' || colon[1] > '9')
		return KF_EPARSE;
	errno = 0;
	port = strtoul(colon + 1, &end, 10);
	if (errno || *end || port > 65535)
		return KF_EPARSE;
	memcpy(host, h, hlen);
	host[hlen] = '\0';
	memset(ss, 0, sizeof(*ss));
	if (!bracket && (strcmp(host, "localhost") == 0 ||
			 inet_pton(AF_INET, host, &v4->sin_addr) == 1)) {
		if (host[0] == 'l')
			v4->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		v4->sin_family = AF_INET;
		v4->sin_port = htons((uint16_t)port);
		*sl = sizeof(*v4);
		return 0;
	}
	if (bracket && inet_pton(AF_INET6, host, &v6->sin6_addr) == 1) {
		v6->sin6_family = AF_INET6;
		v6->sin6_port = htons((uint16_t)port);
		*sl = sizeof(*v6);
		return 0;
	}
	return KF_EPARSE;
}

bool net_addr_is_loopback(const char *addr)
{
	char h[NET_HOST_MAX];
	const char *host = addr, *colon = strchr(addr, ':');
	size_t n = strlen(addr);
	struct in_addr v4;
	struct in6_addr v6;

	if (addr[0] == '[') {
		const char *close = strchr(addr, ']');

		if (!close || (close[1] && close[1] != ':'))
			return false;
		host = addr + 1;
		n = (size_t)(close - host);
	} else if (colon && !strchr(colon + 1, ':')) {
		n = (size_t)(colon - addr); /* HOST:PORT; two colons or more: a bare IPv6 */
	}
	if (n == 0 || n >= sizeof(h))
		return false;
	memcpy(h, host, n);
	h[n] = '\0';
	if (strcasecmp(h, "localhost") == 0)
		return true;
	if (inet_pton(AF_INET, h, &v4) == 1)
		return (ntohl(v4.s_addr) >> 24) == 127;
	if (inet_pton(AF_INET6, h, &v6) != 1)
		return false;
	if (IN6_IS_ADDR_LOOPBACK(&v6))
		return true;
	return IN6_IS_ADDR_V4MAPPED(&v6) && v6.s6_addr[12] == 127;
}

/* "ip:port" of sa into out. */
static void net_addr_text(const struct sockaddr *sa, char out[NET_ADDR_MAX])
{
	char ip[INET6_ADDRSTRLEN] = "?";

	if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *v6 = (const struct sockaddr_in6 *)sa;

		inet_ntop(AF_INET6, &v6->sin6_addr, ip, sizeof(ip));
		snprintf(out, NET_ADDR_MAX, "[%s]:%u", ip, (unsigned)ntohs(v6->sin6_port));
	} else {
		const struct sockaddr_in *v4 = (const struct sockaddr_in *)sa;

		inet_ntop(AF_INET, &v4->sin_addr, ip, sizeof(ip));
		snprintf(out, NET_ADDR_MAX, "%s:%u", ip, (unsigned)ntohs(v4->sin_port));
	}
}

static void net_opts_fill(struct net_opts *o, const struct net_opts *given)
{
	static const struct net_opts defaults = {
		NET_MAX_FRAME_DEFAULT, NET_MAX_OUT_DEFAULT, NET_HANDSHAKE_MS_DEFAULT,
		NET_MAX_CONNS_DEFAULT, NET_MAX_CONNS_PER_ADDR_DEFAULT};

	*o = given ? *given : defaults;
	if (!o->max_frame)
		o->max_frame = defaults.max_frame;
	if (o->max_frame > FRAME_MAX_LIMIT)
		o->max_frame = FRAME_MAX_LIMIT;
	if (!o->max_out)
		o->max_out = defaults.max_out;
	if (o->max_out < FRAME_HEADER + o->max_frame)
		o->max_out = FRAME_HEADER + o->max_frame;
	if (!o->handshake_ms)
		o->handshake_ms = defaults.handshake_ms;
	if (!o->max_conns)
		o->max_conns = defaults.max_conns;
	if (!o->max_conns_per_addr)
		o->max_conns_per_addr = defaults.max_conns_per_addr;
}

/* ---- connection lifetime ---- */

static void conn_alarm_cb(void *arg);

static struct net_conn *conn_new(struct loop *l, struct tls_ctx *tls, const struct net_opts *given)
{
	struct net_conn *c = calloc(1, sizeof(*c));
	struct net_opts o;

	if (!c)
		abort();
	net_opts_fill(&o, given);
	c->loop = l;
	c->tls = tls;
	c->refs = 1; /* the owner's */
	c->fd = -1;
	c->max_out = o.max_out;
	c->max_send = o.max_frame;
	frame_decoder_init(&c->dec, o.max_frame);
	c->alarm = loop_alarm_new(l, conn_alarm_cb, c);
	loop_alarm_set(c->alarm, o.handshake_ms);
	return c;
}

static void conn_destroy(struct net_conn *c)
{
	if (c->bev)
		bufferevent_free(c->bev);
	loop_io_free(c->connecting);
	if (c->fd >= 0)
		close(c->fd);
	loop_alarm_free(c->alarm);
	frame_decoder_release(&c->dec);
	free(c);
}

static void conn_hold(struct net_conn *c)
{
	c->refs++;
}

static void conn_put(struct net_conn *c)
{
	if (--c->refs == 0)
		conn_destroy(c);
}

static void conn_unlink(struct net_conn *c)
{
	if (!c->ls)
		return;
	LIST_UNLINK(c->ls->handshaking, c);
	c->prev = c->next = NULL;
	c->ls = NULL;
}

/* c no longer counts against its listener's caps. */
static void conn_uncount(struct net_conn *c)
{
	struct net_listener *ls = c->counted;

	if (!ls)
		return;
	LIST_UNLINK_AS(ls->live, c, cprev, cnext);
	ls->nlive--;
	if (--c->from->n == 0) {
		addr_counts_remove(&ls->by_addr, c->from);
		free(c->from);
	}
	c->counted = NULL;
	c->from = NULL;
}

/* Stops all I/O and callbacks; the memory stays until the last reference goes. */
static void conn_shut(struct net_conn *c)
{
	c->state = NET_CLOSED;
	conn_unlink(c);
	conn_uncount(c);
	loop_alarm_cancel(c->alarm);
	loop_io_free(c->connecting);
	c->connecting = NULL;
	if (c->bev) {
		bufferevent_disable(c->bev, EV_READ | EV_WRITE);
		bufferevent_setcb(c->bev, NULL, NULL, NULL, NULL);
	}
}

/*
 * The connection ended by itself: stop it, tell its owner (the user's
 * close callback, or the listener's refuse callback during a server
 * handshake), and drop the owner's reference.
 */
static void conn_fail(struct net_conn *c, int reason, const char *detail)
{
	struct net_listener *ls = c->ls;

	if (c->state == NET_CLOSED)
		return;
	if (reason)
		log_ratelimited(&net_rl, LOG_NET, LOG_LVL_INFO,
				"connection closed peer=%s reason=%s detail=\"%s\"", c->addr,
				kf_errname(reason), detail);
	conn_hold(c);
	conn_shut(c);
	if (ls) {
		if (ls->refuse)
			ls->refuse(ls->arg, c->addr, reason, detail);
	} else if (c->started) {
		c->cbs.close(c->arg, c, reason, detail);
	}
	conn_put(c); /* the owner's */
	conn_put(c);
}

void net_conn_close(struct net_conn *c)
{
	if (!c || c->state == NET_CLOSED)
		return;
	conn_shut(c);
	conn_put(c);
}

/* ---- bufferevent callbacks ---- */

/* Feeds bytes to the decoder and hands out each complete frame while the connection is open. */
static void conn_feed(struct net_conn *c, const uint8_t *p, size_t n)
{
	while (n > 0 && c->state == NET_OPEN) {
		struct frame_view f;
		size_t used;
		int r = frame_decode(&c->dec, p, n, &used, &f);

		if (r < 0) {
			conn_fail(c, r, r == KF_ETOOBIG ? "frame over max_frame" : "empty frame");
			return;
		}
		p += used;
		n -= used;
		if (r == 1)
			c->cbs.frame(c->arg, c, f.data, f.len);
	}
}

static void conn_read_cb(struct bufferevent *bev, void *arg)
{
	struct net_conn *c = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	uint8_t buf[NET_READ_CHUNK];
	int n;

	conn_hold(c);
	while (c->state == NET_OPEN && (n = evbuffer_remove(in, buf, sizeof(buf))) > 0) {
		if (c->raw)
			c->cbs.frame(c->arg, c, buf, (size_t)n);
		else
			conn_feed(c, buf, (size_t)n);
	}
	conn_put(c);
}

static void conn_write_cb(struct bufferevent *bev, void *arg)
{
	struct net_conn *c = arg;
	size_t queued = evbuffer_get_length(bufferevent_get_output(bev));

	conn_hold(c);
	if (c->state == NET_FLUSHING && queued == 0) {
		conn_fail(c, 0, "closed after flush");
	} else if (c->state == NET_OPEN && c->want_writable && queued <= c->max_out / 2) {
		c->want_writable = false;
		if (c->cbs.writable)
			c->cbs.writable(c->arg, c);
	}
	conn_put(c);
}

/* The handshake is done: record who the peer is and hand the connection to its user. */
static void conn_opened(struct net_conn *c)
{
	struct net_listener *ls = c->ls;
	int r = c->tls ? tls__identity(bufferevent_openssl_get_ssl(c->bev), &c->peer) : 0;

	if (r != 0 && r != KF_ENOTFOUND) {
		conn_fail(c, r, "peer certificate not verified");
		return;
	}
	loop_alarm_cancel(c->alarm);
	c->state = NET_OPEN;
	log_debug(LOG_NET, "connection open peer=%s cn=%s role=%s", c->addr, c->peer.cn,
		  tls_role_name(c->peer.role));
	if (!ls) {
		if (c->cbs.open)
			c->cbs.open(c->arg, c);
		return;
	}
	conn_unlink(c);
	ls->accept(ls->arg, c);
	if (c->state != NET_CLOSED && !c->started) {
		log_err(LOG_NET, "accepted connection left without callbacks peer=%s", c->addr);
		net_conn_close(c);
	}
}

static void conn_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct net_conn *c = arg;
	int sockerr = EVUTIL_SOCKET_ERROR();
	unsigned long tlserr;
	char why[TLS_WHY_MAX];

	conn_hold(c);
	if (what & BEV_EVENT_CONNECTED) {
		conn_opened(c);
	} else if (what & BEV_EVENT_EOF) {
		if (c->state == NET_HANDSHAKE)
			conn_fail(c, -ECONNRESET, "peer closed during the TLS handshake");
		else
			conn_fail(c, 0, "peer closed the connection");
	} else if (what & BEV_EVENT_ERROR) {
		tlserr = c->tls ? bufferevent_get_openssl_error(bev) : 0;
		if (tlserr) {
			tls__explain(bufferevent_openssl_get_ssl(bev), tlserr, why, sizeof(why));
			while (bufferevent_get_openssl_error(bev))
				;
			conn_fail(c, KF_ETLS, why);
		} else {
			sockerr = sockerr > 0 ? sockerr : ECONNRESET;
			conn_fail(c, -sockerr, strerror(sockerr));
		}
	}
	conn_put(c);
}

/* The TCP connection is up (c->fd): start TLS on it. */
static void conn_tls_start(struct net_conn *c)
{
	bool client = !tls_ctx_is_server(c->tls);
	char why[TLS_WHY_MAX];
	struct ssl_st *ssl;
	int one = 1, r = tls__ssl_new(c->tls, client ? c->host : NULL, &ssl, why, sizeof(why));

	if (r) {
		conn_fail(c, r, why);
		return;
	}
	setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	c->bev = bufferevent_openssl_socket_new(
		loop__base(c->loop), c->fd, ssl,
		client ? BUFFEREVENT_SSL_CONNECTING : BUFFEREVENT_SSL_ACCEPTING,
		BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS);
	if (!c->bev)
		abort(); /* only when out of memory */
	c->fd = -1;
	c->state = NET_HANDSHAKE;
	/* Peers may close without a TLS close_notify; that is an end, not an attack. */
	bufferevent_openssl_set_allow_dirty_shutdown(c->bev, 1);
	bufferevent_setcb(c->bev, conn_read_cb, conn_write_cb, conn_event_cb, c);
	bufferevent_setwatermark(c->bev, EV_WRITE, c->max_out / 2, 0);
	bufferevent_enable(c->bev, EV_READ | EV_WRITE);
}

/* A raw plain connection's TCP connect is done (c->fd): it is open. */
static void conn_plain_start(struct net_conn *c)
{
	int one = 1;

	setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	c->bev = bufferevent_socket_new(loop__base(c->loop), c->fd,
					BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS);
	if (!c->bev)
		abort(); /* only when out of memory */
	c->fd = -1;
	bufferevent_setcb(c->bev, conn_read_cb, conn_write_cb, conn_event_cb, c);
	bufferevent_setwatermark(c->bev, EV_WRITE, c->max_out / 2, 0);
	bufferevent_enable(c->bev, EV_READ | EV_WRITE);
	conn_opened(c);
}

/* The handshake deadline passed, or a failure or a finished flush waits to be reported. */
static void conn_alarm_cb(void *arg)
{
	struct net_conn *c = arg;

	conn_hold(c);
	if (c->pending)
		conn_fail(c, c->pending, strerror(-c->pending));
	else if (c->state == NET_FLUSHING)
		conn_fail(c, 0, "closed after flush");
	else if (c->state == NET_CONNECTING || c->state == NET_HANDSHAKE)
		conn_fail(c, -ETIMEDOUT, "TCP connect and TLS handshake took over handshake_ms");
	conn_put(c);
}

/* ---- clients ---- */

static void conn_connect_cb(void *arg, int fd, int events)
{
	struct net_conn *c = arg;
	int soerr = 0;
	socklen_t len = sizeof(soerr);

	(void)events;
	conn_hold(c);
	loop_io_free(c->connecting);
	c->connecting = NULL;
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &len) != 0)
		soerr = errno;
	if (soerr)
		conn_fail(c, -soerr, strerror(soerr));
	else if (c->tls)
		conn_tls_start(c);
	else
		conn_plain_start(c);
	conn_put(c);
}

/* Dials o->addr for net_connect (framed, tls required) and net_connect_raw (tls optional). */
static int conn_dial(const struct net_dial_opts *o, bool raw, struct net_conn **out)
{
	struct sockaddr_storage ss;
	socklen_t sl;
	char host[NET_HOST_MAX];
	struct net_conn *c;
	int r = net_addr_parse(o->addr, &ss, &sl, host);

	*out = NULL;
	if (r)
		return r;
	if ((!raw && !o->tls) || (o->tls && tls_ctx_is_server(o->tls)) || !o->cbs)
		return KF_ECONFIG;
	c = conn_new(o->loop, o->tls, o->net);
	c->raw = raw;
	c->state = NET_CONNECTING;
	c->cbs = *o->cbs;
	c->arg = o->arg;
	c->started = true;
	memcpy(c->host, host, sizeof(host));
	snprintf(c->addr, sizeof(c->addr), "%s", o->addr);
	c->fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (c->fd < 0) {
		r = -errno;
		conn_put(c);
		return r;
	}
	/* Even a connect that succeeds at once continues from the loop: no callback runs now. */
	if (connect(c->fd, (struct sockaddr *)&ss, sl) == 0 || errno == EINPROGRESS) {
		if (loop_io_new(o->loop, c->fd, LOOP_WRITE, conn_connect_cb, c, &c->connecting) != 0)
			abort(); /* a fresh socket: only when out of memory */
	} else {
		/* Refused at once (loopback): report it from the loop, like any other outcome. */
		c->pending = -errno;
		loop_alarm_set(c->alarm, 0);
	}
	*out = c;
	return 0;
}

int net_connect(const struct net_dial_opts *o, struct net_conn **out)
{
	return conn_dial(o, false, out);
}

int net_connect_raw(const struct net_dial_opts *o, struct net_conn **out)
{
	return conn_dial(o, true, out);
}

/* ---- listeners ---- */

/* The IP text of "ip:port" or "[ip]:port" into ip. */
static void net_addr_ip(const char *addr, char ip[NET_HOST_MAX])
{
	const char *end = addr[0] == '[' ? strchr(addr, ']') : strrchr(addr, ':');
	size_t n = end ? (size_t)(end - addr) : strlen(addr);

	if (n >= NET_HOST_MAX)
		n = NET_HOST_MAX - 1;
	memcpy(ip, addr, n);
	ip[n] = '\0';
}

/*
 * Counts c against ls's caps. Returns 0, or KF_ETOOBIG with the cap that
 * refused it in *why (c is then not counted).
 */
static int listener_count(struct net_listener *ls, struct net_conn *c, const char **why)
{
	char ip[NET_HOST_MAX];
	struct net_addr_count *a;

	if (ls->nlive >= ls->opts.max_conns) {
		*why = "too many connections to this listener (max_conns)";
		return KF_ETOOBIG;
	}
	net_addr_ip(c->addr, ip);
	a = addr_counts_find(&ls->by_addr, ip);
	if (a && a->n >= ls->opts.max_conns_per_addr) {
		*why = "too many connections from this address (max_conns_per_addr)";
		return KF_ETOOBIG;
	}
	if (!a) {
		a = calloc(1, sizeof(*a));
		if (!a)
			abort();
		memcpy(a->ip, ip, sizeof(ip));
		addr_counts_insert(&ls->by_addr, a);
	}
	a->n++;
	ls->nlive++;
	c->counted = ls;
	c->from = a;
	LIST_LINK_AS(ls->live, c, cprev, cnext);
	return 0;
}

static void listener_accept_cb(struct evconnlistener *evl, evutil_socket_t fd,
			       struct sockaddr *sa, int salen, void *arg)
{
	struct net_listener *ls = arg;
	struct net_conn *c = conn_new(ls->loop, ls->tls, &ls->opts);
	const char *why = NULL;
	int r;

	(void)evl;
	(void)salen;
	c->fd = fd;
	net_addr_text(sa, c->addr);
	r = listener_count(ls, c, &why);
	if (r) {
		if (ls->refuse)
			ls->refuse(ls->arg, c->addr, r, why);
		conn_put(c); /* closes fd */
		return;
	}
	c->ls = ls;
	LIST_LINK(ls->handshaking, c);
	conn_hold(c);
	conn_tls_start(c);
	conn_put(c);
}

static void listener_resume_cb(void *arg)
{
	struct net_listener *ls = arg;

	evconnlistener_enable(ls->evl);
}

/* accept() failed (usually out of descriptors): rest a little instead of spinning. */
static void listener_error_cb(struct evconnlistener *evl, void *arg)
{
	struct net_listener *ls = arg;
	int e = EVUTIL_SOCKET_ERROR();

	log_ratelimited(&net_rl, LOG_NET, LOG_LVL_WARN, "accept failed port=%u error=%s",
			(unsigned)ls->port, strerror(e));
	evconnlistener_disable(evl);
	loop_alarm_set(ls->pause, NET_ACCEPT_PAUSE_MS);
}

int net_listen(const struct net_listen_opts *o, struct net_listener **out)
{
	struct sockaddr_storage ss;
	socklen_t sl;
	char host[NET_HOST_MAX];
	struct net_listener *ls;
	struct loop *l = o->loop;
	int fd, one = 1, r = net_addr_parse(o->addr, &ss, &sl, host);

	*out = NULL;
	if (r)
		return r;
	if (!o->tls || !tls_ctx_is_server(o->tls) || !o->accept)
		return KF_ECONFIG;
	fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0 ||
	    bind(fd, (struct sockaddr *)&ss, sl) != 0 || listen(fd, 128) != 0 ||
	    getsockname(fd, (struct sockaddr *)&ss, &sl) != 0) {
		r = -errno;
		close(fd);
		return r;
	}
	ls = calloc(1, sizeof(*ls));
	if (!ls)
		abort();
	ls->loop = l;
	ls->tls = o->tls;
	net_opts_fill(&ls->opts, o->net);
	if (ht_init(&ls->by_addr, NET_ADDR_BUCKETS) != 0)
		abort(); /* a constant in range */
	ls->accept = o->accept;
	ls->refuse = o->refuse;
	ls->arg = o->arg;
	ls->port = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
						 : ((struct sockaddr_in *)&ss)->sin_port);
	ls->pause = loop_alarm_new(l, listener_resume_cb, ls);
	ls->evl = evconnlistener_new(loop__base(l), listener_accept_cb, ls, LEV_OPT_CLOSE_ON_FREE,
				     0, fd);
	if (!ls->evl)
		abort(); /* only when out of memory */
	evconnlistener_set_error_cb(ls->evl, listener_error_cb);
	log_info(LOG_NET, "listening addr=%s port=%u", host, (unsigned)ls->port);
	*out = ls;
	return 0;
}

uint16_t net_listener_port(const struct net_listener *ls)
{
	return ls->port;
}

void net_listener_free(struct net_listener *ls)
{
	if (!ls)
		return;
	while (ls->handshaking)
		net_conn_close(ls->handshaking);
	while (ls->live)
		conn_uncount(ls->live); /* handed out: they stay open, uncounted */
	ht_release(&ls->by_addr);
	evconnlistener_free(ls->evl);
	loop_alarm_free(ls->pause);
	free(ls);
}

/* ---- using a connection ---- */

void net_conn_start(struct net_conn *c, const struct net_conn_cbs *cbs, void *arg)
{
	c->cbs = *cbs;
	c->arg = arg;
	c->started = true;
}

int net_conn_send(struct net_conn *c, const void *payload, size_t len)
{
	struct evbuffer *out;
	struct evbuffer_iovec v;
	size_t written;
	int r;

	if (c->state != NET_OPEN || c->raw)
		return KF_ESTATE;
	if (len == 0)
		return KF_EPROTO;
	if (len > c->max_send)
		return KF_ETOOBIG;
	out = bufferevent_get_output(c->bev);
	if (evbuffer_get_length(out) + FRAME_HEADER + len > c->max_out) {
		c->want_writable = true;
		return KF_ETOOBIG;
	}
	if (evbuffer_reserve_space(out, (ev_ssize_t)(FRAME_HEADER + len), &v, 1) != 1)
		abort(); /* only when out of memory */
	r = frame_encode(payload, len, c->max_send, v.iov_base, v.iov_len, &written);
	if (r)
		return r;
	v.iov_len = written;
	if (evbuffer_commit_space(out, &v, 1) != 0)
		return KF_EINTERNAL;
	return 0;
}

int net_conn_write(struct net_conn *c, const void *data, size_t len)
{
	struct evbuffer *out;

	if (c->state != NET_OPEN || !c->raw)
		return KF_ESTATE;
	out = bufferevent_get_output(c->bev);
	if (evbuffer_get_length(out) + len > c->max_out) {
		c->want_writable = true;
		return KF_ETOOBIG;
	}
	if (len && evbuffer_add(out, data, len) != 0)
		abort(); /* only when out of memory */
	return 0;
}

void net_conn_set_max_frame(struct net_conn *c, size_t max)
{
	frame_decoder_set_max(&c->dec, max ? max : c->max_send);
}

size_t net_conn_out_pending(const struct net_conn *c)
{
	return c->bev ? evbuffer_get_length(bufferevent_get_output(c->bev)) : 0;
}

const struct tls_identity *net_conn_peer(const struct net_conn *c)
{
	return c->state == NET_OPEN || c->state == NET_FLUSHING ? &c->peer : NULL;
}

const char *net_conn_addr(const struct net_conn *c)
{
	return c->addr;
}

void net_conn_close_flushed(struct net_conn *c)
{
	if (c->state != NET_OPEN)
		return;
	c->state = NET_FLUSHING;
	bufferevent_disable(c->bev, EV_READ);
	/* An empty queue gets no write callback: let the alarm finish it from the loop. */
	if (net_conn_out_pending(c) == 0)
		loop_alarm_set(c->alarm, 0);
}
