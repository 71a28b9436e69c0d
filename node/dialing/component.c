/*
 * The outbound dialing component (node/component.h): its rows of the
 * node's message table. See dialing.h and dialing_int.h.
 */
#include "node/dialing/dialing.h"

#include "node/dialing/dialing_int.h"

#include "lib/calendar.h"
#include "lib/file.h"
#include "lib/log.h"
#include "node/config_table.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

void dialing__release(struct dialing *d)
{
	free(d->holidays);
	free(d->workdays);
	free(d->agents);
	free(d);
}

void dialing__unref(struct dialing *d)
{
	d->inflight--;
	if (d->dead && d->inflight == 0)
		dialing__release(d);
}

/* The dates of the wo_holidays file (checked at start like every setting)
 * as the rules take them: closed days and make-up working days, YYYYMMDD. */
static int holidays_load(struct dialing *d, const char *path)
{
	struct calendar *cal;
	char *text, why[CALENDAR_WHY_MAX];
	size_t len;
	int err;

	if (!path[0])
		return 0;
	if ((err = file_read_all(path, CALENDAR_FILE_MAX, &text, &len)))
		return err;
	cal = malloc(sizeof(*cal));
	if (!cal)
		abort();
	calendar_always(cal);
	err = calendar_holidays(cal, text, len, why, sizeof(why));
	free(text);
	if (!err) {
		d->holidays = calloc(cal->ndates + 1, sizeof(*d->holidays));
		d->workdays = calloc(cal->ndates + 1, sizeof(*d->workdays));
		if (!d->holidays || !d->workdays)
			abort();
		/* Sorted by day, so each list is sorted too. */
		for (size_t i = 0; i < cal->ndates; i++) {
			uint32_t ymd = calendar_ymd(cal->dates[i].day);

			if (cal->dates[i].workday)
				d->workdays[d->nworkdays++] = ymd;
			else
				d->holidays[d->nholidays++] = ymd;
		}
	} else {
		log_err(LOG_CLUSTER, "dialing wo_holidays refused path=%s why=\"%s\"", path, why);
	}
	free(cal);
	return err;
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
	d->loop = ctx->loop;
	d->hot = ctx->hot;
	d->hub = ctx->hub;
	d->etcd = ctx->election ? election_etcd(ctx->election) : NULL;
	d->agents = calloc(DIAL_AGENTS_LOCAL_MAX, sizeof(*d->agents));
	if (!d->agents)
		abort();
	snprintf(d->self, sizeof(d->self), "%s", ctx->self);
	snprintf(d->prefix, sizeof(d->prefix), "/kefu/%s/dial/",
		 config_table_text(ctx->cfg, "cluster_name"));
	snprintf(d->clock_file, sizeof(d->clock_file), "%s",
		 config_table_text(ctx->cfg, "dial_clock_file"));
	if (holidays_load(d, config_table_text(ctx->cfg, "wo_holidays")) != 0) {
		dialing__release(d);
		return -EINVAL;
	}
	*state = d;
	return 0;
}

static void dialing_stop(void *state)
{
	struct dialing *d = state;

	if (!d)
		return;
	d->dead = true;
	dialing__pace_stop(d);
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
	{KEFU__ENVELOPE__BODY_DIAL_GATEWAY, "dial_gateway", dialing__on_dial_gateway, MSG_R_GW,
	 false, MSG_SMALL},
	{KEFU__ENVELOPE__BODY_DIAL_RESULT, "dial_result", dialing__on_dial_result,
	 MSG_R_GW | MSG_R_NODE, false, MSG_SMALL},
	{KEFU__ENVELOPE__BODY_DIAL_AGENT, "dial_agent", dialing__on_dial_agent,
	 MSG_R_AGENT | MSG_R_SUPERVISOR, true, MSG_SMALL},
	{KEFU__ENVELOPE__BODY_DIAL_DISPOSITION, "dial_disposition", dialing__on_dial_disposition,
	 ANYONE | MSG_R_NODE, false, MSG_SMALL},
	{KEFU__ENVELOPE__BODY_DIAL_PREVIEW, "dial_preview", dialing__on_dial_preview,
	 MSG_R_AGENT | MSG_R_SUPERVISOR, true, MSG_SMALL},
	{KEFU__ENVELOPE__BODY_DIAL_PREVIEW_ACTION, "dial_preview_action",
	 dialing__on_dial_preview_action, MSG_R_AGENT | MSG_R_SUPERVISOR, true, MSG_SMALL},
	{KEFU__ENVELOPE__BODY_DIAL_PLACE, "dial_place", dialing__on_dial_place, MSG_R_NODE, false,
	 MSG_SMALL},
};

static const struct component_timer dialing_timers[] = {
	{200, dialing__tick},
};

static void dialing_closed(void *state, struct msg_peer *p)
{
	if (state)
		dialing__agents_closed(state, p);
}

const struct component dialing_component = {
	.name = "dialing",
	.init = dialing_init,
	.stop = dialing_stop,
	.msgs = dialing_rows,
	.nmsgs = sizeof(dialing_rows) / sizeof(dialing_rows[0]),
	.timers = dialing_timers,
	.ntimers = 1,
	.on_connection_closed = dialing_closed,
};
