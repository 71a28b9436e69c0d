/*
 * The knowledge base as stored (docs/kb.md, docs/storage.md): articles,
 * their immutable versions, their use and the editors' feedback, in table
 * "kb"; the search index (storage/kbindex.h) of the live versions in
 * tables "kb_terms" and "kb_docs", derived on every node.
 *
 * Keys of table "kb" are raw bytes, a tag first; numbers 8 (article, ms)
 * or 4 (version) bytes big-endian, so they sort by number:
 *
 *   'a', article               -> KbArticle        which version is live, in review
 *   'v', article, version      -> KbVersion        one version: text, state, who
 *   's', article               -> KbStats          views, used, feedback, hotness
 *   'f', article, at_ms, agent -> KbFeedbackEntry  helpful or not, with a comment
 *   'd', review_by_ms, article -> ""               live versions by review-by date
 *   'r', client_ref            -> article          a write's reference
 *   'n'                        -> next article id
 *   'x', document              -> KbVersion        derived: a live version without
 *                                                  its text, what a search reads to
 *                                                  admit it (validity, tiers, ...)
 *
 * The derived index. Whenever a batch that changes an 'a' key is applied
 * through kb_apply (storage/log.c applies every logged batch so, on the
 * leader and on each follower), the index follows each article's `live`
 * version in the same transaction: the old live version's document is
 * removed, the new one's added. So a version swap is atomic on every
 * node, and no replicated batch ever carries index ops (the log refuses
 * them).
 *
 * A version's document number is article << 16 | version: article ids
 * stay below 2^47, versions at or below KB_VERSION_MAX.
 *
 * Messages returned here are unpacked by protobuf-c: free them with their
 * kefu__*__free_unpacked(m, NULL).
 */
#ifndef KEFU_STORAGE_KB_H
#define KEFU_STORAGE_KB_H

#include "proto/kefu.pb-c.h"
#include "storage/batch.h"
#include "storage/kbindex.h"
#include "storage/store.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define KB_VERSION_MAX 65535u
#define KB_ARTICLE_MAX ((1ull << 47) - 1)
#define KB_TITLE_MAX 512          /* bytes */
#define KB_BODY_MAX (256 * 1024)
#define KB_CATEGORY_MAX 256
#define KB_WORD_MAX 64            /* a keyword, tag or city */
#define KB_WORDS_MAX 32           /* keywords, tags, cities, tiers each */
#define KB_NOTE_MAX 1024
#define KB_REF_MAX 64
#define KB_KEY_MAX 128

static inline uint64_t kb_doc(uint64_t article, uint32_t version)
{
	return article << 16 | (version & 0xFFFFu);
}
static inline uint64_t kb_doc_article(uint64_t doc) { return doc >> 16; }
static inline uint32_t kb_doc_version(uint64_t doc) { return (uint32_t)(doc & 0xFFFFu); }

/* kb_state_is_valid - one of the version states of KbVersion.state. */
bool kb_state_is_valid(const char *state);

/* ---- reads; each returns 0, KF_ENOTFOUND, KF_ECORRUPT, KF_ESTORE ---- */

int kb_article_get(struct store_txn *t, uint64_t id, Kefu__KbArticle **out);
int kb_version_get(struct store_txn *t, uint64_t id, uint32_t version, Kefu__KbVersion **out);
/* kb_stats_get - a zero KbStats (allocated) when the article has none yet. */
int kb_stats_get(struct store_txn *t, uint64_t id, Kefu__KbStats **out);
/* kb_by_ref - the article a write with client_ref made. */
int kb_by_ref(struct store_txn *t, const char *ref, uint64_t *id);

/*
 * kb_versions_each - fn(arg, v) for each version of id, newest first; v is
 * freed after the call. fn returns 0 to go on, 1 to stop, < 0 to fail.
 * Returns 0, fn's error, KF_ECORRUPT, KF_ESTORE.
 */
typedef int (*kb_version_fn)(void *arg, const Kefu__KbVersion *v);
int kb_versions_each(struct store_txn *t, uint64_t id, kb_version_fn fn, void *arg);

/* kb_articles_each - fn(arg, a) for every article in id order; as above. */
typedef int (*kb_article_fn)(void *arg, const Kefu__KbArticle *a);
int kb_articles_each(struct store_txn *t, kb_article_fn fn, void *arg);

/* kb_due_each - fn(arg, id, review_by_ms) for the live versions whose
 * review-by date is at or before upto_ms, earliest first. */
typedef int (*kb_due_fn)(void *arg, uint64_t id, uint64_t review_by_ms);
int kb_due_each(struct store_txn *t, uint64_t upto_ms, kb_due_fn fn, void *arg);

/* kb_feedback_each - fn(arg, e) for the feedback of every article, newest
 * first within an article. */
typedef int (*kb_feedback_fn)(void *arg, const Kefu__KbFeedbackEntry *e);
int kb_feedback_each(struct store_txn *t, kb_feedback_fn fn, void *arg);

/* ---- writes: ops into b; each returns 0 or batch_put's error ---- */

/* kb_next_id - the next free article id, read in t (1 on a new store).
 * Returns 0, KF_ECORRUPT, KF_ESTORE. */
int kb_next_id(struct store_txn *t, uint64_t *id);
/* kb_next_id_put - the next free article id is next from now on. */
int kb_next_id_put(struct batch *b, uint64_t next);
int kb_article_put(struct batch *b, const Kefu__KbArticle *a);
int kb_version_put(struct batch *b, const Kefu__KbVersion *v);
int kb_stats_put(struct batch *b, uint64_t id, const Kefu__KbStats *s);
int kb_ref_put(struct batch *b, const char *ref, uint64_t id);
int kb_feedback_put(struct batch *b, const Kefu__KbFeedbackEntry *e);
/* kb_due_move - the review-by key of an article from old_ms to new_ms
 * (0: none) as its live version changes. */
int kb_due_move(struct batch *b, uint64_t id, uint64_t old_ms, uint64_t new_ms);

/* kb_admit_record - the put of v's admit record ('x': v without its text)
 * into b. kb_apply writes it for each version made live; a bulk loader
 * that builds the index itself (a benchmark) writes it too. */
int kb_admit_record(struct batch *b, const Kefu__KbVersion *v);

/*
 * kb_apply - batch_apply(t, b), then the index follows every article whose
 * 'a' record b changed: see the head of this file. Returns 0,
 * KF_ECORRUPT (a live version missing), or an error of batch_apply or
 * kbindex.
 */
int kb_apply(struct store_txn *t, const struct batch *b);

/* ---- search ---- */

struct kb_filter {
	uint64_t now_ms;        /* validity is checked against it */
	const char *category;   /* a path prefix ("话费" takes "话费/查询"); NULL: all */
	uint32_t tier;          /* 0: any caller */
	const char *city;       /* NULL or "": any caller */
};

struct kb_hit {
	Kefu__KbVersion *v;     /* the live version (owned: kb_hits_release) */
	double score;
	bool exact;
};

/* A search reads this many times its limit of the most relevant admitted
 * candidates, then ranks them again with their use (kb_search). */
#define KB_RERANK 4

/*
 * kb_search - the live versions valid at f->now_ms that match query and
 * the filter, best first, at most limit, into out[0..*n). A version before
 * its publish-at or past its archive-at is never returned, whatever the
 * index holds. Scores are the index's, times popularity (decayed views and
 * uses) and freshness, at most KBINDEX_BOOST_MAX. Returns 0, KF_EINVAL (a
 * bad query: see kbindex_search), KF_ESTORE.
 */
int kb_search(struct store_txn *t, const char *query, size_t qlen, const struct kb_filter *f,
	      size_t limit, struct kb_hit *out, size_t *n);
void kb_hits_release(struct kb_hit *h, size_t n);

/*
 * kb_situation - the search that fits a caller's situation (docs/kb.md,
 * "The screen pop"): stopped for arrears or owing -> "缴费", suspended ->
 * "停机", cancelled -> "销户", a balance under 10 yuan -> "充值"; NULL when
 * nothing stands out (or u is NULL).
 */
const char *kb_situation(const Kefu__Subscriber *u);

/* kb_hot_decay - s's hotness decayed from s->hot_ms to now_ms (half-life
 * KB_HOT_HALF_LIFE_MS). */
#define KB_HOT_HALF_LIFE_MS (7 * 24 * 3600 * 1000ull)
double kb_hot_decay(const Kefu__KbStats *s, uint64_t now_ms);

#endif
