/*
 * This node's routing figures for /metrics (node/metrics.h): the deciding
 * steps by what they decided, the Offers sent to the agents connected
 * here, and the routing latency: from a call's CallArrived (arrive) or an
 * agent's request to be ready (route_agent, wrap_up_done) on this node to
 * the reply of the step that offered the call or alerted agents, the
 * moment the offer is on its way to the agent's node. See routing_int.h.
 */
#include "node/routing/routing_int.h"

#include <string.h>

/* Each decider's label and where in its reply the decision stands
 * (node/routing/README.md "Steps"). */
static const struct {
	const char *name;
	size_t at;
} deciders[DECIDE_COUNT] = {
	[DECIDE_ARRIVE] = {"arrive", 2},             /* {state, score, route_call's reply} */
	[DECIDE_ROUTE_CALL] = {"route_call", 0},
	[DECIDE_ROUTE_AGENT] = {"route_agent", 0},
	[DECIDE_WRAP_UP_DONE] = {"wrap_up_done", 1}, /* {state, route_agent's reply} */
	[DECIDE_CLAIM] = {"claim", 0},
};

static const char *const decisions[DECISION_COUNT] = {
	[DECISION_OFFER] = "offer",
	[DECISION_ALERT] = "alert",
	[DECISION_NONE] = "none",
};

/* The bounds of the routing latency histogram: 64 µs to about 4 s. */
static const uint64_t latency_bounds_us[] = {
	64,    128,	256,	512,	1024,	 2048,	  4096,	   8192,    16384,
	32768, 65536, 131072, 262144, 524288, 1048576, 2097152, 4194304,
};

void routing__decided(struct routing *r, const struct op *o, int err,
		      const struct redis_reply *rep)
{
	enum routing_decision d = DECISION_NONE;
	const char *what;
	uint64_t now;

	if (o->decide <= DECIDE_NONE || o->decide >= DECIDE_COUNT || err ||
	    rep->type == REDIS_TYPE_ERROR)
		return; /* not decided: refused, or Redis not reached */
	what = routing__elem_str(rep, deciders[o->decide].at);
	if (strcmp(what, "offer") == 0)
		d = DECISION_OFFER;
	else if (strcmp(what, "alert") == 0)
		d = DECISION_ALERT;
	r->counts.decided[o->decide][d]++;
	if (d != DECISION_NONE && o->t0_us) {
		now = loop_now_us();
		hist_add(&r->counts.latency_us, now > o->t0_us ? now - o->t0_us : 0);
	}
}

void routing__offer_sent(struct routing *r, bool alert)
{
	if (alert)
		r->counts.alerts_sent++;
	else
		r->counts.offers_sent++;
}

void routing__metrics(void *arg, struct metrics_out *o)
{
	struct routing *r = arg;
	struct metrics_label l[2] = {{"step", NULL}, {"decision", NULL}};

	metrics_family(o, "kefu_routing_decisions_total", "counter",
		       "Routing steps this node ran that decided about an offer, by step and "
		       "by what they decided (offer: a call reserved for an agent; alert: agents "
		       "rung; none: nobody to offer).");
	for (size_t s = DECIDE_NONE + 1; s < DECIDE_COUNT; s++)
		for (size_t d = 0; d < DECISION_COUNT; d++) {
			l[0].value = deciders[s].name;
			l[1].value = decisions[d];
			metrics_sample_u64(o, "kefu_routing_decisions_total", l, 2,
					   r->counts.decided[s][d]);
		}
	metrics_family(o, "kefu_offers_total", "counter",
		       "Offers this node sent to the agents connected to it, by kind (offer: "
		       "the call is reserved for the agent; alert: it rings several agents).");
	l[0].name = "kind";
	l[0].value = "offer";
	metrics_sample_u64(o, "kefu_offers_total", l, 1, r->counts.offers_sent);
	l[0].value = "alert";
	metrics_sample_u64(o, "kefu_offers_total", l, 1, r->counts.alerts_sent);
	metrics_family(o, "kefu_routing_latency_seconds", "histogram",
		       "From a call's arrival (CallArrived) or an agent's request to be ready on "
		       "this node to the routing step's reply that offered the call or alerted "
		       "agents.");
	metrics_histogram_us(o, "kefu_routing_latency_seconds", NULL, 0, &r->counts.latency_us,
			     latency_bounds_us,
			     sizeof(latency_bounds_us) / sizeof(latency_bounds_us[0]));
}
