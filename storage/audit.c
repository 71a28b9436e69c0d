/* The append-only audit log. See audit.h. */
#include "storage/audit.h"

#include "lib/digest.h"
#include "lib/err.h"
#include "storage/listing.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Length of the UTF-8 sequence at s (n bytes left) when it is a valid,
 * shortest-form, non-control character; 0 otherwise. */
static size_t utf8_char(const unsigned char *s, size_t n)
{
	uint32_t cp;
	size_t len;

	if (s[0] < 0x80)
		return s[0] >= 0x20 && s[0] != 0x7f ? 1 : 0;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		len = 2, cp = s[0] & 0x1fu;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		len = 3, cp = s[0] & 0x0fu;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		len = 4, cp = s[0] & 0x07u;
	else
		return 0;
	if (n < len)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3fu);
	}
	if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
	    (cp >= 0xd800 && cp <= 0xdfff) || (cp >= 0x80 && cp <= 0x9f))
		return 0;
	return len;
}

bool audit_bytes_are_text(const char *s, size_t n)
{
	size_t i = 0, k;

	while (i < n) {
		k = utf8_char((const unsigned char *)s + i, n - i);
		if (!k)
			return false;
		i += k;
	}
	return true;
}

bool audit_text_is_valid(const char *s, size_t max)
{
	size_t n;

	if (!s)
		return true;
	n = strnlen(s, max + 1);
	return n <= max && audit_bytes_are_text(s, n);
}

static bool action_ok(const char *a)
{
	size_t n = a ? strnlen(a, AUDIT_ACTION_MAX + 1) : 0;

	if (n == 0 || n > AUDIT_ACTION_MAX)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((a[i] >= 'a' && a[i] <= 'z') || (a[i] >= '0' && a[i] <= '9') || a[i] == '_'))
			return false;
	return true;
}

static int refuse(char *why, size_t cap, const char *field)
{
	if (why && cap)
		snprintf(why, cap, "audit entry: bad or missing %s", field);
	return KF_EPARSE;
}

int audit_check(const Kefu__AuditEntry *e, char *why, size_t cap)
{
	static const struct {
		size_t off, max;
		bool required;
		const char *name;
	} texts[] = {
		{offsetof(Kefu__AuditEntry, node), AUDIT_NODE_MAX, true, "node"},
		{offsetof(Kefu__AuditEntry, agent), AUDIT_AGENT_MAX, true, "agent"},
		{offsetof(Kefu__AuditEntry, subject), AUDIT_SUBJECT_MAX, false, "subject"},
		{offsetof(Kefu__AuditEntry, detail), AUDIT_DETAIL_MAX, false, "detail"},
	};

	if (!e->has_time_ms || e->time_ms == 0)
		return refuse(why, cap, "time_ms");
	if (!action_ok(e->action))
		return refuse(why, cap, "action");
	for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
		const char *s = *(char *const *)((const char *)e + texts[i].off);

		if ((texts[i].required && (!s || !*s)) || !audit_text_is_valid(s, texts[i].max))
			return refuse(why, cap, texts[i].name);
	}
	return 0;
}

static void put_be64(uint8_t *p, uint64_t v)
{
	for (int i = 7; i >= 0; i--, v >>= 8)
		p[i] = (uint8_t)v;
}

size_t audit_key(const Kefu__AuditEntry *e, uint8_t out[AUDIT_KEY_MAX])
{
	size_t n = strlen(e->node);

	put_be64(out, e->time_ms);
	put_be64(out + 8, e->has_seq ? e->seq : 0);
	memcpy(out + 16, e->node, n);
	return 16 + n;
}

int audit_append(struct batch *b, const Kefu__AuditEntry *e, char *why, size_t cap)
{
	uint8_t key[AUDIT_KEY_MAX], val[1024]; /* the largest valid entry packs to ~850 */
	size_t klen, vlen;
	int err = audit_check(e, why, cap);

	if (err)
		return err;
	klen = audit_key(e, key);
	vlen = kefu__audit_entry__get_packed_size(e);
	if (vlen > sizeof(val))
		return refuse(why, cap, "entry size");
	kefu__audit_entry__pack(e, val);
	return batch_put(b, STORE_AUDIT, key, klen, val, vlen);
}

struct list_ctx {
	audit_list_fn fn;
	void *arg;
};

static int list_visit(void *arg, const ProtobufCMessage *m)
{
	struct list_ctx *c = arg;

	return c->fn(c->arg, (const Kefu__AuditEntry *)m);
}

int audit_list(struct store_txn *t, uint64_t since_ms, const void *after, size_t alen,
	       audit_list_fn fn, void *arg)
{
	struct list_ctx c = {fn, arg};
	uint8_t start[8];
	struct listing l = {.table = STORE_AUDIT, .from = start, .flen = sizeof(start),
			    .after = after, .alen = after ? alen : 0};

	if (after && alen > AUDIT_KEY_MAX)
		return KF_EPARSE;
	put_be64(start, since_ms);
	return listing_scan_msgs(t, &l, &kefu__audit_entry__descriptor, list_visit, &c);
}

/* ---- the hash chain ---- */

static uint64_t get_be64(const uint8_t *p)
{
	uint64_t v = 0;

	for (int i = 0; i < 8; i++)
		v = v << 8 | p[i];
	return v;
}

/* SHA-256 of the parts, as bytes. */
static void sha256_parts(const void *a, size_t alen, const void *b, size_t blen,
			 uint8_t out[AUDIT_HASH_LEN])
{
	struct digest *d = digest_sha256_new();

	_Static_assert(AUDIT_HASH_LEN == DIGEST_SHA256_LEN, "the chain's hash is a SHA-256");
	digest_update(d, a, alen);
	if (blen)
		digest_update(d, b, blen);
	digest_final(d, out);
	digest_free(d);
}

void audit_hash(const Kefu__AuditEntry *e, const uint8_t prev[AUDIT_HASH_LEN],
		uint8_t out[AUDIT_HASH_LEN])
{
	Kefu__AuditEntry c = *e;
	uint8_t small[1024], *buf = small;
	size_t n;

	c.has_prev_hash = c.has_hash = 0;
	n = kefu__audit_entry__get_packed_size(&c);
	if (n > sizeof(small) && !(buf = malloc(n)))
		abort();
	kefu__audit_entry__pack(&c, buf);
	sha256_parts(prev, AUDIT_HASH_LEN, buf, n, out);
	if (buf != small)
		free(buf);
}

bool audit_is_sealed(const Kefu__AuditEntry *e)
{
	return e->has_prev_hash && e->prev_hash.len == AUDIT_HASH_LEN && e->has_hash &&
	       e->hash.len == AUDIT_HASH_LEN;
}

bool audit_key_parts(const uint8_t *key, size_t klen, uint64_t *time_ms, uint64_t *seq,
		     char *node)
{
	size_t n = klen > 16 ? klen - 16 : 0;

	if (klen < 16 || n > AUDIT_NODE_MAX)
		return false;
	*time_ms = get_be64(key);
	*seq = get_be64(key + 8);
	memcpy(node, key + 16, n);
	node[n] = '\0';
	return true;
}

/* The head record: count (8 bytes BE), hash, key. */
int audit_head_get(struct store_txn *t, struct audit_head *h)
{
	struct store_val v;
	int err = store_get(t, STORE_META, AUDIT_CHAIN_META, strlen(AUDIT_CHAIN_META), &v);

	memset(h, 0, sizeof(*h));
	if (err == KF_ENOTFOUND)
		return 0;
	if (err)
		return err;
	if (v.len <= 8 + AUDIT_HASH_LEN || v.len > 8 + AUDIT_HASH_LEN + AUDIT_KEY_MAX)
		return KF_ECORRUPT;
	h->count = get_be64(v.data);
	memcpy(h->hash, (const uint8_t *)v.data + 8, AUDIT_HASH_LEN);
	h->klen = v.len - 8 - AUDIT_HASH_LEN;
	memcpy(h->key, (const uint8_t *)v.data + 8 + AUDIT_HASH_LEN, h->klen);
	return 0;
}

static int head_put(struct batch *b, const struct audit_head *h)
{
	uint8_t v[8 + AUDIT_HASH_LEN + AUDIT_KEY_MAX];

	put_be64(v, h->count);
	memcpy(v + 8, h->hash, AUDIT_HASH_LEN);
	memcpy(v + 8 + AUDIT_HASH_LEN, h->key, h->klen);
	return batch_put(b, STORE_META, AUDIT_CHAIN_META, strlen(AUDIT_CHAIN_META), v,
			 8 + AUDIT_HASH_LEN + h->klen);
}

/* A stored entry: its value unpacked, checked, and stored under its own key.
 * NULL with why filled when it is not. Free with kefu__audit_entry__free_unpacked. */
static Kefu__AuditEntry *entry_read(const struct store_val *key, const struct store_val *val,
				    char *why, size_t cap)
{
	Kefu__AuditEntry *e = kefu__audit_entry__unpack(NULL, val->len, val->data);
	uint8_t k[AUDIT_KEY_MAX];

	if (!e) {
		snprintf(why, cap, "the stored value is not an audit entry");
		return NULL;
	}
	if (audit_check(e, why, cap) == 0) {
		if (audit_key(e, k) == key->len && memcmp(k, key->data, key->len) == 0)
			return e;
		snprintf(why, cap, "its time, seq or node do not match its key (edited, or moved)");
	}
	kefu__audit_entry__free_unpacked(e, NULL);
	return NULL;
}

/* The link of a sealed entry: its hash is its content's; its prev_hash is
 * prev. NULL when it holds, else what is wrong. */
static const char *link_fault(const Kefu__AuditEntry *e, const uint8_t prev[AUDIT_HASH_LEN])
{
	uint8_t h[AUDIT_HASH_LEN];

	audit_hash(e, e->prev_hash.data, h);
	if (memcmp(h, e->hash.data, AUDIT_HASH_LEN) != 0)
		return "edited: its hash does not match its content";
	if (memcmp(e->prev_hash.data, prev, AUDIT_HASH_LEN) != 0)
		return "its prev_hash is not the hash of the sealed entry before it: "
		       "an entry before it is missing or was replaced";
	return NULL;
}

struct seal {
	struct batch *b;
	const struct audit_head *head;
	uint8_t prev[AUDIT_HASH_LEN]; /* the new chain: hash of the last entry linked */
	uint8_t old[AUDIT_HASH_LEN];  /* the stored chain: hash of the last sealed entry passed */
	uint8_t last[AUDIT_KEY_MAX];  /* the last entry linked */
	size_t llen;
	uint64_t added;               /* entries that had no hash */
	size_t puts, past, max;
	char *why;
	size_t cap;
};

/*
 * Put e linked to c->prev (e itself is left as it is); c->prev becomes its
 * hash. The entry is packed once: without prev_hash and hash, the bytes
 * the hash covers; the sealed value is those bytes and then fields 8 and 9,
 * which is how protobuf-c packs the sealed entry, its fields in number order
 * (test_audit checks the two agree).
 */
#define SEAL_FIELD_LEN (2 + AUDIT_HASH_LEN) /* tag, length, the 32 bytes */

static int seal_put(struct seal *c, const Kefu__AuditEntry *e, const struct store_val *key)
{
	Kefu__AuditEntry s = *e;
	uint8_t val[1024 + 2 * SEAL_FIELD_LEN];
	size_t n;

	s.has_prev_hash = s.has_hash = 0;
	n = kefu__audit_entry__get_packed_size(&s);
	if (n > sizeof(val) - 2 * SEAL_FIELD_LEN)
		return KF_ETOOBIG;
	kefu__audit_entry__pack(&s, val);
	val[n] = 8 << 3 | 2;                 /* prev_hash, length-delimited */
	val[n + 1] = AUDIT_HASH_LEN;
	memcpy(val + n + 2, c->prev, AUDIT_HASH_LEN);
	sha256_parts(c->prev, AUDIT_HASH_LEN, val, n, c->prev);
	val[n + SEAL_FIELD_LEN] = 9 << 3 | 2; /* hash */
	val[n + SEAL_FIELD_LEN + 1] = AUDIT_HASH_LEN;
	memcpy(val + n + SEAL_FIELD_LEN + 2, c->prev, AUDIT_HASH_LEN);
	c->puts++;
	return batch_put(c->b, STORE_AUDIT, key->data, key->len, val, n + 2 * SEAL_FIELD_LEN);
}

static int seal_visit(void *arg, const struct store_val *key, const struct store_val *val)
{
	struct seal *c = arg;
	bool past = !c->head->klen ||
		    store_key_cmp(key->data, key->len, c->head->key, c->head->klen) > 0;
	Kefu__AuditEntry *e;
	const char *fault;
	int err = 0;

	if (past && c->past >= c->max)
		return LISTING_STOP;
	e = entry_read(key, val, c->why, c->cap);
	if (!e)
		return KF_ECORRUPT;
	if (audit_is_sealed(e)) {
		if ((fault = link_fault(e, c->old))) {
			snprintf(c->why, c->cap, "audit chain broken on the leader, not "
				 "sealed over: entry at %llu/%llu/%s: %s",
				 (unsigned long long)e->time_ms, (unsigned long long)e->seq, e->node,
				 fault);
			err = KF_ECORRUPT;
		} else {
			memcpy(c->old, e->hash.data, AUDIT_HASH_LEN);
			if (memcmp(e->prev_hash.data, c->prev, AUDIT_HASH_LEN) == 0)
				memcpy(c->prev, e->hash.data, AUDIT_HASH_LEN);
			else
				err = seal_put(c, e, key);
		}
	} else {
		c->added++;
		c->past += past;
		err = seal_put(c, e, key);
	}
	kefu__audit_entry__free_unpacked(e, NULL);
	if (err == 0) {
		memcpy(c->last, key->data, key->len);
		c->llen = key->len;
	}
	return err;
}

/* The first entry without a hash from window_ms before the head up to it. */
struct late {
	const struct audit_head *head;
	uint8_t key[AUDIT_KEY_MAX];
	size_t klen;
};

static int late_visit(void *arg, const struct store_val *key, const struct store_val *val)
{
	struct late *l = arg;
	Kefu__AuditEntry *e;
	bool sealed;

	if (store_key_cmp(key->data, key->len, l->head->key, l->head->klen) >= 0)
		return LISTING_STOP;
	e = kefu__audit_entry__unpack(NULL, val->len, val->data);
	sealed = !e || audit_is_sealed(e); /* a broken value is the seal's to report */
	if (e)
		kefu__audit_entry__free_unpacked(e, NULL);
	if (sealed || key->len > AUDIT_KEY_MAX)
		return 0;
	memcpy(l->key, key->data, key->len);
	l->klen = key->len;
	return LISTING_STOP;
}

/* The entry before key (its key into *prev, hash into hash): 0; 1 when
 * there is none; KF_ECORRUPT when it has no hash (it cannot be linked to). */
struct before {
	const uint8_t *key;
	size_t klen;
	uint8_t *out, *hash;
	size_t *olen;
	int rc;
};

static int before_visit(void *arg, const struct store_val *key, const struct store_val *val)
{
	struct before *b = arg;
	Kefu__AuditEntry *e;

	if (store_key_cmp(key->data, key->len, b->key, b->klen) >= 0)
		return 0;
	e = kefu__audit_entry__unpack(NULL, val->len, val->data);
	b->rc = KF_ECORRUPT;
	if (e && audit_is_sealed(e) && key->len <= AUDIT_KEY_MAX) {
		memcpy(b->out, key->data, key->len);
		*b->olen = key->len;
		memcpy(b->hash, e->hash.data, AUDIT_HASH_LEN);
		b->rc = 0;
	}
	if (e)
		kefu__audit_entry__free_unpacked(e, NULL);
	return 1;
}

struct count {
	uint64_t n, limit;
};

static int count_visit(void *arg, const struct store_val *key, const struct store_val *val)
{
	struct count *c = arg;

	(void)key;
	(void)val;
	return ++c->n >= c->limit ? LISTING_STOP : 0;
}

/* Late entries may be there: fewer entries past the head than unsealed ones. */
static int may_be_late(struct store_txn *t, const struct audit_head *head, uint64_t unsealed,
		       bool *late)
{
	struct count c = {0, unsealed};
	struct listing l = {.table = STORE_AUDIT, .after = head->key, .alen = head->klen};
	int err;

	*late = unsealed > 0;
	if (unsealed == 0 || unsealed == AUDIT_UNSEALED_UNKNOWN)
		return 0;
	err = listing_scan(t, &l, count_visit, &c);
	*late = c.n < unsealed;
	return err;
}

int audit_seal(struct store_txn *t, struct batch *b, const struct audit_seal_opts *o, size_t *n,
	       char *why, size_t cap)
{
	struct audit_head head, now;
	struct seal c = {.b = b, .head = &head, .max = o->max, .why = why, .cap = cap};
	struct late l = {.head = &head};
	uint8_t from[8], after[AUDIT_KEY_MAX];
	struct listing li = {.table = STORE_AUDIT};
	bool late;
	int err = audit_head_get(t, &head);

	*n = 0;
	if (err)
		return err;
	if (head.klen) {
		uint64_t ht = head.klen >= 8 ? get_be64(head.key) : 0;
		struct listing w = {.table = STORE_AUDIT, .from = from, .flen = sizeof(from)};

		put_be64(from, ht > o->window_ms ? ht - o->window_ms : 0);
		err = may_be_late(t, &head, o->unsealed, &late);
		if (err == 0 && late)
			err = listing_scan(t, &w, late_visit, &l);
		if (err)
			return err;
		/* Link from the head; or, a late entry found, from the one before it. */
		memcpy(c.prev, head.hash, AUDIT_HASH_LEN);
		li.after = head.key, li.alen = head.klen;
		if (l.klen) {
			struct before bf = {l.key, l.klen, after, c.prev, &li.alen, 1};

			err = store_scan(t, STORE_AUDIT, NULL, 0, l.key, l.klen, true, before_visit,
					 &bf);
			if (err)
				return err;
			if (bf.rc == 0)
				li.after = after;
			else if (bf.rc == 1)
				li.after = NULL, li.alen = 0, memset(c.prev, 0, AUDIT_HASH_LEN);
			else
				memcpy(c.prev, head.hash, AUDIT_HASH_LEN), li.alen = head.klen;
		}
		memcpy(c.old, c.prev, AUDIT_HASH_LEN);
	}
	err = listing_scan(t, &li, seal_visit, &c);
	if (err || c.puts == 0)
		return err;
	now.count = head.count + c.added;
	memcpy(now.hash, c.prev, AUDIT_HASH_LEN);
	memcpy(now.key, c.last, c.llen);
	now.klen = c.llen;
	err = head_put(b, &now);
	if (err == 0)
		*n = c.puts;
	return err;
}

/* ---- walking the chain ---- */

static void walk_break(struct audit_walk *w, const uint8_t *key, size_t klen, const char *why)
{
	w->broken = w->done = true;
	w->broken_klen = klen <= AUDIT_KEY_MAX ? klen : AUDIT_KEY_MAX;
	memcpy(w->broken_key, key, w->broken_klen);
	if (!audit_key_parts(key, klen, &w->broken_time_ms, &w->broken_seq, w->broken_node))
		w->broken_time_ms = w->broken_seq = 0, w->broken_node[0] = '\0';
	snprintf(w->broken_why, sizeof(w->broken_why), "%s", why);
}

static int walk_visit(void *arg, const struct store_val *key, const struct store_val *val)
{
	struct audit_walk *w = arg;
	Kefu__AuditEntry *e;
	const char *fault;
	char why[AUDIT_WHY_MAX];

	w->entries++;
	w->clen = key->len <= AUDIT_KEY_MAX ? key->len : AUDIT_KEY_MAX;
	memcpy(w->cursor, key->data, w->clen);
	sha256_parts(val->data, val->len, NULL, 0, w->cursor_val_hash);
	e = entry_read(key, val, why, sizeof(why));
	if (!e) {
		walk_break(w, key->data, key->len, why);
		return LISTING_STOP;
	}
	if (!audit_is_sealed(e)) {
		w->pending++;
		if (!w->old_unsealed && e->time_ms + w->grace_ms < w->now_ms) {
			w->old_unsealed = true;
			memcpy(w->old_key, w->cursor, w->clen);
			w->old_klen = w->clen;
		}
	} else if (w->old_unsealed) {
		walk_break(w, w->old_key, w->old_klen,
			   "no hash, though sealed entries follow it: inserted, or never sealed");
	} else if ((fault = link_fault(e, w->head_hash))) {
		walk_break(w, key->data, key->len, fault);
	} else {
		memcpy(w->head_hash, e->hash.data, AUDIT_HASH_LEN);
		memcpy(w->last_sealed_key, key->data, key->len);
		w->last_sealed_klen = key->len;
		w->sealed++;
	}
	kefu__audit_entry__free_unpacked(e, NULL);
	return w->broken ? LISTING_STOP : 0;
}

/* At the end: the walk meets the recorded head. */
static int walk_finish(struct store_txn *t, struct audit_walk *w)
{
	struct audit_head h;
	char why[AUDIT_WHY_MAX];
	int err = audit_head_get(t, &h);

	w->done = true;
	if (err == KF_ECORRUPT) {
		walk_break(w, (const uint8_t *)"", 0, "the chain's head record (meta audit.chain) "
			   "is malformed");
		return 0;
	}
	if (err)
		return err;
	if (!h.klen && w->sealed) {
		walk_break(w, w->last_sealed_key, w->last_sealed_klen,
			   "sealed entries but no head record (meta audit.chain)");
	} else if (h.klen && w->steps > 1 && !w->final &&
		   (h.count != w->sealed || memcmp(h.hash, w->head_hash, AUDIT_HASH_LEN) != 0)) {
		w->restart = true; /* may have been sealed behind the walk: walk again */
		w->done = false;
	} else if (h.klen && (h.count != w->sealed || h.klen != w->last_sealed_klen ||
			      memcmp(h.key, w->last_sealed_key, h.klen) != 0 ||
			      memcmp(h.hash, w->head_hash, AUDIT_HASH_LEN) != 0)) {
		snprintf(why, sizeof(why), "the chain does not end at its recorded head: "
			 "%llu sealed entries recorded, %llu found (the last ones removed, "
			 "or the head record edited)", (unsigned long long)h.count,
			 (unsigned long long)w->sealed);
		walk_break(w, h.key, h.klen, why);
	}
	return 0;
}

int audit_walk_step(struct store_txn *t, struct audit_walk *w, size_t max)
{
	uint64_t before = w->entries;
	struct listing l = {.table = STORE_AUDIT, .after = w->clen ? w->cursor : NULL,
			    .alen = w->clen, .limit = max};
	int err;

	w->steps++;
	if (w->clen) {
		struct store_val v;
		uint8_t h[AUDIT_HASH_LEN];

		err = store_get(t, STORE_AUDIT, w->cursor, w->clen, &v);
		if (err && err != KF_ENOTFOUND)
			return err;
		if (!err)
			sha256_parts(v.data, v.len, NULL, 0, h);
		if (err || memcmp(h, w->cursor_val_hash, AUDIT_HASH_LEN) != 0) {
			w->restart = true;
			return 0;
		}
	}
	err = listing_scan(t, &l, walk_visit, w);
	if (err || w->done)
		return err;
	if (w->entries - before < max || max == 0) {
		/* the end: unsealed entries after the last sealed one are pending */
		w->old_unsealed = false;
		return walk_finish(t, w);
	}
	return 0;
}

void audit_walk_reply(const struct audit_walk *w, Kefu__AuditVerifyReply *rep)
{
	rep->has_entries = rep->has_intact = rep->has_sealed = rep->has_pending = 1;
	rep->entries = w->entries;
	rep->intact = !w->broken;
	rep->sealed = w->sealed;
	rep->pending = w->pending;
	if (w->sealed) {
		rep->has_head_hash = 1;
		rep->head_hash = (ProtobufCBinaryData){AUDIT_HASH_LEN, (uint8_t *)w->head_hash};
	}
	if (w->broken) {
		rep->has_broken_key = rep->has_broken_time_ms = rep->has_broken_seq = 1;
		rep->broken_key = (ProtobufCBinaryData){w->broken_klen, (uint8_t *)w->broken_key};
		rep->broken_time_ms = w->broken_time_ms;
		rep->broken_seq = w->broken_seq;
		rep->broken_node = (char *)w->broken_node;
		rep->broken_why = (char *)w->broken_why;
	}
}
