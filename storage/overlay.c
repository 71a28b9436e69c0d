/*
 * The chunk overlay: noted ops and fetched reads in one open-addressing
 * hash table keyed by (table, key). See overlay.h. The table's slots are
 * 8 bytes (hash and entry number) so that it stays in the cache; entries
 * sit in an array in the order they came, which is the order the records
 * read them again.
 *
 * An entry's key points into the batch (a noted op) or into the overlay's
 * own arena (a wanted or read key); its value into the batch or into the
 * transaction's map. All of it lives until the next flush, which empties
 * the table.
 */
#include "storage/overlay.h"

#include "lib/err.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Average key bytes the arena holds per key before hints are dropped. */
#define OVERLAY_KEY_BYTES 32

enum ov_state {
	OV_WANTED = 1,      /* to be fetched */
	OV_PRESENT,     /* val/vlen is the value */
	OV_ABSENT,      /* no such key */
};

struct ov_entry {
	const uint8_t *key;
	const void *val;
	uint32_t vlen;
	uint16_t klen;
	uint8_t table;
	uint8_t state;
};

/* A slot: 0 free, else the key's hash (high half) and entry number + 1. */
#define OV_SLOT(hash, i) ((uint64_t)(hash) << 32 | (uint64_t)((i) + 1))

struct overlay {
	struct store_txn *t;
	struct batch *b;
	size_t noted;            /* ops of b already in the table */
	size_t max_keys, nkeys;  /* entries: at most, in use */
	size_t mask;             /* slots - 1, slots a power of two >= 2 * max_keys */
	uint64_t *slot;
	struct ov_entry *ent;
	uint8_t *arena;          /* copies of wanted and read keys */
	size_t arena_cap, arena_used;
	size_t nwanted;          /* entries [0, nwanted) may be OV_WANTED */
	overlay_sink_fn sink;
	void *sink_arg;
};

static void *ov_alloc(size_t n)
{
	void *p = calloc(1, n ? n : 1);

	if (!p)
		abort();
	return p;
}

struct overlay *overlay_new(size_t max_keys)
{
	struct overlay *ov = ov_alloc(sizeof(*ov));
	size_t slots = 16;

	while (slots < 2 * max_keys)
		slots *= 2;
	ov->max_keys = max_keys;
	ov->mask = slots - 1;
	ov->slot = ov_alloc(slots * sizeof(*ov->slot));
	ov->ent = ov_alloc(max_keys * sizeof(*ov->ent));
	ov->arena_cap = max_keys * OVERLAY_KEY_BYTES;
	ov->arena = ov_alloc(ov->arena_cap);
	return ov;
}

void overlay_free(struct overlay *ov)
{
	if (!ov)
		return;
	free(ov->slot);
	free(ov->ent);
	free(ov->arena);
	free(ov);
}

/* ov_clear - forget every entry. */
static void ov_clear(struct overlay *ov)
{
	memset(ov->slot, 0, (ov->mask + 1) * sizeof(*ov->slot));
	ov->nkeys = 0;
	ov->arena_used = 0;
	ov->nwanted = 0;
	ov->noted = 0;
}

void overlay_begin(struct overlay *ov, struct store_txn *t, struct batch *b)
{
	ov->t = t;
	ov->b = b;
	ov_clear(ov);
}

/* FNV-1a over the table id and the key. */
static uint32_t ov_hash(enum store_table table, const uint8_t *key, size_t klen)
{
	uint32_t h = 2166136261u ^ (uint32_t)table;

	h *= 16777619u;
	for (size_t i = 0; i < klen; i++) {
		h ^= key[i];
		h *= 16777619u;
	}
	return h;
}

/*
 * ov_find - the entry of (table, key), or NULL with *slot set to the free
 * slot where it would go.
 */
static struct ov_entry *ov_find(struct overlay *ov, enum store_table table, const void *key,
				size_t klen, uint32_t hash, uint64_t **slot)
{
	for (size_t i = hash & ov->mask;; i = (i + 1) & ov->mask) {
		uint64_t sl = ov->slot[i];
		struct ov_entry *e;

		if (sl == 0) {
			*slot = &ov->slot[i];
			return NULL;
		}
		if ((uint32_t)(sl >> 32) != hash)
			continue;
		e = &ov->ent[(uint32_t)sl - 1];
		if (e->table == (uint8_t)table && e->klen == klen && memcmp(e->key, key, klen) == 0)
			return e;
	}
}

/*
 * ov_claim - a new entry for (table, key) in the free slot. copy: the key
 * is the caller's and is copied into the arena. NULL when the overlay is
 * full.
 */
static struct ov_entry *ov_claim(struct overlay *ov, uint64_t *slot, enum store_table table,
				 const void *key, size_t klen, uint32_t hash, bool copy)
{
	struct ov_entry *e;

	if (ov->nkeys >= ov->max_keys || (copy && klen > ov->arena_cap - ov->arena_used))
		return NULL;
	if (copy) {
		memcpy(ov->arena + ov->arena_used, key, klen);
		key = ov->arena + ov->arena_used;
		ov->arena_used += klen;
	}
	e = &ov->ent[ov->nkeys];
	*e = (struct ov_entry){key, NULL, 0, (uint16_t)klen, (uint8_t)table, OV_WANTED};
	*slot = OV_SLOT(hash, ov->nkeys);
	ov->nkeys++;
	return e;
}

/* ov_read - read e's key from the transaction into e. */
static int ov_read(struct overlay *ov, struct ov_entry *e)
{
	struct store_val v;
	int r = store_get(ov->t, (enum store_table)e->table, e->key, e->klen, &v);

	if (r == KF_ENOTFOUND) {
		e->state = OV_ABSENT;
		return 0;
	}
	if (r)
		return r;
	e->state = OV_PRESENT;
	e->val = v.data;
	e->vlen = (uint32_t)v.len;
	return 0;
}

int overlay_want(struct overlay *ov, enum store_table table, const void *key, size_t klen)
{
	uint32_t hash;
	uint64_t *slot;

	if (klen > STORE_KEY_MAX)
		return KF_ETOOBIG;
	hash = ov_hash(table, key, klen);
	if (!ov_find(ov, table, key, klen, hash, &slot) &&
	    ov_claim(ov, slot, table, key, klen, hash, true))
		ov->nwanted = ov->nkeys;
	return 0;
}

/* Fetch order: table and key head, then the full key. */
struct ov_sortent {
	struct store_key_head head;
	struct ov_entry *e;
};

static int ov_sortent_cmp(const void *pa, const void *pb)
{
	const struct ov_sortent *a = pa, *b = pb;
	int c = store_key_head_cmp(&a->head, &b->head);

	return c ? c : store_key_cmp(a->e->key, a->e->klen, b->e->key, b->e->klen);
}

int overlay_fetch(struct overlay *ov)
{
	struct ov_sortent *s = ov_alloc(ov->nwanted * sizeof(*s));
	size_t n = 0;
	int r = 0;

	for (size_t i = 0; i < ov->nwanted; i++) {
		struct ov_entry *e = &ov->ent[i];

		if (e->state == OV_WANTED)
			s[n++] = (struct ov_sortent){
				store_key_head((enum store_table)e->table, e->key, e->klen), e};
	}
	qsort(s, n, sizeof(*s), ov_sortent_cmp);
	for (size_t i = 0; i < n && r == 0; i++)
		r = ov_read(ov, s[i].e);
	free(s);
	ov->nwanted = 0;
	return r;
}

static int ov_get(void *src, enum store_table table, const void *key, size_t klen,
		  struct store_val *val)
{
	struct overlay *ov = src;
	struct ov_entry *e, scratch;
	uint64_t *slot;
	uint32_t hash;
	int r;

	if (klen == 0 || klen > STORE_KEY_MAX)
		return store_get(ov->t, table, key, klen, val); /* its answer for such keys */
	hash = ov_hash(table, key, klen);
	e = ov_find(ov, table, key, klen, hash, &slot);
	if (!e && !(e = ov_claim(ov, slot, table, key, klen, hash, true))) {
		/* Full: read through without keeping the answer. */
		scratch = (struct ov_entry){key, NULL, 0, (uint16_t)klen, (uint8_t)table,
					    OV_WANTED};
		e = &scratch;
	}
	if (e->state == OV_WANTED && (r = ov_read(ov, e)))
		return r;
	if (e->state == OV_ABSENT)
		return KF_ENOTFOUND;
	val->data = e->val;
	val->len = e->vlen;
	return 0;
}

static int ov_scan(void *src, enum store_table table, const void *prefix, size_t plen,
		   const void *start, size_t slen, bool reverse, store_scan_fn fn, void *arg)
{
	struct overlay *ov = src;
	int r = overlay_flush(ov);

	return r ? r : store_scan(ov->t, table, prefix, plen, start, slen, reverse, fn, arg);
}

struct store_view overlay_view(struct overlay *ov)
{
	return (struct store_view){ov_get, ov_scan, ov};
}

int overlay_note(struct overlay *ov)
{
	size_t n = batch_count(ov->b);

	if (n - ov->noted > ov->max_keys - ov->nkeys)
		return overlay_flush(ov); /* everything pending is then in t */
	for (; ov->noted < n; ov->noted++) {
		struct batch_op op = batch_op(ov->b, ov->noted);
		uint32_t hash = ov_hash(op.table, op.key, op.klen);
		uint64_t *slot;
		struct ov_entry *e = ov_find(ov, op.table, op.key, op.klen, hash, &slot);

		if (!e) /* room checked above */
			e = ov_claim(ov, slot, op.table, op.key, op.klen, hash, false);
		e->state = op.kind == BATCH_PUT ? OV_PRESENT : OV_ABSENT;
		e->val = op.val;
		e->vlen = (uint32_t)op.vlen;
	}
	return 0;
}

int overlay_flush(struct overlay *ov)
{
	int r;

	batch_sort(ov->b);
	r = batch_apply(ov->t, ov->b);
	if (r == 0 && ov->sink && batch_count(ov->b) > 0)
		r = ov->sink(ov->sink_arg, ov->t, ov->b);
	batch_reset(ov->b);
	ov_clear(ov);
	return r;
}

void overlay_set_sink(struct overlay *ov, overlay_sink_fn sink, void *arg)
{
	ov->sink = sink;
	ov->sink_arg = arg;
}
