/* The node's listener, its peers and the one message table. See server.h and msg.h. */
#include "node/server.h"

#include "cluster/rpc.h"
#include "lib/err.h"
#include "lib/ht.h"
#include "lib/log.h"
#include "lib/net.h"
#include "proto/frame.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Peers by id: a node holds thousands of agents' connections. */
#define PEER_BUCKETS 1024

struct msg_peer {
	struct ht_node hn;           /* in the hub's peers, by id */
	struct msg_hub *hub;
	struct net_conn *conn;
	uint64_t id;
	struct tls_identity who;
	char session[MSG_SESSION_MAX + 1];
	/* Peers without a certificate role: the login deadline, then the idle one. */
	struct loop_alarm *timer;
	uint64_t since_ms;           /* connected, or logged out: the login deadline counts from here */
	uint64_t last_rx_ms;         /* the last frame received */
	bool cutting;                /* an Error frame was sent; the connection is cut when timer fires */
	bool supervisor;             /* the session is a supervisor's */
	/* A local peer (msg_local_new): no connection; what is sent goes to sink. */
	msg_sink_fn sink;
	void *sink_arg;
	char addr[64];
};

/* A message type's row as registered, with its owner. */
struct slot {
	const struct msg_row *row;   /* NULL: no row for this body */
	const char *owner;
	void *state;                 /* NULL: the owner does not run on this node */
};

struct msg_hub {
	struct loop *loop;
	struct net_listener *ls;
	struct repl *repl;
	size_t max_frame;
	size_t anon_max_frame;
	uint32_t login_timeout_ms, idle_timeout_ms;
	server_closed_fn closed;
	void *closed_arg;
	struct ht peers;             /* by id */
	uint64_t next_peer;
	struct slot *slots;          /* indexed by body case */
	size_t nslots;
};

struct server {
	struct msg_hub hub;
};

HT_DEFINE_U64(peers, struct msg_peer, hn, id)

/* ---- the message table ---- */

int msg_register(struct msg_hub *h, const char *owner, const struct msg_row *rows, size_t n,
		 void *state)
{
	for (size_t i = 0; i < n; i++) {
		size_t b = (size_t)rows[i].body;

		if (b >= h->nslots) {
			struct slot *grown = realloc(h->slots, (b + 1) * sizeof(*grown));

			if (!grown)
				abort();
			memset(grown + h->nslots, 0, (b + 1 - h->nslots) * sizeof(*grown));
			h->slots = grown;
			h->nslots = b + 1;
		}
		if (h->slots[b].row && strcmp(h->slots[b].owner, owner) != 0) {
			log_err(LOG_NET, "message %s registered by %s and %s", rows[i].name,
				h->slots[b].owner, owner);
			abort(); /* two owners of one message: our bug */
		}
		h->slots[b] = (struct slot){&rows[i], owner, state};
	}
	return 0;
}

void msg_unregister(struct msg_hub *h, const char *owner)
{
	for (size_t i = 0; i < h->nslots; i++)
		if (h->slots[i].row && strcmp(h->slots[i].owner, owner) == 0)
			h->slots[i].state = NULL;
}

/* ---- peers ---- */

uint64_t msg_peer_id(const struct msg_peer *p)
{
	return p->id;
}

const struct tls_identity *msg_peer_who(const struct msg_peer *p)
{
	return &p->who;
}

const char *msg_peer_addr(const struct msg_peer *p)
{
	return p->conn ? net_conn_addr(p->conn) : p->addr;
}

struct msg_hub *msg_peer_hub(const struct msg_peer *p)
{
	return p->hub;
}

struct net_conn *msg_peer_conn(const struct msg_peer *p)
{
	return p->conn;
}

const char *msg_peer_session(const struct msg_peer *p)
{
	return p->session;
}

static void peer_arm(struct msg_peer *p);
static void peer_free(struct msg_peer *p);

void msg_peer_set_session(struct msg_peer *p, const char *agent)
{
	snprintf(p->session, sizeof(p->session), "%s", agent ? agent : "");
	if (!p->session[0])
		p->supervisor = false;
	if (!p->timer)
		return; /* a certificate's role: trusted as it is */
	if (p->session[0]) {
		net_conn_set_max_frame(p->conn, 0);
	} else {
		net_conn_set_max_frame(p->conn, p->hub->anon_max_frame);
		p->since_ms = loop_now_ms();
	}
	peer_arm(p);
}

void msg_peer_set_supervisor(struct msg_peer *p, bool supervisor)
{
	p->supervisor = supervisor && p->session[0];
}

bool msg_peer_is_supervisor(const struct msg_peer *p)
{
	return p->supervisor;
}

void msg_each_session(struct msg_hub *h, msg_session_fn fn, void *arg)
{
	for (struct msg_peer *p = peers_first(&h->peers); p; p = peers_next(&h->peers, p))
		if (p->session[0])
			fn(arg, p, p->session, p->supervisor);
}

struct msg_peer *msg_peer_find(struct msg_hub *h, uint64_t id)
{
	return id ? peers_find(&h->peers, id) : NULL;
}

int msg_send(struct msg_peer *p, Kefu__Envelope *e, uint64_t request_id)
{
	static struct log_ratelimit rl = LOG_RATELIMIT_INIT(10000, 10);
	int err;

	e->has_request_id = request_id != 0;
	e->request_id = request_id;
	if (p->sink) {
		p->sink(p->sink_arg, e);
		return 0;
	}
	err = env_send(p->conn, e);
	if (err)
		log_ratelimited(&rl, LOG_NET, LOG_LVL_WARN, "reply dropped to=%s error=\"%s\"",
				net_conn_addr(p->conn), kf_strerror(err));
	return err;
}

void msg_error(struct msg_peer *p, uint64_t request_id, int code, const char *msg)
{
	Kefu__Envelope e;
	Kefu__Error er;
	const char *name, *addr;

	env_error(&e, &er, request_id, code, msg);
	if (code == KF_ESTATE && p->hub->repl) {
		repl_leader_hint(p->hub->repl, &name, &addr);
		if (*addr)
			er.leader = (char *)addr;
	}
	msg_send(p, &e, request_id);
}

void msg_ack(struct msg_peer *p, uint64_t request_id, bool ok, const char *msg)
{
	Kefu__Envelope e = KEFU__ENVELOPE__INIT;
	Kefu__AdminReply ar = KEFU__ADMIN_REPLY__INIT;

	ar.has_ok = 1;
	ar.ok = ok;
	ar.message = (char *)msg;
	e.body_case = KEFU__ENVELOPE__BODY_ADMIN_REPLY;
	e.admin_reply = &ar;
	msg_send(p, &e, request_id);
}

void msg_close(struct msg_peer *p)
{
	if (p->sink)
		p->sink(p->sink_arg, NULL); /* its owner frees it, off this call */
	else
		net_conn_close_flushed(p->conn);
}

void msg_ref_send(const struct msg_ref *r, Kefu__Envelope *e)
{
	struct msg_peer *p = msg_ref_peer(r);

	if (p)
		msg_send(p, e, r->request_id);
}

void msg_ref_error(const struct msg_ref *r, int code, const char *msg)
{
	struct msg_peer *p = msg_ref_peer(r);

	if (p)
		msg_error(p, r->request_id, code, msg);
}

void msg_ref_ack(const struct msg_ref *r, bool ok, const char *msg)
{
	struct msg_peer *p = msg_ref_peer(r);

	if (p)
		msg_ack(p, r->request_id, ok, msg);
}

void msg_ref_written(const struct msg_ref *r, int err, const char *msg, uint64_t index)
{
	Kefu__Envelope e = KEFU__ENVELOPE__INIT;
	Kefu__WriteReply wr = KEFU__WRITE_REPLY__INIT;

	if (err) {
		msg_ref_error(r, err, msg);
		return;
	}
	wr.has_index = 1;
	wr.index = index;
	e.body_case = KEFU__ENVELOPE__BODY_WRITE_REPLY;
	e.write_reply = &wr;
	msg_ref_send(r, &e);
}

/* ---- dispatch ---- */

static bool role_admitted(const struct msg_row *row, const struct msg_peer *p)
{
	if (p->who.role == TLS_ROLE_NONE)
		return (row->roles & MSG_R_AGENT) != 0 ||
		       (p->supervisor && (row->roles & MSG_R_SUPERVISOR) != 0);
	return (row->roles & (unsigned)p->who.role) != 0;
}

/* The checks of msg.h, in order; true when the handler may run. */
static bool admitted(struct msg_peer *p, const struct slot *s, const Kefu__Envelope *e, size_t len)
{
	static struct log_ratelimit rl = LOG_RATELIMIT_INIT(10000, 10);
	const struct msg_row *row = s->row;
	char msg[160];

	if (!row) {
		msg_error(p, e->request_id, KF_EPROTO, "message not accepted by a node");
		return false;
	}
	if (!s->state) {
		snprintf(msg, sizeof(msg), "%s is not configured on this node", s->owner);
		msg_error(p, e->request_id, KF_ESTATE, msg);
		return false;
	}
	if (!role_admitted(row, p) && p->session[0] && (row->roles & MSG_R_SUPERVISOR)) {
		/* A logged-in agent asking for a supervisor's view: refused, kept. */
		snprintf(msg, sizeof(msg), "%s needs a supervisor's session", row->name);
		msg_error(p, e->request_id, KF_ESTATE, msg);
		return false;
	}
	if (!role_admitted(row, p)) {
		log_ratelimited(&rl, LOG_NET, LOG_LVL_WARN, "refused message=%s role=%s from=%s",
				row->name, tls_role_name(p->who.role), msg_peer_addr(p));
		snprintf(msg, sizeof(msg), "%s is not allowed for role %s", row->name,
			 tls_role_name(p->who.role));
		msg_error(p, e->request_id, KF_EPROTO, msg);
		msg_close(p);
		return false;
	}
	if (len > (row->max_len ? row->max_len : p->hub->max_frame)) {
		log_ratelimited(&rl, LOG_NET, LOG_LVL_WARN, "refused message=%s bytes=%zu from=%s",
				row->name, len, msg_peer_addr(p));
		snprintf(msg, sizeof(msg), "%s of %zu bytes is over its limit of %zu", row->name,
			 len, row->max_len);
		msg_error(p, e->request_id, KF_ETOOBIG, msg);
		msg_close(p);
		return false;
	}
	if (row->needs_session && !p->session[0]) {
		msg_error(p, e->request_id, KF_ESTATE, "log in first");
		return false;
	}
	return true;
}

/* One frame's payload from p: decoded, checked against its row, handled. */
static void dispatch(struct msg_peer *p, const uint8_t *data, size_t len)
{
	static struct log_ratelimit rl = LOG_RATELIMIT_INIT(10000, 10);
	static const struct slot none = {NULL, NULL, NULL};
	struct msg_hub *h = p->hub;
	const struct slot *s;
	Kefu__Envelope *e;
	int err = frame_envelope_decode(data, len, &e);

	p->last_rx_ms = loop_now_ms();
	if (err) {
		log_ratelimited(&rl, LOG_NET, LOG_LVL_WARN, "bad envelope from=%s error=\"%s\"",
				msg_peer_addr(p), kf_strerror(err));
		msg_error(p, 0, err, err == KF_EPROTO ? "unknown or empty message" : "not an Envelope");
		return;
	}
	s = (size_t)e->body_case < h->nslots ? &h->slots[e->body_case] : &none;
	if (admitted(p, s, e, len))
		s->row->fn(s->state, p, e);
	frame_envelope_free(e);
}

static void on_frame(void *arg, struct net_conn *conn, const uint8_t *data, size_t len)
{
	(void)conn;
	dispatch(arg, data, len);
}

/* ---- local peers ---- */

struct msg_peer *msg_local_new(struct msg_hub *h, const char *addr, msg_sink_fn sink, void *arg)
{
	struct msg_peer *p = calloc(1, sizeof(*p));

	if (!p)
		abort();
	p->hub = h;
	p->id = ++h->next_peer;
	p->sink = sink;
	p->sink_arg = arg;
	snprintf(p->addr, sizeof(p->addr), "%s", addr ? addr : "local");
	p->since_ms = p->last_rx_ms = loop_now_ms();
	peers_insert(&h->peers, p);
	return p;
}

void msg_local_run(struct msg_peer *p, const uint8_t *data, size_t len)
{
	dispatch(p, data, len);
}

void msg_local_free(struct msg_peer *p)
{
	if (p)
		peer_free(p);
}

/* ---- connections ---- */

static void peer_free(struct msg_peer *p)
{
	struct msg_hub *h = p->hub;

	peers_remove(&h->peers, p);
	if (h->closed)
		h->closed(h->closed_arg, p);
	loop_alarm_free(p->timer);
	free(p);
}

/* Arms p's timer for its login deadline (no session) or its idle deadline. */
static void peer_arm(struct msg_peer *p)
{
	struct msg_hub *h = p->hub;
	uint64_t now = loop_now_ms(), due;

	if (p->cutting)
		return;
	due = p->session[0] ? p->last_rx_ms + h->idle_timeout_ms : p->since_ms + h->login_timeout_ms;
	loop_alarm_set(p->timer, due > now ? due - now : 0);
}

/* A deadline of a peer without a certificate role: tell it why, then cut it off. */
static void peer_timer(void *arg)
{
	static struct log_ratelimit rl = LOG_RATELIMIT_INIT(10000, 10);
	struct msg_peer *p = arg;
	struct msg_hub *h = p->hub;
	uint64_t now = loop_now_ms();
	char msg[96];

	if (p->cutting) {
		/* The Error frame had its chance to go out: the peer does not read. */
		net_conn_close(p->conn);
		peer_free(p);
		return;
	}
	if (p->session[0] ? now - p->last_rx_ms < h->idle_timeout_ms
			  : now - p->since_ms < h->login_timeout_ms) {
		peer_arm(p);
		return;
	}
	if (p->session[0])
		snprintf(msg, sizeof(msg), "session idle for %u s: closed (send a ping)",
			 (unsigned)(h->idle_timeout_ms / 1000));
	else
		snprintf(msg, sizeof(msg), "no login within %u s: closed",
			 (unsigned)(h->login_timeout_ms / 1000));
	log_ratelimited(&rl, LOG_NET, LOG_LVL_INFO, "%s from=%s agent=%s", msg,
			net_conn_addr(p->conn), p->session);
	msg_error(p, 0, -ETIMEDOUT, msg);
	p->cutting = true;
	msg_close(p);
	loop_alarm_set(p->timer, SERVER_CLOSE_GRACE_MS);
}

static void on_close(void *arg, struct net_conn *conn, int reason, const char *detail)
{
	struct msg_peer *p = arg;

	(void)conn;
	log_debug(LOG_NET, "connection closed from=%s reason=\"%s\"%s%s", net_conn_addr(p->conn),
		  kf_strerror(reason), detail ? " detail=" : "", detail ? detail : "");
	peer_free(p);
}

static void on_accept(void *arg, struct net_conn *conn)
{
	static const struct net_conn_cbs cbs = {NULL, on_frame, NULL, on_close};
	struct msg_hub *h = arg;
	struct msg_peer *p = calloc(1, sizeof(*p));
	const struct tls_identity *id = net_conn_peer(conn);

	if (!p)
		abort();
	p->hub = h;
	p->conn = conn;
	p->id = ++h->next_peer;
	if (id)
		p->who = *id;
	peers_insert(&h->peers, p);
	net_conn_start(conn, &cbs, p);
	if (p->who.role == TLS_ROLE_NONE) {
		/* No certificate: small frames and a login deadline until it logs in. */
		p->timer = loop_alarm_new(h->loop, peer_timer, p);
		if (!p->timer)
			abort(); /* only when out of memory */
		p->since_ms = p->last_rx_ms = loop_now_ms();
		net_conn_set_max_frame(conn, h->anon_max_frame);
		peer_arm(p);
	}
}

static void on_refuse(void *arg, const char *peer, int reason, const char *detail)
{
	static struct log_ratelimit rl = LOG_RATELIMIT_INIT(10000, 5);

	(void)arg;
	log_ratelimited(&rl, LOG_NET, LOG_LVL_WARN, "connection refused from=%s reason=\"%s\"%s%s",
			peer, kf_strerror(reason), detail ? " detail=" : "", detail ? detail : "");
}

int server_new(const struct server_opts *o, struct server **out)
{
	struct net_opts no = {.max_frame = o->max_frame,
			      .max_conns = o->max_conns,
			      .max_conns_per_addr = o->max_conns_per_addr};
	struct net_listen_opts lo = {.accept = on_accept, .refuse = on_refuse};
	struct server *s = calloc(1, sizeof(*s));
	struct msg_hub *h;
	int err = 0;

	if (!s)
		abort();
	h = &s->hub;
	h->loop = o->loop;
	h->repl = o->repl;
	h->max_frame = o->max_frame;
	h->anon_max_frame = o->anon_max_frame ? o->anon_max_frame : SERVER_ANON_MAX_FRAME;
	if (o->max_frame && h->anon_max_frame > o->max_frame)
		h->anon_max_frame = o->max_frame;
	h->login_timeout_ms = o->login_timeout_ms ? o->login_timeout_ms : SERVER_LOGIN_TIMEOUT_MS;
	h->idle_timeout_ms = o->idle_timeout_ms ? o->idle_timeout_ms : SERVER_IDLE_TIMEOUT_MS;
	h->closed = o->closed;
	h->closed_arg = o->closed_arg;
	if (ht_init(&h->peers, PEER_BUCKETS) != 0)
		abort(); /* a constant in range */
	lo.loop = o->loop;
	lo.addr = o->listen_addr;
	lo.tls = o->server_tls;
	lo.net = &no;
	lo.arg = h;
	err = net_listen(&lo, &h->ls);
	if (err) {
		server_free(s);
		*out = NULL;
		return err;
	}
	*out = s;
	return 0;
}

void server_free(struct server *s)
{
	if (!s)
		return;
	net_listener_free(s->hub.ls);
	for (struct msg_peer *p; (p = peers_first(&s->hub.peers));) {
		if (p->conn)
			net_conn_close(p->conn);
		peer_free(p);
	}
	ht_release(&s->hub.peers);
	free(s->hub.slots);
	free(s);
}

struct msg_hub *server_hub(struct server *s)
{
	return &s->hub;
}
