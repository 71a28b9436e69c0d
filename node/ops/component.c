/*
 * The operations component (node/component.h): its settings, its rows of
 * the node's message table, its tick. See ops.h and ops_int.h.
 */
#include "node/ops/ops.h"

#include "cluster/election.h"
#include "lib/err.h"
#include "lib/log.h"
#include "lib/loop.h"
#include "node/board.h"
#include "node/hot.h"
#include "node/leader.h"
#include "node/ops/ops_int.h"
#include "ops/scripts.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

uint64_t ops__now_ms(void)
{
	return loop_wall_ms();
}

uint64_t ops__epoch(struct ops *o)
{
	uint64_t e = 0;

	if (o->election)
		(void)election_leader(o->election, &e);
	return e;
}

uint64_t ops__iv_start(const struct ops *o, uint64_t t)
{
	return o->set.interval_ms ? t - t % o->set.interval_ms : t;
}

uint64_t ops__day_start(uint64_t t)
{
	time_t s = (time_t)(t / 1000);
	struct tm tm;

	if (!localtime_r(&s, &tm))
		return t - t % 86400000u;
	tm.tm_hour = tm.tm_min = tm.tm_sec = 0;
	tm.tm_isdst = -1;
	s = mktime(&tm);
	return s < 0 ? t - t % 86400000u : (uint64_t)s * 1000;
}

uint64_t ops__first_open(struct ops *o, uint64_t floor)
{
	uint64_t last, first = floor;
	struct store_txn *t;

	if (store_read_begin(o->sto->store, &t) == 0) {
		if (opsstat_last_closed(t, &last) == 0 && last + o->set.interval_ms > first)
			first = last + o->set.interval_ms;
		store_abort(t);
	}
	return first;
}

uint64_t ops__catch_up_floor(const struct ops *o, uint64_t now)
{
	return ops__iv_start(o, now > OPS_CATCH_UP_MS ? now - OPS_CATCH_UP_MS : 0);
}

size_t ops__open_starts(struct ops *o, uint64_t from, uint64_t to, uint64_t *out, size_t max)
{
	uint64_t now = ops__now_ms(), first, s;
	size_t n = 0;

	if (!o->set.interval_ms || from >= to)
		return 0;
	first = ops__first_open(o, ops__catch_up_floor(o, now));
	/* An interval counts when it starts in the range: from, rounded up. */
	if (first < from)
		first = ops__iv_start(o, from + o->set.interval_ms - 1);
	/* The most recent ones matter most: keep the last max. */
	for (s = first; s < to && s <= now; s += o->set.interval_ms) {
		if (n == max) {
			memmove(out, out + 1, (max - 1) * sizeof(*out));
			n--;
		}
		out[n++] = s;
	}
	return n;
}

void ops__release(struct ops *o)
{
	ops__rows_free(&o->day);
	free(o->last);
	free(o);
}

bool ops__put(struct ops *o)
{
	o->inflight--;
	if (o->dead && o->inflight == 0) {
		ops__release(o);
		return true;
	}
	return o->dead;
}

/*
 * Statistics run on a node of a cluster with Redis (ctx->hot and
 * ctx->leader), as routing does; elsewhere the messages are "not
 * configured on this node".
 */
static int ops_init(const struct node_ctx *ctx, void **state)
{
	struct ops *o;
	char why[256];
	int err;

	*state = NULL;
	if (!ctx->hot || !ctx->leader)
		return 0;
	if (!ctx->sto || !ctx->hub || !ctx->board)
		return -EINVAL;
	o = calloc(1, sizeof(*o));
	if (!o)
		abort();
	if ((err = ops_settings_from(ctx->cfg, &o->set, why, sizeof(why)))) {
		log_err(LOG_OPS, "operations statistics not started: %s", why);
		free(o);
		return err;
	}
	if ((err = hot_define(ctx->hot, ops_scripts, OPS_SCRIPT_COUNT, &o->script0))) {
		free(o);
		return err;
	}
	o->loop = ctx->loop;
	snprintf(o->self, sizeof(o->self), "%s", ctx->self);
	o->sto = ctx->sto;
	o->election = ctx->election;
	o->leader = ctx->leader;
	o->hot = ctx->hot;
	o->board = ctx->board;
	o->hub = ctx->hub;
	*state = o;
	return 0;
}

static void ops_stop(void *state)
{
	struct ops *o = state;

	if (!o)
		return;
	o->dead = true;
	if (o->inflight == 0)
		ops__release(o);
}

/* The cluster configuration changed: the tiers' targets are taken at once;
 * the interval length only with a restart (intervals already cut keep
 * theirs). */
static void ops_reconfigure(void *state, const struct config *cfg)
{
	struct ops *o = state;
	struct ops_settings s;
	char why[256];

	if (ops_settings_from(cfg, &s, why, sizeof(why))) {
		log_err(LOG_OPS, "new statistics settings refused, keeping the ones before: %s", why);
		return;
	}
	s.interval_ms = o->set.interval_ms;
	o->set = s;
}

static void ops_tick(void *state)
{
	struct ops *o = state;

	ops__close_tick(o);
	ops__wallboard_tick(o);
}

#define WATCHERS (MSG_R_SUPERVISOR | MSG_R_ADMIN)

static const struct msg_row ops_rows[] = {
	{KEFU__ENVELOPE__BODY_REPORT, "report", ops__on_report, WATCHERS, false, MSG_SMALL},
	{KEFU__ENVELOPE__BODY_WALLBOARD, "wallboard", ops__on_wallboard, WATCHERS, false,
	 MSG_SMALL},
};

static const struct component_timer ops_timers[] = {
	{250, ops_tick},
};

const struct component ops_component = {
	.name = "ops",
	.init = ops_init,
	.stop = ops_stop,
	.msgs = ops_rows,
	.nmsgs = sizeof(ops_rows) / sizeof(ops_rows[0]),
	.timers = ops_timers,
	.ntimers = sizeof(ops_timers) / sizeof(ops_timers[0]),
	.on_connection_closed = ops__on_connection_closed,
	.on_leader_change = ops__on_leader_change,
	.reconfigure = ops_reconfigure,
};
