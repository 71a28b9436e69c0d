/*
 * Report (ops_int.h, docs/ops.md "Reports"): the intervals whose start
 * lies in [from, to), summed by tier, skill, agent or interval. Closed
 * intervals come from this node's replica; those not closed yet (the one
 * running, one in its grace) from Redis, so the open interval counts up to
 * now. Any node answers.
 */
#include "node/ops/ops_int.h"

#include "lib/err.h"
#include "node/hot.h"
#include "ops/scripts.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define OPEN_MAX 8
#define RANGE_MAX_MS (UINT64_C(400) * 86400 * 1000)

struct report {
	struct ops *o;
	struct msg_ref ref;
	char kind;          /* of the rows read */
	bool by_interval;
	uint64_t from, to;
	uint64_t open[OPEN_MAX];
	size_t nopen;
	struct ops_rows rows;
};

static void report_free(struct report *q)
{
	ops__rows_free(&q->rows);
	free(q);
}

static int row_cmp(const void *a, const void *b)
{
	const struct ops_row *x = a, *y = b;
	size_t lx = strlen(x->name), ly = strlen(y->name);

	/* Numbers (tier levels, interval starts) in numeric order. */
	if (lx != ly && strspn(x->name, "0123456789") == lx && strspn(y->name, "0123456789") == ly)
		return lx < ly ? -1 : 1;
	return strcmp(x->name, y->name);
}

static void report_send(struct report *q)
{
	Kefu__Envelope e = KEFU__ENVELOPE__INIT;
	Kefu__ReportReply rep = KEFU__REPORT_REPLY__INIT;
	Kefu__ReportRow *rows = calloc(q->rows.n ? q->rows.n : 1, sizeof(*rows));
	Kefu__ReportRow **rp = calloc(q->rows.n ? q->rows.n : 1, sizeof(*rp));

	if (!rows || !rp)
		abort();
	qsort(q->rows.v, q->rows.n, sizeof(*q->rows.v), row_cmp);
	for (size_t i = 0; i < q->rows.n; i++) {
		const struct ops_row *r = &q->rows.v[i];
		Kefu__ReportRow *w = &rows[i];
		unsigned level;
		char *end;

		kefu__report_row__init(w);
		w->key = (char *)r->name;
		w->counts = r->c;
		w->has_intervals = w->has_open_intervals = 1;
		w->intervals = r->intervals;
		w->open_intervals = r->open;
		level = (unsigned)strtoul(r->name, &end, 10);
		if (q->kind == OPS_KIND_TIER && !q->by_interval && !*end && level < OPS_NTIERS) {
			const struct ops_tier *t = &q->o->set.tiers[level];

			w->has_sl_target = w->has_answer_target = w->has_sl_threshold_ms = 1;
			w->sl_target = t->sl_target;
			w->answer_target = t->answer_target;
			w->sl_threshold_ms = t->sl_ms;
		}
		rp[i] = w;
	}
	rep.n_rows = q->rows.n;
	rep.rows = rp;
	rep.has_interval_ms = rep.has_from_ms = rep.has_to_ms = 1;
	rep.interval_ms = q->o->set.interval_ms;
	rep.from_ms = q->from;
	rep.to_ms = q->to;
	e.body_case = KEFU__ENVELOPE__BODY_REPORT_REPLY;
	e.report_reply = &rep;
	msg_ref_send(&q->ref, &e);
	free(rows);
	free(rp);
}

static const char *kinds_of(const struct report *q)
{
	return q->kind == OPS_KIND_TIER ? "t" : q->kind == OPS_KIND_SKILL ? "s" : "a";
}

static void on_open(void *arg, int err, const struct redis_reply *rep)
{
	struct report *q = arg;

	if (ops__put(q->o)) {
		report_free(q);
		return;
	}
	if (err || !rep || rep->type != REDIS_TYPE_ARRAY || rep->n != q->nopen) {
		msg_ref_error(&q->ref, err ? err : KF_ESTATE,
			      err ? "the intervals not closed yet cannot be read from Redis"
				  : "unexpected reply from Redis for the intervals not closed yet");
		report_free(q);
		return;
	}
	for (size_t i = 0; i < q->nopen; i++) {
		if (q->by_interval) {
			/* One row per interval: every tier's fields summed. */
			struct ops_rows one = {0};
			char key[24];
			struct ops_row *r;

			ops__rows_add_hash(&one, q->open[i], rep->elem[i], "t", true);
			if (one.n) {
				snprintf(key, sizeof(key), "%" PRIu64, q->open[i]);
				r = ops__row(&q->rows, OPS_KIND_TIER, key);
				for (size_t k = 0; k < one.n; k++)
					opsstat_sum(r->c, one.v[k].c);
				r->intervals = 1;
				r->open = 1;
			}
			ops__rows_free(&one);
		} else {
			ops__rows_add_hash(&q->rows, q->open[i], rep->elem[i], kinds_of(q), true);
		}
	}
	report_send(q);
	report_free(q);
}

void ops__on_report(void *state, struct msg_peer *p, const Kefu__Envelope *e)
{
	struct ops *o = state;
	const Kefu__Report *m = e->report;
	const char *by = m->by && *m->by ? m->by : "tier";
	struct report *q;
	char **argv;
	int argc, nkeys, err;

	if (!o->set.interval_ms) {
		msg_error(p, e->request_id, KF_ESTATE,
			  "interval statistics are off on this node (stats_interval = 0)");
		return;
	}
	if (!m->has_from_ms || !m->has_to_ms || m->from_ms >= m->to_ms ||
	    m->to_ms - m->from_ms > RANGE_MAX_MS) {
		msg_error(p, e->request_id, KF_EPARSE,
			  "a report needs from_ms < to_ms, at most 400 days apart");
		return;
	}
	q = calloc(1, sizeof(*q));
	if (!q)
		abort();
	q->o = o;
	q->ref = msg_ref_of(p, e->request_id);
	q->from = m->from_ms;
	q->to = m->to_ms;
	if (strcmp(by, "tier") == 0 || strcmp(by, "interval") == 0) {
		q->kind = OPS_KIND_TIER;
		q->by_interval = by[0] == 'i';
	} else if (strcmp(by, "skill") == 0) {
		q->kind = OPS_KIND_SKILL;
	} else if (strcmp(by, "agent") == 0) {
		q->kind = OPS_KIND_AGENT;
	} else {
		msg_error(p, e->request_id, KF_EPARSE,
			  "by must be tier, skill, agent or interval");
		free(q);
		return;
	}
	if ((err = ops__rows_add_closed(o, &q->rows, q->kind, q->from, q->to, q->by_interval))) {
		msg_error(p, e->request_id, err, kf_strerror(err));
		report_free(q);
		return;
	}
	q->nopen = ops__open_starts(o, q->from, q->to, q->open, OPEN_MAX);
	if (q->nopen == 0) {
		report_send(q);
		report_free(q);
		return;
	}
	/* Agents' time up to now only matters to a report by agent. */
	err = ops__iv_read_argv(o, q->open, q->nopen, q->kind == OPS_KIND_AGENT, &argv, &argc,
				&nkeys);
	if (!err) {
		o->inflight++;
		err = hot_eval(o->hot, o->script0 + OPS_SCRIPT_IV_READ, nkeys, argc,
			       (const char *const *)argv, NULL, on_open, q);
		ops__argv_free(argv, argc);
		if (err)
			o->inflight--;
	}
	if (err) {
		msg_error(p, e->request_id, err, kf_strerror(err));
		report_free(q);
	}
}
