/*
 * The live part of `kefu-sim traffic`: gateways and agents on one event
 * loop, over the real protocol, spread over the cluster's nodes.
 *
 * Calls arrive per tier as Poisson processes; each call's draws (number,
 * patience, handle time) come from its own stream (seed, tier, n), so a
 * seed fixes the plan whatever the cluster does. A gateway sends
 * CallArrived and hangs up (CallEnded "caller") when the caller's patience
 * runs out before an answer. An agent logs in, goes ready, and for each
 * Offer rings a little, answers (or, now and then, lets it ring out), talks
 * for the call's handle time, hangs up, wraps up and is ready again. When a
 * connection fails, the agent moves to the next node and resumes its
 * session by token; the gateway moves and sends GatewayResume with its
 * live calls. See traffic.h, and tests/sim/README.md for the counting.
 */
#include "tests/sim/traffic.h"

#include "tests/sim/traffic_dist.h"
#include "tests/sim/traffic_offers.h"

#include "cluster/rpc.h"
#include "lib/err.h"
#include "lib/password.h"
#include "proto/frame.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define CALL_MS 10000            /* a request's reply, at most */
#define REDIAL_MS 300            /* a failed connection is dialled again after this */
#define LOGIN_WAIT_MS 15000      /* the longest wait for every agent to log in */
#define SETTLE_MS 30000          /* the longest wait for WaitReplies at the end */
#define BYE_MS 700               /* the last messages' time to leave */
#define RETRY_READY_MS 1500      /* an agent asks to be ready again after this */
#define LOGIN_RETRY_MS 2000      /* a refused login is tried again, on a new connection */
#define RING_MIN_MS 300
#define HANDLE_SIGMA 0.6
#define ERRORS_SHOWN 20          /* Error replies printed to stderr, at most */
#define CALLS_MAX 20000000u
#define ARRIVALS_PER_TURN 256    /* arrivals made per alarm, at most, when behind */

#define TAG_ARRIVAL 0xa221
#define TAG_CALL 0xca11
#define TAG_RING 0x7196

enum call_state {
	CALL_WAITING,    /* sent, not answered */
	CALL_TALKING,    /* answered */
	CALL_DONE,       /* answered and ended */
	CALL_ABANDONED,  /* the caller hung up while waiting */
	CALL_OVERFLOWED, /* the cluster offered a callback or voicemail */
	CALL_DROPPED,    /* ended or refused by the cluster without an answer */
	CALL_QUEUED,     /* waiting at the end, as the cluster confirmed */
};

enum agent_state { AG_DOWN, AG_READY, AG_RINGING, AG_TALK, AG_WRAP, AG_NOT_READY };
static const char *const agent_state_names[] = {
	[AG_DOWN] = "down", [AG_READY] = "ready", [AG_RINGING] = "ringing",
	[AG_TALK] = "talk", [AG_WRAP] = "wrap", [AG_NOT_READY] = "not_ready",
};
#define AG_STATES (sizeof(agent_state_names) / sizeof(agent_state_names[0]))

/* The agent's next own action, done when its alarm fires. */
enum agent_act { ACT_NONE, ACT_READY, ACT_ANSWER, ACT_HANGUP, ACT_WRAPPED };

enum stage { STAGE_LOGIN, STAGE_RUN, STAGE_SETTLE, STAGE_BYE };

struct world;

struct call {
	struct world *w;
	uint32_t idx;
	uint8_t tier;           /* from the book: the tier the cluster should find */
	uint8_t state;          /* enum call_state */
	bool offered;           /* an Offer reached an agent */
	bool arrive_lost;       /* CallArrived did not reach a node: sent again after a reconnect */
	bool end_pending;       /* CallEnded "caller" waits for a connection */
	bool checking;          /* a WaitRequest is out */
	bool busy;              /* CallArrived refused as busy: sent again at busy_due_ms */
	bool planned;           /* the node took the call (its IvrPlan came) */
	bool end_on_plan;       /* the caller hung up before that: CallEnded follows the IvrPlan */
	uint16_t gw;
	char id[64];
	char ani[TRAFFIC_NUM_MAX + 1];
	uint64_t sent_ms, answered_ms, patience_ms, handle_ms;
	uint64_t ended_ms;      /* the wait or the talk ended (0: not yet) */
	uint64_t wrap_ms;       /* the wrap-up that followed its talk, as the agent saw it */
	uint64_t sent_us;       /* the last CallArrived handed to the connection, monotonic us */
	uint64_t busy_due_ms;   /* when a call refused as busy goes again */
	uint32_t busy_wait_ms;  /* the wait before that (proto_busy_again_ms) */
	struct loop_alarm *patience;
	struct traffic_holds holds;
};

struct agent {
	struct world *w;
	uint32_t idx;
	char id[40];
	struct rpc *rpc;
	size_t node;
	bool logged_in;
	char token[PASSWORD_TOKEN_HEX + 1];
	enum agent_state st;
	enum agent_act act;
	bool deferred;          /* act came due without a session: done after the resume */
	struct loop_alarm *alarm, *redial;
	int64_t call;           /* the call ringing or in talk, -1 */
	char call_key[128];     /* its name as the node gave it to the agent */
	bool alert;
	bool ready_asked;       /* WrapUpDone ready is out: an Offer may come before its reply */
	uint64_t ready_ms;      /* when it last asked to be ready */
	uint64_t ready_us;      /* the same, monotonic us */
	uint64_t draws;
	int64_t wrap_call;      /* the call whose wrap-up runs, -1 */
	uint64_t wrap_from;     /* since when */
};

struct gw {
	struct world *w;
	unsigned idx;
	struct rpc *rpc;
	size_t node;
	bool was_up;            /* up before: a new connection resumes */
	struct loop_alarm *redial;
};

struct arrival {
	struct world *w;
	unsigned tier;
	double gap_ms;          /* mean gap between arrivals */
	double next_ms;         /* when the next call arrives, on the monotonic clock */
	struct rng r;
	struct loop_alarm *alarm;
};

struct world {
	struct traffic *t;
	char run_id[48];
	struct call **calls;
	size_t ncalls, capcalls;
	struct agent *agents;
	size_t nagents;
	struct gw *gws;
	size_t ngws;
	struct arrival arr[TRAFFIC_TIERS];
	uint64_t tier_n[TRAFFIC_TIERS];
	double unknown0;        /* share of tier-0 calls from unknown numbers */
	struct loop_timer *tick;
	enum stage stage;
	uint64_t stage_ms, t0_ms, last_line_ms;
	uint64_t ping_ms;       /* the agents' last heartbeat round */
	uint64_t checks;        /* WaitRequests out */
	uint32_t *busy;         /* calls refused as busy, to send again */
	size_t nbusy, capbusy;
	unsigned errors_shown;
	bool tty;
};

static uint64_t wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* The monotonic clock of loop_now_ms, in ms with its fraction. */
static double mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1000 + (double)ts.tv_nsec / 1e6;
}

/* Count an Error reply and show the first few. Refusals of the closing
 * messages (a logout while an offer rings) are not the cluster's errors. */
static void note_error(struct world *w, const char *who, const char *what, const Kefu__Envelope *e)
{
	if (w->stage == STAGE_BYE)
		return;
	w->t->stats.errors++;
	if (w->errors_shown++ < ERRORS_SHOWN)
		fprintf(stderr, "%skefu-sim traffic: %s %s: %s\n", w->tty ? "\n" : "", who, what,
			e && e->body_case == KEFU__ENVELOPE__BODY_ERROR && e->error->message
				? e->error->message : "unexpected reply");
}

static bool is_error(int err, const Kefu__Envelope *e)
{
	return err || e->body_case == KEFU__ENVELOPE__BODY_ERROR ||
	       (e->body_case == KEFU__ENVELOPE__BODY_ADMIN_REPLY && !e->admin_reply->ok);
}

/*
 * The call named by id, if it is one of this run's. Agents see a call by
 * its cluster-wide key "<gateway>:<call id>"; gateways by the call id.
 */
static struct call *call_find(struct world *w, const char *id)
{
	size_t n = strlen(w->run_id);
	char *end;
	unsigned long long i;

	if (id && strrchr(id, ':'))
		id = strrchr(id, ':') + 1;
	if (!id || strncmp(id, w->run_id, n) != 0 || id[n] != '-')
		return NULL;
	i = strtoull(id + n + 1, &end, 10);
	return *end == '\0' && i < w->ncalls ? w->calls[i] : NULL;
}

/* ---- calls ---- */

static void gw_send_end(struct gw *g, struct call *c);

static void call_stop_patience(struct call *c)
{
	loop_alarm_free(c->patience);
	c->patience = NULL;
}

/* The call was answered (ConnectCall at the gateway or the agent's answer accepted). */
static void call_answered(struct call *c)
{
	struct traffic_tier_stats *t = &c->w->t->stats.tier[c->tier];

	if (c->state == CALL_ABANDONED && c->answered_ms == 0) {
		/* The caller hung up as the agent answered, and the cluster took
		 * the answer first: connected, then hung up at once, as the
		 * cluster counts it. */
		t->abandoned--;
		c->answered_ms = c->ended_ms = loop_now_ms();
		traffic_stats_answered(&c->w->t->stats, c->tier, c->answered_ms - c->sent_ms);
		c->state = CALL_DONE;
		return;
	}
	/* A call still queued as the run ends may be answered before the
	 * caller's hang-up reaches the cluster. */
	if (c->state != CALL_WAITING && c->state != CALL_QUEUED)
		return;
	if (c->state == CALL_QUEUED && c->w->stage == STAGE_BYE)
		t->queued--; /* counted as queued when the run ended */
	c->state = CALL_TALKING;
	c->answered_ms = loop_now_ms();
	traffic_stats_answered(&c->w->t->stats, c->tier, c->answered_ms - c->sent_ms);
	call_stop_patience(c);
}

/* The talk of an answered call ended. */
static void call_done(struct call *c)
{
	c->state = CALL_DONE;
	c->ended_ms = loop_now_ms();
}

static void on_patience(void *arg)
{
	struct call *c = arg;

	call_stop_patience(c);
	if (c->state != CALL_WAITING)
		return;
	c->state = CALL_ABANDONED;
	c->ended_ms = loop_now_ms();
	c->w->t->stats.tier[c->tier].abandoned++;
	/* A call the node has not taken yet may still be refused as busy; then
	 * there is nothing to end. */
	if (c->planned)
		gw_send_end(&c->w->gws[c->gw], c);
	else
		c->end_on_plan = !c->busy;
}

/* ---- gateways ---- */

static void gw_dial(void *arg);

static void gw_send(struct gw *g, Kefu__Envelope *e, rpc_reply_fn fn, void *arg, bool *lost)
{
	bool ok = g->rpc && rpc_is_up(g->rpc) && rpc_call(g->rpc, e, CALL_MS, fn, arg) == 0;

	if (lost)
		*lost = !ok;
}

/*
 * The node refused the call as busy (its queue to Redis is full): it is
 * presented again while the caller still waits, after the wait every
 * gateway keeps (proto_busy_again_ms: 250 ms, then twice as long each
 * time), as kefu-sipgw does.
 */
static void call_busy(struct call *c)
{
	struct world *w = c->w;

	w->t->stats.busy++;
	if (c->state != CALL_WAITING || c->busy)
		return;
	if (w->nbusy == w->capbusy) {
		w->capbusy = w->capbusy ? w->capbusy * 2 : 256;
		w->busy = realloc(w->busy, w->capbusy * sizeof(*w->busy));
		if (!w->busy)
			abort();
	}
	c->busy = true;
	c->busy_wait_ms = proto_busy_again_ms(c->busy_wait_ms);
	c->busy_due_ms = loop_now_ms() + c->busy_wait_ms;
	w->busy[w->nbusy++] = c->idx;
}

static void gw_send_arrive(struct gw *g, struct call *c);

/* The calls refused as busy whose wait is over go again, those whose
 * caller still waits; the others keep waiting. (Replies come on later
 * turns of the loop, so nothing is added to the list meanwhile.) */
static void busy_resend(struct world *w, uint64_t now)
{
	size_t kept = 0;

	for (size_t i = 0; i < w->nbusy; i++) {
		struct call *c = w->calls[w->busy[i]];

		if (c->state == CALL_WAITING && c->busy_due_ms > now) {
			w->busy[kept++] = w->busy[i];
			continue;
		}
		c->busy = false;
		if (c->state == CALL_WAITING)
			gw_send_arrive(&w->gws[c->gw], c);
	}
	w->nbusy = kept;
}

static void on_arrive_reply(void *arg, int err, const Kefu__Envelope *e)
{
	struct call *c = arg;
	struct traffic *t = c->w->t;

	if (err) {
		c->arrive_lost = c->state == CALL_WAITING;
		return;
	}
	if (e->body_case == KEFU__ENVELOPE__BODY_IVR_PLAN) {
		if (e->ivr_plan->tier != c->tier)
			t->stats.tier_mismatches++;
		c->planned = true;
		if (c->end_on_plan) {
			c->end_on_plan = false;
			gw_send_end(&c->w->gws[c->gw], c);
		}
		return;
	}
	if (e->body_case == KEFU__ENVELOPE__BODY_ERROR && e->error->code == -EBUSY) {
		call_busy(c);
		return;
	}
	if (is_error(0, e)) {
		note_error(c->w, c->id, "CallArrived", e);
		if (c->state == CALL_WAITING) {
			c->state = CALL_DROPPED;
			call_stop_patience(c);
		}
	}
}

static void gw_send_arrive(struct gw *g, struct call *c)
{
	Kefu__Envelope env = KEFU__ENVELOPE__INIT;
	Kefu__CallArrived ca = KEFU__CALL_ARRIVED__INIT;

	ca.call_id = c->id;
	ca.ani = c->ani;
	ca.service = (char *)g->w->t->o.service;
	env.body_case = KEFU__ENVELOPE__BODY_CALL_ARRIVED;
	env.call_arrived = &ca;
	c->sent_us = loop_now_us();
	gw_send(g, &env, on_arrive_reply, c, &c->arrive_lost);
}

/* CallEnded has no reply when it is taken; a refusal comes back as an Error push. */
static void gw_send_end(struct gw *g, struct call *c)
{
	Kefu__Envelope env = KEFU__ENVELOPE__INIT;
	Kefu__CallEnded ce = KEFU__CALL_ENDED__INIT;

	ce.call_id = c->id;
	ce.reason = "caller";
	env.body_case = KEFU__ENVELOPE__BODY_CALL_ENDED;
	env.call_ended = &ce;
	c->end_pending = !g->rpc || !rpc_is_up(g->rpc) || rpc_send(g->rpc, &env) != 0;
}

static void on_wait_reply(void *arg, int err, const Kefu__Envelope *e)
{
	struct call *c = arg;

	c->checking = false;
	c->w->checks--;
	if (!err && e->body_case == KEFU__ENVELOPE__BODY_WAIT_REPLY && c->state == CALL_WAITING)
		c->state = CALL_QUEUED;
	else if (!err && is_error(0, e))
		note_error(c->w, c->id, "WaitRequest", e);
}

static void gw_send_wait(struct gw *g, struct call *c)
{
	Kefu__Envelope env = KEFU__ENVELOPE__INIT;
	Kefu__WaitRequest wr = KEFU__WAIT_REQUEST__INIT;
	bool lost;

	wr.call_id = c->id;
	env.body_case = KEFU__ENVELOPE__BODY_WAIT_REQUEST;
	env.wait_request = &wr;
	gw_send(g, &env, on_wait_reply, c, &lost);
	if (!lost) {
		c->checking = true;
		g->w->checks++;
	}
}

static void on_resume_reply(void *arg, int err, const Kefu__Envelope *e)
{
	struct gw *g = arg;

	if (!err && is_error(0, e))
		note_error(g->w, "gateway", "GatewayResume", e);
}

/* A new connection after a lost one: the live calls are managed here now. */
static void gw_resume(struct gw *g)
{
	struct world *w = g->w;
	Kefu__Envelope env = KEFU__ENVELOPE__INIT;
	Kefu__GatewayResume gr = KEFU__GATEWAY_RESUME__INIT;
	char **ids = calloc(w->ncalls ? w->ncalls : 1, sizeof(char *));

	if (!ids)
		abort();
	for (size_t i = 0; i < w->ncalls; i++) {
		struct call *c = w->calls[i];

		if (c->gw == g->idx && !c->arrive_lost &&
		    (c->state == CALL_WAITING || c->state == CALL_TALKING))
			ids[gr.n_call_ids++] = c->id;
	}
	gr.call_ids = ids;
	env.body_case = KEFU__ENVELOPE__BODY_GATEWAY_RESUME;
	env.gateway_resume = &gr;
	gw_send(g, &env, on_resume_reply, g, NULL);
	free(ids);
	for (size_t i = 0; i < w->ncalls; i++) {
		struct call *c = w->calls[i];

		if (c->gw != g->idx)
			continue;
		if (c->arrive_lost && c->state == CALL_WAITING)
			gw_send_arrive(g, c);
		if (c->end_pending)
			gw_send_end(g, c);
	}
}

static void gw_on_ivr(struct world *w, const Kefu__Envelope *e)
{
	struct call *c = call_find(w, e->ivr_plan->call_id);

	if (c && e->ivr_plan->tier != c->tier)
		w->t->stats.tier_mismatches++;
}

static void gw_on_connect(struct world *w, const Kefu__Envelope *e)
{
	struct call *c = call_find(w, e->connect_call->call_id);

	if (c)
		call_answered(c);
}

static void gw_on_ended(struct world *w, const Kefu__Envelope *e)
{
	struct call *c = call_find(w, e->call_ended->call_id);

	if (!c)
		return;
	if (c->state == CALL_TALKING)
		call_done(c);
	else if (c->state == CALL_WAITING)
		c->state = CALL_DROPPED;
	call_stop_patience(c);
}

static void gw_on_callback(struct world *w, const Kefu__Envelope *e)
{
	struct call *c = call_find(w, e->callback_offered->call_id);

	if (!c || c->state != CALL_WAITING)
		return;
	c->state = CALL_OVERFLOWED;
	c->ended_ms = loop_now_ms();
	w->t->stats.tier[c->tier].overflowed++;
	call_stop_patience(c);
}

static void gw_on_error(struct world *w, const Kefu__Envelope *e)
{
	note_error(w, "gateway", "message", e);
}

typedef void (*push_fn)(struct world *w, const Kefu__Envelope *e);

static const struct {
	Kefu__Envelope__BodyCase body;
	push_fn fn;
} gw_pushes[] = {
	{KEFU__ENVELOPE__BODY_IVR_PLAN, gw_on_ivr},
	{KEFU__ENVELOPE__BODY_CONNECT_CALL, gw_on_connect},
	{KEFU__ENVELOPE__BODY_CALL_ENDED, gw_on_ended},
	{KEFU__ENVELOPE__BODY_CALLBACK_OFFERED, gw_on_callback},
	{KEFU__ENVELOPE__BODY_ERROR, gw_on_error},
};

static void gw_on_push(void *arg, const Kefu__Envelope *e)
{
	struct gw *g = arg;

	for (size_t i = 0; i < sizeof(gw_pushes) / sizeof(gw_pushes[0]); i++)
		if (gw_pushes[i].body == e->body_case)
			gw_pushes[i].fn(g->w, e);
}

static void gw_on_state(void *arg, int err, const char *detail)
{
	struct gw *g = arg;

	(void)detail;
	if (err == 0) {
		if (g->was_up)
			gw_resume(g);
		g->was_up = true;
		return;
	}
	g->w->t->stats.reconnects++;
	g->node = (g->node + 1) % g->w->t->nnodes;
	loop_alarm_set(g->redial, REDIAL_MS);
}

static void gw_dial(void *arg)
{
	struct gw *g = arg;
	struct rpc_opts ro = {.loop = g->w->t->loop, .addr = g->w->t->nodes[g->node],
			      .tls = g->w->t->tls_gw, .state = gw_on_state, .unsolicited = gw_on_push,
			      .arg = g};

	rpc_free(g->rpc);
	if (rpc_new(&ro, &g->rpc) != 0) {
		g->node = (g->node + 1) % g->w->t->nnodes;
		loop_alarm_set(g->redial, REDIAL_MS);
	}
}

/* ---- agents ---- */

static void agent_schedule(struct agent *a, enum agent_act act, uint64_t ms)
{
	a->act = act;
	loop_alarm_set(a->alarm, ms);
}

static void agent_cancel(struct agent *a)
{
	a->act = ACT_NONE;
	loop_alarm_cancel(a->alarm);
}

static struct call *agent_call(struct agent *a)
{
	return a->call >= 0 && (size_t)a->call < a->w->ncalls ? a->w->calls[a->call] : NULL;
}

/* The agent is done with its call (revoked, refused, hung up). */
static void agent_drop_call(struct agent *a)
{
	struct call *c = agent_call(a);

	if (c)
		traffic_holds_release(&c->holds, a->idx);
	a->call = -1;
	a->alert = false;
}

static void agent_take_state(struct agent *a, const char *state, const char *call_id);

static bool agent_send(struct agent *a, Kefu__Envelope *e, rpc_reply_fn fn)
{
	return a->logged_in && a->rpc && rpc_is_up(a->rpc) &&
	       rpc_call(a->rpc, e, CALL_MS, fn, a) == 0;
}

/* A reply that carries the agent's state (AgentStatus) is taken as it is. */
static bool agent_reply_status(struct agent *a, const Kefu__Envelope *e)
{
	if (e->body_case != KEFU__ENVELOPE__BODY_AGENT_STATUS)
		return false;
	agent_take_state(a, e->agent_status->state, e->agent_status->call_id);
	return true;
}

static void on_ready_reply(void *arg, int err, const Kefu__Envelope *e)
{
	struct agent *a = arg;

	if (err || agent_reply_status(a, e))
		return;
	if (is_error(0, e)) {
		note_error(a->w, a->id, "SetAgentState ready", e);
		if (a->st == AG_NOT_READY || a->st == AG_DOWN)
			agent_schedule(a, ACT_READY, RETRY_READY_MS);
	} else if (a->st == AG_NOT_READY || a->st == AG_DOWN) {
		a->st = AG_READY;
	}
}

static void agent_send_ready(struct agent *a)
{
	Kefu__Envelope env = KEFU__ENVELOPE__INIT;
	Kefu__SetAgentState ss = KEFU__SET_AGENT_STATE__INIT;

	ss.state = "ready";
	env.body_case = KEFU__ENVELOPE__BODY_SET_AGENT_STATE;
	env.set_agent_state = &ss;
	a->ready_ms = loop_now_ms();
	a->ready_us = loop_now_us();
	agent_send(a, &env, on_ready_reply);
}

static void on_answer_reply(void *arg, int err, const Kefu__Envelope *e)
{
	struct agent *a = arg;
	struct call *c = agent_call(a);
	struct traffic *t = a->w->t;
	uint64_t now = loop_now_ms();

	if (err || !c || a->st != AG_RINGING)
		return;
	if (is_error(0, e)) {
		/* Too late (revoked, claimed by another, the caller gone): back to ready. */
		agent_drop_call(a);
		a->st = AG_NOT_READY;
		agent_schedule(a, ACT_READY, RETRY_READY_MS);
		return;
	}
	/* A won claim of an alert is an offer held from now on. */
	if (a->alert && traffic_holds_offer(&c->holds, a->idx, now, TRAFFIC_HOLD_FOREVER))
		t->stats.double_offers++;
	traffic_holds_keep(&c->holds, a->idx);
	a->alert = false;
	a->st = AG_TALK;
	call_answered(c);
	agent_schedule(a, ACT_HANGUP, c->handle_ms);
}

/* The hang-up is confirmed by AgentStatus wrap_up (a push or the reply). */
static void on_hangup_reply(void *arg, int err, const Kefu__Envelope *e)
{
	struct agent *a = arg;

	if (err || agent_reply_status(a, e))
		return;
	if (is_error(0, e))
		note_error(a->w, a->id, "HangupCall", e);
	if (a->st == AG_TALK)
		agent_take_state(a, "wrap_up", NULL);
}

static void on_wrapped_reply(void *arg, int err, const Kefu__Envelope *e)
{
	struct agent *a = arg;

	if (err || agent_reply_status(a, e))
		return;
	if (is_error(0, e) && a->st == AG_WRAP) {
		note_error(a->w, a->id, "WrapUpDone", e);
		a->st = AG_NOT_READY;
		agent_schedule(a, ACT_READY, RETRY_READY_MS);
	} else if (a->st == AG_WRAP) {
		a->st = AG_READY;
	}
}

/* The agent's alarm: do its next action. Without a session it waits for the resume. */
static void on_agent_alarm(void *arg)
{
	struct agent *a = arg;
	Kefu__Envelope env = KEFU__ENVELOPE__INIT;
	Kefu__AnswerCall ac = KEFU__ANSWER_CALL__INIT;
	Kefu__HangupCall hc = KEFU__HANGUP_CALL__INIT;
	Kefu__WrapUpDone wd = KEFU__WRAP_UP_DONE__INIT;
	struct call *c = agent_call(a);
	enum agent_act act = a->act;

	if (!a->logged_in || a->w->stage == STAGE_BYE) {
		a->deferred = a->w->stage != STAGE_BYE; /* a->act stays: the resume picks it up */
		return;
	}
	a->act = ACT_NONE;
	switch (act) {
	case ACT_NONE:
		break;
	case ACT_READY:
		if (a->st == AG_NOT_READY || a->st == AG_DOWN || a->st == AG_READY)
			agent_send_ready(a);
		break;
	case ACT_ANSWER:
		if (!c || a->st != AG_RINGING)
			break;
		ac.call_id = a->call_key;
		env.body_case = KEFU__ENVELOPE__BODY_ANSWER_CALL;
		env.answer_call = &ac;
		agent_send(a, &env, on_answer_reply);
		break;
	case ACT_HANGUP:
		if (!c || a->st != AG_TALK)
			break;
		hc.call_id = a->call_key;
		env.body_case = KEFU__ENVELOPE__BODY_HANGUP_CALL;
		env.hangup_call = &hc;
		agent_send(a, &env, on_hangup_reply);
		break;
	case ACT_WRAPPED:
		if (a->wrap_call >= 0 && (size_t)a->wrap_call < a->w->ncalls) {
			a->w->calls[a->wrap_call]->wrap_ms = loop_now_ms() - a->wrap_from;
			a->wrap_call = -1;
		}
		wd.has_ready = 1;
		wd.ready = 1;
		env.body_case = KEFU__ENVELOPE__BODY_WRAP_UP_DONE;
		env.wrap_up_done = &wd;
		a->ready_ms = loop_now_ms();
		a->ready_us = loop_now_us();
		a->ready_asked = agent_send(a, &env, on_wrapped_reply);
		break;
	}
}

/* An Offer (or an alert) reached the agent. */
static void agent_on_offer(struct agent *a, const Kefu__Envelope *e)
{
	const Kefu__Offer *o = e->offer;
	struct world *w = a->w;
	struct traffic *t = w->t;
	struct call *c = call_find(w, o->call_id);
	uint64_t now = loop_now_ms(), wall = wall_ms(), until, us = loop_now_us(), from;
	struct rng r;

	if (!c)
		return;
	t->stats.offers++;
	/* Counted while calls arrive at the rate asked; the settling at the end
	 * (a WaitRequest for every waiting call) is another load. A call that
	 * found this agent ready counts from its CallArrived; one that waited,
	 * from the agent's request to be ready. */
	if (!c->offered && w->stage == STAGE_RUN) {
		from = c->sent_us > a->ready_us ? c->sent_us : a->ready_us;
		traffic_stats_latency_us(&t->stats, us > from ? us - from : 0,
					 c->sent_us >= a->ready_us);
	}
	c->offered = true;
	until = !o->deadline_ms ? now + 30000 : o->deadline_ms > wall ? now + (o->deadline_ms - wall)
								   : now + 1;
	if (!o->alert && traffic_holds_offer(&c->holds, a->idx, now, until)) {
		t->stats.double_offers++;
		fprintf(stderr, "%skefu-sim traffic: double offer: %s to %s while another agent holds it\n",
			w->tty ? "\n" : "", c->id, a->id);
	}
	if (a->call >= 0 && a->call != c->idx)
		t->stats.busy_offers++;
	if (a->st == AG_TALK || (a->st == AG_WRAP && !a->ready_asked))
		return; /* busy: the node should not have offered; let it ring out */
	a->call = c->idx;
	snprintf(a->call_key, sizeof(a->call_key), "%s", o->call_id);
	a->alert = o->alert;
	a->ready_asked = false;
	a->st = AG_RINGING;
	rng_init(&r, t->o.seed, TAG_RING, (uint64_t)a->idx << 32 | a->draws++);
	if (rng_chance(&r, (unsigned)t->o.no_answer)) {
		t->stats.no_answers++;
		agent_cancel(a);
		return;
	}
	/* RING_MIN_MS..ring_ms; a --ring below it (benches) rings exactly that long. */
	agent_schedule(a, ACT_ANSWER,
		       (uint64_t)rng_range(&r, t->o.ring_ms < RING_MIN_MS ? (int64_t)t->o.ring_ms
									  : RING_MIN_MS,
					   (int64_t)t->o.ring_ms));
}

static void agent_on_revoked(struct agent *a, const Kefu__Envelope *e)
{
	struct call *c = call_find(a->w, e->offer_revoked->call_id);

	if (!c)
		return;
	traffic_holds_release(&c->holds, a->idx);
	if (a->call != c->idx || a->st != AG_RINGING)
		return;
	agent_drop_call(a);
	/* The node says where the agent stands next; if it does not, ask to be ready. */
	a->st = AG_NOT_READY;
	agent_schedule(a, ACT_READY, RETRY_READY_MS);
}

/* The routing's view of the agent: it wins over the agent's own idea. */
static void agent_take_state(struct agent *a, const char *state, const char *call_id)
{
	struct call *c = call_find(a->w, call_id);

	if (!state)
		return;
	if (strcmp(state, "ready") == 0) {
		if (a->st == AG_RINGING && a->act != ACT_ANSWER)
			agent_drop_call(a);
		if (a->st != AG_RINGING) {
			a->st = AG_READY;
			if (a->act == ACT_READY)
				agent_cancel(a);
		}
	} else if (strcmp(state, "not_ready") == 0 || strcmp(state, "logged_out") == 0 ||
		   !*state) {
		if (a->st == AG_TALK || a->st == AG_RINGING)
			agent_drop_call(a);
		a->st = AG_NOT_READY;
		if (a->w->stage <= STAGE_RUN && a->act != ACT_READY)
			agent_schedule(a, ACT_READY, RETRY_READY_MS);
	} else if (strcmp(state, "on_call") == 0) {
		if (c && a->st != AG_TALK) {
			a->call = c->idx;
			snprintf(a->call_key, sizeof(a->call_key), "%s", call_id);
			a->st = AG_TALK;
			traffic_holds_offer(&c->holds, a->idx, loop_now_ms(), TRAFFIC_HOLD_FOREVER);
			call_answered(c);
		}
		if (a->act != ACT_HANGUP && c) {
			uint64_t at = c->answered_ms + c->handle_ms, now = loop_now_ms();

			agent_schedule(a, ACT_HANGUP, at > now ? at - now : 0);
		}
	} else if (strcmp(state, "wrap_up") == 0) {
		if (agent_call(a) && agent_call(a)->state == CALL_TALKING)
			call_done(agent_call(a));
		if (a->st == AG_TALK && a->call >= 0) {
			a->wrap_call = a->call;
			a->wrap_from = loop_now_ms();
		}
		if (a->st == AG_TALK || a->st == AG_RINGING)
			agent_drop_call(a);
		a->st = AG_WRAP;
		a->ready_asked = false;
		if (a->act != ACT_WRAPPED)
			agent_schedule(a, ACT_WRAPPED, a->w->t->o.wrap_ms);
	} else if (strcmp(state, "reserved") == 0 && c && a->st != AG_RINGING) {
		/* An offer this agent has not seen (it was sent before a move): answer it. */
		a->call = c->idx;
		snprintf(a->call_key, sizeof(a->call_key), "%s", call_id);
		a->st = AG_RINGING;
		agent_schedule(a, ACT_ANSWER, RING_MIN_MS);
	}
}

static void agent_on_status(struct agent *a, const Kefu__Envelope *e)
{
	agent_take_state(a, e->agent_status->state, e->agent_status->call_id);
}

static void agent_on_error(struct agent *a, const Kefu__Envelope *e)
{
	note_error(a->w, a->id, "message", e);
}

typedef void (*agent_push_fn)(struct agent *a, const Kefu__Envelope *e);

static const struct {
	Kefu__Envelope__BodyCase body;
	agent_push_fn fn;
} agent_pushes[] = {
	{KEFU__ENVELOPE__BODY_OFFER, agent_on_offer},
	{KEFU__ENVELOPE__BODY_OFFER_REVOKED, agent_on_revoked},
	{KEFU__ENVELOPE__BODY_AGENT_STATUS, agent_on_status},
	{KEFU__ENVELOPE__BODY_ERROR, agent_on_error},
};

static void agent_on_push(void *arg, const Kefu__Envelope *e)
{
	struct agent *a = arg;

	for (size_t i = 0; i < sizeof(agent_pushes) / sizeof(agent_pushes[0]); i++)
		if (agent_pushes[i].body == e->body_case)
			agent_pushes[i].fn(a, e);
}

static void agent_login(struct agent *a);

static void on_login_reply(void *arg, int err, const Kefu__Envelope *e)
{
	struct agent *a = arg;
	const Kefu__LoginReply *lr;

	if (err)
		return; /* the connection failed: the redial logs in again */
	if (e->body_case != KEFU__ENVELOPE__BODY_LOGIN_REPLY) {
		note_error(a->w, a->id, a->token[0] ? "SessionResume" : "Login", e);
		if (a->token[0]) {
			a->token[0] = '\0'; /* the session is gone: log in afresh */
			agent_login(a);
		} else if (a->w->stage != STAGE_BYE) {
			loop_alarm_set(a->redial, LOGIN_RETRY_MS); /* e.g. still reserved: try later */
		}
		return;
	}
	lr = e->login_reply;
	snprintf(a->token, sizeof(a->token), "%s", lr->token ? lr->token : "");
	a->logged_in = true;
	if (a->w->stage == STAGE_BYE)
		return;
	if (a->deferred && a->act != ACT_NONE && a->act != ACT_READY)
		loop_alarm_set(a->alarm, 0); /* an action that waited for the session */
	a->deferred = false;
	if (!lr->state || strcmp(lr->state, "logged_out") == 0 || !*lr->state ||
	    strcmp(lr->state, "not_ready") == 0) {
		a->st = AG_NOT_READY;
		agent_schedule(a, ACT_READY, 0);
	} else {
		agent_take_state(a, lr->state, lr->call_id);
	}
}

/* Log in with the password, or resume the session when there is a token. */
static void agent_login(struct agent *a)
{
	Kefu__Envelope env = KEFU__ENVELOPE__INIT;
	Kefu__Login lg = KEFU__LOGIN__INIT;
	Kefu__SessionResume sr = KEFU__SESSION_RESUME__INIT;

	if (a->token[0]) {
		sr.token = a->token;
		env.body_case = KEFU__ENVELOPE__BODY_SESSION_RESUME;
		env.session_resume = &sr;
	} else {
		lg.agent_id = a->id;
		lg.password = TRAFFIC_AGENT_PASSWORD;
		env.body_case = KEFU__ENVELOPE__BODY_LOGIN;
		env.login = &lg;
	}
	if (a->rpc && rpc_is_up(a->rpc))
		rpc_call(a->rpc, &env, CALL_MS, on_login_reply, a);
}

static void agent_on_state(void *arg, int err, const char *detail)
{
	struct agent *a = arg;

	(void)detail;
	if (err == 0) {
		agent_login(a);
		return;
	}
	a->logged_in = false;
	if (a->w->stage == STAGE_BYE)
		return;
	a->w->t->stats.reconnects++;
	a->node = (a->node + 1) % a->w->t->nnodes;
	loop_alarm_set(a->redial, REDIAL_MS);
}

static void agent_dial(void *arg)
{
	struct agent *a = arg;
	struct rpc_opts ro = {.loop = a->w->t->loop, .addr = a->w->t->nodes[a->node],
			      .tls = a->w->t->tls_agent, .state = agent_on_state,
			      .unsolicited = agent_on_push, .arg = a};

	rpc_free(a->rpc);
	if (rpc_new(&ro, &a->rpc) != 0) {
		a->node = (a->node + 1) % a->w->t->nnodes;
		loop_alarm_set(a->redial, REDIAL_MS);
	}
}

/* ---- arrivals ---- */

static void call_new(struct world *w, unsigned tier)
{
	struct traffic *t = w->t;
	struct call *c;
	const char *ani = NULL;
	struct rng r;

	if (w->ncalls == CALLS_MAX)
		return;
	if (w->ncalls == w->capcalls) {
		w->capcalls = w->capcalls ? w->capcalls * 2 : 1024;
		w->calls = realloc(w->calls, w->capcalls * sizeof(*w->calls));
		if (!w->calls)
			abort();
	}
	c = calloc(1, sizeof(*c));
	if (!c)
		abort();
	rng_init(&r, t->o.seed, TAG_CALL, (uint64_t)tier << 40 | w->tier_n[tier]++);
	if (t->have_book && (tier > 0 || traffic_dist_unit(&r) >= w->unknown0))
		ani = traffic_book_pick(&t->book, tier, &r);
	if (ani) {
		snprintf(c->ani, sizeof(c->ani), "%s", ani);
	} else {
		/* A number no subscriber holds: 170 is a virtual operator's block. */
		snprintf(c->ani, sizeof(c->ani), "170%08llu",
			 (unsigned long long)rng_below(&r, 100000000));
		tier = 0;
	}
	c->w = w;
	c->idx = (uint32_t)w->ncalls;
	c->tier = (uint8_t)tier;
	c->state = CALL_WAITING;
	c->gw = (uint16_t)(c->idx % w->ngws);
	c->patience_ms = traffic_dist_exp_ms(&r, (double)t->o.patience_ms);
	c->handle_ms = traffic_dist_lognormal_ms(&r, (double)t->o.handle_ms, HANDLE_SIGMA);
	snprintf(c->id, sizeof(c->id), "%s-%u", w->run_id, c->idx);
	w->calls[w->ncalls++] = c;
	c->sent_ms = loop_now_ms();
	t->stats.tier[tier].offered++;
	c->patience = loop_alarm_new(t->loop, on_patience, c);
	loop_alarm_set(c->patience, c->patience_ms);
	gw_send_arrive(&w->gws[c->gw], c);
}

/*
 * The tier's Poisson process, scheduled on the monotonic clock: every call
 * due is made (at most ARRIVALS_PER_TURN, then the loop turns once), and
 * the alarm is set for the next one, at least 1 ms ahead. Gaps are exact,
 * so a rate far above 1,000 calls/s still comes out right; arrivals are at
 * most about 1 ms late.
 */
static void on_arrival(void *arg)
{
	struct arrival *ar = arg;
	double now = mono_ms(), wait;
	unsigned n = 0;

	if (ar->w->stage != STAGE_RUN)
		return;
	while (ar->next_ms <= now && n++ < ARRIVALS_PER_TURN) {
		call_new(ar->w, ar->tier);
		ar->next_ms += traffic_dist_exp(&ar->r, ar->gap_ms);
	}
	wait = ar->next_ms - now;
	loop_alarm_set(ar->alarm, n > ARRIVALS_PER_TURN ? 0 : wait < 1 ? 1 : (uint64_t)ceil(wait));
}

/* Split the rate over the tiers: unknown numbers go to tier 0. */
static void arrivals_start(struct world *w)
{
	struct traffic *t = w->t;
	double share[TRAFFIC_TIERS] = {0}, sum = 0, unknown = t->have_book ? t->o.unknown / 1000.0 : 1;

	for (unsigned i = 0; i < TRAFFIC_TIERS; i++)
		sum += t->o.mix[i];
	for (unsigned i = 0; i < TRAFFIC_TIERS; i++)
		share[i] = (1 - unknown) * (sum > 0 ? t->o.mix[i] / sum : i == 0);
	share[0] += unknown;
	w->unknown0 = share[0] > 0 ? unknown / share[0] : 1;
	for (unsigned i = 0; i < TRAFFIC_TIERS; i++) {
		struct arrival *ar = &w->arr[i];

		ar->w = w;
		ar->tier = i;
		rng_init(&ar->r, t->o.seed, TAG_ARRIVAL, i);
		if (share[i] * t->o.rate <= 0)
			continue;
		ar->gap_ms = 1000.0 / (share[i] * t->o.rate);
		ar->alarm = loop_alarm_new(t->loop, on_arrival, ar);
		ar->next_ms = mono_ms() + traffic_dist_exp(&ar->r, ar->gap_ms);
		on_arrival(ar);
	}
}

/* ---- stages and the status line ---- */

static void status_line(struct world *w, bool force)
{
	struct traffic *t = w->t;
	uint64_t now = loop_now_ms(), st[7] = {0}, answered = 0, abandoned = 0;
	unsigned ag[AG_STATES] = {0};

	if (!force && now - w->last_line_ms < (w->tty ? 1000u : 5000u))
		return;
	w->last_line_ms = now;
	for (size_t i = 0; i < w->ncalls; i++)
		st[w->calls[i]->state]++;
	for (size_t i = 0; i < w->nagents; i++)
		ag[w->agents[i].logged_in ? w->agents[i].st : AG_DOWN]++;
	for (unsigned i = 0; i < TRAFFIC_TIERS; i++) {
		answered += t->stats.tier[i].answered;
		abandoned += t->stats.tier[i].abandoned;
	}
	fprintf(stderr,
		"%st=%llus calls %zu waiting %llu talking %llu answered %llu abandoned %llu | "
		"agents ready %u ringing %u talk %u wrap %u not_ready %u down %u | offers %llu "
		"double %llu errors %llu%s",
		w->tty ? "\r" : "",
		(unsigned long long)(w->t0_ms && now > w->t0_ms ? (now - w->t0_ms) / 1000 : 0),
		w->ncalls, (unsigned long long)st[CALL_WAITING], (unsigned long long)st[CALL_TALKING],
		(unsigned long long)answered, (unsigned long long)abandoned, ag[AG_READY],
		ag[AG_RINGING], ag[AG_TALK], ag[AG_WRAP], ag[AG_NOT_READY], ag[AG_DOWN],
		(unsigned long long)t->stats.offers, (unsigned long long)t->stats.double_offers,
		(unsigned long long)t->stats.errors, w->tty ? "  " : "\n");
	fflush(stderr);
}

static void stage_set(struct world *w, enum stage s)
{
	w->stage = s;
	w->stage_ms = loop_now_ms();
}

/* The end: ask the cluster about every call still waiting. */
static void settle_begin(struct world *w)
{
	stage_set(w, STAGE_SETTLE);
	for (unsigned i = 0; i < TRAFFIC_TIERS; i++)
		if (w->arr[i].alarm)
			loop_alarm_cancel(w->arr[i].alarm);
	for (size_t i = 0; i < w->ncalls; i++) {
		struct call *c = w->calls[i];

		if (c->state != CALL_WAITING)
			continue;
		call_stop_patience(c);
		if (c->busy) {
			c->state = CALL_DROPPED; /* refused as busy, never taken */
			continue;
		}
		/* Ringing at an agent: queued for this count, no need to ask. */
		if (traffic_holds_count(&c->holds, loop_now_ms()) > 0)
			c->state = CALL_QUEUED;
		else
			gw_send_wait(&w->gws[c->gw], c);
	}
}

/*
 * The agent leaves whatever it is doing, so that the next run finds it
 * logged out (skills can only change then): a ringing offer is rejected, a
 * call hung up and its wrap-up ended not ready, then the logout. The node
 * takes one connection's messages in order.
 */
static void agent_bye(struct agent *a)
{
	Kefu__Envelope env = KEFU__ENVELOPE__INIT;
	Kefu__RejectCall rc = KEFU__REJECT_CALL__INIT;
	Kefu__HangupCall hc = KEFU__HANGUP_CALL__INIT;
	Kefu__WrapUpDone wd = KEFU__WRAP_UP_DONE__INIT;
	Kefu__SetAgentState ss = KEFU__SET_AGENT_STATE__INIT;

	agent_cancel(a);
	if (!a->logged_in || !a->rpc || !rpc_is_up(a->rpc))
		return;
	if (a->st == AG_RINGING && a->call_key[0]) {
		rc.call_id = a->call_key;
		env.body_case = KEFU__ENVELOPE__BODY_REJECT_CALL;
		env.reject_call = &rc;
		rpc_send(a->rpc, &env);
	}
	if (a->st == AG_TALK && a->call_key[0]) {
		hc.call_id = a->call_key;
		env.body_case = KEFU__ENVELOPE__BODY_HANGUP_CALL;
		env.hangup_call = &hc;
		rpc_send(a->rpc, &env);
	}
	if (a->st == AG_TALK || a->st == AG_WRAP) {
		wd.has_ready = 1;
		wd.ready = 0;
		env.body_case = KEFU__ENVELOPE__BODY_WRAP_UP_DONE;
		env.wrap_up_done = &wd;
		rpc_send(a->rpc, &env);
	}
	ss.state = "logged_out";
	env.body_case = KEFU__ENVELOPE__BODY_SET_AGENT_STATE;
	env.set_agent_state = &ss;
	rpc_send(a->rpc, &env);
}

static const char *const outcome_names[] = {
	[CALL_WAITING] = "waiting", [CALL_TALKING] = "answered", [CALL_DONE] = "answered",
	[CALL_ABANDONED] = "abandoned", [CALL_OVERFLOWED] = "overflowed",
	[CALL_DROPPED] = "dropped", [CALL_QUEUED] = "queued",
};

/* --calls FILE: one line per call, as the simulator saw it (docs/ops.md
 * compares kefuctl report with it). wait_ms: from CallArrived to the
 * answer, the hang-up, the callback offer, or the end of the run. */
static void calls_write(struct world *w)
{
	FILE *f = fopen(w->t->o.calls_path, "w");

	if (!f) {
		fprintf(stderr, "kefu-sim traffic: cannot write %s\n", w->t->o.calls_path);
		return;
	}
	for (size_t i = 0; i < w->ncalls; i++) {
		const struct call *c = w->calls[i];
		bool talked = c->state == CALL_TALKING || c->state == CALL_DONE;
		uint64_t end = talked ? c->answered_ms : c->ended_ms;

		fprintf(f, "{\"call\":\"%s\",\"tier\":%u,\"outcome\":\"%s\",\"wait_ms\":%llu,"
			"\"talk_ms\":%llu,\"wrap_ms\":%llu}\n",
			c->id, c->tier, outcome_names[c->state],
			(unsigned long long)(end > c->sent_ms ? end - c->sent_ms : 0),
			(unsigned long long)(c->state == CALL_DONE && c->ended_ms > c->answered_ms
						     ? c->ended_ms - c->answered_ms : 0),
			(unsigned long long)c->wrap_ms);
	}
	if (fclose(f))
		fprintf(stderr, "kefu-sim traffic: cannot write %s\n", w->t->o.calls_path);
}

/* Count the outcome of every call, then hang up and log out. */
static void bye_begin(struct world *w)
{
	struct traffic_stats *s = &w->t->stats;

	stage_set(w, STAGE_BYE);
	for (size_t i = 0; i < w->ncalls; i++) {
		struct call *c = w->calls[i];

		if (c->state == CALL_QUEUED || c->state == CALL_WAITING)
			c->ended_ms = loop_now_ms();
		if (c->state == CALL_QUEUED)
			s->tier[c->tier].queued++;
		else if (c->state == CALL_WAITING || c->state == CALL_DROPPED)
			s->lost_calls++;
		if (c->state == CALL_QUEUED || c->state == CALL_WAITING)
			gw_send_end(&w->gws[c->gw], c);
	}
	for (size_t i = 0; i < w->nagents; i++)
		agent_bye(&w->agents[i]);
}

/* A node closes an agent session that sends nothing for its idle_timeout (2 min by default). */
#define AGENT_PING_MS 30000

static void ping_answered(void *arg, int err, const Kefu__Envelope *reply)
{
	(void)arg;
	(void)err;
	(void)reply;
}

/* Every AGENT_PING_MS, each logged-in agent sends a Ping, as a desktop does. */
static void agents_ping(struct world *w, uint64_t now)
{
	Kefu__Envelope env = KEFU__ENVELOPE__INIT;
	Kefu__Ping ping = KEFU__PING__INIT;

	if (now - w->ping_ms < AGENT_PING_MS)
		return;
	w->ping_ms = now;
	env.body_case = KEFU__ENVELOPE__BODY_PING;
	env.ping = &ping;
	for (size_t i = 0; i < w->nagents; i++) {
		struct agent *a = &w->agents[i];

		if (a->logged_in && a->rpc && rpc_is_up(a->rpc))
			rpc_call(a->rpc, &env, 10000, ping_answered, a);
	}
}

static void on_tick(void *arg)
{
	struct world *w = arg;
	uint64_t now = loop_now_ms(), in = now - w->stage_ms;
	size_t ready = 0;

	if (!w->ping_ms)
		w->ping_ms = now;
	agents_ping(w, now);
	switch (w->stage) {
	case STAGE_LOGIN:
		for (size_t i = 0; i < w->nagents; i++)
			ready += w->agents[i].logged_in && w->agents[i].st == AG_READY;
		if (ready == w->nagents || in >= LOGIN_WAIT_MS) {
			if (ready < w->nagents)
				fprintf(stderr, "kefu-sim traffic: %zu of %zu agents ready; starting anyway\n",
					ready, w->nagents);
			stage_set(w, STAGE_RUN);
			w->t0_ms = now;
			arrivals_start(w);
		}
		break;
	case STAGE_RUN:
		busy_resend(w, now);
		if (in >= w->t->o.duration_s * 1000)
			settle_begin(w);
		break;
	case STAGE_SETTLE:
		if (w->checks == 0 || in >= SETTLE_MS)
			bye_begin(w);
		break;
	case STAGE_BYE:
		if (in >= BYE_MS)
			loop_stop(w->t->loop);
		return;
	}
	status_line(w, false);
}

/* ---- setting up and tearing down ---- */

static void world_free(struct world *w)
{
	for (size_t i = 0; i < w->nagents; i++) {
		rpc_free(w->agents[i].rpc);
		loop_alarm_free(w->agents[i].alarm);
		loop_alarm_free(w->agents[i].redial);
	}
	for (size_t i = 0; i < w->ngws; i++) {
		rpc_free(w->gws[i].rpc);
		loop_alarm_free(w->gws[i].redial);
	}
	for (unsigned i = 0; i < TRAFFIC_TIERS; i++)
		loop_alarm_free(w->arr[i].alarm);
	loop_timer_free(w->tick);
	for (size_t i = 0; i < w->ncalls; i++)
		call_stop_patience(w->calls[i]);
	loop_run(w->t->loop); /* let closed connections go */
	for (size_t i = 0; i < w->ncalls; i++)
		free(w->calls[i]);
	free(w->calls);
	free(w->busy);
	free(w->agents);
	free(w->gws);
}

int traffic_run(struct traffic *t)
{
	struct world w = {.t = t};
	int r;

	w.tty = isatty(STDERR_FILENO);
	/* Call ids must not meet those of an earlier run in the same Redis. */
	snprintf(w.run_id, sizeof(w.run_id), "sim%llu-%llx", (unsigned long long)t->o.seed,
		 (unsigned long long)wall_ms());
	w.nagents = t->o.agents;
	w.ngws = t->o.gateways ? t->o.gateways : t->nnodes;
	w.agents = calloc(w.nagents, sizeof(*w.agents));
	w.gws = calloc(w.ngws, sizeof(*w.gws));
	if (!w.agents || !w.gws)
		abort();
	for (size_t i = 0; i < w.ngws; i++) {
		struct gw *g = &w.gws[i];

		*g = (struct gw){.w = &w, .idx = (unsigned)i, .node = i % t->nnodes};
		g->redial = loop_alarm_new(t->loop, gw_dial, g);
		gw_dial(g);
	}
	for (size_t i = 0; i < w.nagents; i++) {
		struct agent *a = &w.agents[i];

		*a = (struct agent){.w = &w, .idx = (uint32_t)i, .node = i % t->nnodes, .call = -1, .wrap_call = -1};
		traffic_agent_id(t, i, a->id, sizeof(a->id));
		a->alarm = loop_alarm_new(t->loop, on_agent_alarm, a);
		a->redial = loop_alarm_new(t->loop, agent_dial, a);
		agent_dial(a);
	}
	stage_set(&w, STAGE_LOGIN);
	w.tick = loop_timer_new(t->loop, 50, on_tick, &w);
	r = loop_run(t->loop);
	if (t->o.calls_path)
		calls_write(&w);
	status_line(&w, true);
	if (w.tty)
		fputc('\n', stderr);
	world_free(&w);
	return r ? -1 : 0;
}
