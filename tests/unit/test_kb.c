/*
 * Unit tests of storage/kb.c and storage/kbfile.c: RFC 3339 times and the
 * import format, good and refused; the search index follows each
 * article's live version as batches apply through the log (a version in
 * review is not searchable, approval swaps the text, archive removes it),
 * on a leader's store and on a replica's, which applies the same entries
 * and derives the same index; validity, tier, city and category are
 * enforced as a search answers; the log refuses a batch that writes the
 * derived tables; hotness decays by half a week.
 */
#include "lib/err.h"
#include "storage/batch.h"
#include "storage/kb.h"
#include "storage/kbfile.h"
#include "storage/kbindex.h"
#include "storage/log.h"
#include "storage/store.h"
#include "tests/unit/support/tmpstore.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#define NOW 1764547200000ull /* 2025-12-01T00:00:00Z */

static void test_time(void **state)
{
	uint64_t ms;

	(void)state;
	assert_int_equal(kbfile_time("2026-12-01T08:00:00+08:00", 25, &ms), 0);
	assert_int_equal(ms, 1796083200000ull);
	assert_int_equal(kbfile_time("2026-12-01T00:00:00Z", 20, &ms), 0);
	assert_int_equal(ms, 1796083200000ull);
	assert_int_equal(kbfile_time("2026-12-01T00:00:00.25z", 23, &ms), 0);
	assert_int_equal(ms, 1796083200250ull);
	assert_int_equal(kbfile_time("2024-02-29 23:59:59-01:30", 25, &ms), 0);
	assert_int_equal(ms, (1709251199ull + 5400) * 1000);
	/* Refused: no zone, a day that does not exist, a bad offset, before 1970. */
	assert_int_equal(kbfile_time("2026-12-01T08:00:00", 19, &ms), KF_EPARSE);
	assert_int_equal(kbfile_time("2025-02-29T00:00:00Z", 20, &ms), KF_EPARSE);
	assert_int_equal(kbfile_time("2026-12-01T08:00:00+24:00", 25, &ms), KF_EPARSE);
	assert_int_equal(kbfile_time("1969-12-31T23:59:59Z", 20, &ms), KF_EPARSE);
	assert_int_equal(kbfile_time("2026-12-01T08:00:00.Z", 21, &ms), KF_EPARSE);
	assert_int_equal(kbfile_time("tomorrow", 8, &ms), KF_EPARSE);
}

static int line(const char *s, Kefu__KbArticleIn **a, char *why)
{
	return kbfile_line(s, strlen(s), a, why, KBFILE_WHY_MAX);
}

static void test_line(void **state)
{
	Kefu__KbArticleIn *a;
	char why[KBFILE_WHY_MAX];

	(void)state;
	assert_int_equal(line("{\"title\": \"话费查询\", \"body\": \"b\", \"category\": \"话费/查询\", "
			      "\"keywords\": [\"话费\", \"余额\"], \"tags\": [], \"tiers\": [3], "
			      "\"cities\": [\"028\"], \"valid_from\": \"2026-12-01T08:00:00+08:00\", "
			      "\"valid_to\": null, \"state\": \"published\", \"id\": 7}",
			      &a, why),
			 0);
	assert_string_equal(a->title, "话费查询");
	assert_int_equal(a->n_keywords, 2);
	assert_string_equal(a->keywords[1], "余额");
	assert_int_equal(a->n_tiers, 1);
	assert_int_equal(a->tiers[0], 3);
	assert_int_equal(a->valid_from_ms, 1796083200000ull);
	assert_false(a->has_valid_to_ms);
	assert_int_equal(a->id, 7);
	kefu__kb_article_in__free_unpacked(a, NULL);

	assert_int_equal(line("{\"title\": \"t\", \"body\": \"b\", \"category\": \"c\", \"tittle\": 1}",
			      &a, why), KF_EPARSE);
	assert_null(a);
	assert_non_null(strstr(why, "\"tittle\" is not a key"));
	assert_int_equal(line("{\"title\": \"t\", \"body\": \"b\", \"category\": \"c\", "
			      "\"review_by\": \"soon\"}", &a, why), KF_EPARSE);
	assert_non_null(strstr(why, "\"review_by\" is not an RFC 3339 time"));
	assert_int_equal(line("{\"body\": \"b\", \"category\": \"c\"}", &a, why), KF_EPARSE);
	assert_non_null(strstr(why, "\"title\" is required"));
	assert_int_equal(line("{\"title\": \"t\", \"body\": \"b\", \"category\": \"c\", "
			      "\"valid_from\": \"2026-12-02T00:00:00Z\", "
			      "\"valid_to\": \"2026-12-01T00:00:00Z\"}", &a, why), KF_EPARSE);
	assert_non_null(strstr(why, "not after"));
	assert_int_equal(line("{\"title\": \"t\", \"body\": \"b\", \"category\": \"c\", "
			      "\"state\": \"live\"}", &a, why), KF_EPARSE);
	assert_int_equal(line("[1, 2]", &a, why), KF_EPARSE);
	assert_int_equal(line("{\"title\": ", &a, why), KF_EPARSE);
	assert_non_null(strstr(why, "not JSON"));
	assert_int_equal(line("{\"title\": \"t\", \"body\": \"b\", \"category\": \"c\", "
			      "\"keywords\": [\"a\", 2]}", &a, why), KF_EPARSE);
	assert_int_equal(line("{\"title\": \"t\", \"body\": \"b\", \"category\": \"c\", "
			      "\"title\": \"u\"}", &a, why), KF_EPARSE);
}

/* ---- the derived index ---- */

struct fx {
	struct tmpstore leader, replica;
	uint64_t epoch;
};

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	assert_int_equal(tmpstore_open(&f->leader, "kb-l"), 0);
	assert_int_equal(tmpstore_open(&f->replica, "kb-r"), 0);
	f->epoch = 1;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	tmpstore_close(&f->leader);
	tmpstore_close(&f->replica);
	free(f);
	return 0;
}

static Kefu__KbVersion version(uint64_t id, uint32_t ver, const char *title, const char *body,
			       const char *state)
{
	Kefu__KbVersion v = KEFU__KB_VERSION__INIT;

	v.has_article = v.has_version = 1;
	v.article = id;
	v.version = ver;
	v.title = (char *)title;
	v.body = (char *)body;
	v.category = "话费/查询";
	v.state = (char *)state;
	return v;
}

static Kefu__KbArticle article(uint64_t id, uint32_t latest, uint32_t live, uint32_t review)
{
	Kefu__KbArticle a = KEFU__KB_ARTICLE__INIT;

	a.has_id = a.has_latest = a.has_live = a.has_review = 1;
	a.id = id;
	a.latest = latest;
	a.live = live;
	a.review = review;
	a.state = live ? "published" : "draft";
	return a;
}

/* The first entry log_read gives, copied. */
static int first_entry(void *arg, const Kefu__LogEntry *e, const uint8_t *packed, size_t len)
{
	(void)e;
	*(Kefu__LogEntry **)arg = kefu__log_entry__unpack(NULL, len, packed);
	return 1;
}

/* Append b through the leader's log, then ship the entry to the replica,
 * which applies it as a follower does. */
static void write_both(struct fx *f, struct batch *b)
{
	Kefu__LogEntry *e = NULL;
	struct store_txn *t;
	uint64_t index;

	assert_int_equal(store_write_begin(f->leader.s, &t), 0);
	assert_int_equal(log_append_batch(t, f->epoch, b, 0, false, "test", &index), 0);
	assert_int_equal(store_commit(t), 0);
	assert_int_equal(store_read_begin(f->leader.s, &t), 0);
	assert_int_equal(log_read(t, index, 1, first_entry, &e), 0);
	store_abort(t);
	assert_non_null(e);
	assert_int_equal(store_write_begin(f->replica.s, &t), 0);
	assert_int_equal(log_apply_entry(t, f->epoch, e), 0);
	assert_int_equal(store_commit(t), 0);
	kefu__log_entry__free_unpacked(e, NULL);
	batch_reset(b);
}

/* The ids (article*100+version) found for q on s, under filter f (NULL: now). */
static void found(struct store *s, const char *q, const struct kb_filter *flt, char *out,
		  size_t cap)
{
	struct kb_filter def = {.now_ms = NOW};
	struct kb_hit h[10];
	struct store_txn *t;
	size_t n = 0, len = 0;

	out[0] = '\0';
	assert_int_equal(store_read_begin(s, &t), 0);
	assert_int_equal(kb_search(t, q, strlen(q), flt ? flt : &def, 10, h, &n), 0);
	for (size_t i = 0; i < n; i++)
		len += (size_t)snprintf(out + len, cap - len, "%s%llu", i ? " " : "",
					(unsigned long long)(h[i].v->article * 100 + h[i].v->version));
	kb_hits_release(h, n);
	store_abort(t);
}

static void expect_both(struct fx *f, const char *q, const char *want)
{
	char got[256];

	found(f->leader.s, q, NULL, got, sizeof(got));
	assert_string_equal(got, want);
	found(f->replica.s, q, NULL, got, sizeof(got));
	assert_string_equal(got, want);
}

static void test_swap(void **state)
{
	struct fx *f = *state;
	struct batch *b = f->leader.b;
	Kefu__KbVersion v1 = version(1, 1, "话费查询方法", "发送短信查询话费余额。旧版独有：琥珀。",
				     "published");
	Kefu__KbVersion v2 = version(1, 2, "话费余额指南", "拨打热线查询话费。新版独有：翡翠。", "review");
	Kefu__KbArticle a = article(1, 1, 1, 0);
	struct kbindex_stats st;
	struct store_txn *t;

	assert_int_equal(kb_version_put(b, &v1), 0);
	assert_int_equal(kb_article_put(b, &a), 0);
	write_both(f, b);
	expect_both(f, "琥珀", "101");

	/* v2 in review: the live text stays v1's on both stores. */
	a = article(1, 2, 1, 2);
	assert_int_equal(kb_version_put(b, &v2), 0);
	assert_int_equal(kb_article_put(b, &a), 0);
	write_both(f, b);
	expect_both(f, "琥珀", "101");
	expect_both(f, "翡翠", "");

	/* Approval: v1 superseded, v2 live; the index swaps in the same step. */
	v1.state = "superseded";
	v2.state = "published";
	a = article(1, 2, 2, 0);
	assert_int_equal(kb_version_put(b, &v1), 0);
	assert_int_equal(kb_version_put(b, &v2), 0);
	assert_int_equal(kb_article_put(b, &a), 0);
	write_both(f, b);
	expect_both(f, "翡翠", "102");
	expect_both(f, "琥珀", "");

	/* Archive: nothing of the article stays in the index. */
	v2.state = "archived";
	a = article(1, 2, 0, 0);
	a.state = "archived";
	assert_int_equal(kb_version_put(b, &v2), 0);
	assert_int_equal(kb_article_put(b, &a), 0);
	write_both(f, b);
	expect_both(f, "翡翠", "");
	assert_int_equal(store_read_begin(f->replica.s, &t), 0);
	assert_int_equal(kbindex_stat(t, &st), 0);
	assert_int_equal(st.docs, 0);
	store_abort(t);
}

static void test_validity(void **state)
{
	struct fx *f = *state;
	struct batch *b = f->leader.b;
	Kefu__KbVersion v[4] = {
		version(1, 1, "漫游开通", "国际漫游 开通", "published"),
		version(2, 1, "漫游资费旧", "国际漫游 旧资费", "published"),
		version(3, 1, "漫游资费新", "国际漫游 新资费", "published"),
		version(4, 1, "漫游贵宾", "国际漫游 贵宾专享", "published"),
	};
	uint32_t tier3 = 3;
	char *city = "028";
	struct kb_filter flt = {.now_ms = NOW};
	char got[128];

	v[1].has_valid_to_ms = 1;
	v[1].valid_to_ms = NOW; /* archive-at reached */
	v[2].has_valid_from_ms = 1;
	v[2].valid_from_ms = NOW + 1; /* publish-at not yet */
	v[3].tiers = &tier3;
	v[3].n_tiers = 1;
	v[3].cities = &city;
	v[3].n_cities = 1;
	v[3].category = "漫游/国际";
	for (int i = 0; i < 4; i++) {
		Kefu__KbArticle a = article((uint64_t)i + 1, 1, 1, 0);

		assert_int_equal(kb_version_put(b, &v[i]), 0);
		assert_int_equal(kb_article_put(b, &a), 0);
	}
	write_both(f, b);
	/* Article 4 applies to any caller when the search names none. */
	found(f->replica.s, "漫游", &flt, got, sizeof(got));
	assert_non_null(strstr(got, "101"));
	assert_non_null(strstr(got, "401"));
	assert_null(strstr(got, "201"));
	assert_null(strstr(got, "301"));
	/* Time moves: the old one is gone for good, the new one shows. */
	flt.now_ms = NOW + 1;
	found(f->replica.s, "新资费", &flt, got, sizeof(got));
	assert_string_equal(got, "301");
	flt.now_ms = NOW - 1;
	found(f->replica.s, "旧资费", &flt, got, sizeof(got));
	assert_string_equal(got, "201");
	/* Tier, city and category narrow it. */
	flt = (struct kb_filter){.now_ms = NOW, .tier = 1};
	found(f->replica.s, "贵宾", &flt, got, sizeof(got));
	assert_string_equal(got, "");
	flt.tier = 3;
	flt.city = "020";
	found(f->replica.s, "贵宾", &flt, got, sizeof(got));
	assert_string_equal(got, "");
	flt.city = "028";
	found(f->replica.s, "贵宾", &flt, got, sizeof(got));
	assert_string_equal(got, "401");
	flt.category = "漫游";
	found(f->replica.s, "漫游", &flt, got, sizeof(got));
	assert_string_equal(got, "401");
	flt.category = "漫";
	found(f->replica.s, "漫游", &flt, got, sizeof(got));
	assert_string_equal(got, "");
}

/* Popularity reorders what is equally relevant, never lifts what is not. */
static void test_rerank(void **state)
{
	struct fx *f = *state;
	struct batch *b = f->leader.b;
	Kefu__KbVersion v[3] = {
		version(1, 1, "流量套餐", "流量套餐的资费", "published"),
		version(2, 1, "流量套餐", "流量套餐的资费", "published"),
		version(3, 1, "宽带", "宽带也有流量说明", "published"),
	};
	Kefu__KbStats st = KEFU__KB_STATS__INIT;
	char got[64];

	for (int i = 0; i < 3; i++) {
		Kefu__KbArticle a = article((uint64_t)i + 1, 1, 1, 0);

		assert_int_equal(kb_version_put(b, &v[i]), 0);
		assert_int_equal(kb_article_put(b, &a), 0);
	}
	write_both(f, b);
	st.has_hot = st.has_hot_ms = 1;
	st.hot = 200;
	st.hot_ms = NOW;
	assert_int_equal(kb_stats_put(b, 2, &st), 0);
	assert_int_equal(kb_stats_put(b, 3, &st), 0);
	write_both(f, b);
	found(f->replica.s, "流量", NULL, got, sizeof(got));
	assert_string_equal(got, "201 101 301");
}

static void test_refused(void **state)
{
	struct fx *f = *state;
	struct batch *b = f->leader.b;
	struct store_txn *t;
	uint8_t k[9] = {'x'};

	/* The derived tables are never written through the log. */
	assert_int_equal(batch_put(b, STORE_KB_TERMS, k, sizeof(k), "", 0), 0);
	assert_int_equal(store_write_begin(f->leader.s, &t), 0);
	assert_int_equal(log_append_batch(t, 1, b, 0, false, "test", NULL), KF_EPROTO);
	store_abort(t);
	batch_reset(b);
	assert_int_equal(batch_put(b, STORE_KB_DOCS, k, sizeof(k), "", 0), 0);
	assert_int_equal(store_write_begin(f->leader.s, &t), 0);
	assert_int_equal(log_append_batch(t, 1, b, 0, false, "test", NULL), KF_EPROTO);
	store_abort(t);
	batch_reset(b);
	/* A live version that is not there is corruption, not silence. */
	{
		Kefu__KbArticle a = article(9, 1, 1, 0);

		assert_int_equal(kb_article_put(b, &a), 0);
		assert_int_equal(store_write_begin(f->leader.s, &t), 0);
		assert_int_equal(log_append_batch(t, 1, b, 0, false, "test", NULL), KF_ECORRUPT);
		store_abort(t);
		batch_reset(b);
	}
}

static void test_ids_and_hot(void **state)
{
	struct fx *f = *state;
	struct batch *b = f->leader.b;
	Kefu__KbStats s = KEFU__KB_STATS__INIT;
	struct store_txn *t;
	uint64_t id;

	assert_int_equal(store_read_begin(f->leader.s, &t), 0);
	assert_int_equal(kb_next_id(t, &id), 0);
	assert_int_equal(id, 1);
	store_abort(t);
	assert_int_equal(kb_next_id_put(b, 42), 0);
	assert_int_equal(kb_ref_put(b, "line-1", 41), 0);
	write_both(f, b);
	assert_int_equal(store_read_begin(f->replica.s, &t), 0);
	assert_int_equal(kb_next_id(t, &id), 0);
	assert_int_equal(id, 42);
	assert_int_equal(kb_by_ref(t, "line-1", &id), 0);
	assert_int_equal(id, 41);
	assert_int_equal(kb_by_ref(t, "line-2", &id), KF_ENOTFOUND);
	store_abort(t);
	s.hot = 8;
	s.hot_ms = NOW;
	assert_true(kb_hot_decay(&s, NOW) == 8);
	assert_true(kb_hot_decay(&s, NOW + KB_HOT_HALF_LIFE_MS) > 3.99 &&
		    kb_hot_decay(&s, NOW + KB_HOT_HALF_LIFE_MS) < 4.01);
	assert_int_equal(kb_doc_article(kb_doc(5, 3)), 5);
	assert_int_equal(kb_doc_version(kb_doc(5, 3)), 3);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_time),
		cmocka_unit_test(test_line),
		cmocka_unit_test_setup_teardown(test_swap, setup, teardown),
		cmocka_unit_test_setup_teardown(test_validity, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rerank, setup, teardown),
		cmocka_unit_test_setup_teardown(test_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ids_and_hot, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
