/*
 * Unit tests of the bulk load (storage/bulk.c, storage/extsort.c): files of
 * A records imported the bulk way leave exactly the database the
 * record-by-record way leaves (every table compared, sorted runs spilled
 * to disk with a tiny run size), and a file that breaks a rule is rejected
 * with the line, field and reason of the record-by-record way, nothing of
 * it applied. The sorter on its own: every pair comes back, in order,
 * across runs on disk.
 */
#include "lib/digest.h"
#include "lib/err.h"
#include "storage/extsort.h"
#include "storage/import.h"
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

#define NOW 1717171717
#define TINY_RUN ((size_t)1)   /* the sorter's smallest run: spills early */
#define CUST_FILE "SC_CUST_20261101020000_000001.dat"
#define USER_FILE "SC_USER_20261101020000_000001.dat"
#define USER_FILE2 "SC_USER_20261102020000_000002.dat"

/* Two stores: [0] imports the bulk way, [1] record by record. */
struct fixture {
	char root[64];
	char in[2][96], db[2][96];
	struct store *s[2];
	struct import_opts o[2];
	struct import_result last[2];
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	assert_int_equal(bossfile_tmpdir("bulk", f->root, sizeof(f->root)), 0);
	for (int i = 0; i < 2; i++) {
		char root[sizeof(f->root)];

		memcpy(root, f->root, sizeof(root));
		snprintf(f->in[i], sizeof(f->in[i]), "%s/in%d", root, i);
		snprintf(f->db[i], sizeof(f->db[i]), "%s/db%d", root, i);
		assert_int_equal(mkdir(f->in[i], 0750), 0);
		assert_int_equal(mkdir(f->db[i], 0750), 0);
		assert_int_equal(store_open(f->db[i], NULL, &f->s[i]), 0);
		f->o[i].now = NOW;
	}
	f->o[0].sort_bytes = TINY_RUN;
	f->o[1].no_bulk = true;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	store_free(f->s[0]);
	store_free(f->s[1]);
	bossfile_rmtree(f->root);
	free(f);
	return 0;
}

/* File contents being written: a memory stream. */
struct text {
	FILE *f;
	char *p;
	size_t len;
};

static void text_add(struct text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void text_add(struct text *t, const char *fmt, ...)
{
	va_list ap;

	if (!t->f)
		t->f = open_memstream(&t->p, &t->len);
	assert_non_null(t->f);
	va_start(ap, fmt);
	assert_true(vfprintf(t->f, fmt, ap) >= 0);
	va_end(ap);
}

static void cust_line(struct text *t, unsigned c)
{
	text_add(t, "A|C%06u|Customer %u|P|ID|5101%014u|Chengdu|13900000000|%u||20200101000000\n",
		 c, c, c, c % 5);
}

/* A user; the msisdn is scrambled so the msisdn index arrives out of
 * order, every 7th user is cancelled (no msisdn entry). */
static void user_line(struct text *t, unsigned u, unsigned cust, unsigned long long msisdn)
{
	text_add(t, "A|U%07u|%llu|C%06u|GoTone|P%04u|%u|20210101000000|3|%u|0\n", u, msisdn, cust,
		 u % 50, u % 7 == 0 ? 4 : 1, u * 3);
}

static unsigned long long msisdn_of(unsigned u)
{
	return 13800000000ull + (u * 7919u) % 100000u;
}

/* Write name with text into both inboxes; free the text. */
static void put_both(struct fixture *f, const char *name, struct text *t)
{
	assert_int_equal(fclose(t->f), 0);
	for (int i = 0; i < 2; i++)
		assert_int_equal(bossfile_write(f->in[i], name, t->p, t->len), 0);
	free(t->p);
	*t = (struct text){0};
}

static void keep_result(void *arg, const struct import_result *r)
{
	*(struct import_result *)arg = *r;
}

/* Import name into both stores; their results are kept in f->last. */
static void import_both(struct fixture *f, const char *name)
{
	for (int i = 0; i < 2; i++) {
		char path[200];
		const char *paths[1] = {path};

		snprintf(path, sizeof(path), "%s/%s", f->in[i], name);
		assert_int_equal(import_files(f->s[i], &f->o[i], paths, 1, keep_result, &f->last[i],
					      NULL),
				 0);
	}
}

struct table_digest {
	struct digest *d;
	unsigned long n;
};

static int digest_visit(void *arg, const struct store_val *k, const struct store_val *v)
{
	struct table_digest *td = arg;

	digest_update(td->d, &k->len, sizeof(k->len));
	digest_update(td->d, k->data, k->len);
	digest_update(td->d, &v->len, sizeof(v->len));
	digest_update(td->d, v->data, v->len);
	td->n++;
	return 0;
}

/* Every table of both stores holds the same key/value pairs. */
static void assert_same_stores(struct fixture *f)
{
	for (int tb = STORE_META; tb < STORE_TABLE_END; tb++) {
		char hex[2][DIGEST_SHA256_HEX + 1];
		unsigned long n[2];

		if (!store_table_name(tb))
			continue;
		for (int i = 0; i < 2; i++) {
			struct table_digest td = {digest_sha256_new(), 0};
			struct store_txn *t;

			assert_int_equal(store_read_begin(f->s[i], &t), 0);
			assert_int_equal(store_scan(t, (enum store_table)tb, NULL, 0, NULL, 0, false,
						    digest_visit, &td),
					 0);
			store_abort(t);
			digest_final_hex(td.d, hex[i]);
			digest_free(td.d);
			n[i] = td.n;
		}
		if (strcmp(hex[0], hex[1]) != 0)
			fail_msg("table %s differs: %lu vs %lu entries", store_table_name(tb), n[0],
				 n[1]);
	}
}

static uint64_t entries(struct store *s, enum store_table tb)
{
	struct store_stats st;

	assert_int_equal(store_stat(s, &st), 0);
	return st.entries[tb];
}

/* The customers C000001..C000<n>, applied both ways. */
static void load_custs(struct fixture *f, unsigned n)
{
	struct text t = {0};

	for (unsigned c = 1; c <= n; c++)
		cust_line(&t, c);
	put_both(f, CUST_FILE, &t);
	import_both(f, CUST_FILE);
	for (int i = 0; i < 2; i++)
		assert_int_equal(f->last[i].outcome, IMPORT_APPLIED);
	assert_true(f->last[0].bulk);
	assert_false(f->last[1].bulk);
}

/* Both ways rejected the file alike, and it left nothing behind. */
static void assert_same_rejection(struct fixture *f, uint64_t line, const char *field)
{
	for (int i = 0; i < 2; i++) {
		assert_int_equal(f->last[i].outcome, IMPORT_REJECTED);
		assert_false(f->last[i].bulk);
	}
	assert_int_equal(f->last[0].line, line);
	assert_int_equal(f->last[1].line, line);
	assert_string_equal(f->last[0].field, field);
	assert_string_equal(f->last[0].field, f->last[1].field);
	assert_string_equal(f->last[0].reason, f->last[1].reason);
	assert_same_stores(f);
}

/* The user file in t imported both ways: applied, the bulk way, with
 * users records in the user table. */
static void apply_users(struct fixture *f, struct text *t, uint64_t users)
{
	put_both(f, USER_FILE, t);
	import_both(f, USER_FILE);
	for (int i = 0; i < 2; i++)
		assert_int_equal(f->last[i].outcome, IMPORT_APPLIED);
	assert_true(f->last[0].bulk);
	assert_int_equal(entries(f->s[0], STORE_USER), users);
}

static void test_bulk_same_database_as_exact(void **state)
{
	enum { CUSTS = 3000, USERS = 5000 };
	struct fixture *f = *state;
	struct text t = {0};

	load_custs(f, CUSTS);
	for (unsigned u = 1; u <= USERS; u++)
		user_line(&t, u, (u * 37) % CUSTS + 1, msisdn_of(u));
	apply_users(f, &t, USERS);
	assert_int_equal(entries(f->s[0], STORE_USER_BY_MSISDN), USERS - USERS / 7);
	assert_int_equal(entries(f->s[0], STORE_CUST_USERS), USERS);
	assert_same_stores(f);

	/* A second file whose keys fall between the first file's: inserted,
	 * checked against the table, not appended. */
	for (unsigned u = 1; u <= USERS; u++)
		text_add(&t, "A|U%07u5|%llu|C%06u|GoTone|P0001|1|20210101000000|3|0|0\n", u,
			 msisdn_of(u) + 500000ull, (u * 13) % CUSTS + 1);
	put_both(f, USER_FILE2, &t);
	import_both(f, USER_FILE2);
	for (int i = 0; i < 2; i++)
		assert_int_equal(f->last[i].outcome, IMPORT_APPLIED);
	assert_true(f->last[0].bulk);
	assert_int_equal(entries(f->s[0], STORE_USER), 2 * USERS);
	assert_same_stores(f);
}

/* The users of the late disorder tests: 1..4500 rising, then 6000 down
 * to 4501. The rising part goes direct (past the put streams' probe of
 * 4,096 keys), the rest is sorted and merged after the pass against what
 * went direct. */
static unsigned user_late(unsigned i)
{
	return i <= 4500 ? i : 10501 - i;
}

/* Batches of a few ops: the pass hands dozens of them over to the
 * transaction's thread while it goes on, and a table written during the
 * pass gets the rest of its keys checked after it. */
static void test_bulk_small_batches_late_disorder(void **state)
{
	enum { CUSTS = 500, USERS = 6000 };
	struct fixture *f = *state;
	struct text t = {0};

	f->o[0].chunk_bytes = 2048;
	f->o[0].sort_bytes = 0; /* the probe's keys stay in memory: it can go direct */
	load_custs(f, CUSTS);
	for (unsigned i = 1; i <= USERS; i++)
		user_line(&t, user_late(i), user_late(i) % CUSTS + 1, msisdn_of(user_late(i)));
	apply_users(f, &t, USERS);
	assert_same_stores(f);
}

/* A key that went direct during the pass comes again in the sorted rest. */
static void test_bulk_duplicate_of_direct_key(void **state)
{
	struct fixture *f = *state;
	struct text t = {0};

	f->o[0].chunk_bytes = 2048;
	f->o[0].sort_bytes = 0; /* the probe's keys stay in memory: it can go direct */
	load_custs(f, 100);
	for (unsigned i = 1; i <= 6000; i++) {
		unsigned u = i == 5800 ? 1234 : user_late(i);

		user_line(&t, u, u % 100 + 1, msisdn_of(i));
	}
	put_both(f, USER_FILE, &t);
	import_both(f, USER_FILE);
	assert_same_rejection(f, 5800, "user_id");
	assert_int_equal(entries(f->s[0], STORE_USER), 0);
}

static void test_bulk_duplicate_msisdn_in_file(void **state)
{
	struct fixture *f = *state;
	struct text t = {0};

	load_custs(f, 100);
	for (unsigned u = 1; u <= 3000; u++)
		user_line(&t, u, u % 100 + 1, u == 2500 ? msisdn_of(12) : msisdn_of(u));
	put_both(f, USER_FILE, &t);
	import_both(f, USER_FILE);
	assert_same_rejection(f, 2500, "msisdn");
	assert_non_null(strstr(f->last[0].reason, "already belongs to user U0000012"));
	assert_int_equal(entries(f->s[0], STORE_USER), 0);
}

static void test_bulk_duplicate_user_in_file(void **state)
{
	struct fixture *f = *state;
	struct text t = {0};

	load_custs(f, 100);
	for (unsigned u = 1; u <= 3000; u++)
		user_line(&t, u == 2999 ? 7 : u, u % 100 + 1, msisdn_of(u));
	put_both(f, USER_FILE, &t);
	import_both(f, USER_FILE);
	assert_same_rejection(f, 2999, "user_id");
	assert_int_equal(entries(f->s[0], STORE_USER), 0);
}

static void test_bulk_missing_customer(void **state)
{
	struct fixture *f = *state;
	struct text t = {0};

	load_custs(f, 100);
	for (unsigned u = 1; u <= 3000; u++)
		user_line(&t, u, u == 1717 ? 555 : (u * 31) % 100 + 1, msisdn_of(u));
	put_both(f, USER_FILE, &t);
	import_both(f, USER_FILE);
	assert_same_rejection(f, 1717, "cust_id");
	assert_non_null(strstr(f->last[0].reason, "cust_id C000555 does not exist"));
	assert_int_equal(entries(f->s[0], STORE_USER), 0);
}

static void test_bulk_msisdn_already_in_database(void **state)
{
	struct fixture *f = *state;
	struct text t = {0};

	load_custs(f, 100);
	for (unsigned u = 1; u <= 2000; u++)
		user_line(&t, u, u % 100 + 1, msisdn_of(u));
	put_both(f, USER_FILE, &t);
	import_both(f, USER_FILE);
	assert_true(f->last[0].bulk);
	for (unsigned u = 1; u <= 2000; u++)
		user_line(&t, 10000 + u, u % 100 + 1, u == 1201 ? msisdn_of(8) : 14000000000ull + u);
	put_both(f, USER_FILE2, &t);
	import_both(f, USER_FILE2);
	assert_same_rejection(f, 1201, "msisdn");
	assert_non_null(strstr(f->last[0].reason, "already belongs to user U0000008"));
	assert_int_equal(entries(f->s[0], STORE_USER), 2000);
}

static void test_bulk_declines_m_records(void **state)
{
	struct fixture *f = *state;
	struct text t = {0};

	load_custs(f, 10);
	cust_line(&t, 11);
	text_add(&t, "M|C000003|Renamed|P|ID|51010000000000000003|Chengdu|13900000000|2||20200101000000\n");
	put_both(f, "SC_CUST_20261102020000_000002.dat", &t);
	import_both(f, "SC_CUST_20261102020000_000002.dat");
	for (int i = 0; i < 2; i++) {
		assert_int_equal(f->last[i].outcome, IMPORT_APPLIED);
		assert_false(f->last[i].bulk);
	}
	assert_same_stores(f);
}

/* ---- the sorter ---- */

static void test_extsort_spills_and_merges_in_order(void **state)
{
	enum { N = 40000 };
	struct fixture *f = *state;
	struct extsort *x = extsort_new(f->root, 0);
	struct store_val k, v;
	char key[32], prev[32] = "";
	unsigned long n = 0;
	int r;

	for (unsigned i = 0; i < N; i++) {
		unsigned id = (i * 40503u) % N;
		int len = snprintf(key, sizeof(key), "%08u", id);

		assert_int_equal(extsort_add(x, key, (size_t)len + 1, &id, sizeof(id)), 0);
	}
	assert_false(extsort_is_sorted(x));
	assert_int_equal(extsort_finish(x), 0);
	assert_true(extsort_runs(x) > 1);
	while ((r = extsort_next(x, &k, &v)) == 1) {
		unsigned id;

		assert_int_equal(v.len, sizeof(id));
		memcpy(&id, v.data, sizeof(id));
		snprintf(key, sizeof(key), "%08u", id);
		assert_string_equal(k.data, key);
		assert_true(strcmp(prev, key) < 0);
		memcpy(prev, key, sizeof(prev));
		n++;
	}
	assert_int_equal(r, 0);
	assert_int_equal(n, N);
	extsort_free(x);
}

static void test_extsort_keeps_sorted_input_in_memory(void **state)
{
	struct fixture *f = *state;
	struct extsort *x = extsort_new(f->root, (size_t)8 << 20);
	struct store_val k, v;
	char key[16];
	unsigned n = 0;

	for (unsigned i = 0; i < 1000; i++) {
		int len = snprintf(key, sizeof(key), "K%05u", i);

		assert_int_equal(extsort_add(x, key, (size_t)len, NULL, 0), 0);
	}
	assert_true(extsort_is_sorted(x));
	assert_int_equal(extsort_add(x, "A", 1, NULL, 0), 0);
	assert_false(extsort_is_sorted(x));
	assert_int_equal(extsort_finish(x), 0);
	assert_int_equal(extsort_runs(x), 0);
	assert_int_equal(extsort_next(x, &k, &v), 1);
	assert_memory_equal(k.data, "A", 1);
	while (extsort_next(x, &k, &v) == 1)
		n++;
	assert_int_equal(n, 1000);
	assert_int_equal(extsort_count(x), 1001);
	extsort_free(x);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_bulk_same_database_as_exact),
		T(test_bulk_small_batches_late_disorder),
		T(test_bulk_duplicate_of_direct_key),
		T(test_bulk_duplicate_msisdn_in_file),
		T(test_bulk_duplicate_user_in_file),
		T(test_bulk_missing_customer),
		T(test_bulk_msisdn_already_in_database),
		T(test_bulk_declines_m_records),
		T(test_extsort_spills_and_merges_in_order),
		T(test_extsort_keeps_sorted_input_in_memory),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
