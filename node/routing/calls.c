/*
 * Calls arriving from this node's gateways: the IVR plan, the tier and
 * the verification from the caller's profile, and the one step (arrive)
 * that queues the call and offers it. See routing_int.h.
 */
#include "node/routing/routing_int.h"

#include "lib/err.h"
#include "lib/log.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

/* A number stopped for arrears hears the payment menu first. */
#define ARREARS_STATUS 3
#define ARREARS_PLAN "arrears"

void routing__call_keys(struct routing *r, struct keys *ks, const char *prefix,
			const struct rcall *c, size_t from)
{
	for (size_t i = from; i < c->nskills; i++)
		routing__keys_add(r, ks, prefix, c->skills[i]);
}

void routing__call_skills_set(struct rcall *c, const char *text)
{
	const char *p = text;

	c->nskills = 0;
	while (*p && c->nskills < LADDER_MAX) {
		size_t n = strcspn(p, ",");
		const char *skill = routing_skill_named(p, n);

		if (skill && !routing__call_has_skill(c, skill))
			c->skills[c->nskills++] = skill;
		p += n;
		p += *p == ',';
	}
}

bool routing__call_has_skill(const struct rcall *c, const char *skill)
{
	for (size_t i = 0; i < c->nskills; i++)
		if (strcmp(c->skills[i], skill) == 0)
			return true;
	return false;
}

/* The keys route_call and arrive start with: the call and what selection uses. */
static void route_keys(struct routing *r, struct keys *ks, const struct rcall *c)
{
	routing__keys_add(r, ks, "call:", c->key);
	routing__keys_add(r, ks, "strategy", "");
	routing__keys_add(r, ks, "seq", "");
	routing__keys_add(r, ks, "offers", "");
}

/* Agents a ring-progressively call rings by now: one, and one more every
 * ring_progressive_step since it arrived. Counted from arrived_ms, which
 * a node taking the call over inherits, so the ring goes on widening there. */
static unsigned ring_width(const struct routing *r, const struct rcall *c, uint64_t now)
{
	uint64_t steps = now > c->arrived_ms ? (now - c->arrived_ms) / r->set.ring_step_ms : 0;

	return steps >= ROUTING_RING_MAX ? ROUTING_RING_MAX : 1 + (unsigned)steps;
}

bool routing__ring_wider(const struct routing *r, struct rcall *c, uint64_t now)
{
	unsigned width;

	if (strcmp(c->state, "queued") != 0 || (width = ring_width(r, c, now)) <= c->ring_n)
		return false;
	for (size_t i = 0; i < c->nskills; i++)
		for (size_t k = 0; k < NSKILLS; k++)
			if (strcmp(routing_skill_names[k], c->skills[i]) == 0 &&
			    strcmp(r->set.strategy[k], "ring-progressively") == 0)
				return true;
	/* No ring in its queues: not asked again until the width grows (or an
	 * overflow adds a queue, which routes the call anyway). */
	c->ring_n = width;
	return false;
}

void routing__route_call(struct routing *r, struct rcall *c)
{
	struct keys ks = {.n = 0};
	char offer[NUM_MAX], ring[NUM_MAX];
	const char *args[] = {offer, ring};
	struct op *o = routing__op_new(r, routing__on_routed, 0, 0);

	o->decide = DECIDE_ROUTE_CALL;
	c->ring_n = ring_width(r, c, loop_wall_ms());
	routing__num(ring, c->ring_n);
	routing__num(offer, r->set.offer_ms);
	routing__copy(o->call, sizeof(o->call), c->key);
	route_keys(r, &ks, c);
	routing__call_keys(r, &ks, "ready:", c, 0);
	routing__step(r, ROUTING_SCRIPT_ROUTE_CALL, &ks, args, 2, o);
}

/* The call is in Redis, and offered when an agent was ready (arrive). */
static void on_arrived(struct routing *r, struct op *o, int err, const struct redis_reply *rep)
{
	struct rcall *c = routing__call_find(r, o->call);
	char why[WHY_MAX];

	if (routing__step_failed(err, rep, why, sizeof(why))) {
		log_warn(LOG_ROUTING, "enqueue failed call=%s why=\"%s\"", o->call, why);
		/* Redis unreachable (e.g. failing over): the tick tries again. */
		if (!err)
			routing__error(r, o->conn, o->request_id, KF_ESTATE, why);
		return;
	}
	if (c && !c->state[0])
		routing__copy(c->state, sizeof(c->state), routing__elem_str(rep, 0));
}

/*
 * arrive: the call joins its queues and is offered to the best ready agent
 * in one step, so a call costs one script call (docs/routing.md "Node
 * side"). Run again by the tick while Redis did not take it.
 */
void routing__arrive(struct routing *r, struct rcall *c, bool verified, uint64_t request_id)
{
	struct keys ks = {.n = 0};
	char arrived[NUM_MAX], tier[NUM_MAX], weight[NUM_MAX], sl[NUM_MAX], offer[NUM_MAX];
	char ring[NUM_MAX], iv[NUM_MAX], hold[NUM_MAX];
	/* verified: the call comes from the subscriber's own, trusted number
	 * (its ANI is what the gateway's certificate-authenticated CallArrived
	 * says). */
	const char *args[] = {arrived, tier,	   weight, sl,	  r->self, c->gateway, c->ani,
			      c->service, verified ? ROUTING_VERIFIED_CALLER_ID : "", offer, ring, iv,
			      hold};
	struct op *o = routing__op_new(r, on_arrived, c->conn, request_id);

	o->decide = DECIDE_ARRIVE;
	o->t0_us = c->arrived_us;
	c->ring_n = ring_width(r, c, loop_wall_ms());
	routing__num(ring, c->ring_n);
	routing__num(arrived, c->arrived_ms);
	routing__num(tier, c->tier->level);
	routing__num(weight, c->tier->weight_ms);
	routing__num(sl, c->tier->sl_ms);
	routing__num(offer, r->set.offer_ms);
	routing__num(iv, r->set.stats_iv_ms);
	/* Held for the menu: gone from Redis if nothing queues or ends it by
	 * then (lost_calls ends it sooner when this node is gone). */
	hold[0] = '\0';
	if (c->menu_open)
		routing__num(hold, r->set.menu_ms + r->set.lost_grace_ms + routing__cfg.keep_ms);
	routing__copy(o->call, sizeof(o->call), c->key);
	route_keys(r, &ks, c);
	routing__call_keys(r, &ks, "q:", c, 0);
	routing__call_keys(r, &ks, "ready:", c, 0);
	routing__step(r, ROUTING_SCRIPT_ARRIVE, &ks, args, 13, o);
}

/* The queue of the caller's menu choice: the first key of the IVR path
 * ("1-3": keys, '-' between) that the tier's menu names; 0 when none. */
static char menu_choice(const struct routing_tier *t, const char *path)
{
	for (const char *p = path; p && *p; p++)
		for (size_t i = 0; i < t->nmenu; i++)
			if (*p == t->menu[i].digit)
				return *p;
	return 0;
}

/* The chosen queue becomes the call's only one (the ladder's later steps
 * still widen it). */
static void menu_skills(struct rcall *c)
{
	for (size_t i = 0; c->choice && i < c->tier->nmenu; i++)
		if (c->tier->menu[i].digit == c->choice) {
			c->skills[0] = c->tier->menu[i].skill;
			c->nskills = 1;
		}
}

static void on_menu(struct routing *r, struct op *o, int err, const struct redis_reply *rep)
{
	struct rcall *c = routing__call_find(r, o->call);
	char why[WHY_MAX];

	if (routing__step_failed(err, rep, why, sizeof(why))) {
		/* Redis unreachable: the tick tries again; a call over has no menu. */
		log_warn(LOG_ROUTING, "menu failed call=%s why=\"%s\"", o->call, why);
		if (c && strncmp(why, "STATE", 5) == 0)
			c->menu_open = false;
		return;
	}
	if (!c)
		return;
	c->menu_open = false;
	if (strcmp(routing__elem_str(rep, 0), "kept") == 0) {
		/* Queued already (taken over meanwhile): its queues as stored. */
		routing__call_skills_set(c, routing__elem_str(rep, 2));
		return;
	}
	routing__copy(c->state, sizeof(c->state), routing__elem_str(rep, 0));
	log_info(LOG_ROUTING, "menu call=%s choice=%c queue=%s", c->key, c->choice ? c->choice : '-',
		 c->skills[0]);
}

/*
 * menu: the held call is queued where the caller chose (its tier's menu),
 * or, when no choice came within menu_timeout, in its ladder's first
 * queues, and offered as arrive does. Run once the call is in Redis; sent
 * again by the tick while it failed.
 */
void routing__menu(struct routing *r, struct rcall *c)
{
	struct keys ks = {.n = 0};
	char offer[NUM_MAX], ring[NUM_MAX], key[2] = {c->choice, '\0'};
	const char *args[] = {key, offer, ring};
	struct op *o = routing__op_new(r, on_menu, 0, 0);

	menu_skills(c);
	o->decide = DECIDE_ARRIVE;
	c->ring_n = ring_width(r, c, loop_wall_ms());
	routing__num(ring, c->ring_n);
	routing__num(offer, r->set.offer_ms);
	routing__copy(o->call, sizeof(o->call), c->key);
	route_keys(r, &ks, c);
	routing__call_keys(r, &ks, "q:", c, 0);
	routing__call_keys(r, &ks, "ready:", c, 0);
	routing__step(r, ROUTING_SCRIPT_MENU, &ks, args, 3, o);
}

void routing__on_call_arrived(void *state, struct msg_peer *p, const Kefu__Envelope *e)
{
	struct routing *r = state;
	const Kefu__CallArrived *ca = e->call_arrived;
	Kefu__Envelope out = KEFU__ENVELOPE__INIT;
	Kefu__IvrPlan plan = KEFU__IVR_PLAN__INIT;
	struct custdb_profile prof;
	bool known, verified, fresh = false;
	char greeting[NAME_MAX_ + 16];
	char *sk[LADDER_MAX];
	struct rconn *rc = routing__conn_get(r, p, e->request_id);
	struct rcall *c;

	if (!rc)
		return;
	if (!routing__id_is_valid(ca->call_id, ROUTING_CALL_ID_MAX, true) || !ca->ani || !*ca->ani ||
	    strlen(ca->ani) >= TEXT_MAX || !ca->service || strlen(ca->service) >= TEXT_MAX) {
		routing__error(r, rc->id, e->request_id, KF_EPARSE,
			       "CallArrived needs a call_id ([A-Za-z0-9_.:-]{1,64}), ani and service");
		return;
	}
	/* Backpressure: past busy_at steps in flight, Redis replies would come
	 * later and later until the command timeout drops the connection with
	 * every step on it. A call refused here was never taken; the gateway
	 * presents it again. */
	if (r->pending >= r->set.busy_at) {
		static struct log_ratelimit rl = LOG_RATELIMIT_INIT(10000, 1);

		log_ratelimited(&rl, LOG_ROUTING, LOG_LVL_WARN, "busy: call refused pending=%u",
				r->pending);
		routing__error(r, rc->id, e->request_id, -EBUSY,
			       "busy: too many routing steps in flight on this node; try again");
		return;
	}
	c = routing__call_add(r, rc->gateway, ca->call_id);
	if (!c) {
		routing__error(r, rc->id, e->request_id, KF_ETOOBIG,
			       "too many live calls on this node");
		return;
	}
	known = routing__profile_get(r, ca->ani, 0, &prof) == 0;
	c->tier = routing__tier_of(r, known && prof.cust ? prof.cust->vip_level : 0);
	verified = known && routing__profile_is_trusted(&prof);
	c->verified = verified;
	routing__copy(c->ani, sizeof(c->ani), ca->ani);
	routing__copy(c->service, sizeof(c->service), ca->service);
	c->conn = rc->id;
	if (!c->arrived_ms) {
		c->arrived_ms = loop_wall_ms();
		c->arrived_us = loop_now_us();
		c->nskills = 0;
		while (c->nskills < c->tier->nladder && c->tier->ladder[c->nskills].after_ms == 0) {
			c->skills[c->nskills] = c->tier->ladder[c->nskills].skill;
			c->nskills++;
		}
		c->step = c->nskills;
		/* A tier with a menu: held out of the queues for the caller's key. */
		c->menu_open = c->tier->nmenu > 0;
		fresh = true;
	}
	/* The first key of the path the menu knows chooses the queue, once. */
	if (c->menu_open && !c->choice) {
		c->choice = menu_choice(c->tier, ca->ivr_path);
		menu_skills(c);
	}
	plan.call_id = ca->call_id;
	plan.plan = (char *)(known && prof.user->status == ARREARS_STATUS ? ARREARS_PLAN
									  : c->tier->plan);
	greeting[0] = '\0';
	if (known && c->tier->greeting && prof.cust && prof.cust->name)
		snprintf(greeting, sizeof(greeting), "%s您好", prof.cust->name);
	plan.greeting = greeting;
	plan.has_tier = plan.has_known = 1;
	plan.tier = c->tier->level;
	plan.known = known;
	for (size_t i = 0; i < c->nskills; i++)
		sk[i] = (char *)c->skills[i];
	plan.n_skills = c->nskills;
	plan.skills = sk;
	out.body_case = KEFU__ENVELOPE__BODY_IVR_PLAN;
	out.ivr_plan = &plan;
	routing__send(r, rc->id, &out, e->request_id);
	if (known)
		custdb_profile_release(&prof);
	log_debug(LOG_ROUTING, "call arrived call=%s tier=%s plan=%s", c->key, c->tier->name,
		  plan.plan);
	/* Again (a retry, or a key pressed): arrive is idempotent, and a
	 * choice while the menu is open queues the call (menu.lua) after it. */
	if (fresh || !c->state[0] || !c->menu_open)
		routing__arrive(r, c, verified, 0);
	if (c->menu_open && c->choice)
		routing__menu(r, c);
}
