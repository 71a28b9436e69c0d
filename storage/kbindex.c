/*
 * The search index's write side (kbindex.h): documents folded into terms
 * with positions, postings merged into blocks of STORE_KB_TERMS, the
 * documents and totals of STORE_KB_DOCS. Layouts in kbindex_int.h; the
 * read side is kbindex_search.c.
 */
#include "storage/kbindex.h"

#include "lib/err.h"
#include "lib/textfold.h"
#include "storage/batch.h"
#include "storage/kbindex_int.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* The batch is applied to the transaction once it holds this much. */
#define KBX_BATCH_BYTES (16u << 20)

const double kbindex__field_weight[KBINDEX_FIELDS] = {3.0, 2.0, 1.0};

/* ---- small helpers shared with kbindex_search.c ---- */

void kbindex__buf_need(struct kbx_buf *b, size_t more)
{
	size_t c = b->cap ? b->cap : 256;

	if (b->len + more <= b->cap)
		return;
	while (c < b->len + more)
		c *= 2;
	b->p = realloc(b->p, c);
	if (!b->p)
		abort();
	b->cap = c;
}

void kbindex__buf_add(struct kbx_buf *b, const void *p, size_t n)
{
	kbindex__buf_need(b, n);
	if (n)
		memcpy(b->p + b->len, p, n);
	b->len += n;
}

void kbindex__buf_varint(struct kbx_buf *b, uint64_t v)
{
	kbindex__buf_need(b, 10);
	b->len += kbindex__varint_put(b->p + b->len, v);
}

static size_t kbx_varint_size(uint64_t v)
{
	size_t n = 1;

	while (v >= 0x80) {
		v >>= 7;
		n++;
	}
	return n;
}

uint64_t kbindex__be64(const uint8_t *p)
{
	uint64_t v = 0;

	for (int i = 0; i < 8; i++)
		v = (v << 8) | p[i];
	return v;
}

void kbindex__put_be64(uint8_t *p, uint64_t v)
{
	for (int i = 7; i >= 0; i--) {
		p[i] = (uint8_t)v;
		v >>= 8;
	}
}

uint8_t kbindex__len_code(uint64_t len)
{
	double c;

	if (len <= 32)
		return (uint8_t)len;
	c = 32.0 + floor(log2((double)len / 32.0) * 24.0 + 0.5);
	return c >= 255.0 ? 255 : (uint8_t)c;
}

double kbindex__len_of(uint8_t code)
{
	if (code <= 32)
		return code;
	return 32.0 * exp2((code - 32) / 24.0);
}

size_t kbindex__blob_len(const uint8_t *p, const uint8_t *end)
{
	const uint8_t *q = p;
	uint64_t tf[KBINDEX_FIELDS];
	uint8_t code[KBINDEX_FIELDS];
	uint64_t n = kbindex__posting_fields(&q, end, tf, code);

	if (n == 0 || !kbindex__skip_varints(&q, end, n))
		return 0;
	return (size_t)(q - p);
}

int kbindex__totals(struct store_txn *t, uint64_t tot[KBX_TOTALS])
{
	struct store_val v;
	int rc = store_get(t, STORE_KB_DOCS, "t", 1, &v);

	memset(tot, 0, KBX_TOTALS * sizeof(tot[0]));
	if (rc == KF_ENOTFOUND)
		return 0;
	if (rc)
		return rc;
	if (v.len != KBX_TOTALS * 8)
		return KF_ECORRUPT;
	for (int i = 0; i < KBX_TOTALS; i++)
		tot[i] = kbindex__be64((const uint8_t *)v.data + 8 * i);
	return 0;
}

size_t kbindex__term_han(uint32_t cp, char *out)
{
	out[0] = 'c';
	return 1 + textfold_utf8_put(cp, out + 1);
}

size_t kbindex__term_pair(uint32_t a, uint32_t b, char *out)
{
	size_t n = 1;

	out[0] = 'b';
	n += textfold_utf8_put(a, out + n);
	return n + textfold_utf8_put(b, out + n);
}

size_t kbindex__term_word(const char *w, size_t len, char *out)
{
	if (len > KBX_TERM_MAX - 1)
		len = KBX_TERM_MAX - 1;
	out[0] = 'w';
	memcpy(out + 1, w, len);
	return len + 1;
}

size_t kbindex__term_syl(const char *a, const char *b, size_t blen, char *out)
{
	size_t alen = strlen(a);

	/* Syllables are at most 6 letters. */
	out[0] = 's';
	memcpy(out + 1, a, alen);
	out[1 + alen] = ' ';
	memcpy(out + 2 + alen, b, blen);
	return 2 + alen + blen;
}

size_t kbindex__term_initials(char a, char b, char *out)
{
	out[0] = 'i';
	out[1] = a;
	out[2] = b;
	return 3;
}

bool kbindex__syllable_usable(const char *s)
{
	return strpbrk(s, "aeiouv") != NULL;
}

/* ---- a term dictionary: term bytes -> dense id ---- */

struct kbx_dict {
	uint32_t *slot; /* id + 1, 0 empty */
	size_t mask;
	struct kbx_buf keys;
	uint32_t *koff;
	uint16_t *klen;
	size_t n, cap;
};

static uint64_t kbx_hash(const char *k, size_t len)
{
	uint64_t h = 1469598103934665603ull;

	for (size_t i = 0; i < len; i++)
		h = (h ^ (uint8_t)k[i]) * 1099511628211ull;
	return h ^ (h >> 29);
}

static void kbx_dict_reset(struct kbx_dict *d)
{
	if (d->slot)
		memset(d->slot, 0, (d->mask + 1) * sizeof(*d->slot));
	d->keys.len = 0;
	d->n = 0;
}

static void kbx_dict_release(struct kbx_dict *d)
{
	free(d->slot);
	free(d->keys.p);
	free(d->koff);
	free(d->klen);
	memset(d, 0, sizeof(*d));
}

static const char *kbx_dict_key(const struct kbx_dict *d, uint32_t id, size_t *len)
{
	*len = d->klen[id];
	return (const char *)d->keys.p + d->koff[id];
}

static void kbx_dict_place(struct kbx_dict *d, uint32_t id)
{
	size_t len;
	const char *k = kbx_dict_key(d, id, &len);
	size_t i = kbx_hash(k, len) & d->mask;

	while (d->slot[i])
		i = (i + 1) & d->mask;
	d->slot[i] = id + 1;
}

static uint32_t kbx_dict_id(struct kbx_dict *d, const char *k, size_t len)
{
	size_t i;

	if (2 * (d->n + 1) > d->mask + 1) {
		size_t size = d->mask ? 2 * (d->mask + 1) : 1024;

		free(d->slot);
		d->slot = calloc(size, sizeof(*d->slot));
		if (!d->slot)
			abort();
		d->mask = size - 1;
		for (uint32_t id = 0; id < d->n; id++)
			kbx_dict_place(d, id);
	}
	i = kbx_hash(k, len) & d->mask;
	for (; d->slot[i]; i = (i + 1) & d->mask) {
		uint32_t id = d->slot[i] - 1;

		if (d->klen[id] == len && memcmp(d->keys.p + d->koff[id], k, len) == 0)
			return id;
	}
	if (d->n == d->cap) {
		d->cap = d->cap ? 2 * d->cap : 1024;
		d->koff = realloc(d->koff, d->cap * sizeof(*d->koff));
		d->klen = realloc(d->klen, d->cap * sizeof(*d->klen));
		if (!d->koff || !d->klen)
			abort();
	}
	d->koff[d->n] = (uint32_t)d->keys.len;
	d->klen[d->n] = (uint16_t)len;
	kbindex__buf_add(&d->keys, k, len);
	d->slot[i] = (uint32_t)d->n + 1;
	return (uint32_t)d->n++;
}

/* ---- one document's terms ---- */

struct kbx_doc {
	struct textfold fold;
	struct kbx_dict dict;  /* the doc's terms */
	uint64_t *occ;         /* term id << 32 | position */
	size_t nocc, occcap;
	uint32_t base[KBINDEX_FIELDS];
	uint32_t units[KBINDEX_FIELDS];
	struct kbx_buf folded[KBINDEX_FIELDS]; /* the folded text, as stored */
	struct kbx_buf blob;                   /* every term's posting blob */
	uint32_t *boff, *blen;                 /* per term id */
	size_t bcap;
};

static void kbx_doc_release(struct kbx_doc *d)
{
	textfold_release(&d->fold);
	kbx_dict_release(&d->dict);
	free(d->occ);
	for (int f = 0; f < KBINDEX_FIELDS; f++)
		free(d->folded[f].p);
	free(d->blob.p);
	free(d->boff);
	free(d->blen);
	memset(d, 0, sizeof(*d));
}

static void kbx_occ(struct kbx_doc *d, const char *term, size_t len, uint32_t pos)
{
	uint32_t id = kbx_dict_id(&d->dict, term, len);

	if (d->nocc == d->occcap) {
		d->occcap = d->occcap ? 2 * d->occcap : 1024;
		d->occ = realloc(d->occ, d->occcap * sizeof(*d->occ));
		if (!d->occ)
			abort();
	}
	d->occ[d->nocc++] = (uint64_t)id << 32 | pos;
}

/* The terms of Han unit u at pos, with its right neighbour next (or NULL). */
static void kbx_han_terms(struct kbx_doc *d, const struct textfold_unit *u,
			  const struct textfold_unit *next, uint32_t pos)
{
	char term[KBX_TERM_MAX];
	uint16_t ra[TEXTFOLD_READINGS_MAX], rb[TEXTFOLD_READINGS_MAX];
	size_t na, nb;

	kbx_occ(d, term, kbindex__term_han(u->cp, term), pos);
	if (!next)
		return;
	kbx_occ(d, term, kbindex__term_pair(u->cp, next->cp, term), pos);
	na = textfold_readings(u->cp, ra, TEXTFOLD_READINGS_MAX);
	nb = textfold_readings(next->cp, rb, TEXTFOLD_READINGS_MAX);
	na = na < TEXTFOLD_READINGS_MAX ? na : TEXTFOLD_READINGS_MAX;
	nb = nb < TEXTFOLD_READINGS_MAX ? nb : TEXTFOLD_READINGS_MAX;
	for (size_t i = 0; i < na; i++) {
		const char *a = textfold_syllable(ra[i]);

		for (size_t j = 0; j < nb; j++) {
			const char *b = textfold_syllable(rb[j]);

			kbx_occ(d, term, kbindex__term_syl(a, b, strlen(b), term), pos);
			kbx_occ(d, term, kbindex__term_initials(a[0], b[0], term), pos);
		}
	}
}

/* Fold field f's text, keep its folded form, and note its terms. */
static void kbx_field_terms(struct kbx_doc *d, int f, const char *text, size_t len)
{
	struct textfold *tf = &d->fold;
	struct kbx_buf *out = &d->folded[f];
	char term[KBX_TERM_MAX];

	out->len = 0;
	textfold_run(tf, text, len, 0); /* len is under KBINDEX_TEXT_MAX */
	d->units[f] = (uint32_t)tf->n;
	for (size_t i = 0; i < tf->n; i++) {
		const struct textfold_unit *u = &tf->unit[i];
		const struct textfold_unit *next = NULL;
		uint32_t pos = d->base[f] + (uint32_t)i;
		char b[4];

		if (u->kind == TEXTFOLD_HAN) {
			if (i + 1 < tf->n && tf->unit[i + 1].kind == TEXTFOLD_HAN && tf->unit[i + 1].joined)
				next = &tf->unit[i + 1];
			kbx_han_terms(d, u, next, pos);
			if (i > 0 && !u->joined)
				kbindex__buf_add(out, " ", 1);
			kbindex__buf_add(out, b, textfold_utf8_put(u->cp, b));
		} else if (u->kind == TEXTFOLD_WORD) {
			kbx_occ(d, term, kbindex__term_word(tf->word + u->off, u->len, term), pos);
			if (i > 0)
				kbindex__buf_add(out, " ", 1);
			kbindex__buf_add(out, tf->word + u->off, u->len);
		}
	}
}

static int kbx_u64_cmp(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* The field a position belongs to. */
static int kbx_field_of(const struct kbx_doc *d, uint32_t pos)
{
	return pos >= d->base[2] ? 2 : pos >= d->base[1] ? 1 : 0;
}

/*
 * kbx_doc_terms - fold the three fields and build each distinct term's
 * posting blob (d->dict ids, d->boff/d->blen). Positions run through the
 * fields with a gap between them, so no phrase spans two fields.
 */
static void kbx_doc_terms(struct kbx_doc *d, const char *const field[KBINDEX_FIELDS],
			  const size_t len[KBINDEX_FIELDS])
{
	uint32_t base = 0;
	size_t i = 0;

	kbx_dict_reset(&d->dict);
	d->nocc = 0;
	d->blob.len = 0;
	for (int f = 0; f < KBINDEX_FIELDS; f++) {
		d->base[f] = base;
		kbx_field_terms(d, f, field[f], len[f]);
		base += d->units[f] + KBX_FIELD_GAP;
	}
	qsort(d->occ, d->nocc, sizeof(*d->occ), kbx_u64_cmp);
	if (d->dict.n > d->bcap) {
		d->bcap = d->dict.n;
		d->boff = realloc(d->boff, d->bcap * sizeof(*d->boff));
		d->blen = realloc(d->blen, d->bcap * sizeof(*d->blen));
		if (!d->boff || !d->blen)
			abort();
	}
	while (i < d->nocc) {
		uint32_t id = (uint32_t)(d->occ[i] >> 32);
		uint32_t tf[KBINDEX_FIELDS] = {0, 0, 0};
		uint8_t mask = 0, h;
		size_t j = i, start = d->blob.len;
		uint32_t prev = 0;
		int nf = 0, one = 0;

		/* One occurrence per (term, position): the same pair of initials
		 * can come from two readings. */
		for (; j < d->nocc && (uint32_t)(d->occ[j] >> 32) == id; j++) {
			uint32_t pos = (uint32_t)d->occ[j];

			if (j > i && (uint32_t)d->occ[j - 1] == pos)
				continue;
			tf[kbx_field_of(d, pos)]++;
		}
		for (int f = 0; f < KBINDEX_FIELDS; f++) {
			if (tf[f]) {
				mask |= (uint8_t)(1u << f);
				nf++;
				one = f;
			}
		}
		if (nf == 1 && tf[one] <= 32) {
			h = (uint8_t)(one | (tf[one] - 1) << 2);
			kbindex__buf_add(&d->blob, &h, 1);
			h = kbindex__len_code(d->units[one]);
			kbindex__buf_add(&d->blob, &h, 1);
		} else {
			h = 0x80 | mask;
			kbindex__buf_add(&d->blob, &h, 1);
			for (int f = 0; f < KBINDEX_FIELDS; f++) {
				if (!tf[f])
					continue;
				kbindex__buf_varint(&d->blob, tf[f]);
				h = kbindex__len_code(d->units[f]);
				kbindex__buf_add(&d->blob, &h, 1);
			}
		}
		for (size_t k = i; k < j; k++) {
			uint32_t pos = (uint32_t)d->occ[k];

			if (k > i && (uint32_t)d->occ[k - 1] == pos)
				continue;
			kbindex__buf_varint(&d->blob, pos - prev);
			prev = pos;
		}
		d->boff[id] = (uint32_t)start;
		d->blen[id] = (uint32_t)(d->blob.len - start);
		i = j;
	}
}

/* ---- blocks ---- */

struct kbx_post {
	uint64_t doc;
	const uint8_t *blob;
	size_t len;
};

struct kbx_posts {
	struct kbx_post *p;
	size_t n, cap;
};

static void kbx_posts_add(struct kbx_posts *ps, uint64_t doc, const uint8_t *blob, size_t len)
{
	if (ps->n == ps->cap) {
		ps->cap = ps->cap ? 2 * ps->cap : 256;
		ps->p = realloc(ps->p, ps->cap * sizeof(*ps->p));
		if (!ps->p)
			abort();
	}
	ps->p[ps->n++] = (struct kbx_post){doc, blob, len};
}

/* Append the postings of block (first doc, value) to ps. */
static int kbx_block_decode(uint64_t first, const uint8_t *v, size_t vlen, struct kbx_posts *ps)
{
	const uint8_t *p = v, *end = v + vlen;
	uint64_t count, doc = first;

	if (!kbindex__varint(&p, end, &count) || count == 0 || count > vlen)
		return KF_ECORRUPT;
	for (uint64_t i = 0; i < count; i++) {
		uint64_t delta;
		size_t bl;

		if (!kbindex__varint(&p, end, &delta) || (bl = kbindex__blob_len(p, end)) == 0)
			return KF_ECORRUPT;
		doc += delta;
		kbx_posts_add(ps, doc, p, bl);
		p += bl;
	}
	return p == end ? 0 : KF_ECORRUPT;
}

static size_t kbx_block_key(uint8_t *key, const char *term, size_t tlen, uint64_t doc)
{
	memcpy(key, term, tlen);
	key[tlen] = 0;
	kbindex__put_be64(key + tlen + 1, doc);
	return tlen + 9;
}

/* Scratch of the block work, reused across terms. */
struct kbx_work {
	struct batch *b;
	uint64_t tot[KBX_TOTALS];
	struct kbx_buf val;  /* a block read */
	struct kbx_buf enc;  /* a block written */
	struct kbx_posts old, merged;
	struct kbx_doc doc;
};

static void kbx_work_release(struct kbx_work *w)
{
	batch_free(w->b);
	free(w->val.p);
	free(w->enc.p);
	free(w->old.p);
	free(w->merged.p);
	kbx_doc_release(&w->doc);
}

/* A block found by kbx_seek: its first doc, its value copied into w->val. */
struct kbx_seek {
	size_t tlen;
	bool found;
	uint64_t first;
	struct kbx_buf *val;
};

static int kbx_seek_visit(void *arg, const struct store_val *key, const struct store_val *val)
{
	struct kbx_seek *s = arg;

	if (key->len != s->tlen + 9)
		return KF_ECORRUPT;
	s->found = true;
	s->first = kbindex__be64((const uint8_t *)key->data + s->tlen + 1);
	if (s->val) {
		s->val->len = 0;
		kbindex__buf_add(s->val, val->data, val->len);
	}
	return 1;
}

/* kbx_seek - the last block of term starting at or before doc (reverse),
 * or the first starting at or after doc. */
static int kbx_seek(struct store_txn *t, const char *term, size_t tlen, uint64_t doc, bool reverse,
		    struct kbx_buf *val, struct kbx_seek *s)
{
	uint8_t key[KBX_TERM_MAX + 9];
	size_t klen = kbx_block_key(key, term, tlen, doc);

	*s = (struct kbx_seek){tlen, false, 0, val};
	return store_scan(t, STORE_KB_TERMS, key, tlen + 1, key, klen, reverse, kbx_seek_visit, s);
}

static int kbx_apply_if_big(struct store_txn *t, struct kbx_work *w)
{
	int rc = 0;

	if (batch_bytes(w->b) >= KBX_BATCH_BYTES) {
		rc = batch_apply_append(t, w->b);
		batch_reset(w->b);
	}
	return rc;
}

/* Write posts[0..n) as blocks of term; the first block's doc in *first. */
static int kbx_blocks_put(struct kbx_work *w, const char *term, size_t tlen,
			  const struct kbx_post *posts, size_t n)
{
	uint8_t key[KBX_TERM_MAX + 9];
	size_t i = 0;
	int rc;

	while (i < n) {
		uint64_t first = posts[i].doc, prev = first;
		size_t count = 0;
		uint8_t hdr[10];
		size_t hlen;

		w->enc.len = 0;
		while (i < n) {
			size_t need = kbx_varint_size(posts[i].doc - prev) + posts[i].len;

			if (count > 0 && w->enc.len + need > KBX_BLOCK_BYTES)
				break;
			kbindex__buf_varint(&w->enc, posts[i].doc - prev);
			kbindex__buf_add(&w->enc, posts[i].blob, posts[i].len);
			prev = posts[i].doc;
			count++;
			i++;
		}
		/* The count goes first, once it is known. */
		hlen = kbindex__varint_put(hdr, count);
		kbindex__buf_need(&w->enc, hlen);
		memmove(w->enc.p + hlen, w->enc.p, w->enc.len);
		memcpy(w->enc.p, hdr, hlen);
		w->enc.len += hlen;
		kbx_block_key(key, term, tlen, first);
		if ((rc = batch_put(w->b, STORE_KB_TERMS, key, tlen + 9, w->enc.p, w->enc.len)))
			return rc;
		w->tot[KBX_T_BYTES] += tlen + 9 + w->enc.len;
	}
	return 0;
}

/*
 * kbx_merge_term - merge posts[0..n) (ascending docs, none indexed for the
 * term) into term's blocks. Each existing block takes the new postings that
 * fall before the next block's first doc, so each block is read and
 * rewritten once, before anything of the term is applied.
 */
static int kbx_merge_term(struct store_txn *t, struct kbx_work *w, const char *term, size_t tlen,
			  const struct kbx_post *posts, size_t n)
{
	uint8_t key[KBX_TERM_MAX + 9];
	bool had = false;
	size_t i = 0;
	int rc;

	while (i < n) {
		struct kbx_seek s, next;
		size_t j = i, a = 0, b;
		uint64_t limit = UINT64_MAX;

		if ((rc = kbx_seek(t, term, tlen, posts[i].doc, true, &w->val, &s)) < 0)
			return rc;
		if (!s.found && (rc = kbx_seek(t, term, tlen, 0, false, &w->val, &s)) < 0)
			return rc;
		w->old.n = 0;
		if (s.found) {
			had = true;
			if (s.first < UINT64_MAX &&
			    (rc = kbx_seek(t, term, tlen, s.first + 1, false, NULL, &next)) < 0)
				return rc;
			if (s.first < UINT64_MAX && next.found)
				limit = next.first;
			if ((rc = kbx_block_decode(s.first, w->val.p, w->val.len, &w->old)))
				return rc;
			w->tot[KBX_T_BYTES] -= tlen + 9 + w->val.len;
		}
		while (j < n && posts[j].doc < limit)
			j++;
		/* Merge by doc; a doc in both takes the new posting. */
		w->merged.n = 0;
		for (b = i; a < w->old.n || b < j;) {
			if (b == j || (a < w->old.n && w->old.p[a].doc < posts[b].doc)) {
				kbx_posts_add(&w->merged, w->old.p[a].doc, w->old.p[a].blob, w->old.p[a].len);
				a++;
				continue;
			}
			if (a < w->old.n && w->old.p[a].doc == posts[b].doc) {
				a++;
				w->tot[KBX_T_POSTINGS]--;
			}
			kbx_posts_add(&w->merged, posts[b].doc, posts[b].blob, posts[b].len);
			b++;
		}
		if (s.found && w->merged.p[0].doc != s.first &&
		    (rc = batch_del(w->b, STORE_KB_TERMS, key, kbx_block_key(key, term, tlen, s.first))))
			return rc;
		if ((rc = kbx_blocks_put(w, term, tlen, w->merged.p, w->merged.n)))
			return rc;
		w->tot[KBX_T_POSTINGS] += j - i;
		i = j;
	}
	if (!had)
		w->tot[KBX_T_TERMS]++;
	return 0;
}

/* Remove doc's posting from term's blocks. */
static int kbx_remove_posting(struct store_txn *t, struct kbx_work *w, const char *term,
			      size_t tlen, uint64_t doc)
{
	uint8_t key[KBX_TERM_MAX + 9];
	struct kbx_seek s, other;
	size_t at = SIZE_MAX;
	int rc;

	if ((rc = kbx_seek(t, term, tlen, doc, true, &w->val, &s)) < 0)
		return rc;
	if (!s.found)
		return 0;
	w->old.n = 0;
	if ((rc = kbx_block_decode(s.first, w->val.p, w->val.len, &w->old)))
		return rc;
	for (size_t i = 0; i < w->old.n; i++)
		if (w->old.p[i].doc == doc)
			at = i;
	if (at == SIZE_MAX)
		return 0;
	w->tot[KBX_T_BYTES] -= tlen + 9 + w->val.len;
	w->tot[KBX_T_POSTINGS]--;
	memmove(&w->old.p[at], &w->old.p[at + 1], (w->old.n - at - 1) * sizeof(*w->old.p));
	w->old.n--;
	if (w->old.n == 0 || w->old.p[0].doc != s.first) {
		if ((rc = batch_del(w->b, STORE_KB_TERMS, key, kbx_block_key(key, term, tlen, s.first))))
			return rc;
	}
	if (w->old.n)
		return kbx_blocks_put(w, term, tlen, w->old.p, w->old.n);
	/* The block is gone; the term goes with it unless another block is left. */
	if (s.first > 0 && (rc = kbx_seek(t, term, tlen, s.first - 1, true, NULL, &other)) < 0)
		return rc;
	if (s.first > 0 && other.found)
		return 0;
	if (s.first < UINT64_MAX && (rc = kbx_seek(t, term, tlen, s.first + 1, false, NULL, &other)) < 0)
		return rc;
	if (s.first == UINT64_MAX || !other.found)
		w->tot[KBX_T_TERMS]--;
	return 0;
}

static void kbx_doc_key(uint8_t key[9], uint64_t doc)
{
	key[0] = 'd';
	kbindex__put_be64(key + 1, doc);
}

/* Remove doc (if indexed) through w's batch, then apply it. */
static int kbx_del(struct store_txn *t, struct kbx_work *w, uint64_t doc)
{
	uint8_t key[9];
	struct store_val v;
	const char *field[KBINDEX_FIELDS];
	size_t len[KBINDEX_FIELDS];
	const uint8_t *p, *end;
	int rc;

	kbx_doc_key(key, doc);
	rc = store_get(t, STORE_KB_DOCS, key, sizeof(key), &v);
	if (rc == KF_ENOTFOUND)
		return 0;
	if (rc)
		return rc;
	w->val.len = 0;
	kbindex__buf_add(&w->val, v.data, v.len);
	p = w->val.p;
	end = p + w->val.len;
	if (p == end || *p++ != 1)
		return KF_ECORRUPT;
	for (int f = 0; f < KBINDEX_FIELDS; f++) {
		uint64_t l;

		if (!kbindex__varint(&p, end, &l) || l > (uint64_t)(end - p))
			return KF_ECORRUPT;
		field[f] = (const char *)p;
		len[f] = (size_t)l;
		p += l;
	}
	/* The folded text is folded again (folding is idempotent) into the
	 * same terms it gave when it was put. */
	kbx_doc_terms(&w->doc, field, len);
	w->tot[KBX_T_BYTES] -= sizeof(key) + w->val.len;
	for (uint32_t id = 0; id < w->doc.dict.n; id++) {
		size_t tlen;
		const char *term = kbx_dict_key(&w->doc.dict, id, &tlen);

		if ((rc = kbx_remove_posting(t, w, term, tlen, doc)))
			return rc;
	}
	w->tot[KBX_T_DOCS]--;
	for (int f = 0; f < KBINDEX_FIELDS; f++)
		w->tot[KBX_T_UNITS0 + f] -= w->doc.units[f];
	if ((rc = batch_del(w->b, STORE_KB_DOCS, key, sizeof(key))))
		return rc;
	rc = batch_apply_append(t, w->b);
	batch_reset(w->b);
	return rc;
}

static int kbx_totals_put(struct store_txn *t, struct kbx_work *w)
{
	uint8_t v[KBX_TOTALS * 8];
	int rc;

	for (int i = 0; i < KBX_TOTALS; i++)
		kbindex__put_be64(v + 8 * i, w->tot[i]);
	/* An index without docs leaves nothing behind. */
	if (w->tot[KBX_T_DOCS] == 0)
		rc = batch_del(w->b, STORE_KB_DOCS, "t", 1);
	else
		rc = batch_put(w->b, STORE_KB_DOCS, "t", 1, v, sizeof(v));
	if (rc)
		return rc;
	rc = batch_apply_append(t, w->b);
	batch_reset(w->b);
	return rc;
}

static int kbx_work_init(struct store_txn *t, struct kbx_work *w)
{
	memset(w, 0, sizeof(*w));
	w->b = batch_new(0);
	return kbindex__totals(t, w->tot);
}

int kbindex_del(struct store_txn *t, uint64_t doc)
{
	struct kbx_work w;
	int rc = kbx_work_init(t, &w);

	if (!rc)
		rc = kbx_del(t, &w, doc);
	if (!rc)
		rc = kbx_totals_put(t, &w);
	kbx_work_release(&w);
	return rc;
}

/* ---- the builder ---- */

struct kbx_pend {
	struct kbx_buf b; /* per doc: varint zigzag(doc - last doc), the blob */
	uint64_t last;
	bool unsorted;
};

struct kbindex_build {
	struct kbx_doc doc;
	struct kbx_dict dict; /* every term pending */
	struct kbx_pend *pend;
	size_t pendcap;
	size_t bytes;
	struct kbx_buf docs; /* per doc: 8 bytes doc, varint length, record */
	uint64_t *docn;
	size_t ndocs, doccap;
	bool unsorted; /* docn is not ascending */
	uint64_t units[KBINDEX_FIELDS];
};

struct kbindex_build *kbindex_build_new(void)
{
	struct kbindex_build *b = calloc(1, sizeof(*b));

	if (!b)
		abort();
	return b;
}

static void kbx_build_clear(struct kbindex_build *b)
{
	for (size_t i = 0; i < b->dict.n; i++) {
		b->pend[i].b.len = 0;
		b->pend[i].last = 0;
		b->pend[i].unsorted = false;
	}
	kbx_dict_reset(&b->dict);
	b->bytes = 0;
	b->docs.len = 0;
	b->ndocs = 0;
	b->unsorted = false;
	memset(b->units, 0, sizeof(b->units));
}

void kbindex_build_free(struct kbindex_build *b)
{
	if (!b)
		return;
	for (size_t i = 0; i < b->pendcap; i++)
		free(b->pend[i].b.p);
	free(b->pend);
	kbx_doc_release(&b->doc);
	kbx_dict_release(&b->dict);
	free(b->docs.p);
	free(b->docn);
	free(b);
}

int kbindex_build_add(struct kbindex_build *b, struct store_txn *t, uint64_t doc,
		      const struct kbindex_text *text)
{
	struct kbx_doc *d = &b->doc;
	uint8_t db[8];
	size_t start;
	int rc;

	for (int f = 0; f < KBINDEX_FIELDS; f++)
		if (text->len[f] > KBINDEX_TEXT_MAX)
			return KF_ETOOBIG;
	/* Docs usually come in ascending order: then a doc above the last is new. */
	if (b->ndocs && (b->unsorted || doc <= b->docn[b->ndocs - 1])) {
		for (size_t i = 0; i < b->ndocs; i++)
			if (b->docn[i] == doc)
				return KF_EEXISTS;
		b->unsorted = true;
	}
	if (b->bytes >= KBINDEX_BUILD_BYTES && (rc = kbindex_build_flush(b, t)))
		return rc;
	kbx_doc_terms(d, text->field, text->len);
	kbindex__put_be64(db, doc);
	for (uint32_t id = 0; id < d->dict.n; id++) {
		size_t tlen;
		const char *term = kbx_dict_key(&d->dict, id, &tlen);
		uint32_t g = kbx_dict_id(&b->dict, term, tlen);
		struct kbx_pend *pe;

		if (g >= b->pendcap) {
			size_t cap = b->pendcap ? 2 * b->pendcap : 1024;

			b->pend = realloc(b->pend, cap * sizeof(*b->pend));
			if (!b->pend)
				abort();
			memset(b->pend + b->pendcap, 0, (cap - b->pendcap) * sizeof(*b->pend));
			b->pendcap = cap;
		}
		pe = &b->pend[g];
		start = pe->b.len;
		if (start && doc < pe->last)
			pe->unsorted = true;
		/* The doc as a step from the last (zigzag: a step back is odd);
		 * the blob says its own length. */
		if (doc >= pe->last)
			kbindex__buf_varint(&pe->b, (doc - pe->last) << 1);
		else
			kbindex__buf_varint(&pe->b, ((pe->last - doc) << 1) - 1);
		pe->last = doc;
		kbindex__buf_add(&pe->b, d->blob.p + d->boff[id], d->blen[id]);
		b->bytes += pe->b.len - start;
	}
	/* The doc's record: its folded text, what kbindex_del folds again. */
	start = b->docs.len;
	kbindex__buf_add(&b->docs, db, 8);
	{
		size_t vlen = 1;

		for (int f = 0; f < KBINDEX_FIELDS; f++)
			vlen += kbx_varint_size(d->folded[f].len) + d->folded[f].len;
		kbindex__buf_varint(&b->docs, vlen);
		kbindex__buf_add(&b->docs, "\1", 1);
		for (int f = 0; f < KBINDEX_FIELDS; f++) {
			kbindex__buf_varint(&b->docs, d->folded[f].len);
			kbindex__buf_add(&b->docs, d->folded[f].p, d->folded[f].len);
			b->units[f] += d->units[f];
		}
	}
	b->bytes += b->docs.len - start;
	if (b->ndocs == b->doccap) {
		b->doccap = b->doccap ? 2 * b->doccap : 256;
		b->docn = realloc(b->docn, b->doccap * sizeof(*b->docn));
		if (!b->docn)
			abort();
	}
	b->docn[b->ndocs++] = doc;
	return 0;
}

struct kbx_order {
	const char *term;
	size_t len;
	uint32_t id;
};

static int kbx_order_cmp(const void *a, const void *b)
{
	const struct kbx_order *x = a, *y = b;

	return store_key_cmp(x->term, x->len, y->term, y->len);
}

static int kbx_post_cmp(const void *a, const void *b)
{
	const struct kbx_post *x = a, *y = b;

	return x->doc < y->doc ? -1 : x->doc > y->doc;
}

/* The pending postings of one term, as posts sorted by doc. */
static void kbx_pend_posts(const struct kbx_pend *pe, struct kbx_posts *ps)
{
	const uint8_t *p = pe->b.p, *end = p + pe->b.len;

	uint64_t doc = 0;

	ps->n = 0;
	while (p < end) {
		uint64_t step = 0;
		size_t bl;

		/* Written by kbindex_build_add: it parses. */
		kbindex__varint(&p, end, &step);
		doc = step & 1 ? doc - ((step + 1) >> 1) : doc + (step >> 1);
		bl = kbindex__blob_len(p, end);
		kbx_posts_add(ps, doc, p, bl);
		p += bl;
	}
	if (pe->unsorted)
		qsort(ps->p, ps->n, sizeof(*ps->p), kbx_post_cmp);
}

static int kbx_flush(struct kbindex_build *b, struct store_txn *t, struct kbx_work *w)
{
	struct kbx_order *order = NULL;
	struct kbx_posts ps = {0};
	const uint8_t *p, *end;
	uint8_t key[9];
	int rc;

	/* Docs indexed already are removed first (a replacement). */
	for (size_t i = 0; i < b->ndocs; i++)
		if ((rc = kbx_del(t, w, b->docn[i])))
			return rc;
	order = malloc((b->dict.n ? b->dict.n : 1) * sizeof(*order));
	if (!order)
		abort();
	for (uint32_t id = 0; id < b->dict.n; id++) {
		order[id].term = kbx_dict_key(&b->dict, id, &order[id].len);
		order[id].id = id;
	}
	qsort(order, b->dict.n, sizeof(*order), kbx_order_cmp);
	rc = 0;
	for (size_t i = 0; i < b->dict.n && !rc; i++) {
		kbx_pend_posts(&b->pend[order[i].id], &ps);
		rc = kbx_merge_term(t, w, order[i].term, order[i].len, ps.p, ps.n);
		if (!rc)
			rc = kbx_apply_if_big(t, w);
	}
	free(order);
	free(ps.p);
	if (rc)
		return rc;
	p = b->docs.p;
	end = p + b->docs.len;
	while (p < end) {
		uint64_t vlen = 0;

		key[0] = 'd';
		memcpy(key + 1, p, 8);
		p += 8;
		kbindex__varint(&p, end, &vlen);
		if ((rc = batch_put(w->b, STORE_KB_DOCS, key, sizeof(key), p, (size_t)vlen)))
			return rc;
		w->tot[KBX_T_BYTES] += sizeof(key) + vlen;
		p += vlen;
	}
	w->tot[KBX_T_DOCS] += b->ndocs;
	for (int f = 0; f < KBINDEX_FIELDS; f++)
		w->tot[KBX_T_UNITS0 + f] += b->units[f];
	return kbx_totals_put(t, w);
}

int kbindex_build_flush(struct kbindex_build *b, struct store_txn *t)
{
	struct kbx_work w;
	int rc;

	if (b->ndocs == 0)
		return 0;
	rc = kbx_work_init(t, &w);
	if (!rc)
		rc = kbx_flush(b, t, &w);
	kbx_work_release(&w);
	kbx_build_clear(b);
	return rc;
}

int kbindex_put(struct store_txn *t, uint64_t doc, const struct kbindex_text *text)
{
	struct kbindex_build *b = kbindex_build_new();
	int rc = kbindex_build_add(b, t, doc, text);

	if (!rc)
		rc = kbindex_build_flush(b, t);
	kbindex_build_free(b);
	return rc;
}

int kbindex_stat(struct store_txn *t, struct kbindex_stats *st)
{
	uint64_t tot[KBX_TOTALS];
	int rc = kbindex__totals(t, tot);

	if (rc)
		return rc;
	st->docs = tot[KBX_T_DOCS];
	st->terms = tot[KBX_T_TERMS];
	st->postings = tot[KBX_T_POSTINGS];
	st->bytes = tot[KBX_T_BYTES];
	return 0;
}
