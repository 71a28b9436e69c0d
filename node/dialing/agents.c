/*
 * Agents on campaigns and this node's outbound gateways (docs/dialing.md,
 * "Gateways and agents").
 *
 * An agent's state on a campaign lives in the hot state, shared by every
 * node, in two hashes per campaign:
 *
 *   kefu:<cluster>:dial:state:<campaign>   agent -> "ready SINCE -",
 *                                          "not_ready SINCE -", "talk SINCE ATTEMPT"
 *   kefu:<cluster>:dial:seen:<campaign>    agent -> ms its node last said it is there
 *
 * The agent's node writes ready and not_ready (DialAgent) and says every
 * second that the agent is still there; the node that takes a person's
 * answer makes the longest ready agent "talk" (dial_claim); the leader makes
 * it ready again after its disposition. An agent whose node has not spoken
 * for DIAL_AGENT_STALE_MS is dropped by the next read (its node died), and
 * one whose connection closes is removed at once. Each step is one Lua
 * script (EVAL), so it is atomic.
 */
#include "node/dialing/dialing_int.h"

#include "lib/err.h"
#include "lib/loop.h"
#include "node/hot.h"
#include "proto/frame.h"
#include "storage/dial.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* KEYS: state, seen. ARGV: now_ms, stale_ms. Fresh agents as agent, value
 * pairs; stale ones removed. */
static const char READ_LUA[] =
	"local out = {}\n"
	"local st = redis.call('HGETALL', KEYS[1])\n"
	"local now, stale = tonumber(ARGV[1]), tonumber(ARGV[2])\n"
	"for i = 1, #st, 2 do\n"
	"  local seen = tonumber(redis.call('HGET', KEYS[2], st[i]) or '0')\n"
	"  if seen + stale < now then\n"
	"    redis.call('HDEL', KEYS[1], st[i])\n"
	"    redis.call('HDEL', KEYS[2], st[i])\n"
	"  else\n"
	"    out[#out + 1] = st[i]\n"
	"    out[#out + 1] = st[i + 1]\n"
	"  end\n"
	"end\n"
	"return out\n";

/* KEYS: state, seen. ARGV: now_ms, stale_ms, attempt. The fresh ready
 * agent ready longest, now talking on attempt; nil when none. */
static const char CLAIM_LUA[] =
	"local best, bs\n"
	"local st = redis.call('HGETALL', KEYS[1])\n"
	"local now, stale = tonumber(ARGV[1]), tonumber(ARGV[2])\n"
	"for i = 1, #st, 2 do\n"
	"  local s = string.match(st[i + 1], '^ready (%d+)')\n"
	"  if s then\n"
	"    local seen = tonumber(redis.call('HGET', KEYS[2], st[i]) or '0')\n"
	"    if seen + stale >= now and (not bs or tonumber(s) < bs) then\n"
	"      best, bs = st[i], tonumber(s)\n"
	"    end\n"
	"  end\n"
	"end\n"
	"if not best then return false end\n"
	"redis.call('HSET', KEYS[1], best, 'talk ' .. ARGV[1] .. ' ' .. ARGV[3])\n"
	"return best\n";

/* KEYS: state, seen. ARGV: agent, value ("" removes), now_ms. */
static const char SET_LUA[] =
	"if ARGV[2] == '' then\n"
	"  redis.call('HDEL', KEYS[1], ARGV[1])\n"
	"  redis.call('HDEL', KEYS[2], ARGV[1])\n"
	"else\n"
	"  redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])\n"
	"  redis.call('HSET', KEYS[2], ARGV[1], ARGV[3])\n"
	"end\n"
	"return 1\n";

/* KEYS: state, seen. ARGV: agent, now_ms. The agent is still there: its
 * state, or nil when it has none any more. */
static const char SEEN_LUA[] =
	"local v = redis.call('HGET', KEYS[1], ARGV[1])\n"
	"if not v then return false end\n"
	"redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])\n"
	"return v\n";

int dialing__agents_key(struct dialing *d, char *buf, size_t cap, const char *which,
			const char *campaign)
{
	return hot_key(d->hot, buf, cap, "dial:", which, campaign);
}

int dialing__hget(struct dialing *d, const char *key, const char *field, redis_reply_fn fn,
		  void *arg)
{
	const char *argv[] = {"HGET", key, field};

	return hot_command(d->hot, 3, argv, NULL, fn, arg);
}

/* EVAL script over the campaign's two hashes with args. */
static int eval(struct dialing *d, const char *script, const char *campaign, int nargs,
		const char *const *args, redis_reply_fn fn, void *arg)
{
	char state[HOT_KEY_MAX], seen[HOT_KEY_MAX];
	const char *argv[8] = {"EVAL", script, "2", state, seen};
	int err;

	if (!d->hot)
		return KF_ESTATE;
	if ((err = dialing__agents_key(d, state, sizeof(state), "state:", campaign)) ||
	    (err = dialing__agents_key(d, seen, sizeof(seen), "seen:", campaign)))
		return err;
	for (int i = 0; i < nargs && i < 3; i++)
		argv[5 + i] = args[i];
	return hot_command(d->hot, 5 + nargs, argv, NULL, fn, arg);
}

static void ignore(void *arg, int err, const struct redis_reply *r)
{
	(void)arg;
	(void)err;
	(void)r;
}

int dialing__agents_read(struct dialing *d, const char *campaign, redis_reply_fn fn, void *arg)
{
	char now[24], stale[24];
	const char *args[] = {now, stale};

	snprintf(now, sizeof(now), "%llu", (unsigned long long)loop_wall_ms());
	snprintf(stale, sizeof(stale), "%u", DIAL_AGENT_STALE_MS);
	return eval(d, READ_LUA, campaign, 2, args, fn, arg);
}

int dialing__agent_claim(struct dialing *d, const char *campaign, const char *attempt,
			 redis_reply_fn fn, void *arg)
{
	char now[24], stale[24];
	const char *args[] = {now, stale, attempt};

	snprintf(now, sizeof(now), "%llu", (unsigned long long)loop_wall_ms());
	snprintf(stale, sizeof(stale), "%u", DIAL_AGENT_STALE_MS);
	return eval(d, CLAIM_LUA, campaign, 3, args, fn, arg);
}

int dialing__agent_set(struct dialing *d, const char *campaign, const char *agent,
		       const char *state, redis_reply_fn fn, void *arg)
{
	char now[24], val[48] = "";
	const char *args[] = {agent, val, now};
	uint64_t ms = loop_wall_ms();

	snprintf(now, sizeof(now), "%llu", (unsigned long long)ms);
	if (state)
		snprintf(val, sizeof(val), "%s %llu -", state, (unsigned long long)ms);
	return eval(d, SET_LUA, campaign, 3, args, fn ? fn : ignore, arg);
}

int dialing__agent_talk(struct dialing *d, const char *campaign, const char *agent,
			const char *attempt)
{
	char now[24], val[96];
	const char *args[] = {agent, val, now};
	uint64_t ms = loop_wall_ms();

	snprintf(now, sizeof(now), "%llu", (unsigned long long)ms);
	snprintf(val, sizeof(val), "talk %llu %s", (unsigned long long)ms, attempt);
	return eval(d, SET_LUA, campaign, 3, args, ignore, NULL);
}

/* ---- gateways ---- */

void dialing__on_dial_gateway(void *state, struct msg_peer *p, const Kefu__Envelope *e)
{
	struct dialing *d = state;
	uint64_t id = msg_peer_id(p);
	unsigned i;

	for (i = 0; i < d->ngw && d->gw[i].peer != id; i++)
		;
	if (i == d->ngw) {
		if (d->ngw == DIAL_GW_MAX) {
			msg_error(p, e->request_id, KF_ETOOBIG, "this node has all the outbound "
				  "gateways it takes");
			return;
		}
		d->ngw++;
	}
	d->gw[i].peer = id;
	d->gw[i].lines = e->dial_gateway->lines;
	msg_ack(p, e->request_id, true, "outbound");
}

struct msg_peer *dialing__gateway_pick(struct dialing *d)
{
	for (unsigned n = 0; n < d->ngw; n++) {
		unsigned i = d->next_gw++ % d->ngw;
		struct msg_peer *p = msg_peer_find(d->hub, d->gw[i].peer);

		if (p)
			return p;
	}
	return NULL;
}

/* ---- agents ---- */

static struct dial_local_agent *local_find(struct dialing *d, uint64_t peer,
					   const char *campaign)
{
	for (unsigned i = 0; i < d->nagents; i++)
		if (d->agents[i].peer == peer && strcmp(d->agents[i].campaign, campaign) == 0)
			return &d->agents[i];
	return NULL;
}

static void local_drop(struct dialing *d, struct dial_local_agent *a)
{
	*a = d->agents[--d->nagents];
}

/* An agent no longer on its campaign through this node: out of the hot
 * state's hashes (nothing more is paced for it) and out of the list. */
static void agent_gone(struct dialing *d, struct dial_local_agent *a)
{
	(void)dialing__agent_set(d, a->campaign, a->agent, NULL, NULL, NULL);
	local_drop(d, a);
}

struct set_rq {
	struct msg_ref ref;
};

static void agent_set_done(void *arg, int err, const struct redis_reply *r)
{
	struct set_rq *s = arg;

	if (err || !r || r->type == REDIS_TYPE_ERROR)
		msg_ref_error(&s->ref, err ? err : -EIO, "the hot state is not reachable");
	else
		msg_ref_ack(&s->ref, true, "ok");
	free(s);
}

void dialing__on_dial_agent(void *state, struct msg_peer *p, const Kefu__Envelope *e)
{
	struct dialing *d = state;
	const Kefu__DialAgent *rq = e->dial_agent;
	const char *agent = msg_peer_session(p);
	struct dial_local_agent *a;
	Kefu__Campaign *c = NULL;
	struct store_txn *t;
	struct set_rq *s;
	bool leave;
	int err;

	if (!rq->campaign || !rq->state ||
	    (strcmp(rq->state, "ready") && strcmp(rq->state, "not_ready") &&
	     strcmp(rq->state, "leave"))) {
		msg_error(p, e->request_id, KF_EPARSE, "an agent is ready, not_ready or leaves a "
			  "campaign");
		return;
	}
	if (!d->hot) {
		msg_error(p, e->request_id, KF_ESTATE, "outbound calls need the hot state (Redis)");
		return;
	}
	if ((err = store_read_begin(d->sto->store, &t)) == 0) {
		err = dial_campaign_get(t, rq->campaign, &c);
		store_abort(t);
	}
	if (err) {
		msg_error(p, e->request_id, err, err == KF_ENOTFOUND ? "no such campaign"
								      : kf_strerror(err));
		return;
	}
	kefu__campaign__free_unpacked(c, NULL);
	leave = strcmp(rq->state, "leave") == 0;
	a = local_find(d, msg_peer_id(p), rq->campaign);
	if (!a && !leave) {
		if (d->nagents == DIAL_AGENTS_LOCAL_MAX) {
			msg_error(p, e->request_id, KF_ETOOBIG, "this node has all the campaign "
				  "agents it takes");
			return;
		}
		a = &d->agents[d->nagents++];
		memset(a, 0, sizeof(*a));
		a->peer = msg_peer_id(p);
		snprintf(a->agent, sizeof(a->agent), "%s", agent);
		snprintf(a->campaign, sizeof(a->campaign), "%s", rq->campaign);
	}
	if (a && leave)
		local_drop(d, a);
	s = calloc(1, sizeof(*s));
	if (!s)
		abort();
	s->ref = msg_ref_of(p, e->request_id);
	if ((err = dialing__agent_set(d, rq->campaign, agent, leave ? NULL : rq->state,
				      agent_set_done, s))) {
		free(s);
		msg_error(p, e->request_id, err, "the hot state is not reachable");
	}
}

void dialing__agents_closed(struct dialing *d, struct msg_peer *p)
{
	uint64_t id = msg_peer_id(p);

	for (unsigned i = 0; i < d->ngw; i++)
		if (d->gw[i].peer == id) {
			d->gw[i] = d->gw[--d->ngw];
			break;
		}
	for (unsigned i = d->nagents; i-- > 0;)
		if (d->agents[i].peer == id)
			agent_gone(d, &d->agents[i]);
}

void dialing__agents_check(struct dialing *d)
{
	/* An agent whose session ended on a connection that stays (a logout
	 * through routing, a session moved to another connection) leaves its
	 * campaigns at once, as if its connection had closed. */
	for (unsigned i = d->nagents; i-- > 0;) {
		struct msg_peer *p = msg_peer_find(d->hub, d->agents[i].peer);

		if (!p || strcmp(msg_peer_session(p), d->agents[i].agent) != 0)
			agent_gone(d, &d->agents[i]);
	}
}

/* ---- every second: the agents of this node are still there ---- */

struct seen {
	struct dialing *d;
	uint64_t peer;
	char campaign[40];
};

/* The agent's state came back: a call given to it is told to it once
 * (DialConnect, with the number), as its screen pop. */
static void seen_done(void *arg, int err, const struct redis_reply *r)
{
	struct seen *s = arg;
	struct dialing *d = s->d;
	struct dial_local_agent *a = d->dead ? NULL : local_find(d, s->peer, s->campaign);
	struct msg_peer *p = a ? msg_peer_find(d->hub, a->peer) : NULL;
	const char *sp;

	if (p && !err && r && r->type == REDIS_TYPE_STRING && strncmp(r->str, "talk ", 5) == 0 &&
	    (sp = strchr(r->str + 5, ' ')) && sp[1] && strcmp(sp + 1, a->notified) != 0) {
		Kefu__Envelope out = KEFU__ENVELOPE__INIT;
		Kefu__DialConnect dc = KEFU__DIAL_CONNECT__INIT;
		Kefu__DialAttempt *at = NULL;
		struct dial_pop pop;
		struct store_txn *t;

		memset(&pop, 0, sizeof(pop));
		snprintf(a->notified, sizeof(a->notified), "%s", sp + 1);
		if (store_read_begin(d->sto->store, &t) == 0) {
			if (dial_attempt_get(t, a->campaign, a->notified, &at) == 0 && at->msisdn)
				dialing__pop(t, at->msisdn, &pop);
			store_abort(t);
		}
		dc.attempt_id = a->notified;
		dc.agent = a->agent;
		dc.msisdn = at ? at->msisdn : NULL;
		dc.campaign = a->campaign;
		dc.user = pop.user;
		dc.customer = pop.customer;
		out.body_case = KEFU__ENVELOPE__BODY_DIAL_CONNECT;
		out.dial_connect = &dc;
		(void)msg_send(p, &out, 0);
		custdb_profile_release(&pop.prof);
		if (at)
			kefu__dial_attempt__free_unpacked(at, NULL);
	}
	dialing__unref(d);
	free(s);
}

void dialing__agents_second(struct dialing *d)
{
	char now[24];

	snprintf(now, sizeof(now), "%llu", (unsigned long long)loop_wall_ms());
	for (unsigned i = 0; d->hot && i < d->nagents; i++) {
		struct seen *s = calloc(1, sizeof(*s));
		const char *args[] = {d->agents[i].agent, now};

		if (!s)
			abort();
		s->d = d;
		s->peer = d->agents[i].peer;
		snprintf(s->campaign, sizeof(s->campaign), "%s", d->agents[i].campaign);
		d->inflight++;
		if (eval(d, SEEN_LUA, d->agents[i].campaign, 2, args, seen_done, s)) {
			d->inflight--;
			free(s);
		}
	}
}
