/*
 * The routing component (node/component.h): its state made from what the
 * node offers, its rows of the node's message table, its tick, and what it
 * forgets when a connection closes. See routing.h and routing_int.h.
 */
#include "node/routing/routing.h"

#include "lib/conf.h"
#include "lib/err.h"
#include "lib/log.h"
#include "node/routing/routing_int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

const struct routing__fixed routing__cfg = {
	.no_answer_reason = "no-answer",
	.keep_ms = 600000,
	.presence_ms = 15000,
	.session_ms = 8 * 3600 * 1000u,
	.tick_ms = ROUTING_TICK_MS,
	.wait_window_ms = 3600000,
	.sweep_limit = 100,
	.lost_every = 5,
	.lost_limit = 200,
};

/* The skill strategies of the configuration, written to Redis at start. */
static void strategies_write(struct routing *r)
{
	for (size_t i = 0; i < NSKILLS; i++) {
		char k[HOT_KEY_MAX];
		const char *argv[] = {"HSET", k, routing_skill_names[i], r->set.strategy[i]};

		hot_key(r->hot, k, sizeof(k), "strategy");
		routing__command(r, 4, argv, NULL);
	}
}

void routing__release(struct routing *r)
{
	struct rconn *c;
	struct ragent *a;
	struct rcall *k;

	while ((c = routing__conns_first(&r->conns)))
		routing__conn_free(r, c);
	while ((a = routing__agents_first(&r->agents)))
		routing__agent_drop(r, a);
	while ((k = routing__calls_first(&r->calls)))
		routing__call_drop(r, k);
	ht_release(&r->conns);
	ht_release(&r->agents);
	ht_release(&r->calls);
	free(r);
}

/*
 * Routing runs where there is Redis (ctx->hot) and a cluster to write
 * through (ctx->leader); elsewhere its messages are "not configured on
 * this node". With them, it registers for the node's events and Redis
 * failovers and writes the skill strategies to Redis.
 */
static int routing_init(const struct node_ctx *ctx, void **state)
{
	struct routing *r;
	char why[CONF_ERR_MAX];
	int err;

	*state = NULL;
	if (!ctx->hot || !ctx->leader)
		return 0;
	if (!ctx->jobs || !ctx->sto || !ctx->hub)
		return -EINVAL;
	r = calloc(1, sizeof(*r));
	if (!r)
		abort();
	/* config_check has accepted these settings already. */
	err = routing_settings_from(ctx->cfg, &r->set, why, sizeof(why));
	if (err) {
		log_err(LOG_ROUTING, "routing settings refused: %s", why);
		free(r);
		return err;
	}
	err = hot_define(ctx->hot, routing_scripts, ROUTING_SCRIPT_COUNT, &r->script0);
	if (err) {
		free(r);
		return err;
	}
	/* At the cost new hashes get (lib/password.h), once: some 150 ms. */
	err = password_hash("no such agent", strlen("no such agent"), 0, r->dummy_hash,
			    sizeof(r->dummy_hash));
	if (err) {
		log_err(LOG_ROUTING, "cannot make the dummy password hash: %s", kf_strerror(err));
		free(r);
		return err;
	}
	if (password_default_iterations() < PASSWORD_ITER_DEFAULT)
		log_warn(LOG_ROUTING, "password hashes made with %u iterations: "
			 "test_password_iterations is for tests only", password_default_iterations());
	r->loop = ctx->loop;
	routing__copy(r->self, sizeof(r->self), ctx->self);
	r->hot = ctx->hot;
	r->el = ctx->election;
	r->sto = ctx->sto;
	r->leader = ctx->leader;
	r->jobs = ctx->jobs;
	r->hub = ctx->hub;
	ht_init(&r->conns, AGENT_BUCKETS);
	ht_init(&r->agents, AGENT_BUCKETS);
	ht_init(&r->calls, CALL_BUCKETS);
	hot_key(r->hot, r->k_epoch, sizeof(r->k_epoch), "epoch");
	r->board = ctx->board;
	hot_on_event(r->hot, routing__on_event, r);
	hot_on_failover(r->hot, routing__on_failover, r);
	strategies_write(r);
	if (ctx->metrics && metrics_register(ctx->metrics, routing__metrics, r) == 0)
		r->metrics = ctx->metrics;
	else if (ctx->metrics)
		log_warn(LOG_ROUTING, "routing figures not in /metrics: too many sources");
	*state = r;
	return 0;
}

/* Replies still to come (steps, audit writes, password checks) find the
 * routing dead and drop their results; the last one frees it. */
static void routing_stop(void *state)
{
	struct routing *r = state;

	if (!r)
		return;
	hot_on_event(r->hot, NULL, NULL);
	hot_on_failover(r->hot, NULL, NULL);
	if (r->metrics)
		metrics_unregister(r->metrics, routing__metrics, r);
	r->dead = true;
	routing__unpend(r);
}

/* The agents and calls the connection carried stay in Redis and in the
 * mirror, for a resume. */
static void routing_connection_closed(void *state, struct msg_peer *p)
{
	struct routing *r = state;
	struct rconn *c = r ? routing__conn_find(r, msg_peer_id(p)) : NULL;

	if (!c)
		return;
	for (struct ragent *a = routing__agents_first(&r->agents); a;
	     a = routing__agents_next(&r->agents, a)) {
		char k[HOT_KEY_MAX];
		const char *argv[] = {"DEL", k};

		if (a->conn != c->id)
			continue;
		/* Not offered calls while away; a resume sets it again. */
		a->conn = 0;
		hot_key(r->hot, k, sizeof(k), "presence:", a->id);
		routing__command(r, 2, argv, NULL);
	}
	for (struct rcall *k = routing__calls_first(&r->calls); k;
	     k = routing__calls_next(&r->calls, k)) {
		if (k->conn == c->id) {
			k->conn = 0;
			k->lost_ms = loop_wall_ms();
		}
	}
	routing__conn_free(r, c);
}

/*
 * Every routing message: roles as the node's table always had them, a
 * session for an agent's requests about its state and its calls (the
 * dispatcher answers "log in first" without one), and the frame sizes they
 * need: small control messages, a CallArrived with room for the IVR path,
 * and a GatewayResume of up to CALLS_MAX call ids at the node's limit.
 */
static const struct msg_row rows[] = {
	{KEFU__ENVELOPE__BODY_CALL_ARRIVED, "call_arrived", routing__on_call_arrived, MSG_R_GW,
	 false, MSG_MEDIUM},
	{KEFU__ENVELOPE__BODY_CALL_ENDED, "call_ended", routing__on_call_ended, MSG_R_GW, false,
	 MSG_SMALL},
	{KEFU__ENVELOPE__BODY_WAIT_REQUEST, "wait_request", routing__on_wait_request, MSG_R_GW,
	 false, MSG_SMALL},
	{KEFU__ENVELOPE__BODY_CONNECT_FAILED, "connect_failed", routing__on_connect_failed,
	 MSG_R_GW, false, MSG_SMALL},
	{KEFU__ENVELOPE__BODY_CALL_CONNECTED, "call_connected", routing__on_call_connected,
	 MSG_R_GW, false, MSG_SMALL},
	{KEFU__ENVELOPE__BODY_GATEWAY_RESUME, "gateway_resume", routing__on_gateway_resume,
	 MSG_R_GW, false, 0},
	{KEFU__ENVELOPE__BODY_LOGIN, "login", routing__on_login, MSG_R_AGENT, false, MSG_SMALL},
	{KEFU__ENVELOPE__BODY_SESSION_RESUME, "session_resume", routing__on_session_resume,
	 MSG_R_AGENT, false, MSG_SMALL},
	{KEFU__ENVELOPE__BODY_SET_AGENT_STATE, "set_agent_state", routing__on_set_state,
	 MSG_R_AGENT, true, MSG_SMALL},
	{KEFU__ENVELOPE__BODY_ANSWER_CALL, "answer_call", routing__on_answer_call, MSG_R_AGENT,
	 true, MSG_SMALL},
	{KEFU__ENVELOPE__BODY_REJECT_CALL, "reject_call", routing__on_reject_call, MSG_R_AGENT,
	 true, MSG_SMALL},
	{KEFU__ENVELOPE__BODY_HANGUP_CALL, "hangup_call", routing__on_hangup_call, MSG_R_AGENT,
	 true, MSG_SMALL},
	{KEFU__ENVELOPE__BODY_WRAP_UP_DONE, "wrap_up_done", routing__on_wrap_up_done, MSG_R_AGENT,
	 true, MSG_SMALL},
	{KEFU__ENVELOPE__BODY_VERIFY_IDENTITY, "verify_identity", routing__on_verify_identity,
	 MSG_R_AGENT, true, MSG_SMALL},
	{KEFU__ENVELOPE__BODY_BILLS_REQUEST, "bills_request", routing__on_bills_request,
	 MSG_R_AGENT, true, MSG_SMALL},
	/* the supervisor's views and acts (docs/security.md "Who may do what") */
	{KEFU__ENVELOPE__BODY_ROUTING_STATS, "routing_stats", routing__on_routing_stats,
	 MSG_R_ADMIN | MSG_R_SUPERVISOR, false, MSG_SMALL},
	{KEFU__ENVELOPE__BODY_CALLBACK_LIST, "callback_list", routing__on_callback_list,
	 MSG_R_ADMIN | MSG_R_SUPERVISOR, false, MSG_SMALL},
	{KEFU__ENVELOPE__BODY_FORCE_LOGOUT, "force_logout", routing__on_force_logout,
	 MSG_R_ADMIN | MSG_R_SUPERVISOR, false, MSG_SMALL},
};

/*
 * The cluster configuration changed: the tiers, ladders, strategies and
 * timers are taken at once (a call in the queue meets its tier's new
 * ladder at its next step); the interval length stays until a restart.
 * Runs on the loop, as every reader of r->set but the jobs' copies.
 */
static void routing_reconfigure(void *state, const struct config *cfg)
{
	struct routing *r = state;
	struct routing_settings s;
	char why[CONF_ERR_MAX];

	if (routing_settings_from(cfg, &s, why, sizeof(why))) {
		log_err(LOG_ROUTING, "new routing settings refused, keeping the ones before: %s",
			why);
		return;
	}
	s.stats_iv_ms = r->set.stats_iv_ms;
	s.busy_at = r->set.busy_at;
	r->set = s;
	strategies_write(r);
	log_info(LOG_ROUTING, "routing settings applied");
}

static const struct component_timer timers[] = {
	{ROUTING_TICK_MS, routing__tick},
};

const struct component routing_component = {
	.name = "routing",
	.init = routing_init,
	.start = NULL,
	.stop = routing_stop,
	.msgs = rows,
	.nmsgs = sizeof(rows) / sizeof(rows[0]),
	.timers = timers,
	.ntimers = sizeof(timers) / sizeof(timers[0]),
	.on_connection_closed = routing_connection_closed,
	.on_leader_change = NULL,
	.reconfigure = routing_reconfigure,
};
