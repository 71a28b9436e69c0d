/*
 * The agents this node owns: their state changes (agent_state, route_agent,
 * wrap_up_done) and what they do with their calls (answer, claim, reject,
 * hang up). See routing_int.h.
 */
#include "node/routing/routing_int.h"

#include "lib/err.h"
#include "lib/log.h"

#include <stdio.h>
#include <string.h>

/* ==== agents: state changes ==== */

void routing__agent_keys(struct routing *r, struct keys *ks, const struct ragent *a)
{
	routing__keys_add(r, ks, "agent:", a->id);
	routing__keys_add(r, ks, "strategy", "");
	for (size_t i = 0; i < a->sk.n; i++)
		routing__keys_add(r, ks, "ready:", a->sk.v[i].name);
}

/* The keys of route_agent after the agent's: seq, offers and its queues. */
static void agent_route_keys(struct routing *r, struct keys *ks, const struct ragent *a)
{
	routing__keys_add(r, ks, "seq", "");
	routing__keys_add(r, ks, "offers", "");
	for (size_t i = 0; i < a->sk.n; i++)
		routing__keys_add(r, ks, "q:", a->sk.v[i].name);
}

void routing__send_agent_status(struct routing *r, const struct ragent *a, uint64_t request_id)
{
	Kefu__Envelope e = KEFU__ENVELOPE__INIT;
	Kefu__AgentStatus st = KEFU__AGENT_STATUS__INIT;

	st.state = (char *)a->state;
	st.reason = (char *)a->reason;
	st.call_id = (char *)a->call;
	e.body_case = KEFU__ENVELOPE__BODY_AGENT_STATUS;
	e.agent_status = &st;
	routing__send(r, a->conn, &e, request_id);
}

void routing__agent_end(struct routing *r, struct ragent *a, const char *reason)
{
	log_info(LOG_ROUTING, "agent dropped agent=%s reason=%s", a->id, reason);
	routing__copy(a->state, sizeof(a->state), "logged_out");
	routing__copy(a->reason, sizeof(a->reason), reason);
	routing__send_agent_status(r, a, 0);
	routing__session_end(r, a->conn, a->id);
	routing__agent_drop(r, a);
}

void routing__presence_set(struct routing *r, const struct ragent *a)
{
	char k[HOT_KEY_MAX], ttl[NUM_MAX], val[ACCOUNTS_ID_MAX + NUM_MAX + 2];
	const char *argv[] = {"SET", k, a->id, "PX", ttl};
	uint64_t now = loop_wall_ms(), end = a->login_ms + r->set.session_max_ms;

	routing__num(ttl, routing__cfg.presence_ms);
	hot_key(r->hot, k, sizeof(k), "presence:", a->id);
	routing__command(r, 5, argv, NULL);
	if (a->token[0] && end > now) {
		const char *sv[] = {"SET", k, val, "PX", ttl};

		/* "<agent> <login_ms>": a resume keeps the session's first login time. */
		snprintf(val, sizeof(val), "%s %llu", a->id, (unsigned long long)a->login_ms);
		hot_key(r->hot, k, sizeof(k), "session:", a->token);
		routing__num(ttl, end - now < routing__cfg.session_ms ? end - now : routing__cfg.session_ms);
		routing__command(r, 5, sv, NULL);
	}
}

int routing__agent_step(struct routing *r, struct op *o, int err, const struct redis_reply *rep,
			struct ragent **a)
{
	char why[WHY_MAX];
	int failed;

	*a = routing__agent_find(r, o->agent);
	failed = routing__step_failed(err, rep, why, sizeof(why));
	if (failed)
		routing__error(r, o->conn, o->request_id, KF_ESTATE, why);
	return failed;
}

static void on_agent_state(struct routing *r, struct op *o, int err, const struct redis_reply *rep)
{
	struct ragent *a;

	if (routing__agent_step(r, o, err, rep, &a)) {
		if (a && routing__is_owned_elsewhere(err, rep))
			routing__agent_end(r, a, "session-moved");
		return;
	}
	if (!a)
		return;
	/* wrap_up_done with offer_ms replies {state, [route_agent's reply]}: routed already. */
	routing__copy(a->state, sizeof(a->state),
		      rep->type == REDIS_TYPE_ARRAY ? routing__elem_str(rep, 0) : rep->str);
	routing__copy(a->reason, sizeof(a->reason), strcmp(a->state, "not_ready") == 0 ? o->text : "");
	routing__send_agent_status(r, a, o->request_id);
	if (strcmp(a->state, "ready") == 0 && rep->type != REDIS_TYPE_ARRAY)
		routing__route_agent(r, a);
	if (strcmp(a->state, "logged_out") == 0) {
		routing__session_end(r, a->conn, NULL);
		routing__agent_drop(r, a);
	}
}

/* agent_state: state with reason, as asked by the agent on its connection. */
static void agent_set_state(struct routing *r, struct ragent *a, const char *state,
			    const char *reason, uint64_t request_id)
{
	struct keys ks = {.n = 0};
	char order[NUM_MAX], gen[NUM_MAX], iv[NUM_MAX];
	struct op *o = routing__op_new(r, on_agent_state, a->conn, request_id);
	const char *args[] = {state, reason ? reason : "", r->self, a->token, a->skills, order, gen, iv};

	routing__num(order, a->order);
	routing__num(gen, a->gen);
	routing__num(iv, r->set.stats_iv_ms);
	routing__copy(o->agent, sizeof(o->agent), a->id);
	routing__copy(o->text, sizeof(o->text), reason);
	/* The routing latency of the route_agent that follows counts from here. */
	a->ready_us = strcmp(state, "ready") == 0 ? loop_now_us() : 0;
	routing__agent_keys(r, &ks, a);
	routing__step(r, ROUTING_SCRIPT_AGENT_STATE, &ks, args, 8, o);
}

void routing__agent_revoke(struct routing *r, struct ragent *a, const char *reason)
{
	char k[HOT_KEY_MAX];
	const char *del[] = {"DEL", k};
	struct msg_peer *p = msg_peer_find(r->hub, a->conn);
	struct keys ks = {.n = 0};
	char order[NUM_MAX], gen[NUM_MAX];
	const char *args[] = {"logged_out", reason, r->self, a->token, a->skills, order, gen};
	struct op *o = routing__op_new(r, on_agent_state, 0, 0);

	log_info(LOG_ROUTING, "session ended agent=%s reason=%s", a->id, reason);
	if (a->token[0]) {
		hot_key(r->hot, k, sizeof(k), "session:", a->token);
		routing__command(r, 2, del, NULL);
	}
	hot_key(r->hot, k, sizeof(k), "presence:", a->id);
	routing__command(r, 2, del, NULL);
	/* Out of the ready sets (refused while reserved or on a call: its
	 * presence is gone, so nothing more is offered to it). */
	routing__num(order, a->order);
	routing__num(gen, a->gen);
	routing__copy(o->agent, sizeof(o->agent), a->id);
	routing__agent_keys(r, &ks, a);
	routing__step(r, ROUTING_SCRIPT_AGENT_STATE, &ks, args, 7, o);
	routing__agent_end(r, a, reason);
	if (p)
		msg_close(p);
}

void routing__on_routed(struct routing *r, struct op *o, int err, const struct redis_reply *rep)
{
	char why[WHY_MAX];

	(void)r;
	if (routing__step_failed(err, rep, why, sizeof(why)))
		log_warn(LOG_ROUTING, "routing step failed call=%s agent=%s why=\"%s\"", o->call,
			 o->agent, why);
	/* An offer or alert reaches the agent's node as an event. */
}

void routing__route_agent(struct routing *r, struct ragent *a)
{
	struct keys ks = {.n = 0};
	char offer[NUM_MAX];
	const char *args[] = {offer};
	struct op *o = routing__op_new(r, routing__on_routed, 0, 0);

	o->decide = DECIDE_ROUTE_AGENT;
	o->t0_us = a->ready_us;
	a->ready_us = 0;

	routing__num(offer, r->set.offer_ms);
	routing__copy(o->agent, sizeof(o->agent), a->id);
	routing__keys_add(r, &ks, "agent:", a->id);
	routing__keys_add(r, &ks, "strategy", "");
	agent_route_keys(r, &ks, a);
	routing__step(r, ROUTING_SCRIPT_ROUTE_AGENT, &ks, args, 1, o);
}

static void on_agent_read(struct routing *r, struct op *o, int err, const struct redis_reply *rep)
{
	struct ragent *a = routing__agent_find(r, o->agent);

	if (err || !a || rep->type != REDIS_TYPE_ARRAY || rep->n != 3)
		return;
	routing__copy(a->state, sizeof(a->state), routing__elem_str(rep, 0));
	routing__copy(a->reason, sizeof(a->reason), routing__elem_str(rep, 1));
	routing__copy(a->call, sizeof(a->call), routing__elem_str(rep, 2));
	routing__send_agent_status(r, a, 0);
	if (strcmp(a->state, "ready") == 0)
		routing__route_agent(r, a);
}

void routing__agent_refresh(struct routing *r, const struct ragent *a)
{
	char k[HOT_KEY_MAX];
	const char *argv[] = {"HMGET", k, "state", "reason", "call"};
	struct op *o = routing__op_new(r, on_agent_read, 0, 0);

	routing__copy(o->agent, sizeof(o->agent), a->id);
	hot_key(r->hot, k, sizeof(k), "agent:", a->id);
	routing__command(r, 5, argv, o);
}

void routing__on_set_state(void *state, struct msg_peer *p, const Kefu__Envelope *e)
{
	static const char *const allowed[] = {"ready", "not_ready", "logged_out"};
	struct routing *r = state;
	const Kefu__SetAgentState *ss = e->set_agent_state;
	struct rconn *rc = routing__conn_get(r, p, e->request_id);
	struct ragent *a = rc ? routing__agent_of(r, p) : NULL;

	if (!rc)
		return;
	for (size_t i = 0; a && ss->state && i < sizeof(allowed) / sizeof(allowed[0]); i++) {
		if (strcmp(ss->state, allowed[i]) != 0)
			continue;
		if (ss->reason && strlen(ss->reason) >= TEXT_MAX)
			break;
		if (strcmp(ss->state, "logged_out") == 0 && a->token[0]) {
			char k[HOT_KEY_MAX];
			const char *argv[] = {"DEL", k};

			hot_key(r->hot, k, sizeof(k), "session:", a->token);
			routing__command(r, 2, argv, NULL);
		}
		agent_set_state(r, a, ss->state, ss->reason, e->request_id);
		return;
	}
	routing__error(r, rc->id, e->request_id, KF_EPARSE,
		       "state is ready, not_ready (with a short reason) or logged_out");
}

/*
 * wrap_up_done, with route_agent's work in the same step (offer_ms and the
 * agent's queues): an agent ready again is offered the best waiting call
 * without a second round trip.
 */
void routing__wrap_up_done(struct routing *r, struct ragent *a, bool ready, uint64_t request_id)
{
	struct keys ks = {.n = 0};
	char offer[NUM_MAX];
	const char *args[] = {ready ? "ready" : "not_ready", ready ? "" : "wrap-up", offer};
	struct op *o = routing__op_new(r, on_agent_state, a->conn, request_id);

	routing__num(offer, r->set.offer_ms);
	routing__copy(o->agent, sizeof(o->agent), a->id);
	routing__copy(o->text, sizeof(o->text), args[1]);
	if (ready) {
		o->decide = DECIDE_WRAP_UP_DONE;
		o->t0_us = loop_now_us();
	}
	a->ready_us = 0;
	a->call[0] = '\0';
	a->wrap_until_ms = 0;
	routing__agent_keys(r, &ks, a);
	agent_route_keys(r, &ks, a);
	routing__step(r, ROUTING_SCRIPT_WRAP_UP_DONE, &ks, args, 3, o);
}

void routing__on_wrap_up_done(void *state, struct msg_peer *p, const Kefu__Envelope *e)
{
	struct routing *r = state;
	struct ragent *a = routing__conn_get(r, p, e->request_id) ? routing__agent_of(r, p) : NULL;

	if (a)
		routing__wrap_up_done(r, a, !e->wrap_up_done->has_ready || e->wrap_up_done->ready,
				      e->request_id);
}

/* ==== agents: calls ==== */

struct ragent *routing__agent_on(struct routing *r, struct msg_peer *p, const char *call_id,
				 uint64_t request_id)
{
	struct ragent *a = routing__agent_of(r, p);

	if (a && call_id && a->call[0] && strcmp(a->call, call_id) == 0)
		return a;
	routing__error(r, msg_peer_id(p), request_id, KF_ESTATE, "that call is not yours");
	return NULL;
}

/* An agent's request about its call: the agent, or NULL when answered already. */
static struct ragent *call_request(struct routing *r, struct msg_peer *p, const char *call_id,
				   uint64_t request_id)
{
	if (!routing__conn_get(r, p, request_id))
		return NULL;
	return routing__agent_on(r, p, call_id, request_id);
}

static void on_answered(struct routing *r, struct op *o, int err, const struct redis_reply *rep)
{
	struct ragent *a;

	if (routing__agent_step(r, o, err, rep, &a) || !a)
		return;
	routing__copy(a->state, sizeof(a->state), "on_call");
	a->alert = false;
	routing__send_agent_status(r, a, o->request_id);
}

static void answer(struct routing *r, const struct ragent *a, uint64_t request_id)
{
	struct keys ks = {.n = 0};
	struct op *o = routing__op_new(r, on_answered, a->conn, request_id);

	routing__copy(o->agent, sizeof(o->agent), a->id);
	routing__keys_add(r, &ks, "call:", a->call);
	routing__keys_add(r, &ks, "agent:", a->id);
	routing__keys_add(r, &ks, "offers", "");
	routing__step(r, ROUTING_SCRIPT_ANSWER, &ks, NULL, 0, o);
}

/* A ringing call claimed: the winner answers at once. */
static void on_claimed(struct routing *r, struct op *o, int err, const struct redis_reply *rep)
{
	struct ragent *a = routing__agent_find(r, o->agent);
	char why[WHY_MAX];

	if (routing__step_failed(err, rep, why, sizeof(why)) || rep->type == REDIS_TYPE_NIL) {
		routing__error(r, o->conn, o->request_id, KF_ESTATE,
			       rep && rep->type == REDIS_TYPE_NIL ? "the call was taken" : why);
		return;
	}
	if (a)
		answer(r, a, o->request_id);
}

void routing__on_answer_call(void *state, struct msg_peer *p, const Kefu__Envelope *e)
{
	struct routing *r = state;
	struct ragent *a = call_request(r, p, e->answer_call->call_id, e->request_id);
	struct keys ks = {.n = 0};
	char offer[NUM_MAX];
	const char *args[] = {offer};
	struct op *o;

	if (!a)
		return;
	if (!a->alert) {
		answer(r, a, e->request_id);
		return;
	}
	routing__num(offer, r->set.offer_ms);
	o = routing__op_new(r, on_claimed, msg_peer_id(p), e->request_id);
	o->decide = DECIDE_CLAIM;
	routing__copy(o->agent, sizeof(o->agent), a->id);
	routing__keys_add(r, &ks, "call:", a->call);
	routing__keys_add(r, &ks, "agent:", a->id);
	routing__keys_add(r, &ks, "strategy", "");
	routing__keys_add(r, &ks, "seq", "");
	routing__keys_add(r, &ks, "offers", "");
	routing__step(r, ROUTING_SCRIPT_CLAIM, &ks, args, 1, o);
}

static void on_rejected(struct routing *r, struct op *o, int err, const struct redis_reply *rep)
{
	struct ragent *a;

	if (routing__agent_step(r, o, err, rep, &a))
		return;
	if (a) {
		a->call[0] = '\0';
		routing__agent_refresh(r, a);
	}
}

void routing__on_reject_call(void *state, struct msg_peer *p, const Kefu__Envelope *e)
{
	struct routing *r = state;
	struct ragent *a = call_request(r, p, e->reject_call->call_id, e->request_id);
	struct keys ks = {.n = 0};
	const char *args[] = {"not_ready", "rejected"};
	struct op *o;

	if (!a)
		return;
	o = routing__op_new(r, on_rejected, msg_peer_id(p), e->request_id);
	routing__copy(o->agent, sizeof(o->agent), a->id);
	routing__keys_add(r, &ks, "call:", a->call);
	routing__keys_add(r, &ks, "agent:", a->id);
	routing__keys_add(r, &ks, "strategy", "");
	routing__keys_add(r, &ks, "offers", "");
	routing__step(r, ROUTING_SCRIPT_REJECT, &ks, args, 2, o);
}

/* After an agent's hangup: the call's owner tells its gateway. */
static void on_call_owner(struct routing *r, struct op *o, int err, const struct redis_reply *rep)
{
	char k[HOT_KEY_MAX], msg[CALL_KEY_MAX + 64];
	const char *argv[] = {"PUBLISH", k, msg};

	if (err || rep->type != REDIS_TYPE_STRING || !*rep->str)
		return;
	hot_key(r->hot, k, sizeof(k), "events:", rep->str);
	snprintf(msg, sizeof(msg), "{\"type\":\"ended\",\"call\":\"%s\"}", o->call);
	routing__command(r, 3, argv, NULL);
}

static void on_hung_up(struct routing *r, struct op *o, int err, const struct redis_reply *rep)
{
	char why[WHY_MAX], k[HOT_KEY_MAX];
	const char *argv[] = {"HGET", k, "owner"};
	struct op *next;

	if (routing__step_failed(err, rep, why, sizeof(why))) {
		routing__error(r, o->conn, o->request_id, KF_ESTATE, why);
		return;
	}
	next = routing__op_new(r, on_call_owner, 0, 0);
	routing__copy(next->call, sizeof(next->call), o->call);
	hot_key(r->hot, k, sizeof(k), "call:", o->call);
	routing__command(r, 3, argv, next);
}

void routing__hangup(struct routing *r, const char *call, const char *agent, uint64_t conn,
		     uint64_t request_id, bool tell_gateway)
{
	struct keys ks = {.n = 0};
	char wrap[NUM_MAX], keep[NUM_MAX];
	const char *args[] = {wrap, keep};
	struct op *o = routing__op_new(r, tell_gateway ? on_hung_up : routing__on_routed, conn,
				       request_id);

	routing__num(wrap, r->set.wrap_ms);
	routing__num(keep, routing__cfg.keep_ms);
	routing__copy(o->call, sizeof(o->call), call);
	routing__copy(o->agent, sizeof(o->agent), agent);
	routing__keys_add(r, &ks, "call:", call);
	routing__keys_add(r, &ks, "agent:", agent);
	routing__step(r, ROUTING_SCRIPT_HANGUP, &ks, args, 2, o);
}

void routing__on_hangup_call(void *state, struct msg_peer *p, const Kefu__Envelope *e)
{
	struct routing *r = state;
	struct ragent *a = call_request(r, p, e->hangup_call->call_id, e->request_id);

	if (a)
		routing__hangup(r, a->call, a->id, msg_peer_id(p), e->request_id, true);
}
