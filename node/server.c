/* The node's listener and dispatch table. See server.h. */
#include "node/server.h"

#include "cluster/rpc.h"
#include "lib/err.h"
#include "lib/list.h"
#include "lib/log.h"
#include "lib/net.h"
#include "node/hot.h"
#include "node/jobs.h"
#include "node/routing.h"
#include "proto/frame.h"
#include "storage/accounts.h"
#include "storage/audit.h"
#include "storage/callback.h"
#include "storage/custdb.h"
#include "storage/import.h"
#include "storage/log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define FORWARD_TIMEOUT_MS 30000
#define FORWARD_RETRY_MS 200
#define IMPORT_TIMEOUT_MS (6ull * 3600 * 1000)
#define CHK_MAX 4096

struct client;

/* An online import on its way in (leader side): staged files, then a worker. */
struct import_in {
	char name[BOSS_NAME_MAX + 1];
	char dat[4096], chk[4096];
	int fd;
	uint64_t size, got;
	uint64_t request_id;     /* of ImportEnd */
	bool running;            /* a worker has it: import_done frees it */
	struct import_result res;
	int err;
};

struct client {
	struct client *next;
	struct server *s;
	struct net_conn *conn;
	uint64_t id;
	struct tls_identity who;
	struct import_in *imp;
	struct rpc *imp_fwd;     /* a follower forwards a client's import on its own link */
};

struct server {
	struct loop *loop;
	char self[META_NAME_MAX];
	char data_dir[2048];
	struct net_listener *ls;
	struct tls_ctx *client_tls;
	struct repl *repl;
	struct election *el;
	struct repl_storage *sto;
	size_t max_frame;
	struct client *clients;
	uint64_t next_client;
	struct rpc *fwd;         /* to the leader, for forwarded requests */
	char fwd_leader[META_NAME_MAX];
	uint64_t fwd_epoch;
	uint64_t fwd_failed_ms;  /* when the link to the leader was found failed */
	struct jobs *jobs;
	struct hot **hot;        /* Redis, for status; see server_opts */
	struct routing **routing; /* gateways and agents; see server_opts */
	/* agent accounts and the audit log: this node's audit numbering */
	struct audit_seq audit_seq;
};

/* ---- replying ---- */

static struct client *client_by_id(struct server *s, uint64_t id)
{
	for (struct client *c = s->clients; c; c = c->next)
		if (c->id == id)
			return c;
	return NULL;
}

static void reply(struct client *c, Kefu__Envelope *e, uint64_t request_id)
{
	e->has_request_id = request_id != 0;
	e->request_id = request_id;
	if (env_send(c->conn, e) != 0)
		log_warn(LOG_NET, "reply dropped to=%s", net_conn_addr(c->conn));
}

static void reply_error(struct client *c, uint64_t request_id, int code, const char *msg)
{
	Kefu__Envelope e;
	Kefu__Error er;
	const char *name, *addr;

	env_error(&e, &er, request_id, code, msg);
	repl_leader_hint(c->s->repl, &name, &addr);
	if (code == KF_ESTATE && *addr)
		er.leader = (char *)addr;
	reply(c, &e, request_id);
}

static void reply_admin(struct client *c, uint64_t request_id, bool ok, const char *msg)
{
	Kefu__Envelope e = KEFU__ENVELOPE__INIT;
	Kefu__AdminReply ar = KEFU__ADMIN_REPLY__INIT;

	ar.has_ok = 1;
	ar.ok = ok;
	ar.message = (char *)msg;
	e.body_case = KEFU__ENVELOPE__BODY_ADMIN_REPLY;
	e.admin_reply = &ar;
	reply(c, &e, request_id);
}

/* A request's way back to its client, which may be gone by then. */
struct ticket {
	struct server *s;
	uint64_t client;
	uint64_t request_id;
};

static struct ticket *ticket_new(struct client *c, uint64_t request_id)
{
	struct ticket *t = malloc(sizeof(*t));

	if (!t)
		abort();
	*t = (struct ticket){c->s, c->id, request_id};
	return t;
}

/* ---- forwarding to the leader ---- */

static void on_forwarded(void *arg, int err, const Kefu__Envelope *rep)
{
	struct ticket *t = arg;
	struct client *c = client_by_id(t->s, t->client);

	if (c) {
		if (err) {
			char msg[160];

			snprintf(msg, sizeof(msg), "forwarding to the leader failed: %s",
				 kf_strerror(err));
			reply_error(c, t->request_id, err, msg);
		} else {
			Kefu__Envelope copy = *rep;

			reply(c, &copy, t->request_id);
		}
	}
	free(t);
}

/* The shared link to the leader, re-dialled when the leader changes. */
static struct rpc *leader_link(struct server *s)
{
	uint64_t epoch;
	const char *leader = election_leader(s->el, &epoch), *name, *addr;
	struct net_opts no = {s->max_frame, 0, 0};
	int err;

	if (!*leader || strcmp(leader, s->self) == 0)
		return NULL;
	if (s->fwd && strcmp(s->fwd_leader, leader) == 0 && s->fwd_epoch == epoch) {
		if (!rpc_failed(s->fwd))
			return s->fwd;
		/* The leader does not answer: say so at once for a while rather
		 * than dial it again for every request. */
		if (!s->fwd_failed_ms)
			s->fwd_failed_ms = loop_now_ms();
		if (loop_now_ms() - s->fwd_failed_ms < FORWARD_RETRY_MS)
			return NULL;
	}
	rpc_free(s->fwd);
	s->fwd = NULL;
	repl_leader_hint(s->repl, &name, &addr);
	if (!*addr)
		return NULL;
	s->fwd = rpc_new(s->loop, addr, s->client_tls, &no, NULL, NULL, &err);
	s->fwd_failed_ms = 0;
	snprintf(s->fwd_leader, sizeof(s->fwd_leader), "%s", leader);
	s->fwd_epoch = epoch;
	return s->fwd;
}

/* Forward e (from client c) to the leader; its answer goes back to c. */
static void forward(struct client *c, const Kefu__Envelope *e, struct rpc *via)
{
	Kefu__Envelope copy = *e;
	struct ticket *t;
	int err;

	if (c->who.role == TLS_ROLE_NODE) {
		/* Never forward twice: a node asked us because it thought we lead. */
		reply_error(c, e->request_id, KF_ESTATE, "not the leader");
		return;
	}
	if (!via) {
		reply_error(c, e->request_id, KF_ESTATE, "no leader at the moment; retry");
		return;
	}
	t = ticket_new(c, e->request_id);
	err = rpc_call(via, &copy, FORWARD_TIMEOUT_MS, on_forwarded, t);
	if (err) {
		free(t);
		reply_error(c, e->request_id, err, "forwarding to the leader failed");
	}
}

/* ---- handlers ---- */

typedef void (*handler_fn)(struct client *c, const Kefu__Envelope *e);

static void on_ping(struct client *c, const Kefu__Envelope *e)
{
	Kefu__Envelope r = KEFU__ENVELOPE__INIT;
	Kefu__Pong p = KEFU__PONG__INIT;

	p.has_nonce = e->ping->has_nonce;
	p.nonce = e->ping->nonce;
	r.body_case = KEFU__ENVELOPE__BODY_PONG;
	r.pong = &p;
	reply(c, &r, e->request_id);
}

static void on_hello(struct client *c, const Kefu__Envelope *e)
{
	repl_on_hello(c->s->repl, c->conn, e->hello);
}

static void on_append_ack(struct client *c, const Kefu__Envelope *e)
{
	repl_on_append_ack(c->s->repl, c->conn, e->append_ack);
}

static void on_write_done(void *arg, int err, uint64_t index)
{
	struct ticket *t = arg;
	struct client *c = client_by_id(t->s, t->client);

	if (c) {
		if (err) {
			reply_error(c, t->request_id, err,
				    err == KF_ESTATE ? "leadership changed before the write was "
						       "acknowledged; it may or may not be applied"
						     : kf_strerror(err));
		} else {
			Kefu__Envelope r = KEFU__ENVELOPE__INIT;
			Kefu__WriteReply wr = KEFU__WRITE_REPLY__INIT;

			wr.has_index = 1;
			wr.index = index;
			r.body_case = KEFU__ENVELOPE__BODY_WRITE_REPLY;
			r.write_reply = &wr;
			reply(c, &r, t->request_id);
		}
	}
	free(t);
}

static void on_write(struct client *c, const Kefu__Envelope *e)
{
	struct server *s = c->s;
	const Kefu__WriteBatch *wb = e->write->batch;
	uint8_t *packed;
	size_t len;
	struct ticket *t;
	int err;

	if (!wb || wb->n_ops == 0) {
		reply_error(c, e->request_id, KF_EPARSE, "a write needs a batch with ops");
		return;
	}
	if (!repl_is_serving(s->repl)) {
		forward(c, e, leader_link(s));
		return;
	}
	len = kefu__write_batch__get_packed_size(wb);
	packed = malloc(len ? len : 1);
	if (!packed)
		abort();
	kefu__write_batch__pack(wb, packed);
	t = ticket_new(c, e->request_id);
	err = repl_write(s->repl, packed, len, on_write_done, t);
	free(packed);
	if (err) {
		free(t);
		reply_error(c, e->request_id, err, err == KF_ESTATE ? "not the leader" : kf_strerror(err));
	}
}

/* Status: the replication picture, then one health check per etcd endpoint. */
struct status_req {
	struct ticket *t;
	Kefu__StatusReply st;
	Kefu__EtcdStatus *es;
	Kefu__EtcdStatus **esp;
	char (*detail)[64];
	size_t n, pending;
	char redis_primary[REDIS_ADDR_MAX];
};

static void status_send(struct status_req *q)
{
	struct client *c = client_by_id(q->t->s, q->t->client);

	if (c) {
		Kefu__Envelope r = KEFU__ENVELOPE__INIT;

		r.body_case = KEFU__ENVELOPE__BODY_STATUS_REPLY;
		r.status_reply = &q->st;
		reply(c, &r, q->t->request_id);
	}
	repl_status_release(&q->st);
	free(q->es);
	free(q->esp);
	free(q->detail);
	free(q->t);
	free(q);
}

struct health_req {
	struct status_req *q;
	size_t i;
};

static void on_health(void *arg, int err, const struct etcd_resp *r)
{
	struct health_req *h = arg;
	struct status_req *q = h->q;

	q->es[h->i].has_healthy = 1;
	q->es[h->i].healthy = err == 0 && r->healthy;
	if (err)
		snprintf(q->detail[h->i], sizeof(q->detail[h->i]), "%s", kf_strerror(err));
	free(h);
	if (--q->pending == 0)
		status_send(q);
}

static void on_status(struct client *c, const Kefu__Envelope *e)
{
	struct server *s = c->s;
	struct etcd *etcd = election_etcd(s->el);
	struct status_req *q = calloc(1, sizeof(*q));

	if (!q)
		abort();
	q->t = ticket_new(c, e->request_id);
	kefu__status_reply__init(&q->st);
	repl_fill_status(s->repl, &q->st);
	if (s->hot && *s->hot) {
		bool up;

		snprintf(q->redis_primary, sizeof(q->redis_primary), "%s", hot_primary(*s->hot, &up));
		q->st.redis_primary = q->redis_primary;
		q->st.has_redis_up = 1;
		q->st.redis_up = up;
		hot_rtt(*s->hot, &q->st.redis_rtt_p50_us, &q->st.redis_rtt_p99_us,
			&q->st.redis_commands);
		q->st.has_redis_rtt_p50_us = q->st.has_redis_rtt_p99_us = 1;
		q->st.has_redis_commands = 1;
	}
	q->n = etcd_endpoint_count(etcd);
	q->es = calloc(q->n, sizeof(*q->es));
	q->esp = calloc(q->n, sizeof(*q->esp));
	q->detail = calloc(q->n, sizeof(*q->detail));
	if (!q->es || !q->esp || !q->detail)
		abort();
	q->st.n_etcd = q->n;
	q->st.etcd = q->esp;
	q->pending = 1; /* held until every check is queued */
	for (size_t i = 0; i < q->n; i++) {
		struct health_req *h = malloc(sizeof(*h));

		if (!h)
			abort();
		kefu__etcd_status__init(&q->es[i]);
		q->es[i].endpoint = (char *)etcd_endpoint_url(etcd, i);
		q->es[i].detail = q->detail[i];
		q->esp[i] = &q->es[i];
		*h = (struct health_req){q, i};
		q->pending++;
		if (etcd_health(etcd, i, on_health, h) != 0) {
			free(h);
			q->pending--;
			snprintf(q->detail[i], sizeof(q->detail[i]), "not asked");
		}
	}
	if (--q->pending == 0)
		status_send(q);
}

static void on_admin_done(void *arg, bool ok, const char *msg)
{
	struct ticket *t = arg;
	struct client *c = client_by_id(t->s, t->client);

	if (c)
		reply_admin(c, t->request_id, ok, msg);
	free(t);
}

static void on_switchover(struct client *c, const Kefu__Envelope *e)
{
	struct server *s = c->s;
	const char *to = e->switchover->to;
	struct ticket *t;

	if (!to || !meta_name_ok(to)) {
		reply_admin(c, e->request_id, false, "switchover needs --to NAME");
		return;
	}
	if (!repl_is_serving(s->repl)) {
		forward(c, e, leader_link(s));
		return;
	}
	t = ticket_new(c, e->request_id);
	if (repl_switchover(s->repl, to, on_admin_done, t) != 0) {
		free(t);
		reply_admin(c, e->request_id, false, "not the leader any more; retry");
	}
}

static void on_failover(struct client *c, const Kefu__Envelope *e)
{
	const char *to = e->failover->to;
	struct ticket *t;

	if (to && !meta_name_ok(to)) {
		reply_admin(c, e->request_id, false, "not a node name");
		return;
	}
	t = ticket_new(c, e->request_id);
	if (repl_failover(c->s->repl, to, on_admin_done, t) != 0) {
		free(t);
		reply_admin(c, e->request_id, false, "etcd did not take the failover request");
	}
}

static void on_lookup(struct client *c, const Kefu__Envelope *e)
{
	const Kefu__LookupRequest *lr = e->lookup;
	Kefu__Envelope r = KEFU__ENVELOPE__INIT;
	Kefu__LookupReply rep = KEFU__LOOKUP_REPLY__INIT;
	struct custdb_profile p;
	struct custdb_cdrs cd;
	struct store_txn *t;
	size_t months = lr->has_months ? lr->months : 3;
	int err;

	if (!lr->msisdn == !lr->user_id) {
		reply_error(c, e->request_id, KF_EPARSE, "give one of msisdn or user_id");
		return;
	}
	if (months > 24)
		months = 24;
	err = store_read_begin(c->s->sto->store, &t);
	if (err == 0) {
		err = lr->msisdn ? custdb_lookup_msisdn(t, lr->msisdn, 10, months, &p)
				 : custdb_lookup_user(t, lr->user_id, 10, months, &p);
		if (err == 0 && (err = custdb_list_cdrs(t, p.user->user_id, NULL, NULL,
							CUSTDB_LOOKUP_CDRS, &cd)))
			custdb_profile_release(&p);
		store_abort(t);
	}
	if (err) {
		reply_error(c, e->request_id, err,
			    err == KF_ENOTFOUND ? "no such subscriber" : kf_strerror(err));
		return;
	}
	rep.user = p.user;
	rep.customer = p.cust;
	rep.n_payments = p.npay;
	rep.payments = p.pay;
	rep.n_bills = p.nbill;
	rep.bills = p.bill;
	rep.n_cdrs = cd.n;
	rep.cdrs = cd.cdr;
	r.body_case = KEFU__ENVELOPE__BODY_LOOKUP_REPLY;
	r.lookup_reply = &rep;
	reply(c, &r, e->request_id);
	custdb_profile_release(&p);
	custdb_cdrs_release(&cd);
}

/* A SEQ skip runs on a worker through the log, like an import. */
struct skip_args {
	struct server *s;
	uint64_t client, request_id;
	char prov[BOSS_PROV_MAX + 1];
	enum boss_kind kind;
	uint32_t seq;
	char reason[256];
	char why[256];
	int err;
};

static void skip_main(void *arg)
{
	struct skip_args *a = arg;

	a->err = import_skip(a->s->sto->store, jobs_hooks(a->s->jobs), a->prov, a->kind, a->seq,
			     a->reason, a->why, sizeof(a->why));
}

static void skip_done(void *arg)
{
	struct skip_args *a = arg;
	struct client *c = client_by_id(a->s, a->client);

	if (c) {
		char msg[320];

		if (a->err == 0)
			snprintf(msg, sizeof(msg), "skipped %s %s SEQ %06u", a->prov,
				 boss_kind_name(a->kind), a->seq);
		else
			snprintf(msg, sizeof(msg), "%s", a->why[0] ? a->why : kf_strerror(a->err));
		reply_admin(c, a->request_id, a->err == 0, msg);
	}
	free(a);
}

static void on_skip(struct client *c, const Kefu__Envelope *e)
{
	const Kefu__SkipRequest *sr = e->skip;
	struct skip_args *a;
	enum boss_kind kind;

	if (!repl_is_serving(c->s->repl)) {
		forward(c, e, leader_link(c->s));
		return;
	}
	if (!sr->prov || strlen(sr->prov) > BOSS_PROV_MAX || !sr->kind ||
	    boss_kind_parse(sr->kind, strlen(sr->kind), &kind) || !sr->reason || !*sr->reason) {
		reply_admin(c, e->request_id, false, "skip needs prov, kind, seq and a reason");
		return;
	}
	a = calloc(1, sizeof(*a));
	if (!a)
		abort();
	a->s = c->s;
	a->client = c->id;
	a->request_id = e->request_id;
	snprintf(a->prov, sizeof(a->prov), "%s", sr->prov);
	a->kind = kind;
	a->seq = sr->seq;
	snprintf(a->reason, sizeof(a->reason), "%s", sr->reason);
	if (jobs_spawn(c->s->jobs, skip_main, skip_done, a) != 0) {
		free(a);
		reply_admin(c, e->request_id, false, "cannot start the job");
	}
}

/* ---- online import ---- */

static void import_drop(struct client *c)
{
	struct import_in *im = c->imp;

	if (!im)
		return;
	if (im->running) {
		c->imp = NULL; /* the worker finishes on its own; import_done frees im */
		return;
	}
	if (im->fd >= 0)
		close(im->fd);
	unlink(im->dat);
	unlink(im->chk);
	free(im);
	c->imp = NULL;
}

static int staging_dir(struct server *s, char *out, size_t cap)
{
	snprintf(out, cap, "%s.import", s->data_dir);
	return mkdir(out, 0750) == 0 || errno == EEXIST ? 0 : -errno;
}

static void on_import_begin(struct client *c, const Kefu__Envelope *e)
{
	const Kefu__ImportBegin *ib = e->import_begin;
	struct server *s = c->s;
	struct boss_name bn;
	struct import_in *im;
	char dir[2100], why[200];
	int fd;

	if (!repl_is_serving(s->repl)) {
		forward(c, e, c->imp_fwd);
		return;
	}
	if (c->imp) {
		reply_admin(c, e->request_id, false, "an import is already in progress on this connection");
		return;
	}
	if (!ib->name || boss_parse_name(ib->name, strlen(ib->name), &bn, why, sizeof(why)) != 0) {
		char msg[300];

		snprintf(msg, sizeof(msg), "bad file name: %s", ib->name ? why : "none given");
		reply_admin(c, e->request_id, false, msg);
		return;
	}
	if (!ib->has_chk || ib->chk.len == 0 || ib->chk.len > CHK_MAX || staging_dir(s, dir, sizeof(dir))) {
		reply_admin(c, e->request_id, false, "missing or oversized .chk, or no staging space");
		return;
	}
	im = calloc(1, sizeof(*im));
	if (!im)
		abort();
	snprintf(im->name, sizeof(im->name), "%s", ib->name);
	snprintf(im->dat, sizeof(im->dat), "%s/%s", dir, ib->name);
	snprintf(im->chk, sizeof(im->chk), "%s/%.*s.chk", dir, (int)(strlen(ib->name) - 4), ib->name);
	fd = open(im->chk, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
	if (fd < 0 || write(fd, ib->chk.data, ib->chk.len) != (ssize_t)ib->chk.len) {
		if (fd >= 0)
			close(fd);
		free(im);
		reply_admin(c, e->request_id, false, "cannot stage the .chk");
		return;
	}
	close(fd);
	im->fd = open(im->dat, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
	if (im->fd < 0) {
		unlink(im->chk);
		free(im);
		reply_admin(c, e->request_id, false, "cannot stage the data file");
		return;
	}
	im->size = ib->size;
	c->imp = im;
	reply_admin(c, e->request_id, true, "send the data");
}

static void on_import_chunk(struct client *c, const Kefu__Envelope *e)
{
	struct import_in *im = c->imp;
	const ProtobufCBinaryData *d = &e->import_chunk->data;

	if (!im && c->imp_fwd && !repl_is_serving(c->s->repl)) {
		forward(c, e, c->imp_fwd);
		return;
	}
	if (!im || im->running) {
		reply_admin(c, e->request_id, false, "no import in progress");
		return;
	}
	if (im->got + d->len > im->size ||
	    write(im->fd, d->data, d->len) != (ssize_t)d->len) {
		reply_admin(c, e->request_id, false, "more data than announced, or no disk space");
		import_drop(c);
		return;
	}
	im->got += d->len;
	reply_admin(c, e->request_id, true, "ok");
}

struct import_args {
	struct client *c_unused;
	struct server *s;
	struct import_in *im;
	uint64_t client;
};

static void record_result(void *arg, const struct import_result *r)
{
	struct import_in *im = arg;

	if (strcmp(r->name, im->name) == 0)
		im->res = *r;
}

/* On a worker thread (node/jobs.h): the file goes through the leader's log. */
static void import_main(void *arg)
{
	struct import_args *a = arg;
	struct server *s = a->s;
	struct import_in *im = a->im;
	char dir[2100], rej[2200], arc[2200];
	struct import_opts o;
	const char *paths[1];

	snprintf(dir, sizeof(dir), "%s.import", s->data_dir);
	snprintf(rej, sizeof(rej), "%s/rejected", dir);
	snprintf(arc, sizeof(arc), "%s/archive", dir);
	memset(&o, 0, sizeof(o));
	o.rejected_dir = rej;
	o.archive_dir = arc;
	o.origin = s->self;
	o.hooks = jobs_hooks(s->jobs);
	paths[0] = im->dat;
	snprintf(im->res.name, sizeof(im->res.name), "%s", im->name);
	im->res.outcome = IMPORT_HELD;
	im->err = import_files(s->sto->store, &o, paths, 1, record_result, im, NULL);
}

static void send_import_reply(struct client *c, struct import_in *im)
{
	Kefu__Envelope r = KEFU__ENVELOPE__INIT;
	Kefu__ImportReply ir = KEFU__IMPORT_REPLY__INIT;

	if (im->err) {
		reply_error(c, im->request_id, im->err, kf_strerror(im->err));
		return;
	}
	ir.outcome = (char *)import_outcome_name(im->res.outcome);
	ir.name = im->res.name;
	ir.has_records = ir.has_line = 1;
	ir.records = im->res.records;
	ir.line = im->res.line;
	ir.reason = im->res.reason;
	ir.field = im->res.field;
	r.body_case = KEFU__ENVELOPE__BODY_IMPORT_REPLY;
	r.import_reply = &ir;
	reply(c, &r, im->request_id);
}

/* On the loop once the worker is done: answer the client if it is still there. */
static void import_done(void *arg)
{
	struct import_args *a = arg;
	struct import_in *im = a->im;
	struct client *c = client_by_id(a->s, a->client);

	if (c && c->imp == im) {
		send_import_reply(c, im);
		c->imp = NULL;
	}
	unlink(im->dat); /* a held file stays nowhere: the client sends it again */
	unlink(im->chk);
	free(im);
	free(a);
}

static void on_import_end(struct client *c, const Kefu__Envelope *e)
{
	struct import_in *im = c->imp;
	struct import_args *a;

	if (!im && c->imp_fwd && !repl_is_serving(c->s->repl)) {
		forward(c, e, c->imp_fwd);
		return;
	}
	if (!im || im->running) {
		reply_admin(c, e->request_id, false, "no import in progress");
		return;
	}
	close(im->fd);
	im->fd = -1;
	if (im->got != im->size) {
		reply_admin(c, e->request_id, false, "the data ended before the announced size");
		import_drop(c);
		return;
	}
	if (!repl_is_serving(c->s->repl)) {
		reply_error(c, e->request_id, KF_ESTATE, "leadership changed during the upload; retry");
		import_drop(c);
		return;
	}
	im->request_id = e->request_id;
	a = malloc(sizeof(*a));
	if (!a)
		abort();
	*a = (struct import_args){NULL, c->s, im, c->id};
	if (jobs_spawn(c->s->jobs, import_main, import_done, a) != 0) {
		free(a);
		reply_error(c, e->request_id, KF_EINTERNAL, "cannot start the import");
		import_drop(c);
		return;
	}
	im->running = true;
}

/* Imports that reach a follower travel on a link of their own to the leader. */
static void import_forward_prepare(struct client *c)
{
	struct server *s = c->s;
	const char *name, *addr;
	struct net_opts no = {s->max_frame, 0, 0};
	int err;

	if (repl_is_serving(s->repl) || c->who.role == TLS_ROLE_NODE)
		return;
	if (c->imp_fwd && !rpc_failed(c->imp_fwd))
		return;
	rpc_free(c->imp_fwd);
	c->imp_fwd = NULL;
	repl_leader_hint(s->repl, &name, &addr);
	if (*addr && strcmp(name, s->self) != 0)
		c->imp_fwd = rpc_new(s->loop, addr, s->client_tls, &no, NULL, NULL, &err);
}

static void on_import_begin_any(struct client *c, const Kefu__Envelope *e)
{
	import_forward_prepare(c);
	on_import_begin(c, e);
}

/* ==== agent accounts and the audit log ====
 *
 * A change to an account runs on the leader inside the transaction that
 * appends it to the log (repl_run_logged): the check against the stored
 * account and the write are one step, and the same batch carries the
 * change's audit entry. A follower forwards the request, naming the admin
 * (its certificate's CN) as the actor. Listings come from the local
 * replica in pages.
 */

#define PAGE_MAX 500
#define PAGE_BYTES (256u * 1024)

typedef int (*agent_op_fn)(struct store_txn *t, const Kefu__Agent *a, uint64_t now_ms,
			   struct batch *b, char *why, size_t cap);

static int agent_op_passwd(struct store_txn *t, const Kefu__Agent *a, uint64_t now_ms,
			   struct batch *b, char *why, size_t cap)
{
	return accounts_set_password(t, a->id, a->password_hash, now_ms, b, why, cap);
}

static int agent_op_disable(struct store_txn *t, const Kefu__Agent *a, uint64_t now_ms,
			    struct batch *b, char *why, size_t cap)
{
	return accounts_disable(t, a->id, now_ms, b, why, cap);
}

static const struct agent_op {
	Kefu__AgentWriteRequest__Op op;
	const char *action; /* the audit entry's action */
	agent_op_fn fn;
} agent_ops[] = {
	{KEFU__AGENT_WRITE_REQUEST__OP__ADD, "agent_add", accounts_create},
	{KEFU__AGENT_WRITE_REQUEST__OP__UPDATE, "agent_update", accounts_update},
	{KEFU__AGENT_WRITE_REQUEST__OP__PASSWD, "agent_passwd", agent_op_passwd},
	{KEFU__AGENT_WRITE_REQUEST__OP__DISABLE, "agent_disable", agent_op_disable},
};

/* One account change on its way through the writer thread. */
struct agent_job {
	struct ticket *t;
	const struct agent_op *op;
	Kefu__AgentWriteRequest *req; /* owned copy, actor filled in */
	char self[META_NAME_MAX];
	uint64_t now_ms, seq;
	struct batch *b;
	char detail[AUDIT_DETAIL_MAX + 1];
	char why[ACCOUNTS_WHY_MAX];   /* written by the body, read in the done callback */
};

static uint64_t wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Append "key=value" to the detail in out, space-separated. */
static void detail_put(char *out, size_t cap, const char *key, const char *val)
{
	size_t n = strlen(out);

	if (n + 1 < cap)
		snprintf(out + n, cap - n, "%s%s=%s", n ? " " : "", key, val);
}

/* The audit detail of a change: the fields it sets, never a password
 * hash. They are checked before the entry is written; the name comes
 * before the skills, so that a cut (skills at their longest) falls inside
 * ASCII. */
static void agent_detail(const Kefu__Agent *a, char *out, size_t cap)
{
	char order[16];

	out[0] = '\0';
	if (a->role)
		detail_put(out, cap, "role", a->role);
	if (a->has_enabled)
		detail_put(out, cap, "enabled", a->enabled ? "yes" : "no");
	if (a->has_order) {
		snprintf(order, sizeof(order), "%u", a->order);
		detail_put(out, cap, "order", order);
	}
	if (a->name)
		detail_put(out, cap, "name", a->name);
	if (a->skills)
		detail_put(out, cap, "skills", a->skills);
}

/* On the writer thread: check, build, audit, append. Reruns start afresh. */
static int agent_body(struct store_txn *t, uint64_t epoch, void *arg)
{
	struct agent_job *j = arg;
	Kefu__AuditEntry ae = KEFU__AUDIT_ENTRY__INIT;
	int err;

	batch_reset(j->b);
	j->why[0] = '\0';
	err = j->op->fn(t, j->req->agent, j->now_ms, j->b, j->why, sizeof(j->why));
	if (err)
		return err;
	ae.has_time_ms = ae.has_seq = 1;
	ae.time_ms = j->now_ms;
	ae.seq = j->seq;
	ae.node = j->self;
	ae.agent = j->req->actor;
	ae.action = (char *)j->op->action;
	ae.subject = j->req->agent->id;
	ae.detail = j->detail;
	err = audit_append(j->b, &ae, j->why, sizeof(j->why));
	if (err)
		return err;
	return log_append_batch(t, epoch, j->b, 0, false, j->self, NULL);
}

static void agent_job_free(struct agent_job *j)
{
	kefu__agent_write_request__free_unpacked(j->req, NULL);
	batch_free(j->b);
	free(j->t);
	free(j);
}

static void on_agent_written(void *arg, int err, uint64_t index)
{
	struct agent_job *j = arg;
	struct client *c = client_by_id(j->t->s, j->t->client);
	char msg[ACCOUNTS_WHY_MAX + 96];

	if (!c) {
		agent_job_free(j);
		return;
	}
	if (err == 0) {
		snprintf(msg, sizeof(msg), "%s %s done (log index %llu)", j->op->action,
			 j->req->agent->id, (unsigned long long)index);
		reply_admin(c, j->t->request_id, true, msg);
	} else if (err == KF_EPARSE || err == KF_EEXISTS || err == KF_ENOTFOUND) {
		reply_admin(c, j->t->request_id, false, j->why[0] ? j->why : kf_strerror(err));
	} else {
		reply_error(c, j->t->request_id, err,
			    err == KF_ESTATE ? "leadership changed before the change was "
					       "acknowledged; it may or may not be applied"
					     : kf_strerror(err));
	}
	agent_job_free(j);
}

static const struct agent_op *agent_op_find(const Kefu__AgentWriteRequest *rq)
{
	for (size_t i = 0; rq->has_op && i < sizeof(agent_ops) / sizeof(agent_ops[0]); i++)
		if (agent_ops[i].op == rq->op)
			return &agent_ops[i];
	return NULL;
}

static void on_agent_write(struct client *c, const Kefu__Envelope *e)
{
	struct server *s = c->s;
	Kefu__AgentWriteRequest rq = *e->agent_write;
	const struct agent_op *op = agent_op_find(&rq);
	struct agent_job *j;
	uint8_t *packed;
	size_t len;
	int err;

	if (!op || !rq.agent || !accounts_id_is_valid(rq.agent->id)) {
		reply_admin(c, e->request_id, false, "an agent request needs an op and a valid agent id");
		return;
	}
	/* The admin is the actor; a node forwarding for an admin names it. */
	if (c->who.role != TLS_ROLE_NODE || !rq.actor)
		rq.actor = c->who.cn;
	if (!repl_is_serving(s->repl)) {
		Kefu__Envelope copy = *e;

		copy.agent_write = &rq;
		forward(c, &copy, leader_link(s));
		return;
	}
	j = calloc(1, sizeof(*j));
	if (!j)
		abort();
	len = kefu__agent_write_request__get_packed_size(&rq);
	packed = malloc(len ? len : 1);
	if (!packed)
		abort();
	kefu__agent_write_request__pack(&rq, packed);
	j->req = kefu__agent_write_request__unpack(NULL, len, packed);
	free(packed);
	if (!j->req)
		abort(); /* we packed it ourselves: only memory can fail */
	j->t = ticket_new(c, e->request_id);
	j->op = op;
	snprintf(j->self, sizeof(j->self), "%s", s->self);
	j->now_ms = wall_ms();
	j->seq = audit_seq_next(&s->audit_seq);
	j->b = batch_new(64 * 1024);
	agent_detail(j->req->agent, j->detail, sizeof(j->detail));
	err = repl_run_logged(s->repl, agent_body, j, on_agent_written, j);
	if (err) {
		reply_error(c, e->request_id, err, err == KF_ESTATE ? "not the leader" : kf_strerror(err));
		agent_job_free(j);
	}
}

/* A page of a listing: copies of the messages, capped in count and bytes. */
struct page {
	ProtobufCMessage **v;
	size_t n, bytes;
	bool more;
};

static void page_init(struct page *p)
{
	p->v = calloc(PAGE_MAX, sizeof(*p->v));
	if (!p->v)
		abort();
	p->n = p->bytes = 0;
	p->more = false;
}

/* Whether the page is full: then the listing stops and says there is more. */
static bool page_full(struct page *p)
{
	if (p->n < PAGE_MAX && p->bytes < PAGE_BYTES)
		return false;
	p->more = true;
	return true;
}

/* page_take - a copy of m onto the page; 1 (m not taken) once it is full. */
static int page_take(struct page *p, const ProtobufCMessage *m)
{
	size_t len;
	uint8_t *buf;

	if (page_full(p))
		return 1;
	len = protobuf_c_message_get_packed_size(m);
	buf = malloc(len ? len : 1);
	if (!buf)
		abort();
	protobuf_c_message_pack(m, buf);
	p->v[p->n] = protobuf_c_message_unpack(m->descriptor, NULL, len, buf);
	free(buf);
	if (!p->v[p->n])
		abort();
	p->n++;
	p->bytes += len;
	return 0;
}

static void page_release(struct page *p)
{
	for (size_t i = 0; i < p->n; i++)
		protobuf_c_message_free_unpacked(p->v[i], NULL);
	free(p->v);
}

/* Fill p with a listing of the local replica (fn, for request e). On an
 * error the client is answered here and false returned; p is the caller's
 * to release either way. */
typedef int (*page_list_fn)(struct store_txn *t, const Kefu__Envelope *e, struct page *p);

static bool page_fill(struct client *c, const Kefu__Envelope *e, page_list_fn fn, struct page *p)
{
	struct store_txn *t;
	int err;

	page_init(p);
	err = store_read_begin(c->s->sto->store, &t);
	if (err == 0) {
		err = fn(t, e, p);
		store_abort(t);
	}
	if (err)
		reply_error(c, e->request_id, err, kf_strerror(err));
	return err == 0;
}

static int agent_page_visit(void *arg, const Kefu__Agent *a)
{
	struct page *p = arg;
	Kefu__Agent pub = *a;

	pub.password_hash = NULL; /* hashes stay on the nodes */
	return page_take(p, &pub.base);
}

static int agent_page_list(struct store_txn *t, const Kefu__Envelope *e, struct page *p)
{
	return accounts_list(t, e->agent_list->after, agent_page_visit, p);
}

static void on_agent_list(struct client *c, const Kefu__Envelope *e)
{
	Kefu__Envelope r = KEFU__ENVELOPE__INIT;
	Kefu__AgentListReply rep = KEFU__AGENT_LIST_REPLY__INIT;
	struct page p;

	if (page_fill(c, e, agent_page_list, &p)) {
		rep.n_agents = p.n;
		rep.agents = (Kefu__Agent **)p.v;
		if (p.more && p.n)
			rep.next = rep.agents[p.n - 1]->id;
		r.body_case = KEFU__ENVELOPE__BODY_AGENT_LIST_REPLY;
		r.agent_list_reply = &rep;
		reply(c, &r, e->request_id);
	}
	page_release(&p);
}

static int audit_page_visit(void *arg, const Kefu__AuditEntry *a)
{
	return page_take(arg, &a->base);
}

static int audit_page_list(struct store_txn *t, const Kefu__Envelope *e, struct page *p)
{
	const Kefu__AuditListRequest *rq = e->audit_list;

	return audit_list(t, rq->since_ms, rq->has_after ? rq->after.data : NULL,
			  rq->has_after ? rq->after.len : 0, audit_page_visit, p);
}

static void on_audit_list(struct client *c, const Kefu__Envelope *e)
{
	Kefu__Envelope r = KEFU__ENVELOPE__INIT;
	Kefu__AuditListReply rep = KEFU__AUDIT_LIST_REPLY__INIT;
	uint8_t next[AUDIT_KEY_MAX];
	struct page p;

	if (page_fill(c, e, audit_page_list, &p)) {
		rep.n_entries = p.n;
		rep.entries = (Kefu__AuditEntry **)p.v;
		if (p.more && p.n && audit_check(rep.entries[p.n - 1], NULL, 0) == 0) {
			rep.has_next = 1;
			rep.next.data = next;
			rep.next.len = audit_key(rep.entries[p.n - 1], next);
		}
		r.body_case = KEFU__ENVELOPE__BODY_AUDIT_LIST_REPLY;
		r.audit_list_reply = &rep;
		reply(c, &r, e->request_id);
	}
	page_release(&p);
}

/* ==== end of agent accounts and the audit log ==== */

/* ==== routing: gateways and agents (node/routing.h) ====
 *
 * Every routing message goes to the routing component, which checks the
 * session (agents log in first) and answers on the connection, now or
 * later. The audit entries it needs go through the leader here.
 */

static void on_routing(struct client *c, const Kefu__Envelope *e)
{
	if (!c->s->routing || !*c->s->routing) {
		reply_error(c, e->request_id, KF_ESTATE, "routing is not configured on this node");
		return;
	}
	routing_on_message(*c->s->routing, c->conn, &c->who, e);
}

/* One audit entry on its way through the leader. */
struct audit_job {
	server_audit_fn done;
	void *arg;
};

static void on_audit_written(void *arg, int err, uint64_t index)
{
	struct audit_job *j = arg;

	(void)index;
	j->done(j->arg, err);
	free(j);
}

static void on_audit_forwarded(void *arg, int err, const Kefu__Envelope *rep)
{
	struct audit_job *j = arg;

	if (!err && rep->body_case != KEFU__ENVELOPE__BODY_WRITE_REPLY)
		err = rep->body_case == KEFU__ENVELOPE__BODY_ERROR && rep->error->has_code
			      ? rep->error->code
			      : KF_EPROTO;
	j->done(j->arg, err);
	free(j);
}

/* Send the ops of b to the leader as one write: here when this node leads,
 * else forwarded as a Write. done(arg, err) runs once from the loop.
 * Returns 0 (done will run) or an error (it will not). */
static int leader_write(struct server *s, const struct batch *b, server_audit_fn done, void *arg)
{
	struct audit_job *j;
	uint8_t *packed = NULL;
	size_t len = 0;
	int err = batch_pack(b, 0, false, s->self, &packed, &len);

	if (err)
		return err;
	j = malloc(sizeof(*j));
	if (!j)
		abort();
	*j = (struct audit_job){done, arg};
	if (repl_is_serving(s->repl)) {
		err = repl_write(s->repl, packed, len, on_audit_written, j);
	} else {
		struct rpc *via = leader_link(s);
		Kefu__Envelope e = KEFU__ENVELOPE__INIT;
		Kefu__WriteRequest wr = KEFU__WRITE_REQUEST__INIT;

		wr.batch = kefu__write_batch__unpack(NULL, len, packed);
		if (!wr.batch)
			abort(); /* we packed it ourselves */
		e.body_case = KEFU__ENVELOPE__BODY_WRITE;
		e.write = &wr;
		err = via ? rpc_call(via, &e, FORWARD_TIMEOUT_MS, on_audit_forwarded, j) : KF_ESTATE;
		kefu__write_batch__free_unpacked(wr.batch, NULL);
	}
	free(packed);
	if (err)
		free(j);
	return err;
}

int server_audit(struct server *s, const char *agent, const char *action, const char *subject,
		 const char *detail, server_audit_fn done, void *arg)
{
	Kefu__AuditEntry ae = KEFU__AUDIT_ENTRY__INIT;
	struct batch *b = batch_new(16 * 1024);
	int err;

	ae.has_time_ms = ae.has_seq = 1;
	ae.time_ms = wall_ms();
	ae.seq = audit_seq_next(&s->audit_seq);
	ae.node = s->self;
	ae.agent = (char *)agent;
	ae.action = (char *)action;
	ae.subject = (char *)subject;
	ae.detail = (char *)detail;
	err = audit_append(b, &ae, NULL, 0);
	if (!err)
		err = leader_write(s, b, done, arg);
	batch_free(b);
	return err;
}

/* The subscriber holding msisdn in the local replica, into out; "" when
 * none (or the replica cannot say now: the request goes on without). */
static void user_of(struct server *s, const char *msisdn, char *out, size_t cap)
{
	struct custdb_profile p;
	struct store_txn *t;

	out[0] = '\0';
	if (store_read_begin(s->sto->store, &t))
		return;
	if (custdb_lookup_msisdn(t, msisdn, 0, 0, &p) == 0) {
		snprintf(out, cap, "%s", p.user->user_id ? p.user->user_id : "");
		custdb_profile_release(&p);
	}
	store_abort(t);
}

int server_callback_request(struct server *s, const struct server_callback *cb,
			    server_audit_fn done, void *arg)
{
	Kefu__CallbackRequest rq = KEFU__CALLBACK_REQUEST__INIT;
	char id[CALLBACK_ID_MAX + 2], uid[CALLBACK_TEXT_MAX + 1];
	struct store_txn *t;
	struct batch *b;
	int err;

	if (!cb->gateway || !cb->call_id || !cb->ani)
		return KF_EPARSE;
	snprintf(id, sizeof(id), "%s:%s", cb->gateway, cb->call_id);
	if (cb->user_id)
		snprintf(uid, sizeof(uid), "%s", cb->user_id);
	else
		user_of(s, cb->ani, uid, sizeof(uid));
	rq.id = id;
	rq.gateway = (char *)cb->gateway;
	rq.call_id = (char *)cb->call_id;
	rq.ani = (char *)cb->ani;
	rq.user_id = uid[0] ? uid : NULL;
	rq.has_vip_level = 1;
	rq.vip_level = cb->vip_level;
	rq.skill = (char *)cb->skill;
	rq.service = (char *)cb->service;
	rq.node = s->self;
	rq.has_requested_ms = 1;
	rq.requested_ms = wall_ms();
	/* One request per call: the local replica says whether it is known. */
	if ((err = store_read_begin(s->sto->store, &t)))
		return err;
	b = batch_new(16 * 1024);
	err = callback_add(t, &rq, b, NULL, 0);
	store_abort(t);
	if (!err)
		err = leader_write(s, b, done, arg);
	batch_free(b);
	return err;
}

static int callback_page_visit(void *arg, const Kefu__CallbackRequest *rq)
{
	return page_take(arg, &rq->base);
}

static int callback_page_list(struct store_txn *t, const Kefu__Envelope *e, struct page *p)
{
	const Kefu__CallbackListRequest *rq = e->callback_list;

	return callback_list_pending(t, rq->has_after ? rq->after.data : NULL,
				     rq->has_after ? rq->after.len : 0,
				     rq->has_limit ? rq->limit : 0, callback_page_visit, p);
}

static void on_callback_list(struct client *c, const Kefu__Envelope *e)
{
	Kefu__Envelope r = KEFU__ENVELOPE__INIT;
	Kefu__CallbackListReply rep = KEFU__CALLBACK_LIST_REPLY__INIT;
	uint8_t next[CALLBACK_CURSOR_MAX];
	struct page p;

	if (page_fill(c, e, callback_page_list, &p)) {
		rep.n_requests = p.n;
		rep.requests = (Kefu__CallbackRequest **)p.v;
		if (p.more && p.n) {
			rep.next.len = callback_cursor(rep.requests[p.n - 1], next);
			rep.next.data = next;
			rep.has_next = rep.next.len > 0;
		}
		r.body_case = KEFU__ENVELOPE__BODY_CALLBACK_LIST_REPLY;
		r.callback_list_reply = &rep;
		reply(c, &r, e->request_id);
	}
	page_release(&p);
}

/* ==== end of routing ==== */

/* ---- the dispatch table ---- */

#define R_NODE TLS_ROLE_NODE
#define R_ADMIN TLS_ROLE_ADMIN
#define R_GW TLS_ROLE_GATEWAY
#define R_AGENT (1u << 31) /* no certificate: an agent, who logs in */

static const struct route {
	Kefu__Envelope__BodyCase body;
	const char *name;
	handler_fn fn;
	unsigned roles;
} routes[] = {
	{KEFU__ENVELOPE__BODY_PING, "ping", on_ping, R_NODE | R_ADMIN | R_GW},
	{KEFU__ENVELOPE__BODY_HELLO, "hello", on_hello, R_NODE},
	{KEFU__ENVELOPE__BODY_APPEND_ACK, "append_ack", on_append_ack, R_NODE},
	{KEFU__ENVELOPE__BODY_WRITE, "write", on_write, R_NODE | R_ADMIN},
	{KEFU__ENVELOPE__BODY_STATUS, "status", on_status, R_NODE | R_ADMIN},
	/* A follower forwards an admin's request under its node certificate. */
	{KEFU__ENVELOPE__BODY_SWITCHOVER, "switchover", on_switchover, R_ADMIN | R_NODE},
	{KEFU__ENVELOPE__BODY_FAILOVER, "failover", on_failover, R_ADMIN},
	{KEFU__ENVELOPE__BODY_LOOKUP, "lookup", on_lookup, R_NODE | R_ADMIN | R_GW},
	{KEFU__ENVELOPE__BODY_SKIP, "skip", on_skip, R_ADMIN | R_NODE},
	{KEFU__ENVELOPE__BODY_IMPORT_BEGIN, "import_begin", on_import_begin_any, R_ADMIN | R_NODE},
	{KEFU__ENVELOPE__BODY_IMPORT_CHUNK, "import_chunk", on_import_chunk, R_ADMIN | R_NODE},
	{KEFU__ENVELOPE__BODY_IMPORT_END, "import_end", on_import_end, R_ADMIN | R_NODE},
	/* agent accounts and the audit log */
	{KEFU__ENVELOPE__BODY_AGENT_WRITE, "agent_write", on_agent_write, R_ADMIN | R_NODE},
	{KEFU__ENVELOPE__BODY_AGENT_LIST, "agent_list", on_agent_list, R_ADMIN},
	{KEFU__ENVELOPE__BODY_AUDIT_LIST, "audit_list", on_audit_list, R_ADMIN},
	/* routing: gateways and agents (node/routing.h checks agents' sessions) */
	{KEFU__ENVELOPE__BODY_CALL_ARRIVED, "call_arrived", on_routing, R_GW},
	{KEFU__ENVELOPE__BODY_CALL_ENDED, "call_ended", on_routing, R_GW},
	{KEFU__ENVELOPE__BODY_WAIT_REQUEST, "wait_request", on_routing, R_GW},
	{KEFU__ENVELOPE__BODY_GATEWAY_RESUME, "gateway_resume", on_routing, R_GW},
	{KEFU__ENVELOPE__BODY_LOGIN, "login", on_routing, R_AGENT},
	{KEFU__ENVELOPE__BODY_SESSION_RESUME, "session_resume", on_routing, R_AGENT},
	{KEFU__ENVELOPE__BODY_SET_AGENT_STATE, "set_agent_state", on_routing, R_AGENT},
	{KEFU__ENVELOPE__BODY_ANSWER_CALL, "answer_call", on_routing, R_AGENT},
	{KEFU__ENVELOPE__BODY_REJECT_CALL, "reject_call", on_routing, R_AGENT},
	{KEFU__ENVELOPE__BODY_HANGUP_CALL, "hangup_call", on_routing, R_AGENT},
	{KEFU__ENVELOPE__BODY_WRAP_UP_DONE, "wrap_up_done", on_routing, R_AGENT},
	{KEFU__ENVELOPE__BODY_VERIFY_IDENTITY, "verify_identity", on_routing, R_AGENT},
	{KEFU__ENVELOPE__BODY_BILLS_REQUEST, "bills_request", on_routing, R_AGENT},
	{KEFU__ENVELOPE__BODY_ROUTING_STATS, "routing_stats", on_routing, R_ADMIN},
	{KEFU__ENVELOPE__BODY_CALLBACK_LIST, "callback_list", on_callback_list, R_ADMIN},
};

static void on_frame(void *arg, struct net_conn *conn, const uint8_t *data, size_t len)
{
	static struct log_ratelimit rl = LOG_RATELIMIT_INIT(10000, 10);
	struct client *c = arg;
	Kefu__Envelope *e;
	int err = frame_envelope_decode(data, len, &e);

	(void)conn;
	if (err) {
		log_ratelimited(&rl, LOG_NET, LOG_LVL_WARN, "bad envelope from=%s error=\"%s\"",
				net_conn_addr(c->conn), kf_strerror(err));
		reply_error(c, 0, err, err == KF_EPROTO ? "unknown or empty message" : "not an Envelope");
		return;
	}
	for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++) {
		if (routes[i].body != e->body_case)
			continue;
		if (!(routes[i].roles & (unsigned)c->who.role) &&
		    !(c->who.role == TLS_ROLE_NONE && (routes[i].roles & R_AGENT))) {
			char msg[128];

			log_ratelimited(&rl, LOG_NET, LOG_LVL_WARN,
					"refused message=%s role=%s from=%s", routes[i].name,
					tls_role_name(c->who.role), net_conn_addr(c->conn));
			snprintf(msg, sizeof(msg), "%s is not allowed for role %s", routes[i].name,
				 tls_role_name(c->who.role));
			reply_error(c, e->request_id, KF_EPROTO, msg);
			frame_envelope_free(e);
			net_conn_close_flushed(c->conn);
			return;
		}
		routes[i].fn(c, e);
		frame_envelope_free(e);
		return;
	}
	reply_error(c, e->request_id, KF_EPROTO, "message not accepted by a node");
	frame_envelope_free(e);
}

static void client_free(struct client *c)
{
	CHAIN_UNLINK(&c->s->clients, c, next);
	repl_on_conn_closed(c->s->repl, c->conn);
	if (c->s->routing && *c->s->routing)
		routing_conn_closed(*c->s->routing, c->conn);
	import_drop(c);
	rpc_free(c->imp_fwd);
	free(c);
}

static void on_close(void *arg, struct net_conn *conn, int reason, const char *detail)
{
	struct client *c = arg;

	(void)conn;
	log_debug(LOG_NET, "connection closed from=%s reason=\"%s\"%s%s", net_conn_addr(c->conn),
		  kf_strerror(reason), detail ? " detail=" : "", detail ? detail : "");
	client_free(c);
}

static void on_accept(void *arg, struct net_conn *conn)
{
	static const struct net_conn_cbs cbs = {NULL, on_frame, NULL, on_close};
	struct server *s = arg;
	struct client *c = calloc(1, sizeof(*c));
	const struct tls_identity *id = net_conn_peer(conn);

	if (!c)
		abort();
	c->s = s;
	c->conn = conn;
	c->id = ++s->next_client;
	if (id)
		c->who = *id;
	c->next = s->clients;
	s->clients = c;
	net_conn_start(conn, &cbs, c);
}

static void on_refuse(void *arg, const char *peer, int reason, const char *detail)
{
	static struct log_ratelimit rl = LOG_RATELIMIT_INIT(10000, 5);

	(void)arg;
	log_ratelimited(&rl, LOG_NET, LOG_LVL_WARN, "connection refused from=%s reason=\"%s\"%s%s",
			peer, kf_strerror(reason), detail ? " detail=" : "", detail ? detail : "");
}

struct server *server_new(const struct server_opts *o, int *err)
{
	struct net_opts no = {o->max_frame, 0, 0};
	struct server *s = calloc(1, sizeof(*s));

	if (!s)
		abort();
	s->loop = o->loop;
	snprintf(s->self, sizeof(s->self), "%s", o->self);
	snprintf(s->data_dir, sizeof(s->data_dir), "%s", o->data_dir);
	s->client_tls = o->client_tls;
	s->repl = o->repl;
	s->el = o->election;
	s->sto = o->storage;
	s->max_frame = o->max_frame;
	s->jobs = o->jobs;
	s->hot = o->hot;
	s->routing = o->routing;
	s->ls = net_listen(o->loop, o->listen_addr, o->server_tls, &no, on_accept, on_refuse, s, err);
	if (!s->ls) {
		server_free(s);
		return NULL;
	}
	return s;
}

void server_free(struct server *s)
{
	if (!s)
		return;
	net_listener_free(s->ls);
	while (s->clients) {
		struct client *c = s->clients;

		net_conn_close(c->conn);
		client_free(c);
	}
	rpc_free(s->fwd);
	free(s);
}

void server_on_election(struct server *s)
{
	(void)leader_link(s);
}
