/*
 * Unit tests of storage/overlay.c and batch_sort: reads through the view
 * see the noted ops, a scan applies what is pending first, a full overlay
 * flushes by itself, sorting keeps the order of the ops on one key, and
 * records checked in chunks through the overlay leave exactly the store
 * that checking and applying them one by one leaves.
 */
#include "lib/digest.h"
#include "lib/err.h"
#include "storage/batch.h"
#include "storage/bossrec.h"
#include "storage/custdb.h"
#include "storage/overlay.h"
#include "storage/store.h"
#include "tests/unit/support/bossfile.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>

struct fixture {
	char dir[64];
	char db[2][96];
	struct store *s[2];
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	assert_int_equal(bossfile_tmpdir("overlay", f->dir, sizeof(f->dir)), 0);
	for (int i = 0; i < 2; i++) {
		char dir[sizeof(f->dir)];

		memcpy(dir, f->dir, sizeof(dir));
		snprintf(f->db[i], sizeof(f->db[i]), "%s/db%d", dir, i);
		assert_int_equal(mkdir(f->db[i], 0750), 0);
		assert_int_equal(store_open(f->db[i], NULL, &f->s[i]), 0);
	}
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	store_free(f->s[0]);
	store_free(f->s[1]);
	bossfile_rmtree(f->dir);
	free(f);
	return 0;
}

static void put(struct batch *b, const char *key, const char *val)
{
	assert_int_equal(batch_put(b, STORE_META, key, strlen(key), val, strlen(val)), 0);
}

static void del(struct batch *b, const char *key)
{
	assert_int_equal(batch_del(b, STORE_META, key, strlen(key)), 0);
}

/* view_is - the view's answer for key is want (NULL: not found). */
static void view_is(const struct store_view *v, const char *key, const char *want)
{
	struct store_val val;
	int r = v->get(v->src, STORE_META, key, strlen(key), &val);

	if (!want) {
		assert_int_equal(r, KF_ENOTFOUND);
		return;
	}
	assert_int_equal(r, 0);
	assert_int_equal(val.len, strlen(want));
	assert_memory_equal(val.data, want, val.len);
}

static int body_apply(struct store_txn *t, void *arg)
{
	return batch_apply(t, arg);
}

/* One transaction in which the overlay tests run their steps. */
struct ov_job {
	void (*steps)(struct store_txn *t, struct overlay *ov, struct batch *b);
	size_t max_keys;
};

static int body_overlay(struct store_txn *t, void *arg)
{
	struct ov_job *j = arg;
	struct overlay *ov = overlay_new(j->max_keys);
	struct batch *b = batch_new(0);

	overlay_begin(ov, t, b);
	j->steps(t, ov, b);
	overlay_free(ov);
	batch_free(b);
	return 0;
}

static void run_overlay(struct store *s, size_t max_keys,
			void (*steps)(struct store_txn *, struct overlay *, struct batch *))
{
	struct ov_job j = {steps, max_keys};

	assert_int_equal(store_write(s, body_overlay, &j), 0);
}

static void seed_meta(struct store *s)
{
	struct batch *b = batch_new(0);

	put(b, "a", "stored-a");
	put(b, "b", "stored-b");
	assert_int_equal(store_write(s, body_apply, b), 0);
	batch_free(b);
}

static void steps_noted_ops_visible(struct store_txn *t, struct overlay *ov, struct batch *b)
{
	struct store_view v = overlay_view(ov);

	(void)t;
	assert_int_equal(overlay_want(ov, STORE_META, "a", 1), 0);
	assert_int_equal(overlay_want(ov, STORE_META, "c", 1), 0);
	assert_int_equal(overlay_fetch(ov), 0);
	view_is(&v, "a", "stored-a");
	view_is(&v, "c", NULL);
	del(b, "a");
	put(b, "c", "new-c");
	put(b, "b", "new-b");
	view_is(&v, "a", "stored-a"); /* not noted yet */
	assert_int_equal(overlay_note(ov), 0);
	view_is(&v, "a", NULL);
	view_is(&v, "b", "new-b");
	view_is(&v, "c", "new-c");
	put(b, "a", "again-a");
	assert_int_equal(overlay_note(ov), 0);
	view_is(&v, "a", "again-a");
}

static void test_get_sees_noted_ops(void **state)
{
	struct fixture *f = *state;

	seed_meta(f->s[0]);
	run_overlay(f->s[0], 64, steps_noted_ops_visible);
}

static int count_key(void *arg, const struct store_val *k, const struct store_val *v)
{
	(void)k;
	(void)v;
	++*(int *)arg;
	return 0;
}

static void steps_scan_flushes(struct store_txn *t, struct overlay *ov, struct batch *b)
{
	struct store_view v = overlay_view(ov);
	struct store_val val;
	int n = 0;

	put(b, "x1", "1");
	put(b, "x2", "2");
	assert_int_equal(overlay_note(ov), 0);
	assert_int_equal(store_get(t, STORE_META, "x1", 2, &val), KF_ENOTFOUND);
	assert_int_equal(v.scan(v.src, STORE_META, "x", 1, NULL, 0, false, count_key, &n), 0);
	assert_int_equal(n, 2);
	assert_int_equal(batch_count(b), 0);
	assert_int_equal(store_get(t, STORE_META, "x1", 2, &val), 0);
}

static void test_scan_applies_pending_ops_first(void **state)
{
	struct fixture *f = *state;

	run_overlay(f->s[0], 64, steps_scan_flushes);
}

static void steps_full_flushes(struct store_txn *t, struct overlay *ov, struct batch *b)
{
	struct store_view v = overlay_view(ov);
	char key[16], val[16];

	(void)t;
	for (int i = 0; i < 40; i++) {
		snprintf(key, sizeof(key), "k%02d", i);
		snprintf(val, sizeof(val), "v%02d", i);
		put(b, key, val);
		assert_int_equal(overlay_note(ov), 0);
		assert_true(batch_count(b) <= 4);
	}
	for (int i = 0; i < 40; i++) {
		snprintf(key, sizeof(key), "k%02d", i);
		snprintf(val, sizeof(val), "v%02d", i);
		view_is(&v, key, val);
	}
}

static void test_full_overlay_flushes_and_stays_right(void **state)
{
	struct fixture *f = *state;

	run_overlay(f->s[0], 4, steps_full_flushes);
}

static void test_sort_keeps_order_on_one_key(void **state)
{
	struct fixture *f = *state;
	struct batch *b = batch_new(0);
	struct store_txn *t;
	struct store_val v;

	put(b, "z", "1");
	put(b, "k", "first");
	del(b, "z");
	put(b, "a", "x");
	put(b, "k", "last");
	batch_sort(b);
	assert_int_equal(batch_count(b), 5);
	assert_memory_equal(batch_op(b, 0).key, "a", 1);
	assert_memory_equal(batch_op(b, 2).val, "last", 4);
	assert_int_equal(batch_op(b, 4).kind, BATCH_DEL);
	assert_int_equal(store_write(f->s[0], body_apply, b), 0);
	assert_int_equal(store_read_begin(f->s[0], &t), 0);
	assert_int_equal(store_get(t, STORE_META, "k", 1, &v), 0);
	assert_memory_equal(v.data, "last", 4);
	assert_int_equal(store_get(t, STORE_META, "z", 1, &v), KF_ENOTFOUND);
	store_abort(t);
	batch_free(b);
}

/* ---- chunks through the overlay = records one by one ---- */

/* Records of one kind, applied either one by one (custdb_record and
 * batch_apply_from) or in chunks of `chunk` through an overlay. */
struct recs_job {
	enum boss_kind kind;
	const char *text;
	size_t chunk;                /* 0: one by one */
	struct custdb_reject rj;
	int line;                    /* refused line, 1-based */
};

static int want(void *arg, enum store_table table, const void *key, size_t klen)
{
	return overlay_want(arg, table, key, klen);
}

/* parse_line - the nth line (0-based) of text into rec; false past the end. */
static bool parse_line(const char *text, int n, enum boss_kind kind, struct bossrec *rec)
{
	const char *p = text;
	size_t len;

	for (; n > 0 && p; n--)
		p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL;
	if (!p || !*p)
		return false;
	len = strchr(p, '\n') ? (size_t)(strchr(p, '\n') - p) : strlen(p);
	assert_int_equal(bossrec_parse(kind, p, len, rec, NULL), 0);
	return true;
}

static int body_recs(struct store_txn *t, void *arg)
{
	struct recs_job *j = arg;
	struct bossrec *rec = malloc(sizeof(*rec));
	struct batch *b = batch_new(0);
	struct overlay *ov = overlay_new(64);
	struct store_view v = overlay_view(ov);
	int r = 0, n = 0;

	assert_non_null(rec);
	overlay_begin(ov, t, b);
	while (r == 0 && parse_line(j->text, n, j->kind, rec)) {
		if (j->chunk == 0) {
			size_t from = batch_count(b);

			r = custdb_record(t, rec, b, &j->rj);
			if (r == 0)
				r = batch_apply_from(t, b, from);
			n++;
			continue;
		}
		for (size_t i = 0; i < j->chunk && parse_line(j->text, n + (int)i, j->kind, rec);
		     i++)
			assert_int_equal(custdb_record_reads(rec, want, ov), 0);
		assert_int_equal(overlay_fetch(ov), 0);
		for (size_t i = 0; i < j->chunk && r == 0 && parse_line(j->text, n, j->kind, rec);
		     i++, n++) {
			r = custdb_record_view(&v, rec, b, &j->rj);
			if (r == 0)
				r = overlay_note(ov);
		}
		if (r == 0)
			r = overlay_flush(ov);
	}
	j->line = n;
	overlay_free(ov);
	batch_free(b);
	free(rec);
	return r;
}

static int apply_recs(struct store *s, enum boss_kind kind, const char *text, size_t chunk,
		      struct recs_job *out)
{
	struct recs_job j = {kind, text, chunk, {0, ""}, 0};
	int r = store_write(s, body_recs, &j);

	if (out)
		*out = j;
	return r;
}

static int digest_kv(void *arg, const struct store_val *k, const struct store_val *v)
{
	digest_update(arg, &k->len, sizeof(k->len));
	digest_update(arg, k->data, k->len);
	digest_update(arg, &v->len, sizeof(v->len));
	digest_update(arg, v->data, v->len);
	return 0;
}

static void store_digest(struct store *s, char out[DIGEST_SHA256_HEX + 1])
{
	struct digest *d = digest_sha256_new();
	struct store_txn *t;

	assert_int_equal(store_read_begin(s, &t), 0);
	for (int id = STORE_CUST; id <= STORE_CDR_BY_TIME; id++)
		assert_int_equal(store_scan(t, (enum store_table)id, NULL, 0, NULL, 0, false,
					    digest_kv, d), 0);
	store_abort(t);
	digest_final_hex(d, out);
	digest_free(d);
}

static const char custs[] =
	"A|C1|Ann|P|ID|110|addr|13800000000|0||20200101000000\n"
	"A|C2|Bob|P|ID|111|addr|13800000001|1||20200101000000\n"
	"A|C3|Cy|E|ID|112|addr|13800000002|2||20200101000000\n";

/* Records that depend on earlier records of the same chunk: a number
 * moved, the freed number taken, a user cancelled and its number reused,
 * a user added and deleted, a customer emptied and deleted. */
static const char users[] =
	"A|U1|13900000001|C1|B|P1|1|20200101000000|0|0|0\n"
	"A|U2|13900000002|C1|B|P1|1|20200101000000|0|0|0\n"
	"M|U1|13900000009|C2|B|P1|1|20200101000000|0|0|0\n"
	"A|U3|13900000001|C3|B|P1|1|20200101000000|0|0|0\n"
	"M|U2|13900000002|C1|B|P1|4|20200101000000|0|0|0\n"
	"A|U4|13900000002|C2|B|P1|1|20200101000000|0|0|0\n"
	"A|U5|13900000005|C3|B|P1|1|20200101000000|0|0|0\n"
	"D|U5\n"
	"D|U2\n"
	"M|U4|13900000004|C2|B|P1|2|20200101000000|0|0|0\n";

static void test_chunks_leave_the_same_store(void **state)
{
	struct fixture *f = *state;
	static const size_t chunks[] = {0, 3, 100};
	char want_hex[DIGEST_SHA256_HEX + 1], got[DIGEST_SHA256_HEX + 1];

	for (size_t c = 0; c < sizeof(chunks) / sizeof(chunks[0]); c++) {
		struct store *s = f->s[c ? 1 : 0];

		if (c > 1) {
			store_free(f->s[1]);
			bossfile_rmtree(f->db[1]);
			assert_int_equal(mkdir(f->db[1], 0750), 0);
			assert_int_equal(store_open(f->db[1], NULL, &f->s[1]), 0);
			s = f->s[1];
		}
		assert_int_equal(apply_recs(s, BOSS_CUST, custs, chunks[c], NULL), 0);
		assert_int_equal(apply_recs(s, BOSS_USER, users, chunks[c], NULL), 0);
		assert_int_equal(apply_recs(s, BOSS_CUST, "D|C1\n", chunks[c], NULL), 0);
		store_digest(s, c ? got : want_hex);
		if (c)
			assert_string_equal(got, want_hex);
	}
}

static void test_chunk_refuses_what_one_by_one_refuses(void **state)
{
	struct fixture *f = *state;
	static const char taken[] = "A|U1|13900000001|C1|B|P1|1|20200101000000|0|0|0\n"
				    "A|U2|13900000002|C1|B|P1|1|20200101000000|0|0|0\n"
				    "M|U2|13900000001|C1|B|P1|1|20200101000000|0|0|0\n"
				    "A|U9|13900000003|C9|B|P1|1|20200101000000|0|0|0\n";
	struct recs_job one, chunk;

	assert_int_equal(apply_recs(f->s[0], BOSS_CUST, custs, 0, NULL), 0);
	assert_int_equal(apply_recs(f->s[1], BOSS_CUST, custs, 100, NULL), 0);
	assert_int_equal(apply_recs(f->s[0], BOSS_USER, taken, 0, &one), KF_EEXISTS);
	assert_int_equal(apply_recs(f->s[1], BOSS_USER, taken, 100, &chunk), KF_EEXISTS);
	assert_string_equal(chunk.rj.reason, one.rj.reason);
	assert_string_equal(chunk.rj.reason, "USER M: msisdn 13900000001 already belongs to user U1");
	assert_int_equal(chunk.rj.field, one.rj.field);
	assert_int_equal(chunk.line, one.line);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_get_sees_noted_ops, setup, teardown),
		cmocka_unit_test_setup_teardown(test_scan_applies_pending_ops_first, setup, teardown),
		cmocka_unit_test_setup_teardown(test_full_overlay_flushes_and_stays_right, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_sort_keeps_order_on_one_key, setup, teardown),
		cmocka_unit_test_setup_teardown(test_chunks_leave_the_same_store, setup, teardown),
		cmocka_unit_test_setup_teardown(test_chunk_refuses_what_one_by_one_refuses, setup,
						teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
