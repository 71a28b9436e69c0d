/*
 * What the leader writes for outbound calls (docs/dialing.md, "Calls"):
 *
 *   DialPlace        an attempt, before its Originate goes to a gateway:
 *                    checked against its contact (pending, its attempts as
 *                    the pacer counted them) and its campaign (running),
 *                    so no attempt is placed twice, whoever paces;
 *   DialResult       a gateway's result: the attempt and its contact (the
 *                    next attempt from the campaign's rules); a human
 *                    answer goes to the longest ready agent of the campaign,
 *                    or, with none, to the drop message (abandoned);
 *                    the same result sent again gets the same answer;
 *   DialDisposition  the agent's disposition of its call.
 *
 * Each is one check-and-write in the leader's logging transaction
 * (leader_run); a follower forwards the request to the leader.
 */
#include "node/dialing/dialing_int.h"

#include "lib/err.h"
#include "lib/loop.h"
#include "node/hot.h"
#include "node/leader.h"
#include "proto/frame.h"
#include "storage/dial.h"
#include "storage/log.h"
#include "storage/workorder.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define refuse dialing__refuse

enum cw_kind { CW_PLACE, CW_RESULT, CW_DISPOSE };

/* A call write on the leader. */
struct cw {
	struct dialing *d;
	enum cw_kind kind;
	Kefu__DialPlace *place;
	Kefu__DialResult *res;
	Kefu__DialDisposition *disp;
	char actor[AUDIT_AGENT_MAX + 1];
	bool admin;
	char agent[40];            /* claimed for a human answer; "" none */
	uint64_t now_ms;
	struct batch *b;
	char why[200];
	struct msg_ref ref;        /* the peer to answer; hub NULL: none */
	dialing_placed_fn done;    /* or the pacer's completion */
	void *done_arg;
	/* what the attempt holds after the write, or held already */
	bool already;
	char out_result[16], out_agent[40], out_msisdn[24], out_campaign[40];
};

int dialing__result_of(const char *r)
{
	static const char *const names[DIAL_NRESULTS] = {"busy", "no_answer", "machine",
							 "failed"};

	for (int i = 0; r && i < DIAL_NRESULTS; i++)
		if (strcmp(r, names[i]) == 0)
			return i;
	return DIAL_NRESULTS;
}

void dialing__rules_of(const struct dialing *d, const Kefu__Campaign *c, int result,
		       struct dial_rules *r)
{
	unsigned from, to, most = 0;

	dial_rules_default(r, c->weekdays_only);
	r->holidays = d->holidays;
	r->nholidays = d->nholidays;
	r->workdays = d->workdays;
	r->nworkdays = d->nworkdays;
	if (dial_window_parse(c->window, &from, &to) == 0) {
		r->open_min = from;
		r->close_min = to;
	}
	r->working_days_only = c->weekdays_only;
	for (size_t i = 0; i < c->n_retries; i++) {
		int k = dialing__result_of(c->retries[i]->result);

		if (k == DIAL_NRESULTS)
			continue;
		r->retry_s[k] = (uint32_t)(c->retries[i]->interval_ms / 1000);
		if (c->retries[i]->max_attempts > most)
			most = c->retries[i]->max_attempts;
		if (k == result)
			r->max_attempts = c->retries[i]->max_attempts;
	}
	if (result == DIAL_NRESULTS && most)
		r->max_attempts = most;
}

bool dialing__contact_is_due(const struct dialing *d, const Kefu__Campaign *c,
			     const Kefu__CampaignContact *k, uint64_t now_ms)
{
	struct dial_rules rules;
	struct dial_contact dc = {0};
	int res = dialing__result_of(k->result);

	if (!k->state || strcmp(k->state, "pending") != 0 || k->due_ms > now_ms)
		return false;
	dialing__rules_of(d, c, res, &rules);
	dc.attempts = k->attempts;
	dc.last_ms = k->last_ms;
	dc.last = (enum dial_result)res;
	dc.dropped_ms = k->dropped_ms;
	dc.callback_ms = k->callback_ms;
	return dial_rules_next_attempt(&rules, &dc, now_ms) <= now_ms;
}

static void cw_free(struct cw *c)
{
	struct dialing *d = c->d;

	if (c->place)
		kefu__dial_place__free_unpacked(c->place, NULL);
	if (c->res)
		kefu__dial_result__free_unpacked(c->res, NULL);
	if (c->disp)
		kefu__dial_disposition__free_unpacked(c->disp, NULL);
	batch_free(c->b);
	free(c);
	dialing__unref(d);
}

static void outcome_of(struct cw *c, const Kefu__DialAttempt *a)
{
	snprintf(c->out_result, sizeof(c->out_result), "%s", a->result ? a->result : "");
	snprintf(c->out_agent, sizeof(c->out_agent), "%s", a->agent ? a->agent : "");
	snprintf(c->out_msisdn, sizeof(c->out_msisdn), "%s", a->msisdn ? a->msisdn : "");
	snprintf(c->out_campaign, sizeof(c->out_campaign), "%s", a->campaign ? a->campaign : "");
}

/* ---- the bodies, on the leader's writer thread ---- */

static int place_body(struct store_txn *t, struct cw *c)
{
	const Kefu__DialPlace *rq = c->place;
	Kefu__DialAttempt a = *rq->attempt;
	Kefu__Campaign *camp = NULL;
	Kefu__CampaignContact *k = NULL;
	int err;

	if ((err = dial_campaign_get(t, a.campaign, &camp)))
		return err == KF_ENOTFOUND ? refuse(c, err, "no campaign %s", a.campaign) : err;
	if (strcmp(camp->state, "running") != 0) {
		err = refuse(c, KF_ESTATE, "campaign %s is %s", camp->name, camp->state);
		goto out;
	}
	if ((err = dial_contact_get(t, a.campaign, a.contact, &k))) {
		if (err == KF_ENOTFOUND)
			err = refuse(c, err, "no contact %llu", (unsigned long long)a.contact);
		goto out;
	}
	if (strcmp(k->state, "pending") != 0 || k->attempts != rq->attempts) {
		err = refuse(c, KF_ESTATE, "contact %llu is %s after %u attempts",
			     (unsigned long long)k->seq, k->state, k->attempts);
		goto out;
	}
	if (rq->dnc || (rq->skip && *rq->skip)) {
		proto_set_str(&k->state, rq->dnc ? "dnc" : "skipped");
		if (!rq->dnc)
			proto_set_str(&k->skip_reason, rq->skip);
		err = dial_contact_put(c->b, k);
		goto out;
	}
	a.node = c->d->self;
	a.has_placed_ms = 1;
	a.placed_ms = c->now_ms;
	a.msisdn = k->msisdn;
	a.result = NULL;
	if ((err = dial_attempt_put(c->b, &a)))
		goto out;
	proto_set_str(&k->state, "dialing");
	k->has_attempts = k->has_last_ms = 1;
	k->attempts++;
	k->last_ms = c->now_ms;
	k->has_callback_ms = 0; /* a callback is spent by its call */
	k->callback_ms = 0;
	err = dial_contact_put(c->b, k);
out:
	kefu__campaign__free_unpacked(camp, NULL);
	if (k)
		kefu__campaign_contact__free_unpacked(k, NULL);
	return err;
}

/* The contact of a after its result: done for a live answer, else pending
 * at the next attempt the rules allow, or exhausted. */
static int contact_after(struct store_txn *t, struct cw *c, const Kefu__DialAttempt *a)
{
	Kefu__Campaign *camp = NULL;
	Kefu__CampaignContact *k = NULL;
	int err = dial_contact_get(t, a->campaign, a->contact, &k);

	if (err)
		return err == KF_ENOTFOUND ? 0 : err;
	if (k->state && strcmp(k->state, "dialing") != 0)
		goto out; /* moved on since (stopped, dnc): keep it */
	proto_set_str(&k->result, a->result);
	if (strcmp(a->result, "human") == 0) {
		proto_set_str(&k->state, "done");
	} else {
		struct dial_rules r;
		struct dial_contact dc = {0};
		int res = dialing__result_of(a->result);
		uint64_t next;

		if ((err = dial_campaign_get(t, a->campaign, &camp)))
			goto out;
		dialing__rules_of(c->d, camp, res, &r);
		if (strcmp(a->result, "abandoned") == 0) {
			k->has_dropped_ms = 1;
			k->dropped_ms = c->now_ms;
		}
		dc.attempts = k->attempts;
		dc.last_ms = k->last_ms;
		dc.last = (enum dial_result)res;
		dc.dropped_ms = k->dropped_ms;
		next = dial_rules_next_attempt(&r, &dc, c->now_ms);
		proto_set_str(&k->state, next == DIAL_NEVER ? "exhausted" : "pending");
		k->has_due_ms = next != DIAL_NEVER;
		k->due_ms = next == DIAL_NEVER ? 0 : next;
	}
	err = dial_contact_put(c->b, k);
out:
	kefu__campaign__free_unpacked(camp, NULL);
	kefu__campaign_contact__free_unpacked(k, NULL);
	return err;
}

static int result_body(struct store_txn *t, struct cw *c)
{
	const Kefu__DialResult *rq = c->res;
	Kefu__DialAttempt *a = NULL;
	int err = dial_attempt_get(t, rq->campaign, rq->attempt_id, &a);

	if (err)
		return err == KF_ENOTFOUND ? refuse(c, err, "no attempt %s of %s", rq->attempt_id,
						    rq->campaign)
					   : err;
	if (a->result && *a->result) {
		outcome_of(c, a);
		c->already = true;
		err = KF_EEXISTS; /* answered as stored, nothing written */
		goto out;
	}
	if (strcmp(rq->result, "human") == 0 && !c->agent[0])
		proto_set_str(&a->result, "abandoned");
	else
		proto_set_str(&a->result, rq->result);
	if (c->agent[0] && strcmp(rq->result, "human") == 0)
		proto_set_str(&a->agent, c->agent);
	if (rq->gateway)
		proto_set_str(&a->gateway, rq->gateway);
	a->has_result_ms = 1;
	a->result_ms = c->now_ms;
	outcome_of(c, a);
	if (!(err = dial_attempt_put(c->b, a)))
		err = contact_after(t, c, a);
out:
	kefu__dial_attempt__free_unpacked(a, NULL);
	return err;
}

/* A return visit by phone (a campaign of source visits): the customer's
 * answer goes to the work order the contact came from, in this same write;
 * the work orders' leader round applies it (storage/workorder.h). */
static int visit_result(struct store_txn *t, struct cw *c, const Kefu__DialAttempt *a,
			const Kefu__CampaignContact *k)
{
	const Kefu__DialDisposition *rq = c->disp;
	Kefu__VisitResult v = KEFU__VISIT_RESULT__INIT;
	Kefu__Campaign *camp = NULL;
	bool visits;
	int err;

	if ((strcmp(rq->disposition, "satisfied") != 0 &&
	     strcmp(rq->disposition, "not_satisfied") != 0) || !k->ref || !*k->ref)
		return 0;
	if ((err = dial_campaign_get(t, a->campaign, &camp)))
		return err == KF_ENOTFOUND ? 0 : err;
	visits = camp->source && strcmp(camp->source, "visits") == 0;
	kefu__campaign__free_unpacked(camp, NULL);
	if (!visits)
		return 0;
	v.order_id = k->ref;
	v.has_satisfied = v.has_at_ms = 1;
	v.satisfied = strcmp(rq->disposition, "satisfied") == 0;
	v.agent = a->agent;
	v.note = rq->note;
	v.at_ms = c->now_ms;
	v.campaign = a->campaign;
	v.attempt_id = a->id;
	return wo_visit_result_put(&v, c->b);
}

static int dispose_body(struct store_txn *t, struct cw *c)
{
	const Kefu__DialDisposition *rq = c->disp;
	Kefu__DialAttempt *a = NULL;
	Kefu__CampaignContact *k = NULL;
	int err = dial_attempt_get(t, rq->campaign, rq->attempt_id, &a);

	if (err)
		return err == KF_ENOTFOUND ? refuse(c, err, "no call %s of %s to dispose of",
						    rq->attempt_id, rq->campaign)
					   : err;
	if (!a->result || strcmp(a->result, "human") != 0) {
		err = refuse(c, KF_ESTATE, "call %s was not answered by a person", a->id);
		goto out;
	}
	if (!c->admin && strcmp(a->agent ? a->agent : "", c->actor) != 0) {
		err = refuse(c, KF_ESTATE, "call %s is %s's", a->id, a->agent ? a->agent : "nobody");
		goto out;
	}
	if (strcmp(rq->disposition, "callback") == 0 && rq->callback_ms <= c->now_ms) {
		err = refuse(c, KF_EPARSE, "a call back is asked for a time to come");
		goto out;
	}
	proto_set_str(&a->disposition, rq->disposition);
	proto_set_str(&a->promise_date, rq->promise_date);
	proto_set_str(&a->note, rq->note);
	a->has_callback_ms = rq->has_callback_ms;
	a->callback_ms = rq->callback_ms;
	a->has_disposed_ms = a->has_talk_ms = 1;
	a->disposed_ms = c->now_ms;
	a->talk_ms = (uint32_t)(c->now_ms > a->result_ms ? c->now_ms - a->result_ms : 0);
	outcome_of(c, a);
	if ((err = dial_attempt_put(c->b, a)))
		goto out;
	if ((err = dial_contact_get(t, a->campaign, a->contact, &k))) {
		err = err == KF_ENOTFOUND ? 0 : err;
		goto out;
	}
	proto_set_str(&k->disposition, rq->disposition);
	if (strcmp(rq->disposition, "callback") == 0 && strcmp(k->state, "done") == 0) {
		proto_set_str(&k->state, "pending");
		k->has_callback_ms = k->has_due_ms = 1;
		k->callback_ms = k->due_ms = rq->callback_ms;
	}
	if (!(err = dial_contact_put(c->b, k)))
		err = visit_result(t, c, a, k);
out:
	kefu__dial_attempt__free_unpacked(a, NULL);
	if (k)
		kefu__campaign_contact__free_unpacked(k, NULL);
	return err;
}

static int cw_body(struct store_txn *t, uint64_t epoch, void *arg)
{
	struct cw *c = arg;
	int err;

	batch_reset(c->b);
	c->why[0] = '\0';
	c->already = false;
	err = c->kind == CW_PLACE    ? place_body(t, c)
	      : c->kind == CW_RESULT ? result_body(t, c)
				     : dispose_body(t, c);
	if (!err)
		err = log_append_batch(t, epoch, c->b, 0, false, c->d->self, NULL);
	return err;
}

/* The gateway's answer to a result: the agent or the drop message for a
 * person, an ack otherwise. */
static void answer_result(struct cw *c)
{
	Kefu__Envelope out = KEFU__ENVELOPE__INIT;
	Kefu__DialConnect dc = KEFU__DIAL_CONNECT__INIT;

	if (strcmp(c->out_result, "human") != 0 && strcmp(c->out_result, "abandoned") != 0) {
		msg_ref_ack(&c->ref, true, c->out_result);
		return;
	}
	dc.attempt_id = c->res->attempt_id;
	dc.agent = c->out_agent;
	dc.has_drop = 1;
	dc.drop = strcmp(c->out_result, "abandoned") == 0;
	dc.msisdn = c->out_msisdn;
	out.body_case = KEFU__ENVELOPE__BODY_DIAL_CONNECT;
	out.dial_connect = &dc;
	msg_ref_send(&c->ref, &out);
}

static void cw_done(void *arg, int err, uint64_t index)
{
	struct cw *c = arg;
	bool answered = c->ref.hub != NULL;

	if (c->kind == CW_RESULT && c->agent[0] &&
	    (err || strcmp(c->out_agent, c->agent) != 0))
		/* the agent claimed was not given the call: ready again */
		dialing__agent_set(c->d, c->res->campaign, c->agent, "ready", NULL, NULL);
	if (c->kind == CW_DISPOSE && !err && c->out_agent[0])
		dialing__agent_set(c->d, c->out_campaign, c->out_agent, "ready", NULL, NULL);
	if (c->done) {
		c->done(c->done_arg, err);
	} else if (!answered) {
		/* nobody to tell */
	} else if (c->kind == CW_RESULT && (!err || c->already)) {
		answer_result(c);
	} else {
		msg_ref_written(&c->ref, err, err && c->why[0] ? c->why : kf_strerror(err), index);
	}
	cw_free(c);
}

static struct cw *cw_new(struct dialing *d, enum cw_kind kind)
{
	struct cw *c = calloc(1, sizeof(*c));

	if (!c)
		abort();
	c->d = d;
	c->kind = kind;
	c->now_ms = dialing__now(d);
	c->b = batch_new(0);
	d->inflight++;
	return c;
}

static void cw_run(struct cw *c)
{
	int err = leader_run(c->d->leader, cw_body, c, cw_done, c);

	if (err) {
		snprintf(c->why, sizeof(c->why), "%s", err == KF_ESTATE ? "not the leader"
									: kf_strerror(err));
		cw_done(c, err, 0);
	}
}

/* ---- placing (the pacer's) ---- */

struct ask {
	dialing_placed_fn done;
	void *arg;
};

static void ask_done(void *arg, int err, uint64_t index)
{
	struct ask *a = arg;

	(void)index;
	if (a->done)
		a->done(a->arg, err);
	free(a);
}

/* e to the leader (this node does not lead); done(arg, err) after. */
static int ask_leader(struct dialing *d, Kefu__Envelope *e, dialing_placed_fn done, void *arg)
{
	struct ask *a = calloc(1, sizeof(*a));
	int err;

	if (!a)
		abort();
	a->done = done;
	a->arg = arg;
	if ((err = leader_ask(d->leader, e, ask_done, a)))
		free(a);
	return err;
}

int dialing__place(struct dialing *d, const Kefu__DialPlace *rq, dialing_placed_fn done,
		   void *arg)
{
	struct cw *c;

	if (!leader_is_local(d->leader)) {
		Kefu__Envelope e = KEFU__ENVELOPE__INIT;

		e.body_case = KEFU__ENVELOPE__BODY_DIAL_PLACE;
		e.dial_place = (Kefu__DialPlace *)rq;
		return ask_leader(d, &e, done, arg);
	}
	c = cw_new(d, CW_PLACE);
	c->place = proto_copy(&rq->base, NULL);
	c->done = done;
	c->done_arg = arg;
	cw_run(c);
	return 0;
}

void dialing__on_dial_place(void *state, struct msg_peer *p, const Kefu__Envelope *e)
{
	struct dialing *d = state;
	const Kefu__DialPlace *rq = e->dial_place;
	struct cw *c;

	if (!rq->attempt || !rq->attempt->campaign || !rq->attempt->id || !rq->attempt->contact) {
		msg_error(p, e->request_id, KF_EPARSE, "an attempt names its campaign, id and contact");
		return;
	}
	if (!leader_is_local(d->leader)) {
		msg_error(p, e->request_id, KF_ESTATE, "not the leader");
		return;
	}
	c = cw_new(d, CW_PLACE);
	c->place = proto_copy(&rq->base, NULL);
	c->ref = msg_ref_of(p, e->request_id);
	cw_run(c);
}

/* ---- results ---- */

static bool result_is_valid(const Kefu__DialResult *r)
{
	static const char *const ok[] = {"human", "machine", "busy", "no_answer", "failed"};

	if (!r->attempt_id || !*r->attempt_id || strlen(r->attempt_id) > DIAL_ATTEMPT_ID_MAX ||
	    !r->campaign || !*r->campaign || strlen(r->campaign) > DIAL_NAME_MAX || !r->result)
		return false;
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
		if (strcmp(r->result, ok[i]) == 0)
			return true;
	return false;
}

static void claimed(void *arg, int err, const struct redis_reply *r)
{
	struct cw *c = arg;

	if (!err && r && r->type == REDIS_TYPE_STRING)
		snprintf(c->agent, sizeof(c->agent), "%s", r->str);
	cw_run(c);
}

/* A result on the leader: an attempt already answered is answered as
 * stored; a person gets an agent claimed first. */
static void result_start(struct cw *c)
{
	struct dialing *d = c->d;
	Kefu__DialAttempt *a = NULL;
	struct store_txn *t;
	bool human = strcmp(c->res->result, "human") == 0, preset = false;

	if (human && store_read_begin(d->sto->store, &t) == 0) {
		if (dial_attempt_get(t, c->res->campaign, c->res->attempt_id, &a) == 0 && a->result &&
		    *a->result) {
			outcome_of(c, a);
			c->already = true;
		} else if (a && a->agent && *a->agent) {
			/* previewed: the agent who dialled it takes it */
			snprintf(c->agent, sizeof(c->agent), "%s", a->agent);
			preset = true;
		}
		kefu__dial_attempt__free_unpacked(a, NULL);
		store_abort(t);
		if (c->already) {
			cw_done(c, KF_EEXISTS, 0);
			return;
		}
	}
	if (preset && d->hot)
		(void)dialing__agent_talk(d, c->res->campaign, c->agent, c->res->attempt_id);
	else if (human && d->hot &&
		 dialing__agent_claim(d, c->res->campaign, c->res->attempt_id, claimed, c) == 0)
		return;
	cw_run(c);
}

void dialing__on_dial_result(void *state, struct msg_peer *p, const Kefu__Envelope *e)
{
	struct dialing *d = state;
	const Kefu__DialResult *rq = e->dial_result;
	struct cw *c;

	if (!result_is_valid(rq)) {
		msg_error(p, e->request_id, KF_EPARSE, "a result names its attempt, its campaign "
			  "and one of human, machine, busy, no_answer, failed");
		return;
	}
	if (!leader_is_local(d->leader)) {
		leader_forward(d->leader, p, e, NULL);
		return;
	}
	c = cw_new(d, CW_RESULT);
	c->res = proto_copy(&rq->base, NULL);
	c->ref = msg_ref_of(p, e->request_id);
	result_start(c);
}

void dialing__result_write(struct dialing *d, const char *campaign, const char *id,
			   const char *result)
{
	Kefu__DialResult r = KEFU__DIAL_RESULT__INIT;
	struct cw *c;

	r.campaign = (char *)campaign;
	r.attempt_id = (char *)id;
	r.result = (char *)result;
	if (!leader_is_local(d->leader)) {
		Kefu__Envelope e = KEFU__ENVELOPE__INIT;

		e.body_case = KEFU__ENVELOPE__BODY_DIAL_RESULT;
		e.dial_result = &r;
		(void)ask_leader(d, &e, NULL, NULL);
		return;
	}
	c = cw_new(d, CW_RESULT);
	c->res = proto_copy(&r.base, NULL);
	result_start(c);
}

/* ---- dispositions ---- */

const char *dialing__disposition_name(const char *s)
{
	static const char *const ok[] = {"promise",       "wrong_number", "satisfied",
					 "not_satisfied", "callback",     "other"};

	for (size_t i = 0; s && i < sizeof(ok) / sizeof(ok[0]); i++)
		if (strcmp(s, ok[i]) == 0)
			return ok[i];
	return NULL;
}

static const char *disposition_check(const Kefu__DialDisposition *rq)
{
	if (!dialing__disposition_name(rq->disposition))
		return "a disposition is promise, wrong_number, satisfied, not_satisfied, callback "
		       "or other";
	if (!rq->campaign || !*rq->campaign || strlen(rq->campaign) > DIAL_NAME_MAX)
		return "a disposition names its campaign";
	if (strcmp(rq->disposition, "promise") == 0 &&
	    (!rq->promise_date || strlen(rq->promise_date) != 10 || rq->promise_date[4] != '-' ||
	     rq->promise_date[7] != '-'))
		return "a promise to pay has its date, YYYY-MM-DD";
	if (strcmp(rq->disposition, "callback") == 0 && !rq->callback_ms)
		return "a call back has its time (callback_ms)";
	if (!audit_text_is_valid(rq->note, 512))
		return "a note is text of at most 512 bytes";
	return NULL;
}

/* The disposition on the leader (or forwarded to it). */
static void dispose(struct dialing *d, struct msg_peer *p, const Kefu__Envelope *e)
{
	Kefu__DialDisposition *rq = e->dial_disposition;
	struct actor who;
	struct cw *c;

	if (!actor_route(d->leader, p, e, &rq->actor, &rq->actor_admin, &rq->has_actor_admin,
			 "dispositions", &who))
		return;
	c = cw_new(d, CW_DISPOSE);
	c->disp = proto_copy(&rq->base, NULL);
	c->ref = msg_ref_of(p, e->request_id);
	snprintf(c->actor, sizeof(c->actor), "%s", who.name);
	c->admin = who.admin;
	cw_run(c);
}

struct current {
	struct dialing *d;
	struct msg_ref ref;
	Kefu__Envelope *e;
};

/* The agent's current call, read from the hot state ("talk SINCE ATTEMPT"). */
static void current_read(void *arg, int err, const struct redis_reply *r)
{
	struct current *q = arg;
	struct msg_peer *p = msg_ref_peer(&q->ref);
	const char *sp;

	if (p && !err && r && r->type == REDIS_TYPE_STRING && strncmp(r->str, "talk ", 5) == 0 &&
	    (sp = strchr(r->str + 5, ' ')) && sp[1]) {
		proto_set_str(&q->e->dial_disposition->attempt_id, sp + 1);
		dispose(q->d, p, q->e);
	} else if (p) {
		msg_ref_error(&q->ref, KF_ESTATE, "no call of the campaign to dispose of");
	}
	kefu__envelope__free_unpacked(q->e, NULL);
	dialing__unref(q->d);
	free(q);
}

void dialing__on_dial_disposition(void *state, struct msg_peer *p, const Kefu__Envelope *e)
{
	struct dialing *d = state;
	const Kefu__DialDisposition *rq = e->dial_disposition;
	const char *why = disposition_check(rq);
	const char *agent = msg_peer_session(p);
	struct current *q;
	char key[HOT_KEY_MAX];

	if (why) {
		msg_error(p, e->request_id, KF_EPARSE, why);
		return;
	}
	if ((rq->attempt_id && *rq->attempt_id) || !*agent) {
		dispose(d, p, e);
		return;
	}
	if (!d->hot || dialing__agents_key(d, key, sizeof(key), "state:", rq->campaign)) {
		msg_error(p, e->request_id, KF_ESTATE, "no call of the campaign to dispose of");
		return;
	}
	q = calloc(1, sizeof(*q));
	if (!q)
		abort();
	q->d = d;
	q->ref = msg_ref_of(p, e->request_id);
	q->e = proto_copy(&e->base, NULL);
	d->inflight++;
	if (dialing__hget(d, key, agent, current_read, q)) {
		msg_error(p, e->request_id, KF_ESTATE, "the hot state is not reachable");
		kefu__envelope__free_unpacked(q->e, NULL);
		d->inflight--;
		free(q);
	}
}
