/* Agent accounts and the audit log. See accounts.h. */
#include "node/accounts.h"

#include "lib/err.h"
#include "lib/loop.h"
#include "lib/password.h"
#include "node/jobs.h"
#include "node/leader.h"
#include "node/page.h"
#include "storage/accounts.h"
#include "storage/audit.h"
#include "storage/log.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct accounts_svc {
	struct leader *leader;
	struct repl_storage *sto;
	struct jobs *jobs;
	unsigned checks;         /* password jobs on the pool */
	bool dead;               /* stopped: freed after the last of them */
	char self[META_NAME_MAX];
};

struct agent_job;
typedef int (*agent_op_fn)(struct store_txn *t, struct agent_job *j);

/* One account change on its way through the pool (a new password) and the
 * writer thread. */
struct agent_job {
	struct accounts_svc *s;
	struct msg_ref ref;
	const struct agent_op *op;
	Kefu__AgentWriteRequest *req; /* owned copy, actor filled in */
	char self[META_NAME_MAX];
	uint64_t now_ms, seq;
	struct batch *b;
	char detail[AUDIT_DETAIL_MAX + 1];
	char why[ACCOUNTS_WHY_MAX];   /* written by the body, read in the done callback */
	/* A new password: checked against the earlier ones and hashed on the pool. */
	char *old[PASSWORD_HISTORY];  /* the hashes it may not match (owned) */
	size_t nold;
	char hash[PASSWORD_ENCODED_MAX];
	bool reused;
	int hash_err;
};

static int agent_op_add(struct store_txn *t, struct agent_job *j)
{
	return accounts_create(t, j->req->agent, j->now_ms, j->b, j->why, sizeof(j->why));
}

static int agent_op_update(struct store_txn *t, struct agent_job *j)
{
	return accounts_update(t, j->req->agent, j->now_ms, j->b, j->why, sizeof(j->why));
}

/* The history was checked against the current hash old[0]: it must still
 * be the current one. */
static int agent_op_passwd(struct store_txn *t, struct agent_job *j)
{
	return accounts_set_password(t, j->req->agent->id, j->req->agent->password_hash,
				     j->nold ? j->old[0] : NULL, j->now_ms, j->b, j->why,
				     sizeof(j->why));
}

static int agent_op_disable(struct store_txn *t, struct agent_job *j)
{
	return accounts_disable(t, j->req->agent->id, j->now_ms, j->b, j->why, sizeof(j->why));
}

static const struct agent_op {
	Kefu__AgentWriteRequest__Op op;
	const char *action; /* the audit entry's action */
	agent_op_fn fn;
	bool password;      /* takes a new password (and only these) */
} agent_ops[] = {
	{KEFU__AGENT_WRITE_REQUEST__OP__ADD, "agent_add", agent_op_add, true},
	{KEFU__AGENT_WRITE_REQUEST__OP__UPDATE, "agent_update", agent_op_update, false},
	{KEFU__AGENT_WRITE_REQUEST__OP__PASSWD, "agent_passwd", agent_op_passwd, true},
	{KEFU__AGENT_WRITE_REQUEST__OP__DISABLE, "agent_disable", agent_op_disable, false},
};

/* Append "key=value" to the detail in out, space-separated. */
static void detail_put(char *out, size_t cap, const char *key, const char *val)
{
	size_t n = strlen(out);

	if (n + 1 < cap)
		snprintf(out + n, cap - n, "%s%s=%s", n ? " " : "", key, val);
}

/* "groups=G1,G2" of a's groups into the detail in out ("groups=" for none). */
static void detail_groups(char *out, size_t cap, const Kefu__Agent *a)
{
	char list[ACCOUNTS_GROUPS_MAX * (ACCOUNTS_GROUP_NAME_MAX + 1) + 1];
	size_t n = 0;

	list[0] = '\0';
	for (size_t i = 0; i < a->n_groups && n < sizeof(list); i++) {
		int w = snprintf(list + n, sizeof(list) - n, "%s%s", i ? "," : "", a->groups[i]);

		if (w < 0)
			break;
		n += (size_t)w;
	}
	detail_put(out, cap, "groups", list);
}

/* The audit detail of a change: the fields it sets, never a password
 * hash. They are checked before the entry is written; the name comes
 * before the groups and the skills, so that a cut (those at their
 * longest) falls inside ASCII. The groups are set by an ADD that names
 * some and by a change with groups_set. */
static void agent_detail(const Kefu__Agent *a, bool add, char *out, size_t cap)
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
	if ((a->has_groups_set && a->groups_set) || (add && a->n_groups))
		detail_groups(out, cap, a);
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
	err = j->op->fn(t, j);
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

/* The password in the request's copy is wiped before the memory goes. */
static void password_wipe(Kefu__AgentWriteRequest *rq)
{
	if (rq->password)
		password_forget(rq->password, strlen(rq->password));
}

static void agent_job_free(struct agent_job *j)
{
	password_wipe(j->req);
	kefu__agent_write_request__free_unpacked(j->req, NULL);
	for (size_t i = 0; i < j->nold; i++)
		free(j->old[i]);
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
	} else if (err == KF_EPARSE || err == KF_EEXISTS || err == KF_ENOTFOUND ||
		   (err == KF_ESTATE && j->why[0])) {
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

/* The job's check and write in the leader's logging transaction. */
static void agent_job_run(struct agent_job *j)
{
	int err;

	j->seq = leader_audit_next(j->s->leader);
	err = leader_run(j->s->leader, agent_body, j, on_agent_written, j);
	if (err) {
		msg_ref_error(&j->ref, err, err == KF_ESTATE ? "not the leader" : kf_strerror(err));
		agent_job_free(j);
	}
}

/* On a pool thread: the new password is none of the agent's last ones;
 * then its hash. j is this thread's alone until password_done. */
static void password_work(void *arg)
{
	struct agent_job *j = arg;
	const char *pw = j->req->password;
	size_t len = strlen(pw);

	for (size_t i = 0; i < j->nold && !j->reused; i++)
		j->reused = password_matches(pw, len, j->old[i]);
	if (!j->reused)
		j->hash_err = password_hash(pw, len, 0, j->hash, sizeof(j->hash));
	password_wipe(j->req);
}

static void password_done(void *arg)
{
	struct agent_job *j = arg;
	struct accounts_svc *s = j->s;
	char msg[ACCOUNTS_WHY_MAX];

	s->checks--;
	if (s->dead) {
		agent_job_free(j);
		if (s->checks == 0)
			free(s);
		return;
	}
	if (j->reused) {
		snprintf(msg, sizeof(msg), "password policy: it is one of the last %d passwords of "
			 "agent %s", PASSWORD_HISTORY, j->req->agent->id);
		msg_ref_ack(&j->ref, false, msg);
		agent_job_free(j);
	} else if (j->hash_err) {
		msg_ref_error(&j->ref, j->hash_err, "cannot hash the password");
		agent_job_free(j);
	} else {
		j->req->agent->password_hash = strdup(j->hash);
		if (!j->req->agent->password_hash)
			abort();
		agent_job_run(j);
	}
}

/*
 * A new password (ADD, PASSWD), on the leader: the policy now, then on the
 * pool (hashing is slow on purpose) the history and the hash, then the
 * write. The history is the leader's replica's: the write checks that the
 * current hash is still the one the history was read with. A refusal is
 * answered here and j freed.
 */
static void agent_password(struct accounts_svc *s, struct agent_job *j)
{
	const Kefu__Agent *a = j->req->agent;
	const char *had[PASSWORD_HISTORY];
	struct store_txn *t;
	Kefu__Agent *cur = NULL;
	int err;

	if (password_policy_check(j->req->password, strlen(j->req->password), a->id, j->why,
				  sizeof(j->why))) {
		msg_ref_ack(&j->ref, false, j->why);
		agent_job_free(j);
		return;
	}
	if (j->op->op == KEFU__AGENT_WRITE_REQUEST__OP__PASSWD &&
	    store_read_begin(s->sto->store, &t) == 0) {
		if (accounts_get(t, a->id, &cur) == 0) {
			j->nold = accounts_password_hashes(cur, had, PASSWORD_HISTORY);
			for (size_t i = 0; i < j->nold; i++)
				if (!(j->old[i] = strdup(had[i])))
					abort();
			kefu__agent__free_unpacked(cur, NULL);
		}
		store_abort(t);
	}
	s->checks++;
	err = jobs_submit(s->jobs, password_work, password_done, j);
	if (err) {
		s->checks--;
		msg_ref_error(&j->ref, err == -EBUSY ? -EBUSY : KF_EINTERNAL,
			      err == -EBUSY ? "busy: too many passwords being checked; try again"
					    : "cannot hash the password now");
		agent_job_free(j);
	}
}

/* What a request may carry: a password only where one is set, never a hash
 * (the node hashes: the policy cannot be passed by). NULL when fine. */
static const char *agent_request_refusal(const Kefu__AgentWriteRequest *rq,
					 const struct agent_op *op)
{
	const Kefu__Agent *a = rq->agent;

	if (!op || !a || !accounts_id_is_valid(a->id))
		return "an agent request needs an op and a valid agent id";
	if (a->password_hash || a->n_password_history || a->has_password_changed_ms)
		return "the node hashes passwords: send the password itself "
		       "(AgentWriteRequest.password), never a hash";
	if (op->password && (!rq->password || !*rq->password))
		return "adding an agent or changing its password needs the password";
	if (!op->password && rq->password)
		return "only ADD and PASSWD take a password";
	return NULL;
}

static void on_agent_write(void *state, struct msg_peer *c, const Kefu__Envelope *e)
{
	struct accounts_svc *s = state;
	const struct tls_identity *who = msg_peer_who(c);
	Kefu__AgentWriteRequest rq = *e->agent_write;
	const struct agent_op *op = agent_op_find(&rq);
	const char *refused = agent_request_refusal(&rq, op);
	struct agent_job *j;
	uint8_t *packed;
	size_t len;

	if (refused) {
		msg_ack(c, e->request_id, false, refused);
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
	password_forget(packed, len);
	free(packed);
	if (!j->req)
		abort(); /* we packed it ourselves: only memory can fail */
	j->s = s;
	j->ref = msg_ref_of(c, e->request_id);
	j->op = op;
	snprintf(j->self, sizeof(j->self), "%s", s->self);
	j->now_ms = loop_wall_ms();
	j->b = batch_new(64 * 1024);
	agent_detail(j->req->agent, op->op == KEFU__AGENT_WRITE_REQUEST__OP__ADD, j->detail,
		     sizeof(j->detail));
	if (op->password)
		agent_password(s, j);
	else
		agent_job_run(j);
}

static int agent_page_visit(void *arg, const Kefu__Agent *a)
{
	struct page *p = arg;
	Kefu__Agent pub = *a;

	pub.password_hash = NULL; /* hashes stay on the nodes */
	pub.n_password_history = 0;
	pub.password_history = NULL;
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

/* ---- password hashes upgraded after a good login ---- */

struct rehash {
	char self[META_NAME_MAX];
	char id[ACCOUNTS_ID_MAX + 1];
	char old[PASSWORD_ENCODED_MAX], hash[PASSWORD_ENCODED_MAX];
	char why[ACCOUNTS_WHY_MAX];   /* written by the body, read in done */
	struct batch *b;
	leader_done_fn done;
	void *arg;
	struct msg_ref ref;           /* an AccountRehash's asker (done NULL) */
};

/* On the leader's writer thread: the check and the write in one step. */
static int rehash_body(struct store_txn *t, uint64_t epoch, void *arg)
{
	struct rehash *h = arg;
	int err;

	batch_reset(h->b);
	h->why[0] = '\0';
	err = accounts_rehash(t, h->id, h->old, h->hash, h->b, h->why, sizeof(h->why));
	return err ? err : log_append_batch(t, epoch, h->b, 0, false, h->self, NULL);
}

static void on_rehashed(void *arg, int err, uint64_t index)
{
	struct rehash *h = arg;

	if (h->done)
		h->done(h->arg, err, index);
	else
		msg_ref_written(&h->ref, err, h->why[0] ? h->why : kf_strerror(err), index);
	batch_free(h->b);
	free(h);
}

/* On the serving leader: h (filled, owned) through leader_run. */
static int rehash_run(struct leader *l, struct rehash *h)
{
	int err;

	h->b = batch_new(16 * 1024);
	err = leader_run(l, rehash_body, h, on_rehashed, h);
	if (err) {
		batch_free(h->b);
		free(h);
	}
	return err;
}

static struct rehash *rehash_new(const char *self, const char *id, const char *old_hash,
				 const char *new_hash)
{
	struct rehash *h = calloc(1, sizeof(*h));

	if (!h)
		abort();
	snprintf(h->self, sizeof(h->self), "%s", self);
	snprintf(h->id, sizeof(h->id), "%s", id);
	snprintf(h->old, sizeof(h->old), "%s", old_hash);
	snprintf(h->hash, sizeof(h->hash), "%s", new_hash);
	return h;
}

int accounts_upgrade_hash(struct leader *l, const char *self, const char *id,
			  const char *old_hash, const char *new_hash, leader_done_fn done,
			  void *arg)
{
	struct rehash *h;

	if (!leader_is_local(l)) {
		Kefu__Envelope e = KEFU__ENVELOPE__INIT;
		Kefu__AccountRehash rq = KEFU__ACCOUNT_REHASH__INIT;

		rq.agent = (char *)id;
		rq.old_hash = (char *)old_hash;
		rq.new_hash = (char *)new_hash;
		e.body_case = KEFU__ENVELOPE__BODY_ACCOUNT_REHASH;
		e.account_rehash = &rq;
		return leader_ask(l, &e, done, arg);
	}
	h = rehash_new(self, id, old_hash, new_hash);
	h->done = done;
	h->arg = arg;
	return rehash_run(l, h);
}

/* A follower's AccountRehash: only the leader writes it, never forwarded
 * again (the asker thought this node leads). */
static void on_account_rehash(void *state, struct msg_peer *c, const Kefu__Envelope *e)
{
	struct accounts_svc *s = state;
	const Kefu__AccountRehash *rq = e->account_rehash;
	struct rehash *h;
	int err;

	if (!rq->agent || !*rq->agent || strlen(rq->agent) > ACCOUNTS_ID_MAX || !rq->old_hash ||
	    !rq->new_hash || !password_encoded_is_valid(rq->new_hash) ||
	    strlen(rq->old_hash) >= PASSWORD_ENCODED_MAX) {
		msg_error(c, e->request_id, KF_EPARSE,
			  "an AccountRehash needs agent, old_hash and a valid new_hash");
		return;
	}
	if (!leader_is_local(s->leader)) {
		msg_error(c, e->request_id, KF_ESTATE, "not the leader");
		return;
	}
	h = rehash_new(s->self, rq->agent, rq->old_hash, rq->new_hash);
	h->ref = msg_ref_of(c, e->request_id);
	err = rehash_run(s->leader, h);
	if (err)
		msg_error(c, e->request_id, err, kf_strerror(err));
}

/* ---- the service ---- */

static int accounts_init(const struct node_ctx *ctx, void **state)
{
	struct accounts_svc *s = calloc(1, sizeof(*s));

	if (!s)
		abort();
	s->leader = ctx->leader;
	s->sto = ctx->sto;
	s->jobs = ctx->jobs;
	snprintf(s->self, sizeof(s->self), "%s", ctx->self);
	*state = s;
	return 0;
}

/* Password jobs still on the pool free the service after the last one. */
static void accounts_stop(void *state)
{
	struct accounts_svc *s = state;

	if (!s)
		return;
	s->dead = true;
	if (s->checks == 0)
		free(s);
}

static const struct msg_row accounts_rows[] = {
	/* A follower forwards an admin's change under its node certificate. */
	{KEFU__ENVELOPE__BODY_AGENT_WRITE, "agent_write", on_agent_write, MSG_R_ADMIN | MSG_R_NODE,
	 false, MSG_MEDIUM},
	{KEFU__ENVELOPE__BODY_AGENT_LIST, "agent_list", on_agent_list,
	 MSG_R_ADMIN | MSG_R_SUPERVISOR, false, MSG_SMALL},
	{KEFU__ENVELOPE__BODY_AUDIT_LIST, "audit_list", on_audit_list, MSG_R_ADMIN, false, MSG_SMALL},
	/* A follower's upgrade of a hash after a good login. */
	{KEFU__ENVELOPE__BODY_ACCOUNT_REHASH, "account_rehash", on_account_rehash, MSG_R_NODE, false,
	 MSG_SMALL},
};

const struct component accounts_service = {
	.name = "accounts",
	.init = accounts_init,
	.stop = accounts_stop,
	.msgs = accounts_rows,
	.nmsgs = sizeof(accounts_rows) / sizeof(accounts_rows[0]),
};
