/*
 * Escalation notices to the people concerned, on every node: each tick a
 * node reads the notices its replica has applied since the last it saw
 * (with a look-back, for one applied late) and sends an OrderNotice to each
 * of its own sessions the level is for:
 *
 *   lead        the order's handler, and supervisors of the order's group
 *   supervisor  every supervisor
 *   upgrade     every supervisor, and the order's owner
 *   reassign    the order's owner (the one it was handed to)
 *
 * So a notice reaches a person on whatever node they are logged in,
 * whichever leader fired it. See workflow_int.h.
 */
#include "node/workflow/workflow_int.h"

#include "lib/err.h"
#include "lib/log.h"
#include "storage/accounts.h"

#include <stdio.h>
#include <string.h>

#define NOTICES_PER_TICK WORKFLOW_SEEN_MAX

struct deliver {
	struct workflow *w;
	struct store_txn *t;
	const Kefu__OrderEscalation *e;
	const Kefu__WorkOrder *o;
	Kefu__Envelope out;
	Kefu__OrderNotice n;
	size_t sent;
};

/* Whether agent (a supervisor or not) is one a notice of level action is for. */
static bool concerned(struct deliver *d, const char *agent, bool supervisor)
{
	const char *action = d->e->action;
	Kefu__Agent *acc = NULL;
	bool yes = false;

	if (wo_streq(action, "supervisor"))
		return supervisor;
	if (wo_streq(action, "reassign"))
		return wo_streq(agent, d->o->owner);
	if (wo_streq(action, "upgrade"))
		return supervisor || wo_streq(agent, d->o->owner);
	if (wo_streq(agent, d->o->handler))
		return true;
	if (!supervisor || !d->o->group || !*d->o->group)
		return false;
	if (accounts_get(d->t, agent, &acc) == 0) {
		yes = accounts_in_group(acc, d->o->group);
		kefu__agent__free_unpacked(acc, NULL);
	}
	return yes;
}

static void send_one(void *arg, struct msg_peer *p, const char *agent, bool supervisor)
{
	struct deliver *d = arg;

	if (concerned(d, agent, supervisor) && msg_send(p, &d->out, 0) == 0)
		d->sent++;
}

static bool seen(struct workflow *w, const Kefu__OrderEscalation *e)
{
	char key[sizeof(w->seen[0])];

	snprintf(key, sizeof(key), "%s/%s/%u/%u", e->id, e->clock, e->cycle, e->level);
	for (unsigned i = 0; i < WORKFLOW_SEEN_MAX; i++)
		if (strcmp(w->seen[i], key) == 0)
			return true;
	snprintf(w->seen[w->nseen++ % WORKFLOW_SEEN_MAX], sizeof(key), "%s", key);
	return false;
}

static int notice_visit(void *arg, const Kefu__OrderEscalation *e)
{
	struct deliver *d = arg;
	struct workflow *w = d->w;
	Kefu__WorkOrder *o;

	if (e->at_ms > w->notice_from_ms)
		w->notice_from_ms = e->at_ms;
	if (!e->id || !e->clock || seen(w, e) || wo_get(d->t, e->id, &o) != 0)
		return 0;
	d->e = e;
	d->o = o;
	kefu__order_notice__init(&d->n);
	d->n.escalation = (Kefu__OrderEscalation *)e;
	d->n.kind = o->kind;
	d->n.state = o->state;
	d->n.group = o->group;
	d->n.owner = o->owner;
	kefu__envelope__init(&d->out);
	d->out.body_case = KEFU__ENVELOPE__BODY_ORDER_NOTICE;
	d->out.order_notice = &d->n;
	d->sent = 0;
	msg_each_session(w->hub, send_one, d);
	if (d->sent)
		log_info(LOG_WORKFLOW, "notice order=%s clock=%s level=%u action=%s sessions=%zu",
			 e->id, e->clock, e->level, e->action, d->sent);
	wo_order_free(o);
	return 0;
}

void workflow__notices_tick(struct workflow *w)
{
	struct deliver d = {.w = w};
	uint64_t from = w->notice_from_ms > WORKFLOW_NOTICE_LOOKBACK_MS
				? w->notice_from_ms - WORKFLOW_NOTICE_LOOKBACK_MS
				: 0;
	int err;

	if ((err = store_read_begin(w->sto->store, &d.t)))
		return;
	err = wo_notices(d.t, from, NOTICES_PER_TICK, notice_visit, &d);
	store_abort(d.t);
	if (err)
		log_warn(LOG_WORKFLOW, "notices not read error=\"%s\"", kf_strerror(err));
}
