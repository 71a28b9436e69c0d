/* Work orders as stored. See workorder.h. */
#include "storage/workorder.h"

#include "lib/err.h"
#include "proto/frame.h"
#include "storage/audit.h"
#include "storage/keys.h"
#include "storage/listing.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TAG_REF "r"
#define TAG_MSISDN "m"
#define TAG_STATE "s"
#define TAG_GROUP "g"
#define TAG_OPEN "o"
#define TAG_DUE "u"
#define TAG_NEXT "d"
#define TAG_SEQ "q"
#define TAG_VISIT "c"
#define TAG_ATTACH "a"
#define TAG_NOTICE "n"
#define TAG_RESULT "v"

#define NEWEST_BASE UINT64_MAX

static void num20(char out[24], uint64_t v)
{
	snprintf(out, 24, "%020" PRIu64, v);
}

/* n decimal digits at p into *out (the caller's n keeps it in 64 bits);
 * false when one is not a digit. */
static bool digits_num(const uint8_t *p, size_t n, uint64_t *out)
{
	uint64_t v = 0;

	for (size_t i = 0; i < n; i++) {
		if (p[i] < '0' || p[i] > '9')
			return false;
		v = v * 10 + (uint64_t)(p[i] - '0');
	}
	*out = v;
	return true;
}

/* A 20-digit part back to its number; false when it is not one. */
static bool part_num(const uint8_t *p, size_t n, uint64_t *out)
{
	return n == 20 && digits_num(p, n, out);
}

/* Part i of key k as a string into out (cap bytes); false when it is missing or too long. */
static bool part_str(const struct store_val *k, unsigned i, char *out, size_t cap)
{
	const uint8_t *p;
	size_t n;

	if (key_part(k->data, k->len, i, &p, &n) || n >= cap)
		return false;
	memcpy(out, p, n);
	out[n] = '\0';
	return true;
}

static void key_tag(struct key *k, const char *tag)
{
	key_init(k);
	key_add_str(k, tag);
}

static void key_newest(struct key *k, uint64_t created_ms)
{
	char n[24];

	num20(n, NEWEST_BASE - (created_ms < NEWEST_BASE ? created_ms : NEWEST_BASE));
	key_add_str(k, n);
}

bool wo_is_open(const Kefu__WorkOrder *o)
{
	return o->state && strcmp(o->state, "closed") != 0 && strcmp(o->state, "cancelled") != 0;
}

/* The earliest due time among o's running clocks, 0 when none runs. */
static uint64_t earliest_due(const Kefu__WorkOrder *o)
{
	uint64_t best = 0;

	for (size_t i = 0; i < o->n_clocks; i++) {
		const Kefu__OrderClock *c = o->clocks[i];

		if (c->due_ms && !c->met_ms && !c->paused && (!best || c->due_ms < best))
			best = c->due_ms;
	}
	return best;
}

/* The most index entries one order has: m, s, g, u and d. */
#define INDEX_KEYS_MAX 5

/* An index entry: its key and value (empty but for "d" in form 1 and "m" in form 2). */
struct index_entry {
	struct key k;
	struct key v;
};

struct wo_was {
	size_t n;
	struct index_entry e[INDEX_KEYS_MAX];
};

/*
 * The "d" entry of o into e: keyed by the earliest next escalation of its
 * clocks. The round reads which clocks are due from the record it loads to
 * fire them, so the value says no more than the key: in form 1 that
 * clock's (name, next_ms) as parts, the form builds before form 2 parse;
 * in form 2 nothing. Either way a step that restarts a later clock (every
 * transition restarts the update clock) leaves the entry as it is, and a
 * create writes one key instead of one per clock. False when no clock has
 * a next level.
 */
static bool deadline_entry(const Kefu__WorkOrder *o, uint64_t form, struct index_entry *e)
{
	const Kefu__OrderClock *first = NULL;
	char n[24];

	for (size_t i = 0; i < o->n_clocks; i++) {
		const Kefu__OrderClock *c = o->clocks[i];

		if (c->next_level && c->next_ms && c->name && (!first || c->next_ms < first->next_ms))
			first = c;
	}
	if (!first)
		return false;
	num20(n, first->next_ms);
	key_init(&e->v);
	if (form < 2) {
		key_add_str(&e->v, first->name);
		key_add_str(&e->v, n);
	}
	key_tag(&e->k, TAG_NEXT);
	key_add_str(&e->k, n);
	key_add_str(&e->k, o->id);
	return true;
}

/* The index entries of o in stored form `form` into out; their number. */
static size_t index_keys(const Kefu__WorkOrder *o, uint64_t form,
			 struct index_entry out[INDEX_KEYS_MAX])
{
	const struct {
		const char *tag, *part;
	} by[] = {
		{TAG_MSISDN, o->msisdn},
		{TAG_STATE, o->state},
		{TAG_GROUP, o->group},
	};
	char n[24];
	size_t k = 0;
	uint64_t due;

	for (size_t i = 0; i < sizeof(by) / sizeof(by[0]); i++) {
		if (!by[i].part || !*by[i].part)
			continue;
		key_tag(&out[k].k, by[i].tag);
		key_add_str(&out[k].k, by[i].part);
		key_newest(&out[k].k, o->created_ms);
		key_add_str(&out[k].k, o->id);
		key_init(&out[k].v);
		/* form 2: a create's retry finds its order among the subscriber's */
		if (i == 0 && form >= 2 && o->client_ref && *o->client_ref)
			key_add_str(&out[k].v, o->client_ref);
		k++;
	}
	if (!wo_is_open(o))
		return k;
	if ((due = earliest_due(o))) {
		key_tag(&out[k].k, TAG_DUE);
		num20(n, due);
		key_add_str(&out[k].k, n);
		key_add_str(&out[k].k, o->id);
		key_init(&out[k++].v);
	}
	if (deadline_entry(o, form, &out[k]))
		k++;
	return k;
}

static bool key_eq(const struct key *a, const struct key *b)
{
	return a->len == b->len && memcmp(a->b, b->b, a->len) == 0;
}

/* The entry of set with e's key, NULL when none. */
static const struct index_entry *entry_in(const struct index_entry *e,
					  const struct index_entry *set, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (key_eq(&set[i].k, &e->k))
			return &set[i];
	return NULL;
}

struct wo_was *wo_was_new(const Kefu__WorkOrder *o, uint64_t form)
{
	struct wo_was *w = malloc(sizeof(*w));

	if (!w)
		abort();
	w->n = index_keys(o, form, w->e);
	return w;
}

void wo_was_free(struct wo_was *w)
{
	free(w);
}

/*
 * The ops that move the index from was's entries to o's: an entry both
 * have with the same value is left alone (a write of the same key would
 * still dirty its page), one only was has is deleted, one only o has, or
 * whose value changed, is put.
 */
static int index_move(const struct wo_was *was, const Kefu__WorkOrder *o, uint64_t form,
		      struct batch *b)
{
	struct wo_was *now = wo_was_new(o, form);
	size_t nwas = was ? was->n : 0;
	int err = 0;

	for (size_t i = 0; i < nwas && !err; i++)
		if (key_ok(&was->e[i].k) && !entry_in(&was->e[i], now->e, now->n))
			err = batch_del(b, STORE_WO_INDEX, was->e[i].k.b, was->e[i].k.len);
	for (size_t i = 0; i < now->n && !err; i++) {
		const struct index_entry *e = &now->e[i], *had;

		if (!key_ok(&e->k) || !key_ok(&e->v))
			err = KF_ETOOBIG;
		else if (!(had = was ? entry_in(e, was->e, nwas) : NULL) || !key_eq(&had->v, &e->v))
			err = batch_put(b, STORE_WO_INDEX, e->k.b, e->k.len, e->v.b, e->v.len);
	}
	wo_was_free(now);
	return err;
}

static bool id_ok(const char *id)
{
	size_t n = id ? strnlen(id, WO_ID_MAX + 1) : 0;

	if (n < 3 || n > WO_ID_MAX)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((id[i] >= '0' && id[i] <= '9') || (id[i] >= 'A' && id[i] <= 'Z')))
			return false;
	return true;
}

static void record_key(struct key *k, const char *id)
{
	key_init(k);
	key_add_str(k, id);
}

int wo_get_packed(struct store_txn *t, const char *id, struct store_val *out)
{
	struct key k;

	if (!id_ok(id))
		return KF_ENOTFOUND;
	record_key(&k, id);
	return store_get(t, STORE_WO, k.b, k.len, out);
}

int wo_get(struct store_txn *t, const char *id, Kefu__WorkOrder **out)
{
	struct store_val v;
	int err;

	if ((err = wo_get_packed(t, id, &v)))
		return err;
	*out = kefu__work_order__unpack(NULL, v.len, v.data);
	return *out ? 0 : KF_ECORRUPT;
}

int wo_put(const Kefu__WorkOrder *old, const Kefu__WorkOrder *o, uint64_t form,
	   struct batch *b)
{
	struct wo_was *was = old ? wo_was_new(old, form) : NULL;
	int err = wo_put_was(was, o, form, b);

	wo_was_free(was);
	return err;
}

int wo_put_was(const struct wo_was *was, const Kefu__WorkOrder *o, uint64_t form,
	       struct batch *b)
{
	size_t len;
	uint8_t *val;
	struct key k;
	int err;

	if (!id_ok(o->id) || !o->has_created_ms || !o->state || !*o->state)
		return KF_EPARSE;
	len = kefu__work_order__get_packed_size(o);
	if (len > WO_PACK_MAX)
		return KF_ETOOBIG;
	if ((err = index_move(was, o, form, b)))
		return err;
	/* form 1: the create's reference has a key of its own */
	if (!was && form < 2 && o->client_ref && *o->client_ref) {
		key_tag(&k, TAG_REF);
		key_add_str(&k, o->client_ref);
		if (!key_ok(&k))
			return KF_ETOOBIG;
		if ((err = batch_put(b, STORE_WO_INDEX, k.b, k.len, o->id, strlen(o->id))))
			return err;
	}
	val = malloc(len ? len : 1);
	if (!val)
		abort();
	kefu__work_order__pack(o, val);
	record_key(&k, o->id);
	err = batch_put(b, STORE_WO, k.b, k.len, val, len);
	free(val);
	return err;
}

/* A decimal value of the index (a sequence, a time) into *out; 0 when absent. */
static int get_decimal(struct store_txn *t, const struct key *k, uint64_t *out)
{
	int err = store_get_decimal(t, STORE_WO_INDEX, k->b, k->len, out);

	if (err == KF_ENOTFOUND)
		*out = 0;
	return err == KF_ENOTFOUND ? 0 : err;
}

static int put_decimal(const struct key *k, uint64_t v, struct batch *b)
{
	char s[24];
	int n = snprintf(s, sizeof(s), "%" PRIu64, v);

	return batch_put(b, STORE_WO_INDEX, k->b, k->len, s, (size_t)n);
}

/* The day's highest 6-digit sequence among the records (keys under prefix
 * PROV + date, highest first): 7 digits and more sort below it, and those
 * are counted by the "q" key. */
static int tail_visit(void *arg, const struct store_val *k, const struct store_val *v)
{
	uint64_t seq;

	(void)v;
	if (k->len != 10 + 6 + 1)
		return 0;
	if (!digits_num((const uint8_t *)k->data + 10, 6, &seq))
		return KF_ECORRUPT;
	*(uint64_t *)arg = seq;
	return 1;
}

int wo_next_id(struct store_txn *t, const char *prov, const char *date, uint64_t form,
	       struct batch *b, char out[WO_ID_MAX + 1])
{
	char prefix[11];
	struct key k;
	uint64_t seq, tail = 0;
	int err;

	if (!prov || strlen(prov) != 2 || prov[0] < 'A' || prov[0] > 'Z' || prov[1] < 'A' ||
	    prov[1] > 'Z' || !date || strlen(date) != 8 || strspn(date, "0123456789") != 8)
		return KF_EPARSE;
	key_tag(&k, TAG_SEQ);
	key_add_str(&k, date);
	if ((err = get_decimal(t, &k, &seq)))
		return err;
	snprintf(prefix, sizeof(prefix), "%s%s", prov, date);
	if ((err = store_scan(t, STORE_WO, prefix, 10, NULL, 0, true, tail_visit, &tail)) < 0)
		return err;
	seq = (tail > seq ? tail : seq) + 1;
	snprintf(out, WO_ID_MAX + 1, "%s%s%06" PRIu64, prov, date, seq);
	/* In form 2, up to 999,999 orders a day the records say which is the
	 * last; past that their ids no longer sort by number, and the "q" key
	 * counts. Form 1 keeps the key for the builds that read only it. */
	return form < 2 || seq > 999999 ? put_decimal(&k, seq, b) : 0;
}

/* One "m" key of wo_by_ref: the order, when its value is the client_ref. */
struct by_ref {
	const char *ref;
	size_t rlen;
	uint64_t since_ms;
	char *out;
	bool found;
};

static int by_ref_visit(void *arg, const struct store_val *k, const struct store_val *v)
{
	struct by_ref *r = arg;
	const uint8_t *p;
	size_t n;
	uint64_t newest;

	if (key_part(k->data, k->len, 2, &p, &n) || !part_num(p, n, &newest))
		return KF_ECORRUPT;
	if (NEWEST_BASE - newest < r->since_ms)
		return LISTING_STOP;
	/* the value is the client_ref and its part's end */
	if (v->len != r->rlen + 1 || memcmp(v->data, r->ref, r->rlen) != 0)
		return LISTING_SKIP;
	if (!part_str(k, 3, r->out, WO_ID_MAX + 1))
		return KF_ECORRUPT;
	r->found = true;
	return LISTING_STOP;
}

/* The order made with client_ref in form 1 (its "r" key). */
static int by_old_ref(struct store_txn *t, const char *client_ref, char out[WO_ID_MAX + 1])
{
	struct store_val v;
	struct key k;
	int err;

	key_tag(&k, TAG_REF);
	key_add_str(&k, client_ref);
	if (!key_ok(&k))
		return KF_ENOTFOUND;
	if ((err = store_get(t, STORE_WO_INDEX, k.b, k.len, &v)))
		return err;
	if (v.len == 0 || v.len > WO_ID_MAX)
		return KF_ECORRUPT;
	memcpy(out, v.data, v.len);
	out[v.len] = '\0';
	return 0;
}

int wo_by_ref(struct store_txn *t, uint64_t form, const char *msisdn, const char *client_ref,
	      uint64_t now_ms, char out[WO_ID_MAX + 1])
{
	struct by_ref r = {client_ref, client_ref ? strlen(client_ref) : 0,
			   now_ms > WO_REF_KEEP_MS ? now_ms - WO_REF_KEEP_MS : 0, out, false};
	struct listing l = {.table = STORE_WO_INDEX};
	struct key prefix;
	int err;

	if (!r.rlen)
		return KF_ENOTFOUND;
	if (form < 2 || !msisdn || !*msisdn)
		return by_old_ref(t, client_ref, out); /* no "m" key holds a reference yet */
	key_tag(&prefix, TAG_MSISDN);
	key_add_str(&prefix, msisdn);
	if (!key_ok(&prefix))
		return KF_ENOTFOUND;
	l.prefix = prefix.b;
	l.plen = prefix.len;
	if ((err = listing_scan(t, &l, by_ref_visit, &r)))
		return err;
	return r.found ? 0 : by_old_ref(t, client_ref, out);
}

bool wo_attach_name_ok(const char *name)
{
	if (!name || !*name || strchr(name, '/') || strchr(name, '\\') ||
	    strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
		return false;
	return audit_text_is_valid(name, WO_NAME_MAX);
}

static void attach_key(struct key *k, const char *id, unsigned n)
{
	char nn[4];

	snprintf(nn, sizeof(nn), "%02u", n % 100);
	key_tag(k, TAG_ATTACH);
	key_add_str(k, id);
	key_add_str(k, nn);
}

int wo_attach_put(const char *id, unsigned n, const Kefu__OrderAttachment *a, struct batch *b)
{
	size_t len;
	uint8_t *val;
	struct key k;
	int err;

	if (!id_ok(id) || n >= WO_ATTACH_MAX || !wo_attach_name_ok(a->name))
		return KF_EPARSE;
	if (a->data.len > WO_ATTACH_BYTES)
		return KF_ETOOBIG;
	attach_key(&k, id, n);
	len = kefu__order_attachment__get_packed_size(a);
	val = malloc(len ? len : 1);
	if (!val)
		abort();
	kefu__order_attachment__pack(a, val);
	err = batch_put(b, STORE_WO_INDEX, k.b, k.len, val, len);
	free(val);
	return err;
}

int wo_attach_get(struct store_txn *t, const char *id, unsigned n, Kefu__OrderAttachment **out)
{
	struct store_val v;
	struct key k;
	int err;

	if (!id_ok(id) || n >= WO_ATTACH_MAX)
		return KF_ENOTFOUND;
	attach_key(&k, id, n);
	if ((err = store_get(t, STORE_WO_INDEX, k.b, k.len, &v)))
		return err;
	*out = kefu__order_attachment__unpack(NULL, v.len, v.data);
	return *out ? 0 : KF_ECORRUPT;
}

int wo_last_visit(struct store_txn *t, const char *who, uint64_t *ms)
{
	struct key k;

	key_tag(&k, TAG_VISIT);
	key_add_str(&k, who ? who : "");
	if (!key_ok(&k)) {
		*ms = 0;
		return 0;
	}
	return get_decimal(t, &k, ms);
}

int wo_visit_mark(const char *who, uint64_t ms, struct batch *b)
{
	struct key k;

	key_tag(&k, TAG_VISIT);
	key_add_str(&k, who ? who : "");
	return key_ok(&k) ? put_decimal(&k, ms, b) : KF_ETOOBIG;
}

/* ---- listings ---- */

struct list_ctx {
	struct store_txn *t;
	wo_list_fn fn;
	void *arg;
	unsigned id_part;  /* which part of the key is the id */
	uint64_t upto;     /* overdue: stop at a due time not before it; 0: no stop */
};

static int list_visit(void *arg, const struct store_val *k, const struct store_val *v)
{
	struct list_ctx *c = arg;
	char id[WO_ID_MAX + 1];
	Kefu__WorkOrder *o;
	const uint8_t *p;
	size_t n;
	uint64_t due;
	int rc;

	(void)v;
	if (c->upto) {
		if (key_part(k->data, k->len, 1, &p, &n) || !part_num(p, n, &due))
			return KF_ECORRUPT;
		if (due >= c->upto)
			return LISTING_STOP;
	}
	if (!part_str(k, c->id_part, id, sizeof(id)))
		return KF_ECORRUPT;
	rc = wo_get(c->t, id, &o);
	if (rc == KF_ENOTFOUND)
		return KF_ECORRUPT; /* an index key without its order */
	if (rc)
		return rc;
	rc = c->fn(c->arg, o, k->data, k->len);
	kefu__work_order__free_unpacked(o, NULL);
	return rc;
}

/*
 * Open orders, newest first, without an index of their own: the "s" ranges
 * of the open states merged by (newest, id), the rest of their keys. The
 * cursor given to fn is "o", newest, id, so that it sorts as the merged
 * listing does; a listing past it starts each state's range past
 * "s", state, newest, id.
 */
#define OPEN_STATES_MAX 32

struct open_state {
	uint8_t key[STORE_KEY_MAX]; /* the range's current key */
	size_t klen, plen;          /* its length, and that of its "s", state prefix */
	bool has;
};

struct first_ctx {
	uint8_t *out;
	size_t *len;
	bool *found;
};

static int first_visit(void *arg, const struct store_val *k, const struct store_val *v)
{
	struct first_ctx *c = arg;

	(void)v;
	if (k->len > STORE_KEY_MAX)
		return KF_ECORRUPT;
	memcpy(c->out, k->data, k->len);
	*c->len = k->len;
	*c->found = true;
	return LISTING_STOP;
}

/* The first key under prefix at or after from and past after, into out. */
static int first_key(struct store_txn *t, const void *prefix, size_t plen, const void *from,
		     size_t flen, const void *after, size_t alen, uint8_t *out, size_t *len,
		     bool *found)
{
	struct first_ctx c = {out, len, found};
	struct listing l = {.table = STORE_WO_INDEX, .prefix = prefix, .plen = plen,
			    .from = from, .flen = flen, .after = after, .alen = alen};

	*found = false;
	return listing_scan(t, &l, first_visit, &c);
}

/* The open states that have orders, each with its first key past the
 * cursor rest (the cursor without its "o" part; NULL: from the start). */
static int open_states(struct store_txn *t, const uint8_t *rest, size_t rlen,
		       struct open_state *st, size_t *n)
{
	uint8_t k[STORE_KEY_MAX], from[STORE_KEY_MAX + 1], after[2 * STORE_KEY_MAX];
	size_t klen, flen = 2;
	const uint8_t *p;
	size_t pn;
	bool found;
	int err;

	*n = 0;
	memcpy(from, TAG_STATE "", 2);
	for (;;) {
		if ((err = first_key(t, TAG_STATE, 2, from, flen, NULL, 0, k, &klen, &found)))
			return err;
		if (!found)
			return 0;
		if (key_part(k, klen, 1, &p, &pn) || 2 + pn + 1 > STORE_KEY_MAX)
			return KF_ECORRUPT;
		/* past this state's range: the state followed by 0x01 */
		memcpy(from + 2, p, pn);
		from[2 + pn] = 0x01;
		flen = 2 + pn + 1;
		if ((pn == 6 && memcmp(p, "closed", 6) == 0) ||
		    (pn == 9 && memcmp(p, "cancelled", 9) == 0))
			continue;
		if (*n == OPEN_STATES_MAX)
			return KF_ECORRUPT;
		st[*n].plen = 2 + pn + 1;
		if (rest) {
			memcpy(after, k, st[*n].plen);
			memcpy(after + st[*n].plen, rest, rlen);
			err = first_key(t, k, st[*n].plen, NULL, 0, after, st[*n].plen + rlen,
					st[*n].key, &st[*n].klen, &st[*n].has);
		} else {
			memcpy(st[*n].key, k, klen);
			st[*n].klen = klen;
			st[*n].has = true;
			err = 0;
		}
		if (err)
			return err;
		if (st[*n].has)
			(*n)++;
	}
}

static int list_open(struct store_txn *t, const uint8_t *after, size_t alen, size_t limit,
		     wo_list_fn fn, void *arg)
{
	struct open_state *st = malloc(OPEN_STATES_MAX * sizeof(*st));
	const uint8_t *rest = NULL;
	uint8_t cur[STORE_KEY_MAX + 2];
	char id[WO_ID_MAX + 1];
	size_t n, taken = 0, rlen = 0;
	int err = 0;

	if (!st)
		abort();
	if (after && alen) {
		int c = store_key_cmp(after, alen < 2 ? alen : 2, TAG_OPEN "", 2);

		if (c > 0)
			goto out; /* past every open order */
		if (c == 0) {
			rest = after + 2;
			rlen = alen - 2;
		}
	}
	if ((err = open_states(t, rest, rlen, st, &n)))
		goto out;
	for (;;) {
		struct open_state *best = NULL;
		const uint8_t *p;
		size_t pn, ln;
		Kefu__WorkOrder *o;
		int rc;

		for (size_t i = 0; i < n; i++)
			if (st[i].has &&
			    (!best || store_key_cmp(st[i].key + st[i].plen, st[i].klen - st[i].plen,
						    best->key + best->plen,
						    best->klen - best->plen) < 0))
				best = &st[i];
		if (!best)
			break;
		if (key_part(best->key, best->klen, 3, &p, &pn) || pn >= sizeof(id)) {
			err = KF_ECORRUPT;
			break;
		}
		memcpy(id, p, pn);
		id[pn] = '\0';
		ln = best->klen - best->plen;
		memcpy(cur, TAG_OPEN "", 2);
		memcpy(cur + 2, best->key + best->plen, ln);
		rc = wo_get(t, id, &o);
		if (rc == KF_ENOTFOUND)
			rc = KF_ECORRUPT; /* an index key without its order */
		if (rc == 0) {
			rc = fn(arg, o, cur, 2 + ln);
			kefu__work_order__free_unpacked(o, NULL);
		}
		if (rc < 0 || rc == LISTING_STOP) {
			err = rc < 0 ? rc : 0;
			break;
		}
		if (rc == 0 && limit && ++taken == limit)
			break;
		memcpy(cur, best->key, best->klen);
		err = first_key(t, best->key, best->plen, NULL, 0, cur, best->klen, best->key,
				&best->klen, &best->has);
		if (err)
			break;
	}
out:
	free(st);
	return err;
}

int wo_list(struct store_txn *t, const struct wo_filter *f, const void *after, size_t alen,
	    size_t limit, wo_list_fn fn, void *arg)
{
	static const char *const tags[] = {
		[WO_BY_OPEN] = TAG_OPEN, [WO_BY_MSISDN] = TAG_MSISDN, [WO_BY_STATE] = TAG_STATE,
		[WO_BY_GROUP] = TAG_GROUP, [WO_BY_OVERDUE] = TAG_DUE,
	};
	struct list_ctx c = {t, fn, arg, 2, 0};
	struct listing l = {.table = STORE_WO_INDEX, .after = after, .alen = after ? alen : 0,
			    .limit = limit};
	struct key prefix;

	if ((unsigned)f->by > WO_BY_OVERDUE || (after && alen > WO_CURSOR_MAX))
		return KF_EPARSE;
	if (f->by == WO_BY_OPEN)
		return list_open(t, after, after ? alen : 0, limit, fn, arg);
	key_tag(&prefix, tags[f->by]);
	if (f->by == WO_BY_MSISDN || f->by == WO_BY_STATE || f->by == WO_BY_GROUP) {
		if (!f->key || !*f->key)
			return KF_EPARSE;
		key_add_str(&prefix, f->key);
		c.id_part = 3;
	}
	if (f->by == WO_BY_OVERDUE) {
		if (!f->upto_ms)
			return KF_EPARSE;
		c.upto = f->upto_ms;
	}
	if (!key_ok(&prefix))
		return KF_EPARSE;
	l.prefix = prefix.b;
	l.plen = prefix.len;
	return listing_scan(t, &l, list_visit, &c);
}

struct open_ctx {
	Kefu__WorkOrder **out;
	size_t max, n;
};

static int open_visit(void *arg, const Kefu__WorkOrder *o, const uint8_t *cursor, size_t clen)
{
	struct open_ctx *c = arg;

	(void)cursor;
	(void)clen;
	if (!wo_is_open(o))
		return LISTING_SKIP;
	c->out[c->n] = proto_copy(&o->base, NULL);
	return ++c->n == c->max ? LISTING_STOP : 0;
}

int wo_open_of(struct store_txn *t, const char *msisdn, size_t max, Kefu__WorkOrder **out,
	       size_t *n)
{
	struct open_ctx c = {out, max, 0};
	struct wo_filter f = {WO_BY_MSISDN, msisdn, 0};
	int err = 0;

	if (max && msisdn && *msisdn)
		err = wo_list(t, &f, NULL, 0, 0, open_visit, &c);
	*n = c.n;
	return err;
}

struct due_ctx {
	wo_due_fn fn;
	void *arg;
	uint64_t upto;
	size_t limit, n;  /* calls of fn at most (0: no limit), and so far */
	uint64_t first;   /* wo_next_due: the first key's time */
};

/* One "d" key: its order, when it is due by upto. The value (the earliest
 * clock's name and next escalation; each clock's in stores written before)
 * is not read: the round takes the clocks from the record. */
static int due_visit(void *arg, const struct store_val *k, const struct store_val *v)
{
	struct due_ctx *c = arg;
	char id[WO_ID_MAX + 1];
	const uint8_t *p;
	size_t n;
	uint64_t at;
	int rc;

	(void)v;
	if (key_part(k->data, k->len, 1, &p, &n) || !part_num(p, n, &at) ||
	    !part_str(k, 2, id, sizeof(id)))
		return KF_ECORRUPT;
	if (!c->fn) {
		c->first = at;
		return LISTING_STOP;
	}
	if (at > c->upto)
		return LISTING_STOP;
	if ((rc = c->fn(c->arg, id, at)))
		return rc;
	return c->limit && ++c->n == c->limit ? LISTING_STOP : 0;
}

int wo_due(struct store_txn *t, uint64_t upto_ms, size_t limit, wo_due_fn fn, void *arg)
{
	struct due_ctx c = {fn, arg, upto_ms, limit, 0, 0};
	struct key prefix;
	struct listing l = {.table = STORE_WO_INDEX};

	key_tag(&prefix, TAG_NEXT);
	l.prefix = prefix.b;
	l.plen = prefix.len;
	return listing_scan(t, &l, due_visit, &c);
}

int wo_next_due(struct store_txn *t, uint64_t *ms)
{
	struct due_ctx c = {NULL, NULL, 0, 0, 0, UINT64_MAX};
	struct key prefix;
	struct listing l = {.table = STORE_WO_INDEX, .limit = 1};
	int err;

	key_tag(&prefix, TAG_NEXT);
	l.prefix = prefix.b;
	l.plen = prefix.len;
	err = listing_scan(t, &l, due_visit, &c);
	*ms = c.first;
	return err;
}

/* ---- escalation notices ---- */

static void notice_key(struct key *k, const Kefu__OrderEscalation *e)
{
	char n[24], lv[12];

	key_tag(k, TAG_NOTICE);
	num20(n, e->at_ms);
	key_add_str(k, n);
	key_add_str(k, e->id ? e->id : "");
	key_add_str(k, e->clock ? e->clock : "");
	snprintf(lv, sizeof(lv), "%u", e->level);
	key_add_str(k, lv);
}

int wo_notice_put(const Kefu__OrderEscalation *e, struct batch *b)
{
	uint8_t val[2048];
	size_t len = kefu__order_escalation__get_packed_size(e);
	struct key k;

	if (!e->id || !id_ok(e->id) || !e->clock || !e->has_at_ms)
		return KF_EPARSE;
	if (len > sizeof(val))
		return KF_ETOOBIG;
	notice_key(&k, e);
	if (!key_ok(&k))
		return KF_ETOOBIG;
	kefu__order_escalation__pack(e, val);
	return batch_put(b, STORE_WO_INDEX, k.b, k.len, val, len);
}

struct notice_ctx {
	wo_notice_fn fn;
	void *arg;
	uint64_t before;          /* prune: stop at this time */
	struct batch *b;
	size_t n;
};

static int notice_visit(void *arg, const struct store_val *k, const struct store_val *v)
{
	struct notice_ctx *c = arg;
	Kefu__OrderEscalation *e;
	const uint8_t *p;
	size_t n;
	uint64_t at;
	int rc;

	if (c->b) {
		if (key_part(k->data, k->len, 1, &p, &n) || !part_num(p, n, &at))
			return KF_ECORRUPT;
		if (at >= c->before)
			return LISTING_STOP;
		c->n++;
		return batch_del(c->b, STORE_WO_INDEX, k->data, k->len);
	}
	e = kefu__order_escalation__unpack(NULL, v->len, v->data);
	if (!e)
		return KF_ECORRUPT;
	rc = c->fn(c->arg, e);
	kefu__order_escalation__free_unpacked(e, NULL);
	return rc;
}

int wo_notices(struct store_txn *t, uint64_t since_ms, size_t limit, wo_notice_fn fn, void *arg)
{
	struct notice_ctx c = {fn, arg, 0, NULL, 0};
	struct key prefix, from;
	char n[24];
	struct listing l = {.table = STORE_WO_INDEX, .limit = limit};

	key_tag(&prefix, TAG_NOTICE);
	key_tag(&from, TAG_NOTICE);
	num20(n, since_ms);
	key_add_str(&from, n);
	l.prefix = prefix.b;
	l.plen = prefix.len;
	l.from = from.b;
	l.flen = from.len;
	return listing_scan(t, &l, notice_visit, &c);
}

int wo_notices_prune(struct store_txn *t, uint64_t before_ms, size_t limit, struct batch *b,
		     size_t *n)
{
	struct notice_ctx c = {NULL, NULL, before_ms, b, 0};
	struct key prefix;
	struct listing l = {.table = STORE_WO_INDEX, .limit = limit};
	int err;

	key_tag(&prefix, TAG_NOTICE);
	l.prefix = prefix.b;
	l.plen = prefix.len;
	err = listing_scan(t, &l, notice_visit, &c);
	*n = c.n;
	return err;
}

/* ---- return-visit results ---- */

static int result_key(struct key *k, const char *id)
{
	if (!id || !id_ok(id))
		return KF_EPARSE;
	key_tag(k, TAG_RESULT);
	key_add_str(k, id);
	return key_ok(k) ? 0 : KF_ETOOBIG;
}

int wo_visit_result_put(const Kefu__VisitResult *v, struct batch *b)
{
	uint8_t val[WO_DESC_MAX + 512];
	size_t len = kefu__visit_result__get_packed_size(v);
	struct key k;
	int err;

	if ((err = result_key(&k, v->order_id)))
		return err;
	if (len > sizeof(val))
		return KF_ETOOBIG;
	kefu__visit_result__pack(v, val);
	return batch_put(b, STORE_WO_INDEX, k.b, k.len, val, len);
}

int wo_visit_result_get(struct store_txn *t, const char *id, Kefu__VisitResult **out)
{
	struct store_val v;
	struct key k;
	int err;

	*out = NULL;
	if (result_key(&k, id))
		return KF_ENOTFOUND;
	if ((err = store_get(t, STORE_WO_INDEX, k.b, k.len, &v)))
		return err;
	*out = kefu__visit_result__unpack(NULL, v.len, v.data);
	return *out ? 0 : KF_ECORRUPT;
}

int wo_visit_result_del(const char *id, struct batch *b)
{
	struct key k;
	int err;

	if ((err = result_key(&k, id)))
		return err;
	return batch_del(b, STORE_WO_INDEX, k.b, k.len);
}

struct result_ctx {
	wo_visit_result_fn fn;
	void *arg;
};

static int result_visit(void *arg, const struct store_val *k, const struct store_val *v)
{
	struct result_ctx *c = arg;
	Kefu__VisitResult *r = kefu__visit_result__unpack(NULL, v->len, v->data);
	int rc;

	(void)k;
	if (!r)
		return KF_ECORRUPT;
	rc = c->fn(c->arg, r);
	kefu__visit_result__free_unpacked(r, NULL);
	return rc;
}

int wo_visit_results(struct store_txn *t, size_t limit, wo_visit_result_fn fn, void *arg)
{
	struct result_ctx c = {fn, arg};
	struct key prefix;
	struct listing l = {.table = STORE_WO_INDEX, .limit = limit};

	key_tag(&prefix, TAG_RESULT);
	l.prefix = prefix.b;
	l.plen = prefix.len;
	return listing_scan(t, &l, result_visit, &c);
}
