/*
 * Unit tests of storage/audit.c: entry checks, clean text, keys in time
 * order, listing from a moment and after a cursor, on a fresh store in its
 * own temporary directory.
 */
#include "lib/err.h"
#include "storage/audit.h"
#include "storage/batch.h"
#include "storage/store.h"
#include "tests/unit/support/tmpstore.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

static int setup(void **state)
{
	struct tmpstore *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	assert_int_equal(tmpstore_open(f, "audit"), 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	tmpstore_close(*state);
	free(*state);
	return 0;
}

static Kefu__AuditEntry entry(uint64_t ms, uint64_t seq, const char *node, const char *subject)
{
	Kefu__AuditEntry e = KEFU__AUDIT_ENTRY__INIT;

	e.has_time_ms = e.has_seq = 1;
	e.time_ms = ms;
	e.seq = seq;
	e.node = (char *)node;
	e.agent = "a01";
	e.action = "view_bills";
	e.subject = (char *)subject;
	e.detail = "本机直查";
	return e;
}

/* Append the entries and commit them. */
static void write_all(struct tmpstore *f, const Kefu__AuditEntry *e, size_t n)
{
	struct store_txn *t;

	batch_reset(f->b);
	for (size_t i = 0; i < n; i++)
		assert_int_equal(audit_append(f->b, &e[i], NULL, 0), 0);
	assert_int_equal(store_write_begin(f->s, &t), 0);
	assert_int_equal(batch_apply(t, f->b), 0);
	assert_int_equal(store_commit(t), 0);
}

struct seen {
	char subjects[8][32];
	uint8_t last_key[AUDIT_KEY_MAX];
	size_t last_len;
	size_t n, stop_at;
};

static int collect(void *arg, const Kefu__AuditEntry *e)
{
	struct seen *s = arg;

	snprintf(s->subjects[s->n++], sizeof(s->subjects[0]), "%s", e->subject);
	s->last_len = audit_key(e, s->last_key);
	return s->n == s->stop_at ? 1 : 0;
}

static void list(struct tmpstore *f, uint64_t since, const void *after, size_t alen, struct seen *s)
{
	struct store_txn *t;

	assert_int_equal(store_read_begin(f->s, &t), 0);
	assert_int_equal(audit_list(t, since, after, alen, collect, s), 0);
	store_abort(t);
}

static void test_entries_list_in_time_order(void **state)
{
	struct tmpstore *f = *state;
	Kefu__AuditEntry e[] = {entry(3000, 0, "node1", "c"), entry(1000, 5, "node2", "a"),
				entry(2000, 1, "node1", "b")};
	struct seen s = {.n = 0};

	write_all(f, e, 3);
	list(f, 0, NULL, 0, &s);
	assert_int_equal(s.n, 3);
	assert_string_equal(s.subjects[0], "a");
	assert_string_equal(s.subjects[1], "b");
	assert_string_equal(s.subjects[2], "c");
}

static void test_one_millisecond_keeps_every_entry(void **state)
{
	struct tmpstore *f = *state;
	Kefu__AuditEntry e[] = {entry(1000, 1, "node1", "x"), entry(1000, 2, "node1", "y"),
				entry(1000, 1, "node2", "z")};
	struct seen s = {.n = 0};

	write_all(f, e, 3);
	list(f, 0, NULL, 0, &s);
	assert_int_equal(s.n, 3);
	assert_string_equal(s.subjects[0], "x");
	assert_string_equal(s.subjects[1], "z"); /* seq 1 of node2 before seq 2 of node1 */
	assert_string_equal(s.subjects[2], "y");
}

static void test_since_skips_older_entries(void **state)
{
	struct tmpstore *f = *state;
	Kefu__AuditEntry e[] = {entry(1000, 0, "node1", "a"), entry(2000, 0, "node1", "b"),
				entry(3000, 0, "node1", "c")};
	struct seen s = {.n = 0};

	write_all(f, e, 3);
	list(f, 2000, NULL, 0, &s);
	assert_int_equal(s.n, 2);
	assert_string_equal(s.subjects[0], "b");
	s = (struct seen){.n = 0};
	list(f, 3001, NULL, 0, &s);
	assert_int_equal(s.n, 0);
}

static void test_cursor_continues_after_the_last_seen(void **state)
{
	struct tmpstore *f = *state;
	Kefu__AuditEntry e[] = {entry(1000, 0, "node1", "a"), entry(1000, 1, "node1", "b"),
				entry(2000, 0, "node1", "c")};
	struct seen s = {.n = 0, .stop_at = 1}, rest = {.n = 0};

	write_all(f, e, 3);
	list(f, 0, NULL, 0, &s);
	assert_int_equal(s.n, 1);
	list(f, 0, s.last_key, s.last_len, &rest);
	assert_int_equal(rest.n, 2);
	assert_string_equal(rest.subjects[0], "b");
	assert_string_equal(rest.subjects[1], "c");
	/* a cursor before since does not bring back older entries */
	rest = (struct seen){.n = 0};
	list(f, 2000, s.last_key, s.last_len, &rest);
	assert_int_equal(rest.n, 1);
	assert_string_equal(rest.subjects[0], "c");
}

/* A cursor at the last entry lists nothing more; a cursor after since
 * wins over since, and one before it is no cursor. */
static void test_cursor_at_the_end_lists_nothing(void **state)
{
	struct tmpstore *f = *state;
	Kefu__AuditEntry e[] = {entry(1000, 0, "node1", "a"), entry(2000, 0, "node1", "b"),
				entry(3000, 0, "node1", "c")};
	struct seen s = {.n = 0}, rest = {.n = 0};

	write_all(f, e, 3);
	list(f, 0, NULL, 0, &s);
	assert_int_equal(s.n, 3);
	list(f, 0, s.last_key, s.last_len, &rest);
	assert_int_equal(rest.n, 0);
	/* since past the cursor: since decides */
	rest = (struct seen){.n = 0};
	list(f, 4000, s.last_key, s.last_len, &rest);
	assert_int_equal(rest.n, 0);
	s = (struct seen){.n = 0, .stop_at = 1};
	list(f, 0, NULL, 0, &s);
	rest = (struct seen){.n = 0};
	list(f, 500, s.last_key, s.last_len, &rest);
	assert_int_equal(rest.n, 2);
	assert_string_equal(rest.subjects[0], "b");
}

static void test_cursor_over_the_key_size_refused(void **state)
{
	struct tmpstore *f = *state;
	uint8_t big[AUDIT_KEY_MAX + 1] = {0};
	struct seen s = {.n = 0};
	struct store_txn *t;

	assert_int_equal(store_read_begin(f->s, &t), 0);
	assert_int_equal(audit_list(t, 0, big, sizeof(big), collect, &s), KF_EPARSE);
	store_abort(t);
	assert_int_equal(s.n, 0);
}

static void test_key_is_time_seq_node(void **state)
{
	Kefu__AuditEntry e = entry(0x0102030405060708ull, 9, "n1", "s");
	uint8_t k[AUDIT_KEY_MAX];

	(void)state;
	assert_int_equal(audit_key(&e, k), 18);
	assert_memory_equal(k, "\1\2\3\4\5\6\7\x08\0\0\0\0\0\0\0\x09n1", 18);
}

static void test_incomplete_entries_refused(void **state)
{
	struct tmpstore *f = *state;
	char why[128];
	char longer[AUDIT_DETAIL_MAX + 2];
	Kefu__AuditEntry e;

	e = entry(1000, 0, "node1", "s");
	e.has_time_ms = 0;
	assert_int_equal(audit_append(f->b, &e, why, sizeof(why)), KF_EPARSE);
	assert_non_null(strstr(why, "time_ms"));
	e = entry(1000, 0, "node1", "s");
	e.action = "View-Bills";
	assert_int_equal(audit_append(f->b, &e, why, sizeof(why)), KF_EPARSE);
	assert_non_null(strstr(why, "action"));
	e = entry(1000, 0, "", "s");
	assert_int_equal(audit_append(f->b, &e, why, sizeof(why)), KF_EPARSE);
	e = entry(1000, 0, "node1", "s");
	e.agent = NULL;
	assert_int_equal(audit_append(f->b, &e, why, sizeof(why)), KF_EPARSE);
	e = entry(1000, 0, "node1", "s");
	e.detail = "two\nlines";
	assert_int_equal(audit_append(f->b, &e, why, sizeof(why)), KF_EPARSE);
	memset(longer, 'x', sizeof(longer) - 1);
	longer[sizeof(longer) - 1] = '\0';
	e.detail = longer;
	assert_int_equal(audit_append(f->b, &e, why, sizeof(why)), KF_EPARSE);
	assert_int_equal(batch_count(f->b), 0);
}

static void test_text_must_be_clean_utf8(void **state)
{
	(void)state;
	assert_true(audit_text_is_valid(NULL, 10));
	assert_true(audit_text_is_valid("", 10));
	assert_true(audit_text_is_valid("张三 ok", 10));
	assert_false(audit_text_is_valid("张三 ok!!", 10));   /* 11 bytes */
	assert_false(audit_text_is_valid("\xc0\xaf", 10));     /* overlong */
	assert_false(audit_text_is_valid("\xed\xa0\x80", 10)); /* surrogate */
	assert_false(audit_text_is_valid("\xc2\x85", 10));     /* C1 control */
	assert_false(audit_text_is_valid("\xe5\xbc", 10));     /* cut short */
	assert_false(audit_text_is_valid("\xf4\x90\x80\x80", 10)); /* over U+10FFFF */
	assert_false(audit_text_is_valid("tab\there", 10));
	assert_false(audit_text_is_valid("del\x7f", 10));
	assert_true(audit_text_is_valid("\xf0\x9f\x98\x80", 10)); /* U+1F600 */
}

static void test_corrupt_value_ends_the_listing(void **state)
{
	struct tmpstore *f = *state;
	struct store_txn *t;
	struct seen s = {.n = 0};

	batch_reset(f->b);
	assert_int_equal(batch_put(f->b, STORE_AUDIT, "\0\0\0\0\0\0\0\1\0\0\0\0\0\0\0\0n", 17,
				   "\xff\xff", 2),
			 0);
	assert_int_equal(store_write_begin(f->s, &t), 0);
	assert_int_equal(batch_apply(t, f->b), 0);
	assert_int_equal(audit_list(t, 0, NULL, 0, collect, &s), KF_ECORRUPT);
	store_abort(t);
}

static void test_seq_counts_up(void **state)
{
	struct audit_seq q = {0};

	(void)state;
	assert_int_equal(audit_seq_next(&q), 0);
	assert_int_equal(audit_seq_next(&q), 1);
	assert_int_equal(audit_seq_next(&q), 2);
}

#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_entries_list_in_time_order),
		T(test_one_millisecond_keeps_every_entry),
		T(test_since_skips_older_entries),
		T(test_cursor_continues_after_the_last_seen),
		T(test_cursor_at_the_end_lists_nothing),
		T(test_cursor_over_the_key_size_refused),
		cmocka_unit_test(test_key_is_time_seq_node),
		T(test_incomplete_entries_refused),
		cmocka_unit_test(test_text_must_be_clean_utf8),
		T(test_corrupt_value_ends_the_listing),
		cmocka_unit_test(test_seq_counts_up),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
