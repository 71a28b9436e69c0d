/*
 * The routing's clock and its recovery: the tick (offers swept, sessions
 * checked against their accounts and lifetime, presence refreshed, overflow ladders, maximum waits, wrap-ups ended, calls of
 * lost gateways and of gone nodes ended) and, after a Redis failover, the
 * re-assertion of what this node owns. See routing_int.h.
 */
#include "node/routing/routing_int.h"

#include "lib/log.h"

#include <string.h>

/* ==== timers: offers, presence, ladders, maximum waits, wrap-ups ==== */

static void on_overflowed(struct routing *r, struct op *o, int err, const struct redis_reply *rep)
{
	struct rcall *c = routing__call_find(r, o->call);
	char why[WHY_MAX];

	if (routing__step_failed(err, rep, why, sizeof(why))) {
		log_warn(LOG_ROUTING, "overflow failed call=%s why=\"%s\"", o->call, why);
		return;
	}
	if (c && strcmp(c->state, "queued") == 0)
		routing__route_call(r, c);
}

static void on_max_waited(struct routing *r, struct op *o, int err, const struct redis_reply *rep)
{
	struct rcall *c = routing__call_find(r, o->call);
	Kefu__Envelope e = KEFU__ENVELOPE__INIT;
	Kefu__CallbackOffered cb = KEFU__CALLBACK_OFFERED__INIT;
	char why[WHY_MAX];

	if (routing__step_failed(err, rep, why, sizeof(why)) || !c)
		return; /* offered meanwhile, or gone: nothing to offer */
	routing__copy(c->state, sizeof(c->state), "overflowed");
	cb.call_id = c->ext;
	cb.kind = (char *)c->tier->at_max;
	e.body_case = KEFU__ENVELOPE__BODY_CALLBACK_OFFERED;
	e.callback_offered = &cb;
	routing__send(r, c->conn, &e, 0);
	/* The dialer's work list (storage/callback.h): one request per call. */
	if (strcmp(c->tier->at_max, "callback") == 0)
		routing__callback_record(r, c);
}

static void call_tick(struct routing *r, struct rcall *c, uint64_t now)
{
	uint64_t waited = now > c->arrived_ms ? now - c->arrived_ms : 0;
	struct keys ks = {.n = 0};
	struct op *o;

	/* A call whose gateway is not connected here is managed by the node it
	 * resumed on, if any. */
	if (c->conn && !c->state[0]) {
		routing__arrive(r, c, c->verified, 0); /* not in Redis yet: it was unreachable */
		return;
	}
	if (!c->conn || (strcmp(c->state, "queued") != 0 && strcmp(c->state, "offered") != 0))
		return;
	if (c->menu_open) {
		/* Held for the caller's key: queued once it comes (again here
		 * while the step failed) or at menu_timeout without one. */
		if (c->choice || waited >= r->set.menu_ms)
			routing__menu(r, c);
		return;
	}
	while (c->step < c->tier->nladder && waited >= c->tier->ladder[c->step].after_ms &&
	       routing__call_has_skill(c, c->tier->ladder[c->step].skill))
		c->step++; /* chosen in the menu: a step that adds nothing */
	if (c->step < c->tier->nladder && waited >= c->tier->ladder[c->step].after_ms &&
	    c->nskills < LADDER_MAX) {
		o = routing__op_new(r, on_overflowed, 0, 0);
		routing__copy(o->call, sizeof(o->call), c->key);
		routing__keys_add(r, &ks, "call:", c->key);
		routing__keys_add(r, &ks, "q:", c->tier->ladder[c->step].skill);
		c->skills[c->nskills++] = c->tier->ladder[c->step++].skill;
		routing__step(r, ROUTING_SCRIPT_OVERFLOW, &ks, NULL, 0, o);
	} else if (strcmp(c->state, "queued") == 0 &&
		   waited >= c->tier->max_wait_ms) {
		char keep[NUM_MAX];
		const char *args[] = {c->tier->at_max, keep};

		routing__num(keep, routing__cfg.keep_ms);
		o = routing__op_new(r, on_max_waited, 0, 0);
		routing__copy(o->call, sizeof(o->call), c->key);
		routing__keys_add(r, &ks, "call:", c->key);
		routing__copy(c->state, sizeof(c->state), "max_wait");
		routing__step(r, ROUTING_SCRIPT_MAX_WAIT, &ks, args, 2, o);
	} else if (routing__ring_wider(r, c, now)) {
		routing__route_call(r, c);
	}
}

static void on_lost_calls(struct routing *r, struct op *o, int err, const struct redis_reply *rep)
{
	char why[WHY_MAX];

	(void)r;
	(void)o;
	if (routing__step_failed(err, rep, why, sizeof(why))) {
		log_warn(LOG_ROUTING, "lost calls sweep failed why=\"%s\"", why);
		return;
	}
	for (size_t i = 0; rep->type == REDIS_TYPE_ARRAY && i < rep->n; i++)
		log_info(LOG_ROUTING, "call ended, its node and gateway lost call=%s",
			 routing__elem_str(rep, i));
}

/* Any node ends the queued calls of a node gone for the grace period. */
static void lost_calls(struct routing *r)
{
	struct keys ks = {.n = 0};
	char grace[NUM_MAX], keep[NUM_MAX], limit[NUM_MAX];
	const char *args[] = {r->self, grace, keep, limit};

	routing__num(grace, r->set.lost_grace_ms);
	routing__num(keep, routing__cfg.keep_ms);
	routing__num(limit, routing__cfg.lost_limit);
	routing__keys_add(r, &ks, "strategy", "");
	routing__keys_add(r, &ks, "offers", "");
	routing__keys_add(r, &ks, "nodes", "");
	for (size_t i = 0; i < NSKILLS; i++)
		routing__keys_add(r, &ks, "q:", routing_skill_names[i]);
	routing__step(r, ROUTING_SCRIPT_LOST_CALLS, &ks, args, 4,
		      routing__op_new(r, on_lost_calls, 0, 0));
}

void routing__tick(void *state)
{
	struct routing *r = state;
	uint64_t now = loop_wall_ms();
	struct keys ks = {.n = 0};
	char limit[NUM_MAX];
	const char *args[3];

	if (!r || r->dead)
		return; /* routing is off on this node, or stopping */
	args[0] = r->set.no_answer;
	args[1] = routing__cfg.no_answer_reason;
	args[2] = limit;
	/* Every node sweeps the offers: whichever node died, no agent stays reserved. */
	routing__num(limit, routing__cfg.sweep_limit);
	routing__keys_add(r, &ks, "offers", "");
	routing__keys_add(r, &ks, "strategy", "");
	routing__step(r, ROUTING_SCRIPT_OFFER_TIMEOUT, &ks, args, 3,
		      routing__op_new(r, routing__on_routed, 0, 0));
	r->ticks++;
	/* Sessions of disabled accounts, changed passwords, past their lifetime. */
	routing__sessions_check(r, now);
	for (struct ragent *a = routing__agents_first(&r->agents); a;
	     a = routing__agents_next(&r->agents, a)) {
		if (a->conn && r->ticks % (routing__cfg.presence_ms / 3 / routing__cfg.tick_ms) == 0)
			routing__presence_set(r, a);
		if (a->conn && strcmp(a->state, "wrap_up") == 0 && a->wrap_until_ms &&
		    now >= a->wrap_until_ms)
			routing__wrap_up_done(r, a, true, 0);
	}
	for (struct rcall *c = routing__calls_first(&r->calls), *next; c; c = next) {
		next = routing__calls_next(&r->calls, c);
		if (!c->conn && c->lost_ms && now - c->lost_ms >= r->set.lost_grace_ms) {
			/* Its gateway did not come back here within the grace period. */
			if (strcmp(c->state, "answered") != 0) {
				log_info(LOG_ROUTING, "call ended, gateway lost call=%s", c->key);
				routing__abandon(r, c, r->self, "gateway-lost");
			}
			routing__call_drop(r, c);
			continue;
		}
		call_tick(r, c, now);
	}
	if (r->ticks % routing__cfg.lost_every == 0)
		lost_calls(r);
	routing__board_tick(r, now);
}

/* ==== after a Redis failover: write again what we own ==== */

static void on_agent_reasserted(struct routing *r, struct op *o, int err,
				const struct redis_reply *rep)
{
	struct ragent *a = routing__agent_find(r, o->agent);
	char why[WHY_MAX];

	if (a && routing__is_owned_elsewhere(err, rep)) {
		routing__agent_end(r, a, "session-moved");
		return;
	}
	if (routing__step_failed(err, rep, why, sizeof(why))) {
		log_warn(LOG_ROUTING, "reassert failed agent=%s why=\"%s\"", o->agent, why);
		return;
	}
	if (a && strcmp(a->state, routing__elem_str(rep, 0)) != 0) {
		routing__copy(a->state, sizeof(a->state), routing__elem_str(rep, 0));
		routing__send_agent_status(r, a, 0);
	}
	if (a && strcmp(a->state, "ready") == 0)
		routing__route_agent(r, a);
}

static void agent_reassert(struct routing *r, const struct ragent *a)
{
	struct keys ks = {.n = 0};
	char order[NUM_MAX], wrap[NUM_MAX], gen[NUM_MAX], iv[NUM_MAX];
	const char *args[] = {a->state, a->reason, r->self, a->token, a->skills, order,
			      a->call, wrap, "keep", gen,    iv};
	struct op *o = routing__op_new(r, on_agent_reasserted, a->conn, 0);

	routing__num(order, a->order);
	routing__num(wrap, a->wrap_until_ms);
	routing__num(gen, a->gen);
	routing__num(iv, r->set.stats_iv_ms);
	routing__copy(o->agent, sizeof(o->agent), a->id);
	routing__agent_keys(r, &ks, a);
	routing__step(r, ROUTING_SCRIPT_REASSERT_AGENT, &ks, args, 11, o);
}

void routing__on_failover(void *arg, const char *from, const char *to)
{
	struct routing *r = arg;

	log_info(LOG_ROUTING, "reasserting after a Redis failover from=%s to=%s agents=%zu calls=%zu",
		 from, to, ht_count(&r->agents), ht_count(&r->calls));
	/* What is connected here is ours; the rest may have resumed elsewhere. */
	for (struct ragent *a = routing__agents_first(&r->agents); a;
	     a = routing__agents_next(&r->agents, a)) {
		if (!a->conn)
			continue;
		agent_reassert(r, a);
		routing__presence_set(r, a);
	}
	for (struct rcall *c = routing__calls_first(&r->calls); c;
	     c = routing__calls_next(&r->calls, c))
		if (c->conn && (strcmp(c->state, "queued") == 0 || strcmp(c->state, "offered") == 0 ||
				strcmp(c->state, "answered") == 0))
			routing__call_reassert(r, c, "keep");
}
