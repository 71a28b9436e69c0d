/*
 * Wallboard (ops_int.h, docs/ops.md "Wallboard"): the live board
 * (node/board.h: calls waiting, agents by state) joined with today's counts
 * (the closed intervals since local midnight from the replica, summed once
 * per closed interval, and the open ones from Redis) and each tier's
 * targets.
 *
 * A request is answered once the board is fresh (read within
 * FRESH_MS; it is wanted from the request on), or after WAIT_MS with the
 * board as it is. A supervisor that asks with watch gets a reply pushed
 * whenever it differs from the last one, at most once a second, until
 * it asks with watch false or goes away.
 */
#include "node/ops/ops_int.h"

#include "lib/err.h"
#include "node/board.h"
#include "node/hot.h"
#include "ops/scripts.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FRESH_MS 2000u
#define WAIT_MS 3000u
#define PUSH_MS 1000u
#define OPEN_MAX 8

struct wb_read {
	struct ops *o;
	uint64_t open[OPEN_MAX];
	size_t nopen;
};

/* ---- today's closed intervals, summed ---- */

/*
 * Today's closed intervals summed, again only when a day begins or an
 * interval closes: the sum covers [day start, o->day_upto), where day_upto
 * follows the latest closed interval; the open ones after it come from
 * Redis (read_open).
 */
static void day_refresh(struct ops *o, uint64_t now)
{
	uint64_t day = ops__day_start(now), upto = ops__first_open(o, day);
	static const char kinds[] = {OPS_KIND_TIER, OPS_KIND_SKILL, OPS_KIND_AGENT};

	if (o->day_ms == day && o->day_upto == upto && o->day_valid)
		return;
	ops__rows_free(&o->day);
	o->day_ms = day;
	o->day_upto = upto;
	o->day_valid = true;
	for (size_t i = 0; i < sizeof(kinds); i++)
		if (ops__rows_add_closed(o, &o->day, kinds[i], day, upto, false)) {
			o->day_valid = false; /* again next time */
			break;
		}
}

/* today = closed + open, for (kind, name), into a fresh OpsCounts. */
static Kefu__OpsCounts *today_of(const struct ops *o, const struct ops_rows *open, char kind,
				 const char *name)
{
	Kefu__OpsCounts *c = opsstat_counts_new();
	const Kefu__OpsCounts *x;

	if ((x = ops__row_find(&o->day, kind, name)))
		opsstat_sum(c, x);
	if ((x = ops__row_find(open, kind, name)))
		opsstat_sum(c, x);
	return c;
}

/* ---- the reply ---- */

static bool has_skill(const char *skills, const char *skill)
{
	size_t n = strlen(skill);

	for (const char *s = skills; (s = strstr(s, skill)); s += n)
		if ((s == skills || s[-1] == ',') && s[n] == ':')
			return true;
	return false;
}

static void count_state(Kefu__WallboardQueue *q, const char *state)
{
	if (strcmp(state, "ready") == 0)
		q->ready++;
	else if (strcmp(state, "reserved") == 0)
		q->ringing++;
	else if (strcmp(state, "on_call") == 0)
		q->talking++;
	else if (strcmp(state, "wrap_up") == 0)
		q->wrap_up++;
	else if (strcmp(state, "not_ready") == 0)
		q->not_ready++;
}

static void queue_fill(Kefu__WallboardQueue *q, const struct board_queue *bq, uint64_t now)
{
	kefu__wallboard_queue__init(q);
	q->name = (char *)bq->name;
	q->has_waiting = q->has_longest_wait_ms = 1;
	q->waiting = bq->waiting;
	q->longest_wait_ms = bq->oldest_ms && bq->oldest_ms < now ? now - bq->oldest_ms : 0;
	q->has_ready = q->has_ringing = q->has_talking = q->has_wrap_up = q->has_not_ready = 1;
}

/* The packed WallboardReply of now; *len its size (malloc'd). */
static uint8_t *build(struct ops *o, const struct ops_rows *open, uint64_t now, size_t *len)
{
	const struct board *b = o->board;
	Kefu__WallboardReply rep = KEFU__WALLBOARD_REPLY__INIT;
	size_t nt = b->ntiers, ns = b->nskills, na = b->nagents, nr = 0;
	Kefu__WallboardQueue *tq = calloc(nt + 1, sizeof(*tq)), *sq = calloc(ns + 1, sizeof(*sq));
	Kefu__WallboardQueue **tp = calloc(nt + 1, sizeof(*tp)), **sp = calloc(ns + 1, sizeof(*sp));
	Kefu__WallboardAgent *ag = calloc(na + 1, sizeof(*ag)), **ap = calloc(na + 1, sizeof(*ap));
	Kefu__WallboardReason *rs = calloc(na + 1, sizeof(*rs)), **rp = calloc(na + 1, sizeof(*rp));
	Kefu__OpsCounts **free_later = calloc(nt + ns + na + 1, sizeof(*free_later));
	size_t nfree = 0;
	uint8_t *out;

	if (!tq || !sq || !tp || !sp || !ag || !ap || !rs || !rp || !free_later)
		abort();
	for (size_t i = 0; i < nt; i++) {
		unsigned level = (unsigned)strtoul(b->tiers[i].name, NULL, 10);

		queue_fill(&tq[i], &b->tiers[i], now);
		/* Agents serve skills, not tiers. */
		tq[i].has_ready = tq[i].has_ringing = tq[i].has_talking = tq[i].has_wrap_up =
			tq[i].has_not_ready = 0;
		tq[i].today = free_later[nfree++] = today_of(o, open, OPS_KIND_TIER, b->tiers[i].name);
		if (level < OPS_NTIERS) {
			tq[i].has_sl_target = tq[i].has_answer_target = 1;
			tq[i].sl_target = o->set.tiers[level].sl_target;
			tq[i].answer_target = o->set.tiers[level].answer_target;
		}
		tp[i] = &tq[i];
	}
	for (size_t i = 0; i < ns; i++) {
		queue_fill(&sq[i], &b->skills[i], now);
		for (size_t a = 0; a < na; a++)
			if (has_skill(b->agents[a].skills, b->skills[i].name))
				count_state(&sq[i], b->agents[a].state);
		sq[i].today = free_later[nfree++] =
			today_of(o, open, OPS_KIND_SKILL, b->skills[i].name);
		sp[i] = &sq[i];
	}
	for (size_t a = 0; a < na; a++) {
		const struct board_agent *ba = &b->agents[a];
		Kefu__OpsCounts *c = today_of(o, open, OPS_KIND_AGENT, ba->id);
		size_t r;

		kefu__wallboard_agent__init(&ag[a]);
		ag[a].id = (char *)ba->id;
		ag[a].state = (char *)ba->state;
		ag[a].reason = (char *)ba->reason;
		ag[a].has_state_ms = ag[a].has_calls_today = 1;
		ag[a].state_ms = ba->state_ms;
		ag[a].calls_today = c->calls;
		free_later[nfree++] = c;
		ap[a] = &ag[a];
		if (strcmp(ba->state, "not_ready") != 0)
			continue;
		for (r = 0; r < nr && strcmp(rs[r].reason, ba->reason) != 0; r++)
			;
		if (r == nr) {
			kefu__wallboard_reason__init(&rs[nr]);
			rs[nr].reason = (char *)ba->reason;
			rs[nr].has_agents = 1;
			rp[nr] = &rs[nr];
			nr++;
		}
		rs[r].agents++;
	}
	rep.has_at_ms = 1;
	rep.at_ms = b->at_ms;
	rep.n_tiers = nt;
	rep.tiers = tp;
	rep.n_skills = ns;
	rep.skills = sp;
	rep.n_agents = na;
	rep.agents = ap;
	rep.n_not_ready = nr;
	rep.not_ready = rp;
	*len = kefu__wallboard_reply__get_packed_size(&rep);
	out = malloc(*len ? *len : 1);
	if (!out)
		abort();
	kefu__wallboard_reply__pack(&rep, out);
	for (size_t i = 0; i < nfree; i++)
		kefu__ops_counts__free_unpacked(free_later[i], NULL);
	free(free_later);
	free(tq), free(sq), free(tp), free(sp), free(ag), free(ap), free(rs), free(rp);
	return out;
}

static void send_packed(struct ops *o, uint64_t peer, uint64_t request_id, const uint8_t *buf,
			size_t len)
{
	Kefu__Envelope e = KEFU__ENVELOPE__INIT;
	struct msg_ref ref = {o->hub, peer, request_id};

	e.body_case = KEFU__ENVELOPE__BODY_WALLBOARD_REPLY;
	e.wallboard_reply = kefu__wallboard_reply__unpack(NULL, len, buf);
	if (!e.wallboard_reply)
		return;
	msg_ref_send(&ref, &e);
	kefu__wallboard_reply__free_unpacked(e.wallboard_reply, NULL);
}

/* Does the new reply differ from the last pushed, the time of the reading aside? */
static bool changed(struct ops *o, const uint8_t *buf, size_t len)
{
	Kefu__WallboardReply *r = kefu__wallboard_reply__unpack(NULL, len, buf);
	uint8_t *flat;
	size_t flen;
	bool diff;

	if (!r)
		return true;
	r->has_at_ms = 0;
	flen = kefu__wallboard_reply__get_packed_size(r);
	flat = malloc(flen ? flen : 1);
	if (!flat)
		abort();
	kefu__wallboard_reply__pack(r, flat);
	kefu__wallboard_reply__free_unpacked(r, NULL);
	diff = flen != o->last_len || memcmp(flat, o->last, flen) != 0;
	free(o->last);
	o->last = flat;
	o->last_len = flen;
	return diff;
}

static void answer(struct ops *o, const struct ops_rows *open)
{
	uint64_t now = ops__now_ms();
	size_t len;
	uint8_t *buf;
	bool diff;

	buf = build(o, open, now, &len);
	diff = changed(o, buf, len);
	for (size_t i = 0; i < o->npending; i++)
		send_packed(o, o->pending[i].peer, o->pending[i].request_id, buf, len);
	if (o->nwatch && diff) {
		/* Pushed unsolicited (request id 0), to each watcher that did not
		 * just get it as its answer. */
		for (size_t i = 0; i < o->nwatch; i++) {
			bool answered = false;

			for (size_t k = 0; k < o->npending && !answered; k++)
				answered = o->pending[k].peer == o->watch[i].peer;
			if (!answered)
				send_packed(o, o->watch[i].peer, 0, buf, len);
		}
		o->pushed_ms = now;
	}
	o->npending = 0;
	free(buf);
}

static void on_read(void *arg, int err, const struct redis_reply *rep)
{
	struct wb_read *r = arg;
	struct ops *o = r->o;
	struct ops_rows open = {0};

	if (ops__put(o)) {
		free(r);
		return;
	}
	o->board_reading = false;
	/* Without Redis's part, today's counts are the closed intervals'. */
	if (!err && rep && rep->type == REDIS_TYPE_ARRAY && rep->n == r->nopen)
		for (size_t i = 0; i < r->nopen; i++)
			ops__rows_add_hash(&open, r->open[i], rep->elem[i], "tsa", true);
	answer(o, &open);
	ops__rows_free(&open);
	free(r);
}

static void read_open(struct ops *o, uint64_t now)
{
	struct wb_read *r = calloc(1, sizeof(*r));
	char **argv;
	int argc, nkeys, err;

	if (!r)
		abort();
	r->o = o;
	if (o->set.interval_ms)
		day_refresh(o, now);
	/* The intervals after the closed ones summed, up to the running one. */
	for (uint64_t s = o->day_upto; o->set.interval_ms && s <= now && r->nopen < OPEN_MAX;
	     s += o->set.interval_ms)
		r->open[r->nopen++] = s;
	if (r->nopen == 0) {
		struct ops_rows none = {0};

		free(r);
		answer(o, &none);
		return;
	}
	err = ops__iv_read_argv(o, r->open, r->nopen, false, &argv, &argc, &nkeys);
	if (!err) {
		o->inflight++;
		o->board_reading = true;
		err = hot_eval(o->hot, o->script0 + OPS_SCRIPT_IV_READ, nkeys, argc,
			       (const char *const *)argv, NULL, on_read, r);
		ops__argv_free(argv, argc);
		if (err) {
			o->inflight--;
			o->board_reading = false;
		}
	}
	if (err) {
		struct ops_rows none = {0};

		free(r);
		answer(o, &none);
	}
}

void ops__wallboard_tick(struct ops *o)
{
	uint64_t now = ops__now_ms();
	bool fresh = o->board->at_ms + FRESH_MS >= now;

	if (o->nwatch)
		board_want(o->board, now);
	if (o->board_reading)
		return;
	if (o->npending && (fresh || now >= o->pending_since + WAIT_MS)) {
		read_open(o, now);
		return;
	}
	if (o->nwatch && fresh && now >= o->pushed_ms + PUSH_MS)
		read_open(o, now);
}

static void watch_drop(struct ops *o, uint64_t peer)
{
	for (size_t i = 0; i < o->nwatch; i++)
		if (o->watch[i].peer == peer) {
			o->watch[i] = o->watch[--o->nwatch];
			return;
		}
}

void ops__on_wallboard(void *state, struct msg_peer *p, const Kefu__Envelope *e)
{
	struct ops *o = state;
	uint64_t peer = msg_peer_id(p), now = ops__now_ms();

	board_want(o->board, now);
	if (e->wallboard->has_watch) {
		watch_drop(o, peer);
		if (e->wallboard->watch) {
			if (o->nwatch == OPS_WATCHERS_MAX) {
				msg_error(p, e->request_id, KF_ETOOBIG,
					  "too many wallboards are watched on this node");
				return;
			}
			/* Its first reply is the one below. */
			o->watch[o->nwatch++] = (struct ops_watcher){peer, e->request_id};
		}
	}
	if (o->npending == OPS_WATCHERS_MAX) {
		msg_error(p, e->request_id, KF_ETOOBIG, "too many wallboard requests at once");
		return;
	}
	if (o->npending == 0)
		o->pending_since = now;
	o->pending[o->npending++] = (struct ops_watcher){peer, e->request_id};
}

void ops__on_connection_closed(void *state, struct msg_peer *p)
{
	struct ops *o = state;
	uint64_t peer = msg_peer_id(p);

	watch_drop(o, peer);
	for (size_t i = 0; i < o->npending;)
		if (o->pending[i].peer == peer)
			o->pending[i] = o->pending[--o->npending];
		else
			i++;
}
