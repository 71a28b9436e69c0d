/*
 * RoutingStats: the real-time counters (rt:*) per tier and per skill and
 * the length of each queue, read from Redis in one burst of commands and
 * answered together. See routing_int.h.
 */
#include "node/routing/routing_int.h"

#include <stdio.h>
#include <stdlib.h>

#define NCOUNTERS (NTIERS + NSKILLS)

struct stats_req {
	uint64_t conn, request_id;
	unsigned pending;
	Kefu__TierCounters tc[NCOUNTERS];
	Kefu__TierCounters *tcp[NCOUNTERS];
	char key[NCOUNTERS][48];
};

static void stats_send(struct routing *r, struct stats_req *q)
{
	Kefu__Envelope e = KEFU__ENVELOPE__INIT;
	Kefu__RoutingStatsReply rep = KEFU__ROUTING_STATS_REPLY__INIT;

	rep.n_counters = NCOUNTERS;
	rep.counters = q->tcp;
	rep.has_in_flight = 1;
	rep.in_flight = r->pending;
	e.body_case = KEFU__ENVELOPE__BODY_ROUTING_STATS_REPLY;
	e.routing_stats_reply = &rep;
	routing__send(r, q->conn, &e, q->request_id);
	free(q);
}

/* A RoutingStats whose command will not be answered (the routing is going). */
void routing__stats_drop(struct stats_req *q)
{
	if (--q->pending == 0)
		free(q);
}

/* One HMGET of counters (n < NCOUNTERS) or one ZCARD of a queue (n >= NCOUNTERS). */
static void on_counters(struct routing *r, struct op *o, int err, const struct redis_reply *rep)
{
	struct stats_req *q = o->stats;

	if (!err && o->n < NCOUNTERS && rep->type == REDIS_TYPE_ARRAY && rep->n == 5) {
		Kefu__TierCounters *t = &q->tc[o->n];

		t->offered = routing__parse_u64(routing__elem_str(rep, 0));
		t->answered = routing__parse_u64(routing__elem_str(rep, 1));
		t->answered_in_sl = routing__parse_u64(routing__elem_str(rep, 2));
		t->abandoned = routing__parse_u64(routing__elem_str(rep, 3));
		t->wait_ms = routing__parse_u64(routing__elem_str(rep, 4));
		t->has_offered = t->has_answered = t->has_answered_in_sl = t->has_abandoned =
			t->has_wait_ms = 1;
	} else if (!err && o->n >= NCOUNTERS && rep->type == REDIS_TYPE_INTEGER) {
		q->tc[o->n - NSKILLS].has_waiting = 1;
		q->tc[o->n - NSKILLS].waiting = (uint64_t)rep->integer;
	}
	o->stats = NULL;
	if (--q->pending == 0)
		stats_send(r, q);
}

void routing__on_routing_stats(void *state, struct msg_peer *p, const Kefu__Envelope *e)
{
	struct routing *r = state;
	struct stats_req *q;

	if (!routing__conn_get(r, p, e->request_id))
		return;
	q = calloc(1, sizeof(*q));
	if (!q)
		abort();
	q->conn = msg_peer_id(p);
	q->request_id = e->request_id;
	q->pending = 1;
	for (size_t i = 0; i < NCOUNTERS + NSKILLS; i++) {
		char k[HOT_KEY_MAX], lvl[NUM_MAX];
		const char *hm[] = {"HMGET", k, "offered", "answered", "answered_in_sl", "abandoned",
				    "wait_ms"};
		const char *zc[] = {"ZCARD", k};
		struct op *o = routing__op_new(r, on_counters, 0, 0);

		o->stats = q;
		o->n = i;
		if (i < NTIERS) {
			kefu__tier_counters__init(&q->tc[i]);
			routing__num(lvl, r->set.tiers[i].level);
			snprintf(q->key[i], sizeof(q->key[i]), "tier:%s", lvl);
			hot_key(r->hot, k, sizeof(k), "rt:", lvl);
		} else if (i < NCOUNTERS) {
			kefu__tier_counters__init(&q->tc[i]);
			snprintf(q->key[i], sizeof(q->key[i]), "skill:%s", routing_skill_names[i - NTIERS]);
			hot_key(r->hot, k, sizeof(k), "rt:skill:", routing_skill_names[i - NTIERS]);
		} else {
			hot_key(r->hot, k, sizeof(k), "q:", routing_skill_names[i - NCOUNTERS]);
		}
		if (i < NCOUNTERS) {
			q->tc[i].key = q->key[i];
			q->tcp[i] = &q->tc[i];
		}
		q->pending++;
		routing__command(r, i < NCOUNTERS ? 7 : 2, i < NCOUNTERS ? hm : zc, o);
	}
	if (--q->pending == 0)
		stats_send(r, q);
}
