/*
 * Reading orders: show, list, check from the node's own replica, each
 * written to the audit log (through the leader) before it is answered;
 * categories from the settings. See workflow_int.h.
 */
#include "node/workflow/workflow_int.h"

#include "lib/err.h"
#include "lib/log.h"
#include "node/leader.h"
#include "node/page.h"
#include "proto/frame.h"
#include "storage/accounts.h"
#include "storage/audit.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LIST_DEFAULT 50
#define CHECK_DETAILS 20
#define SCOPE_SCAN_MAX 5000  /* orders a scoped listing looks at per page */

struct rjob {
	struct workflow *w;
	struct msg_ref ref;
	Kefu__Envelope *e;     /* an owned copy of the request */
	char *actor;           /* who asks */
	bool admin;
	void (*answer)(struct rjob *j, struct msg_peer *p);
};

static void rjob_free(struct rjob *j)
{
	struct workflow *w = j->w;

	kefu__envelope__free_unpacked(j->e, NULL);
	free(j->actor);
	free(j);
	w->inflight--;
	if (w->dead && w->inflight == 0)
		workflow__release(w);
}

static void on_audited(void *arg, int err, uint64_t index)
{
	struct rjob *j = arg;
	struct msg_peer *p = msg_ref_peer(&j->ref);

	(void)index;
	if (err)
		msg_ref_error(&j->ref, err, "the read was not answered: it could not be written to "
			      "the audit log (is there a leader?)");
	else if (p && !j->w->dead)
		j->answer(j, p);
	rjob_free(j);
}

/* Audit the read (action, subject, detail), then answer it. */
static void audited(struct workflow *w, struct msg_peer *p, const Kefu__Envelope *e,
		    const char *action, const char *subject, const char *detail,
		    void (*answer)(struct rjob *j, struct msg_peer *p))
{
	struct actor who;
	struct rjob *j;
	int err;

	if (!actor_of(p, e, NULL, false, "work orders", &who))
		return;
	j = calloc(1, sizeof(*j));
	if (!j)
		abort();
	j->e = proto_copy(&e->base, NULL);
	j->w = w;
	j->ref = msg_ref_of(p, e->request_id);
	j->actor = wo_strdup(who.name);
	j->admin = who.admin;
	j->answer = answer;
	w->inflight++;
	err = leader_audit(w->leader, who.name, action, subject, detail, on_audited, j);
	if (err) {
		msg_error(p, e->request_id, err, "the read was not answered: it could not be "
			  "written to the audit log (is there a leader?)");
		rjob_free(j);
	}
}

/* The asker as this replica has it: an agent's account (*acc, the
 * caller's to free; NULL for an admin or an account not here). */
static struct wo_actor asker(struct store_txn *t, const struct rjob *j, Kefu__Agent **acc)
{
	struct wo_actor a = {.id = j->actor, .admin = j->admin};

	*acc = NULL;
	if (!j->admin && accounts_get(t, j->actor, acc) == 0)
		a.account = *acc;
	return a;
}

/* ---- show ---- */

static void answer_show(struct rjob *j, struct msg_peer *p)
{
	const Kefu__OrderShow *rq = j->e->order_show;
	Kefu__Envelope out = KEFU__ENVELOPE__INIT;
	Kefu__OrderReply rep = KEFU__ORDER_REPLY__INIT;
	Kefu__OrderAttachment *att[WO_ATTACH_MAX];
	Kefu__WorkOrder *o = NULL;
	Kefu__Agent *acc = NULL;
	const char *acts[WO_ACTIONS_MAX];
	struct wo_actor who;
	struct store_txn *t;
	size_t n = 0;
	int err = store_read_begin(j->w->sto->store, &t);

	if (!err)
		err = wo_get(t, rq->id, &o);
	if (!err) {
		who = asker(t, j, &acc);
		rep.n_actions = wo_allowed(&who, o, acts, WO_ACTIONS_MAX);
		rep.actions = (char **)acts;
	}
	for (unsigned i = 0; !err && rq->attachments && i < o->attachments && i < WO_ATTACH_MAX; i++)
		if (wo_attach_get(t, rq->id, i, &att[n]) == 0)
			n++;
	store_abort(t);
	if (err) {
		char msg[96];

		if (acc)
			kefu__agent__free_unpacked(acc, NULL);
		snprintf(msg, sizeof(msg), "no order %s on this node", rq->id);
		msg_error(p, j->e->request_id, err, err == KF_ENOTFOUND ? msg : kf_strerror(err));
		return;
	}
	rep.order = o;
	rep.n_attachments = n;
	rep.attachments = att;
	out.body_case = KEFU__ENVELOPE__BODY_ORDER_REPLY;
	out.order_reply = &rep;
	msg_send(p, &out, j->e->request_id);
	for (size_t i = 0; i < n; i++)
		kefu__order_attachment__free_unpacked(att[i], NULL);
	wo_order_free(o);
	if (acc)
		kefu__agent__free_unpacked(acc, NULL);
}

void workflow__on_show(void *state, struct msg_peer *p, const Kefu__Envelope *e)
{
	const Kefu__OrderShow *rq = e->order_show;

	if (!rq->id || !*rq->id || strlen(rq->id) > WO_ID_MAX) {
		msg_error(p, e->request_id, KF_EPARSE, "show needs an order id");
		return;
	}
	audited(state, p, e, "order_show", rq->id, "", answer_show);
}

/* ---- list ---- */

struct lpage {
	struct page pg;
	uint8_t cur[WO_CURSOR_MAX];
	size_t clen;
	const struct rjob *j;
	const char *scope;      /* "mine", "my_groups" or "" */
	const char *owner;      /* only this owner's orders; "" for anyone's */
	size_t limit;           /* of a scoped or owner's listing, counted here */
	size_t scanned;
	struct wo_actor who;
	Kefu__Agent *acc;       /* the asker's account, read with the page */
};

/* A listing that leaves out some of the orders its range holds: it counts
 * its page itself and looks at SCOPE_SCAN_MAX orders at most. */
static bool narrowed(const struct lpage *lp)
{
	return *lp->scope || *lp->owner;
}

/* Whether o is in the asker's scope, and the owner's asked for. */
static bool in_scope(const struct lpage *lp, const Kefu__WorkOrder *o)
{
	if (*lp->owner && !wo_streq(o->owner, lp->owner))
		return false;
	if (strcmp(lp->scope, "mine") == 0)
		return wo_streq(o->owner, lp->who.id) || wo_streq(o->handler, lp->who.id);
	if (strcmp(lp->scope, "my_groups") == 0)
		return o->group && *o->group && accounts_in_group(lp->who.account, o->group);
	return true;
}

static int list_visit(void *arg, const Kefu__WorkOrder *o, const uint8_t *cursor, size_t clen)
{
	struct lpage *lp = arg;
	Kefu__WorkOrder brief = *o;
	int rc;

	if (narrowed(lp) && (lp->pg.n == lp->limit || lp->scanned == SCOPE_SCAN_MAX)) {
		lp->pg.more = true;
		return 1;
	}
	lp->scanned++;
	if (!in_scope(lp, o)) {
		/* the next page starts past it: a scoped page costs at most
		 * SCOPE_SCAN_MAX orders looked at, however few are the asker's */
		if (clen <= sizeof(lp->cur)) {
			memcpy(lp->cur, cursor, clen);
			lp->clen = clen;
		}
		return 0;
	}
	brief.n_history = 0; /* a listing shows the orders, not their histories */
	brief.history = NULL;
	rc = page_take(&lp->pg, &brief.base);
	if (rc == 0 && clen <= sizeof(lp->cur)) {
		memcpy(lp->cur, cursor, clen);
		lp->clen = clen;
	}
	return rc;
}

/* The filter of a request: msisdn, state, group, overdue, else the open ones. */
static struct wo_filter list_filter(const Kefu__OrderList *rq)
{
	struct wo_filter f = {WO_BY_OPEN, NULL, 0};

	if (rq->msisdn && *rq->msisdn)
		f = (struct wo_filter){WO_BY_MSISDN, rq->msisdn, 0};
	else if (rq->state && *rq->state && strcmp(rq->state, "open") != 0)
		f = (struct wo_filter){WO_BY_STATE, rq->state, 0};
	else if (rq->group && *rq->group)
		f = (struct wo_filter){WO_BY_GROUP, rq->group, 0};
	else if (rq->overdue)
		f = (struct wo_filter){WO_BY_OVERDUE, NULL, workflow__now_ms()};
	return f;
}

static int list_page(struct store_txn *t, const Kefu__Envelope *e, struct page *p)
{
	const Kefu__OrderList *rq = e->order_list;
	struct lpage *lp = (struct lpage *)((char *)p - offsetof(struct lpage, pg));
	struct wo_filter f = list_filter(rq);
	size_t limit = rq->has_limit && rq->limit ? rq->limit : LIST_DEFAULT;

	if (lp->acc)
		kefu__agent__free_unpacked(lp->acc, NULL);
	lp->who = asker(t, lp->j, &lp->acc);
	lp->limit = limit;
	/* a narrowed listing skips what it leaves out: it counts itself */
	return wo_list(t, &f, rq->has_after ? rq->after.data : NULL,
		       rq->has_after ? rq->after.len : 0, narrowed(lp) ? 0 : limit, list_visit, lp);
}

static void answer_list(struct rjob *j, struct msg_peer *p)
{
	const Kefu__OrderList *rq = j->e->order_list;
	Kefu__Envelope out = KEFU__ENVELOPE__INIT;
	Kefu__OrderListReply rep = KEFU__ORDER_LIST_REPLY__INIT;
	size_t limit = rq->has_limit && rq->limit ? rq->limit : LIST_DEFAULT;
	Kefu__OrderActions *acts = NULL, **actp = NULL;
	const char **names = NULL;
	struct lpage lp;

	memset(&lp, 0, sizeof(lp));
	lp.j = j;
	lp.scope = rq->scope ? rq->scope : "";
	lp.owner = rq->owner ? rq->owner : "";
	if (page_fill(p, j->e, j->w->sto, list_page, &lp.pg) == 0) {
		rep.n_orders = lp.pg.n;
		rep.orders = (Kefu__WorkOrder **)lp.pg.v;
		acts = calloc(lp.pg.n + 1, sizeof(*acts));
		actp = calloc(lp.pg.n + 1, sizeof(*actp));
		names = calloc((lp.pg.n + 1) * WO_ACTIONS_MAX, sizeof(*names));
		if (!acts || !actp || !names)
			abort();
		for (size_t i = 0; i < lp.pg.n; i++) {
			kefu__order_actions__init(&acts[i]);
			acts[i].id = rep.orders[i]->id;
			acts[i].actions = (char **)&names[i * WO_ACTIONS_MAX];
			acts[i].n_actions = wo_allowed(&lp.who, rep.orders[i], &names[i * WO_ACTIONS_MAX],
						       WO_ACTIONS_MAX);
			actp[i] = &acts[i];
		}
		rep.n_actions = lp.pg.n;
		rep.actions = actp;
		if (lp.acc) {
			rep.n_groups = lp.acc->n_groups;
			rep.groups = lp.acc->groups;
		}
		if ((lp.pg.more || lp.pg.n == limit) && lp.clen) {
			rep.has_next = 1;
			rep.next.data = lp.cur;
			rep.next.len = lp.clen;
		}
		out.body_case = KEFU__ENVELOPE__BODY_ORDER_LIST_REPLY;
		out.order_list_reply = &rep;
		msg_send(p, &out, j->e->request_id);
	}
	page_release(&lp.pg);
	free(acts);
	free(actp);
	free(names);
	if (lp.acc)
		kefu__agent__free_unpacked(lp.acc, NULL);
}

void workflow__on_list(void *state, struct msg_peer *p, const Kefu__Envelope *e)
{
	const Kefu__OrderList *rq = e->order_list;
	char subject[AUDIT_SUBJECT_MAX + 1], detail[2 * WO_TEXT_MAX + 8];

	if (rq->state && *rq->state && strcmp(rq->state, "open") != 0 &&
	    !wo_state_valid(rq->state)) {
		msg_error(p, e->request_id, KF_EPARSE, "state is open or one of new, dispatched, "
			  "accepted, processing, waiting, replied, visiting, closed, returned, "
			  "reopened, escalated, cancelled");
		return;
	}
	if (rq->scope && *rq->scope && strcmp(rq->scope, "mine") != 0 &&
	    strcmp(rq->scope, "my_groups") != 0) {
		msg_error(p, e->request_id, KF_EPARSE, "scope is mine or my_groups (or none: "
			  "everyone's)");
		return;
	}
	if ((rq->msisdn && strlen(rq->msisdn) > WO_TEXT_MAX) ||
	    (rq->group && strlen(rq->group) > WO_TEXT_MAX) ||
	    (rq->owner && strlen(rq->owner) > WO_TEXT_MAX) ||
	    (rq->has_after && rq->after.len > WO_CURSOR_MAX) ||
	    (rq->has_limit && rq->limit > PAGE_MAX)) {
		msg_error(p, e->request_id, KF_EPARSE, "a list filter or its cursor is too long, "
			  "or the limit over 500");
		return;
	}
	/* they go to the audit log, which takes text only */
	if (!audit_text_is_valid(rq->msisdn, WO_TEXT_MAX) ||
	    !audit_text_is_valid(rq->group, WO_TEXT_MAX) ||
	    !audit_text_is_valid(rq->owner, WO_TEXT_MAX)) {
		msg_error(p, e->request_id, KF_EPARSE, "a list filter (msisdn, group, owner) is not "
			  "text: UTF-8 without control characters");
		return;
	}
	snprintf(subject, sizeof(subject), "%s",
		 rq->msisdn && *rq->msisdn ? rq->msisdn
		 : rq->state && *rq->state ? rq->state
		 : rq->group && *rq->group ? rq->group
		 : rq->overdue ? "overdue" : "open");
	/* the detail: the scope, and the owner asked for */
	snprintf(detail, sizeof(detail), "%s%s%s", rq->scope ? rq->scope : "",
		 rq->owner && *rq->owner ? (rq->scope && *rq->scope ? " owner=" : "owner=") : "",
		 rq->owner && *rq->owner ? rq->owner : "");
	audited(state, p, e, "order_list", subject, detail, answer_list);
}

/* ---- categories ---- */

void workflow__on_categories(void *state, struct msg_peer *p, const Kefu__Envelope *e)
{
	struct workflow *w = state;
	const char *kind = e->order_categories->kind;
	Kefu__Envelope out = KEFU__ENVELOPE__INIT;
	Kefu__OrderCategoriesReply rep = KEFU__ORDER_CATEGORIES_REPLY__INIT;
	size_t n = wo_categories_count(&w->set), klen = kind ? strlen(kind) : 0;
	char **v = calloc(n ? n : 1, sizeof(*v));

	if (!v)
		abort();
	if (kind && *kind && wo_kind_by_name(kind) < 0) {
		msg_error(p, e->request_id, KF_EPARSE, "kind is none of complaint, fault, request, "
			  "consult, suggestion, escalated, appeal");
		free(v);
		return;
	}
	for (size_t i = 0; i < n; i++) {
		const char *path = wo_category_path(&w->set, i);

		if (!klen || (strncmp(path, kind, klen) == 0 && path[klen] == '/'))
			v[rep.n_paths++] = (char *)path;
	}
	rep.paths = v;
	out.body_case = KEFU__ENVELOPE__BODY_ORDER_CATEGORIES_REPLY;
	out.order_categories_reply = &rep;
	msg_send(p, &out, e->request_id);
	free(v);
}

/* ---- check: every open order's clocks computed again ---- */

struct check {
	struct workflow *w;
	Kefu__OrderCheckReply rep;
	char *details[CHECK_DETAILS];
};

static int check_visit(void *arg, const Kefu__WorkOrder *o, const uint8_t *cursor, size_t clen)
{
	struct check *c = arg;
	Kefu__OrderClock now[WO_CLOCKS];
	char why[256], line[320];

	(void)cursor;
	(void)clen;
	c->rep.orders++;
	wo_clocks(o, &c->w->set, now);
	for (size_t i = 0; i < WO_CLOCKS; i++) {
		if (i < o->n_clocks && wo_clocks_equal(o->clocks[i], &now[i], why, sizeof(why)))
			continue;
		if (i >= o->n_clocks)
			snprintf(why, sizeof(why), "%s: not stored", now[i].name);
		c->rep.mismatches++;
		if (c->rep.n_details < CHECK_DETAILS) {
			snprintf(line, sizeof(line), "%s %s", o->id, why);
			c->details[c->rep.n_details++] = wo_strdup(line);
		}
		break;
	}
	return 0;
}

static void answer_check(struct rjob *j, struct msg_peer *p)
{
	Kefu__Envelope out = KEFU__ENVELOPE__INIT;
	struct check c = {.w = j->w, .rep = KEFU__ORDER_CHECK_REPLY__INIT};
	struct wo_filter f = {WO_BY_OPEN, NULL, 0};
	struct store_txn *t;
	int err = store_read_begin(j->w->sto->store, &t);

	c.rep.has_orders = c.rep.has_mismatches = 1;
	if (!err) {
		err = wo_list(t, &f, NULL, 0, 0, check_visit, &c);
		store_abort(t);
	}
	if (err) {
		msg_error(p, j->e->request_id, err, kf_strerror(err));
	} else {
		c.rep.details = c.details;
		out.body_case = KEFU__ENVELOPE__BODY_ORDER_CHECK_REPLY;
		out.order_check_reply = &c.rep;
		msg_send(p, &out, j->e->request_id);
	}
	for (size_t i = 0; i < c.rep.n_details; i++)
		free(c.details[i]);
}

void workflow__on_check(void *state, struct msg_peer *p, const Kefu__Envelope *e)
{
	audited(state, p, e, "order_check", "open", "", answer_check);
}
