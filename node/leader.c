/* Writes through the leader. See leader.h. */
#include "node/leader.h"

#include "lib/err.h"
#include "lib/list.h"
#include "lib/log.h"
#include "storage/audit.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FORWARD_TIMEOUT_MS 30000
/* A leader that does not answer is not dialled again for every request. */
#define FORWARD_RETRY_MS 200
#define AUDIT_BATCH_CAP (16 * 1024)

/*
 * A call on its way to the leader: a write with its completion, or a
 * forwarded request with the peer waiting for the answer. Those on the
 * shared link are listed, so that they fail when the link is replaced
 * (rpc_free drops pending calls without their callback).
 */
struct call {
	struct call *next;
	struct leader *l;
	struct rpc *via;           /* the link it waits on; every call is listed */
	leader_done_fn done;       /* a write; NULL for a forwarded request */
	void *arg;
	struct msg_ref ref;        /* a forwarded request's peer */
};

struct leader {
	struct loop *loop;
	char self[META_NAME_MAX];
	struct repl *repl;
	struct election *el;
	struct tls_ctx *client_tls;
	size_t max_frame;
	struct rpc *link;          /* to the leader, shared */
	char link_leader[META_NAME_MAX];
	uint64_t link_epoch;
	uint64_t link_failed_ms;   /* when the link was found failed */
	struct call *calls;        /* waiting on a link, the shared one or a caller's */
	struct audit_seq audit_seq;
};

int leader_new(const struct leader_opts *o, struct leader **out)
{
	struct leader *l;

	*out = NULL;
	if (!o->loop || !o->self || !o->repl || !o->election)
		return -EINVAL;
	l = calloc(1, sizeof(*l));
	if (!l)
		abort();
	l->loop = o->loop;
	snprintf(l->self, sizeof(l->self), "%s", o->self);
	l->repl = o->repl;
	l->el = o->election;
	l->client_tls = o->client_tls;
	l->max_frame = o->max_frame;
	*out = l;
	return 0;
}

/* Complete c with err (a write's done, or an Error to the peer) and free it. */
static void call_fail(struct call *c, int err, const char *msg)
{
	if (c->done)
		c->done(c->arg, err, 0);
	else
		msg_ref_error(&c->ref, err, msg);
	free(c);
}

/* Link via goes (NULL: every link): each call waiting on it fails with err. */
static void calls_fail(struct leader *l, const struct rpc *via, int err, const char *msg)
{
	struct call **pp = &l->calls;

	while (*pp) {
		struct call *c = *pp;

		if (via && c->via != via) {
			pp = &c->next;
			continue;
		}
		*pp = c->next;
		call_fail(c, err, msg);
	}
}

static void link_drop(struct leader *l, int err, const char *msg)
{
	struct rpc *old = l->link;

	l->link = NULL;
	rpc_free(old);
	if (old)
		calls_fail(l, old, err, msg);
}

void leader_close_link(struct leader *l, struct rpc *via)
{
	if (!via)
		return;
	rpc_free(via);
	calls_fail(l, via, KF_ESTATE, "the link to the leader was closed before its answer");
}

void leader_free(struct leader *l)
{
	if (!l)
		return;
	rpc_free(l->link);
	l->link = NULL;
	calls_fail(l, NULL, KF_ECANCELED, "the node is shutting down");
	free(l);
}

bool leader_is_local(const struct leader *l)
{
	return repl_is_serving(l->repl);
}

const char *leader_hint(const struct leader *l)
{
	const char *name, *addr;

	repl_leader_hint(l->repl, &name, &addr);
	return addr;
}

/* The shared link to the leader, dialled again when the leader changed.
 * NULL when this node leads, no leader is known, or it did not answer a
 * moment ago. */
static struct rpc *leader_link(struct leader *l)
{
	uint64_t epoch;
	const char *leader = election_leader(l->el, &epoch);

	if (!*leader || strcmp(leader, l->self) == 0)
		return NULL;
	if (l->link && strcmp(l->link_leader, leader) == 0 && l->link_epoch == epoch) {
		if (!rpc_failed(l->link))
			return l->link;
		if (!l->link_failed_ms)
			l->link_failed_ms = loop_now_ms();
		if (loop_now_ms() - l->link_failed_ms < FORWARD_RETRY_MS)
			return NULL;
	}
	link_drop(l, KF_ESTATE, "the link to the leader was lost before its answer; retry");
	(void)leader_dial(l, &l->link); /* NULL while the leader's address is not known */
	l->link_failed_ms = 0;
	snprintf(l->link_leader, sizeof(l->link_leader), "%s", leader);
	l->link_epoch = epoch;
	return l->link;
}

int leader_dial(struct leader *l, struct rpc **out)
{
	struct net_opts no = {.max_frame = l->max_frame};
	struct rpc_opts ro = {.loop = l->loop, .tls = l->client_tls, .net = &no,
			      .expect_role = TLS_ROLE_NODE};
	const char *name;

	*out = NULL;
	repl_leader_hint(l->repl, &name, &ro.addr);
	if (!*ro.addr || strcmp(name, l->self) == 0)
		return KF_ESTATE;
	ro.expect_cn = name; /* the leader's certificate, not whoever answers at its address */
	return rpc_new(&ro, out);
}

void leader_on_election(struct leader *l)
{
	(void)leader_link(l);
}

static struct call *call_new(struct leader *l, leader_done_fn done, void *arg)
{
	struct call *c = calloc(1, sizeof(*c));

	if (!c)
		abort();
	c->l = l;
	c->done = done;
	c->arg = arg;
	return c;
}

static void call_list(struct call *c, struct rpc *via)
{
	c->via = via;
	c->next = c->l->calls;
	c->l->calls = c;
}

static void call_unlist(struct call *c)
{
	CHAIN_UNLINK(&c->l->calls, c, next);
}

/* ---- writes ---- */

static void on_written(void *arg, int err, uint64_t index)
{
	struct call *c = arg;

	c->done(c->arg, err, index);
	free(c);
}

static void on_write_forwarded(void *arg, int err, const Kefu__Envelope *rep)
{
	struct call *c = arg;
	uint64_t index = 0;

	call_unlist(c);
	if (!err && rep->body_case == KEFU__ENVELOPE__BODY_WRITE_REPLY)
		index = rep->write_reply->has_index ? rep->write_reply->index : 0;
	else if (!err)
		err = rep->body_case == KEFU__ENVELOPE__BODY_ERROR && rep->error->has_code
			      ? rep->error->code
			      : KF_EPROTO;
	c->done(c->arg, err, index);
	free(c);
}

int leader_submit_packed(struct leader *l, const uint8_t *packed, size_t len, leader_done_fn done,
			 void *arg)
{
	Kefu__Envelope e = KEFU__ENVELOPE__INIT;
	Kefu__WriteRequest wr = KEFU__WRITE_REQUEST__INIT;
	int err;

	if (repl_is_serving(l->repl)) {
		struct call *c = call_new(l, done, arg);

		err = repl_write(l->repl, packed, len, on_written, c);
		if (err)
			free(c);
		return err;
	}
	wr.batch = kefu__write_batch__unpack(NULL, len, packed);
	if (!wr.batch)
		return KF_EPARSE;
	e.body_case = KEFU__ENVELOPE__BODY_WRITE;
	e.write = &wr;
	err = leader_ask(l, &e, done, arg);
	kefu__write_batch__free_unpacked(wr.batch, NULL);
	return err;
}

int leader_ask(struct leader *l, Kefu__Envelope *e, leader_done_fn done, void *arg)
{
	struct rpc *via = repl_is_serving(l->repl) ? NULL : leader_link(l);
	struct call *c;
	int err;

	if (!via)
		return KF_ESTATE;
	e->has_forwarded = e->forwarded = 1;
	c = call_new(l, done, arg);
	err = rpc_call(via, e, FORWARD_TIMEOUT_MS, on_write_forwarded, c);
	if (err) {
		free(c);
		return err;
	}
	call_list(c, via);
	return 0;
}

int leader_submit(struct leader *l, const struct batch *b, leader_done_fn done, void *arg)
{
	uint8_t *packed = NULL;
	size_t len = 0;
	int err = batch_pack(b, 0, false, l->self, &packed, &len);

	if (err)
		return err;
	err = leader_submit_packed(l, packed, len, done, arg);
	free(packed);
	return err;
}

int leader_run(struct leader *l, repl_logged_body_fn body, void *arg, leader_done_fn done,
	       void *done_arg)
{
	if (!repl_is_serving(l->repl))
		return KF_ESTATE;
	return repl_run_logged(l->repl, body, arg, true, done, done_arg);
}

uint64_t leader_audit_next(struct leader *l)
{
	return audit_seq_next(&l->audit_seq);
}

int leader_audit(struct leader *l, const char *agent, const char *action, const char *subject,
		 const char *detail, leader_done_fn done, void *arg)
{
	Kefu__AuditEntry ae = KEFU__AUDIT_ENTRY__INIT;
	struct batch *b = batch_new(AUDIT_BATCH_CAP);
	int err;

	ae.has_time_ms = ae.has_seq = 1;
	ae.time_ms = loop_wall_ms();
	ae.seq = leader_audit_next(l);
	ae.node = l->self;
	ae.agent = (char *)agent;
	ae.action = (char *)action;
	ae.subject = (char *)subject;
	ae.detail = (char *)detail;
	err = audit_append(b, &ae, NULL, 0);
	if (!err)
		err = leader_submit(l, b, done, arg);
	batch_free(b);
	return err;
}

/* ---- forwarded requests ---- */

static void on_forwarded(void *arg, int err, const Kefu__Envelope *rep)
{
	struct call *c = arg;

	call_unlist(c);
	if (err) {
		char msg[160];

		snprintf(msg, sizeof(msg), "forwarding to the leader failed: %s", kf_strerror(err));
		msg_ref_error(&c->ref, err, msg);
	} else {
		Kefu__Envelope copy = *rep;

		msg_ref_send(&c->ref, &copy);
	}
	free(c);
}

void leader_forward(struct leader *l, struct msg_peer *p, const Kefu__Envelope *e,
		    struct rpc *via)
{
	Kefu__Envelope copy = *e;
	struct call *c;
	int err;

	if (e->forwarded) {
		/* Never forward twice: a node asked us because it thought we lead. */
		msg_error(p, e->request_id, KF_ESTATE, "not the leader");
		return;
	}
	if (!via)
		via = leader_link(l);
	if (!via) {
		msg_error(p, e->request_id, KF_ESTATE, "no leader at the moment; retry");
		return;
	}
	copy.has_forwarded = copy.forwarded = 1;
	c = call_new(l, NULL, NULL);
	c->ref = msg_ref_of(p, e->request_id);
	err = rpc_call(via, &copy, FORWARD_TIMEOUT_MS, on_forwarded, c);
	if (err) {
		free(c);
		msg_error(p, e->request_id, err, "forwarding to the leader failed");
		return;
	}
	call_list(c, via);
}
