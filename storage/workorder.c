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

#define NEWEST_BASE UINT64_MAX

static void num20(char out[24], uint64_t v)
{
	snprintf(out, 24, "%020" PRIu64, v);
}

/* A 20-digit part back to its number; false when it is not one. */
static bool part_num(const uint8_t *p, size_t n, uint64_t *out)
{
	uint64_t v = 0;

	if (n != 20)
		return false;
	for (size_t i = 0; i < n; i++) {
		if (p[i] < '0' || p[i] > '9')
			return false;
		v = v * 10 + (uint64_t)(p[i] - '0');
	}
	*out = v;
	return true;
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

/* The most index keys one order has: m, s, g, o, u and a "d" per clock. */
#define INDEX_KEYS_MAX 8

/* The index keys of o into out; their number. */
static size_t index_keys(const Kefu__WorkOrder *o, struct key out[INDEX_KEYS_MAX])
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
		key_tag(&out[k], by[i].tag);
		key_add_str(&out[k], by[i].part);
		key_newest(&out[k], o->created_ms);
		key_add_str(&out[k++], o->id);
	}
	if (!wo_is_open(o))
		return k;
	key_tag(&out[k], TAG_OPEN);
	key_newest(&out[k], o->created_ms);
	key_add_str(&out[k++], o->id);
	if ((due = earliest_due(o))) {
		key_tag(&out[k], TAG_DUE);
		num20(n, due);
		key_add_str(&out[k], n);
		key_add_str(&out[k++], o->id);
	}
	for (size_t i = 0; i < o->n_clocks && k < INDEX_KEYS_MAX; i++) {
		const Kefu__OrderClock *c = o->clocks[i];

		if (!c->next_level || !c->next_ms || !c->name)
			continue;
		key_tag(&out[k], TAG_NEXT);
		num20(n, c->next_ms);
		key_add_str(&out[k], n);
		key_add_str(&out[k], o->id);
		key_add_str(&out[k++], c->name);
	}
	return k;
}

static bool key_in(const struct key *k, const struct key *set, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (set[i].len == k->len && memcmp(set[i].b, k->b, k->len) == 0)
			return true;
	return false;
}

/*
 * The ops that move the index from old's keys to o's: a key both have is
 * left alone (a write of the same key would still dirty its page), one only
 * old has is deleted, one only o has is put.
 */
static int index_move(const Kefu__WorkOrder *old, const Kefu__WorkOrder *o, struct batch *b)
{
	struct key *was = malloc(2 * INDEX_KEYS_MAX * sizeof(*was)), *now;
	size_t nwas, nnow;
	int err = 0;

	if (!was)
		abort();
	now = was + INDEX_KEYS_MAX;
	nwas = old ? index_keys(old, was) : 0;
	nnow = index_keys(o, now);
	for (size_t i = 0; i < nwas && !err; i++)
		if (key_ok(&was[i]) && !key_in(&was[i], now, nnow))
			err = batch_del(b, STORE_WO_INDEX, was[i].b, was[i].len);
	for (size_t i = 0; i < nnow && !err; i++) {
		if (!key_ok(&now[i]))
			err = KF_ETOOBIG;
		else if (!key_in(&now[i], was, nwas))
			err = batch_put(b, STORE_WO_INDEX, now[i].b, now[i].len, "", 0);
	}
	free(was);
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

int wo_get(struct store_txn *t, const char *id, Kefu__WorkOrder **out)
{
	struct store_val v;
	struct key k;
	int err;

	if (!id_ok(id))
		return KF_ENOTFOUND;
	record_key(&k, id);
	if ((err = store_get(t, STORE_WO, k.b, k.len, &v)))
		return err;
	*out = kefu__work_order__unpack(NULL, v.len, v.data);
	return *out ? 0 : KF_ECORRUPT;
}

int wo_put(const Kefu__WorkOrder *old, const Kefu__WorkOrder *o, struct batch *b)
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
	if ((err = index_move(old, o, b)))
		return err;
	if (!old && o->client_ref && *o->client_ref) {
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

/* A decimal value of the index (a sequence, a time) into *out. */
static int get_decimal(struct store_txn *t, const struct key *k, uint64_t *out)
{
	struct store_val v;
	uint64_t n = 0;
	int err = store_get(t, STORE_WO_INDEX, k->b, k->len, &v);

	*out = 0;
	if (err == KF_ENOTFOUND)
		return 0;
	if (err)
		return err;
	if (v.len == 0 || v.len > 19)
		return KF_ECORRUPT;
	for (size_t i = 0; i < v.len; i++) {
		uint8_t c = ((const uint8_t *)v.data)[i];

		if (c < '0' || c > '9')
			return KF_ECORRUPT;
		n = n * 10 + (uint64_t)(c - '0');
	}
	*out = n;
	return 0;
}

static int put_decimal(const struct key *k, uint64_t v, struct batch *b)
{
	char s[24];
	int n = snprintf(s, sizeof(s), "%" PRIu64, v);

	return batch_put(b, STORE_WO_INDEX, k->b, k->len, s, (size_t)n);
}

int wo_next_id(struct store_txn *t, const char *prov, const char *date, struct batch *b,
	       char out[WO_ID_MAX + 1])
{
	struct key k;
	uint64_t seq;
	int err;

	if (!prov || strlen(prov) != 2 || prov[0] < 'A' || prov[0] > 'Z' || prov[1] < 'A' ||
	    prov[1] > 'Z' || !date || strlen(date) != 8 || strspn(date, "0123456789") != 8)
		return KF_EPARSE;
	key_tag(&k, TAG_SEQ);
	key_add_str(&k, date);
	if ((err = get_decimal(t, &k, &seq)))
		return err;
	seq++;
	snprintf(out, WO_ID_MAX + 1, "%s%s%06" PRIu64, prov, date, seq);
	return put_decimal(&k, seq, b);
}

int wo_by_ref(struct store_txn *t, const char *client_ref, char out[WO_ID_MAX + 1])
{
	struct store_val v;
	struct key k;
	int err;

	if (!client_ref || !*client_ref)
		return KF_ENOTFOUND;
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
	uint64_t first;   /* wo_next_due: the first key's time */
};

static int due_visit(void *arg, const struct store_val *k, const struct store_val *v)
{
	struct due_ctx *c = arg;
	char id[WO_ID_MAX + 1], clock[WO_TEXT_MAX + 1];
	const uint8_t *p;
	size_t n;
	uint64_t at;

	(void)v;
	if (key_part(k->data, k->len, 1, &p, &n) || !part_num(p, n, &at) ||
	    !part_str(k, 2, id, sizeof(id)) || !part_str(k, 3, clock, sizeof(clock)))
		return KF_ECORRUPT;
	if (!c->fn) {
		c->first = at;
		return LISTING_STOP;
	}
	if (at > c->upto)
		return LISTING_STOP;
	return c->fn(c->arg, id, clock, at);
}

int wo_due(struct store_txn *t, uint64_t upto_ms, size_t limit, wo_due_fn fn, void *arg)
{
	struct due_ctx c = {fn, arg, upto_ms, 0};
	struct key prefix;
	struct listing l = {.table = STORE_WO_INDEX, .limit = limit};

	key_tag(&prefix, TAG_NEXT);
	l.prefix = prefix.b;
	l.plen = prefix.len;
	return listing_scan(t, &l, due_visit, &c);
}

int wo_next_due(struct store_txn *t, uint64_t *ms)
{
	struct due_ctx c = {NULL, NULL, 0, UINT64_MAX};
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
