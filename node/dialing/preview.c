/*
 * Preview mode (docs/dialing.md, "Preview"): the agent asks for the next
 * contact (DialPreview) and sees it with its profile before anything is
 * dialled; the contact is kept for that agent for 5 minutes in the hot
 * state (kefu:<cluster>:dial:preview:<campaign>:<seq>, SET NX), so two
 * agents never get the same one. Then the agent dials it or skips it with
 * a reason (DialPreviewAction): a dial is an attempt written through the
 * leader like the pacer's, naming the agent, and its Originate goes to a
 * gateway of this node; a person's answer goes to that agent. A skip marks
 * the contact skipped, with the reason, through the leader.
 */
#include "node/dialing/dialing_int.h"

#include "lib/err.h"
#include "lib/log.h"
#include "lib/loop.h"
#include "node/hot.h"
#include "proto/frame.h"
#include "storage/audit.h"
#include "storage/custdb.h"
#include "storage/custview.h"
#include "storage/dial.h"
#include "storage/listing.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CANDIDATES 16
#define KEEP_MS "300000"

/* KEYS: none. ARGV: key prefix, agent, keep_ms, seq... The first seq
 * kept for agent (already, or newly); nil when every one is another's. */
static const char KEEP_LUA[] =
	"for i = 4, #ARGV do\n"
	"  local k = ARGV[1] .. ARGV[i]\n"
	"  local v = redis.call('GET', k)\n"
	"  if v == ARGV[2] then return ARGV[i] end\n"
	"  if not v then\n"
	"    redis.call('SET', k, ARGV[2], 'PX', ARGV[3])\n"
	"    return ARGV[i]\n"
	"  end\n"
	"end\n"
	"return false\n";

struct cand {
	struct dialing *d;
	const Kefu__Campaign *c;
	struct store_txn *t;
	uint64_t now;
	char seqs[CANDIDATES][24];
	unsigned n;
};

/* Due contacts, as the pacer picks them (rules, the do-not-call list). */
static int candidate(void *arg, const Kefu__CampaignContact *k)
{
	struct cand *cd = arg;
	bool blocked;

	if (!dialing__contact_is_due(cd->d, cd->c, k, cd->now))
		return 0;
	if (dial_dnc_blocks(cd->t, k->msisdn, &blocked) || blocked)
		return 0;
	snprintf(cd->seqs[cd->n++], sizeof(cd->seqs[0]), "%" PRIu64, k->seq);
	return cd->n == CANDIDATES ? LISTING_STOP : 0;
}

struct ask {
	struct dialing *d;
	struct msg_ref ref;
	char campaign[DIAL_NAME_MAX + 1];
	char agent[40];
	uint64_t seq;
	char action[8];
	char reason[DIAL_REASON_MAX + 1];
	char id[48], msisdn[DIAL_MSISDN_MAX + 1];
};

static void ask_free(struct ask *a)
{
	struct dialing *d = a->d;

	free(a);
	dialing__unref(d);
}

static int preview_key(struct dialing *d, char *buf, size_t cap, const char *campaign,
		       const char *seq)
{
	return hot_key(d->hot, buf, cap, "dial:preview:", campaign, ":", seq);
}

void dialing__pop(struct store_txn *t, const char *msisdn, struct dial_pop *pop)
{
	pop->user = NULL;
	pop->customer = NULL;
	if (custdb_lookup_msisdn(t, msisdn, 0, 0, &pop->prof) != 0)
		return;
	pop->user = pop->prof.user;
	if (pop->prof.cust && custview_masked(pop->prof.cust, &pop->cu, pop->id, pop->addr) == 0)
		pop->customer = &pop->cu;
}

/* The contact kept for the agent came back: it, with its profile. */
static void kept(void *arg, int err, const struct redis_reply *r)
{
	struct ask *a = arg;
	Kefu__Envelope out = KEFU__ENVELOPE__INIT;
	Kefu__DialPreviewReply rep = KEFU__DIAL_PREVIEW_REPLY__INIT;
	Kefu__CampaignContact *k = NULL;
	struct dial_pop pop;
	struct store_txn *t = NULL;

	memset(&pop, 0, sizeof(pop));

	rep.campaign = a->campaign;
	if (err || !r || r->type == REDIS_TYPE_ERROR) {
		msg_ref_error(&a->ref, err ? err : KF_ESTATE, "the hot state is not reachable");
		goto out;
	}
	if (r->type == REDIS_TYPE_STRING && store_read_begin(a->d->sto->store, &t) == 0 &&
	    dial_contact_get(t, a->campaign, strtoull(r->str, NULL, 10), &k) == 0) {
		rep.has_contact = 1;
		rep.contact = k->seq;
		rep.msisdn = k->msisdn;
		dialing__pop(t, k->msisdn, &pop);
		rep.user = pop.user;
		rep.customer = pop.customer;
	}
	out.body_case = KEFU__ENVELOPE__BODY_DIAL_PREVIEW_REPLY;
	out.dial_preview_reply = &rep;
	msg_ref_send(&a->ref, &out);
	custdb_profile_release(&pop.prof);
	if (k)
		kefu__campaign_contact__free_unpacked(k, NULL);
	if (t)
		store_abort(t);
out:
	ask_free(a);
}

static struct ask *ask_new(struct dialing *d, struct msg_peer *p, const Kefu__Envelope *e,
			   const char *campaign)
{
	struct ask *a = calloc(1, sizeof(*a));

	if (!a)
		abort();
	a->d = d;
	a->ref = msg_ref_of(p, e->request_id);
	snprintf(a->campaign, sizeof(a->campaign), "%s", campaign);
	snprintf(a->agent, sizeof(a->agent), "%s", msg_peer_session(p));
	d->inflight++;
	return a;
}

/* The campaign named, running in preview mode, or an Error sent. */
static Kefu__Campaign *preview_campaign(struct dialing *d, struct msg_peer *p,
					const Kefu__Envelope *e, const char *name,
					struct store_txn **t)
{
	Kefu__Campaign *c = NULL;
	int err;

	*t = NULL;
	if (!d->hot) {
		msg_error(p, e->request_id, KF_ESTATE, "outbound calls need the hot state (Redis)");
		return NULL;
	}
	if (!name || !*name || strlen(name) > DIAL_NAME_MAX) {
		msg_error(p, e->request_id, KF_EPARSE, "a preview names its campaign");
		return NULL;
	}
	if ((err = store_read_begin(d->sto->store, t))) {
		msg_error(p, e->request_id, err, kf_strerror(err));
		return NULL;
	}
	if ((err = dial_campaign_get(*t, name, &c))) {
		msg_error(p, e->request_id, err, err == KF_ENOTFOUND ? "no such campaign"
								      : kf_strerror(err));
	} else if (strcmp(c->mode, "preview") != 0 || strcmp(c->state, "running") != 0) {
		msg_error(p, e->request_id, KF_ESTATE, "the campaign is no running preview campaign");
		kefu__campaign__free_unpacked(c, NULL);
		c = NULL;
	}
	if (!c) {
		store_abort(*t);
		*t = NULL;
	}
	return c;
}

void dialing__on_dial_preview(void *state, struct msg_peer *p, const Kefu__Envelope *e)
{
	struct dialing *d = state;
	const char *name = e->dial_preview->campaign;
	struct store_txn *t;
	Kefu__Campaign *c = preview_campaign(d, p, e, name, &t);
	struct cand cd = {0};
	char prefix[HOT_KEY_MAX];
	const char *argv[4 + 3 + CANDIDATES] = {"EVAL", KEEP_LUA, "0"};
	struct ask *a;
	int argc = 3;

	if (!c)
		return;
	cd.d = d;
	cd.c = c;
	cd.t = t;
	cd.now = dialing__now(d);
	(void)dial_contacts_each(t, name, candidate, &cd);
	store_abort(t);
	kefu__campaign__free_unpacked(c, NULL);
	if (preview_key(d, prefix, sizeof(prefix), name, "")) {
		msg_error(p, e->request_id, KF_ETOOBIG, "campaign name too long");
		return;
	}
	argv[argc++] = prefix;
	argv[argc++] = msg_peer_session(p);
	argv[argc++] = KEEP_MS;
	for (unsigned i = 0; i < cd.n; i++)
		argv[argc++] = cd.seqs[i];
	a = ask_new(d, p, e, name);
	if (hot_command(d->hot, argc, argv, NULL, kept, a)) {
		msg_error(p, e->request_id, KF_ESTATE, "the hot state is not reachable");
		ask_free(a);
	}
}

/* ---- dial or skip ---- */

static void ignore(void *arg, int err, const struct redis_reply *r)
{
	(void)arg, (void)err, (void)r;
}

static void forget(struct ask *a)
{
	char key[HOT_KEY_MAX], seq[24];
	const char *argv[2] = {"DEL", key};

	snprintf(seq, sizeof(seq), "%" PRIu64, a->seq);
	if (preview_key(a->d, key, sizeof(key), a->campaign, seq) == 0)
		(void)hot_command(a->d->hot, 2, argv, NULL, ignore, NULL);
}

static void placed(void *arg, int err)
{
	struct ask *a = arg;
	struct dialing *d = a->d;

	if (!err && strcmp(a->action, "dial") == 0) {
		Kefu__Envelope out = KEFU__ENVELOPE__INIT;
		Kefu__Originate o = KEFU__ORIGINATE__INIT;
		struct msg_peer *gw = dialing__gateway_pick(d);

		o.attempt_id = a->id;
		o.campaign = a->campaign;
		o.msisdn = a->msisdn;
		o.has_ring_ms = 1;
		o.ring_ms = 25000;
		out.body_case = KEFU__ENVELOPE__BODY_ORIGINATE;
		out.originate = &o;
		if (!gw || msg_send(gw, &out, 0)) {
			dialing__result_write(d, a->campaign, a->id, "failed");
			err = KF_ESTATE;
		}
	}
	if (!err)
		forget(a);
	if (err)
		msg_ref_error(&a->ref, err, strcmp(a->action, "dial") == 0
						    ? "the call could not be placed"
						    : "the contact could not be skipped");
	else
		msg_ref_ack(&a->ref, true, a->id[0] ? a->id : "skipped");
	ask_free(a);
}

/* The contact's keeper came back: it must be this agent. */
static void keeper(void *arg, int err, const struct redis_reply *r)
{
	struct ask *a = arg;
	struct dialing *d = a->d;
	Kefu__DialPlace rq = KEFU__DIAL_PLACE__INIT;
	Kefu__DialAttempt at = KEFU__DIAL_ATTEMPT__INIT;
	Kefu__CampaignContact *k = NULL;
	struct store_txn *t;
	static unsigned n;

	if (err || !r || r->type != REDIS_TYPE_STRING || strcmp(r->str, a->agent) != 0) {
		msg_ref_error(&a->ref, KF_ESTATE, "that contact is not previewed by you (ask "
			      "DialPreview first)");
		ask_free(a);
		return;
	}
	if ((err = store_read_begin(d->sto->store, &t)) == 0) {
		err = dial_contact_get(t, a->campaign, a->seq, &k);
		store_abort(t);
	}
	if (err) {
		msg_ref_error(&a->ref, err, "no such contact");
		ask_free(a);
		return;
	}
	snprintf(a->msisdn, sizeof(a->msisdn), "%s", k->msisdn);
	rq.attempt = &at;
	rq.has_attempts = 1;
	rq.attempts = k->attempts;
	at.campaign = a->campaign;
	at.has_contact = 1;
	at.contact = a->seq;
	if (strcmp(a->action, "skip") == 0) {
		rq.skip = a->reason[0] ? a->reason : "-";
		at.id = "skip";
	} else {
		if (!dialing__gateway_pick(d)) {
			kefu__campaign_contact__free_unpacked(k, NULL);
			msg_ref_error(&a->ref, KF_ESTATE, "no outbound gateway on this node");
			ask_free(a);
			return;
		}
		snprintf(a->id, sizeof(a->id), "pv-%.12s-%" PRIx64 "-%x", d->self, loop_wall_ms(),
			 ++n);
		at.id = a->id;
		at.agent = a->agent;
	}
	kefu__campaign_contact__free_unpacked(k, NULL);
	if ((err = dialing__place(d, &rq, placed, a))) {
		msg_ref_error(&a->ref, err, kf_strerror(err));
		ask_free(a);
	}
}

void dialing__on_dial_preview_action(void *state, struct msg_peer *p, const Kefu__Envelope *e)
{
	struct dialing *d = state;
	const Kefu__DialPreviewAction *rq = e->dial_preview_action;
	struct store_txn *t;
	Kefu__Campaign *c;
	char key[HOT_KEY_MAX], seq[24];
	const char *argv[2] = {"GET", key};
	struct ask *a;

	if (!rq->action || (strcmp(rq->action, "dial") && strcmp(rq->action, "skip")) ||
	    !rq->contact || !audit_text_is_valid(rq->reason, DIAL_REASON_MAX)) {
		msg_error(p, e->request_id, KF_EPARSE, "a previewed contact is dialled or skipped "
			  "(with a reason of at most 256 bytes)");
		return;
	}
	if (!(c = preview_campaign(d, p, e, rq->campaign, &t)))
		return;
	store_abort(t);
	kefu__campaign__free_unpacked(c, NULL);
	snprintf(seq, sizeof(seq), "%" PRIu64, rq->contact);
	if (preview_key(d, key, sizeof(key), rq->campaign, seq)) {
		msg_error(p, e->request_id, KF_ETOOBIG, "campaign name too long");
		return;
	}
	a = ask_new(d, p, e, rq->campaign);
	a->seq = rq->contact;
	snprintf(a->action, sizeof(a->action), "%s", rq->action);
	snprintf(a->reason, sizeof(a->reason), "%s", rq->reason ? rq->reason : "");
	if (hot_command(d->hot, 2, argv, NULL, keeper, a)) {
		msg_error(p, e->request_id, KF_ESTATE, "the hot state is not reachable");
		ask_free(a);
	}
}
