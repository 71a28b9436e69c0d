/*
 * Unit tests of storage/import.c: the outcome of each BOSS file (applied,
 * skipped, held, rejected), SEQ order and operator skips, check-file
 * mismatches, all-or-nothing application (also across map growth and
 * batch flushes), and where processed files end up. Each test works on a
 * fresh store and fresh folders under one temporary directory.
 */
#include "lib/digest.h"
#include "lib/err.h"
#include "storage/custdb.h"
#include "storage/import.h"
#include "storage/keys.h"
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

#define KIB ((size_t)1024)
#define MAX_RESULTS 16
#define NOW 1717171717

struct fixture {
	char root[64];
	char in[96], rejected[96], archive[96], db[96];
	struct store *s;
	struct import_opts o;
	struct import_summary sum;
	size_t nres;
	struct import_result res[MAX_RESULTS];
};

static void path_in(const char *root, const char *leaf, char *out, size_t cap)
{
	int n = snprintf(out, cap, "%s/%s", root, leaf);

	assert_true(n > 0 && (size_t)n < cap);
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	assert_int_equal(bossfile_tmpdir("import", f->root, sizeof(f->root)), 0);
	path_in(f->root, "in", f->in, sizeof(f->in));
	path_in(f->root, "rejected", f->rejected, sizeof(f->rejected));
	path_in(f->root, "archive", f->archive, sizeof(f->archive));
	path_in(f->root, "db", f->db, sizeof(f->db));
	assert_int_equal(mkdir(f->in, 0750), 0);
	assert_int_equal(mkdir(f->db, 0750), 0);
	assert_int_equal(store_open(f->db, NULL, &f->s), 0);
	f->o.rejected_dir = f->rejected;
	f->o.archive_dir = f->archive;
	f->o.now = NOW;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	store_free(f->s);
	bossfile_rmtree(f->root);
	free(f);
	return 0;
}

/* ---- building files ---- */

/* A growing text buffer for file contents. */
struct text {
	char *p;
	size_t len, cap;
};

static void text_addf(struct text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void text_addf(struct text *t, const char *fmt, ...)
{
	va_list ap;
	int n;

	for (;;) {
		va_start(ap, fmt);
		n = vsnprintf(t->p ? t->p + t->len : NULL, t->p ? t->cap - t->len : 0, fmt, ap);
		va_end(ap);
		assert_true(n >= 0);
		if (t->p && t->len + (size_t)n < t->cap)
			break;
		t->cap = (t->cap + (size_t)n + 1) * 2;
		t->p = realloc(t->p, t->cap);
		assert_non_null(t->p);
	}
	t->len += (size_t)n;
}

/* A customer record; name varies so that M records are visible. */
static void cust_rec(struct text *t, char op, const char *id, const char *name)
{
	text_addf(t, "%c|%s|%s|P|ID|5101%s|Chengdu|13800000000|1||20200101120000\n", op, id, name,
		  id);
}

/* dir/name with a matching .chk. */
static void file_write(const char *dir, const char *name, const char *data)
{
	assert_int_equal(bossfile_write(dir, name, data, strlen(data)), 0);
}

static const char *const good_text =
	"A|C1|Zhang San|P|ID|510100199001011234|Chengdu|13800000000|2||20200101120000\n"
	"A|C2|Li Si|P|ID|510100199001011235|Chengdu|13800000001|0||20200101120000\n";

#define CUST1 "SC_CUST_20240101000000_000001.dat"
#define CUST1_CHK "SC_CUST_20240101000000_000001.chk"
#define CUST2 "SC_CUST_20240102000000_000002.dat"
#define CUST3 "SC_CUST_20240103000000_000003.dat"

/* ---- running the importer ---- */

static void on_result(void *arg, const struct import_result *r)
{
	struct fixture *f = arg;

	assert_true(f->nres < MAX_RESULTS);
	f->res[f->nres++] = *r;
}

/* Import the named files of the in folder, in the order given. */
static int import_names(struct fixture *f, const char *const *names, size_t n)
{
	char paths[MAX_RESULTS][160];
	const char *p[MAX_RESULTS];

	assert_true(n <= MAX_RESULTS);
	for (size_t i = 0; i < n; i++) {
		path_in(f->in, names[i], paths[i], sizeof(paths[i]));
		p[i] = paths[i];
	}
	f->nres = 0;
	return import_files(f->s, &f->o, p, n, on_result, f, &f->sum);
}

/* Import one file and return its result. */
static const struct import_result *import_one(struct fixture *f, const char *name)
{
	assert_int_equal(import_names(f, &name, 1), 0);
	assert_int_equal(f->nres, 1);
	assert_string_equal(f->res[0].name, name);
	return &f->res[0];
}

static void expect_outcome(const struct import_result *r, enum import_outcome o)
{
	if (r->outcome != o)
		print_error("%s: %s (%s)\n", r->name, import_outcome_name(r->outcome), r->reason);
	assert_int_equal(r->outcome, o);
}

/* ---- reading the store ---- */

static uint64_t entries(struct store *s, enum store_table table)
{
	struct store_stats st;

	assert_int_equal(store_stat(s, &st), 0);
	return st.entries[table];
}

static bool has_id(struct store *s, enum store_table table, const char *id)
{
	struct store_txn *t;
	struct store_val v;
	struct key k;
	int r;

	key_init(&k);
	assert_int_equal(key_add_str(&k, id), 0);
	assert_int_equal(store_read_begin(s, &t), 0);
	r = store_get(t, table, k.b, k.len, &v);
	store_abort(t);
	assert_true(r == 0 || r == KF_ENOTFOUND);
	return r == 0;
}

/* The name stored for customer id; out gets "" when there is none. */
static void cust_name(struct store *s, const char *id, char *out, size_t cap)
{
	struct store_txn *t;
	struct store_val v;
	struct key k;
	Kefu__Customer *c;

	out[0] = '\0';
	key_init(&k);
	assert_int_equal(key_add_str(&k, id), 0);
	assert_int_equal(store_read_begin(s, &t), 0);
	if (store_get(t, STORE_CUST, k.b, k.len, &v) == 0) {
		c = kefu__customer__unpack(NULL, v.len, v.data);
		assert_non_null(c);
		snprintf(out, cap, "%s", c->name ? c->name : "");
		kefu__customer__free_unpacked(c, NULL);
	}
	store_abort(t);
}

static uint32_t next_seq(struct store *s, enum boss_kind kind)
{
	uint32_t seq = 0;

	assert_int_equal(import_next_seq(s, "SC", kind, &seq), 0);
	return seq;
}

/* Nothing of any data file reached the store: no records, no indexes, no
 * registry entry, no SEQ moved. */
static void expect_store_empty(struct store *s)
{
	for (int t = STORE_CUST; t < STORE_TABLE_END; t++) {
		if (entries(s, (enum store_table)t) != 0)
			print_error("table %s not empty\n", store_table_name(t));
		assert_int_equal(entries(s, (enum store_table)t), 0);
	}
}

/* The data file, its .chk and a report are in the rejected folder, and
 * nothing is left behind in the in folder. */
static void expect_moved_to_rejected(struct fixture *f, const char *name, const char *chk)
{
	char report[300];

	snprintf(report, sizeof(report), "%s.report", name);
	assert_false(bossfile_exists(f->in, name));
	assert_false(bossfile_exists(f->in, chk));
	assert_true(bossfile_exists(f->rejected, name));
	assert_true(bossfile_exists(f->rejected, chk));
	assert_true(bossfile_exists(f->rejected, report));
}

/* ---- outcomes ---- */

static void test_file_applied_and_archived(void **state)
{
	struct fixture *f = *state;
	const struct import_result *r;
	char name[64];

	file_write(f->in, CUST1, good_text);
	r = import_one(f, CUST1);
	expect_outcome(r, IMPORT_APPLIED);
	assert_int_equal(r->records, 2);
	assert_int_equal(f->sum.files[IMPORT_APPLIED], 1);
	assert_int_equal(f->sum.records_applied, 2);
	cust_name(f->s, "C1", name, sizeof(name));
	assert_string_equal(name, "Zhang San");
	assert_true(has_id(f->s, STORE_CUST, "C2"));
	assert_true(has_id(f->s, STORE_BOSS_FILE, CUST1));
	assert_int_equal(next_seq(f->s, BOSS_CUST), 2);
	assert_int_equal(next_seq(f->s, BOSS_USER), 1);
	assert_true(bossfile_exists(f->archive, CUST1));
	assert_true(bossfile_exists(f->archive, CUST1_CHK));
	assert_false(bossfile_exists(f->in, CUST1));
	assert_false(bossfile_exists(f->in, CUST1_CHK));
}

static void test_same_file_again_skipped(void **state)
{
	struct fixture *f = *state;
	const struct import_result *r;

	file_write(f->in, CUST1, good_text);
	expect_outcome(import_one(f, CUST1), IMPORT_APPLIED);
	file_write(f->in, CUST1, good_text);
	r = import_one(f, CUST1);
	expect_outcome(r, IMPORT_SKIPPED);
	assert_string_equal(r->reason, "already applied");
	assert_int_equal(f->sum.records_applied, 0);
	assert_int_equal(next_seq(f->s, BOSS_CUST), 2);
	assert_false(bossfile_exists(f->in, CUST1));
	assert_true(bossfile_exists(f->archive, CUST1));
	assert_false(bossfile_exists(f->rejected, CUST1));
}

static void test_same_name_other_hash_rejected(void **state)
{
	struct fixture *f = *state;
	struct text t = {0};
	const struct import_result *r;
	char name[64];

	file_write(f->in, CUST1, good_text);
	expect_outcome(import_one(f, CUST1), IMPORT_APPLIED);
	cust_rec(&t, 'M', "C1", "Changed");
	cust_rec(&t, 'A', "C3", "Third");
	file_write(f->in, CUST1, t.p);
	free(t.p);
	r = import_one(f, CUST1);
	expect_outcome(r, IMPORT_REJECTED);
	assert_non_null(strstr(r->reason, "already applied with another sha256"));
	cust_name(f->s, "C1", name, sizeof(name));
	assert_string_equal(name, "Zhang San");
	assert_false(has_id(f->s, STORE_CUST, "C3"));
	assert_int_equal(next_seq(f->s, BOSS_CUST), 2);
	expect_moved_to_rejected(f, CUST1, CUST1_CHK);
}

static void test_dat_without_chk_held(void **state)
{
	struct fixture *f = *state;
	const struct import_result *r;

	assert_int_equal(bossfile_put(f->in, CUST1, good_text, strlen(good_text)), 0);
	r = import_one(f, CUST1);
	expect_outcome(r, IMPORT_HELD);
	assert_non_null(strstr(r->reason, "no .chk"));
	assert_int_equal(f->sum.files[IMPORT_HELD], 1);
	expect_store_empty(f->s);
	assert_true(bossfile_exists(f->in, CUST1));
	assert_false(bossfile_exists(f->archive, CUST1));
	assert_false(bossfile_exists(f->rejected, CUST1));
	/* once the .chk lands the same file goes through */
	file_write(f->in, CUST1, good_text);
	expect_outcome(import_one(f, CUST1), IMPORT_APPLIED);
}

/* A scan may find the .chk created but not yet written: held, not rejected. */
static void test_empty_chk_held(void **state)
{
	struct fixture *f = *state;
	const struct import_result *r;

	assert_int_equal(bossfile_put(f->in, CUST1, good_text, strlen(good_text)), 0);
	assert_int_equal(bossfile_write_chk(f->in, CUST1, ""), 0);
	r = import_one(f, CUST1);
	expect_outcome(r, IMPORT_HELD);
	assert_non_null(strstr(r->reason, "empty .chk"));
	expect_store_empty(f->s);
	assert_true(bossfile_exists(f->in, CUST1));
	assert_false(bossfile_exists(f->rejected, CUST1));
	file_write(f->in, CUST1, good_text);
	expect_outcome(import_one(f, CUST1), IMPORT_APPLIED);
}

static void test_seq_gap_held_until_skipped(void **state)
{
	static const char *const both[] = {CUST1, CUST3};
	struct fixture *f = *state;
	struct text t = {0};
	char why[200], name[64];

	file_write(f->in, CUST1, good_text);
	cust_rec(&t, 'M', "C1", "From three");
	file_write(f->in, CUST3, t.p);
	free(t.p);
	assert_int_equal(import_names(f, both, 2), 0);
	assert_int_equal(f->nres, 2);
	expect_outcome(&f->res[0], IMPORT_APPLIED);
	expect_outcome(&f->res[1], IMPORT_HELD);
	assert_string_equal(f->res[1].reason, "waiting for SEQ 000002 of SC CUST");
	assert_true(bossfile_exists(f->in, CUST3));
	cust_name(f->s, "C1", name, sizeof(name));
	assert_string_equal(name, "Zhang San");

	/* a skip must name the expected SEQ */
	assert_int_equal(import_skip(f->s, NULL, "SC", BOSS_CUST, 3, "lost", why, sizeof(why)),
			 KF_ESTATE);
	assert_string_equal(why, "SEQ 000003 of SC CUST is not the next expected (000002)");
	assert_int_equal(import_skip(f->s, NULL, "sc", BOSS_CUST, 2, "lost", why, sizeof(why)),
			 KF_EPARSE);
	assert_int_equal(next_seq(f->s, BOSS_CUST), 2);
	assert_int_equal(import_skip(f->s, NULL, "SC", BOSS_CUST, 2, "lost at BOSS", why, sizeof(why)),
			 0);
	assert_int_equal(next_seq(f->s, BOSS_CUST), 3);

	expect_outcome(import_one(f, CUST3), IMPORT_APPLIED);
	cust_name(f->s, "C1", name, sizeof(name));
	assert_string_equal(name, "From three");
	assert_int_equal(next_seq(f->s, BOSS_CUST), 4);
}

static void test_seq_used_by_other_name_rejected(void **state)
{
	static const char other[] = "SC_CUST_20240105000000_000001.dat";
	struct fixture *f = *state;
	struct text t = {0};
	const struct import_result *r;

	file_write(f->in, CUST1, good_text);
	expect_outcome(import_one(f, CUST1), IMPORT_APPLIED);
	cust_rec(&t, 'A', "C7", "Seven");
	file_write(f->in, other, t.p);
	free(t.p);
	r = import_one(f, other);
	expect_outcome(r, IMPORT_REJECTED);
	assert_string_equal(r->reason, "SEQ 000001 of SC CUST already used (last 000001)");
	assert_false(has_id(f->s, STORE_CUST, "C7"));
	assert_false(has_id(f->s, STORE_BOSS_FILE, other));
	assert_int_equal(next_seq(f->s, BOSS_CUST), 2);
	expect_moved_to_rejected(f, other, "SC_CUST_20240105000000_000001.chk");
}

/* ---- check files ---- */

/* Write good_text as CUST1 with the .chk text chk, import it and expect a
 * rejection whose reason contains want, with nothing applied. */
static void expect_chk_rejected(struct fixture *f, const char *chk, const char *want)
{
	const struct import_result *r;

	assert_int_equal(bossfile_put(f->in, CUST1, good_text, strlen(good_text)), 0);
	assert_int_equal(bossfile_write_chk(f->in, CUST1, chk), 0);
	r = import_one(f, CUST1);
	expect_outcome(r, IMPORT_REJECTED);
	if (!strstr(r->reason, want))
		print_error("reason: %s\n", r->reason);
	assert_non_null(strstr(r->reason, want));
	assert_false(has_id(f->s, STORE_CUST, "C1"));
	expect_store_empty(f->s);
	expect_moved_to_rejected(f, CUST1, CUST1_CHK);
	assert_false(bossfile_exists(f->archive, CUST1));
}

/* The correct .chk of good_text with one part replaced. */
static void chk_with(char *out, size_t cap, const char *name, long records, long bytes,
		     const char *sha)
{
	char hex[DIGEST_SHA256_HEX + 1];

	digest_sha256_hex(good_text, strlen(good_text), hex);
	snprintf(out, cap, "%s|%ld|%ld|%s\n", name ? name : CUST1, records >= 0 ? records : 2,
		 bytes >= 0 ? bytes : (long)strlen(good_text), sha ? sha : hex);
}

static void test_chk_record_count_mismatch_rejected(void **state)
{
	char chk[400];

	chk_with(chk, sizeof(chk), NULL, 3, -1, NULL);
	expect_chk_rejected(*state, chk, "check file says 3 records, file has 2");
}

static void test_chk_byte_count_mismatch_rejected(void **state)
{
	char chk[400], want[100];

	chk_with(chk, sizeof(chk), NULL, -1, (long)strlen(good_text) - 1, NULL);
	snprintf(want, sizeof(want), "check file says %zu bytes, file has %zu",
		 strlen(good_text) - 1, strlen(good_text));
	expect_chk_rejected(*state, chk, want);
}

static void test_chk_sha256_mismatch_rejected(void **state)
{
	char chk[400], sha[DIGEST_SHA256_HEX + 1];

	digest_sha256_hex("something else", 14, sha);
	chk_with(chk, sizeof(chk), NULL, -1, -1, sha);
	expect_chk_rejected(*state, chk, "sha256 differs from the check file");
}

static void test_chk_malformed_rejected(void **state)
{
	expect_chk_rejected(*state, CUST1 "|2|ten|abc\n", "check file: ");
}

static void test_chk_naming_another_file_rejected(void **state)
{
	char chk[400];

	chk_with(chk, sizeof(chk), CUST2, -1, -1, NULL);
	expect_chk_rejected(*state, chk, "check file names another file: " CUST2);
}

/* ---- whole or nothing ---- */

static void test_bad_record_rejects_whole_file(void **state)
{
	struct fixture *f = *state;
	const struct import_result *r;
	char report[1024], chkline[400];
	struct text t = {0};

	cust_rec(&t, 'A', "C1", "One");
	cust_rec(&t, 'A', "C2", "Two");
	cust_rec(&t, 'M', "C1", "One again");
	cust_rec(&t, 'M', "C9", "Nobody");
	cust_rec(&t, 'A', "C3", "Three");
	file_write(f->in, CUST1, t.p);
	r = import_one(f, CUST1);
	expect_outcome(r, IMPORT_REJECTED);
	assert_int_equal(r->line, 4);
	assert_string_equal(r->field, "cust_id");
	assert_string_equal(r->reason, "line 4: CUST M: cust_id C9 does not exist");
	assert_int_equal(f->sum.files[IMPORT_REJECTED], 1);
	assert_int_equal(f->sum.records_applied, 0);
	assert_false(has_id(f->s, STORE_CUST, "C1"));
	assert_false(has_id(f->s, STORE_CUST, "C2"));
	expect_store_empty(f->s);
	assert_int_equal(next_seq(f->s, BOSS_CUST), 1);
	expect_moved_to_rejected(f, CUST1, CUST1_CHK);

	assert_int_equal(bossfile_read(f->rejected, CUST1 ".report", report, sizeof(report)), 0);
	assert_non_null(strstr(report, CUST1));
	assert_non_null(strstr(report, "line: 4\n"));
	assert_non_null(strstr(report, "field: cust_id\n"));
	assert_non_null(strstr(report, "reason: line 4: CUST M: cust_id C9 does not exist\n"));
	/* the .chk moved unchanged */
	assert_int_equal(bossfile_chk_line(CUST1, t.p, t.len, chkline, sizeof(chkline)), 0);
	assert_int_equal(bossfile_read(f->rejected, CUST1_CHK, report, sizeof(report)), 0);
	assert_string_equal(report, chkline);
	free(t.p);
}

static void test_unparsable_record_rejects_whole_file(void **state)
{
	struct fixture *f = *state;
	const struct import_result *r;
	char report[1024];
	struct text t = {0};

	cust_rec(&t, 'A', "C1", "One");
	text_addf(&t, "A|C2|Two|P|ID|5101C2|Chengdu|13800000000|9||20200101120000\n");
	file_write(f->in, CUST1, t.p);
	free(t.p);
	r = import_one(f, CUST1);
	expect_outcome(r, IMPORT_REJECTED);
	assert_int_equal(r->line, 2);
	assert_string_equal(r->field, "vip_level");
	assert_non_null(strstr(r->reason, "line 2: CUST A: "));
	assert_false(has_id(f->s, STORE_CUST, "C1"));
	expect_store_empty(f->s);
	assert_int_equal(bossfile_read(f->rejected, CUST1 ".report", report, sizeof(report)), 0);
	assert_non_null(strstr(report, "line: 2\n"));
	assert_non_null(strstr(report, "field: vip_level\n"));
}

/* A reference broken by a later file of another kind rejects that file
 * only; the USER file's earlier good users are not kept. */
/*
 * A scan between two .chk files of one delivery: the USER file is complete,
 * the CUST file it references is not yet. The USER file waits (it is not
 * rejected for customers that are on their way), and goes through with it.
 */
static void test_user_waits_for_cust_still_written(void **state)
{
	static const char users[] = "SC_USER_20240101000000_000001.dat";
	static const char *const both[] = {users, CUST1};
	struct fixture *f = *state;

	assert_int_equal(bossfile_put(f->in, CUST1, good_text, strlen(good_text)), 0);
	file_write(f->in, users, "A|U1|13900000001|C1||PL1|1|20200101120000|3|1000|0\n");
	assert_int_equal(import_names(f, both, 2), 0);
	assert_int_equal(f->nres, 2);
	assert_string_equal(f->res[0].name, CUST1);
	expect_outcome(&f->res[0], IMPORT_HELD);
	expect_outcome(&f->res[1], IMPORT_HELD);
	assert_non_null(strstr(f->res[1].reason, "waiting for " CUST1));
	expect_store_empty(f->s);
	assert_true(bossfile_exists(f->in, users));
	assert_false(bossfile_exists(f->rejected, users));
	file_write(f->in, CUST1, good_text);
	assert_int_equal(import_names(f, both, 2), 0);
	expect_outcome(&f->res[0], IMPORT_APPLIED);
	expect_outcome(&f->res[1], IMPORT_APPLIED);
	assert_int_equal(entries(f->s, STORE_USER), 1);
}

static void test_rejected_user_file_keeps_no_users(void **state)
{
	static const char users[] = "SC_USER_20240101000000_000001.dat";
	static const char *const both[] = {users, CUST1};
	struct fixture *f = *state;
	struct custdb_profile p;
	struct store_txn *t;

	file_write(f->in, CUST1, good_text);
	file_write(f->in, users,
		   "A|U1|13900000001|C1||PL1|1|20200101120000|3|1000|0\n"
		   "A|U2|13900000002|C2||PL1|1|20200101120000|3|1000|0\n"
		   "A|U3|13900000001|C2||PL1|1|20200101120000|3|1000|0\n");
	assert_int_equal(import_names(f, both, 2), 0);
	assert_int_equal(f->nres, 2);
	assert_string_equal(f->res[0].name, CUST1);     /* CUST before USER of the same time */
	expect_outcome(&f->res[0], IMPORT_APPLIED);
	expect_outcome(&f->res[1], IMPORT_REJECTED);
	assert_string_equal(f->res[1].reason,
			    "line 3: USER A: msisdn 13900000001 already belongs to user U1");
	assert_string_equal(f->res[1].field, "msisdn");
	assert_int_equal(entries(f->s, STORE_USER), 0);
	assert_int_equal(entries(f->s, STORE_USER_BY_MSISDN), 0);
	assert_int_equal(entries(f->s, STORE_CUST_USERS), 0);
	assert_int_equal(store_read_begin(f->s, &t), 0);
	assert_int_equal(custdb_lookup_msisdn(t, "13900000002", 5, 1, &p), KF_ENOTFOUND);
	store_abort(t);
	assert_int_equal(next_seq(f->s, BOSS_USER), 1);
}

/* ---- order ---- */

static void test_files_out_of_order_applied_in_seq_order(void **state)
{
	static const char *const given[] = {CUST3, CUST1, CUST2};
	struct fixture *f = *state;
	struct text t2 = {0}, t3 = {0};
	char name[64];

	file_write(f->in, CUST1, good_text);
	cust_rec(&t2, 'M', "C1", "Second");
	cust_rec(&t2, 'A', "C5", "Five");
	file_write(f->in, CUST2, t2.p);
	cust_rec(&t3, 'M', "C1", "Third");
	cust_rec(&t3, 'D', "C5", "");
	file_write(f->in, CUST3, t3.p);
	free(t2.p);
	free(t3.p);
	assert_int_equal(import_names(f, given, 3), 0);
	assert_int_equal(f->nres, 3);
	assert_string_equal(f->res[0].name, CUST1);
	assert_string_equal(f->res[1].name, CUST2);
	assert_string_equal(f->res[2].name, CUST3);
	for (int i = 0; i < 3; i++)
		expect_outcome(&f->res[i], IMPORT_APPLIED);
	cust_name(f->s, "C1", name, sizeof(name));
	assert_string_equal(name, "Third");
	assert_false(has_id(f->s, STORE_CUST, "C5"));
	assert_int_equal(next_seq(f->s, BOSS_CUST), 4);
}

/* SEQ 2 produced before SEQ 1 (a resent first file): SEQ 2 waits for
 * SEQ 1 and goes through in the same run. */
static void test_held_file_released_in_same_run(void **state)
{
	static const char seq2[] = "SC_CUST_20240101000000_000002.dat";
	static const char seq1[] = "SC_CUST_20240109000000_000001.dat";
	static const char *const given[] = {seq2, seq1};
	struct fixture *f = *state;
	struct text t = {0};
	char name[64];

	file_write(f->in, seq1, good_text);
	cust_rec(&t, 'M', "C2", "After one");
	file_write(f->in, seq2, t.p);
	free(t.p);
	assert_int_equal(import_names(f, given, 2), 0);
	assert_int_equal(f->nres, 2);
	assert_string_equal(f->res[0].name, seq1);
	assert_string_equal(f->res[1].name, seq2);
	expect_outcome(&f->res[0], IMPORT_APPLIED);
	expect_outcome(&f->res[1], IMPORT_APPLIED);
	assert_int_equal(f->sum.files[IMPORT_HELD], 0);
	cust_name(f->s, "C2", name, sizeof(name));
	assert_string_equal(name, "After one");
}

/* import_dir finds the .dat files of a folder, ignores the rest, and
 * applies them in SEQ order whatever their directory order. */
static void test_dir_import_in_seq_order(void **state)
{
	struct fixture *f = *state;
	struct text t2 = {0}, t3 = {0};
	char name[64];

	cust_rec(&t3, 'M', "C1", "Third");
	file_write(f->in, CUST3, t3.p);
	cust_rec(&t2, 'M', "C1", "Second");
	file_write(f->in, CUST2, t2.p);
	file_write(f->in, CUST1, good_text);
	free(t2.p);
	free(t3.p);
	assert_int_equal(bossfile_put(f->in, "README.txt", "x", 1), 0);
	f->nres = 0;
	assert_int_equal(import_dir(f->s, &f->o, f->in, on_result, f, &f->sum), 0);
	assert_int_equal(f->nres, 3);
	assert_int_equal(f->sum.files[IMPORT_APPLIED], 3);
	assert_string_equal(f->res[0].name, CUST1);
	assert_string_equal(f->res[2].name, CUST3);
	cust_name(f->s, "C1", name, sizeof(name));
	assert_string_equal(name, "Third");
	assert_true(bossfile_exists(f->in, "README.txt"));
}

/* A last record without its "\n" still counts and is applied. */
static void test_last_record_without_newline_applied(void **state)
{
	static const char text[] =
		"A|C1|One|P|||||0||20200101120000\n"
		"A|C2|Two|E|||||1||20200101120000";
	struct fixture *f = *state;
	const struct import_result *r;

	file_write(f->in, CUST1, text);
	r = import_one(f, CUST1);
	expect_outcome(r, IMPORT_APPLIED);
	assert_int_equal(r->records, 2);
	assert_true(has_id(f->s, STORE_CUST, "C2"));
}

/* ---- size ---- */

static void test_bad_last_of_50000_leaves_nothing(void **state)
{
	enum { GOOD = 50000 };
	struct fixture *f = *state;
	const struct import_result *r;
	struct text t = {0};
	char id[16], want[80];

	for (int i = 1; i <= GOOD; i++) {
		snprintf(id, sizeof(id), "C%06d", i);
		cust_rec(&t, 'A', id, "Customer");
	}
	cust_rec(&t, 'A', "C000001", "Again");
	file_write(f->in, CUST1, t.p);
	free(t.p);
	f->o.chunk_bytes = 64 * KIB;  /* many batch flushes inside the file */
	r = import_one(f, CUST1);
	expect_outcome(r, IMPORT_REJECTED);
	assert_int_equal(r->records, GOOD + 1);
	assert_int_equal(r->line, GOOD + 1);
	snprintf(want, sizeof(want), "line %d: CUST A: cust_id C000001 already exists", GOOD + 1);
	assert_string_equal(r->reason, want);
	assert_false(has_id(f->s, STORE_CUST, "C000001"));
	assert_false(has_id(f->s, STORE_CUST, "C050000"));
	expect_store_empty(f->s);
	assert_int_equal(next_seq(f->s, BOSS_CUST), 1);
}

/* A digest of every key and value of every table. */
struct table_digest {
	struct digest *d;
};

static int digest_visit(void *arg, const struct store_val *k, const struct store_val *v)
{
	struct table_digest *td = arg;
	uint64_t lens[2] = {k->len, v->len};

	digest_update(td->d, lens, sizeof(lens));
	digest_update(td->d, k->data, k->len);
	digest_update(td->d, v->data, v->len);
	return 0;
}

static void store_digest(struct store *s, char out[DIGEST_SHA256_HEX + 1])
{
	struct table_digest td = {digest_sha256_new()};
	struct store_txn *t;

	assert_int_equal(store_read_begin(s, &t), 0);
	for (int tb = STORE_META; tb < STORE_TABLE_END; tb++) {
		if (!store_table_name(tb))
			continue; /* an id no table has (ids need not be dense) */
		digest_update(td.d, &tb, sizeof(tb));
		assert_int_equal(store_scan(t, (enum store_table)tb, NULL, 0, NULL, 0, false,
					    digest_visit, &td),
				 0);
	}
	store_abort(t);
	digest_final_hex(td.d, out);
	digest_free(td.d);
}

static void test_tiny_map_grows_within_one_file(void **state)
{
	enum { N = 20000 };
	struct fixture *f = *state;
	struct store_opts tiny = {.map_size = 256 * KIB};
	struct store *small;
	struct store_stats st;
	char dir2[160], db2[160], a[DIGEST_SHA256_HEX + 1], b[DIGEST_SHA256_HEX + 1];
	struct text t = {0};
	char id[16];

	for (int i = 1; i <= N; i++) {
		snprintf(id, sizeof(id), "C%06d", i);
		cust_rec(&t, 'A', id, "A customer with a reasonably long name to fill pages");
	}
	path_in(f->root, "in2", dir2, sizeof(dir2));
	path_in(f->root, "db2", db2, sizeof(db2));
	assert_int_equal(mkdir(dir2, 0750), 0);
	assert_int_equal(mkdir(db2, 0750), 0);
	file_write(f->in, CUST1, t.p);
	file_write(dir2, CUST1, t.p);
	free(t.p);
	f->o.archive_dir = NULL;

	expect_outcome(import_one(f, CUST1), IMPORT_APPLIED);

	assert_int_equal(store_open(db2, &tiny, &small), 0);
	{
		char path[200];
		const char *p = path;

		path_in(dir2, CUST1, path, sizeof(path));
		f->nres = 0;
		assert_int_equal(import_files(small, &f->o, &p, 1, on_result, f, &f->sum), 0);
	}
	assert_int_equal(f->nres, 1);
	expect_outcome(&f->res[0], IMPORT_APPLIED);
	assert_int_equal(f->sum.records_applied, N);
	assert_int_equal(store_stat(small, &st), 0);
	assert_true(st.map_size >= 16 * tiny.map_size);
	assert_int_equal(st.entries[STORE_CUST], N);
	assert_int_equal(st.entries[STORE_CUST_BY_IDNO], N);
	store_digest(f->s, a);
	store_digest(small, b);
	assert_string_equal(a, b);
	store_free(small);
}

/* The tally counts each result by outcome and by the kind its name says. */
static void test_tally_by_outcome_and_kind(void **state)
{
	struct import_tally t;
	struct import_result r;

	(void)state;
	memset(&t, 0, sizeof(t));
	memset(&r, 0, sizeof(r));
	r.outcome = IMPORT_APPLIED;
	snprintf(r.name, sizeof(r.name), "%s", CUST1);
	import_tally_add(&t, &r);
	import_tally_add(&t, &r);
	r.outcome = IMPORT_REJECTED;
	snprintf(r.name, sizeof(r.name), "%s", "SC_USER_20240101000000_000002.dat");
	import_tally_add(&t, &r);
	snprintf(r.name, sizeof(r.name), "%s", "not a boss file.dat");
	import_tally_add(&t, &r);
	assert_int_equal(import_tally_get(&t, IMPORT_APPLIED, BOSS_CUST), 2);
	assert_int_equal(import_tally_get(&t, IMPORT_REJECTED, BOSS_USER), 1);
	assert_int_equal(import_tally_get(&t, IMPORT_REJECTED, BOSS_KIND_COUNT), 1);
	assert_int_equal(import_tally_get(&t, IMPORT_HELD, BOSS_CUST), 0);
	assert_int_equal(import_tally_get(&t, IMPORT_APPLIED, BOSS_KIND_COUNT + 1), 0);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_file_applied_and_archived),
		T(test_same_file_again_skipped),
		T(test_same_name_other_hash_rejected),
		T(test_dat_without_chk_held),
		T(test_empty_chk_held),
		T(test_user_waits_for_cust_still_written),
		T(test_seq_gap_held_until_skipped),
		T(test_seq_used_by_other_name_rejected),
		T(test_chk_record_count_mismatch_rejected),
		T(test_chk_byte_count_mismatch_rejected),
		T(test_chk_sha256_mismatch_rejected),
		T(test_chk_malformed_rejected),
		T(test_chk_naming_another_file_rejected),
		T(test_bad_record_rejects_whole_file),
		T(test_unparsable_record_rejects_whole_file),
		T(test_rejected_user_file_keeps_no_users),
		T(test_files_out_of_order_applied_in_seq_order),
		T(test_held_file_released_in_same_run),
		T(test_dir_import_in_seq_order),
		T(test_last_record_without_newline_applied),
		T(test_bad_last_of_50000_leaves_nothing),
		T(test_tiny_map_grows_within_one_file),
		cmocka_unit_test(test_tally_by_outcome_and_kind),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
