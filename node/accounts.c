/* Agent accounts and the audit log. See accounts.h. */
#include "node/accounts.h"

#include "lib/err.h"
#include "lib/loop.h"
#include "node/leader.h"
#include "node/page.h"
#include "storage/accounts.h"
#include "storage/audit.h"
#include "storage/log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct accounts_svc {
	struct leader *leader;
	struct repl_storage *sto;
	char self[META_NAME_MAX];
};

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
	struct msg_ref ref;
	const struct agent_op *op;
	Kefu__AgentWriteRequest *req; /* owned copy, actor filled in */
	char self[META_NAME_MAX];
	uint64_t now_ms, seq;
	struct batch *b;
	char detail[AUDIT_DETAIL_MAX + 1];
	char why[ACCOUNTS_WHY_MAX];   /* written by the body, read in the done callback */
};

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
	free(j);
}

static void on_agent_written(void *arg, int err, uint64_t index)
{
	struct agent_job *j = arg;
	char msg[ACCOUNTS_WHY_MAX + 96];

	if (err == 0) {
		snprintf(msg, sizeof(msg), "%s %s done (log index %llu)", j->op->action,
			 j->req->agent->id, (unsigned long long)index);
		msg_ref_ack(&j->ref, true, msg);
	} else if (err == KF_EPARSE || err == KF_EEXISTS || err == KF_ENOTFOUND) {
		msg_ref_ack(&j->ref, false, j->why[0] ? j->why : kf_strerror(err));
	} else {
		msg_ref_error(&j->ref, err,
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

static void on_agent_write(void *state, struct msg_peer *c, const Kefu__Envelope *e)
{
	struct accounts_svc *s = state;
	const struct tls_identity *who = msg_peer_who(c);
	Kefu__AgentWriteRequest rq = *e->agent_write;
	const struct agent_op *op = agent_op_find(&rq);
	struct agent_job *j;
	uint8_t *packed;
	size_t len;
	int err;

	if (!op || !rq.agent || !accounts_id_is_valid(rq.agent->id)) {
		msg_ack(c, e->request_id, false, "an agent request needs an op and a valid agent id");
		return;
	}
	/* The admin is the actor; a node forwarding for an admin names it. */
	if (who->role != TLS_ROLE_NODE || !rq.actor)
		rq.actor = (char *)who->cn;
	if (!leader_is_local(s->leader)) {
		Kefu__Envelope copy = *e;

		copy.agent_write = &rq;
		leader_forward(s->leader, c, &copy, NULL);
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
	j->ref = msg_ref_of(c, e->request_id);
	j->op = op;
	snprintf(j->self, sizeof(j->self), "%s", s->self);
	j->now_ms = loop_wall_ms();
	j->seq = leader_audit_next(s->leader);
	j->b = batch_new(64 * 1024);
	agent_detail(j->req->agent, j->detail, sizeof(j->detail));
	err = leader_run(s->leader, agent_body, j, on_agent_written, j);
	if (err) {
		msg_error(c, e->request_id, err, err == KF_ESTATE ? "not the leader" : kf_strerror(err));
		agent_job_free(j);
	}
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

static void on_agent_list(void *state, struct msg_peer *c, const Kefu__Envelope *e)
{
	struct accounts_svc *s = state;
	Kefu__Envelope r = KEFU__ENVELOPE__INIT;
	Kefu__AgentListReply rep = KEFU__AGENT_LIST_REPLY__INIT;
	struct page p;

	if (page_fill(c, e, s->sto, agent_page_list, &p) == 0) {
		rep.n_agents = p.n;
		rep.agents = (Kefu__Agent **)p.v;
		if (p.more && p.n)
			rep.next = rep.agents[p.n - 1]->id;
		r.body_case = KEFU__ENVELOPE__BODY_AGENT_LIST_REPLY;
		r.agent_list_reply = &rep;
		msg_send(c, &r, e->request_id);
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

static void on_audit_list(void *state, struct msg_peer *c, const Kefu__Envelope *e)
{
	struct accounts_svc *s = state;
	Kefu__Envelope r = KEFU__ENVELOPE__INIT;
	Kefu__AuditListReply rep = KEFU__AUDIT_LIST_REPLY__INIT;
	uint8_t next[AUDIT_KEY_MAX];
	struct page p;

	if (page_fill(c, e, s->sto, audit_page_list, &p) == 0) {
		rep.n_entries = p.n;
		rep.entries = (Kefu__AuditEntry **)p.v;
		if (p.more && p.n && audit_check(rep.entries[p.n - 1], NULL, 0) == 0) {
			rep.has_next = 1;
			rep.next.data = next;
			rep.next.len = audit_key(rep.entries[p.n - 1], next);
		}
		r.body_case = KEFU__ENVELOPE__BODY_AUDIT_LIST_REPLY;
		r.audit_list_reply = &rep;
		msg_send(c, &r, e->request_id);
	}
	page_release(&p);
}

/* ---- the service ---- */

static int accounts_init(const struct node_ctx *ctx, void **state)
{
	struct accounts_svc *s = calloc(1, sizeof(*s));

	if (!s)
		abort();
	s->leader = ctx->leader;
	s->sto = ctx->sto;
	snprintf(s->self, sizeof(s->self), "%s", ctx->self);
	*state = s;
	return 0;
}

static void accounts_stop(void *state)
{
	free(state);
}

static const struct msg_row accounts_rows[] = {
	/* A follower forwards an admin's change under its node certificate. */
	{KEFU__ENVELOPE__BODY_AGENT_WRITE, "agent_write", on_agent_write, MSG_R_ADMIN | MSG_R_NODE,
	 false, MSG_MEDIUM},
	{KEFU__ENVELOPE__BODY_AGENT_LIST, "agent_list", on_agent_list, MSG_R_ADMIN, false, MSG_SMALL},
	{KEFU__ENVELOPE__BODY_AUDIT_LIST, "audit_list", on_audit_list, MSG_R_ADMIN, false, MSG_SMALL},
};

const struct component accounts_service = {
	.name = "accounts",
	.init = accounts_init,
	.stop = accounts_stop,
	.msgs = accounts_rows,
	.nmsgs = sizeof(accounts_rows) / sizeof(accounts_rows[0]),
};
