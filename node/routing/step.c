/*
 * Running the routing steps and other Redis commands (node/hot.h): the
 * ops in flight and their replies, the keys of a step, the cluster epoch
 * that fences each step, and the subscriber profiles of the local replica
 * the steps' callers read. See routing_int.h.
 */
#include "node/routing/routing_int.h"

#include "lib/err.h"
#include "lib/log.h"
#include "storage/workorder.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Subscriber states in which a call from the own number counts as verified
 * (1 normal, 3 stopped for arrears; not 2 suspended: maybe a lost phone). */
static const unsigned own_number_trusted[] = {1, 3};

/* ==== ops ==== */

struct op *routing__op_new(struct routing *r, op_fn fn, uint64_t conn, uint64_t request_id)
{
	struct op *o = calloc(1, sizeof(*o));

	if (!o)
		abort();
	o->r = r;
	o->fn = fn;
	o->conn = conn;
	o->request_id = request_id;
	return o;
}

void routing__unpend(struct routing *r)
{
	if (r->dead && r->pending == 0 && r->checks == 0)
		routing__release(r);
}

static void op_reply(void *arg, int err, const struct redis_reply *rep)
{
	struct op *o = arg;
	struct routing *r = o->r;

	r->pending--;
	if (!r->dead && o->decide)
		routing__decided(r, o, err, rep);
	if (!r->dead && o->fn)
		o->fn(r, o, err, rep);
	if (o->acct)
		kefu__agent__free_unpacked(o->acct, NULL);
	if (o->job)
		routing__login_job_free(o->job);
	if (o->stats)
		routing__stats_drop(o->stats);
	explicit_bzero(o->secret, sizeof(o->secret));
	free(o);
	routing__unpend(r);
}

/* ==== keys and the epoch ==== */

void routing__keys_add(struct routing *r, struct keys *ks, const char *a, const char *b)
{
	if (ks->n >= KEYS_MAX)
		return;
	hot_key(r->hot, ks->k[ks->n], HOT_KEY_MAX, a, b);
	ks->p[ks->n] = ks->k[ks->n];
	ks->n++;
}

static uint64_t epoch_now(struct routing *r)
{
	uint64_t e = 0;

	if (r->el)
		(void)election_leader(r->el, &e);
	if (e > r->epoch)
		r->epoch = e;
	return r->epoch;
}

/* ==== steps and commands ==== */

void routing__step_n(struct routing *r, enum routing_script_id id, int nkeys,
		     const char *const *keys, const char *const *args, int nargs, struct op *o)
{
	/* A step's usual few strings on the stack; the board's many on the heap. */
	const char *small[ARGV_MAX], **argv = small;
	size_t need = (size_t)nkeys + (size_t)nargs + 3;
	char ep[NUM_MAX], now[NUM_MAX];
	int argc = 0, err;

	if (need > ARGV_MAX && !(argv = calloc(need, sizeof(*argv))))
		abort();
	routing__num(ep, epoch_now(r));
	routing__num(now, loop_wall_ms());
	argv[argc++] = r->k_epoch;
	for (int i = 0; i < nkeys; i++)
		argv[argc++] = keys[i];
	argv[argc++] = ep;
	argv[argc++] = now;
	for (int i = 0; i < nargs; i++)
		argv[argc++] = args[i];
	r->pending++;
	err = hot_eval(r->hot, r->script0 + (unsigned)id, nkeys + 1, argc, argv, NULL, op_reply, o);
	if (argv != small)
		free(argv);
	if (err) {
		r->pending++;
		op_reply(o, err, NULL);
		r->pending--;
	}
}

void routing__step(struct routing *r, enum routing_script_id id, const struct keys *ks,
		   const char *const *args, int nargs, struct op *o)
{
	/* At most ARGV_MAX strings in all, as always. */
	if (nargs > ARGV_MAX - 3 - ks->n)
		nargs = ARGV_MAX - 3 - ks->n;
	routing__step_n(r, id, ks->n, ks->p, args, nargs, o);
}

void routing__command(struct routing *r, int argc, const char *const *argv, struct op *o)
{
	int err;

	if (!o)
		o = routing__op_new(r, NULL, 0, 0);
	r->pending++;
	err = hot_command(r->hot, argc, argv, NULL, op_reply, o);
	if (err) {
		r->pending++;
		op_reply(o, err, NULL);
		r->pending--;
	}
}

int routing__step_failed(int err, const struct redis_reply *rep, char *why, size_t cap)
{
	if (err) {
		snprintf(why, cap, "routing state unavailable: %s", kf_strerror(err));
		return err;
	}
	if (rep->type == REDIS_TYPE_ERROR) {
		snprintf(why, cap, "%s", rep->str);
		return KF_ESTATE;
	}
	return 0;
}

const char *routing__elem_str(const struct redis_reply *rep, size_t i)
{
	if (!rep || rep->type != REDIS_TYPE_ARRAY || i >= rep->n || !rep->elem[i]->str)
		return "";
	return rep->elem[i]->str;
}

bool routing__is_owned_elsewhere(int err, const struct redis_reply *rep)
{
	return !err && redis_reply_is_error(rep, "OWNED");
}

/* ==== subscriber profiles (local replica) ==== */

int routing__profile_get(struct routing *r, const char *ani, size_t bill_months,
			 struct custdb_profile *p)
{
	struct store_txn *t;
	int err;

	memset(p, 0, sizeof(*p));
	if (!ani || !*ani)
		return KF_ENOTFOUND;
	err = store_read_begin(r->sto->store, &t);
	if (err)
		return err;
	err = custdb_lookup_msisdn(t, ani, 0, bill_months, p);
	store_abort(t);
	if (err)
		custdb_profile_release(p);
	return err;
}

size_t routing__open_orders(struct routing *r, const char *ani, Kefu__WorkOrder **out, size_t max)
{
	struct store_txn *t;
	size_t n = 0;

	if (!ani || !*ani || store_read_begin(r->sto->store, &t))
		return 0;
	if (wo_open_of(t, ani, max, out, &n))
		log_warn(LOG_ROUTING, "open work orders of a caller not read ani=%s", ani);
	store_abort(t);
	return n;
}

size_t routing__articles(struct routing *r, const Kefu__Subscriber *u, unsigned tier,
			 struct kb_hit *out, size_t max)
{
	const char *q = kb_situation(u);
	struct kb_filter f = {.now_ms = loop_wall_ms(), .tier = tier};
	struct store_txn *t;
	size_t n = 0;

	if (!q || store_read_begin(r->sto->store, &t))
		return 0;
	if (kb_search(t, q, strlen(q), &f, max, out, &n))
		log_warn(LOG_ROUTING, "screen-pop articles not read query=%s", q);
	store_abort(t);
	return n;
}

bool routing__profile_is_trusted(const struct custdb_profile *p)
{
	if (!p->user)
		return false;
	for (size_t i = 0; i < sizeof(own_number_trusted) / sizeof(own_number_trusted[0]); i++)
		if (own_number_trusted[i] == p->user->status)
			return true;
	return false;
}
