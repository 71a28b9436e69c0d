/*
 * The leader closes the intervals (ops_int.h, docs/ops.md "How intervals
 * are closed").
 *
 * On the serving leader, each tick: once the oldest interval not closed
 * ended OPS_CLOSE_GRACE_MS ago, the hashes of it and of the ended ones
 * after it (READ_MAX at most) are read from Redis (iv_read, which first
 * brings every agent's time up to now); the first in which anything
 * happened is written, its rows with its 'c' key, in one logged step that
 * writes nothing when the key is there already (the empty ones before it
 * have nothing to keep; when all are empty, the last is written with no
 * rows, so that the latest closed interval is never far behind). A leader that dies after the write leaves the
 * key for the next one, which skips the interval; one that dies before
 * leaves the hash in Redis, which the next one reads: each interval is
 * counted once. One read or write at a time; after a failure, again a
 * second later.
 */
#include "node/ops/ops_int.h"

#include "cluster/repl.h"
#include "lib/err.h"
#include "lib/log.h"
#include "node/hot.h"
#include "node/leader.h"
#include "ops/scripts.h"
#include "storage/log.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define RETRY_MS 1000u

/* Intervals read at once: a new leader skips empty ones quickly. */
#define READ_MAX 32

struct close_job {
	struct ops *o;
	uint64_t starts[READ_MAX];
	size_t nstarts;
	uint64_t start, closed_ms;
	struct ops_rows rows;
	/* The rows as opsstat_put_interval takes them (pointing into rows). */
	size_t n;
	char *kinds;
	const char **names;
	Kefu__OpsCounts **counts;
	struct batch *b;
};

static void job_free(struct close_job *j)
{
	ops__rows_free(&j->rows);
	free(j->kinds);
	free(j->names);
	free(j->counts);
	batch_free(j->b);
	free(j);
}

static void close_failed(struct ops *o, uint64_t start, const char *what, const char *why)
{
	log_warn(LOG_OPS, "interval not closed start=%" PRIu64 " step=%s why=\"%s\"", start, what,
		 why);
	o->closing = false;
	o->retry_at = ops__now_ms() + RETRY_MS;
}

/* Inside the logging transaction: nothing when the interval is closed. */
static int close_body(struct store_txn *t, uint64_t epoch, void *arg)
{
	struct close_job *j = arg;
	int err = opsstat_closed(t, j->start);

	if (err == 0)
		return KF_EEXISTS;
	if (err != KF_ENOTFOUND)
		return err;
	batch_reset(j->b);
	err = opsstat_put_interval(j->b, j->start, j->o->set.interval_ms, j->closed_ms, j->o->self,
				   j->kinds, j->names, j->counts, j->n);
	if (!err)
		err = log_append_batch(t, epoch, j->b, 0, false, j->o->self, NULL);
	return err;
}

static void on_written(void *arg, int err, uint64_t index)
{
	struct close_job *j = arg;
	struct ops *o = j->o;

	(void)index;
	if (!ops__put(o)) {
		if (err == 0 || err == KF_EEXISTS) {
			if (j->rows.n || err)
				log_info(LOG_OPS, "interval closed start=%" PRIu64 " rows=%zu%s",
					 j->start, j->rows.n, err ? " (closed before)" : "");
			if (o->next_close == j->start)
				o->next_close += o->set.interval_ms;
			o->closing = false;
		} else {
			close_failed(o, j->start, "write", kf_strerror(err));
		}
	}
	job_free(j);
}

static void on_read(void *arg, int err, const struct redis_reply *rep)
{
	struct close_job *j = arg;
	struct ops *o = j->o;
	char why[128];

	if (ops__put(o)) {
		job_free(j);
		return;
	}
	if (err || !rep || rep->type != REDIS_TYPE_ARRAY || rep->n != j->nstarts) {
		snprintf(why, sizeof(why), "%s",
			 err ? kf_strerror(err)
			     : rep && rep->type == REDIS_TYPE_ERROR ? rep->str : "unexpected reply");
		close_failed(o, j->start, "read", why);
		job_free(j);
		return;
	}
	/* The first interval in which something happened is closed; the
	 * empty ones before it have nothing to keep. */
	for (size_t i = 0; i < j->nstarts && j->rows.n == 0; i++) {
		j->start = j->starts[i];
		ops__rows_add_hash(&j->rows, j->start, rep->elem[i], "tsa", false);
	}
	/* Nothing happened in any: the last is marked closed (no rows), so
	 * the latest closed interval stays recent in a quiet night too. */
	if (j->rows.n == 0)
		j->start = j->starts[j->nstarts - 1];
	if (o->next_close == j->starts[0])
		o->next_close = j->start;
	if (j->rows.n > OPS_ROWS_MAX)
		log_warn(LOG_OPS, "interval start=%" PRIu64 " has %zu rows; %u kept", j->start,
			 j->rows.n, OPS_ROWS_MAX);
	j->n = j->rows.n < OPS_ROWS_MAX ? j->rows.n : OPS_ROWS_MAX;
	j->kinds = malloc(j->n + 1);
	j->names = malloc((j->n + 1) * sizeof(*j->names));
	j->counts = malloc((j->n + 1) * sizeof(*j->counts));
	if (!j->kinds || !j->names || !j->counts)
		abort();
	for (size_t i = 0; i < j->n; i++) {
		j->kinds[i] = j->rows.v[i].kind;
		j->names[i] = j->rows.v[i].name;
		j->counts[i] = j->rows.v[i].c;
	}
	j->closed_ms = ops__now_ms();
	j->b = batch_new((size_t)4 << 20);
	o->inflight++;
	err = leader_run(o->leader, close_body, j, on_written, j);
	if (err) {
		o->inflight--;
		close_failed(o, j->start, "write", kf_strerror(err));
		job_free(j);
	}
}

void ops__close_tick(struct ops *o)
{
	uint64_t now = ops__now_ms();
	struct close_job *j;
	char **argv;
	int argc, nkeys, err;

	if (!o->set.interval_ms || o->closing || now < o->retry_at || !leader_is_local(o->leader))
		return;
	if (!o->next_close)
		/* After the latest closed one, within what Redis keeps. */
		o->next_close = ops__first_open(o, ops__catch_up_floor(o, now));
	if (o->next_close + o->set.interval_ms + OPS_CLOSE_GRACE_MS > now)
		return;
	j = calloc(1, sizeof(*j));
	if (!j)
		abort();
	j->o = o;
	j->start = o->next_close;
	for (uint64_t s = o->next_close;
	     j->nstarts < READ_MAX && s + o->set.interval_ms + OPS_CLOSE_GRACE_MS <= now;
	     s += o->set.interval_ms)
		j->starts[j->nstarts++] = s;
	if ((err = ops__iv_read_argv(o, j->starts, j->nstarts, true, &argv, &argc, &nkeys))) {
		close_failed(o, j->start, "accounts", kf_strerror(err));
		free(j);
		return;
	}
	o->closing = true;
	o->inflight++;
	err = hot_eval(o->hot, o->script0 + OPS_SCRIPT_IV_READ, nkeys, argc,
		       (const char *const *)argv, NULL, on_read, j);
	ops__argv_free(argv, argc);
	if (err) {
		o->inflight--;
		close_failed(o, j->start, "read", kf_strerror(err));
		free(j);
	}
}

void ops__on_leader_change(void *state)
{
	struct ops *o = state;

	/* Found again from the replica on the next tick, if we lead. */
	o->next_close = 0;
}
