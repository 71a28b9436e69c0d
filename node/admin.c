/* The cluster services of every node. See admin.h. */
#include "node/admin.h"

#include "lib/err.h"
#include "lib/log.h"
#include "node/hot.h"
#include "node/jobs.h"
#include "node/leader.h"
#include "storage/audit.h"
#include "storage/custdb.h"
#include "storage/custview.h"
#include "storage/format.h"
#include "storage/import.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct admin {
	struct repl *repl;
	struct election *el;
	struct repl_storage *sto;
	struct leader *leader;
	struct jobs *jobs;
	struct hot *hot;
};

static void on_ping(void *state, struct msg_peer *p, const Kefu__Envelope *e)
{
	Kefu__Envelope r = KEFU__ENVELOPE__INIT;
	Kefu__Pong pong = KEFU__PONG__INIT;

	(void)state;
	pong.has_nonce = e->ping->has_nonce;
	pong.nonce = e->ping->nonce;
	r.body_case = KEFU__ENVELOPE__BODY_PONG;
	r.pong = &pong;
	msg_send(p, &r, e->request_id);
}

static void on_hello(void *state, struct msg_peer *p, const Kefu__Envelope *e)
{
	const struct tls_identity *who = msg_peer_who(p);
	char msg[160];

	/* A node speaks for itself only: the name it follows under is its certificate's. */
	if (!e->hello->node || strcmp(e->hello->node, who->cn) != 0) {
		log_warn(LOG_CLUSTER, "hello refused name=%s cn=%s from=%s",
			 e->hello->node ? e->hello->node : "", who->cn, msg_peer_addr(p));
		snprintf(msg, sizeof(msg), "hello as %s from the certificate of %s",
			 e->hello->node ? e->hello->node : "nobody", who->cn);
		msg_error(p, e->request_id, KF_EPROTO, msg);
		msg_close(p);
		return;
	}
	repl_on_hello(((struct admin *)state)->repl, msg_peer_conn(p), e->hello);
}

static void on_append_ack(void *state, struct msg_peer *p, const Kefu__Envelope *e)
{
	repl_on_append_ack(((struct admin *)state)->repl, msg_peer_conn(p), e->append_ack);
}

/* ---- raw writes ---- */

struct write_job {
	struct msg_ref ref;
};

static void on_write_done(void *arg, int err, uint64_t index)
{
	struct write_job *j = arg;

	msg_ref_written(&j->ref, err,
			err == KF_ESTATE ? "leadership changed before the write was "
					   "acknowledged; it may or may not be applied"
					 : kf_strerror(err),
			index);
	free(j);
}

/* The raw Write's test-path keys in meta: kefu-sim ledger's probes of the write path. */
#define WRITE_META_PREFIX "ledger."

/*
 * An audit entry through a raw Write: an append by the node that wrote it
 * (its certificate's name), at the key its fields give, as it was written
 * (the leader seals it into the chain later, storage/audit.h).
 */
static bool audit_op_allowed(const Kefu__WriteOp *op, const char *node, char *why, size_t n)
{
	Kefu__AuditEntry *ae;
	uint8_t key[AUDIT_KEY_MAX];
	bool ok = false;

	if (op->kind != KEFU__WRITE_OP__KIND__PUT) {
		snprintf(why, n, "audit entries are never deleted");
		return false;
	}
	ae = kefu__audit_entry__unpack(NULL, op->value.len, op->value.data);
	if (!ae) {
		snprintf(why, n, "not an audit entry");
	} else if (audit_check(ae, why, n) == 0) { /* else why names the field */
		if (strcmp(ae->node, node) != 0)
			snprintf(why, n, "an audit entry of %s from the certificate of %s", ae->node,
				 node);
		else if (audit_key(ae, key) != op->key.len ||
			 memcmp(key, op->key.data, op->key.len) != 0)
			snprintf(why, n, "an audit entry under a key that is not its own");
		else
			ok = true;
	}
	if (ae)
		kefu__audit_entry__free_unpacked(ae, NULL);
	return ok;
}

/*
 * What a raw Write (nodes only) may touch (docs/security.md): callback
 * requests, audit appends by the node itself and the ledger's probe keys in
 * meta. Accounts, the customer database, the log and the rest of meta
 * change only through their own messages and jobs. Returns true, or false
 * with why.
 */
static bool write_allowed(const Kefu__WriteBatch *wb, const struct tls_identity *who, char *why,
			  size_t n)
{
	for (size_t i = 0; i < wb->n_ops; i++) {
		const Kefu__WriteOp *op = wb->ops[i];
		size_t plen = strlen(WRITE_META_PREFIX);

		switch (op->table) {
		case STORE_CALLBACK:
			break;
		case STORE_AUDIT:
			if (!audit_op_allowed(op, who->cn, why, n))
				return false;
			break;
		case STORE_META:
			if (op->key.len > plen && memcmp(op->key.data, WRITE_META_PREFIX, plen) == 0)
				break;
			snprintf(why, n, "meta keys other than %s* are not written by a raw Write",
				 WRITE_META_PREFIX);
			return false;
		default:
			snprintf(why, n, "table %u is not written by a raw Write", (unsigned)op->table);
			return false;
		}
	}
	return true;
}

static void on_write(void *state, struct msg_peer *p, const Kefu__Envelope *e)
{
	struct admin *a = state;
	const Kefu__WriteBatch *wb = e->write->batch;
	struct write_job *j;
	uint8_t *packed;
	size_t len;
	int err;
	char why[200];

	if (!wb || wb->n_ops == 0) {
		msg_error(p, e->request_id, KF_EPARSE, "a write needs a batch with ops");
		return;
	}
	if (!write_allowed(wb, msg_peer_who(p), why, sizeof(why))) {
		log_warn(LOG_CLUSTER, "write refused from=%s cn=%s why=\"%s\"", msg_peer_addr(p),
			 msg_peer_who(p)->cn, why);
		msg_error(p, e->request_id, KF_EPROTO, why);
		return;
	}
	if (!leader_is_local(a->leader)) {
		leader_forward(a->leader, p, e, NULL);
		return;
	}
	len = kefu__write_batch__get_packed_size(wb);
	packed = malloc(len ? len : 1);
	if (!packed)
		abort();
	kefu__write_batch__pack(wb, packed);
	j = malloc(sizeof(*j));
	if (!j)
		abort();
	j->ref = msg_ref_of(p, e->request_id);
	err = leader_submit_packed(a->leader, packed, len, on_write_done, j);
	free(packed);
	if (err) {
		free(j);
		msg_error(p, e->request_id, err, err == KF_ESTATE ? "not the leader" : kf_strerror(err));
	}
}

/* ---- status: the replication picture, then one health check per etcd endpoint ---- */

struct status_req {
	struct msg_ref ref;
	Kefu__StatusReply st;
	Kefu__EtcdStatus *es;
	Kefu__EtcdStatus **esp;
	char (*detail)[64];
	size_t n, pending;
	char redis_primary[REDIS_ADDR_MAX];
};

static void status_send(struct status_req *q)
{
	Kefu__Envelope r = KEFU__ENVELOPE__INIT;

	r.body_case = KEFU__ENVELOPE__BODY_STATUS_REPLY;
	r.status_reply = &q->st;
	msg_ref_send(&q->ref, &r);
	repl_status_release(&q->st);
	free(q->es);
	free(q->esp);
	free(q->detail);
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

/* The Redis part of the status, when the node has Redis. */
static void status_redis(struct admin *a, struct status_req *q)
{
	bool up;

	if (!a->hot)
		return;
	snprintf(q->redis_primary, sizeof(q->redis_primary), "%s", hot_primary(a->hot, &up));
	q->st.redis_primary = q->redis_primary;
	q->st.has_redis_up = 1;
	q->st.redis_up = up;
	hot_rtt(a->hot, &q->st.redis_rtt_p50_us, &q->st.redis_rtt_p99_us, &q->st.redis_commands);
	q->st.has_redis_rtt_p50_us = q->st.has_redis_rtt_p99_us = 1;
	q->st.has_redis_commands = 1;
}

static void on_status(void *state, struct msg_peer *p, const Kefu__Envelope *e)
{
	struct admin *a = state;
	struct etcd *etcd = election_etcd(a->el);
	struct status_req *q = calloc(1, sizeof(*q));

	if (!q)
		abort();
	q->ref = msg_ref_of(p, e->request_id);
	kefu__status_reply__init(&q->st);
	repl_fill_status(a->repl, &q->st);
	/* the stored form as this node's replica has it (storage/format.h) */
	q->st.has_store_format = store_format_read(a->sto->store, &q->st.store_format) == 0;
	status_redis(a, q);
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

/* ---- switchover and failover ---- */

static void on_admin_done(void *arg, bool ok, const char *msg)
{
	struct msg_ref *ref = arg;

	msg_ref_ack(ref, ok, msg);
	free(ref);
}

static struct msg_ref *ref_new(struct msg_peer *p, uint64_t request_id)
{
	struct msg_ref *ref = malloc(sizeof(*ref));

	if (!ref)
		abort();
	*ref = msg_ref_of(p, request_id);
	return ref;
}

static void on_switchover(void *state, struct msg_peer *p, const Kefu__Envelope *e)
{
	struct admin *a = state;
	const char *to = e->switchover->to;
	struct msg_ref *ref;

	if (!to || !meta_name_ok(to)) {
		msg_ack(p, e->request_id, false, "switchover needs --to NAME");
		return;
	}
	if (!leader_is_local(a->leader)) {
		leader_forward(a->leader, p, e, NULL);
		return;
	}
	ref = ref_new(p, e->request_id);
	if (repl_switchover(a->repl, to, on_admin_done, ref) != 0) {
		free(ref);
		msg_ack(p, e->request_id, false, "not the leader any more; retry");
	}
}

static void on_failover(void *state, struct msg_peer *p, const Kefu__Envelope *e)
{
	struct admin *a = state;
	const char *to = e->failover->to;
	struct msg_ref *ref;

	if (to && !meta_name_ok(to)) {
		msg_ack(p, e->request_id, false, "not a node name");
		return;
	}
	ref = ref_new(p, e->request_id);
	if (repl_failover(a->repl, to, on_admin_done, ref) != 0) {
		free(ref);
		msg_ack(p, e->request_id, false, "etcd did not take the failover request");
	}
}

/* ---- lookup in the local replica ---- */

/* Longest msisdn or user id a lookup names (the audit entry's subject). */
#define LOOKUP_KEY_MAX 64

/* A lookup waiting for its audit entry. sto outlives it while the loop runs. */
struct lookup_job {
	struct msg_ref ref;
	struct repl_storage *sto;
	bool gateway;          /* answer with the routing profile only */
	bool by_msisdn;
	size_t months;
	char key[LOOKUP_KEY_MAX + 1];
};

/* The role as the audit entry's detail names it. */
static const char *lookup_role(enum tls_role role)
{
	switch (role) {
	case TLS_ROLE_ADMIN: return "admin";
	case TLS_ROLE_GATEWAY: return "gateway";
	case TLS_ROLE_NODE: return "node";
	default: return "none";
	}
}

/* The reply: a gateway's carries the routing profile (storage/custview.h)
 * and nothing of payments, bills or CDRs, which are not even read for it. */
static void lookup_answer(struct msg_peer *p, const struct lookup_job *j)
{
	Kefu__Envelope r = KEFU__ENVELOPE__INIT;
	Kefu__LookupReply rep = KEFU__LOOKUP_REPLY__INIT;
	Kefu__Subscriber ru;
	Kefu__Customer rc;
	struct custdb_profile prof;
	struct custdb_cdrs cd = {0};
	size_t npay = j->gateway ? 0 : 10, months = j->gateway ? 0 : j->months;
	struct store_txn *t;
	int err;

	err = store_read_begin(j->sto->store, &t);
	if (err == 0) {
		err = j->by_msisdn ? custdb_lookup_msisdn(t, j->key, npay, months, &prof)
				   : custdb_lookup_user(t, j->key, npay, months, &prof);
		if (err == 0 && !j->gateway &&
		    (err = custdb_list_cdrs(t, prof.user->user_id, NULL, NULL, CUSTDB_LOOKUP_CDRS,
					    &cd)))
			custdb_profile_release(&prof);
		store_abort(t);
	}
	if (err) {
		msg_error(p, j->ref.request_id, err,
			  err == KF_ENOTFOUND ? "no such subscriber" : kf_strerror(err));
		return;
	}
	if (j->gateway) {
		custview_routing(prof.user, prof.cust, &ru, &rc);
		rep.user = &ru;
		rep.customer = &rc;
	} else {
		rep.user = prof.user;
		rep.customer = prof.cust;
		rep.n_payments = prof.npay;
		rep.payments = prof.pay;
		rep.n_bills = prof.nbill;
		rep.bills = prof.bill;
		rep.n_cdrs = cd.n;
		rep.cdrs = cd.cdr;
	}
	r.body_case = KEFU__ENVELOPE__BODY_LOOKUP_REPLY;
	r.lookup_reply = &rep;
	msg_send(p, &r, j->ref.request_id);
	custdb_profile_release(&prof);
	custdb_cdrs_release(&cd);
}

/* The lookup is in the audit log: answer it from the replica. */
static void on_lookup_audited(void *arg, int err, uint64_t index)
{
	struct lookup_job *j = arg;
	struct msg_peer *p = msg_ref_peer(&j->ref);

	(void)index;
	if (p && err)
		msg_error(p, j->ref.request_id, err,
			  "the lookup could not be written to the audit log; nothing shown");
	else if (p)
		lookup_answer(p, j);
	free(j);
}

/*
 * A lookup: one audit entry (who: the certificate's name, action lookup,
 * subject the msisdn or user id, detail the role) through the leader, then
 * the answer from this node's replica; nothing is shown when the entry
 * cannot be written.
 */
static void on_lookup(void *state, struct msg_peer *p, const Kefu__Envelope *e)
{
	struct admin *a = state;
	const Kefu__LookupRequest *lr = e->lookup;
	const struct tls_identity *who = msg_peer_who(p);
	const char *key = lr->msisdn ? lr->msisdn : lr->user_id;
	char detail[64];
	struct lookup_job *j;
	int err;

	if (!lr->msisdn == !lr->user_id || strlen(key) > LOOKUP_KEY_MAX) {
		msg_error(p, e->request_id, KF_EPARSE,
			  "give one of msisdn or user_id (at most 64 bytes)");
		return;
	}
	if (!a->leader) {
		msg_error(p, e->request_id, KF_ESTATE,
			  "a node outside a cluster keeps no audit log; nothing shown");
		return;
	}
	j = calloc(1, sizeof(*j));
	if (!j)
		abort();
	j->ref = msg_ref_of(p, e->request_id);
	j->sto = a->sto;
	j->gateway = who->role == TLS_ROLE_GATEWAY;
	j->by_msisdn = lr->msisdn != NULL;
	j->months = lr->has_months ? (lr->months > 24 ? 24 : lr->months) : 3;
	memcpy(j->key, key, strlen(key) + 1);
	snprintf(detail, sizeof(detail), "role=%s%s", lookup_role(who->role),
		 j->gateway ? " view=routing-profile" : "");
	err = leader_audit(a->leader, who->cn, "lookup", key, detail, on_lookup_audited, j);
	if (err) {
		free(j);
		msg_error(p, e->request_id, err,
			  "the lookup cannot be written to the audit log now; nothing shown");
	}
}

/* ---- a SEQ skip: on a worker through the log, like an import ---- */

struct skip_args {
	struct admin *a;
	struct msg_ref ref;
	char prov[BOSS_PROV_MAX + 1];
	enum boss_kind kind;
	uint32_t seq;
	char reason[256];
	char why[256];
	int err;
};

static void skip_main(void *arg)
{
	struct skip_args *s = arg;

	s->err = import_skip(s->a->sto->store, jobs_hooks(s->a->jobs), s->prov, s->kind, s->seq,
			     s->reason, s->why, sizeof(s->why));
}

static void skip_done(void *arg)
{
	struct skip_args *s = arg;
	char msg[320];

	if (s->err == 0)
		snprintf(msg, sizeof(msg), "skipped %s %s SEQ %06u", s->prov,
			 boss_kind_name(s->kind), s->seq);
	else
		snprintf(msg, sizeof(msg), "%s", s->why[0] ? s->why : kf_strerror(s->err));
	msg_ref_ack(&s->ref, s->err == 0, msg);
	free(s);
}

static void on_skip(void *state, struct msg_peer *p, const Kefu__Envelope *e)
{
	struct admin *a = state;
	const Kefu__SkipRequest *sr = e->skip;
	struct skip_args *s;
	enum boss_kind kind;

	if (!leader_is_local(a->leader)) {
		leader_forward(a->leader, p, e, NULL);
		return;
	}
	if (!sr->prov || strlen(sr->prov) > BOSS_PROV_MAX || !sr->kind ||
	    boss_kind_parse(sr->kind, strlen(sr->kind), &kind) || !sr->reason || !*sr->reason) {
		msg_ack(p, e->request_id, false, "skip needs prov, kind, seq and a reason");
		return;
	}
	s = calloc(1, sizeof(*s));
	if (!s)
		abort();
	s->a = a;
	s->ref = msg_ref_of(p, e->request_id);
	snprintf(s->prov, sizeof(s->prov), "%s", sr->prov);
	s->kind = kind;
	s->seq = sr->seq;
	snprintf(s->reason, sizeof(s->reason), "%s", sr->reason);
	if (jobs_spawn(a->jobs, skip_main, skip_done, s) != 0) {
		free(s);
		msg_ack(p, e->request_id, false, "cannot start the job");
	}
}

/* ---- the service ---- */

static int admin_init(const struct node_ctx *ctx, void **state)
{
	struct admin *a = calloc(1, sizeof(*a));

	if (!a)
		abort();
	*a = (struct admin){ctx->repl, ctx->election, ctx->sto, ctx->leader, ctx->jobs, ctx->hot};
	*state = a;
	return 0;
}

static void admin_stop(void *state)
{
	free(state);
}

#define R_NODE MSG_R_NODE
#define R_ADMIN MSG_R_ADMIN
#define R_GW MSG_R_GW

static const struct msg_row admin_rows[] = {
	{KEFU__ENVELOPE__BODY_PING, "ping", on_ping, R_NODE | R_ADMIN | R_GW | MSG_R_AGENT, false, MSG_SMALL},
	/* replication: a follower's hello and acknowledgments, on its own link */
	{KEFU__ENVELOPE__BODY_HELLO, "hello", on_hello, R_NODE, false, MSG_SMALL},
	{KEFU__ENVELOPE__BODY_APPEND_ACK, "append_ack", on_append_ack, R_NODE, false, MSG_SMALL},
	{KEFU__ENVELOPE__BODY_WRITE, "write", on_write, R_NODE, false, 0},
	{KEFU__ENVELOPE__BODY_STATUS, "status", on_status, R_NODE | R_ADMIN, false, MSG_SMALL},
	/* A follower forwards an admin's request under its node certificate. */
	{KEFU__ENVELOPE__BODY_SWITCHOVER, "switchover", on_switchover, R_ADMIN | R_NODE, false,
	 MSG_SMALL},
	{KEFU__ENVELOPE__BODY_FAILOVER, "failover", on_failover, R_ADMIN, false, MSG_SMALL},
	{KEFU__ENVELOPE__BODY_LOOKUP, "lookup", on_lookup, R_NODE | R_ADMIN | R_GW, false, MSG_SMALL},
	{KEFU__ENVELOPE__BODY_SKIP, "skip", on_skip, R_ADMIN | R_NODE, false, MSG_SMALL},
};

const struct component admin_service = {
	.name = "cluster",
	.init = admin_init,
	.stop = admin_stop,
	.msgs = admin_rows,
	.nmsgs = sizeof(admin_rows) / sizeof(admin_rows[0]),
};
