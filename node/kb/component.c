/*
 * The knowledge-base component (node/component.h): its rows of the node's
 * message table. See kb.h and kb_int.h.
 */
#include "node/kb/kb.h"

#include "lib/loop.h"
#include "node/kb/kb_int.h"
#include "node/metrics.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

uint64_t kb__now_ms(void)
{
	return loop_wall_ms();
}

void kb__release(struct kb *k)
{
	free(k);
}

/* The bounds of the search latency histogram: 64 µs to about 0.5 s. */
static const uint64_t search_bounds_us[] = {64,   128,  256,   512,   1024,  2048,
					    4096, 8192, 16384, 32768, 65536, 131072,
					    262144, 524288};

void kb__metrics(void *arg, struct metrics_out *o)
{
	struct kb *k = arg;
	const struct {
		const char *result;
		uint64_t n;
	} rows[] = {{"hits", k->counts.hits}, {"none", k->counts.empty},
		    {"refused", k->counts.refused}};

	metrics_family(o, "kefu_knowledge_searches_total", "counter",
		       "Knowledge-base searches answered by this node, by result");
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		struct metrics_label l = {"result", rows[i].result};

		metrics_sample_u64(o, "kefu_knowledge_searches_total", &l, 1, rows[i].n);
	}
	metrics_family(o, "kefu_knowledge_search_seconds", "histogram",
		       "Time to answer a knowledge-base search on this node");
	metrics_histogram_us(o, "kefu_knowledge_search_seconds", NULL, 0, &k->counts.latency_us,
			     search_bounds_us, sizeof(search_bounds_us) / sizeof(search_bounds_us[0]));
}

/* Articles run on a node of a cluster (ctx->leader); alone, their messages
 * are "not configured on this node". */
static int kb_init(const struct node_ctx *ctx, void **state)
{
	struct kb *k;

	*state = NULL;
	if (!ctx->leader)
		return 0;
	if (!ctx->sto)
		return -EINVAL;
	k = calloc(1, sizeof(*k));
	if (!k)
		abort();
	k->loop = ctx->loop;
	k->sto = ctx->sto;
	k->leader = ctx->leader;
	snprintf(k->self, sizeof(k->self), "%s", ctx->self);
	if ((k->metrics = ctx->metrics))
		metrics_register(k->metrics, kb__metrics, k);
	*state = k;
	return 0;
}

static void kb_stop(void *state)
{
	struct kb *k = state;

	if (!k)
		return;
	if (k->metrics)
		metrics_unregister(k->metrics, kb__metrics, k);
	k->dead = true;
	if (k->inflight == 0)
		kb__release(k);
}

#define ANYONE (MSG_R_AGENT | MSG_R_SUPERVISOR | MSG_R_ADMIN)

static const struct msg_row kb_rows[] = {
	/* Changes: a follower forwards them under its node certificate. */
	{KEFU__ENVELOPE__BODY_KB_WRITE, "kb_write", kb__on_write, ANYONE | MSG_R_NODE, false, 0},
	{KEFU__ENVELOPE__BODY_KB_ACTION, "kb_action", kb__on_action, ANYONE | MSG_R_NODE, false,
	 MSG_SMALL},
	{KEFU__ENVELOPE__BODY_KB_VIEW, "kb_view", kb__on_view, ANYONE | MSG_R_NODE, false,
	 MSG_SMALL},
	{KEFU__ENVELOPE__BODY_KB_FEEDBACK, "kb_feedback", kb__on_feedback, ANYONE | MSG_R_NODE,
	 false, MSG_SMALL},
	/* Reads from this node's replica. */
	{KEFU__ENVELOPE__BODY_KB_SEARCH, "kb_search", kb__on_search, ANYONE, false, MSG_SMALL},
	{KEFU__ENVELOPE__BODY_KB_SHOW, "kb_show", kb__on_show, ANYONE, false, MSG_SMALL},
	{KEFU__ENVELOPE__BODY_KB_HOT, "kb_hot", kb__on_hot, ANYONE, false, MSG_SMALL},
	{KEFU__ENVELOPE__BODY_KB_QUEUE, "kb_queue", kb__on_queue, ANYONE, false, MSG_SMALL},
};

const struct component kb_component = {
	.name = "kb",
	.init = kb_init,
	.stop = kb_stop,
	.msgs = kb_rows,
	.nmsgs = sizeof(kb_rows) / sizeof(kb_rows[0]),
};
