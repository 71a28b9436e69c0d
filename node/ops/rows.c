/*
 * Counts by (kind, name), made from the interval hashes in Redis and from
 * the closed intervals in LMDB (ops_int.h).
 */
#include "node/ops/ops_int.h"

#include "cluster/repl.h"
#include "lib/err.h"
#include "node/hot.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* FNV-1a of the kind and the name. */
static uint64_t row_hash(char kind, const char *name)
{
	uint64_t h = 14695981039346656037ull ^ (uint8_t)kind;

	h *= 1099511628211ull;
	for (; *name; name++) {
		h ^= (uint8_t)*name;
		h *= 1099511628211ull;
	}
	return h;
}

/* The open-addressing index of rs (slots hold row index + 1), rebuilt
 * twice as large when half full. */
static void index_grow(struct ops_rows *rs)
{
	size_t n = rs->nslot ? rs->nslot * 2 : 64;

	free(rs->slot);
	rs->slot = calloc(n, sizeof(*rs->slot));
	if (!rs->slot)
		abort();
	rs->nslot = n;
	for (size_t i = 0; i < rs->n; i++) {
		size_t k = row_hash(rs->v[i].kind, rs->v[i].name) & (n - 1);

		while (rs->slot[k])
			k = (k + 1) & (n - 1);
		rs->slot[k] = (uint32_t)(i + 1);
	}
}

/* The slot of (kind, name): the row's, or the empty one it would take. */
static size_t probe(const struct ops_rows *rs, char kind, const char *name)
{
	size_t k = row_hash(kind, name) & (rs->nslot - 1);

	for (; rs->slot[k]; k = (k + 1) & (rs->nslot - 1)) {
		const struct ops_row *r = &rs->v[rs->slot[k] - 1];

		if (r->kind == kind && strcmp(r->name, name) == 0)
			break;
	}
	return k;
}

const Kefu__OpsCounts *ops__row_find(const struct ops_rows *rs, char kind, const char *name)
{
	size_t k;

	if (!rs->nslot)
		return NULL;
	k = probe(rs, kind, name);
	return rs->slot[k] ? rs->v[rs->slot[k] - 1].c : NULL;
}

struct ops_row *ops__row(struct ops_rows *rs, char kind, const char *name)
{
	struct ops_row *r;
	size_t k;

	if ((rs->n + 1) * 2 > rs->nslot)
		index_grow(rs);
	k = probe(rs, kind, name);
	if (rs->slot[k])
		return &rs->v[rs->slot[k] - 1];
	if (rs->n == rs->cap) {
		rs->cap = rs->cap ? rs->cap * 2 : 16;
		rs->v = realloc(rs->v, rs->cap * sizeof(*rs->v));
		if (!rs->v)
			abort();
	}
	r = &rs->v[rs->n++];
	rs->slot[k] = (uint32_t)rs->n;
	memset(r, 0, sizeof(*r));
	r->kind = kind;
	r->last_iv = UINT64_MAX;
	snprintf(r->name, sizeof(r->name), "%s", name);
	r->c = opsstat_counts_new();
	return r;
}

void ops__rows_free(struct ops_rows *rs)
{
	for (size_t i = 0; i < rs->n; i++)
		kefu__ops_counts__free_unpacked(rs->v[i].c, NULL);
	free(rs->v);
	free(rs->slot);
	memset(rs, 0, sizeof(*rs));
}

static bool parse_u64(const char *s, size_t len, uint64_t *v)
{
	uint64_t n = 0;

	if (len == 0 || len > 19)
		return false;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		n = n * 10 + (uint64_t)(s[i] - '0');
	}
	*v = n;
	return true;
}

/* Row r takes part in the interval at start: counted once per interval. */
static void row_interval(struct ops_row *r, uint64_t start, bool open)
{
	if (r->last_iv == start)
		return;
	r->last_iv = start;
	r->intervals++;
	r->open += open;
}

void ops__rows_add_hash(struct ops_rows *rs, uint64_t start, const struct redis_reply *h,
			const char *kinds, bool open)
{
	if (!h || h->type != REDIS_TYPE_ARRAY)
		return;
	for (size_t i = 0; i + 1 < h->n; i += 2) {
		const struct redis_reply *f = h->elem[i], *v = h->elem[i + 1];
		char kind, name[OPS_NAME_MAX];
		const char *counter;
		size_t clen;
		uint64_t n;
		struct ops_row *r;

		if (f->type != REDIS_TYPE_STRING || v->type != REDIS_TYPE_STRING ||
		    !opsstat_field(f->str, f->len, &kind, name, &counter, &clen) ||
		    !strchr(kinds, kind) || !parse_u64(v->str, v->len, &n))
			continue;
		r = ops__row(rs, kind, name);
		if (opsstat_add(r->c, counter, clen, n) == 0)
			row_interval(r, start, open);
	}
}

struct closed_scan {
	struct ops_rows *rs;
	char kind;
	bool by_interval;
};

static int closed_visit(void *arg, uint64_t start, const char *name, const Kefu__OpsCounts *c)
{
	struct closed_scan *s = arg;
	char key[24];
	struct ops_row *r;

	if (s->by_interval) {
		snprintf(key, sizeof(key), "%" PRIu64, start);
		name = key;
	}
	r = ops__row(s->rs, s->kind, name);
	opsstat_sum(r->c, c);
	row_interval(r, start, false);
	return 0;
}

int ops__rows_add_closed(struct ops *o, struct ops_rows *rs, char kind, uint64_t from,
			 uint64_t to, bool by_interval)
{
	struct closed_scan s = {rs, kind, by_interval};
	struct store_txn *t;
	int err = store_read_begin(o->sto->store, &t);

	if (err)
		return err;
	err = opsstat_scan(t, kind, from, to, closed_visit, &s);
	store_abort(t);
	return err;
}

void ops__argv_free(char **argv, int argc)
{
	for (int i = 0; i < argc; i++)
		free(argv[i]);
	free(argv);
}

struct ids {
	struct ops *o;
	char **argv;
	int argc, cap;
};

static void argv_push(struct ids *s, char *str)
{
	if (!str)
		abort();
	if (s->argc == s->cap) {
		s->cap = s->cap ? s->cap * 2 : 64;
		s->argv = realloc(s->argv, (size_t)s->cap * sizeof(*s->argv));
		if (!s->argv)
			abort();
	}
	s->argv[s->argc++] = str;
}

static char *key_of(struct ops *o, const char *kind, const char *id)
{
	char k[HOT_KEY_MAX];

	if (hot_key(o->hot, k, sizeof(k), kind, id))
		return NULL;
	return strdup(k);
}

static int id_visit(void *arg, const struct store_val *key, const struct store_val *val)
{
	struct ids *s = arg;
	char id[OPS_NAME_MAX];
	char *k;

	(void)val;
	if (key->len == 0 || key->len >= sizeof(id))
		return 0;
	memcpy(id, key->data, key->len);
	id[key->len] = '\0';
	if ((k = key_of(s->o, "agent:", id)))
		argv_push(s, k);
	return 0;
}

int ops__iv_read_argv(struct ops *o, const uint64_t *starts, size_t nstarts, bool agents,
		      char ***argv, int *argc, int *nkeys)
{
	struct ids s = {o, NULL, 0, 0};
	struct store_txn *t;
	char num[24];
	int err = 0;

	argv_push(&s, key_of(o, "epoch", ""));
	if (agents && (err = store_read_begin(o->sto->store, &t)) == 0) {
		err = store_scan(t, STORE_AGENT, NULL, 0, NULL, 0, false, id_visit, &s);
		store_abort(t);
	}
	if (err) {
		ops__argv_free(s.argv, s.argc);
		return err;
	}
	*nkeys = s.argc;
	snprintf(num, sizeof(num), "%" PRIu64, ops__epoch(o));
	argv_push(&s, strdup(num));
	snprintf(num, sizeof(num), "%" PRIu64, ops__now_ms());
	argv_push(&s, strdup(num));
	for (size_t i = 0; i < nstarts; i++) {
		snprintf(num, sizeof(num), "%" PRIu64, starts[i]);
		argv_push(&s, strdup(num));
	}
	*argv = s.argv;
	*argc = s.argc;
	return 0;
}
