/*
 * Knowledge-base reads from this node's replica: search, show, the hot
 * articles and the editors' queue. Validity is checked as a search
 * answers (storage/kb.h kb_search). See kb_int.h.
 */
#include "node/kb/kb_int.h"

#include "lib/err.h"
#include "lib/loop.h"
#include "proto/frame.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SEARCH_DEFAULT 10
#define SNIPPET_MAX 240
#define QUEUE_MAX 200          /* entries of each list of the queue */

/* read_begin - a read transaction on the replica, or an Error sent. */
static struct store_txn *read_begin(struct kb *k, struct msg_peer *p, uint64_t request_id)
{
	struct store_txn *t;
	int err = store_read_begin(k->sto->store, &t);

	if (err) {
		msg_error(p, request_id, err, kf_strerror(err));
		return NULL;
	}
	return t;
}

/* Agents, supervisors, editors (with a session) and admins read. */
static bool may_read(struct msg_peer *p, const Kefu__Envelope *e)
{
	struct actor who;

	return actor_of(p, e, NULL, false, "knowledge-base reads", &who);
}

void kb__on_search(void *state, struct msg_peer *p, const Kefu__Envelope *e)
{
	struct kb *k = state;
	const Kefu__KbSearch *rq = e->kb_search;
	Kefu__Envelope out = KEFU__ENVELOPE__INIT;
	Kefu__KbSearchReply rep = KEFU__KB_SEARCH_REPLY__INIT;
	struct kb_hit hits[KBINDEX_LIMIT_MAX];
	Kefu__KbHit h[KBINDEX_LIMIT_MAX], *hp[KBINDEX_LIMIT_MAX];
	char snip[KBINDEX_LIMIT_MAX][SNIPPET_MAX];
	struct kb_filter f = {.now_ms = kb__now_ms(), .category = rq->category,
			      .tier = rq->tier, .city = rq->city};
	size_t limit = rq->has_limit ? rq->limit : SEARCH_DEFAULT, n = 0;
	uint64_t t0 = loop_now_us();
	struct store_txn *t;
	int err;

	if (!may_read(p, e))
		return;
	if (!rq->query || !*rq->query || strlen(rq->query) > KBINDEX_QUERY_MAX) {
		msg_error(p, e->request_id, KF_EPARSE, "the query is 1 to 256 bytes");
		return;
	}
	if (limit == 0 || limit > KBINDEX_LIMIT_MAX) {
		msg_error(p, e->request_id, KF_EPARSE, "the limit is 1 to 100");
		return;
	}
	if (!(t = read_begin(k, p, e->request_id)))
		return;
	err = kb_search(t, rq->query, strlen(rq->query), &f, limit, hits, &n);
	if (err) {
		store_abort(t);
		k->counts.refused++;
		msg_error(p, e->request_id, err,
			  err == KF_ESTORE ? kf_strerror(err)
					   : "the query has nothing to search for, or an unclosed "
					     "quote");
		return;
	}
	for (size_t i = 0; i < n; i++) {
		const Kefu__KbVersion *v = hits[i].v;

		kefu__kb_hit__init(&h[i]);
		h[i].has_id = h[i].has_version = h[i].has_score = h[i].has_exact = 1;
		h[i].id = v->article;
		h[i].version = v->version;
		h[i].title = v->title;
		h[i].score = hits[i].score;
		h[i].exact = hits[i].exact;
		h[i].category = v->category;
		kbindex_snippet(rq->query, strlen(rq->query), v->body, strlen(v->body), snip[i],
				sizeof(snip[i]));
		h[i].snippet = snip[i];
		hp[i] = &h[i];
	}
	rep.results = hp;
	rep.n_results = n;
	out.body_case = KEFU__ENVELOPE__BODY_KB_SEARCH_REPLY;
	out.kb_search_reply = &rep;
	msg_send(p, &out, e->request_id);
	kb_hits_release(hits, n);
	store_abort(t);
	if (n)
		k->counts.hits++;
	else
		k->counts.empty++;
	hist_add(&k->counts.latency_us, loop_now_us() - t0);
}

struct versions {
	Kefu__KbVersion **v;
	size_t n, cap;
	const Kefu__KbArticle *a;
	bool all_bodies;
};

static int keep_version(void *arg, const Kefu__KbVersion *v)
{
	struct versions *vs = arg;
	Kefu__KbVersion *c;

	if (vs->n == vs->cap) {
		vs->cap = vs->cap ? vs->cap * 2 : 8;
		vs->v = realloc(vs->v, vs->cap * sizeof(*vs->v));
		if (!vs->v)
			abort();
	}
	if (!(c = proto_copy(&v->base, NULL)))
		return KF_ECORRUPT;
	if (!vs->all_bodies && v->version != vs->a->live && v->version != vs->a->review) {
		free(c->body);
		c->body = NULL;
	}
	vs->v[vs->n++] = c;
	return 0;
}

void kb__on_show(void *state, struct msg_peer *p, const Kefu__Envelope *e)
{
	struct kb *k = state;
	const Kefu__KbShow *rq = e->kb_show;
	Kefu__Envelope out = KEFU__ENVELOPE__INIT;
	Kefu__KbShowReply rep = KEFU__KB_SHOW_REPLY__INIT;
	struct versions vs = {.all_bodies = rq->all_bodies};
	Kefu__KbArticle *a = NULL;
	Kefu__KbStats *s = NULL;
	struct store_txn *t;
	int err;

	if (!may_read(p, e) || !(t = read_begin(k, p, e->request_id)))
		return;
	err = kb_article_get(t, rq->id, &a);
	if (!err) {
		vs.a = a;
		err = kb_versions_each(t, rq->id, keep_version, &vs);
	}
	if (!err)
		err = kb_stats_get(t, rq->id, &s);
	if (err == KF_ENOTFOUND) {
		char msg[64];

		snprintf(msg, sizeof(msg), "no article %llu", (unsigned long long)rq->id);
		msg_error(p, e->request_id, err, msg);
	} else if (err) {
		msg_error(p, e->request_id, err, kf_strerror(err));
	} else {
		rep.article = a;
		rep.versions = vs.v;
		rep.n_versions = vs.n;
		rep.stats = s;
		out.body_case = KEFU__ENVELOPE__BODY_KB_SHOW_REPLY;
		out.kb_show_reply = &rep;
		msg_send(p, &out, e->request_id);
	}
	for (size_t i = 0; i < vs.n; i++)
		kefu__kb_version__free_unpacked(vs.v[i], NULL);
	free(vs.v);
	if (a)
		kefu__kb_article__free_unpacked(a, NULL);
	if (s)
		kefu__kb_stats__free_unpacked(s, NULL);
	store_abort(t);
}

/* ---- hot ---- */

struct hot {
	struct store_txn *t;
	uint64_t now;
	Kefu__KbHotItem *items;
	size_t n, cap;
};

static int hot_one(void *arg, const Kefu__KbArticle *a)
{
	struct hot *h = arg;
	Kefu__KbStats *s;
	Kefu__KbHotItem *it;
	double score;
	size_t at;

	if (!a->live || kb_stats_get(h->t, a->id, &s))
		return 0;
	score = kb_hot_decay(s, h->now);
	if (score <= 0 || (h->n == h->cap && score <= h->items[h->n - 1].score)) {
		kefu__kb_stats__free_unpacked(s, NULL);
		return 0;
	}
	/* Insert in order, best first; the last falls out when full. */
	if (h->n < h->cap) {
		at = h->n++;
	} else {
		at = h->n - 1;
		free(h->items[at].title);
	}
	while (at > 0 && h->items[at - 1].score < score) {
		h->items[at] = h->items[at - 1];
		at--;
	}
	it = &h->items[at];
	kefu__kb_hot_item__init(it);
	it->has_id = it->has_score = it->has_views = it->has_used = 1;
	it->id = a->id;
	it->title = strdup(a->title ? a->title : "");
	if (!it->title)
		abort();
	it->score = score;
	it->views = s->views;
	it->used = s->used;
	kefu__kb_stats__free_unpacked(s, NULL);
	return 0;
}

void kb__on_hot(void *state, struct msg_peer *p, const Kefu__Envelope *e)
{
	struct kb *k = state;
	const Kefu__KbHot *rq = e->kb_hot;
	Kefu__Envelope out = KEFU__ENVELOPE__INIT;
	Kefu__KbHotReply rep = KEFU__KB_HOT_REPLY__INIT;
	Kefu__KbHotItem *ptr[KB_HOT_MAX];
	struct hot h = {.now = kb__now_ms()};
	int err;

	h.cap = rq->has_limit && rq->limit ? rq->limit : 10;
	if (h.cap > KB_HOT_MAX) {
		msg_error(p, e->request_id, KF_EPARSE, "the limit is 1 to 100");
		return;
	}
	if (!may_read(p, e) || !(h.t = read_begin(k, p, e->request_id)))
		return;
	h.items = calloc(h.cap, sizeof(*h.items));
	if (!h.items)
		abort();
	err = kb_articles_each(h.t, hot_one, &h);
	if (err) {
		msg_error(p, e->request_id, err, kf_strerror(err));
	} else {
		for (size_t i = 0; i < h.n; i++)
			ptr[i] = &h.items[i];
		rep.items = ptr;
		rep.n_items = h.n;
		out.body_case = KEFU__ENVELOPE__BODY_KB_HOT_REPLY;
		out.kb_hot_reply = &rep;
		msg_send(p, &out, e->request_id);
	}
	for (size_t i = 0; i < h.n; i++)
		free(h.items[i].title);
	free(h.items);
	store_abort(h.t);
}

/* ---- the editors' queue ---- */

struct queue {
	struct store_txn *t;
	Kefu__KbQueueReply rep;
	int err;
};

static void *grow(void *v, size_t n, size_t size)
{
	void *r = realloc(v, (n + 1) * size);

	if (!r)
		abort();
	return r;
}

static int queue_review(void *arg, const Kefu__KbArticle *a)
{
	struct queue *q = arg;
	Kefu__KbVersion *v;
	int err;

	if (!a->review || q->rep.n_review >= QUEUE_MAX)
		return 0;
	if ((err = kb_version_get(q->t, a->id, a->review, &v)))
		return err == KF_ENOTFOUND ? 0 : err;
	free(v->body);
	v->body = NULL;
	q->rep.review = grow(q->rep.review, q->rep.n_review, sizeof(*q->rep.review));
	q->rep.review[q->rep.n_review++] = v;
	return 0;
}

static int queue_due(void *arg, uint64_t id, uint64_t at)
{
	struct queue *q = arg;
	Kefu__KbArticle *a;
	int err;

	(void)at;
	if (q->rep.n_due >= QUEUE_MAX)
		return 1;
	if ((err = kb_article_get(q->t, id, &a)))
		return err == KF_ENOTFOUND ? 0 : err;
	q->rep.due = grow(q->rep.due, q->rep.n_due, sizeof(*q->rep.due));
	q->rep.due[q->rep.n_due++] = a;
	return 0;
}

static int queue_feedback(void *arg, const Kefu__KbFeedbackEntry *fe)
{
	struct queue *q = arg;
	Kefu__KbFeedbackEntry *c;

	if (fe->helpful)
		return 0;
	if (q->rep.n_feedback >= QUEUE_MAX)
		return 1;
	c = calloc(1, sizeof(*c));
	if (!c)
		abort();
	kefu__kb_feedback_entry__init(c);
	*c = *fe;
	c->agent = strdup(fe->agent ? fe->agent : "");
	c->comment = strdup(fe->comment ? fe->comment : "");
	if (!c->agent || !c->comment)
		abort();
	q->rep.feedback = grow(q->rep.feedback, q->rep.n_feedback, sizeof(*q->rep.feedback));
	q->rep.feedback[q->rep.n_feedback++] = c;
	return 0;
}

void kb__on_queue(void *state, struct msg_peer *p, const Kefu__Envelope *e)
{
	struct kb *k = state;
	Kefu__Envelope out = KEFU__ENVELOPE__INIT;
	struct queue q = {.rep = KEFU__KB_QUEUE_REPLY__INIT};
	int err;

	if (!may_read(p, e) || !(q.t = read_begin(k, p, e->request_id)))
		return;
	err = kb_articles_each(q.t, queue_review, &q);
	if (!err)
		err = kb_due_each(q.t, kb__now_ms(), queue_due, &q);
	if (!err)
		err = kb_feedback_each(q.t, queue_feedback, &q);
	if (err) {
		msg_error(p, e->request_id, err, kf_strerror(err));
	} else {
		out.body_case = KEFU__ENVELOPE__BODY_KB_QUEUE_REPLY;
		out.kb_queue_reply = &q.rep;
		msg_send(p, &out, e->request_id);
	}
	for (size_t i = 0; i < q.rep.n_review; i++)
		kefu__kb_version__free_unpacked(q.rep.review[i], NULL);
	for (size_t i = 0; i < q.rep.n_due; i++)
		kefu__kb_article__free_unpacked(q.rep.due[i], NULL);
	for (size_t i = 0; i < q.rep.n_feedback; i++) {
		free(q.rep.feedback[i]->agent);
		free(q.rep.feedback[i]->comment);
		free(q.rep.feedback[i]);
	}
	free(q.rep.review);
	free(q.rep.due);
	free(q.rep.feedback);
	store_abort(q.t);
}
