/*
 * The leader's round: escalations and return-visit results.
 *
 * Escalations, on the serving leader: every tick, the escalations due by
 * now are one range of the deadline index (storage/workorder.h wo_due);
 * the orders they belong to are fired in one logged transaction, each
 * escalation recorded in its order, as a notice and in the audit log. The
 * record is what makes it exactly once: a level recorded is never due
 * again, and a new leader fires what the old one left, from the same index
 * it has applied.
 *
 * Return-visit results by phone (storage/workorder.h, "v" keys, written by
 * the outbound dialing with the agent's disposition) are applied in the
 * same round: satisfied closes the order, not satisfied reopens it, and
 * the result is deleted in the same write, so it is applied once whoever
 * leads. A result whose order is no longer waiting for its visit is
 * dropped, with an audit entry saying why. See workflow_int.h.
 */
#include "node/workflow/workflow_int.h"

#include "lib/err.h"
#include "lib/log.h"
#include "node/leader.h"
#include "storage/accounts.h"
#include "storage/audit.h"
#include "storage/format.h"
#include "storage/listing.h"
#include "storage/log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SEQS_PER_ORDER (WO_CLOCKS * WO_ESCALATE_MAX)
#define PRUNE_EVERY_MS 60000
#define PRUNE_LIMIT 1000

struct round {
	struct workflow *w;
	char ids[WORKFLOW_DUE_BATCH][WO_ID_MAX + 1];
	size_t n;
	uint64_t now_ms;
	uint64_t seq[WORKFLOW_DUE_BATCH * SEQS_PER_ORDER];
	uint64_t form;         /* the stored form, read by the body (storage/format.h) */
	struct batch *b;
	bool prune;            /* old notices go too */
	size_t fired;          /* written by the body */
	/* return-visit results, by order id (the result itself is read again
	 * inside the write) */
	char results[WORKFLOW_DUE_BATCH][WO_ID_MAX + 1];
	uint64_t result_seq[WORKFLOW_DUE_BATCH];
	size_t nresults, applied;
};

static int collect(void *arg, const char *id, uint64_t next_ms)
{
	struct round *r = arg;

	(void)next_ms;
	snprintf(r->ids[r->n++], WO_ID_MAX + 1, "%s", id);
	return r->n == WORKFLOW_DUE_BATCH;
}

/* An audit entry of the round, at its time, from this node. */
static int round_audit(struct round *r, const char *action, const char *agent, const char *id,
		       const char *detail, uint64_t seq)
{
	Kefu__AuditEntry ae = KEFU__AUDIT_ENTRY__INIT;

	ae.has_time_ms = ae.has_seq = 1;
	ae.time_ms = r->now_ms;
	ae.seq = seq;
	ae.node = r->w->self;
	ae.agent = (char *)agent;
	ae.action = (char *)action;
	ae.subject = (char *)id;
	ae.detail = (char *)detail;
	return audit_append(r->b, &ae, NULL, 0);
}

static int audit_fired(struct round *r, const Kefu__OrderEscalation *e, uint64_t seq)
{
	char detail[96];

	snprintf(detail, sizeof(detail), "%s %u%% %s cycle=%u", e->clock, e->level, e->action,
		 e->cycle);
	return round_audit(r, "order_escalate", "system", e->id, detail, seq);
}

/* One order: every level due now, for each clock, then its index. */
static int fire_order(struct store_txn *t, struct round *r, size_t i)
{
	static const char *const clocks[WO_CLOCKS] = {"first_response", "update", "solution"};
	Kefu__WorkOrder *o = NULL;
	struct wo_was *was = NULL;
	size_t s = i * SEQS_PER_ORDER, used = 0;
	int err;

	err = wo_get(t, r->ids[i], &o);
	if (err == 0)
		was = wo_was_new(o, r->form);
	for (size_t c = 0; !err && c < WO_CLOCKS; c++) {
		for (size_t l = 0; !err && l < WO_ESCALATE_MAX; l++) {
			const Kefu__OrderEscalation *e;

			err = wo_escalate(o, &r->w->set, clocks[c], r->now_ms, r->w->self, &e);
			if (err || !e)
				break;
			err = wo_notice_put(e, r->b);
			if (!err && used < SEQS_PER_ORDER)
				err = audit_fired(r, e, r->seq[s + used++]);
			r->fired++;
		}
	}
	if (!err)
		err = wo_put_was(was, o, r->form, r->b);
	wo_was_free(was);
	wo_order_free(o);
	return err;
}

static int collect_result(void *arg, const Kefu__VisitResult *v)
{
	struct round *r = arg;

	snprintf(r->results[r->nresults++], WO_ID_MAX + 1, "%s", v->order_id ? v->order_id : "");
	return r->nresults == WORKFLOW_DUE_BATCH ? LISTING_STOP : 0;
}

/* Result i: the transition taken by the agent who called, or the result
 * dropped (the order moved on, the account is gone), and its key deleted. */
static int apply_result(struct store_txn *t, struct round *r, size_t i)
{
	Kefu__VisitResult *v = NULL;
	Kefu__WorkOrder *o = NULL;
	Kefu__Agent *acc = NULL;
	struct wo_was *was = NULL;
	char note[WO_DESC_MAX + 1], why[WO_WHY_MAX], detail[AUDIT_DETAIL_MAX + 1];
	const char *action;
	bool dropped = true;
	int err = wo_visit_result_get(t, r->results[i], &v);

	if (err) /* gone since it was read: another round applied it */
		return err == KF_ENOTFOUND ? 0 : err;
	action = v->satisfied ? "satisfied" : "unsatisfied";
	snprintf(note, sizeof(note), "return visit by phone (campaign %s, call %s): %s%s%s",
		 v->campaign ? v->campaign : "", v->attempt_id ? v->attempt_id : "",
		 v->satisfied ? "satisfied" : "not satisfied",
		 v->note && *v->note ? "; " : "", v->note ? v->note : "");
	err = wo_get(t, r->results[i], &o);
	if (err == KF_ENOTFOUND) {
		snprintf(detail, sizeof(detail), "dropped: no such order");
		err = 0;
	} else if (!err && !wo_streq(o->state, "visiting")) {
		snprintf(detail, sizeof(detail), "dropped: the order is %s", o->state);
	} else if (!err && (err = accounts_get(t, v->agent ? v->agent : "", &acc))) {
		if (err == KF_ENOTFOUND) {
			snprintf(detail, sizeof(detail), "dropped: %s has no account", v->agent);
			err = 0;
		}
	} else if (!err) {
		struct wo_step_in in = {.action = action, .note = note, .now_ms = r->now_ms,
					.actor = {v->agent, acc, false, false}};

		was = wo_was_new(o, r->form);
		if (wo_step(o, &r->w->set, &in, why, sizeof(why)) == 0) {
			err = wo_put_was(was, o, r->form, r->b);
			snprintf(detail, sizeof(detail), "from=visiting to=%s by phone campaign=%s",
				 o->state, v->campaign ? v->campaign : "");
			r->applied++;
			dropped = false;
		} else {
			snprintf(detail, sizeof(detail), "dropped: %s", why);
		}
	}
	if (!err)
		err = wo_visit_result_del(r->results[i], r->b);
	if (!err)
		err = round_audit(r, dropped ? "order_visit_dropped"
					: v->satisfied ? "order_satisfied" : "order_unsatisfied",
				   v->agent ? v->agent : "", r->results[i], detail,
				   r->result_seq[i]);
	if (acc)
		kefu__agent__free_unpacked(acc, NULL);
	wo_was_free(was);
	if (o)
		wo_order_free(o);
	kefu__visit_result__free_unpacked(v, NULL);
	return err;
}

static int round_body(struct store_txn *t, uint64_t epoch, void *arg)
{
	struct round *r = arg;
	size_t pruned = 0;
	int err = store_format_get(t, &r->form);

	batch_reset(r->b);
	r->fired = r->applied = 0;
	for (size_t i = 0; i < r->n && !err; i++)
		err = fire_order(t, r, i);
	for (size_t i = 0; i < r->nresults && !err; i++)
		err = apply_result(t, r, i);
	if (!err && r->prune)
		err = wo_notices_prune(t, r->now_ms - WORKFLOW_NOTICE_KEEP_MS, PRUNE_LIMIT, r->b,
				       &pruned);
	if (err)
		return err;
	if (batch_count(r->b) == 0)
		return 0;
	return log_append_batch(t, epoch, r->b, 0, false, r->w->self, NULL);
}

static void round_done(void *arg, int err, uint64_t index)
{
	struct round *r = arg;
	struct workflow *w = r->w;

	(void)index;
	w->firing = false;
	if (err)
		log_warn(LOG_WORKFLOW, "escalations not written orders=%zu error=\"%s\"", r->n,
			 kf_strerror(err));
	else if (r->fired)
		log_info(LOG_WORKFLOW, "escalations fired=%zu orders=%zu", r->fired, r->n);
	if (!err && r->nresults)
		log_info(LOG_WORKFLOW, "return-visit results applied=%zu of=%zu", r->applied,
			 r->nresults);
	batch_free(r->b);
	free(r);
	w->inflight--;
	if (w->dead && w->inflight == 0)
		workflow__release(w);
}

void workflow__escalate_tick(struct workflow *w)
{
	struct store_txn *t;
	struct round *r;
	int err;

	if (w->firing || !leader_is_local(w->leader))
		return;
	r = calloc(1, sizeof(*r));
	if (!r)
		abort();
	r->w = w;
	r->now_ms = workflow__now_ms();
	if ((err = store_read_begin(w->sto->store, &t)) == 0) {
		err = wo_due(t, r->now_ms, WORKFLOW_DUE_BATCH, collect, r);
		if (!err)
			err = wo_visit_results(t, WORKFLOW_DUE_BATCH, collect_result, r);
		store_abort(t);
	}
	r->prune = r->now_ms >= w->last_prune_ms + PRUNE_EVERY_MS;
	if (err || (r->n == 0 && r->nresults == 0 && !r->prune)) {
		if (err)
			log_warn(LOG_WORKFLOW, "deadline index not read error=\"%s\"",
				 kf_strerror(err));
		free(r);
		return;
	}
	if (r->prune)
		w->last_prune_ms = r->now_ms;
	for (size_t i = 0; i < r->n * SEQS_PER_ORDER; i++)
		r->seq[i] = leader_audit_next(w->leader);
	for (size_t i = 0; i < r->nresults; i++)
		r->result_seq[i] = leader_audit_next(w->leader);
	r->b = batch_new(4u * 1024 * 1024);
	w->firing = true;
	w->inflight++;
	err = leader_run(w->leader, round_body, r, round_done, r);
	if (err) {
		w->firing = false;
		w->inflight--;
		batch_free(r->b);
		free(r);
	}
}
