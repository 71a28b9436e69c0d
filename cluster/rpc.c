/* Request and reply over a framed TLS connection. See rpc.h. */
#include "cluster/rpc.h"

#include "lib/err.h"
#include "lib/list.h"
#include "lib/log.h"
#include "proto/frame.h"

#include <errno.h>
#include <stdio.h>

#include <stdlib.h>
#include <string.h>

struct rpc_pending {
	struct rpc_pending *next;
	uint64_t id;
	uint64_t deadline_ms;
	rpc_reply_fn fn;
	void *arg;
	uint8_t *queued;  /* packed frame waiting for the connection, or NULL once sent */
	size_t queued_len;
};

struct rpc {
	struct loop *loop;
	struct net_conn *conn;
	struct loop_alarm *timer;
	struct loop_alarm *reaper;
	rpc_state_fn state;
	rpc_push_fn unsolicited;
	void *arg;
	struct rpc_pending *pending;
	uint64_t next_id;
	bool up, failed, dying;
	int depth;          /* callbacks running: free waits for them */
	enum tls_role expect_role;
	char expect_cn[TLS_NAME_MAX + 1];
};

static void rpc_destroy(struct rpc *r)
{
	struct rpc_pending *p = r->pending;

	while (p) {
		struct rpc_pending *n = p->next;

		free(p->queued);
		free(p);
		p = n;
	}
	net_conn_close(r->conn);
	loop_alarm_free(r->timer);
	loop_alarm_free(r->reaper);
	free(r);
}

static void rpc_reap(void *arg)
{
	rpc_destroy(arg);
}

void rpc_free(struct rpc *r)
{
	if (!r || r->dying)
		return;
	r->dying = true;
	if (r->depth > 0) {
		/* inside one of our callbacks: finish on the next loop turn */
		net_conn_close(r->conn);
		r->conn = NULL;
		loop_alarm_set(r->reaper, 0);
		return;
	}
	rpc_destroy(r);
}

bool rpc_is_up(const struct rpc *r)
{
	return r->up && !r->failed;
}

bool rpc_failed(const struct rpc *r)
{
	return r->failed;
}

const struct tls_identity *rpc_peer(const struct rpc *r)
{
	return r->conn && r->up ? net_conn_peer(r->conn) : NULL;
}

size_t rpc_out_pending(const struct rpc *r)
{
	return r->conn && r->up ? net_conn_out_pending(r->conn) : 0;
}

static uint8_t *pack(const Kefu__Envelope *e, size_t *len)
{
	uint8_t *buf;

	*len = kefu__envelope__get_packed_size(e);
	buf = malloc(*len ? *len : 1);
	if (!buf)
		abort();
	kefu__envelope__pack(e, buf);
	return buf;
}

int env_send(struct net_conn *c, const Kefu__Envelope *e)
{
	size_t len;
	uint8_t *buf = pack(e, &len);
	int r = net_conn_send(c, buf, len);

	free(buf);
	return r;
}

void env_error(Kefu__Envelope *e, Kefu__Error *err, uint64_t request_id, int code,
	       const char *msg)
{
	kefu__envelope__init(e);
	kefu__error__init(err);
	err->has_code = 1;
	err->code = code;
	err->message = (char *)msg;
	e->has_request_id = request_id != 0;
	e->request_id = request_id;
	e->body_case = KEFU__ENVELOPE__BODY_ERROR;
	e->error = err;
}

/* Complete and unlink pending call p with err/reply. */
static void finish(struct rpc *r, struct rpc_pending *p, int err, const Kefu__Envelope *reply)
{
	CHAIN_UNLINK(&r->pending, p, next);
	r->depth++;
	if (!r->dying)
		p->fn(p->arg, err, reply);
	r->depth--;
	free(p->queued);
	free(p);
}

static void fail_all(struct rpc *r, int err)
{
	while (r->pending && !r->dying)
		finish(r, r->pending, err, NULL);
}

static void arm_timer(struct rpc *r)
{
	uint64_t now = loop_now_ms(), next = UINT64_MAX;

	for (struct rpc_pending *p = r->pending; p; p = p->next)
		if (p->deadline_ms < next)
			next = p->deadline_ms;
	if (next == UINT64_MAX)
		loop_alarm_cancel(r->timer);
	else
		loop_alarm_set(r->timer, next > now ? next - now : 0);
}

static void on_timer(void *arg)
{
	struct rpc *r = arg;
	uint64_t now = loop_now_ms();
	struct rpc_pending *p = r->pending;

	while (p && !r->dying) {
		struct rpc_pending *n = p->next;

		if (p->deadline_ms <= now) {
			finish(r, p, -ETIMEDOUT, NULL);
			n = r->pending; /* the list may have changed inside fn */
		}
		p = n;
	}
	if (!r->dying)
		arm_timer(r);
}

static void on_close(void *arg, struct net_conn *c, int reason, const char *detail);

/* The server is whom the caller meant to reach (rpc_opts.expect_*). */
static bool server_expected(const struct rpc *r, struct net_conn *c, char *why, size_t n)
{
	const struct tls_identity *id = net_conn_peer(c);

	if (r->expect_role != TLS_ROLE_NONE && (!id || id->role != r->expect_role)) {
		snprintf(why, n, "the server's certificate has role %s, not %s",
			 tls_role_name(id ? id->role : TLS_ROLE_NONE), tls_role_name(r->expect_role));
		return false;
	}
	if (r->expect_cn[0] && (!id || strcmp(id->cn, r->expect_cn) != 0)) {
		snprintf(why, n, "the server's certificate names %s, not %s", id ? id->cn : "nobody",
			 r->expect_cn);
		return false;
	}
	return true;
}

static void on_open(void *arg, struct net_conn *c)
{
	struct rpc *r = arg;
	char why[256];

	if (!server_expected(r, c, why, sizeof(why))) {
		log_warn(LOG_NET, "server refused addr=%s why=\"%s\"", net_conn_addr(c), why);
		net_conn_close(c);
		on_close(r, c, KF_ETLS, why);
		return;
	}
	r->up = true;
	for (struct rpc_pending *p = r->pending; p; p = p->next) {
		if (p->queued) {
			if (net_conn_send(r->conn, p->queued, p->queued_len) != 0)
				p->deadline_ms = 0; /* times out at once */
			free(p->queued);
			p->queued = NULL;
		}
	}
	arm_timer(r);
	if (r->state) {
		r->depth++;
		r->state(r->arg, 0, NULL);
		r->depth--;
	}
}

static void on_frame(void *arg, struct net_conn *c, const uint8_t *data, size_t len)
{
	static struct log_ratelimit rl = LOG_RATELIMIT_INIT(10000, 5);
	struct rpc *r = arg;
	Kefu__Envelope *e;
	int err = frame_envelope_decode(data, len, &e);

	(void)c;
	if (err) {
		log_ratelimited(&rl, LOG_NET, LOG_LVL_WARN, "bad frame from=%s error=\"%s\"",
				net_conn_addr(r->conn), kf_strerror(err));
		return;
	}
	if (e->request_id) {
		for (struct rpc_pending *p = r->pending; p; p = p->next) {
			if (p->id == e->request_id) {
				finish(r, p, 0, e);
				frame_envelope_free(e);
				return;
			}
		}
	}
	if (r->unsolicited && !r->dying) {
		r->depth++;
		r->unsolicited(r->arg, e);
		r->depth--;
	}
	frame_envelope_free(e);
}

static void on_close(void *arg, struct net_conn *c, int reason, const char *detail)
{
	struct rpc *r = arg;

	(void)c;
	r->conn = NULL; /* freed by lib/net when we return */
	r->failed = true;
	fail_all(r, reason ? reason : -ECONNRESET);
	if (r->state && !r->dying) {
		r->depth++;
		r->state(r->arg, reason ? reason : -ECONNRESET, detail);
		r->depth--;
	}
}

int rpc_new(const struct rpc_opts *o, struct rpc **out)
{
	static const struct net_conn_cbs ncbs = {on_open, on_frame, NULL, on_close};
	struct loop *l = o->loop;
	struct net_dial_opts d = {l, o->addr, o->tls, o->net, &ncbs, NULL};
	struct rpc *r;
	int rc;

	*out = NULL;
	if (!l)
		return -EINVAL;
	r = calloc(1, sizeof(*r));
	if (!r)
		abort();
	r->loop = l;
	r->state = o->state;
	r->unsolicited = o->unsolicited;
	r->arg = o->arg;
	r->next_id = 1;
	r->expect_role = o->expect_role;
	snprintf(r->expect_cn, sizeof(r->expect_cn), "%s", o->expect_cn ? o->expect_cn : "");
	r->timer = loop_alarm_new(l, on_timer, r);
	r->reaper = loop_alarm_new(l, rpc_reap, r);
	d.arg = r;
	rc = net_connect(&d, &r->conn);
	if (rc) {
		rpc_destroy(r);
		return rc;
	}
	*out = r;
	return 0;
}

int rpc_call(struct rpc *r, Kefu__Envelope *req, uint64_t timeout_ms, rpc_reply_fn fn, void *arg)
{
	struct rpc_pending *p;
	uint8_t *buf;
	size_t len;
	int err = 0;

	if (r->failed || r->dying)
		return KF_ESTATE;
	req->has_request_id = 1;
	req->request_id = r->next_id++;
	buf = pack(req, &len);
	p = calloc(1, sizeof(*p));
	if (!p)
		abort();
	p->id = req->request_id;
	p->deadline_ms = loop_now_ms() + timeout_ms;
	p->fn = fn;
	p->arg = arg;
	if (r->up) {
		err = net_conn_send(r->conn, buf, len);
		free(buf);
		if (err) {
			free(p);
			return err;
		}
	} else {
		p->queued = buf;
		p->queued_len = len;
	}
	p->next = r->pending;
	r->pending = p;
	arm_timer(r);
	return 0;
}

int rpc_send(struct rpc *r, Kefu__Envelope *msg)
{
	if (!r->up || r->failed || r->dying)
		return KF_ESTATE;
	msg->has_request_id = 0;
	msg->request_id = 0;
	return env_send(r->conn, msg);
}
