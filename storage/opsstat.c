/*
 * Interval statistics as stored (storage/opsstat.h).
 */
#include "storage/opsstat.h"

#include "lib/err.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#define NR_PREFIX "nr:"

bool opsstat_kind_is_row(char kind)
{
	return kind == OPS_KIND_TIER || kind == OPS_KIND_SKILL || kind == OPS_KIND_AGENT;
}

static void put_be64(uint8_t *p, uint64_t v)
{
	for (int i = 7; i >= 0; i--, v >>= 8)
		p[i] = (uint8_t)v;
}

static uint64_t get_be64(const uint8_t *p)
{
	uint64_t v = 0;

	for (int i = 0; i < 8; i++)
		v = v << 8 | p[i];
	return v;
}

size_t opsstat_key(uint8_t *k, char kind, uint64_t start_ms, const char *name)
{
	size_t n = strlen(name);

	if (n >= OPS_NAME_MAX)
		return 0;
	k[0] = (uint8_t)kind;
	put_be64(k + 1, start_ms);
	memcpy(k + 9, name, n);
	return 9 + n;
}

bool opsstat_key_parse(const void *key, size_t len, char *kind, uint64_t *start_ms,
		       char name[OPS_NAME_MAX])
{
	const uint8_t *k = key;

	if (len < 9 || len - 9 >= OPS_NAME_MAX)
		return false;
	*kind = (char)k[0];
	if (*kind != OPS_KIND_CLOSED && !opsstat_kind_is_row(*kind))
		return false;
	*start_ms = get_be64(k + 1);
	memcpy(name, k + 9, len - 9);
	name[len - 9] = '\0';
	return memchr(name, '\0', len - 9) == NULL;
}

bool opsstat_field(const char *field, size_t len, char *kind, char name[OPS_NAME_MAX],
		   const char **counter, size_t *clen)
{
	const char *colon;
	size_t n;

	if (len < 5 || field[1] != ':' || !opsstat_kind_is_row(field[0]))
		return false;
	colon = memchr(field + 2, ':', len - 2);
	if (!colon)
		return false;
	n = (size_t)(colon - (field + 2));
	if (n == 0 || n >= OPS_NAME_MAX || memchr(field + 2, '\0', n))
		return false;
	*kind = field[0];
	memcpy(name, field + 2, n);
	name[n] = '\0';
	*counter = colon + 1;
	*clen = len - (size_t)(*counter - field);
	return *clen > 0;
}

Kefu__OpsCounts *opsstat_counts_new(void)
{
	Kefu__OpsCounts *c = malloc(sizeof(*c));

	if (!c)
		abort();
	kefu__ops_counts__init(c);
	return c;
}

/* The uint64 field of OpsCounts named name[0..len), or NULL. */
static const ProtobufCFieldDescriptor *field_named(const char *name, size_t len)
{
	const ProtobufCMessageDescriptor *d = &kefu__ops_counts__descriptor;

	for (unsigned i = 0; i < d->n_fields; i++) {
		const ProtobufCFieldDescriptor *f = &d->fields[i];

		if (f->type == PROTOBUF_C_TYPE_UINT64 && f->label == PROTOBUF_C_LABEL_OPTIONAL &&
		    strlen(f->name) == len && memcmp(f->name, name, len) == 0)
			return f;
	}
	return NULL;
}

static void field_add(Kefu__OpsCounts *c, const ProtobufCFieldDescriptor *f, uint64_t v)
{
	uint64_t *val = (uint64_t *)((char *)c + f->offset);
	protobuf_c_boolean *has = (protobuf_c_boolean *)((char *)c + f->quantifier_offset);

	if (f->offset == offsetof(Kefu__OpsCounts, max_wait_ms))
		*val = *has && *val > v ? *val : v;
	else
		*val = (*has ? *val : 0) + v;
	*has = 1;
}

static void reason_add(Kefu__OpsCounts *c, const char *reason, size_t len, uint64_t ms)
{
	Kefu__OpsReason *r;

	for (size_t i = 0; i < c->n_not_ready; i++) {
		r = c->not_ready[i];
		if (strlen(r->reason) == len && memcmp(r->reason, reason, len) == 0) {
			r->ms += ms;
			return;
		}
	}
	c->not_ready = realloc(c->not_ready, (c->n_not_ready + 1) * sizeof(*c->not_ready));
	r = malloc(sizeof(*r));
	if (!c->not_ready || !r)
		abort();
	kefu__ops_reason__init(r);
	r->reason = strndup(reason, len);
	if (!r->reason)
		abort();
	r->has_ms = 1;
	r->ms = ms;
	c->not_ready[c->n_not_ready++] = r;
}

int opsstat_add(Kefu__OpsCounts *c, const char *counter, size_t clen, uint64_t v)
{
	const ProtobufCFieldDescriptor *f;

	if (clen >= sizeof(NR_PREFIX) - 1 &&
	    memcmp(counter, NR_PREFIX, sizeof(NR_PREFIX) - 1) == 0) {
		size_t rl = clen - (sizeof(NR_PREFIX) - 1);

		if (rl >= OPS_NAME_MAX || memchr(counter + sizeof(NR_PREFIX) - 1, '\0', rl))
			return KF_ENOTFOUND;
		reason_add(c, counter + sizeof(NR_PREFIX) - 1, rl, v);
		return 0;
	}
	if (!(f = field_named(counter, clen)))
		return KF_ENOTFOUND;
	field_add(c, f, v);
	return 0;
}

void opsstat_sum(Kefu__OpsCounts *into, const Kefu__OpsCounts *from)
{
	const ProtobufCMessageDescriptor *d = &kefu__ops_counts__descriptor;

	for (unsigned i = 0; i < d->n_fields; i++) {
		const ProtobufCFieldDescriptor *f = &d->fields[i];

		if (f->type != PROTOBUF_C_TYPE_UINT64 || f->label != PROTOBUF_C_LABEL_OPTIONAL)
			continue;
		if (*(const protobuf_c_boolean *)((const char *)from + f->quantifier_offset))
			field_add(into, f, *(const uint64_t *)((const char *)from + f->offset));
	}
	for (size_t i = 0; i < from->n_not_ready; i++) {
		const Kefu__OpsReason *r = from->not_ready[i];

		if (r->reason)
			reason_add(into, r->reason, strlen(r->reason), r->ms);
	}
}

static double ratio(uint64_t num, uint64_t den, bool *has)
{
	*has = den > 0;
	return den ? (double)num / (double)den : 0;
}

void opsstat_figures(const Kefu__OpsCounts *c, bool agent, struct opsstat_figures *f)
{
	uint64_t busy = c->talk_ms + c->ring_ms + c->wrap_ms;

	memset(f, 0, sizeof(*f));
	f->service_level = ratio(c->answered_in_sl, c->offered, &f->has_service_level);
	f->sl2 = ratio(c->answered_in_sl + c->abandoned_in_sl, c->answered + c->abandoned,
		       &f->has_sl2);
	f->answer_rate = ratio(c->answered, c->offered, &f->has_answer_rate);
	f->asa_ms = ratio(c->wait_ms, c->answered, &f->has_asa);
	if (agent) {
		f->aht_ms = ratio(c->talk_ms + c->hold_ms + c->wrap_ms, c->calls, &f->has_aht);
		f->occupancy = ratio(busy, busy + c->ready_ms, &f->has_occupancy);
	} else {
		f->aht_ms = ratio(c->talk_ms + c->hold_ms + c->wrap_ms, c->handled, &f->has_aht);
	}
}

static int put_msg(struct batch *b, const uint8_t *k, size_t klen, const ProtobufCMessage *m)
{
	return batch_put_msg(b, STORE_OPS, k, klen, m);
}

int opsstat_put_interval(struct batch *b, uint64_t start_ms, uint64_t length_ms,
			 uint64_t closed_ms, const char *closed_by, const char *kinds,
			 const char *const *names, Kefu__OpsCounts *const *counts, size_t n)
{
	Kefu__OpsInterval iv = KEFU__OPS_INTERVAL__INIT;
	uint8_t k[OPS_KEY_MAX];
	size_t klen;
	int err;

	for (size_t i = 0; i < n; i++) {
		if (!opsstat_kind_is_row(kinds[i]) || !names[i][0] ||
		    !(klen = opsstat_key(k, kinds[i], start_ms, names[i])))
			return KF_EPARSE;
		if ((err = put_msg(b, k, klen, &counts[i]->base)))
			return err;
	}
	iv.has_start_ms = iv.has_length_ms = iv.has_closed_ms = iv.has_rows = 1;
	iv.start_ms = start_ms;
	iv.length_ms = length_ms;
	iv.closed_ms = closed_ms;
	iv.closed_by = (char *)closed_by;
	iv.rows = (uint32_t)n;
	klen = opsstat_key(k, OPS_KIND_CLOSED, start_ms, "");
	return put_msg(b, k, klen, &iv.base);
}

int opsstat_closed(struct store_txn *t, uint64_t start_ms)
{
	uint8_t k[OPS_KEY_MAX];
	size_t klen = opsstat_key(k, OPS_KIND_CLOSED, start_ms, "");
	struct store_val v;

	return store_get(t, STORE_OPS, k, klen, &v);
}

static int last_visit(void *arg, const struct store_val *key, const struct store_val *val)
{
	char kind, name[OPS_NAME_MAX];

	(void)val;
	if (!opsstat_key_parse(key->data, key->len, &kind, arg, name))
		return KF_ECORRUPT;
	return 1;
}

int opsstat_last_closed(struct store_txn *t, uint64_t *start_ms)
{
	uint8_t prefix = OPS_KIND_CLOSED;
	uint64_t found = UINT64_MAX;
	int err = store_scan(t, STORE_OPS, &prefix, 1, NULL, 0, true, last_visit, &found);

	if (err)
		return err;
	if (found == UINT64_MAX)
		return KF_ENOTFOUND;
	*start_ms = found;
	return 0;
}

/* A bump allocator for the rows a scan unpacks: one row lives at a time,
 * so the arena starts over for each (no malloc or free per field). */
#define ARENA_BYTES 16384

struct arena {
	size_t used;
	max_align_t buf[ARENA_BYTES / sizeof(max_align_t)];
};

static void *arena_alloc(void *data, size_t size)
{
	struct arena *a = data;
	size_t need = (size + sizeof(max_align_t) - 1) / sizeof(max_align_t) * sizeof(max_align_t);

	if (need > sizeof(a->buf) - a->used)
		return NULL; /* unpack fails: the row is reported corrupt */
	a->used += need;
	return (char *)a->buf + a->used - need;
}

static void arena_free(void *data, void *p)
{
	(void)data;
	(void)p;
}

struct scan {
	char kind;
	uint64_t to_ms;
	opsstat_row_fn fn;
	void *arg;
	struct arena *arena;
	ProtobufCAllocator alloc;
};

static int scan_visit(void *arg, const struct store_val *key, const struct store_val *val)
{
	struct scan *s = arg;
	char kind, name[OPS_NAME_MAX];
	uint64_t start;
	Kefu__OpsCounts *c = NULL;

	if (!opsstat_key_parse(key->data, key->len, &kind, &start, name) || kind != s->kind)
		return KF_ECORRUPT;
	if (start >= s->to_ms)
		return 1;
	s->arena->used = 0;
	if (kind != OPS_KIND_CLOSED &&
	    !(c = kefu__ops_counts__unpack(&s->alloc, val->len, val->data)))
		return KF_ECORRUPT;
	return s->fn(s->arg, start, name, c);
}

int opsstat_scan(struct store_txn *t, char kind, uint64_t from_ms, uint64_t to_ms,
		 opsstat_row_fn fn, void *arg)
{
	struct scan s = {kind, to_ms, fn, arg, NULL, {arena_alloc, arena_free, NULL}};
	uint8_t prefix = (uint8_t)kind, start[9];
	int err;

	if (from_ms >= to_ms)
		return 0;
	s.arena = malloc(sizeof(*s.arena));
	if (!s.arena)
		abort();
	s.alloc.allocator_data = s.arena;
	opsstat_key(start, kind, from_ms, "");
	err = store_scan(t, STORE_OPS, &prefix, 1, start, 9, false, scan_visit, &s);
	free(s.arena);
	return err;
}
