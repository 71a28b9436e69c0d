/*
 * Article changes: new articles and versions, submit, approve, reject,
 * archive; views and feedback. A follower forwards the request to the
 * leader with the actor it vouches for; the leader checks it against the
 * stored article and writes it in one step inside its logging transaction
 * (leader_run), so two approvals of one article can never both pass, and
 * the index of every node follows the live version in the transaction
 * that applies the change (storage/kb.h kb_apply). See kb_int.h.
 */
#include "node/kb/kb_int.h"

#include "lib/err.h"
#include "lib/log.h"
#include "node/leader.h"
#include "proto/frame.h"
#include "storage/accounts.h"
#include "storage/audit.h"
#include "storage/log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum job_kind { J_WRITE, J_ACTION, J_VIEW, J_FEEDBACK };

struct job {
	struct kb *k;
	struct msg_ref ref;
	enum job_kind kind;
	Kefu__KbWrite *w;            /* owned copies of the request */
	Kefu__KbAction *a;
	Kefu__KbView *v;
	Kefu__KbFeedback *f;
	bool count;                  /* a view to count (not a repeat) */
	char actor[AUDIT_AGENT_MAX + 1];
	bool admin;
	uint64_t now_ms, seq;
	struct batch *b;
	/* written by the body, read by the completion */
	char why[256];
	uint64_t *ids;
	uint32_t *versions;
	size_t n;
	uint8_t *reply;              /* KbShowReply packed */
	size_t reply_len;
};

static void job_free(struct job *j)
{
	struct kb *k = j->k;

	if (j->w)
		kefu__kb_write__free_unpacked(j->w, NULL);
	if (j->a)
		kefu__kb_action__free_unpacked(j->a, NULL);
	if (j->v)
		kefu__kb_view__free_unpacked(j->v, NULL);
	if (j->f)
		kefu__kb_feedback__free_unpacked(j->f, NULL);
	batch_free(j->b);
	free(j->ids);
	free(j->versions);
	free(j->reply);
	free(j);
	k->inflight--;
	if (k->dead && k->inflight == 0)
		kb__release(k);
}

/* ---- the body, on the leader's writer thread ---- */

/* refuse - code, with why filled for the completion's Error. */
#define refuse(j, code, ...) (kf_why((j)->why, sizeof((j)->why), __VA_ARGS__), (code))


static int audit(struct job *j, const char *action, uint64_t id, const char *detail)
{
	Kefu__AuditEntry ae = KEFU__AUDIT_ENTRY__INIT;
	char act[AUDIT_ACTION_MAX + 1], subject[32];

	snprintf(act, sizeof(act), "kb_%s", action);
	snprintf(subject, sizeof(subject), "kb:%llu", (unsigned long long)id);
	ae.has_time_ms = ae.has_seq = 1;
	ae.time_ms = j->now_ms;
	ae.seq = j->seq++;
	ae.node = j->k->self;
	ae.agent = j->actor;
	ae.action = act;
	ae.subject = subject;
	ae.detail = (char *)detail;
	return audit_append(j->b, &ae, j->why, sizeof(j->why));
}

/* The article's own state from its versions. */
static void article_state(Kefu__KbArticle *a)
{
	proto_set_str(&a->state, a->live ? "published" : a->review ? "review" : "draft");
}

/* Text without control characters but newlines and tabs (a body). */
static bool body_ok(const char *s)
{
	size_t n = s ? strlen(s) : 0, from = 0;

	if (n > KB_BODY_MAX)
		return false;
	for (size_t i = 0; i <= n; i++) {
		if (i < n && s[i] != '\n' && s[i] != '\t' && s[i] != '\r')
			continue;
		if (!audit_bytes_are_text(s + from, i - from))
			return false;
		from = i + 1;
	}
	return true;
}

static int check_words(struct job *j, const char *what, char *const *w, size_t n)
{
	if (n > KB_WORDS_MAX)
		return refuse(j, KF_ETOOBIG, "at most %d %s", KB_WORDS_MAX, what);
	for (size_t i = 0; i < n; i++)
		if (!w[i] || !*w[i] || !audit_text_is_valid(w[i], KB_WORD_MAX))
			return refuse(j, KF_EPARSE, "%s \"%s\" is not text of 1 to %d bytes", what,
				      w[i] ? w[i] : "", KB_WORD_MAX);
	return 0;
}

/* A category is a path of non-empty parts: "话费/查询". */
static bool category_ok(const char *c)
{
	size_t n = c ? strlen(c) : 0;

	return n > 0 && audit_text_is_valid(c, KB_CATEGORY_MAX) && c[0] != '/' &&
	       c[n - 1] != '/' && !strstr(c, "//");
}

static int check_in(struct job *j, size_t i, const Kefu__KbArticleIn *in)
{
	int err;

	if (!in->title || !*in->title || !audit_text_is_valid(in->title, KB_TITLE_MAX))
		return refuse(j, KF_EPARSE, "article %zu: the title is required: text of at most "
			      "%d bytes", i + 1, KB_TITLE_MAX);
	if (!in->body || !*in->body || !body_ok(in->body))
		return refuse(j, KF_EPARSE, "article %zu: the body is required: text of at most "
			      "%d KiB", i + 1, KB_BODY_MAX / 1024);
	if (!category_ok(in->category))
		return refuse(j, KF_EPARSE, "article %zu: category \"%s\" is not a path such as "
			      "话费/查询", i + 1, in->category ? in->category : "");
	if ((err = check_words(j, "keywords", in->keywords, in->n_keywords)) ||
	    (err = check_words(j, "tags", in->tags, in->n_tags)) ||
	    (err = check_words(j, "cities", in->cities, in->n_cities)))
		return err;
	if (in->n_tiers > KB_WORDS_MAX)
		return refuse(j, KF_ETOOBIG, "article %zu: at most %d tiers", i + 1, KB_WORDS_MAX);
	if (in->valid_from_ms && in->valid_to_ms && in->valid_to_ms <= in->valid_from_ms)
		return refuse(j, KF_EPARSE, "article %zu: valid_to is not after valid_from", i + 1);
	if (in->state && *in->state && strcmp(in->state, "draft") &&
	    strcmp(in->state, "review") && strcmp(in->state, "published"))
		return refuse(j, KF_EPARSE, "article %zu: state \"%s\" is draft, review or "
			      "published", i + 1, in->state);
	if (in->state && strcmp(in->state, "published") == 0 && !j->admin)
		return refuse(j, KF_ESTATE, "article %zu: a version is published by approval "
			      "(only an admin's import publishes at once)", i + 1);
	if (in->author && *in->author && !j->admin)
		return refuse(j, KF_ESTATE, "article %zu: only an admin's import names the author",
			      i + 1);
	if (in->author && !audit_text_is_valid(in->author, AUDIT_AGENT_MAX))
		return refuse(j, KF_EPARSE, "article %zu: bad author", i + 1);
	if (in->client_ref && strlen(in->client_ref) > KB_REF_MAX)
		return refuse(j, KF_EPARSE, "article %zu: client_ref is over %d bytes", i + 1,
			      KB_REF_MAX);
	return 0;
}

static char **dup_words(char *const *w, size_t n)
{
	char **d = calloc(n ? n : 1, sizeof(*d));

	if (!d)
		abort();
	for (size_t i = 0; i < n; i++)
		d[i] = proto_strdup(w[i]);
	return d;
}

static Kefu__KbVersion *version_new(const struct job *j, const Kefu__KbArticleIn *in,
				    uint64_t id, uint32_t version)
{
	Kefu__KbVersion *v = calloc(1, sizeof(*v));

	if (!v)
		abort();
	kefu__kb_version__init(v);
	v->has_article = v->has_version = v->has_created_ms = 1;
	v->article = id;
	v->version = version;
	v->title = proto_strdup(in->title);
	v->body = proto_strdup(in->body);
	v->category = proto_strdup(in->category);
	v->keywords = dup_words(in->keywords, v->n_keywords = in->n_keywords);
	v->tags = dup_words(in->tags, v->n_tags = in->n_tags);
	v->cities = dup_words(in->cities, v->n_cities = in->n_cities);
	v->tiers = calloc(in->n_tiers ? in->n_tiers : 1, sizeof(*v->tiers));
	if (!v->tiers)
		abort();
	if (in->n_tiers)
		memcpy(v->tiers, in->tiers, in->n_tiers * sizeof(*v->tiers));
	v->n_tiers = in->n_tiers;
	v->has_valid_from_ms = in->valid_from_ms != 0;
	v->valid_from_ms = in->valid_from_ms;
	v->has_valid_to_ms = in->valid_to_ms != 0;
	v->valid_to_ms = in->valid_to_ms;
	v->has_review_by_ms = in->review_by_ms != 0;
	v->review_by_ms = in->review_by_ms;
	v->author = proto_strdup(in->author && *in->author ? in->author : j->actor);
	v->created_ms = j->now_ms;
	v->state = proto_strdup("draft");
	return v;
}

/*
 * publish - v becomes the live version of a: the one it replaces is
 * superseded, the review-by index follows. Both versions' records and
 * the article's go into j->b; kb_apply swaps the index as they apply.
 */
static int publish(struct store_txn *t, struct job *j, Kefu__KbArticle *a, Kefu__KbVersion *v)
{
	Kefu__KbVersion *old = NULL;
	uint64_t old_due = 0;
	int err = 0;

	if (a->live && a->live != v->version) {
		if ((err = kb_version_get(t, a->id, a->live, &old)))
			return err == KF_ENOTFOUND ? KF_ECORRUPT : err;
		old_due = old->review_by_ms;
		proto_set_str(&old->state, "superseded");
		err = kb_version_put(j->b, old);
		kefu__kb_version__free_unpacked(old, NULL);
	}
	proto_set_str(&v->state, "published");
	proto_set_str(&v->approved_by, j->actor);
	v->has_approved_ms = 1;
	v->approved_ms = j->now_ms;
	a->has_live = 1;
	a->live = v->version;
	if (a->review == v->version)
		a->review = 0;
	if (!err)
		err = kb_due_move(j->b, a->id, old_due, v->review_by_ms);
	return err;
}

/* One article of a KbWrite: a new article (id 0) or a new version. next is
 * the next free article id, counted here for the whole request. */
static int write_one(struct store_txn *t, struct job *j, size_t i, uint64_t *next)
{
	const Kefu__KbArticleIn *in = j->w->articles[i];
	Kefu__KbArticle *a = NULL;
	Kefu__KbVersion *v;
	char detail[160];
	int err;

	if ((err = check_in(j, i, in)))
		return err;
	if (!in->id && in->client_ref && *in->client_ref &&
	    kb_by_ref(t, in->client_ref, &j->ids[i]) == 0) {
		/* A write sent again: its article is answered, nothing is written. */
		if ((err = kb_article_get(t, j->ids[i], &a)))
			return err;
		j->versions[i] = a->latest;
		kefu__kb_article__free_unpacked(a, NULL);
		return 0;
	}
	if (in->id) {
		err = kb_article_get(t, in->id, &a);
		if (err == KF_ENOTFOUND)
			return refuse(j, KF_ENOTFOUND, "article %zu: no article %llu", i + 1,
				      (unsigned long long)in->id);
		if (err)
			return err;
		if (a->latest >= KB_VERSION_MAX) {
			kefu__kb_article__free_unpacked(a, NULL);
			return refuse(j, KF_ETOOBIG, "article %llu has %u versions, the most it may "
				      "have", (unsigned long long)in->id, KB_VERSION_MAX);
		}
	} else {
		if (*next > KB_ARTICLE_MAX)
			return refuse(j, KF_ETOOBIG, "no article ids left");
		a = calloc(1, sizeof(*a));
		if (!a)
			abort();
		kefu__kb_article__init(a);
		a->has_id = a->has_created_ms = 1;
		a->id = (*next)++;
		a->created_ms = j->now_ms;
		if (in->client_ref && *in->client_ref) {
			a->client_ref = proto_strdup(in->client_ref);
			err = kb_ref_put(j->b, in->client_ref, a->id);
		}
	}
	v = version_new(j, in, a->id, a->latest + 1);
	a->has_latest = 1;
	a->latest = v->version;
	proto_set_str(&a->title, v->title);
	if (!err && in->state && strcmp(in->state, "review") == 0) {
		if (a->review)
			err = refuse(j, KF_ESTATE, "article %zu: version %u of article %llu is in "
				     "review already", i + 1, a->review, (unsigned long long)a->id);
		proto_set_str(&v->state, "review");
		proto_set_str(&v->submitted_by, j->actor);
		v->has_submitted_ms = 1;
		v->submitted_ms = j->now_ms;
		a->has_review = 1;
		a->review = v->version;
	} else if (!err && in->state && strcmp(in->state, "published") == 0) {
		err = publish(t, j, a, v);
	}
	if (a->state && strcmp(a->state, "archived") == 0 && !a->live && !a->review)
		; /* an archived article stays archived until a version of it is live again */
	else
		article_state(a);
	j->ids[i] = a->id;
	j->versions[i] = v->version;
	if (!err)
		err = kb_version_put(j->b, v);
	if (!err)
		err = kb_article_put(j->b, a);
	snprintf(detail, sizeof(detail), "version=%u state=%s", v->version, v->state);
	if (!err)
		err = audit(j, "write", a->id, detail);
	kefu__kb_version__free_unpacked(v, NULL);
	kefu__kb_article__free_unpacked(a, NULL);
	return err;
}

static int write_body(struct store_txn *t, struct job *j)
{
	uint64_t next = 0, first;
	size_t n = j->w->n_articles;
	int err;

	/* The counter is read once; the ids of this request are counted here. */
	if ((err = kb_next_id(t, &first)))
		return err;
	next = first;
	for (size_t i = 0; i < n && !err; i++)
		for (size_t m = 0; m < i && !err; m++) {
			const Kefu__KbArticleIn *x = j->w->articles[i], *y = j->w->articles[m];

			if (x->id && x->id == y->id)
				err = refuse(j, KF_EPARSE, "articles %zu and %zu are both versions of "
					     "article %llu: one version per article a write",
					     m + 1, i + 1, (unsigned long long)x->id);
			else if (!x->id && !y->id && x->client_ref && *x->client_ref &&
				 y->client_ref && strcmp(x->client_ref, y->client_ref) == 0)
				err = refuse(j, KF_EPARSE, "articles %zu and %zu have the same "
					     "client_ref", m + 1, i + 1);
		}
	for (size_t i = 0; i < n && !err; i++)
		err = write_one(t, j, i, &next);
	if (!err && next != first)
		err = kb_next_id_put(j->b, next);
	return err;
}

static bool can_edit(const Kefu__Agent *acc)
{
	return acc && acc->role &&
	       (strcmp(acc->role, "editor") == 0 || strcmp(acc->role, "supervisor") == 0);
}

static int action_body(struct store_txn *t, struct job *j, const Kefu__Agent *acc)
{
	const Kefu__KbAction *rq = j->a;
	Kefu__KbArticle *a = NULL;
	Kefu__KbVersion *v = NULL;
	uint32_t ver;
	char detail[AUDIT_DETAIL_MAX + 1];
	int err = kb_article_get(t, rq->id, &a);

	if (err == KF_ENOTFOUND)
		return refuse(j, KF_ENOTFOUND, "no article %llu", (unsigned long long)rq->id);
	if (err)
		return err;
	if (strcmp(rq->action, "submit") == 0) {
		ver = a->latest;
	} else if (strcmp(rq->action, "archive") == 0) {
		ver = a->live ? a->live : a->latest;
	} else if (!a->review) {
		err = refuse(j, KF_ESTATE, "article %llu has no version in review (%s)",
			     (unsigned long long)a->id, a->state ? a->state : "");
		goto out;
	} else {
		ver = a->review;
	}
	if ((err = kb_version_get(t, a->id, ver, &v))) {
		err = err == KF_ENOTFOUND ? KF_ECORRUPT : err;
		goto out;
	}
	if (strcmp(rq->action, "submit") == 0) {
		if (a->review)
			err = refuse(j, KF_ESTATE, "version %u of article %llu is in review already",
				     a->review, (unsigned long long)a->id);
		else if (strcmp(v->state, "draft") && strcmp(v->state, "returned"))
			err = refuse(j, KF_ESTATE, "the newest version (%u) of article %llu is %s, "
				     "not a draft: write a new version first", ver,
				     (unsigned long long)a->id, v->state);
		if (err)
			goto out;
		proto_set_str(&v->state, "review");
		proto_set_str(&v->submitted_by, j->actor);
		v->has_submitted_ms = 1;
		v->submitted_ms = j->now_ms;
		a->has_review = 1;
		a->review = ver;
	} else if (strcmp(rq->action, "approve") == 0) {
		if (!j->admin && !can_edit(acc)) {
			err = refuse(j, KF_ESTATE, "approval is for an editor, a supervisor or an "
				     "admin (%s is %s)", j->actor, acc && acc->role ? acc->role : "");
			goto out;
		}
		if (v->author && strcmp(v->author, j->actor) == 0) {
			err = refuse(j, KF_ESTATE, "%s wrote version %u of article %llu and cannot "
				     "approve it alone: another editor or a supervisor approves it",
				     j->actor, ver, (unsigned long long)a->id);
			goto out;
		}
		err = publish(t, j, a, v);
	} else if (strcmp(rq->action, "reject") == 0) {
		if (!j->admin && !can_edit(acc)) {
			err = refuse(j, KF_ESTATE, "sending back is for an editor, a supervisor or an "
				     "admin");
			goto out;
		}
		proto_set_str(&v->state, "returned");
		proto_set_str(&v->note, rq->note);
		a->review = 0;
	} else { /* archive */
		Kefu__KbVersion *r = NULL;

		if (strcmp(a->state ? a->state : "", "archived") == 0) {
			err = refuse(j, KF_ESTATE, "article %llu is archived already",
				     (unsigned long long)a->id);
			goto out;
		}
		if (a->review && a->review != ver &&
		    (err = kb_version_get(t, a->id, a->review, &r)) == 0) {
			proto_set_str(&r->state, "returned");
			proto_set_str(&r->note, "the article was archived");
			err = kb_version_put(j->b, r);
			kefu__kb_version__free_unpacked(r, NULL);
		}
		if (!err && a->live)
			err = kb_due_move(j->b, a->id, v->review_by_ms, 0);
		proto_set_str(&v->state, "archived");
		proto_set_str(&v->note, rq->note);
		a->live = a->review = 0;
	}
	if (err)
		goto out;
	if (strcmp(rq->action, "archive") == 0)
		proto_set_str(&a->state, "archived");
	else
		article_state(a);
	if (!(err = kb_version_put(j->b, v)) && !(err = kb_article_put(j->b, a))) {
		snprintf(detail, sizeof(detail), "version=%u", ver);
		err = audit(j, rq->action, a->id, detail);
	}
	j->ids[0] = a->id;
	j->versions[0] = ver;
out:
	if (v)
		kefu__kb_version__free_unpacked(v, NULL);
	kefu__kb_article__free_unpacked(a, NULL);
	return err;
}

/* The reply of an action or a view: the article with the versions that
 * matter (live, review) and its use. */
static int pack_reply(struct store_txn *t, struct job *j, const Kefu__KbArticle *a_now,
		      const Kefu__KbStats *s_now)
{
	Kefu__KbShowReply rep = KEFU__KB_SHOW_REPLY__INIT;
	Kefu__KbVersion *vs[2] = {NULL, NULL};
	uint32_t want[2] = {a_now->live, a_now->review};
	int err = 0;

	for (int i = 0; i < 2 && !err; i++)
		if (want[i] && !(i == 1 && want[1] == want[0]))
			err = kb_version_get(t, a_now->id, want[i], &vs[rep.n_versions++]);
	if (!err) {
		rep.article = (Kefu__KbArticle *)a_now;
		rep.versions = vs;
		rep.stats = (Kefu__KbStats *)s_now;
		j->reply_len = kefu__kb_show_reply__get_packed_size(&rep);
		j->reply = malloc(j->reply_len ? j->reply_len : 1);
		if (!j->reply)
			abort();
		kefu__kb_show_reply__pack(&rep, j->reply);
	}
	for (int i = 0; i < 2; i++)
		if (vs[i])
			kefu__kb_version__free_unpacked(vs[i], NULL);
	return err;
}

/* A view or feedback: the article's use. */
static int use_body(struct store_txn *t, struct job *j)
{
	uint64_t id = j->kind == J_VIEW ? j->v->id : j->f->id;
	Kefu__KbArticle *a;
	Kefu__KbStats *s = NULL;
	int err = kb_article_get(t, id, &a);

	if (err == KF_ENOTFOUND)
		return refuse(j, KF_ENOTFOUND, "no article %llu", (unsigned long long)id);
	if (err)
		return err;
	if (!a->live) {
		err = refuse(j, KF_ESTATE, "article %llu has no live version",
			     (unsigned long long)id);
		goto out;
	}
	if ((err = kb_stats_get(t, id, &s)))
		goto out;
	if (j->kind == J_VIEW && j->count) {
		double w = j->v->used ? KB_USED_WEIGHT : 1;

		if (j->v->used) {
			s->has_used = 1;
			s->used++;
		} else {
			s->has_views = 1;
			s->views++;
		}
		s->has_hot = s->has_hot_ms = 1;
		s->hot = kb_hot_decay(s, j->now_ms) + w;
		s->hot_ms = j->now_ms;
		err = kb_stats_put(j->b, id, s);
	} else if (j->kind == J_FEEDBACK) {
		Kefu__KbFeedbackEntry fe = KEFU__KB_FEEDBACK_ENTRY__INIT;

		if (j->f->comment && !audit_text_is_valid(j->f->comment, KB_NOTE_MAX)) {
			err = refuse(j, KF_EPARSE, "the comment is text of at most %d bytes",
				     KB_NOTE_MAX);
			goto out;
		}
		if (j->f->helpful) {
			s->has_helpful = 1;
			s->helpful++;
		} else {
			s->has_unhelpful = 1;
			s->unhelpful++;
		}
		fe.has_article = fe.has_at_ms = fe.has_helpful = 1;
		fe.article = id;
		fe.at_ms = j->now_ms;
		fe.agent = j->actor;
		fe.helpful = j->f->helpful;
		fe.comment = j->f->comment;
		if (!(err = kb_stats_put(j->b, id, s)))
			err = kb_feedback_put(j->b, &fe);
	}
	if (!err)
		err = pack_reply(t, j, a, s);
out:
	if (s)
		kefu__kb_stats__free_unpacked(s, NULL);
	kefu__kb_article__free_unpacked(a, NULL);
	return err;
}

static int job_body(struct store_txn *t, uint64_t epoch, void *arg)
{
	struct job *j = arg;
	Kefu__Agent *acc = NULL;
	int err = 0;

	batch_reset(j->b);
	j->why[0] = '\0';
	free(j->reply);
	j->reply = NULL;
	if (!j->admin) {
		err = accounts_get(t, j->actor, &acc);
		if (err == KF_ENOTFOUND)
			return refuse(j, KF_ESTATE, "%s has no agent account", j->actor);
		if (err)
			return err;
		if (j->kind == J_WRITE && !can_edit(acc))
			err = refuse(j, KF_ESTATE, "articles are written by editors and supervisors "
				     "(%s is %s)", j->actor, acc->role ? acc->role : "agent");
	}
	if (!err) {
		switch (j->kind) {
		case J_WRITE:
			err = write_body(t, j);
			break;
		case J_ACTION:
			if (!j->admin && !can_edit(acc))
				err = refuse(j, KF_ESTATE, "%s is for editors and supervisors",
					     j->a->action);
			else
				err = action_body(t, j, acc);
			break;
		default:
			err = use_body(t, j);
			break;
		}
	}
	if (acc)
		kefu__agent__free_unpacked(acc, NULL);
	if (!err && batch_count(j->b))
		err = log_append_batch(t, epoch, j->b, 0, false, j->k->self, NULL);
	return err;
}

/* ---- on the loop ---- */

static void send_show(const struct msg_ref *r, const uint8_t *packed, size_t len,
		      uint64_t index)
{
	Kefu__Envelope out = KEFU__ENVELOPE__INIT;
	Kefu__KbShowReply *rep = kefu__kb_show_reply__unpack(NULL, len, packed);

	if (!rep) {
		msg_ref_error(r, KF_EINTERNAL, "the article written cannot be shown");
		return;
	}
	rep->has_index = index != 0;
	rep->index = index;
	out.body_case = KEFU__ENVELOPE__BODY_KB_SHOW_REPLY;
	out.kb_show_reply = rep;
	msg_ref_send(r, &out);
	kefu__kb_show_reply__free_unpacked(rep, NULL);
}

static void on_written(void *arg, int err, uint64_t index)
{
	struct job *j = arg;
	Kefu__Envelope out = KEFU__ENVELOPE__INIT;
	Kefu__KbWriteReply rep = KEFU__KB_WRITE_REPLY__INIT;

	if (err == 0 && j->kind == J_WRITE) {
		rep.ids = j->ids;
		rep.n_ids = j->n;
		rep.versions = j->versions;
		rep.n_versions = j->n;
		rep.has_index = 1;
		rep.index = index;
		out.body_case = KEFU__ENVELOPE__BODY_KB_WRITE_REPLY;
		out.kb_write_reply = &rep;
		msg_ref_send(&j->ref, &out);
	} else if (err == 0 && j->kind == J_ACTION) {
		/* The article as the leader's replica has it now. */
		struct store_txn *t;
		Kefu__KbArticle *a = NULL;
		Kefu__KbStats *s = NULL;

		err = store_read_begin(j->k->sto->store, &t);
		if (!err && !(err = kb_article_get(t, j->ids[0], &a)) &&
		    !(err = kb_stats_get(t, j->ids[0], &s)))
			err = pack_reply(t, j, a, s);
		if (a)
			kefu__kb_article__free_unpacked(a, NULL);
		if (s)
			kefu__kb_stats__free_unpacked(s, NULL);
		store_abort(t);
		if (err)
			msg_ref_error(&j->ref, err, kf_strerror(err));
		else
			send_show(&j->ref, j->reply, j->reply_len, index);
	} else if (err == 0) {
		send_show(&j->ref, j->reply, j->reply_len, index);
	} else if (j->why[0]) {
		msg_ref_error(&j->ref, err, j->why);
	} else {
		msg_ref_error(&j->ref, err,
			      err == KF_ESTATE ? "leadership changed before the change was "
						 "acknowledged; it may or may not be applied "
						 "(a write with the same client_ref is safe to send again)"
					       : kf_strerror(err));
	}
	job_free(j);
}

/* A view by agent of article within KB_VIEW_QUIET_MS of the last one
 * counted is a repeat; else it is remembered and counted. */
static bool view_counts(struct kb *k, const char *agent, uint64_t article, bool used,
			uint64_t now)
{
	uint64_t key = article << 1 | (used ? 1 : 0);

	for (unsigned i = 0; i < KB_SEEN_MAX; i++) {
		struct kb_seen *s = &k->seen[i];

		if (s->article == key && strcmp(s->agent, agent) == 0) {
			if (now < s->at_ms + KB_VIEW_QUIET_MS)
				return false;
			s->at_ms = now;
			return true;
		}
	}
	k->seen[k->seen_next].article = key;
	k->seen[k->seen_next].at_ms = now;
	snprintf(k->seen[k->seen_next].agent, sizeof(k->seen[0].agent), "%s", agent);
	k->seen_next = (k->seen_next + 1) % KB_SEEN_MAX;
	return true;
}

/* A change: checked and written here on the leader, else forwarded
 * (actor_route). */
static void change(struct kb *k, struct msg_peer *p, const Kefu__Envelope *e,
		   enum job_kind kind, char **actor, protobuf_c_boolean *admin,
		   protobuf_c_boolean *has_admin, const ProtobufCMessage *m)
{
	struct actor who;
	struct job *j;

	if (!actor_route(k->leader, p, e, actor, admin, has_admin, "knowledge-base changes", &who))
		return;
	j = calloc(1, sizeof(*j));
	if (!j)
		abort();
	j->k = k;
	j->kind = kind;
	j->ref = msg_ref_of(p, e->request_id);
	snprintf(j->actor, sizeof(j->actor), "%s", who.name);
	j->admin = who.admin;
	j->now_ms = kb__now_ms();
	if (kind == J_WRITE) {
		j->w = proto_copy(m, NULL);
		j->n = j->w->n_articles;
	} else if (kind == J_ACTION) {
		j->a = proto_copy(m, NULL);
		j->n = 1;
	} else if (kind == J_VIEW) {
		j->v = proto_copy(m, NULL);
		j->count = view_counts(k, j->actor, j->v->id, j->v->used, j->now_ms);
	} else {
		j->f = proto_copy(m, NULL);
	}
	j->ids = calloc(j->n ? j->n : 1, sizeof(*j->ids));
	j->versions = calloc(j->n ? j->n : 1, sizeof(*j->versions));
	if (!j->ids || !j->versions)
		abort();
	j->b = batch_new(64u * 1024 * 1024);
	j->seq = leader_audit_next(k->leader);
	k->inflight++;
	if ((kind == J_WRITE || kind == J_ACTION) && j->n > 1)
		for (size_t i = 1; i < j->n; i++)
			leader_audit_next(k->leader); /* one number per audited article */
	{
		int err = leader_run(k->leader, job_body, j, on_written, j);

		if (err) {
			msg_ref_error(&j->ref, err,
				      err == KF_ESTATE ? "not the leader" : kf_strerror(err));
			job_free(j);
		}
	}
}

void kb__on_write(void *state, struct msg_peer *p, const Kefu__Envelope *e)
{
	Kefu__KbWrite *rq = e->kb_write;

	if (rq->n_articles == 0 || rq->n_articles > KB_WRITE_MAX) {
		msg_error(p, e->request_id, KF_EPARSE, "a write carries 1 to 1000 articles");
		return;
	}
	change(state, p, e, J_WRITE, &rq->actor, &rq->actor_admin, &rq->has_actor_admin,
	       &rq->base);
}

void kb__on_action(void *state, struct msg_peer *p, const Kefu__Envelope *e)
{
	Kefu__KbAction *rq = e->kb_action;
	static const char *const actions[] = {"submit", "approve", "reject", "archive"};
	bool known = false;

	for (size_t i = 0; rq->action && i < 4; i++)
		known = known || strcmp(rq->action, actions[i]) == 0;
	if (!rq->id || !known) {
		msg_error(p, e->request_id, KF_EPARSE, "an action needs the article id and one of "
			  "submit, approve, reject, archive");
		return;
	}
	if (strcmp(rq->action, "reject") == 0 && (!rq->note || !*rq->note)) {
		msg_error(p, e->request_id, KF_EPARSE, "sending a version back needs a note saying "
			  "why");
		return;
	}
	if (rq->note && !audit_text_is_valid(rq->note, KB_NOTE_MAX)) {
		msg_error(p, e->request_id, KF_EPARSE, "the note is text of at most 1024 bytes");
		return;
	}
	change(state, p, e, J_ACTION, &rq->actor, &rq->actor_admin, &rq->has_actor_admin,
	       &rq->base);
}

void kb__on_view(void *state, struct msg_peer *p, const Kefu__Envelope *e)
{
	Kefu__KbView *rq = e->kb_view;

	if (!rq->id) {
		msg_error(p, e->request_id, KF_EPARSE, "a view needs the article id");
		return;
	}
	change(state, p, e, J_VIEW, &rq->actor, &rq->actor_admin, &rq->has_actor_admin,
	       &rq->base);
}

void kb__on_feedback(void *state, struct msg_peer *p, const Kefu__Envelope *e)
{
	Kefu__KbFeedback *rq = e->kb_feedback;

	if (!rq->id) {
		msg_error(p, e->request_id, KF_EPARSE, "feedback needs the article id");
		return;
	}
	change(state, p, e, J_FEEDBACK, &rq->actor, &rq->actor_admin, &rq->has_actor_admin,
	       &rq->base);
}
