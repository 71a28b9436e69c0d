/*
 * Unit tests of storage/kbindex.c and kbindex_search.c: a small index of
 * telecom articles answers one-character, phrase, pinyin-initial,
 * full-pinyin (spaced, typed in part), polyphonic, traditional, full-width
 * and mixed queries with the right docs in the right order; title outranks
 * body and an exact match a pinyin one; admit drops and boosts; a re-put
 * replaces; put then del leaves both tables empty; the builder writes the
 * same tables as one put per doc; bad queries are refused; a field over the
 * limit, a block or a doc record that does not parse are errors; excerpts
 * cut on character boundaries.
 */
#include "lib/err.h"
#include "lib/textfold.h"
#include "storage/batch.h"
#include "storage/kbindex.h"
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

struct art {
	uint64_t doc;
	const char *title, *keywords, *body;
};

static const struct art arts[] = {
	{1, "话费查询", "话费 账单", "如何查询本月话费和账单明细"},
	{2, "4G套餐介绍", "套餐", "4G 套餐资费说明,流量不限速"},
	{3, "携号转网办理", "iphone", "iPhone 用户携号转网须知"},
	{4, "银行网点", "", "银行营业时间"},
	{5, "步行路线", "", "步行到营业厅约五分钟"},
	{6, "长城宽带", "", "长城宽带报装流程"},
	{7, "校长信箱", "", "联系校长"},
	{8, "宽带故障", "", "宽带断线时先检查话费余额"},
	{9, "花费统计", "", "每月花费统计"},
	{10, "缩写说明", "", "hf 是常见缩写"},
	{11, "ABC/4G 资费", "", "老资费"},
	{12, "查询话费的方法", "", "拨打客服电话"},
};
#define NARTS (sizeof(arts) / sizeof(arts[0]))

static struct kbindex_text art_text(const struct art *a)
{
	struct kbindex_text t;

	t.field[KBINDEX_TITLE] = a->title;
	t.field[KBINDEX_KEYWORDS] = a->keywords;
	t.field[KBINDEX_BODY] = a->body;
	for (int f = 0; f < KBINDEX_FIELDS; f++)
		t.len[f] = strlen(t.field[f]);
	return t;
}

static void put_all(struct store *s)
{
	struct store_txn *t;

	assert_int_equal(store_write_begin(s, &t), 0);
	for (size_t i = 0; i < NARTS; i++) {
		struct kbindex_text tx = art_text(&arts[i]);

		assert_int_equal(kbindex_put(t, arts[i].doc, &tx), 0);
	}
	assert_int_equal(store_commit(t), 0);
}

static int setup(void **state)
{
	struct tmpstore *ts = calloc(1, sizeof(*ts));

	if (!ts || tmpstore_open(ts, "kbindex"))
		return -1;
	put_all(ts->s);
	*state = ts;
	return 0;
}

static int teardown(void **state)
{
	struct tmpstore *ts = *state;

	tmpstore_close(ts);
	free(ts);
	return 0;
}

struct admit_rule {
	uint64_t drop;
	uint64_t boost;
	unsigned asked;
};

static double admit_fn(void *arg, uint64_t doc)
{
	struct admit_rule *r = arg;

	r->asked++;
	if (doc == r->drop)
		return -1;
	return doc == r->boost ? KBINDEX_BOOST_MAX : 1.0;
}

/* Search q; the docs found, in order, as "1,8,12". */
static const char *search_with(struct store *s, const char *q, size_t limit,
			       struct admit_rule *rule, bool *first_exact)
{
	static char out[256];
	struct kbindex_hit hits[KBINDEX_LIMIT_MAX];
	struct store_txn *t;
	size_t n = 99, w = 0;

	assert_int_equal(store_read_begin(s, &t), 0);
	assert_int_equal(kbindex_search(t, q, strlen(q), limit, rule ? admit_fn : NULL, rule, hits, &n),
			 0);
	store_abort(t);
	out[0] = '\0';
	for (size_t i = 0; i < n; i++) {
		w += (size_t)snprintf(out + w, sizeof(out) - w, "%s%llu", i ? "," : "",
				      (unsigned long long)hits[i].doc);
		if (i > 0)
			assert_true(hits[i].exact <= hits[i - 1].exact);
	}
	if (first_exact)
		*first_exact = n > 0 && hits[0].exact;
	return out;
}

static const char *search(struct store *s, const char *q)
{
	return search_with(s, q, 10, NULL, NULL);
}

/* The docs of a result, sorted, for the queries whose order is not the point. */
static const char *sorted(const char *list)
{
	static char out[256];
	unsigned long long v[32];
	size_t n = 0, w = 0;
	char *end;

	for (const char *p = list; *p && n < 32;) {
		v[n++] = strtoull(p, &end, 10);
		p = *end ? end + 1 : end;
	}
	for (size_t i = 1; i < n; i++)
		for (size_t j = i; j > 0 && v[j - 1] > v[j]; j--) {
			unsigned long long x = v[j];

			v[j] = v[j - 1];
			v[j - 1] = x;
		}
	out[0] = '\0';
	for (size_t i = 0; i < n; i++)
		w += (size_t)snprintf(out + w, sizeof(out) - w, "%s%llu", i ? "," : "", v[i]);
	return out;
}

/* A query and the docs it finds: in rank order, or (any_order) sorted. */
struct query_case {
	const char *query;
	const char *docs;
	bool any_order;
};

static const struct query_case query_cases[] = {
	/* One character: every doc holding it. */
	{"行", "4,5", true},
	{"费", "1,2,8,9,11,12", true},
	/* Two characters: the pair, wherever it is; title above body. */
	{"话费", "1,12,8", false},
	/* Four: both pairs, in any order; the quoted phrase only as written. */
	{"话费查询", "1,12", true},
	{"\"话费查询\"", "1", false},
	{"\"查询话费\"", "12", false},
	/* A phrase of two characters that are neighbours, of a word and a pair. */
	{"\"费和\"", "1", false},
	{"\"4g 套餐\"", "2", false},
	{"漫游", "", false},
	/* Traditional characters meet simplified ones. */
	{"話費", "1,12,8", false},
	{"長城寬帶", "6", false},
	/* Full-width letters, digits and signs meet ASCII; case folds. */
	{"ＡＢＣ／４Ｇ", "11", false},
	{"４Ｇ套餐", "2", false},
	{"IPHONE", "3", false},
	/* Mixed: every part. */
	{"4G 套餐", "2", false},
	{"iphone 携号转网", "3", false},
	{"4g", "2,11", true},
	/* Pinyin initials. */
	{"hfcx", "1", false},
	{"hf", "1,8,9,10,12", true},
	/* Full pinyin, joined, spaced, the last syllable typed in part. */
	{"huafei", "1,8,9,12", true},
	{"hua fei", "1,8,9,12", true},
	{"huaf", "1,8,9,12", true},
	{"huafeichaxun", "1", false},
	/* A syllable in part within a sequence: 话费查, never 话费的 or 话费和. */
	{"huafeic", "1", false},
	{"huafeicha", "1", false},
	/* Every reading of a polyphonic character. */
	{"yinhang", "4", false},
	{"buxing", "5", false},
	{"changcheng", "6", false},
	{"zhangcheng", "6", false},
	{"xiaozhang", "7", false},
	/* Initials are many words, through rare readings too: 银行, 用户, 月话,
	 * 月花; 步行, 不限, 费余 (bì xú). */
	{"yh", "1,3,4,9", true},
	{"bx", "2,5,8", true},
	/* Pinyin mixed with Han and with words. */
	{"kuandai 长城", "6", false},
	{"4g taocan", "2", false},
	{"iphone xiehao", "3", false},
	{"xiehao zhuanwang", "3", false},
	{"xie hao zhuan wang", "3", false},
	{"qwxz", "", false},
};

static void run_cases(struct store *s, const struct query_case *c, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		const char *got = search(s, c[i].query);

		if (c[i].any_order)
			got = sorted(got);
		if (strcmp(got, c[i].docs) != 0)
			fail_msg("query '%s': docs %s, expected %s", c[i].query, got, c[i].docs);
	}
}

static void test_queries(void **state)
{
	struct tmpstore *ts = *state;

	run_cases(ts->s, query_cases, sizeof(query_cases) / sizeof(query_cases[0]));
}

static void test_pinyin(void **state)
{
	struct tmpstore *ts = *state;
	bool exact = true;

	/* "hf": the word as written first, then 话费 and 花费 through pinyin. */
	assert_memory_equal(search_with(ts->s, "hf", 10, NULL, &exact), "10,", 3);
	assert_true(exact);
	search_with(ts->s, "huafei", 10, NULL, &exact);
	assert_false(exact);
}

static void test_admit(void **state)
{
	struct tmpstore *ts = *state;
	struct admit_rule r = {0, 0, 0};

	assert_string_equal(search_with(ts->s, "话费", 10, &r, NULL), "1,12,8");
	assert_int_equal(r.asked, 3);
	/* 1 dropped; 8's factor is held to KBINDEX_BOOST_MAX (1: relevance
	 * alone orders the index's results), so it stays behind 12. */
	r = (struct admit_rule){1, 8, 0};
	assert_string_equal(search_with(ts->s, "话费", 10, &r, NULL), "12,8");
	/* With one place, a candidate that cannot pass the best even boosted
	 * is not asked about. */
	r = (struct admit_rule){0, 0, 0};
	assert_string_equal(search_with(ts->s, "hf", 1, &r, NULL), "10");
	assert_int_equal(r.asked, 1);
}

static void test_bad_queries(void **state)
{
	struct tmpstore *ts = *state;
	struct kbindex_hit hits[KBINDEX_LIMIT_MAX];
	struct store_txn *t;
	char big[KBINDEX_QUERY_MAX + 2];
	size_t n;

	memset(big, 'a', sizeof(big));
	assert_int_equal(store_read_begin(ts->s, &t), 0);
	assert_int_equal(kbindex_search(t, "\"话费", 7, 10, NULL, NULL, hits, &n), KF_EINVAL);
	assert_int_equal(kbindex_search(t, "", 0, 10, NULL, NULL, hits, &n), KF_EINVAL);
	assert_int_equal(kbindex_search(t, " ，。", 7, 10, NULL, NULL, hits, &n), KF_EINVAL);
	assert_int_equal(kbindex_search(t, "\"\"", 2, 10, NULL, NULL, hits, &n), KF_EINVAL);
	assert_int_equal(kbindex_search(t, big, KBINDEX_QUERY_MAX + 1, 10, NULL, NULL, hits, &n),
			 KF_EINVAL);
	assert_int_equal(kbindex_search(t, "话费", 6, 0, NULL, NULL, hits, &n), KF_EINVAL);
	assert_int_equal(kbindex_search(t, "话费", 6, KBINDEX_LIMIT_MAX + 1, NULL, NULL, hits, &n),
			 KF_EINVAL);
	/* Invalid UTF-8 is taken as far as it is valid. */
	assert_int_equal(kbindex_search(t, "话费\xff\xfe", 8, 10, NULL, NULL, hits, &n), 0);
	assert_int_equal(n, 3);
	/* The longest query is fine. */
	assert_int_equal(kbindex_search(t, big, KBINDEX_QUERY_MAX, 10, NULL, NULL, hits, &n), 0);
	assert_int_equal(n, 0);
	store_abort(t);
}

static int count_visit(void *arg, const struct store_val *key, const struct store_val *val)
{
	(void)key;
	(void)val;
	(*(size_t *)arg)++;
	return 0;
}

static size_t table_keys(struct store *s, enum store_table table)
{
	struct store_txn *t;
	size_t n = 0;

	assert_int_equal(store_read_begin(s, &t), 0);
	assert_int_equal(store_scan(t, table, NULL, 0, NULL, 0, false, count_visit, &n), 0);
	store_abort(t);
	return n;
}

static void test_replace_and_delete(void **state)
{
	struct tmpstore *ts = *state;
	struct store_txn *t;
	struct kbindex_stats st;
	struct art again = {1, "漫游资费", "", "国际漫游"};
	struct kbindex_text tx = art_text(&again);

	assert_int_equal(store_read_begin(ts->s, &t), 0);
	assert_int_equal(kbindex_stat(t, &st), 0);
	store_abort(t);
	assert_int_equal(st.docs, NARTS);
	assert_true(st.terms > 100 && st.postings > st.terms && st.bytes > 0);

	assert_int_equal(store_write_begin(ts->s, &t), 0);
	assert_int_equal(kbindex_put(t, 1, &tx), 0);
	assert_int_equal(store_commit(t), 0);
	assert_string_equal(search(ts->s, "话费"), "12,8");
	assert_string_equal(search(ts->s, "漫游"), "1");
	assert_string_equal(search(ts->s, "hfcx"), "");

	assert_int_equal(store_write_begin(ts->s, &t), 0);
	for (size_t i = 0; i < NARTS; i++)
		assert_int_equal(kbindex_del(t, arts[i].doc), 0);
	assert_int_equal(kbindex_del(t, 999), 0);
	assert_int_equal(kbindex_stat(t, &st), 0);
	assert_int_equal(store_commit(t), 0);
	assert_int_equal(st.docs, 0);
	assert_int_equal(st.terms, 0);
	assert_int_equal(st.postings, 0);
	assert_int_equal(st.bytes, 0);
	assert_int_equal(table_keys(ts->s, STORE_KB_TERMS), 0);
	assert_int_equal(table_keys(ts->s, STORE_KB_DOCS), 0);
	put_all(ts->s); /* for the tests after */
}

/* Every key and value of the two tables, in order, into buf. */
static int dump_visit(void *arg, const struct store_val *key, const struct store_val *val)
{
	FILE *f = arg;

	fwrite(&key->len, sizeof(key->len), 1, f);
	fwrite(key->data, 1, key->len, f);
	fwrite(&val->len, sizeof(val->len), 1, f);
	fwrite(val->data, 1, val->len, f);
	return 0;
}

static char *dump(struct store *s, size_t *len)
{
	struct store_txn *t;
	char *buf = NULL;
	FILE *f = open_memstream(&buf, len);

	assert_non_null(f);
	assert_int_equal(store_read_begin(s, &t), 0);
	assert_int_equal(store_scan(t, STORE_KB_TERMS, NULL, 0, NULL, 0, false, dump_visit, f), 0);
	assert_int_equal(store_scan(t, STORE_KB_DOCS, NULL, 0, NULL, 0, false, dump_visit, f), 0);
	store_abort(t);
	fclose(f);
	return buf;
}

/* A generated body for doc i: enough docs and text for many blocks. */
static void gen_body(uint64_t i, char *out, size_t cap)
{
	static const char *parts[] = {"话费", "套餐", "流量", "宽带", "漫游", "携号转网", "账单",
				      "投诉", "5G", "iPhone", "银行", "长城", "查询", "办理"};
	size_t w = 0;

	for (uint64_t k = 0; k < 12 && w + 16 < cap; k++) {
		const char *p = parts[(i * 7 + k * k * 3 + k) % 14];

		memcpy(out + w, p, strlen(p));
		w += strlen(p);
		out[w++] = k % 3 ? ' ' : ',';
	}
	out[w] = '\0';
}

static void test_builder(void **state)
{
	struct tmpstore a, b;
	struct store_txn *t;
	struct kbindex_build *kb;
	char body[512], *da, *db;
	size_t la, lb;
	const uint64_t n = 1500;

	(void)state;
	assert_int_equal(tmpstore_open(&a, "kbindex-a"), 0);
	assert_int_equal(tmpstore_open(&b, "kbindex-b"), 0);
	/* One put per doc. */
	assert_int_equal(store_write_begin(a.s, &t), 0);
	for (uint64_t i = 1; i <= n; i++) {
		struct art x = {i, "标题", "", body};
		struct kbindex_text tx;

		gen_body(i, body, sizeof(body));
		tx = art_text(&x);
		assert_int_equal(kbindex_put(t, i, &tx), 0);
	}
	assert_int_equal(store_commit(t), 0);
	/* The builder, docs out of order, one added twice. */
	kb = kbindex_build_new();
	assert_int_equal(store_write_begin(b.s, &t), 0);
	for (uint64_t k = 0; k < n; k++) {
		uint64_t i = k < 100 ? 100 - k : k + 1;
		struct art x = {i, "标题", "", body};
		struct kbindex_text tx;

		gen_body(i, body, sizeof(body));
		tx = art_text(&x);
		assert_int_equal(kbindex_build_add(kb, t, i, &tx), 0);
		if (k == 700)
			assert_int_equal(kbindex_build_add(kb, t, 50, &tx), KF_EEXISTS);
	}
	assert_int_equal(kbindex_build_flush(kb, t), 0);
	assert_int_equal(store_commit(t), 0);
	kbindex_build_free(kb);
	da = dump(a.s, &la);
	db = dump(b.s, &lb);
	assert_int_equal(la, lb);
	assert_memory_equal(da, db, la);
	free(da);
	free(db);
	assert_string_equal(search(b.s, "\"携号转网\""), search(a.s, "\"携号转网\""));
	tmpstore_close(&a);
	tmpstore_close(&b);
}

static void test_snippet(void **state)
{
	char out[64], text[1024];
	const char *q = "话费";
	size_t n, w = 0, nb;

	(void)state;
	for (int i = 0; i < 40; i++)
		w += (size_t)snprintf(text + w, sizeof(text) - w, "%s", "营业厅");
	w += (size_t)snprintf(text + w, sizeof(text) - w, "%s", "本月话费已出账");
	for (int i = 0; i < 40; i++)
		w += (size_t)snprintf(text + w, sizeof(text) - w, "%s", "服务");
	n = kbindex_snippet(q, strlen(q), text, w, out, sizeof(out));
	assert_int_equal(n, strlen(out));
	assert_true(n < sizeof(out));
	assert_non_null(strstr(out, "话费"));
	assert_memory_equal(out, "\xE2\x80\xA6", 3);
	assert_memory_equal(out + n - 3, "\xE2\x80\xA6", 3);
	for (size_t i = 0; i < n; i += nb)
		assert_true(textfold_utf8_next(out + i, n - i, &nb) >= 0);
	/* Every size cuts on a character boundary. */
	for (size_t cap = 1; cap < sizeof(out); cap++) {
		n = kbindex_snippet(q, strlen(q), text, w, out, cap);
		assert_true(n < cap);
		for (size_t i = 0; i < n; i += nb)
			assert_true(textfold_utf8_next(out + i, n - i, &nb) >= 0);
	}
	/* No match: the start; short text whole. */
	n = kbindex_snippet("漫游", 6, "短文", 6, out, sizeof(out));
	assert_string_equal(out, "短文");
	assert_int_equal(kbindex_snippet(q, 6, text, w, out, 0), 0);
}

/* The error paths: a field over the limit, a block or a doc record that
 * does not parse. */
static void test_errors(void **state)
{
	struct tmpstore *ts = *state;
	struct kbindex_hit hits[10];
	struct store_txn *t;
	struct kbindex_text tx = art_text(&arts[0]);
	static const uint8_t bad_block[] = {1, 0, 0x7F};
	static const uint8_t bad_doc[] = {2, 0};
	uint8_t key[32] = "c\xE6\xBC\xAB"; /* 漫, in no doc */
	uint8_t dkey[9] = {'d', 0, 0, 0, 0, 0, 0, 0, 2};
	size_t n;

	tx.len[KBINDEX_BODY] = KBINDEX_TEXT_MAX + 1;
	assert_int_equal(store_write_begin(ts->s, &t), 0);
	assert_int_equal(kbindex_put(t, 50, &tx), KF_ETOOBIG);
	store_abort(t);

	batch_reset(ts->b);
	memset(key + 4, 0, 9); /* the term's 0, then doc 0 */
	assert_int_equal(batch_put(ts->b, STORE_KB_TERMS, key, 13, bad_block, sizeof(bad_block)), 0);
	assert_int_equal(batch_put(ts->b, STORE_KB_DOCS, dkey, 9, bad_doc, sizeof(bad_doc)), 0);
	assert_int_equal(store_write_begin(ts->s, &t), 0);
	assert_int_equal(batch_apply(t, ts->b), 0);
	assert_int_equal(kbindex_search(t, "漫", 3, 10, NULL, NULL, hits, &n), KF_ECORRUPT);
	assert_int_equal(n, 0);
	assert_int_equal(kbindex_del(t, 2), KF_ECORRUPT);
	store_abort(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_queries, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pinyin, setup, teardown),
		cmocka_unit_test_setup_teardown(test_admit, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_queries, setup, teardown),
		cmocka_unit_test_setup_teardown(test_replace_and_delete, setup, teardown),
		cmocka_unit_test_setup_teardown(test_errors, setup, teardown),
		cmocka_unit_test(test_builder),
		cmocka_unit_test(test_snippet),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
