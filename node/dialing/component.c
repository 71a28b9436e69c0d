/*
 * The outbound dialing component (node/component.h): its rows of the
 * node's message table. See dialing.h and dialing_int.h.
 */
#include "node/dialing/dialing.h"

#include "node/dialing/dialing_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

void dialing__release(struct dialing *d)
{
	free(d);
}

/* Dialing runs on a node of a cluster (ctx->leader); alone, its messages
 * are "not configured on this node". */
static int dialing_init(const struct node_ctx *ctx, void **state)
{
	struct dialing *d;

	*state = NULL;
	if (!ctx->leader)
		return 0;
	if (!ctx->sto)
		return -EINVAL;
	d = calloc(1, sizeof(*d));
	if (!d)
		abort();
	d->sto = ctx->sto;
	d->leader = ctx->leader;
	snprintf(d->self, sizeof(d->self), "%s", ctx->self);
	*state = d;
	return 0;
}

static void dialing_stop(void *state)
{
	struct dialing *d = state;

	if (!d)
		return;
	d->dead = true;
	if (d->inflight == 0)
		dialing__release(d);
}

#define ANYONE (MSG_R_AGENT | MSG_R_SUPERVISOR | MSG_R_ADMIN)

static const struct msg_row dialing_rows[] = {
	{KEFU__ENVELOPE__BODY_DNC_CHANGE, "dnc_change", dialing__on_dnc_change,
	 ANYONE | MSG_R_NODE, false, MSG_SMALL},
	{KEFU__ENVELOPE__BODY_DNC_LIST, "dnc_list", dialing__on_dnc_list,
	 MSG_R_SUPERVISOR | MSG_R_ADMIN, false, MSG_SMALL},
	{KEFU__ENVELOPE__BODY_CAMPAIGN_CREATE, "campaign_create", dialing__on_campaign_create,
	 MSG_R_SUPERVISOR | MSG_R_ADMIN | MSG_R_NODE, false, 0},
	{KEFU__ENVELOPE__BODY_CAMPAIGN_ACTION, "campaign_action", dialing__on_campaign_action,
	 MSG_R_SUPERVISOR | MSG_R_ADMIN | MSG_R_NODE, false, MSG_SMALL},
	{KEFU__ENVELOPE__BODY_CAMPAIGN_SHOW, "campaign_show", dialing__on_campaign_show,
	 MSG_R_SUPERVISOR | MSG_R_ADMIN, false, MSG_SMALL},
	{KEFU__ENVELOPE__BODY_CAMPAIGN_LIST, "campaign_list", dialing__on_campaign_list,
	 MSG_R_SUPERVISOR | MSG_R_ADMIN, false, MSG_SMALL},
};

const struct component dialing_component = {
	.name = "dialing",
	.init = dialing_init,
	.stop = dialing_stop,
	.msgs = dialing_rows,
	.nmsgs = sizeof(dialing_rows) / sizeof(dialing_rows[0]),
};
