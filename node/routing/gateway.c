/*
 * Gateways' requests about their calls: a call ended by the caller, the
 * agent's phone failed or connected (ConnectFailed, CallConnected), the
 * estimated wait, and GatewayResume (the gateway's live calls become this
 * node's, reassert_call); the re-assert of a call as this node knows it.
 * See routing_int.h.
 */
#include "node/routing/routing_int.h"

#include "lib/err.h"
#include "lib/log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The live call ext of the gateway on rc, or NULL after an Error. */
static struct rcall *gateway_call(struct routing *r, struct rconn *rc, const char *ext,
				  uint64_t request_id)
{
	char key[CALL_KEY_MAX];
	struct rcall *c = NULL;

	if (routing__id_is_valid(ext, ROUTING_CALL_ID_MAX, true)) {
		snprintf(key, sizeof(key), "%s:%s", rc->gateway, ext);
		c = routing__call_find(r, key);
	}
	if (!c)
		routing__error(r, rc->id, request_id, KF_ENOTFOUND,
			       "no such live call of this gateway here");
	return c;
}

void routing__send_connect(struct routing *r, const struct rcall *c)
{
	Kefu__Envelope e = KEFU__ENVELOPE__INIT;
	Kefu__ConnectCall cc = KEFU__CONNECT_CALL__INIT;

	cc.call_id = (char *)c->ext;
	cc.agent_id = (char *)c->agent;
	e.body_case = KEFU__ENVELOPE__BODY_CONNECT_CALL;
	e.connect_call = &cc;
	routing__send(r, c->conn, &e, 0);
}

/* abandon: the call ends unanswered (outcome); with owner, only while it is
 * still owner's (its gateway did not resume on another node). */
void routing__abandon(struct routing *r, const struct rcall *c, const char *owner,
		      const char *outcome)
{
	struct keys ks = {.n = 0};
	char keep[NUM_MAX];
	const char *args[] = {keep, owner ? owner : "", outcome};
	struct op *o = routing__op_new(r, routing__on_routed, 0, 0);

	routing__num(keep, routing__cfg.keep_ms);
	routing__copy(o->call, sizeof(o->call), c->key);
	routing__keys_add(r, &ks, "call:", c->key);
	routing__keys_add(r, &ks, "strategy", "");
	routing__keys_add(r, &ks, "offers", "");
	routing__step(r, ROUTING_SCRIPT_ABANDON, &ks, args, 3, o);
}

void routing__on_call_ended(void *state, struct msg_peer *p, const Kefu__Envelope *e)
{
	struct routing *r = state;
	struct rconn *rc = routing__conn_get(r, p, e->request_id);
	struct rcall *c = rc ? gateway_call(r, rc, e->call_ended->call_id, e->request_id) : NULL;

	if (!c)
		return;
	if (strcmp(c->state, "answered") == 0) {
		routing__hangup(r, c->key, c->agent, 0, 0, false);
	} else {
		routing__abandon(r, c, NULL, "caller");
	}
	log_debug(LOG_ROUTING, "call ended by the caller call=%s state=%s", c->key, c->state);
	routing__call_drop(r, c);
}

/* connect_failed came back: the call is queued again (its `requeued` event
 * routes it on this node), its agent not ready. */
static void on_connect_failed(struct routing *r, struct op *o, int err,
			      const struct redis_reply *rep)
{
	char why[WHY_MAX];

	if (routing__step_failed(err, rep, why, sizeof(why))) {
		log_warn(LOG_ROUTING, "connect failure not taken call=%s agent=%s why=\"%s\"",
			 o->call, o->agent, why);
		routing__error(r, o->conn, o->request_id, KF_ESTATE, why);
		return;
	}
	log_info(LOG_ROUTING, "agent phone failed call=%s agent=%s reason=%s", o->call, o->agent,
		 o->text);
}

/*
 * ConnectFailed: the agent's phone did not take the call of a ConnectCall.
 * The answer is taken back (connect_failed): the call waits again at its
 * place and is offered to another agent, the agent goes not ready with
 * reason "phone".
 */
void routing__on_connect_failed(void *state, struct msg_peer *p, const Kefu__Envelope *e)
{
	struct routing *r = state;
	const Kefu__ConnectFailed *cf = e->connect_failed;
	struct rconn *rc = routing__conn_get(r, p, e->request_id);
	struct rcall *c = rc ? gateway_call(r, rc, cf->call_id, e->request_id) : NULL;
	struct keys ks = {.n = 0};
	const char *args[] = {"phone", ""};
	struct op *o;

	if (!c)
		return;
	if (!cf->agent_id || !c->agent[0] || strcmp(cf->agent_id, c->agent) != 0) {
		routing__error(r, rc->id, e->request_id, KF_ESTATE,
			       "the call is not being connected to that agent");
		return;
	}
	o = routing__op_new(r, on_connect_failed, rc->id, e->request_id);
	routing__copy(o->call, sizeof(o->call), c->key);
	routing__copy(o->agent, sizeof(o->agent), c->agent);
	routing__copy(o->text, sizeof(o->text), cf->reason && *cf->reason ? cf->reason : "error");
	args[1] = o->text;
	routing__keys_add(r, &ks, "call:", c->key);
	routing__keys_add(r, &ks, "agent:", c->agent);
	routing__keys_add(r, &ks, "strategy", "");
	routing__keys_add(r, &ks, "offers", "");
	routing__step(r, ROUTING_SCRIPT_CONNECT_FAILED, &ks, args, 2, o);
}

static void on_connected(struct routing *r, struct op *o, int err, const struct redis_reply *rep)
{
	char why[WHY_MAX];

	if (routing__step_failed(err, rep, why, sizeof(why))) {
		log_warn(LOG_ROUTING, "connect not taken call=%s why=\"%s\"", o->call, why);
		routing__error(r, o->conn, o->request_id, KF_ESTATE, why);
		return;
	}
	log_info(LOG_ROUTING, "call talking call=%s wait_ms=%s", o->call, routing__elem_str(rep, 2));
}

/* CallConnected: the phone answered and the media is bridged; the talk (and
 * the wait that service level measures) runs from now (connected). */
void routing__on_call_connected(void *state, struct msg_peer *p, const Kefu__Envelope *e)
{
	struct routing *r = state;
	struct rconn *rc = routing__conn_get(r, p, e->request_id);
	struct rcall *c = rc ? gateway_call(r, rc, e->call_connected->call_id, e->request_id) : NULL;
	struct keys ks = {.n = 0};
	struct op *o;

	if (!c)
		return;
	o = routing__op_new(r, on_connected, rc->id, e->request_id);
	routing__copy(o->call, sizeof(o->call), c->key);
	routing__keys_add(r, &ks, "call:", c->key);
	routing__step(r, ROUTING_SCRIPT_CONNECTED, &ks, NULL, 0, o);
}

static void on_waited(struct routing *r, struct op *o, int err, const struct redis_reply *rep)
{
	Kefu__Envelope e = KEFU__ENVELOPE__INIT;
	Kefu__WaitReply wr = KEFU__WAIT_REPLY__INIT;
	const char *ext = strchr(o->call, ':');
	char why[WHY_MAX];
	long long secs;

	if (routing__step_failed(err, rep, why, sizeof(why))) {
		routing__error(r, o->conn, o->request_id, KF_ESTATE, why);
		return;
	}
	secs = strtoll(routing__elem_str(rep, 0), NULL, 10);
	wr.call_id = (char *)(ext ? ext + 1 : o->call);
	wr.has_position = 1;
	wr.position = (uint32_t)routing__parse_u64(routing__elem_str(rep, 1)) + 1;
	wr.has_seconds = secs >= 0;
	wr.seconds = secs >= 0 ? (uint32_t)secs : 0;
	e.body_case = KEFU__ENVELOPE__BODY_WAIT_REPLY;
	e.wait_reply = &wr;
	routing__send(r, o->conn, &e, o->request_id);
}

void routing__on_wait_request(void *state, struct msg_peer *p, const Kefu__Envelope *e)
{
	struct routing *r = state;
	struct rconn *rc = routing__conn_get(r, p, e->request_id);
	struct rcall *c = rc ? gateway_call(r, rc, e->wait_request->call_id, e->request_id) : NULL;
	struct keys ks = {.n = 0};
	char window[NUM_MAX];
	const char *args[] = {window};
	struct op *o;

	if (!c)
		return;
	routing__num(window, routing__cfg.wait_window_ms);
	o = routing__op_new(r, on_waited, rc->id, e->request_id);
	routing__copy(o->call, sizeof(o->call), c->key);
	routing__keys_add(r, &ks, "call:", c->key);
	routing__call_keys(r, &ks, "q:", c, 0);
	routing__step(r, ROUTING_SCRIPT_ESTIMATED_WAIT, &ks, args, 1, o);
}

static void on_call_reasserted(struct routing *r, struct op *o, int err,
			       const struct redis_reply *rep)
{
	struct rcall *c = routing__call_find(r, o->call);
	char why[WHY_MAX];

	if (c && routing__is_owned_elsewhere(err, rep)) {
		/* The gateway resumed on another node since: the call is not ours. */
		log_info(LOG_ROUTING, "call moved call=%s why=\"%s\"", o->call, rep->str);
		routing__call_drop(r, c);
		return;
	}
	if (routing__step_failed(err, rep, why, sizeof(why))) {
		log_warn(LOG_ROUTING, "reassert failed call=%s why=\"%s\"", o->call, why);
		return;
	}
	if (!c)
		return;
	routing__copy(c->state, sizeof(c->state), routing__elem_str(rep, 0));
	c->gen = routing__parse_u64(routing__elem_str(rep, 1));
	if (strcmp(c->state, "queued") == 0)
		routing__route_call(r, c);
	else if (strcmp(c->state, "answered") == 0)
		routing__send_connect(r, c);
}

/*
 * reassert_call: write a call we own as we know it (idempotent). mode
 * "take" (GatewayResume) makes us the owner with the next generation;
 * "keep" (after a Redis failover) is refused (OWNED) when another node
 * took the call since (node/routing/README.md "Ownership").
 */
void routing__call_reassert(struct routing *r, const struct rcall *c, const char *mode)
{
	struct keys ks = {.n = 0};
	char arrived[NUM_MAX], tier[NUM_MAX], weight[NUM_MAX], sl[NUM_MAX], deadline[NUM_MAX],
		answered[NUM_MAX], gen[NUM_MAX], iv[NUM_MAX];
	const char *args[] = {c->state,	  arrived,    tier,	  weight,   sl,	       r->self,
			      c->gateway, c->ani,     c->service, c->agent, deadline, answered,
			      mode,	  gen,	      iv};
	struct op *o = routing__op_new(r, on_call_reasserted, c->conn, 0);

	routing__num(gen, c->gen);
	routing__num(iv, r->set.stats_iv_ms);
	routing__num(arrived, c->arrived_ms);
	routing__num(tier, c->tier->level);
	routing__num(weight, c->tier->weight_ms);
	routing__num(sl, c->tier->sl_ms);
	routing__num(deadline, c->deadline_ms);
	routing__num(answered, c->answered_ms);
	routing__copy(o->call, sizeof(o->call), c->key);
	routing__keys_add(r, &ks, "call:", c->key);
	routing__keys_add(r, &ks, "offers", "");
	routing__call_keys(r, &ks, "q:", c, 0);
	routing__step(r, ROUTING_SCRIPT_REASSERT_CALL, &ks, args, 15, o);
}

/* A call the gateway resumes that is over in Redis: the gateway hears how it ended. */
static void send_ended(struct routing *r, uint64_t conn, const char *ext, const char *state)
{
	Kefu__Envelope e = KEFU__ENVELOPE__INIT;
	Kefu__CallEnded ce = KEFU__CALL_ENDED__INIT;

	ce.call_id = (char *)ext;
	ce.reason = (char *)(*state ? state : "unknown");
	e.body_case = KEFU__ENVELOPE__BODY_CALL_ENDED;
	e.call_ended = &ce;
	routing__send(r, conn, &e, 0);
}

/* GatewayResume, per call: the call as Redis holds it becomes ours. */
static void on_call_read(struct routing *r, struct op *o, int err, const struct redis_reply *rep)
{
	static const char *const live[] = {"queued", "offered", "answered"};
	const char *state = routing__elem_str(rep, 0), *sep = strchr(o->call, ':');
	char gw[TLS_NAME_MAX + 1];
	struct rcall *c;
	size_t i;

	if (err || !sep)
		return;
	for (i = 0; i < sizeof(live) / sizeof(live[0]); i++)
		if (strcmp(state, live[i]) == 0)
			break;
	if (i == sizeof(live) / sizeof(live[0])) {
		send_ended(r, o->conn, sep + 1, state);
		return;
	}
	snprintf(gw, sizeof(gw), "%.*s", (int)(sep - o->call), o->call);
	c = routing__call_add(r, gw, sep + 1);
	if (!c)
		return;
	routing__copy(c->state, sizeof(c->state), state);
	c->tier = routing__tier_of(r, (unsigned)routing__parse_u64(routing__elem_str(rep, 1)));
	routing__copy(c->ani, sizeof(c->ani), routing__elem_str(rep, 2));
	routing__copy(c->service, sizeof(c->service), routing__elem_str(rep, 3));
	c->arrived_ms = routing__parse_u64(routing__elem_str(rep, 4));
	routing__copy(c->agent, sizeof(c->agent), routing__elem_str(rep, 5));
	c->deadline_ms = routing__parse_u64(routing__elem_str(rep, 6));
	c->answered_ms = routing__parse_u64(routing__elem_str(rep, 7));
	c->conn = o->conn;
	c->lost_ms = 0;
	routing__call_skills_set(c, routing__elem_str(rep, 8));
	c->step = c->nskills < c->tier->nladder ? c->nskills : c->tier->nladder;
	/* Held for its menu on the node that died: queued here (the re-assert
	 * puts it in its queues), and a key pressed later still moves it once. */
	c->menu_open = strcmp(routing__elem_str(rep, 9), "open") == 0;
	routing__call_reassert(r, c, "take");
}

void routing__on_gateway_resume(void *state, struct msg_peer *p, const Kefu__Envelope *e)
{
	struct routing *r = state;
	const Kefu__GatewayResume *gr = e->gateway_resume;
	struct rconn *rc = routing__conn_get(r, p, e->request_id);
	char msg[64];

	if (!rc)
		return;
	if (gr->n_call_ids > CALLS_MAX) {
		routing__error(r, rc->id, e->request_id, KF_ETOOBIG, "too many calls");
		return;
	}
	for (size_t i = 0; i < gr->n_call_ids; i++) {
		char k[HOT_KEY_MAX];
		const char *argv[] = {"HMGET", k, "state", "tier", "ani", "service", "arrived_ms",
				      "agent", "offer_deadline_ms", "answered_ms", "skills", "menu"};
		struct op *o;

		if (!routing__id_is_valid(gr->call_ids[i], ROUTING_CALL_ID_MAX, true))
			continue;
		o = routing__op_new(r, on_call_read, rc->id, 0);
		snprintf(o->call, sizeof(o->call), "%s:%s", rc->gateway, gr->call_ids[i]);
		hot_key(r->hot, k, sizeof(k), "call:", o->call);
		routing__command(r, 12, argv, o);
	}
	snprintf(msg, sizeof(msg), "resuming %zu calls", gr->n_call_ids);
	routing__ack(r, rc->id, e->request_id, true, msg);
}
