/*
 * The pacing engine (docs/dialing.md, "Who paces"). Every node follows the
 * running campaigns of its replica each second. A node with an outbound
 * gateway (DialGateway) holds an etcd lease of DIAL_LEASE_TTL_S seconds,
 * kept alive every 600 ms, and tries to create each running campaign's key
 * /kefu/<cluster>/dial/<campaign> on it: the node that made the key paces
 * the campaign; every other node reads the key to know who does (campaign
 * show's pacer). When the pacing node dies its lease ends within the TTL,
 * the key goes with it and the next node to try takes the campaign.
 *
 * Pacing a campaign, every 200 ms: read its agents from the hot state
 * (agents.c), measure handle times from the calls that ended, see which
 * attempts in flight have their result in the replica (the abandonment
 * window and the answer rate count them), ask dial_pace how many calls to
 * place, pick that many due contacts (dial_rules_next_attempt, the calling
 * window, the do-not-call list read now), and place each: the attempt is
 * written through the leader first (calls.c, checked against its contact),
 * the Originate goes to a gateway of this node after. A node that takes a
 * campaign over reads its attempts: those without a result are in flight
 * and are never placed again; their results come from the gateways.
 */
#include "node/dialing/dialing_int.h"

#include "cluster/etcd.h"
#include "lib/err.h"
#include "lib/file.h"
#include "lib/log.h"
#include "lib/loop.h"
#include "node/leader.h"
#include "proto/frame.h"
#include "storage/dial.h"
#include "storage/listing.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define RING_S 25                 /* an Originate rings at most this long */
#define LOST_AFTER_MS 180000      /* an attempt with no result after this is failed */
#define PRIOR_ANSWER 0.3
#define PRIOR_WEIGHT 50
#define PRIOR_HANDLE_S 180.0
#define LINES_DEFAULT 64          /* calls in flight a campaign may have at once */

/* ---- the clock ---- */

/* The test clock: clock_file holds an offset in ms added to the wall
 * clock (docs/dialing.md, "Testing"); read every tick. */
static void clock_reload(struct dialing *d)
{
	char buf[32];
	FILE *f;
	long long v = 0;
	char *end;

	if (!d->clock_file[0] || !(f = fopen(d->clock_file, "r")))
		return;
	if (fgets(buf, sizeof(buf), f)) {
		v = strtoll(buf, &end, 10);
		if (end != buf)
			d->clock_offset_ms = v;
	}
	fclose(f);
}

uint64_t dialing__now(struct dialing *d)
{
	int64_t now = (int64_t)loop_wall_ms() + d->clock_offset_ms;

	return now < 0 ? 0 : (uint64_t)now;
}

/* ---- runs ---- */

static struct dial_run *run_find(struct dialing *d, const char *name)
{
	for (unsigned i = 0; i < d->nruns; i++)
		if (strcmp(d->runs[i]->name, name) == 0)
			return d->runs[i];
	return NULL;
}

static void run_free(struct dial_run *r)
{
	if (!r)
		return;
	kefu__campaign__free_unpacked(r->c, NULL);
	free(r->handle);
	free(r);
}

/* Drop r from d (freed now, or by its last callback). */
static void run_drop(struct dialing *d, struct dial_run *r)
{
	for (unsigned i = 0; i < d->nruns; i++)
		if (d->runs[i] == r) {
			d->runs[i] = d->runs[--d->nruns];
			break;
		}
	r->gone = true;
	if (r->refs == 0)
		run_free(r);
}

static void run_unref(struct dialing *d, struct dial_run *r)
{
	r->refs--;
	if (r->gone && r->refs == 0)
		run_free(r);
	dialing__unref(d);
}

static void run_ref(struct dialing *d, struct dial_run *r)
{
	r->refs++;
	d->inflight++;
}

const char *dialing__pacer_of(struct dialing *d, const char *campaign)
{
	struct dial_run *r = run_find(d, campaign);

	return r ? r->pacer : "";
}

static void flight_drop(struct dial_run *r, unsigned i)
{
	r->fl[i] = r->fl[--r->nfl];
}

/* A result seen in the replica: the window and the counts. */
static void count_result(struct dial_run *r, const Kefu__DialAttempt *a)
{
	bool human = strcmp(a->result, "human") == 0, dropped = strcmp(a->result, "abandoned") == 0;

	if (human || dropped) {
		r->human++;
		dial_window_add(&r->win, a->result_ms, 1, dropped ? 1 : 0);
	}
	if (a->has_talk_ms)
		dial_handle_add(r->handle, a->talk_ms / 1000);
}

/* Taken over: the attempts so far, those in flight kept as such. */
static int load_one(void *arg, const Kefu__DialAttempt *a)
{
	struct dial_run *r = arg;

	r->placed++;
	if (a->result && *a->result) {
		count_result(r, a);
	} else if (r->nfl < DIAL_INFLIGHT_MAX) {
		struct dial_flight *f = &r->fl[r->nfl++];

		memset(f, 0, sizeof(*f));
		snprintf(f->id, sizeof(f->id), "%s", a->id);
		f->contact = a->contact;
		f->placed_ms = a->placed_ms;
		f->sent = true;
	}
	return 0;
}

static void run_load(struct dialing *d, struct dial_run *r)
{
	struct store_txn *t;

	r->placed = r->human = 0;
	r->nfl = 0;
	r->next_n = 0;
	dial_window_init(&r->win, r->c->abandon_window_ms ? r->c->abandon_window_ms
							  : DIAL_WINDOW_30D);
	dial_handle_init(r->handle);
	if (store_read_begin(d->sto->store, &t) == 0) {
		(void)dial_attempts_each(t, r->name, load_one, r);
		store_abort(t);
	}
	r->loaded = true;
	log_info(LOG_CLUSTER, "dialing pacer campaign=%s node=%s in_flight=%u placed=%" PRIu64,
		 r->name, d->self, r->nfl, r->placed);
}

/* ---- etcd: the lease and the campaigns' keys ---- */

static void etcd_unref(struct dialing *d)
{
	d->etcd_busy--;
	dialing__unref(d);
}

static void lose_all(struct dialing *d)
{
	for (unsigned i = 0; i < d->nruns; i++) {
		d->runs[i]->mine = false;
		d->runs[i]->loaded = false;
		if (strcmp(d->runs[i]->pacer, d->self) == 0)
			d->runs[i]->pacer[0] = '\0';
	}
}

static void on_granted(void *arg, int err, const struct etcd_resp *r)
{
	struct dialing *d = arg;

	d->lease_busy = false;
	if (!d->dead && !err && r->lease_id) {
		d->lease = r->lease_id;
		d->lease_ok_ms = loop_now_ms();
	}
	etcd_unref(d);
}

static void on_keepalive(void *arg, int err, const struct etcd_resp *r)
{
	struct dialing *d = arg;

	d->lease_busy = false;
	if (!d->dead) {
		if (!err && r->ttl > 0) {
			d->lease_ok_ms = loop_now_ms();
		} else if (err == KF_ENOTFOUND) {
			log_warn(LOG_CLUSTER, "dialing lease lost node=%s", d->self);
			d->lease = 0;
			lose_all(d);
		}
	}
	etcd_unref(d);
}

static void on_revoked(void *arg, int err, const struct etcd_resp *r)
{
	(void)err;
	(void)r;
	etcd_unref(arg);
}

/* The lease is good to pace under: answered within the last TTL - 1 s. */
static bool lease_fresh(struct dialing *d)
{
	return d->lease && loop_now_ms() - d->lease_ok_ms < (DIAL_LEASE_TTL_S - 1) * 1000u;
}

static void lease_keep(struct dialing *d, bool wanted)
{
	if (d->lease_busy || !d->etcd)
		return;
	if (!wanted && d->lease) {
		log_info(LOG_CLUSTER, "dialing lease revoked node=%s", d->self);
		d->etcd_busy++;
		d->inflight++;
		if (etcd_lease_revoke(d->etcd, d->lease, on_revoked, d))
			etcd_unref(d);
		d->lease = 0;
		lose_all(d);
		return;
	}
	if (!wanted)
		return;
	d->lease_busy = true;
	d->etcd_busy++;
	d->inflight++;
	if ((d->lease ? etcd_lease_keepalive(d->etcd, d->lease, on_keepalive, d)
		      : etcd_lease_grant(d->etcd, DIAL_LEASE_TTL_S, on_granted, d))) {
		d->lease_busy = false;
		etcd_unref(d);
	}
}

struct claim {
	struct dialing *d;
	struct dial_run *r;
	int64_t lease;
};

static void on_claim(void *arg, int err, const struct etcd_resp *resp)
{
	struct claim *c = arg;
	struct dialing *d = c->d;
	struct dial_run *r = c->r;

	r->claiming = false;
	if (!d->dead && !r->gone && !err) {
		const struct etcd_resp *got = resp->n_results ? &resp->results[0] : NULL;
		bool mine;

		if (resp->succeeded) {
			snprintf(r->pacer, sizeof(r->pacer), "%s", d->self);
			mine = c->lease != 0 && c->lease == d->lease;
		} else if (got && got->n_kvs) {
			snprintf(r->pacer, sizeof(r->pacer), "%.*s", (int)got->kvs[0].value_len,
				 got->kvs[0].value);
			mine = c->lease != 0 && got->kvs[0].lease == d->lease &&
			       strcmp(r->pacer, d->self) == 0;
		} else {
			r->pacer[0] = '\0';
			mine = false;
		}
		if (mine && !r->mine)
			run_load(d, r);
		if (!mine && r->mine)
			log_info(LOG_CLUSTER, "dialing pacer left campaign=%s node=%s pacer=%s",
				 r->name, d->self, r->pacer[0] ? r->pacer : "-");
		r->mine = mine;
		if (!mine)
			r->loaded = false;
	}
	run_unref(d, r);
	free(c);
	etcd_unref(d);
}

/* Create r's key on this node's lease, or read who holds it. */
static void claim(struct dialing *d, struct dial_run *r)
{
	char key[ETCD_KEY_MAX];
	struct etcd_cmp cmp = {.target = ETCD_TARGET_CREATE, .result = ETCD_CMP_EQUAL, .num = 0};
	struct etcd_op put = {.type = ETCD_OP_PUT}, get = {.type = ETCD_OP_RANGE};
	struct etcd_txn txn = {&cmp, 1, &put, 1, &get, 1};
	struct claim *c;
	bool can = lease_fresh(d) && d->ngw > 0 && d->hot;

	if (r->claiming)
		return;
	snprintf(key, sizeof(key), "%s%s", d->prefix, r->name);
	cmp.key = put.key = get.key = key;
	put.value = d->self;
	put.value_len = strlen(d->self);
	put.lease = d->lease;
	if (!can)
		cmp.num = -1; /* never holds: only read */
	c = calloc(1, sizeof(*c));
	if (!c)
		abort();
	c->d = d;
	c->r = r;
	c->lease = can ? d->lease : 0;
	r->claiming = true;
	run_ref(d, r);
	d->etcd_busy++;
	d->inflight++;
	if (etcd_txn(d->etcd, &txn, on_claim, c)) {
		r->claiming = false;
		free(c);
		run_unref(d, r);
		etcd_unref(d);
	}
}

static void on_released(void *arg, int err, const struct etcd_resp *r)
{
	(void)err;
	(void)r;
	etcd_unref(arg);
}

/* r stopped running: its key goes, when it is this node's. */
static void release(struct dialing *d, struct dial_run *r)
{
	char key[ETCD_KEY_MAX];
	struct etcd_cmp cmp = {.target = ETCD_TARGET_LEASE, .result = ETCD_CMP_EQUAL};
	struct etcd_op del = {.type = ETCD_OP_DELETE};
	struct etcd_txn txn = {&cmp, 1, &del, 1, NULL, 0};

	if (!r->mine || !d->lease || !d->etcd)
		return;
	snprintf(key, sizeof(key), "%s%s", d->prefix, r->name);
	cmp.key = del.key = key;
	cmp.num = d->lease;
	d->etcd_busy++;
	d->inflight++;
	if (etcd_txn(d->etcd, &txn, on_released, d))
		etcd_unref(d);
}

/* ---- each second: the running campaigns ---- */

static int follow(void *arg, const Kefu__Campaign *c)
{
	struct dialing *d = arg;
	struct dial_run *r;

	if (strcmp(c->state, "running") != 0)
		return 0;
	if (!(r = run_find(d, c->name))) {
		if (d->nruns == DIAL_RUNS_MAX)
			return 0;
		r = calloc(1, sizeof(*r));
		if (!r)
			abort();
		r->handle = malloc(sizeof(*r->handle));
		if (!r->handle)
			abort();
		dial_handle_init(r->handle);
		snprintf(r->name, sizeof(r->name), "%s", c->name);
		r->d = d;
		d->runs[d->nruns++] = r;
	}
	kefu__campaign__free_unpacked(r->c, NULL);
	r->c = proto_copy(&c->base, NULL);
	dialing__rules_of(r->d, r->c, DIAL_NRESULTS, &r->rules);
	r->seen = true;
	return 0;
}

static void second(struct dialing *d)
{
	struct store_txn *t;
	int err;

	dialing__agents_second(d);
	for (unsigned i = 0; i < d->nruns; i++)
		d->runs[i]->seen = false;
	if ((err = store_read_begin(d->sto->store, &t)) == 0) {
		err = dial_campaigns_each(t, follow, d);
		store_abort(t);
	}
	/* A replica that cannot be read now stops nothing. */
	for (unsigned i = d->nruns; !err && i-- > 0;)
		if (!d->runs[i]->seen) {
			release(d, d->runs[i]);
			run_drop(d, d->runs[i]);
		}
}

/* ---- placing ---- */

struct placing {
	struct dialing *d;
	struct dial_run *r;
	char id[48];
	char msisdn[DIAL_MSISDN_MAX + 1];
};

static int flight_of(const struct dial_run *r, const char *id)
{
	for (unsigned i = 0; i < r->nfl; i++)
		if (strcmp(r->fl[i].id, id) == 0)
			return (int)i;
	return -1;
}

static void placed(void *arg, int err)
{
	struct placing *pl = arg;
	struct dial_run *r = pl->r;
	struct dialing *d = pl->d;
	int i = flight_of(r, pl->id);

	if (i >= 0 && err) {
		flight_drop(r, (unsigned)i);
	} else if (i >= 0 && !d->dead) {
		Kefu__Envelope out = KEFU__ENVELOPE__INIT;
		Kefu__Originate o = KEFU__ORIGINATE__INIT;
		struct msg_peer *gw = dialing__gateway_pick(d);

		/* The attempt is acknowledged (on disk at the synchronous standby);
		 * this node's replica may not have it yet: the number is the one the
		 * pacer picked and the leader checked. */
		r->fl[i].sent = true;
		r->placed++;
		o.attempt_id = pl->id;
		o.campaign = r->name;
		o.msisdn = pl->msisdn;
		o.caller_id = r->c->caller_id;
		o.has_ring_ms = 1;
		o.ring_ms = RING_S * 1000;
		out.body_case = KEFU__ENVELOPE__BODY_ORIGINATE;
		out.originate = &o;
		if (!gw || msg_send(gw, &out, 0)) {
			log_warn(LOG_CLUSTER, "dialing originate not sent campaign=%s attempt=%s",
				 r->name, pl->id);
			dialing__result_write(d, r->name, pl->id, "failed");
		}
	}
	run_unref(d, r);
	free(pl);
}

static void place_one(struct dialing *d, struct dial_run *r, const Kefu__CampaignContact *k,
		      bool dnc)
{
	Kefu__DialPlace rq = KEFU__DIAL_PLACE__INIT;
	Kefu__DialAttempt a = KEFU__DIAL_ATTEMPT__INIT;
	struct placing *pl;

	rq.attempt = &a;
	rq.has_attempts = rq.has_dnc = 1;
	rq.attempts = k->attempts;
	rq.dnc = dnc;
	a.campaign = r->name;
	a.has_contact = 1;
	a.contact = k->seq;
	pl = calloc(1, sizeof(*pl));
	if (!pl)
		abort();
	pl->d = d;
	pl->r = r;
	snprintf(pl->msisdn, sizeof(pl->msisdn), "%s", k->msisdn ? k->msisdn : "");
	if (!dnc) {
		struct dial_flight *f = &r->fl[r->nfl++];

		snprintf(pl->id, sizeof(pl->id), "%" PRIx64 "-%" PRIu64, (uint64_t)d->lease,
			 ++r->next_n);
		memset(f, 0, sizeof(*f));
		snprintf(f->id, sizeof(f->id), "%s", pl->id);
		f->contact = k->seq;
		f->placed_ms = dialing__now(d);
		a.id = pl->id;
	} else {
		snprintf(pl->id, sizeof(pl->id), "dnc");
		a.id = pl->id;
	}
	run_ref(d, r);
	if (dialing__place(d, &rq, placed, pl)) {
		int i = flight_of(r, pl->id);

		if (i >= 0 && !dnc)
			flight_drop(r, (unsigned)i);
		run_unref(d, r);
		free(pl);
	}
}

struct pick {
	struct dialing *d;
	struct dial_run *r;
	struct store_txn *t;
	uint64_t now;
	unsigned want, got;
};

static bool in_flight(const struct dial_run *r, uint64_t seq)
{
	for (unsigned i = 0; i < r->nfl; i++)
		if (r->fl[i].contact == seq)
			return true;
	return false;
}

static int pick_one(void *arg, const Kefu__CampaignContact *k)
{
	struct pick *p = arg;
	bool blocked;

	if (in_flight(p->r, k->seq) || !dialing__contact_is_due(p->r->d, p->r->c, k, p->now))
		return 0;
	/* The do-not-call list, read now, not when the list was loaded. */
	(void)dial_dnc_blocks(p->t, k->msisdn, &blocked);
	place_one(p->d, p->r, k, blocked);
	if (!blocked)
		p->got++;
	return p->got >= p->want || p->r->nfl >= DIAL_INFLIGHT_MAX ? LISTING_STOP : 0;
}

/* Attempts in flight whose result is in the replica now: counted and
 * done. One that has had no result for LOST_AFTER_MS is written failed. */
static void reconcile(struct dialing *d, struct dial_run *r, struct store_txn *t, uint64_t now)
{
	for (unsigned i = r->nfl; i-- > 0;) {
		struct dial_flight *f = &r->fl[i];
		Kefu__DialAttempt *a = NULL;

		if (!f->sent)
			continue;
		if (dial_attempt_get(t, r->name, f->id, &a) == 0 && a->result && *a->result) {
			count_result(r, a);
			flight_drop(r, i);
		} else if (now > f->placed_ms + LOST_AFTER_MS) {
			dialing__result_write(d, r->name, f->id, "failed");
			f->placed_ms = now; /* asked again after as long, if it stays */
		}
		if (a)
			kefu__dial_attempt__free_unpacked(a, NULL);
	}
}

/* Handle times from the agents that were talking on the last read and are
 * not now, then the agents as read now. */
static void agents_take(struct dial_run *r, const struct redis_reply *rep, uint64_t wall)
{
	unsigned ready = 0, ntalk = 0;
	char (*ids)[40] = calloc(DIAL_PACER_MAX_AGENTS, sizeof(*ids));
	uint64_t *since = calloc(DIAL_PACER_MAX_AGENTS, sizeof(*since));

	if (!ids || !since)
		abort();
	for (size_t i = 0; i + 1 < rep->n; i += 2) {
		const struct redis_reply *a = rep->elem[i], *v = rep->elem[i + 1];

		if (a->type != REDIS_TYPE_STRING || v->type != REDIS_TYPE_STRING)
			continue;
		if (strncmp(v->str, "ready ", 6) == 0) {
			ready++;
		} else if (strncmp(v->str, "talk ", 5) == 0 && ntalk < DIAL_PACER_MAX_AGENTS) {
			snprintf(ids[ntalk], sizeof(ids[ntalk]), "%s", a->str);
			since[ntalk++] = strtoull(v->str + 5, NULL, 10);
		}
	}
	for (unsigned i = 0; i < r->ntalk; i++) {
		bool still = false;

		for (unsigned j = 0; j < ntalk && !still; j++)
			still = strcmp(r->talk_ids[i], ids[j]) == 0 && r->talk_since[i] == since[j];
		if (!still && wall > r->talk_since[i])
			dial_handle_add(r->handle, (uint32_t)((wall - r->talk_since[i]) / 1000));
	}
	r->ready = ready;
	r->ntalk = ntalk;
	for (unsigned i = 0; i < ntalk; i++) {
		r->talking_s[i] = (uint32_t)(wall > since[i] ? (wall - since[i]) / 1000 : 0);
		snprintf(r->talk_ids[i], sizeof(r->talk_ids[i]), "%s", ids[i]);
		r->talk_since[i] = since[i];
	}
	free(ids);
	free(since);
}

static unsigned lines_of(const struct dialing *d)
{
	unsigned lines = 0;

	for (unsigned i = 0; i < d->ngw; i++) {
		if (!d->gw[i].lines)
			return LINES_DEFAULT;
		lines += d->gw[i].lines;
	}
	return lines < LINES_DEFAULT ? lines : LINES_DEFAULT;
}

/* The agents of r came back: decide and place. */
static void agents_read(void *arg, int err, const struct redis_reply *rep)
{
	struct dial_run *r = arg;
	struct dialing *d = r->d;
	struct dial_pace_in in = {0};
	struct store_txn *t;
	uint64_t now = dialing__now(d);
	enum dial_mode mode;
	unsigned want;

	r->busy = false;
	if (d->dead || r->gone || !r->mine || !r->loaded || err || !rep ||
	    rep->type != REDIS_TYPE_ARRAY || !lease_fresh(d))
		goto out;
	agents_take(r, rep, loop_wall_ms());
	if (store_read_begin(d->sto->store, &t))
		goto out;
	reconcile(d, r, t, now);
	mode = strcmp(r->c->mode, "predictive") == 0    ? DIAL_PREDICTIVE
	       : strcmp(r->c->mode, "progressive") == 0 ? DIAL_PROGRESSIVE
							: DIAL_PREVIEW;
	in.mode = mode;
	in.ready = r->ready;
	in.ringing = r->nfl;
	in.talking_s = r->talking_s;
	in.ntalking = r->ntalk;
	in.placed = r->placed;
	in.human = r->human;
	in.prior_answer = PRIOR_ANSWER;
	in.prior_weight = PRIOR_WEIGHT;
	in.handle = r->handle;
	in.prior_handle_s = PRIOR_HANDLE_S;
	in.ring_s = RING_S;
	dial_window_counts(&r->win, now, &in.win_answered, &in.win_abandoned);
	in.cap = r->c->abandon_cap / 1000.0;
	in.max_lines = lines_of(d);
	want = dial_rules_is_open(&r->rules, now) ? dial_pace(&in) : 0;
	if (want + r->nfl > DIAL_INFLIGHT_MAX)
		want = DIAL_INFLIGHT_MAX - r->nfl;
	if (want) {
		struct pick p = {d, r, t, now, want, 0};

		(void)dial_contacts_each(t, r->name, pick_one, &p);
	}
	store_abort(t);
out:
	run_unref(d, r);
}

void dialing__tick(void *state)
{
	struct dialing *d = state;
	uint64_t mono = loop_now_ms();

	if (!d || d->dead)
		return;
	clock_reload(d);
	dialing__agents_check(d);
	/* The lease is kept alive every 600 ms (a fifth of its TTL), as the
	 * election keeps its own, so one slow answer does not lose it. */
	if (mono - d->last_keepalive >= 600) {
		d->last_keepalive = mono;
		lease_keep(d, d->nruns > 0 && d->ngw > 0 && d->hot);
	}
	if (mono - d->last_second >= 1000) {
		d->last_second = mono;
		second(d);
	}
	for (unsigned i = 0; i < d->nruns; i++) {
		struct dial_run *r = d->runs[i];

		/* Its key: checked every second while this node paces it, tried
		 * every 400 ms otherwise, so a pacer that died is followed within
		 * its lease's TTL and a little more. */
		if (d->etcd && mono - r->last_claim >= (r->mine ? 1000u : 400u)) {
			r->last_claim = mono;
			claim(d, r);
		}
		if (!r->mine || !r->loaded || r->busy || !lease_fresh(d))
			continue;
		r->busy = true;
		run_ref(d, r);
		if (dialing__agents_read(d, r->name, agents_read, r)) {
			r->busy = false;
			run_unref(d, r);
		}
	}
}

void dialing__pace_stop(struct dialing *d)
{
	while (d->nruns)
		run_drop(d, d->runs[d->nruns - 1]);
}
