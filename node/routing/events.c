/*
 * Events from the steps and from other nodes, on this node's channel
 * events:<self> (node/routing/README.md "Conventions"): offers and alerts
 * for its agents, what happened to its calls, and takeovers. One row per
 * event type. See routing_int.h.
 */
#include "node/routing/routing_int.h"

#include "lib/log.h"

#include <jansson.h>
#include <string.h>

/*
 * The Offer (or alert) to agent a: the call and the caller's profile, its
 * ID number and address masked (storage/custview.h) unless the offer is
 * reserved for a and the node verified the call (verified: how, from the
 * call hash). An alert goes to several agents and is always masked.
 */
static void send_offer(struct routing *r, struct ragent *a, const char *call, uint64_t deadline,
		       unsigned tier, const char *skill, bool alert, const char *verified)
{
	Kefu__Envelope e = KEFU__ENVELOPE__INIT;
	Kefu__Offer of = KEFU__OFFER__INIT;
	Kefu__Customer masked;
	char id[CUSTVIEW_MASK_MAX], addr[CUSTVIEW_MASK_MAX];
	struct custdb_profile p;
	bool known = routing__profile_get(r, a->ani, 0, &p) == 0;
	Kefu__WorkOrder *open[ROUTING_POP_ORDERS], brief[ROUTING_POP_ORDERS], *bp[ROUTING_POP_ORDERS];
	size_t nopen = routing__open_orders(r, a->ani, open, ROUTING_POP_ORDERS);
	struct kb_hit arts[ROUTING_POP_ARTICLES];
	Kefu__KbHit hit[ROUTING_POP_ARTICLES], *hp[ROUTING_POP_ARTICLES];
	size_t narts = 0;

	of.call_id = (char *)call;
	of.has_deadline_ms = deadline != 0;
	of.deadline_ms = deadline;
	of.has_tier = 1;
	of.tier = tier;
	of.ani = a->ani;
	of.skill = (char *)skill;
	of.has_alert = 1;
	of.alert = alert;
	of.has_verified = 1;
	of.verified = routing__verified_is_known(verified);
	if (known) {
		of.user = p.user;
		of.customer = p.cust;
		if (p.cust && (alert || !of.verified))
			of.customer = custview_masked(p.cust, &masked, id, addr) == 0 ? &masked : NULL;
	}
	/* The caller's open work orders: what they are, where they stand, when due. */
	for (size_t i = 0; i < nopen; i++) {
		brief[i] = *open[i];
		brief[i].n_history = 0;
		brief[i].history = NULL;
		brief[i].n_escalations = 0;
		brief[i].escalations = NULL;
		bp[i] = &brief[i];
	}
	of.n_open_orders = nopen;
	of.open_orders = bp;
	/* Articles for the caller's situation: title and where they are. */
	if (known)
		narts = routing__articles(r, p.user, tier, arts, ROUTING_POP_ARTICLES);
	for (size_t i = 0; i < narts; i++) {
		kefu__kb_hit__init(&hit[i]);
		hit[i].has_id = hit[i].has_version = hit[i].has_score = 1;
		hit[i].id = arts[i].v->article;
		hit[i].version = arts[i].v->version;
		hit[i].title = arts[i].v->title;
		hit[i].category = arts[i].v->category;
		hit[i].score = arts[i].score;
		hp[i] = &hit[i];
	}
	of.n_articles = narts;
	of.articles = hp;
	e.body_case = KEFU__ENVELOPE__BODY_OFFER;
	e.offer = &of;
	routing__send(r, a->conn, &e, 0);
	if (known)
		custdb_profile_release(&p);
	for (size_t i = 0; i < nopen; i++)
		kefu__work_order__free_unpacked(open[i], NULL);
	kb_hits_release(arts, narts);
}

static void send_revoked(struct routing *r, const struct ragent *a, const char *call,
			 const char *why)
{
	Kefu__Envelope e = KEFU__ENVELOPE__INIT;
	Kefu__OfferRevoked rv = KEFU__OFFER_REVOKED__INIT;

	rv.call_id = (char *)call;
	rv.reason = (char *)why;
	e.body_case = KEFU__ENVELOPE__BODY_OFFER_REVOKED;
	e.offer_revoked = &rv;
	routing__send(r, a->conn, &e, 0);
}

static const char *jstr(json_t *ev, const char *name)
{
	const char *s = json_string_value(json_object_get(ev, name));

	return s ? s : "";
}

static uint64_t jnum(json_t *ev, const char *name)
{
	json_t *v = json_object_get(ev, name);

	if (json_is_integer(v))
		return (uint64_t)json_integer_value(v);
	if (json_is_real(v))
		return (uint64_t)json_real_value(v);
	return routing__parse_u64(json_string_value(v));
}

static void ev_offer(struct routing *r, json_t *ev, bool alert)
{
	struct ragent *a = routing__agent_find(r, jstr(ev, "agent"));

	if (!a)
		return;
	routing__copy(a->call, sizeof(a->call), jstr(ev, "call"));
	routing__copy(a->ani, sizeof(a->ani), jstr(ev, "ani"));
	a->alert = alert;
	if (!alert)
		routing__copy(a->state, sizeof(a->state), "reserved");
	send_offer(r, a, a->call, jnum(ev, "deadline_ms"), (unsigned)jnum(ev, "tier"),
		   jstr(ev, "skill"), alert, jstr(ev, "verified"));
	if (a->conn)
		routing__offer_sent(r, alert);
}

static void ev_reserved(struct routing *r, json_t *ev)
{
	ev_offer(r, ev, false);
}

static void ev_alert(struct routing *r, json_t *ev)
{
	ev_offer(r, ev, true);
}

/* An offer or alert ended without this agent: timeout, rejected, abandoned, claimed. */
static void ev_offer_end(struct routing *r, json_t *ev)
{
	struct ragent *a = routing__agent_find(r, jstr(ev, "agent"));
	const char *why = json_object_get(ev, "why") ? jstr(ev, "why") : "claimed";

	if (!a)
		return;
	send_revoked(r, a, jstr(ev, "call"), why);
	if (strcmp(a->call, jstr(ev, "call")) == 0) {
		a->call[0] = '\0';
		a->alert = false;
	}
	routing__agent_refresh(r, a);
}

/* A call of ours is back in its queues (its offer ended): route it again. */
static void ev_requeued(struct routing *r, json_t *ev)
{
	struct rcall *c = routing__call_find(r, jstr(ev, "call"));

	if (!c)
		return;
	routing__copy(c->state, sizeof(c->state), "queued");
	c->agent[0] = '\0';
	routing__route_call(r, c);
}

/* A call of ours was answered: the gateway bridges it to the agent. */
static void ev_answered(struct routing *r, json_t *ev)
{
	struct rcall *c = routing__call_find(r, jstr(ev, "call"));

	if (!c)
		return;
	routing__copy(c->state, sizeof(c->state), "answered");
	routing__copy(c->agent, sizeof(c->agent), jstr(ev, "agent"));
	c->answered_ms = loop_wall_ms();
	routing__send_connect(r, c);
	log_info(LOG_ROUTING, "call answered, connecting call=%s agent=%s", c->key, c->agent);
}

static void ev_wrap_up(struct routing *r, json_t *ev)
{
	struct ragent *a = routing__agent_find(r, jstr(ev, "agent"));

	if (!a)
		return;
	routing__copy(a->state, sizeof(a->state), "wrap_up");
	a->wrap_until_ms = jnum(ev, "wrap_until_ms");
	routing__send_agent_status(r, a, 0);
}

/* The agent ended a call of ours: tell the gateway. (Published by a node.) */
static void ev_ended(struct routing *r, json_t *ev)
{
	struct rcall *c = routing__call_find(r, jstr(ev, "call"));
	Kefu__Envelope e = KEFU__ENVELOPE__INIT;
	Kefu__CallEnded ce = KEFU__CALL_ENDED__INIT;

	if (!c)
		return;
	ce.call_id = c->ext;
	ce.reason = (char *)"agent";
	e.body_case = KEFU__ENVELOPE__BODY_CALL_ENDED;
	e.call_ended = &ce;
	routing__send(r, c->conn, &e, 0);
	routing__call_drop(r, c);
}

/* The agent logged in again through another node: this session is over. */
static void ev_session_ended(struct routing *r, json_t *ev)
{
	struct ragent *a = routing__agent_find(r, jstr(ev, "agent"));

	if (a && strcmp(a->token, jstr(ev, "session")) == 0)
		routing__agent_end(r, a, "session-ended");
}

/* Another node took the agent or the call over (a resume there): drop our
 * entry, unless we took it back since (a newer generation than the event's). */
static void ev_owner_moved(struct routing *r, json_t *ev)
{
	struct ragent *a = routing__agent_find(r, jstr(ev, "agent"));
	struct rcall *c = routing__call_find(r, jstr(ev, "call"));
	bool other = strcmp(jstr(ev, "owner"), r->self) != 0;

	if (a && other && a->gen < jnum(ev, "gen"))
		routing__agent_end(r, a, "session-moved");
	if (c && other && c->gen < jnum(ev, "gen")) {
		log_info(LOG_ROUTING, "call moved call=%s owner=%s", c->key, jstr(ev, "owner"));
		routing__call_drop(r, c);
	}
}

/* A supervisor ended the session of one of our agents (supervise.c). */
static void ev_forced_logout(struct routing *r, json_t *ev)
{
	routing__ev_forced_logout(r, jstr(ev, "agent"));
}

static const struct event_kind {
	const char *type;
	void (*fn)(struct routing *r, json_t *ev);
} event_kinds[] = {
	{"offer", ev_reserved},
	{"alert", ev_alert},
	{"alert_end", ev_offer_end},
	{"offer_end", ev_offer_end},
	{"requeued", ev_requeued},
	{"answered", ev_answered},
	{"wrap_up", ev_wrap_up},
	{"ended", ev_ended},
	{"session_ended", ev_session_ended},
	{"owner_moved", ev_owner_moved},
	{"forced_logout", ev_forced_logout},
};

void routing__on_event(void *arg, const char *payload, size_t len)
{
	static struct log_ratelimit rl = LOG_RATELIMIT_INIT(10000, 10);
	struct routing *r = arg;
	json_t *ev = json_loadb(payload, len, 0, NULL);
	const char *type = jstr(ev, "type");

	for (size_t i = 0; ev && i < sizeof(event_kinds) / sizeof(event_kinds[0]); i++) {
		if (strcmp(event_kinds[i].type, type) == 0) {
			log_debug(LOG_ROUTING, "event type=%s call=%s agent=%s", type, jstr(ev, "call"),
				  jstr(ev, "agent"));
			event_kinds[i].fn(r, ev);
			json_decref(ev);
			return;
		}
	}
	log_ratelimited(&rl, LOG_ROUTING, LOG_LVL_WARN, "unknown event len=%zu", len);
	json_decref(ev);
}
