/*
 * The knowledge base's search index (docs/kb.md): a positional index of
 * the live articles' text, derived on every node inside the write
 * transaction that changes which version of an article is live
 * (storage/kb.h), so every replica holds the same index without shipping it.
 *
 * A document is one article version, named by a 64-bit doc number that
 * storage/kb.c assigns (never reused). Its text is three fields, title,
 * keywords and body (UTF-8), folded before indexing by lib/textfold.h
 * (NFKC, case, traditional -> simplified): Han characters are indexed
 * one by one and as bigrams of neighbours, with every pinyin reading of
 * each character (syllables and initials, for full-pinyin and initials
 * queries); other text as lowercase words of letters and digits.
 *
 * Tables (store.h): STORE_KB_TERMS holds the postings, STORE_KB_DOCS
 * each indexed doc's lengths and terms (so a doc can be removed) and the
 * collection's totals for BM25. Only this module writes them, always
 * through a batch applied in the caller's write transaction.
 *
 * Queries: words separated by spaces; "a quoted phrase" matches only
 * consecutively; Han text matches by characters and bigrams; Latin
 * letters may also be pinyin, full (`huafei`, `hua fei`, a prefix of the
 * last syllable allowed: `huaf`) or initials (`hf`, `hfcx`), tried
 * against every reading; digits and other Latin words match words
 * (`4G`, `iphone`). Scores are BM25 over the fields with weights
 * title > keywords > body; an exact (Han or word) match scores above
 * the same text found only through pinyin.
 */
#ifndef KEFU_STORAGE_KBINDEX_H
#define KEFU_STORAGE_KBINDEX_H

#include "storage/store.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum kbindex_field { KBINDEX_TITLE = 0, KBINDEX_KEYWORDS = 1, KBINDEX_BODY = 2, KBINDEX_FIELDS = 3 };

#define KBINDEX_QUERY_MAX 256     /* bytes of a query */
#define KBINDEX_LIMIT_MAX 100     /* results of one search */
#define KBINDEX_TEXT_MAX (1 << 20) /* bytes of one field */
/* The largest factor admit may return. 1: the knowledge base admits by
 * validity only and ranks its best candidates again with their use
 * (storage/kb.c kb_search), so the index ranks by relevance alone. */
#define KBINDEX_BOOST_MAX 1.0

struct kbindex_text {
	const char *field[KBINDEX_FIELDS]; /* UTF-8, not NUL-terminated */
	size_t len[KBINDEX_FIELDS];
};

/*
 * kbindex_put - index doc with text in the write transaction t,
 * replacing what doc had. Invalid UTF-8 is indexed as far as it is valid.
 * Returns 0, KF_ETOOBIG (a field over KBINDEX_TEXT_MAX), KF_EMAPFULL,
 * KF_ESTORE, KF_ECORRUPT.
 */
int kbindex_put(struct store_txn *t, uint64_t doc, const struct kbindex_text *text);

/* kbindex_del - remove doc from the index; 0 also when it was not there.
 * Returns 0, KF_EMAPFULL, KF_ESTORE, KF_ECORRUPT. */
int kbindex_del(struct store_txn *t, uint64_t doc);

/*
 * admit - asked of a candidate doc whose score could enter the results
 * (never of every doc that matches): a value < 0 drops it (not live, not
 * valid now, not for this caller), else a factor in [1, KBINDEX_BOOST_MAX]
 * for popularity and freshness that multiplies its score. It reads
 * through the same transaction.
 */
typedef double (*kbindex_admit_fn)(void *arg, uint64_t doc);

struct kbindex_hit {
	uint64_t doc;
	double score;
	bool exact; /* matched as written, not only through pinyin */
};

/*
 * kbindex_search - the best hits for query (qlen bytes) in t (read or
 * write transaction), best first, at most limit (<= KBINDEX_LIMIT_MAX)
 * into out; *n the number written. admit may be NULL (every doc, factor 1).
 * Returns 0 (also with no hit), KF_EINVAL (empty query after folding, an
 * unclosed quote, limit 0 or over the maximum, a query over
 * KBINDEX_QUERY_MAX), KF_ESTORE, KF_ECORRUPT (a block that does not parse).
 */
int kbindex_search(struct store_txn *t, const char *query, size_t qlen, size_t limit,
		   kbindex_admit_fn admit, void *arg, struct kbindex_hit *out, size_t *n);

/*
 * kbindex_snippet - a short excerpt of text (UTF-8) around the first place
 * query matches (or its start), at most cap - 1 bytes, NUL-terminated,
 * cut on character boundaries, "…" where it was cut. Returns the length.
 */
size_t kbindex_snippet(const char *query, size_t qlen, const char *text, size_t len, char *out,
		       size_t cap);

/*
 * Many docs at once (an import, a rebuild): a builder gathers the postings
 * of the docs added in memory and merges them into the tables term by term
 * (one read and rewrite of a term's last block per flush instead of one per
 * doc). kbindex_put is a builder of one doc.
 *
 * Searches see a builder's docs once it is flushed. A store_write body
 * that is run again (KF_EMAPFULL) starts from a new or flushed builder.
 *
 * kbindex_build_new - an empty builder. Never NULL (allocation failure
 * aborts). kbindex_build_free - NULL is fine; what was not flushed is lost.
 */
struct kbindex_build;
struct kbindex_build *kbindex_build_new(void);
void kbindex_build_free(struct kbindex_build *b);

/*
 * kbindex_build_add - add doc with text (copied: text may go once this
 * returns). A doc already in the index is replaced at the flush; a doc added
 * twice to one builder before a flush is KF_EEXISTS. When the postings held
 * pass KBINDEX_BUILD_BYTES the builder flushes into t itself.
 * Returns 0, KF_ETOOBIG (a field over KBINDEX_TEXT_MAX), KF_EEXISTS, and
 * kbindex_build_flush's errors.
 */
#define KBINDEX_BUILD_BYTES (128u << 20)
int kbindex_build_add(struct kbindex_build *b, struct store_txn *t, uint64_t doc,
		      const struct kbindex_text *text);

/*
 * kbindex_build_flush - write what b holds into the write transaction t,
 * through batches applied to t; b is then empty. On error the transaction
 * must be aborted and b is left empty.
 * Returns 0, KF_EMAPFULL, KF_ESTORE, KF_ECORRUPT (a block that does not
 * parse).
 */
int kbindex_build_flush(struct kbindex_build *b, struct store_txn *t);

struct kbindex_stats {
	uint64_t docs;
	uint64_t terms;     /* distinct terms */
	uint64_t postings;  /* (term, doc) pairs */
	uint64_t bytes;     /* keys and values in the two tables */
};

/* kbindex_stat - the index's size. Returns 0, KF_ESTORE. */
int kbindex_stat(struct store_txn *t, struct kbindex_stats *st);

#endif
