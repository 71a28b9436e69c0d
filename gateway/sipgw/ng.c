/* rtpengine's NG protocol: commands, replies and a UDP client. See ng.h. */
#include "gateway/sipgw/ng.h"

#include "gateway/sipgw/benc.h"
#include "lib/err.h"
#include "lib/log.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

int ng_encode(const struct ng_cmd *c, const char *cookie, char *buf, size_t cap)
{
	struct benc_out o = {buf, cap, 0, false};
	size_t cl = strlen(cookie);

	if (!c->command || cl == 0 || cl > NG_COOKIE_MAX || strchr(cookie, ' '))
		return KF_EINVAL;
	if (cl + 1 > cap)
		return KF_ETOOBIG;
	memcpy(buf, cookie, cl);
	buf[cl] = ' ';
	o.len = cl + 1;
	/* Keys in sorted order, as bencode asks. */
	benc_open(&o, 'd');
	if (c->latch) {
		benc_str(&o, "ICE");
		benc_str(&o, "remove");
	}
	if (c->call_id) {
		benc_str(&o, "call-id");
		benc_str(&o, c->call_id);
	}
	benc_str(&o, "command");
	benc_str(&o, c->command);
	if (c->file) {
		benc_str(&o, "file");
		benc_str(&o, c->file);
	}
	if (c->latch) {
		benc_str(&o, "flags");
		benc_open(&o, 'l');
		benc_str(&o, "port latching");
		benc_close(&o);
	}
	if (c->from_tag) {
		benc_str(&o, "from-tag");
		benc_str(&o, c->from_tag);
	}
	if (c->latch) {
		benc_str(&o, "replace");
		benc_open(&o, 'l');
		benc_str(&o, "origin");
		benc_str(&o, "session-connection");
		benc_close(&o);
	}
	if (c->sdp) {
		benc_str(&o, "sdp");
		benc_str(&o, c->sdp);
	}
	if (c->to_tag) {
		benc_str(&o, "to-tag");
		benc_str(&o, c->to_tag);
	}
	benc_close(&o);
	return o.over ? KF_ETOOBIG : (int)o.len;
}

int ng_decode(const char *buf, size_t len, struct ng_reply *r)
{
	static struct benc_doc d; /* the gateway's loop thread only (and the fuzzer) */
	const char *sp = memchr(buf, ' ', len);
	const struct benc_node *n;
	int err;

	memset(r, 0, sizeof(*r));
	r->duration_ms = -1;
	if (len > NG_MSG_MAX)
		return KF_ETOOBIG;
	if (!sp || sp == buf || (size_t)(sp - buf) > NG_COOKIE_MAX)
		return KF_EPARSE;
	r->cookie = buf;
	r->cookie_len = (size_t)(sp - buf);
	if ((err = benc_parse(sp + 1, len - r->cookie_len - 1, &d)) != 0)
		return err;
	if (d.n[0].type != BENC_DICT)
		return KF_EPARSE;
	n = benc_get(&d, 0, "result");
	r->ok = benc_is(n, "ok") || benc_is(n, "pong");
	if ((n = benc_get(&d, 0, "sdp")) && n->type == BENC_STR) {
		r->sdp = n->str;
		r->sdp_len = n->len;
	}
	if ((n = benc_get(&d, 0, "error-reason")) && n->type == BENC_STR) {
		r->why = n->str;
		r->why_len = n->len;
	}
	if ((n = benc_get(&d, 0, "duration")) && n->type == BENC_INT && n->num >= 0)
		r->duration_ms = n->num;
	return 0;
}

/* ---- the client ---- */

struct ng_pending {
	char cookie[NG_COOKIE_MAX + 1];
	char *msg;
	size_t len;
	uint64_t deadline_ms, resend_ms;
	ng_fn fn;
	void *arg;
	struct ng_pending *next;
};

struct ng {
	int fd;
	struct loop_io *io;
	struct loop_timer *tick;
	struct ng_pending *pending;
	uint64_t seq;
};

static void pending_done(struct ng *n, struct ng_pending *p, int err, const struct ng_reply *r)
{
	struct ng_pending **pp;

	for (pp = &n->pending; *pp; pp = &(*pp)->next)
		if (*pp == p) {
			*pp = p->next;
			break;
		}
	p->fn(p->arg, err, r);
	free(p->msg);
	free(p);
}

static void on_readable(void *arg, int fd, int events)
{
	struct ng *n = arg;
	static char buf[NG_MSG_MAX + 1];
	struct ng_reply r;
	ssize_t got;

	(void)events;
	while ((got = recv(fd, buf, sizeof(buf), MSG_DONTWAIT)) > 0) {
		struct ng_pending *p;
		int err = ng_decode(buf, (size_t)got, &r);

		if (err) {
			log_warn(LOG_SIPGW, "bad reply from rtpengine error=\"%s\"", kf_strerror(err));
			continue;
		}
		for (p = n->pending; p; p = p->next)
			if (strlen(p->cookie) == r.cookie_len &&
			    memcmp(p->cookie, r.cookie, r.cookie_len) == 0)
				break;
		if (p)
			pending_done(n, p, 0, &r);
		else
			log_debug(LOG_SIPGW, "rtpengine reply to nothing pending cookie=%.*s",
				  (int)r.cookie_len, r.cookie);
	}
}

/* Every 100 ms: send again what is unanswered, fail what is overdue (one
 * at a time: a callback may cancel other commands). */
static void on_tick(void *arg)
{
	struct ng *n = arg;
	uint64_t now = loop_now_ms();
	struct ng_pending *p;

	for (p = n->pending; p; p = p->next)
		if (now >= p->resend_ms && now < p->deadline_ms) {
			(void)send(n->fd, p->msg, p->len, MSG_DONTWAIT);
			p->resend_ms = now + NG_RESEND_MS;
		}
	for (;;) {
		for (p = n->pending; p && now < p->deadline_ms; p = p->next)
			;
		if (!p)
			break;
		log_warn(LOG_SIPGW, "rtpengine did not answer cookie=%s", p->cookie);
		pending_done(n, p, -ETIMEDOUT, NULL);
	}
}

int ng_new(struct loop *loop, const char *addr, struct ng **out)
{
	struct sockaddr_in sin = {.sin_family = AF_INET};
	char host[64];
	const char *colon = strrchr(addr, ':');
	char *end;
	long port;
	struct ng *n;
	int err;

	*out = NULL;
	if (!colon || (size_t)(colon - addr) >= sizeof(host))
		return KF_ECONFIG;
	snprintf(host, sizeof(host), "%.*s", (int)(colon - addr), addr);
	port = strtol(colon + 1, &end, 10);
	if (*end || port <= 0 || port > 65535 || inet_pton(AF_INET, host, &sin.sin_addr) != 1)
		return KF_ECONFIG;
	sin.sin_port = htons((uint16_t)port);
	n = calloc(1, sizeof(*n));
	if (!n)
		abort();
	n->fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (n->fd < 0 || connect(n->fd, (struct sockaddr *)&sin, sizeof(sin)) != 0) {
		err = -errno;
		goto fail;
	}
	if ((err = loop_io_new(loop, n->fd, LOOP_READ, on_readable, n, &n->io)) != 0)
		goto fail;
	n->tick = loop_timer_new(loop, 100, on_tick, n);
	*out = n;
	return 0;
fail:
	if (n->fd >= 0)
		close(n->fd);
	free(n);
	return err;
}

void ng_free(struct ng *n)
{
	if (!n)
		return;
	while (n->pending) {
		struct ng_pending *p = n->pending;

		n->pending = p->next;
		free(p->msg);
		free(p);
	}
	loop_timer_free(n->tick);
	loop_io_free(n->io);
	close(n->fd);
	free(n);
}

int ng_send(struct ng *n, const struct ng_cmd *c, ng_fn fn, void *arg)
{
	struct ng_pending *p = calloc(1, sizeof(*p));
	int len;

	if (!p)
		abort();
	snprintf(p->cookie, sizeof(p->cookie), "%d-%llu", (int)getpid(),
		 (unsigned long long)++n->seq);
	p->msg = malloc(NG_MSG_MAX);
	if (!p->msg)
		abort();
	len = ng_encode(c, p->cookie, p->msg, NG_MSG_MAX);
	if (len < 0) {
		free(p->msg);
		free(p);
		return len;
	}
	p->len = (size_t)len;
	p->fn = fn;
	p->arg = arg;
	p->resend_ms = loop_now_ms() + NG_RESEND_MS;
	p->deadline_ms = loop_now_ms() + NG_TIMEOUT_MS;
	p->next = n->pending;
	n->pending = p;
	(void)send(n->fd, p->msg, p->len, MSG_DONTWAIT);
	log_debug(LOG_SIPGW, "rtpengine command=\"%s\" cookie=%s", c->command, p->cookie);
	return 0;
}

void ng_cancel(struct ng *n, void *arg)
{
	struct ng_pending **pp = &n->pending;

	while (*pp) {
		struct ng_pending *p = *pp;

		if (p->arg == arg) {
			*pp = p->next;
			free(p->msg);
			free(p);
		} else {
			pp = &p->next;
		}
	}
}
