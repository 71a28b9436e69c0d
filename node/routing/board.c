/*
 * The live board (node/board.h): while a reader wants it, the tick reads
 * it from Redis in one step (board) over the skill queues and the agent
 * of every account in the local replica, and hands the reading to
 * board_set. One reading at a time. See routing_int.h.
 */
#include "node/routing/routing_int.h"

#include "lib/err.h"
#include "lib/log.h"
#include "storage/store.h"

#include <stdlib.h>
#include <string.h>

/* The agent keys of the board step, every account's, in id order. */
struct board_keys {
	struct routing *r;
	char **k;
	size_t n, cap;
};

static void keys_push(struct board_keys *b, const char *kind, const char *id)
{
	char k[HOT_KEY_MAX];

	if (hot_key(b->r->hot, k, sizeof(k), kind, id))
		return;
	if (b->n == b->cap) {
		b->cap = b->cap ? b->cap * 2 : 64;
		b->k = realloc(b->k, b->cap * sizeof(*b->k));
		if (!b->k)
			abort();
	}
	b->k[b->n] = strdup(k);
	if (!b->k[b->n])
		abort();
	b->n++;
}

static void keys_free(struct board_keys *b)
{
	for (size_t i = 0; i < b->n; i++)
		free(b->k[i]);
	free(b->k);
}

/* An account id (STORE_AGENT key) the board can hold. */
static int account_visit(void *arg, const struct store_val *key, const struct store_val *val)
{
	char id[BOARD_AGENT_ID_MAX];

	(void)val;
	if (key->len == 0 || key->len >= sizeof(id))
		return 0;
	memcpy(id, key->data, key->len);
	id[key->len] = '\0';
	keys_push(arg, "agent:", id);
	return 0;
}

static const struct redis_reply *part(const struct redis_reply *rep, size_t i)
{
	const struct redis_reply *p = rep->elem[i];

	return p->type == REDIS_TYPE_ARRAY ? p : NULL;
}

/* Triples {name, waiting, oldest_ms} of q into the queue with that name
 * among into[0..*n), added (up to BOARD_QUEUES_MAX) when it is not there. */
static void queues_fill(struct board_queue *into, size_t *n, const struct redis_reply *q)
{
	for (size_t i = 0; q && i + 2 < q->n; i += 3) {
		const char *name = routing__elem_str(q, i);
		size_t at;

		for (at = 0; at < *n && strcmp(into[at].name, name) != 0; at++)
			;
		if (at == *n) {
			if (*n == BOARD_QUEUES_MAX)
				continue;
			routing__copy(into[at].name, sizeof(into[at].name), name);
			(*n)++;
		}
		into[at].waiting = (uint32_t)routing__parse_u64(routing__elem_str(q, i + 1));
		into[at].oldest_ms = routing__parse_u64(routing__elem_str(q, i + 2));
	}
}

static void agents_fill(struct board *next, const struct redis_reply *a)
{
	size_t n = a ? a->n / 6 : 0;

	next->agents = calloc(n ? n : 1, sizeof(*next->agents));
	if (!next->agents)
		abort();
	for (size_t i = 0; i < n; i++) {
		struct board_agent *ba = &next->agents[i];

		routing__copy(ba->id, sizeof(ba->id), routing__elem_str(a, 6 * i));
		routing__copy(ba->state, sizeof(ba->state), routing__elem_str(a, 6 * i + 1));
		routing__copy(ba->reason, sizeof(ba->reason), routing__elem_str(a, 6 * i + 2));
		ba->state_ms = routing__parse_u64(routing__elem_str(a, 6 * i + 3));
		ba->calls = routing__parse_u64(routing__elem_str(a, 6 * i + 4));
		routing__copy(ba->skills, sizeof(ba->skills), routing__elem_str(a, 6 * i + 5));
	}
	next->nagents = n;
}

static void on_board(struct routing *r, struct op *o, int err, const struct redis_reply *rep)
{
	struct board *next;
	char why[WHY_MAX];

	(void)o;
	r->board_reading = false;
	if (routing__step_failed(err, rep, why, sizeof(why))) {
		static struct log_ratelimit rl = LOG_RATELIMIT_INIT(60000, 1);

		log_ratelimited(&rl, LOG_ROUTING, LOG_LVL_WARN, "live board not read why=\"%s\"",
				why);
		return;
	}
	if (rep->type != REDIS_TYPE_ARRAY || rep->n != 3 || !part(rep, 0) || !part(rep, 1) ||
	    !part(rep, 2))
		return;
	next = calloc(1, sizeof(*next));
	if (!next)
		abort();
	/* Every tier, waiting or not; then what the step found. */
	for (size_t i = 0; i < NTIERS && i < BOARD_QUEUES_MAX; i++) {
		routing__num(next->tiers[i].name, r->set.tiers[i].level);
		next->ntiers++;
	}
	queues_fill(next->skills, &next->nskills, part(rep, 0));
	queues_fill(next->tiers, &next->ntiers, part(rep, 1));
	agents_fill(next, part(rep, 2));
	board_set(r->board, next, loop_wall_ms());
	free(next->agents);
	free(next);
}

void routing__board_tick(struct routing *r, uint64_t now)
{
	struct board_keys b = {.r = r};
	struct store_txn *t;
	char nq[NUM_MAX];
	const char *args[] = {nq};
	struct op *o;
	int err;

	if (!r->board || r->board_reading || now >= r->board->wanted_until_ms)
		return;
	for (size_t i = 0; i < NSKILLS; i++)
		keys_push(&b, "q:", routing_skill_names[i]);
	routing__num(nq, b.n);
	if ((err = store_read_begin(r->sto->store, &t)) == 0) {
		err = store_scan(t, STORE_AGENT, NULL, 0, NULL, 0, false, account_visit, &b);
		store_abort(t);
	}
	if (err) {
		log_warn(LOG_ROUTING, "live board: accounts not read error=\"%s\"", kf_strerror(err));
		keys_free(&b);
		return;
	}
	o = routing__op_new(r, on_board, 0, 0);
	r->board_reading = true;
	routing__step_n(r, ROUTING_SCRIPT_BOARD, (int)b.n, (const char *const *)b.k, args, 1, o);
	keys_free(&b);
}
