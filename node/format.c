/* The stored form the cluster writes: raised on the leader. See format.h. */
#include "node/format.h"

#include "cluster/election.h"
#include "lib/err.h"
#include "lib/log.h"
#include "lib/loop.h"
#include "lib/version.h"
#include "node/leader.h"
#include "storage/format.h"
#include "storage/log.h"

#include <stdio.h>
#include <stdlib.h>

#define FORMAT_EVERY_MS 1000

struct format_svc {
	struct loop *loop;
	struct leader *leader;     /* NULL on a node alone: the form stays as recorded */
	struct election *el;
	struct repl_storage *sto;
	char self[META_NAME_MAX];
	struct batch *b;           /* the raise's; used on the writer thread */
	uint64_t target, from;     /* the form being recorded, and the one before it */
	size_t seen;               /* the most members registered at once since start */
	bool running, dead, stopping;
};

/* The newest form every registered member writes; 0 when none is, or
 * while fewer are registered than have been at once since this node
 * started (one is down: it may come back with the build it had). */
static uint64_t members_form(struct format_svc *s)
{
	const struct meta_member *m;
	size_t n = election_members(s->el, &m);
	uint64_t f = n ? KEFU_STORE_FORMAT : 0;

	if (n > s->seen)
		s->seen = n;
	if (n < s->seen)
		return 0;

	for (size_t i = 0; i < n; i++)
		if (m[i].format < f)
			f = m[i].format;
	return f;
}

static int raise_body(struct store_txn *t, uint64_t epoch, void *arg)
{
	struct format_svc *s = arg;
	int err = store_format_get(t, &s->from);

	if (err)
		return err;
	if (s->target <= s->from)
		return KF_ENOTFOUND; /* recorded already: nothing to log */
	batch_reset(s->b);
	if ((err = store_format_put(s->b, s->target)))
		return err;
	return log_append_batch(t, epoch, s->b, 0, false, s->self, NULL);
}

static void raise_done(void *arg, int err, uint64_t index)
{
	struct format_svc *s = arg;

	s->running = false;
	if (s->dead) {
		batch_free(s->b);
		free(s);
		return;
	}
	if (err == 0)
		log_info(LOG_CLUSTER, "stored form raised from=%llu to=%llu index=%llu (every "
			 "member's build reads it)", (unsigned long long)s->from,
			 (unsigned long long)s->target, (unsigned long long)index);
	else if (err != KF_ENOTFOUND && err != KF_ESTATE)
		log_warn(LOG_CLUSTER, "stored form not raised to=%llu error=\"%s\"",
			 (unsigned long long)s->target, kf_strerror(err));
}

/* The recorded form is newer than this build's: say so. */
static bool too_new(uint64_t have)
{
	if (have <= KEFU_STORE_FORMAT)
		return false;
	log_err(LOG_STORE, "stored form %llu is newer than this build reads (%llu): the data was "
		"written by a newer kefud; run that build or a later one",
		(unsigned long long)have, (unsigned long long)KEFU_STORE_FORMAT);
	return true;
}

int format_store_check(struct store *st)
{
	uint64_t have;
	int err = store_format_read(st, &have);

	if (err)
		log_err(LOG_STORE, "stored form unreadable error=\"%s\"", kf_strerror(err));
	return err ? err : too_new(have) ? KF_ESTATE : 0;
}

static void format_tick(void *state)
{
	struct format_svc *s = state;
	uint64_t want, have;
	int err;

	if (s->stopping)
		return;
	err = store_format_read(s->sto->store, &have);
	if (err == 0 && too_new(have)) {
		/* through the log or a snapshot, from a leader that did not count us */
		log_err(LOG_MAIN, "stopping reason=\"stored form %llu\"", (unsigned long long)have);
		s->stopping = true;
		loop_stop(s->loop);
		return;
	}
	if (!s->el)
		return;
	want = members_form(s); /* counted on every node, so a new leader knows who was there */
	if (err || !s->leader || s->running || !leader_is_local(s->leader) || want <= have)
		return;
	s->target = want;
	s->running = true;
	if (leader_run(s->leader, raise_body, s, raise_done, s) != 0)
		s->running = false;
}

static int format_init(const struct node_ctx *ctx, void **state)
{
	struct format_svc *s = calloc(1, sizeof(*s));

	if (!s)
		abort();
	s->loop = ctx->loop;
	s->leader = ctx->leader;
	s->el = ctx->election;
	s->sto = ctx->sto;
	s->b = batch_new(4096);
	snprintf(s->self, sizeof(s->self), "%s", ctx->self);
	*state = s;
	return 0;
}

/* A raise still on the writer thread frees the service when it completes. */
static void format_stop(void *state)
{
	struct format_svc *s = state;

	if (!s)
		return;
	s->dead = true;
	if (!s->running) {
		batch_free(s->b);
		free(s);
	}
}

static const struct component_timer format_timers[] = {
	{FORMAT_EVERY_MS, format_tick},
};

const struct component format_service = {
	.name = "format",
	.init = format_init,
	.stop = format_stop,
	.timers = format_timers,
	.ntimers = sizeof(format_timers) / sizeof(format_timers[0]),
};
