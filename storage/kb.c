/* The knowledge base's tables and its derived index. See kb.h. */
#include "storage/kb.h"

#include "lib/err.h"
#include "storage/keys.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TAG_ARTICLE 'a'
#define TAG_VERSION 'v'
#define TAG_STATS 's'
#define TAG_FEEDBACK 'f'
#define TAG_DUE 'd'
#define TAG_REF 'r'
#define TAG_NEXT 'n'
#define TAG_ADMIT 'x'
#define FRESH_MS (30 * 24 * 3600 * 1000.0) /* freshness fades over a month */

bool kb_state_is_valid(const char *state)
{
	static const char *const states[] = {"draft",      "review",   "published",
					     "superseded", "returned", "archived"};

	for (size_t i = 0; state && i < sizeof(states) / sizeof(states[0]); i++)
		if (strcmp(state, states[i]) == 0)
			return true;
	return false;
}

/* ---- keys ---- */

static size_t key_id(uint8_t *k, char tag, uint64_t id)
{
	k[0] = (uint8_t)tag;
	key_be64_put(k + 1, id);
	return 9;
}

static size_t key_version(uint8_t *k, uint64_t id, uint32_t version)
{
	key_id(k, TAG_VERSION, id);
	key_be32_put(k + 9, version);
	return 13;
}

/* ---- reads ---- */

/* get - unpack the value of key with unpack into *out. */
typedef void *(*unpack_fn)(ProtobufCAllocator *a, size_t len, const uint8_t *data);

static int get(struct store_txn *t, const uint8_t *k, size_t klen, unpack_fn unpack, void **out)
{
	struct store_val v;
	int err = store_get(t, STORE_KB, k, klen, &v);

	*out = NULL;
	if (err)
		return err;
	*out = unpack(NULL, v.len, v.data);
	return *out ? 0 : KF_ECORRUPT;
}

int kb_article_get(struct store_txn *t, uint64_t id, Kefu__KbArticle **out)
{
	uint8_t k[9];

	return get(t, k, key_id(k, TAG_ARTICLE, id), (unpack_fn)kefu__kb_article__unpack,
		   (void **)out);
}

int kb_version_get(struct store_txn *t, uint64_t id, uint32_t version, Kefu__KbVersion **out)
{
	uint8_t k[13];

	return get(t, k, key_version(k, id, version), (unpack_fn)kefu__kb_version__unpack,
		   (void **)out);
}

int kb_stats_get(struct store_txn *t, uint64_t id, Kefu__KbStats **out)
{
	uint8_t k[9];
	int err = get(t, k, key_id(k, TAG_STATS, id), (unpack_fn)kefu__kb_stats__unpack,
		      (void **)out);

	if (err == KF_ENOTFOUND) {
		*out = kefu__kb_stats__unpack(NULL, 0, NULL);
		if (!*out)
			abort();
		err = 0;
	}
	return err;
}

int kb_by_ref(struct store_txn *t, const char *ref, uint64_t *id)
{
	struct key k;
	struct store_val v;
	char tag[2] = {TAG_REF, '\0'};
	int err;

	key_init(&k);
	key_add_str(&k, tag);
	key_add_str(&k, ref ? ref : "");
	if (!key_ok(&k))
		return KF_ETOOBIG;
	if ((err = store_get(t, STORE_KB, k.b, k.len, &v)))
		return err;
	if (v.len != 8)
		return KF_ECORRUPT;
	*id = key_be64_get(v.data);
	return 0;
}

struct each {
	unpack_fn unpack;
	void (*free_fn)(void *m, ProtobufCAllocator *a);
	int (*fn)(void *arg, const void *m);
	void *arg;
};

static int each_one(void *arg, const struct store_val *key, const struct store_val *val)
{
	struct each *e = arg;
	void *m = e->unpack(NULL, val->len, val->data);
	int r;

	(void)key;
	if (!m)
		return KF_ECORRUPT;
	r = e->fn(e->arg, m);
	e->free_fn(m, NULL);
	return r;
}

int kb_versions_each(struct store_txn *t, uint64_t id, kb_version_fn fn, void *arg)
{
	struct each e = {(unpack_fn)kefu__kb_version__unpack,
			 (void (*)(void *, ProtobufCAllocator *))kefu__kb_version__free_unpacked,
			 (int (*)(void *, const void *))fn, arg};
	uint8_t k[9];

	return store_scan(t, STORE_KB, k, key_id(k, TAG_VERSION, id), NULL, 0, true, each_one,
			  &e);
}

int kb_articles_each(struct store_txn *t, kb_article_fn fn, void *arg)
{
	struct each e = {(unpack_fn)kefu__kb_article__unpack,
			 (void (*)(void *, ProtobufCAllocator *))kefu__kb_article__free_unpacked,
			 (int (*)(void *, const void *))fn, arg};
	uint8_t tag = TAG_ARTICLE;

	return store_scan(t, STORE_KB, &tag, 1, NULL, 0, false, each_one, &e);
}

int kb_feedback_each(struct store_txn *t, kb_feedback_fn fn, void *arg)
{
	struct each e = {(unpack_fn)kefu__kb_feedback_entry__unpack,
			 (void (*)(void *, ProtobufCAllocator *))kefu__kb_feedback_entry__free_unpacked,
			 (int (*)(void *, const void *))fn, arg};
	uint8_t tag = TAG_FEEDBACK;

	return store_scan(t, STORE_KB, &tag, 1, NULL, 0, true, each_one, &e);
}

struct due {
	uint64_t upto;
	kb_due_fn fn;
	void *arg;
};

static int due_one(void *arg, const struct store_val *key, const struct store_val *val)
{
	struct due *d = arg;
	uint64_t at;

	(void)val;
	if (key->len != 17)
		return KF_ECORRUPT;
	at = key_be64_get((const uint8_t *)key->data + 1);
	if (at > d->upto)
		return 1;
	return d->fn(d->arg, key_be64_get((const uint8_t *)key->data + 9), at);
}

int kb_due_each(struct store_txn *t, uint64_t upto_ms, kb_due_fn fn, void *arg)
{
	struct due d = {upto_ms, fn, arg};
	uint8_t tag = TAG_DUE;

	return store_scan(t, STORE_KB, &tag, 1, NULL, 0, false, due_one, &d);
}

/* ---- writes ---- */

int kb_next_id(struct store_txn *t, uint64_t *id)
{
	uint8_t tag = TAG_NEXT;
	struct store_val cur;
	int err = store_get(t, STORE_KB, &tag, 1, &cur);

	*id = 1;
	if (err == KF_ENOTFOUND)
		return 0;
	if (err)
		return err;
	if (cur.len != 8)
		return KF_ECORRUPT;
	*id = key_be64_get(cur.data);
	return 0;
}

int kb_next_id_put(struct batch *b, uint64_t next)
{
	uint8_t tag = TAG_NEXT, v[8];

	key_be64_put(v, next);
	return batch_put(b, STORE_KB, &tag, 1, v, 8);
}

/* put - m packed under key. */
static int put(struct batch *b, const uint8_t *k, size_t klen, const ProtobufCMessage *m)
{
	return batch_put_msg(b, STORE_KB, k, klen, m);
}

int kb_article_put(struct batch *b, const Kefu__KbArticle *a)
{
	uint8_t k[9];

	return put(b, k, key_id(k, TAG_ARTICLE, a->id), &a->base);
}

int kb_version_put(struct batch *b, const Kefu__KbVersion *v)
{
	uint8_t k[13];

	return put(b, k, key_version(k, v->article, v->version), &v->base);
}

int kb_stats_put(struct batch *b, uint64_t id, const Kefu__KbStats *s)
{
	uint8_t k[9];

	return put(b, k, key_id(k, TAG_STATS, id), &s->base);
}

int kb_ref_put(struct batch *b, const char *ref, uint64_t id)
{
	struct key k;
	char tag[2] = {TAG_REF, '\0'};
	uint8_t v[8];

	key_init(&k);
	key_add_str(&k, tag);
	key_add_str(&k, ref);
	if (!key_ok(&k))
		return KF_ETOOBIG;
	key_be64_put(v, id);
	return batch_put(b, STORE_KB, k.b, k.len, v, 8);
}

int kb_feedback_put(struct batch *b, const Kefu__KbFeedbackEntry *e)
{
	uint8_t k[KB_KEY_MAX];
	size_t n = e->agent ? strlen(e->agent) : 0;

	if (n > KB_KEY_MAX - 17)
		return KF_ETOOBIG;
	key_id(k, TAG_FEEDBACK, e->article);
	key_be64_put(k + 9, e->at_ms);
	memcpy(k + 17, e->agent, n);
	return put(b, k, 17 + n, &e->base);
}

static size_t key_due(uint8_t *k, uint64_t at, uint64_t id)
{
	k[0] = TAG_DUE;
	key_be64_put(k + 1, at);
	key_be64_put(k + 9, id);
	return 17;
}

int kb_due_move(struct batch *b, uint64_t id, uint64_t old_ms, uint64_t new_ms)
{
	uint8_t k[17];
	int err = 0;

	if (old_ms == new_ms)
		return 0;
	if (old_ms)
		err = batch_del(b, STORE_KB, k, key_due(k, old_ms, id));
	if (!err && new_ms)
		err = batch_put(b, STORE_KB, k, key_due(k, new_ms, id), "", 0);
	return err;
}

/* ---- the derived index ---- */

/* The keywords field: keywords, tags and the category's parts, by spaces. */
static char *keywords_text(const Kefu__KbVersion *v, size_t *len)
{
	size_t cap = 1, n = 0;
	char *s;

	for (size_t i = 0; i < v->n_keywords; i++)
		cap += strlen(v->keywords[i]) + 1;
	for (size_t i = 0; i < v->n_tags; i++)
		cap += strlen(v->tags[i]) + 1;
	cap += v->category ? strlen(v->category) + 1 : 0;
	s = malloc(cap);
	if (!s)
		abort();
	for (size_t i = 0; i < v->n_keywords; i++)
		n += (size_t)snprintf(s + n, cap - n, "%s ", v->keywords[i]);
	for (size_t i = 0; i < v->n_tags; i++)
		n += (size_t)snprintf(s + n, cap - n, "%s ", v->tags[i]);
	if (v->category)
		n += (size_t)snprintf(s + n, cap - n, "%s", v->category);
	for (size_t i = 0; i < n; i++)
		if (s[i] == '/')
			s[i] = ' ';
	*len = n;
	return s;
}

/*
 * The admit record of a live version: its document's number -> the
 * version without its text (state, validity, category, tiers, cities,
 * approval), all a search needs to admit it, small to read. Derived like
 * the index, written and removed with it in kb_apply.
 */
static size_t key_admit(uint8_t *k, uint64_t doc)
{
	return key_id(k, TAG_ADMIT, doc);
}

int kb_admit_record(struct batch *b, const Kefu__KbVersion *v)
{
	Kefu__KbVersion m = *v;
	uint8_t k[9], *buf;
	size_t n;
	int err;

	m.title = m.body = m.note = NULL;
	m.n_keywords = m.n_tags = 0;
	n = kefu__kb_version__get_packed_size(&m);
	buf = malloc(n ? n : 1);
	if (!buf)
		abort();
	kefu__kb_version__pack(&m, buf);
	err = batch_put(b, STORE_KB, k, key_admit(k, kb_doc(v->article, v->version)), buf, n);
	free(buf);
	return err;
}

/* The admit record of doc written from v, or (v NULL) removed, in t. */
static int admit_apply(struct store_txn *t, uint64_t doc, const Kefu__KbVersion *v)
{
	struct batch *b = batch_new(0);
	uint8_t k[9];
	int err = v ? kb_admit_record(b, v) : batch_del(b, STORE_KB, k, key_admit(k, doc));

	if (!err)
		err = batch_apply(t, b);
	batch_free(b);
	return err;
}

static int admit_put(struct store_txn *t, const Kefu__KbVersion *v)
{
	return admit_apply(t, kb_doc(v->article, v->version), v);
}

static int index_version(struct store_txn *t, uint64_t id, uint32_t version)
{
	Kefu__KbVersion *v;
	struct kbindex_text text;
	char *kw;
	size_t kwlen;
	int err = kb_version_get(t, id, version, &v);

	if (err == KF_ENOTFOUND)
		return KF_ECORRUPT;
	if (err)
		return err;
	if ((err = admit_put(t, v)))
		goto out;
	kw = keywords_text(v, &kwlen);
	text.field[KBINDEX_TITLE] = v->title ? v->title : "";
	text.len[KBINDEX_TITLE] = strlen(text.field[KBINDEX_TITLE]);
	text.field[KBINDEX_KEYWORDS] = kw;
	text.len[KBINDEX_KEYWORDS] = kwlen;
	text.field[KBINDEX_BODY] = v->body ? v->body : "";
	text.len[KBINDEX_BODY] = strlen(text.field[KBINDEX_BODY]);
	err = kbindex_put(t, kb_doc(id, version), &text);
	free(kw);
out:
	kefu__kb_version__free_unpacked(v, NULL);
	return err;
}

struct live_change {
	uint64_t id;
	uint32_t was;
};

static int live_of(struct store_txn *t, uint64_t id, uint32_t *live)
{
	Kefu__KbArticle *a;
	int err = kb_article_get(t, id, &a);

	*live = 0;
	if (err == KF_ENOTFOUND)
		return 0;
	if (err)
		return err;
	*live = a->live;
	kefu__kb_article__free_unpacked(a, NULL);
	return 0;
}

int kb_apply(struct store_txn *t, const struct batch *b)
{
	struct live_change *ch = NULL;
	size_t n = 0, cap = 0;
	int err = 0;

	for (size_t i = 0; i < batch_count(b) && !err; i++) {
		struct batch_op op = batch_op(b, i);
		uint64_t id;
		bool seen = false;

		if (op.table != STORE_KB || op.klen != 9 || op.key[0] != TAG_ARTICLE)
			continue;
		id = key_be64_get(op.key + 1);
		for (size_t j = 0; j < n && !seen; j++)
			seen = ch[j].id == id;
		if (seen)
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 16;
			ch = realloc(ch, cap * sizeof(*ch));
			if (!ch)
				abort();
		}
		ch[n].id = id;
		err = live_of(t, id, &ch[n].was);
		n++;
	}
	if (!err)
		err = batch_apply(t, b);
	for (size_t i = 0; i < n && !err; i++) {
		uint32_t now;

		if ((err = live_of(t, ch[i].id, &now)) || now == ch[i].was)
			continue;
		if (ch[i].was && !(err = kbindex_del(t, kb_doc(ch[i].id, ch[i].was))))
			err = admit_apply(t, kb_doc(ch[i].id, ch[i].was), NULL);
		if (!err && now)
			err = index_version(t, ch[i].id, now);
	}
	free(ch);
	return err;
}

/* ---- search ---- */

const char *kb_situation(const Kefu__Subscriber *u)
{
	if (!u)
		return NULL;
	if (u->status == 3 || u->arrears > 0)
		return "缴费";
	if (u->status == 2)
		return "停机";
	if (u->status == 4)
		return "销户";
	if (u->has_balance && u->balance < 1000)
		return "充值";
	return NULL;
}

double kb_hot_decay(const Kefu__KbStats *s, uint64_t now_ms)
{
	double age;

	if (!s->hot)
		return 0;
	age = now_ms > s->hot_ms ? (double)(now_ms - s->hot_ms) : 0;
	return s->hot * exp2(-age / (double)KB_HOT_HALF_LIFE_MS);
}

static bool has_word(char *const *words, size_t n, const char *w)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(words[i], w) == 0)
			return true;
	return false;
}

static bool has_tier(const uint32_t *tiers, size_t n, uint32_t tier)
{
	for (size_t i = 0; i < n; i++)
		if (tiers[i] == tier)
			return true;
	return false;
}

/* kb__admissible - v may be shown to an agent under f now. */
static bool admissible(const Kefu__KbVersion *v, const struct kb_filter *f)
{
	size_t cl;

	if (!v->state || strcmp(v->state, "published") != 0)
		return false;
	if (v->valid_from_ms && f->now_ms < v->valid_from_ms)
		return false;
	if (v->valid_to_ms && f->now_ms >= v->valid_to_ms)
		return false;
	if (f->category && *f->category) {
		cl = strlen(f->category);
		if (!v->category || strncmp(v->category, f->category, cl) != 0 ||
		    (v->category[cl] && v->category[cl] != '/'))
			return false;
	}
	if (f->tier && v->n_tiers && !has_tier(v->tiers, v->n_tiers, f->tier))
		return false;
	if (f->city && *f->city && v->n_cities && !has_word(v->cities, v->n_cities, f->city))
		return false;
	return true;
}

struct search {
	struct store_txn *t;
	const struct kb_filter *f;
};

/* admit - whether a candidate may be shown under the filter: its admit
 * record read and checked; no boost here (see kb_search). */
static double admit(void *arg, uint64_t doc)
{
	struct search *s = arg;
	Kefu__KbVersion *v;
	uint8_t k[9];
	bool ok;

	if (get(s->t, k, key_admit(k, doc), (unpack_fn)kefu__kb_version__unpack, (void **)&v))
		return -1;
	ok = admissible(v, s->f);
	kefu__kb_version__free_unpacked(v, NULL);
	return ok ? 1 : -1;
}

/* Popularity (decayed views and uses, up to +0.6) and freshness (approved
 * in the last weeks, up to +0.3) of v: a factor of at most 1.9. */
static double boost_of(struct store_txn *t, const Kefu__KbVersion *v, uint64_t now)
{
	Kefu__KbStats *st;
	double boost = 1, hot;

	if (v->approved_ms && now > v->approved_ms)
		boost += 0.3 * exp(-(double)(now - v->approved_ms) / FRESH_MS);
	else if (v->approved_ms)
		boost += 0.3;
	if (kb_stats_get(t, v->article, &st) == 0) {
		hot = kb_hot_decay(st, now);
		boost += 0.6 * hot / (hot + 20);
		kefu__kb_stats__free_unpacked(st, NULL);
	}
	return boost;
}

static int hit_cmp(const void *a, const void *b)
{
	const struct kb_hit *x = a, *y = b;

	if (x->exact != y->exact)
		return x->exact ? -1 : 1;
	return x->score > y->score ? -1 : x->score < y->score;
}

/*
 * Two stages: the index ranks by relevance alone and admits (validity,
 * tier, city, category) the best KB_RERANK times limit; those are ranked
 * again by relevance times their use and freshness. A search so reads a
 * few dozen candidates' records however close the relevance of thousands
 * of articles is (one common character), and popularity reorders what is
 * relevant without lifting what is not.
 */
int kb_search(struct store_txn *t, const char *query, size_t qlen, const struct kb_filter *f,
	      size_t limit, struct kb_hit *out, size_t *n)
{
	struct kbindex_hit hits[KBINDEX_LIMIT_MAX];
	struct kb_hit all[KBINDEX_LIMIT_MAX];
	struct search s = {t, f};
	size_t nh = 0, na = 0, fetch = limit * KB_RERANK;
	int err;

	*n = 0;
	if (limit == 0 || limit > KBINDEX_LIMIT_MAX)
		return KF_EINVAL;
	if (fetch > KBINDEX_LIMIT_MAX)
		fetch = KBINDEX_LIMIT_MAX;
	if ((err = kbindex_search(t, query, qlen, fetch, admit, &s, hits, &nh)))
		return err;
	for (size_t i = 0; i < nh; i++) {
		Kefu__KbVersion *v;

		if (kb_version_get(t, kb_doc_article(hits[i].doc), kb_doc_version(hits[i].doc), &v))
			continue;
		all[na].v = v;
		all[na].score = hits[i].score * boost_of(t, v, f->now_ms);
		all[na].exact = hits[i].exact;
		na++;
	}
	qsort(all, na, sizeof(*all), hit_cmp);
	*n = na < limit ? na : limit;
	memcpy(out, all, *n * sizeof(*out));
	kb_hits_release(all + *n, na - *n);
	return 0;
}

void kb_hits_release(struct kb_hit *h, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		kefu__kb_version__free_unpacked(h[i].v, NULL);
		h[i].v = NULL;
	}
}
