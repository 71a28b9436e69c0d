/*
 * Campaigns (docs/dialing.md): made, started, paused, resumed and stopped
 * by an admin or a supervisor; checked against the stored campaign and
 * written by the leader in one logged transaction (a follower forwards).
 * The contacts are frozen into the campaign: a file's numbers when it is
 * made; the pending callback requests, or the work orders waiting for their
 * return visit, when it starts. Show and list read this node's replica.
 */
#include "node/dialing/dialing_int.h"

#include "lib/err.h"
#include "proto/frame.h"
#include "node/dialing/query.h"
#include "storage/callback.h"
#include "storage/custdb.h"
#include "storage/dial.h"
#include "storage/workorder.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A campaign change's request: one of the two, an owned copy. */
struct crq {
	Kefu__CampaignCreate *create;
	Kefu__CampaignAction *action;
};

#define refuse dialing__refuse


/* ---- freezing contacts ---- */

struct freeze {
	struct dialing__change *j;
	const char *campaign;
	uint64_t n;
	int err;
	struct dial_query q;   /* a query campaign's */
};

static int add_contact(struct freeze *f, const char *msisdn, const char *user_id,
		       const char *cust_id, const char *ref, uint64_t due_ms)
{
	Kefu__CampaignContact k = KEFU__CAMPAIGN_CONTACT__INIT;

	if (f->n >= DIAL_CONTACTS_MAX)
		return refuse(f->j, KF_ETOOBIG, "a campaign has at most %d contacts",
			      DIAL_CONTACTS_MAX);
	k.campaign = (char *)f->campaign;
	k.has_seq = 1;
	k.seq = ++f->n;
	k.msisdn = (char *)msisdn;
	k.user_id = (char *)user_id;
	k.cust_id = (char *)cust_id;
	k.ref = (char *)ref;
	k.has_due_ms = due_ms != 0;
	k.due_ms = due_ms;
	k.state = "pending";
	return dial_contact_put(f->j->b, &k);
}

static int freeze_callback(void *arg, const Kefu__CallbackRequest *rq)
{
	struct freeze *f = arg;

	if (!dial_msisdn_is_valid(rq->ani))
		return 0; /* a caller id that is no number cannot be called back */
	return add_contact(f, rq->ani, rq->user_id, NULL, rq->id, rq->requested_ms);
}

static int freeze_visit(void *arg, const Kefu__WorkOrder *o, const uint8_t *cursor, size_t clen)
{
	struct freeze *f = arg;

	(void)cursor;
	(void)clen;
	if (!dial_msisdn_is_valid(o->msisdn))
		return 0;
	return add_contact(f, o->msisdn, o->user_id, o->cust_id, o->id, 0);
}

static int freeze_user(void *arg, const Kefu__Subscriber *u, const Kefu__Customer *cu)
{
	struct freeze *f = arg;

	/* Cancelled numbers are no one's any more; a number may be reused. */
	if (u->status == 4 || !dial_msisdn_is_valid(u->msisdn) || !dial_query_match(&f->q, u, cu))
		return 0;
	return add_contact(f, u->msisdn, u->user_id, u->cust_id, NULL, 0);
}

/* The contacts of c's source, frozen now into j->b; their number. */
static int freeze(struct store_txn *t, struct dialing__change *j, Kefu__Campaign *c)
{
	struct freeze f = {.j = j, .campaign = c->name, .n = c->contacts};
	struct wo_filter wf = {WO_BY_STATE, "visiting", 0};
	int err = 0;

	if (strcmp(c->source, "callbacks") == 0)
		err = callback_list_pending(t, NULL, 0, 0, freeze_callback, &f);
	else if (strcmp(c->source, "visits") == 0)
		err = wo_list(t, &wf, NULL, 0, 0, freeze_visit, &f);
	else if (strcmp(c->source, "query") == 0 &&
		 !(err = dial_query_parse(c->query, strlen(c->query), &f.q, j->why, sizeof(j->why))))
		err = custdb_each_user(t, freeze_user, &f);
	c->has_contacts = 1;
	c->contacts = f.n;
	return err;
}

/* ---- the body, on the leader's writer thread ---- */

static int create_body(struct store_txn *t, struct dialing__change *j)
{
	const Kefu__CampaignCreate *rq = ((struct crq *)j->rq)->create;
	Kefu__Campaign *c = proto_copy(&rq->campaign->base, NULL), *had = NULL;
	struct freeze f = {.j = j, .campaign = c->name};
	int err;

	if (dial_campaign_get(t, c->name, &had) == 0) {
		kefu__campaign__free_unpacked(had, NULL);
		err = refuse(j, KF_EEXISTS, "campaign %s exists", c->name);
		goto out;
	}
	dial_campaign_defaults(c);
	if ((err = dial_campaign_check(c, j->why, sizeof(j->why))))
		goto out;
	if (strcmp(c->source, "query") == 0 &&
	    (err = dial_query_parse(c->query, strlen(c->query), &f.q, j->why, sizeof(j->why))))
		goto out;
	if (strcmp(c->source, "file") == 0 && rq->n_numbers == 0) {
		err = refuse(j, KF_EPARSE, "a campaign from a file needs its numbers");
		goto out;
	}
	if (strcmp(c->source, "file") != 0 && rq->n_numbers) {
		err = refuse(j, KF_EPARSE, "numbers come with --file only");
		goto out;
	}
	for (size_t i = 0; i < rq->n_numbers && !err; i++) {
		const char *m = rq->numbers[i];

		if (!dial_msisdn_is_valid(m))
			err = refuse(j, KF_EPARSE, "number %zu, \"%.24s\", is not 5 to 20 digits",
				     i + 1, m ? m : "");
		else
			err = add_contact(&f, m, NULL, NULL, NULL, 0);
	}
	if (err)
		goto out;
	proto_set_str(&c->state, "draft");
	c->has_contacts = c->has_created_ms = c->has_updated_ms = 1;
	c->contacts = f.n;
	c->created_ms = c->updated_ms = j->now_ms;
	proto_set_str(&c->created_by, j->actor);
	err = dial_campaign_put(j->b, c);
out:
	kefu__campaign__free_unpacked(c, NULL);
	return err;
}

static int action_body(struct store_txn *t, struct dialing__change *j)
{
	static const struct {
		const char *action, *from[3], *to;
	} moves[] = {
		{"start", {"draft"}, "running"},
		{"pause", {"running"}, "paused"},
		{"resume", {"paused"}, "running"},
		{"stop", {"draft", "running", "paused"}, "stopped"},
	};
	const Kefu__CampaignAction *rq = ((struct crq *)j->rq)->action;
	const char *action = rq->action;
	Kefu__Campaign *c;
	int err = dial_campaign_get(t, rq->name, &c);
	size_t m;

	if (err == KF_ENOTFOUND)
		return refuse(j, KF_ENOTFOUND, "no campaign %s", rq->name);
	if (err)
		return err;
	for (m = 0; m < sizeof(moves) / sizeof(moves[0]); m++)
		if (strcmp(moves[m].action, action) == 0)
			break;
	err = refuse(j, KF_ESTATE, "campaign %s is %s: %s is not possible", c->name, c->state,
		     action);
	for (int i = 0; i < 3 && moves[m].from[i]; i++)
		if (strcmp(c->state, moves[m].from[i]) == 0)
			err = 0;
	if (!err && strcmp(action, "start") == 0) {
		err = freeze(t, j, c);
		c->has_started_ms = 1;
		c->started_ms = j->now_ms;
	}
	if (!err && strcmp(action, "stop") == 0) {
		c->has_stopped_ms = 1;
		c->stopped_ms = j->now_ms;
	}
	if (!err) {
		j->why[0] = '\0';
		proto_set_str(&c->state, moves[m].to);
		c->has_updated_ms = 1;
		c->updated_ms = j->now_ms;
		err = dial_campaign_put(j->b, c);
	}
	kefu__campaign__free_unpacked(c, NULL);
	return err;
}

static int campaign_body(struct store_txn *t, struct dialing__change *c)
{
	if (!c->lead)
		return refuse(c, KF_ESTATE, "campaigns are run by supervisors and admins");
	return ((struct crq *)c->rq)->create ? create_body(t, c) : action_body(t, c);
}

/* ---- the reply: a campaign and its contacts counted ---- */

struct counts {
	Kefu__CampaignReply *rep;
	Kefu__CampaignCount states[8], results[8], disps[8];
	Kefu__CampaignCount *sp[8], *rp[8], *dp[8];
};

static void bump(Kefu__CampaignCount *set, Kefu__CampaignCount **ptr, size_t *n, const char *key)
{
	for (size_t i = 0; i < *n; i++)
		if (strcmp(set[i].key, key) == 0) {
			set[i].n++;
			return;
		}
	if (*n == 8)
		return;
	kefu__campaign_count__init(&set[*n]);
	set[*n].key = (char *)key; /* a static name or the contact's, copied below */
	set[*n].has_n = 1;
	set[*n].n = 1;
	ptr[*n] = &set[*n];
	(*n)++;
}

static const char *state_name(const char *s)
{
	static const char *const known[] = {"pending", "dialing", "done", "skipped", "dnc",
					    "exhausted"};

	for (size_t i = 0; s && i < sizeof(known) / sizeof(known[0]); i++)
		if (strcmp(s, known[i]) == 0)
			return known[i];
	return "other";
}

static const char *result_name(const char *s)
{
	static const char *const known[] = {"human", "machine", "busy", "no_answer", "failed",
					    "abandoned"};

	for (size_t i = 0; s && i < sizeof(known) / sizeof(known[0]); i++)
		if (strcmp(s, known[i]) == 0)
			return known[i];
	return NULL;
}

static int count_one(void *arg, const Kefu__CampaignContact *k)
{
	struct counts *c = arg;
	const char *st = state_name(k->state), *res = result_name(k->result);
	const char *disp = dialing__disposition_name(k->disposition);

	bump(c->states, c->sp, &c->rep->n_by_state, st);
	if (res)
		bump(c->results, c->rp, &c->rep->n_by_result, res);
	if (disp)
		bump(c->disps, c->dp, &c->rep->n_by_disposition, disp);
	if (strcmp(st, "pending") == 0 || strcmp(st, "dialing") == 0)
		c->rep->left++;
	else
		c->rep->done++;
	c->rep->placed += k->attempts;
	return 0;
}

struct att_counts {
	uint64_t since_ms, placed, answered, abandoned;
};

static int count_attempt(void *arg, const Kefu__DialAttempt *a)
{
	struct att_counts *c = arg;

	c->placed++;
	if (a->result_ms > c->since_ms && a->result &&
	    (strcmp(a->result, "human") == 0 || strcmp(a->result, "abandoned") == 0)) {
		c->answered++;
		c->abandoned += strcmp(a->result, "abandoned") == 0;
	}
	return 0;
}

/* The reply of campaign name from t, sent to r, with agents on it now. */
static void reply(struct dialing *d, struct store_txn *t, const char *name,
		  const struct msg_ref *r, uint64_t index, uint32_t agents)
{
	struct att_counts ac = {0};
	uint64_t now = dialing__now(d);
	Kefu__Envelope out = KEFU__ENVELOPE__INIT;
	Kefu__CampaignReply rep = KEFU__CAMPAIGN_REPLY__INIT;
	struct counts c = {.rep = &rep};
	Kefu__Campaign *camp;
	int err = dial_campaign_get(t, name, &camp);

	if (err) {
		char msg[80];

		snprintf(msg, sizeof(msg), "no campaign %s", name);
		msg_ref_error(r, err, err == KF_ENOTFOUND ? msg : kf_strerror(err));
		return;
	}
	rep.by_state = c.sp;
	rep.by_result = c.rp;
	rep.by_disposition = c.dp;
	ac.since_ms = now > camp->abandon_window_ms ? now - camp->abandon_window_ms : 0;
	err = dial_contacts_each(t, name, count_one, &c);
	if (!err)
		err = dial_attempts_each(t, name, count_attempt, &ac);
	if (err) {
		msg_ref_error(r, err, kf_strerror(err));
	} else {
		rep.campaign = camp;
		rep.has_done = rep.has_left = rep.has_placed = rep.has_abandon_rate = 1;
		rep.has_agents = 1;
		rep.agents = agents;
		rep.placed = ac.placed;
		rep.abandon_rate = ac.answered ? (double)ac.abandoned / (double)ac.answered : 0.0;
		rep.pacer = strcmp(camp->state, "running") == 0 ? (char *)dialing__pacer_of(d, name)
								 : "";
		rep.has_index = index != 0;
		rep.index = index;
		out.body_case = KEFU__ENVELOPE__BODY_CAMPAIGN_REPLY;
		out.campaign_reply = &rep;
		msg_ref_send(r, &out);
	}
	kefu__campaign__free_unpacked(camp, NULL);
}

static void campaign_done(struct dialing__change *c, uint64_t index)
{
	struct store_txn *t;
	int err = store_read_begin(c->d->sto->store, &t);

	if (err) {
		msg_ref_error(&c->ref, err, kf_strerror(err));
		return;
	}
	reply(c->d, t, c->subject, &c->ref, index, 0);
	store_abort(t);
}

static void campaign_free(struct dialing__change *c)
{
	struct crq *rq = c->rq;

	if (rq->create)
		kefu__campaign_create__free_unpacked(rq->create, NULL);
	if (rq->action)
		kefu__campaign_action__free_unpacked(rq->action, NULL);
	free(rq);
}

static void submit(struct dialing *d, struct msg_peer *p, const Kefu__Envelope *e,
		   const struct actor *who, struct crq *rq, const char *name)
{
	struct dialing__change *c = calloc(1, sizeof(*c));

	if (!c)
		abort();
	c->rq = rq;
	c->body = campaign_body;
	c->done = campaign_done;
	c->free_rq = campaign_free;
	c->action = rq->create ? "campaign_create"
		    : strcmp(rq->action->action, "start") == 0 ? "campaign_start"
		    : strcmp(rq->action->action, "pause") == 0 ? "campaign_pause"
		    : strcmp(rq->action->action, "resume") == 0 ? "campaign_resume"
								 : "campaign_stop";
	snprintf(c->subject, sizeof(c->subject), "%s", name);
	dialing__change_run(d, p, e, who, c);
}

/* A create or an action (m, decoded from e): on the leader, made here;
 * on a follower, forwarded (actor_route). */
static void route(struct dialing *d, struct msg_peer *p, const Kefu__Envelope *e, char **actor,
		  protobuf_c_boolean *admin, protobuf_c_boolean *has_admin,
		  const ProtobufCMessage *m)
{
	struct crq *rq;
	struct actor who;

	if (!actor_route(d->leader, p, e, actor, admin, has_admin, "campaign changes", &who))
		return;
	rq = calloc(1, sizeof(*rq));
	if (!rq)
		abort();
	if (e->body_case == KEFU__ENVELOPE__BODY_CAMPAIGN_CREATE) {
		rq->create = proto_copy(m, NULL);
		submit(d, p, e, &who, rq, rq->create->campaign->name);
	} else {
		rq->action = proto_copy(m, NULL);
		submit(d, p, e, &who, rq, rq->action->name);
	}
}

void dialing__on_campaign_create(void *state, struct msg_peer *p, const Kefu__Envelope *e)
{
	struct dialing *d = state;
	Kefu__CampaignCreate *rq = e->campaign_create;

	if (!rq->campaign || !rq->campaign->name || strlen(rq->campaign->name) > DIAL_NAME_MAX) {
		msg_error(p, e->request_id, KF_EPARSE, "a campaign needs a name of 1 to 32 "
			  "characters");
		return;
	}
	route(d, p, e, &rq->actor, &rq->actor_admin, &rq->has_actor_admin, &rq->base);
}

void dialing__on_campaign_action(void *state, struct msg_peer *p, const Kefu__Envelope *e)
{
	struct dialing *d = state;
	Kefu__CampaignAction *rq = e->campaign_action;
	static const char *const actions[] = {"start", "pause", "resume", "stop"};
	bool known = false;

	for (size_t i = 0; rq->action && i < 4; i++)
		known = known || strcmp(rq->action, actions[i]) == 0;
	if (!known || !rq->name || !*rq->name || strlen(rq->name) > DIAL_NAME_MAX) {
		msg_error(p, e->request_id, KF_EPARSE, "a campaign action names the campaign and "
			  "one of start, pause, resume, stop");
		return;
	}
	route(d, p, e, &rq->actor, &rq->actor_admin, &rq->has_actor_admin, &rq->base);
}

struct show {
	struct dialing *d;
	struct msg_ref ref;
	char name[DIAL_NAME_MAX + 1];
};

static void show_reply(struct show *s, uint32_t agents)
{
	struct store_txn *t;
	int err = store_read_begin(s->d->sto->store, &t);

	if (err) {
		msg_ref_error(&s->ref, err, kf_strerror(err));
		return;
	}
	reply(s->d, t, s->name, &s->ref, 0, agents);
	store_abort(t);
}

/* The agents on the campaign came back (agent, state pairs). */
static void show_agents(void *arg, int err, const struct redis_reply *r)
{
	struct show *s = arg;
	struct dialing *d = s->d;

	if (!d->dead)
		show_reply(s, !err && r && r->type == REDIS_TYPE_ARRAY ? (uint32_t)(r->n / 2) : 0);
	free(s);
	dialing__unref(d);
}

void dialing__on_campaign_show(void *state, struct msg_peer *p, const Kefu__Envelope *e)
{
	struct dialing *d = state;
	const char *name = e->campaign_show->name ? e->campaign_show->name : "";
	struct show *s = calloc(1, sizeof(*s));

	if (!s)
		abort();
	if (strlen(name) > DIAL_NAME_MAX) {
		free(s);
		msg_error(p, e->request_id, KF_ENOTFOUND, "no such campaign");
		return;
	}
	s->d = d;
	s->ref = msg_ref_of(p, e->request_id);
	snprintf(s->name, sizeof(s->name), "%s", name);
	d->inflight++;
	if (d->hot && dialing__agents_read(d, name, show_agents, s) == 0)
		return;
	d->inflight--;
	show_reply(s, 0);
	free(s);
}

struct listed {
	Kefu__Campaign **c;
	size_t n, cap;
};

static int keep(void *arg, const Kefu__Campaign *c)
{
	struct listed *l = arg;

	if (l->n == l->cap) {
		l->cap = l->cap ? l->cap * 2 : 16;
		l->c = realloc(l->c, l->cap * sizeof(*l->c));
		if (!l->c)
			abort();
	}
	l->c[l->n++] = proto_copy(&c->base, NULL);
	return 0;
}

void dialing__on_campaign_list(void *state, struct msg_peer *p, const Kefu__Envelope *e)
{
	struct dialing *d = state;
	Kefu__Envelope out = KEFU__ENVELOPE__INIT;
	Kefu__CampaignListReply rep = KEFU__CAMPAIGN_LIST_REPLY__INIT;
	struct listed l = {0};
	struct store_txn *t;
	int err = store_read_begin(d->sto->store, &t);

	if (!err) {
		err = dial_campaigns_each(t, keep, &l);
		store_abort(t);
	}
	if (err) {
		msg_error(p, e->request_id, err, kf_strerror(err));
	} else {
		rep.campaigns = l.c;
		rep.n_campaigns = l.n;
		out.body_case = KEFU__ENVELOPE__BODY_CAMPAIGN_LIST_REPLY;
		out.campaign_list_reply = &rep;
		msg_send(p, &out, e->request_id);
	}
	for (size_t i = 0; i < l.n; i++)
		kefu__campaign__free_unpacked(l.c[i], NULL);
	free(l.c);
}
