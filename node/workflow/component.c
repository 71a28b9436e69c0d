/*
 * The work-order component (node/component.h): its settings, its rows of
 * the node's message table, its tick. See workflow.h and workflow_int.h.
 */
#include "node/workflow/workflow.h"

#include "lib/err.h"
#include "lib/log.h"
#include "lib/loop.h"
#include "node/leader.h"
#include "node/workflow/workflow_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

uint64_t workflow__now_ms(void)
{
	return loop_wall_ms();
}

void workflow__release(struct workflow *w)
{
	wo_settings_free(&w->set);
	free(w);
}

/*
 * Work orders run on a node of a cluster (ctx->leader); alone, their
 * messages are "not configured on this node". The timezone is the
 * process's, set from wo_timezone by node/main.c before threads start.
 */
static int workflow_init(const struct node_ctx *ctx, void **state)
{
	struct workflow *w;
	char why[WO_WHY_MAX];
	int err;

	*state = NULL;
	if (!ctx->leader)
		return 0;
	if (!ctx->sto || !ctx->hub)
		return -EINVAL;
	w = calloc(1, sizeof(*w));
	if (!w)
		abort();
	if ((err = wo_settings_from(ctx->cfg, &w->set, why, sizeof(why)))) {
		log_err(LOG_WORKFLOW, "work orders not started: %s", why);
		free(w);
		return err;
	}
	w->loop = ctx->loop;
	w->sto = ctx->sto;
	w->leader = ctx->leader;
	w->hub = ctx->hub;
	snprintf(w->self, sizeof(w->self), "%s", ctx->self);
	w->notice_from_ms = workflow__now_ms();
	*state = w;
	return 0;
}

static void workflow_stop(void *state)
{
	struct workflow *w = state;

	if (!w)
		return;
	w->dead = true;
	if (w->inflight == 0)
		workflow__release(w);
}

static void workflow_tick(void *state)
{
	struct workflow *w = state;

	workflow__escalate_tick(w);
	workflow__notices_tick(w);
}

#define ANYONE (MSG_R_AGENT | MSG_R_SUPERVISOR | MSG_R_ADMIN)

static const struct msg_row workflow_rows[] = {
	/* Changes: a follower forwards them under its node certificate. */
	{KEFU__ENVELOPE__BODY_ORDER_CREATE, "order_create", workflow__on_create,
	 ANYONE | MSG_R_NODE, false, 256u * 1024},
	{KEFU__ENVELOPE__BODY_ORDER_TRANSITION, "order_transition", workflow__on_transition,
	 ANYONE | MSG_R_NODE, false, MSG_MEDIUM},
	{KEFU__ENVELOPE__BODY_ORDER_UPDATE, "order_update", workflow__on_update,
	 ANYONE | MSG_R_NODE, false, 256u * 1024},
	{KEFU__ENVELOPE__BODY_ORDER_SHOW, "order_show", workflow__on_show, ANYONE, false,
	 MSG_SMALL},
	{KEFU__ENVELOPE__BODY_ORDER_LIST, "order_list", workflow__on_list, ANYONE, false,
	 MSG_SMALL},
	{KEFU__ENVELOPE__BODY_ORDER_CATEGORIES, "order_categories", workflow__on_categories,
	 ANYONE, false, MSG_SMALL},
	{KEFU__ENVELOPE__BODY_ORDER_CHECK, "order_check", workflow__on_check,
	 MSG_R_ADMIN | MSG_R_SUPERVISOR, false, MSG_SMALL},
};

static const struct component_timer workflow_timers[] = {
	{WORKFLOW_TICK_MS, workflow_tick},
};

const struct component workflow_component = {
	.name = "workflow",
	.init = workflow_init,
	.stop = workflow_stop,
	.msgs = workflow_rows,
	.nmsgs = sizeof(workflow_rows) / sizeof(workflow_rows[0]),
	.timers = workflow_timers,
	.ntimers = sizeof(workflow_timers) / sizeof(workflow_timers[0]),
};
